DROP TABLE document_blobs;
