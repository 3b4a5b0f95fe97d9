//! Where document bytes live: an object store (the `object_store` crate), content-addressed
//! by SHA-256 so that the same bytes are stored once. The embedded default is a folder under
//! the data folder; `DOCUMENT_STORE_URL=s3://bucket/prefix` puts them in S3-compatible storage.
//!
//! An upload streams into a staging object (a multipart upload: memory stays bounded by a
//! few parts, whatever the size) while its hash and size are counted; when it ends, the staged
//! object becomes `sha256/<2 hex>/<64 hex>`, or is dropped when those bytes are stored already.
//! An upload that is abandoned (a client that disconnects, a body over the limit) is aborted:
//! nothing is left under its content address.

use super::model::ByteRange;
use crate::error::ApiError;
use actix_web::web::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Size of one part of a staged upload (S3's smallest part is 5 MiB); at most two parts are in
/// flight, so an upload holds about three parts in memory at most.
const PART_BYTES: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

/// The object store of documents, shared by every request.
#[derive(Clone, Debug)]
pub struct DocumentStore {
    inner: Arc<dyn ObjectStore>,
    /// The folder of a store on this machine.
    folder: Option<std::path::PathBuf>,
}

/// Where uploads are staged until their hash is known.
const STAGING: &str = "staging";

/// A failure of the object store: logged, and answered 503 (it may be unreachable for a while).
fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "document store failed");
    ApiError::new(
        crate::error::Kind::Unavailable,
        "document_store_unavailable",
        "the document store cannot be reached; try again shortly",
    )
    .with_header("retry-after", "5")
}

impl DocumentStore {
    /// The store `url` names (`DOCUMENT_STORE_URL`, with `endpoint` for S3-compatible storage
    /// other than AWS), or without one the folder `documents` under `data_dir` (see the module
    /// documentation).
    pub fn open(
        url: Option<&str>,
        endpoint: Option<&str>,
        data_dir: &std::path::Path,
    ) -> Result<DocumentStore, String> {
        match url {
            None => DocumentStore::folder(&data_dir.join("documents")),
            Some(url) => DocumentStore::s3(url, endpoint),
        }
    }

    /// Documents in a folder of this machine.
    pub fn folder(dir: &std::path::Path) -> Result<DocumentStore, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the document folder {}: {e}", dir.display()))?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("cannot use the document folder {}: {e}", dir.display()))?;
        Ok(DocumentStore { inner: Arc::new(fs), folder: Some(dir.to_path_buf()) })
    }

    /// Documents in S3-compatible storage at `s3://bucket/prefix`.
    pub fn s3(url: &str, endpoint: Option<&str>) -> Result<DocumentStore, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("DOCUMENT_STORE_URL {url:?} is not a URL: {e}"))?;
        if parsed.scheme() != "s3" {
            return Err(format!("DOCUMENT_STORE_URL {url:?} must start with s3:// (or be unset for the data folder)"));
        }
        let bucket = parsed.host_str().filter(|b| !b.is_empty()).ok_or("DOCUMENT_STORE_URL names no bucket")?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let s3: Arc<dyn ObjectStore> =
            Arc::new(builder.build().map_err(|e| format!("cannot use DOCUMENT_STORE_URL {url:?}: {e}"))?);
        let prefix = parsed.path().trim_matches('/');
        let inner: Arc<dyn ObjectStore> =
            if prefix.is_empty() { s3 } else { Arc::new(PrefixStore::new(s3, prefix.to_string())) };
        Ok(DocumentStore { inner, folder: None })
    }

    /// Removes the bytes stored under `sha256` (when no version refers to them any more);
    /// false when the store could not (bytes already gone count as removed).
    pub async fn forget(&self, sha256: &str) -> bool {
        match self.inner.delete(&DocumentStore::key(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => true,
            Err(e) => {
                tracing::warn!(error = %e, sha256, "could not remove unreferenced document bytes");
                false
            }
        }
    }

    /// Removes staged uploads older than `age`: those of a process that stopped mid-upload.
    /// (On S3, parts of a multipart upload that was never completed are not objects; a bucket
    /// lifecycle rule that aborts incomplete multipart uploads removes them.) Gives how many.
    pub async fn sweep_staging(&self, age: std::time::Duration) -> usize {
        let cutoff = std::time::SystemTime::now() - age;
        if let Some(folder) = self.folder.clone() {
            // A folder's unfinished multipart uploads are files the object store does not list.
            let swept = actix_web::rt::task::spawn_blocking(move || {
                let mut n = 0;
                for entry in std::fs::read_dir(folder.join(STAGING)).into_iter().flatten().flatten() {
                    let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|at| at < cutoff);
                    if old && std::fs::remove_file(entry.path()).is_ok() {
                        n += 1;
                    }
                }
                n
            })
            .await;
            return swept.unwrap_or(0);
        }
        let cutoff: chrono::DateTime<chrono::Utc> = cutoff.into();
        let mut old = Vec::new();
        let mut listing = self.inner.list(Some(&Path::from(STAGING)));
        while let Some(meta) = listing.next().await {
            match meta {
                Ok(meta) if meta.last_modified < cutoff => old.push(meta.location),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not list staged document uploads");
                    break;
                }
            }
        }
        drop(listing);
        let mut n = 0;
        for location in old {
            if self.inner.delete(&location).await.is_ok() {
                n += 1;
            }
        }
        n
    }

    fn key(sha256: &str) -> Path {
        Path::from(format!("sha256/{}/{sha256}", &sha256[..2]))
    }

    /// Starts an upload of at most `limit` bytes.
    pub async fn begin(&self, limit: u64) -> Result<Upload, ApiError> {
        let staging = Path::from(format!("{STAGING}/{}", uuid::Uuid::now_v7()));
        let upload = self.inner.put_multipart(&staging).await.map_err(unavailable)?;
        Ok(Upload {
            store: self.inner.clone(),
            writer: Some(WriteMultipart::new_with_chunk_size(upload, PART_BYTES)),
            staging,
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    /// The bytes stored under `sha256`, or the `range` of them, as a stream.
    pub async fn get(
        &self,
        sha256: &str,
        range: Option<ByteRange>,
    ) -> Result<BoxStream<'static, Result<Bytes, std::io::Error>>, ApiError> {
        let options = GetOptions { range: range.map(|r| GetRange::Bounded(r.first..r.last + 1)), ..Default::default() };
        let result = self.inner.get_opts(&DocumentStore::key(sha256), options).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                ApiError::internal(format!("the bytes of document content {sha256} are missing from the store"))
            }
            other => unavailable(other),
        })?;
        Ok(result.into_stream().map(|chunk| chunk.map_err(std::io::Error::other)).boxed())
    }
}

/// What an upload stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub sha256: String,
    pub size: u64,
    /// True when these bytes were not in the store before this upload.
    pub fresh: bool,
}

/// The bytes of a completed upload, staged until they are filed under their hash; dropped
/// unfiled (the request turned out invalid), they are removed.
pub struct Staged {
    store: Arc<dyn ObjectStore>,
    staging: Option<Path>,
    stored: Stored,
}

impl Staged {
    pub fn stored(&self) -> &Stored {
        &self.stored
    }

    /// Files the bytes under their hash, once: bytes already stored are not stored again.
    pub async fn file(mut self) -> Result<Stored, ApiError> {
        let staging = self.staging.take().ok_or_else(|| unavailable("upload already filed"))?;
        let key = DocumentStore::key(&self.stored.sha256);
        let mut fresh = false;
        let filed = match self.store.head(&key).await {
            Ok(_) => self.store.delete(&staging).await,
            Err(object_store::Error::NotFound { .. }) => {
                fresh = true;
                self.store.rename(&staging, &key).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = filed {
            let _ = self.store.delete(&staging).await;
            return Err(unavailable(e));
        }
        Ok(Stored { fresh, ..self.stored.clone() })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            let store = self.store.clone();
            actix_web::rt::spawn(async move {
                let _ = store.delete(&staging).await;
            });
        }
    }
}

/// Why an upload stopped.
#[derive(Debug)]
pub enum UploadError {
    /// More than the limit was sent.
    TooLarge,
    /// The store failed.
    Store(ApiError),
}

/// An upload in progress; dropped before [`Upload::finish`], it is aborted.
pub struct Upload {
    store: Arc<dyn ObjectStore>,
    writer: Option<WriteMultipart>,
    staging: Path,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

impl Upload {
    /// Adds a chunk of the body; waits while the parts in flight are at their bound.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(UploadError::TooLarge);
        }
        self.hasher.update(chunk);
        let writer = self.writer.as_mut().ok_or_else(|| UploadError::Store(unavailable("upload already ended")))?;
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| UploadError::Store(unavailable(e)))?;
        writer.write(chunk);
        Ok(())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Completes the upload: the bytes are staged, hashed and counted, not yet filed.
    pub async fn complete(mut self) -> Result<Staged, ApiError> {
        let writer = self.writer.take().ok_or_else(|| unavailable("upload already ended"))?;
        writer.finish().await.map_err(unavailable)?;
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        Ok(Staged {
            store: self.store.clone(),
            staging: Some(self.staging.clone()),
            stored: Stored { sha256, size: self.size, fresh: false },
        })
    }

    /// Gives the upload up: nothing of it stays in the store.
    pub async fn abort(mut self) {
        if let Some(writer) = self.writer.take() {
            if let Err(e) = writer.abort().await {
                tracing::warn!(error = %e, "could not abort a document upload");
            }
        }
    }
}

impl Drop for Upload {
    /// A request that ends without finishing (the client went away mid-upload) drops its
    /// upload: the staged parts are removed in the background.
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            actix_web::rt::spawn(async move {
                let _ = writer.abort().await;
            });
        }
    }
}
