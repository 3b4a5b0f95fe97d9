DROP TABLE document_templates;
DROP TABLE document_versions;
DROP TABLE documents;
