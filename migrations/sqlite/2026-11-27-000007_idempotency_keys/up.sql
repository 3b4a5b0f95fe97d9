-- Idempotency keys of POST requests, per caller: the first request's answer is kept and
-- replayed to retries with the same key (and refused for a different body).
CREATE TABLE idempotency_keys (
    owner TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- pending while the first request runs; done once its answer is stored
    state TEXT NOT NULL,
    locked_until TIMESTAMP NOT NULL,
    response_status INTEGER,
    response_headers TEXT,
    response_body BLOB,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
