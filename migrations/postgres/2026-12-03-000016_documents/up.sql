-- Documents attached to contracts, installations, service calls and dossiers. The bytes live
-- in the object store, content-addressed by SHA-256; these rows are their metadata. Every
-- upload of a document is a version of its own, and none is ever overwritten.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    -- contract | installation | service_call | dossier
    owner_type TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    -- The pushing system's reference (integration pushes), unique per owner.
    external_ref TEXT,
    current_version INTEGER NOT NULL,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- Removed documents are hidden from lists; their bytes stay for admins.
    deleted_at TIMESTAMP,
    deleted_by TEXT
);
-- The per-resource list (newest ids last) and the push lookup.
CREATE INDEX documents_owner ON documents (owner_type, owner_id, id);
-- The retention sweep: removed documents by removal time.
CREATE INDEX documents_deleted ON documents (deleted_at);
CREATE UNIQUE INDEX documents_external_ref ON documents (owner_type, owner_id, external_ref);

CREATE TABLE document_versions (
    document_id TEXT NOT NULL REFERENCES documents (id),
    number INTEGER NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- Set when DOCUMENT_RETENTION_DAYS after its document's removal the bytes were let go.
    purged_at TIMESTAMP,
    PRIMARY KEY (document_id, number)
);
CREATE INDEX document_versions_sha256 ON document_versions (sha256);

-- Admin-kept templates (minijinja) that render a contract into an HTML document.
CREATE TABLE document_templates (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
