-- Every object the document store holds under a content address. Bytes are let go only when
-- no kept version refers to them and no upload has claimed them for a while; an upload never
-- reuses bytes that are being let go (it waits), so an upload that races the collector never
-- commits a version whose bytes are gone. See src/documents/blobs.rs.
CREATE TABLE document_blobs (
    sha256 TEXT PRIMARY KEY,
    -- How many uploads claimed these bytes: a refused upload lets go at once only bytes that
    -- nobody claimed after it.
    claims BIGINT NOT NULL,
    -- When the collector is to look whether anything still refers to the bytes (set by a claim
    -- and by the retention purge; cleared once a look found them referenced).
    check_at TIMESTAMP,
    -- Set while the collector removes the object.
    releasing_at TIMESTAMP
);
CREATE INDEX document_blobs_check ON document_blobs (check_at, sha256) WHERE check_at IS NOT NULL;

-- The bytes stored before this table existed: each is looked at once.
INSERT INTO document_blobs (sha256, claims, check_at)
SELECT sha256, 1, MAX(created_at) FROM document_versions GROUP BY sha256;
