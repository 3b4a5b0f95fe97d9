//! Connection handling around refused uploads. A request refused before its body was read
//! (401, 403, 413, 415, a bad query) leaves the rest of the body on the wire. The HTTP layer
//! would then read a refused chunked upload to its end before answering the next request, and
//! a client that sends its whole body before reading the answer (Python `requests`, awc) would
//! wait for as long as it sends; with a body that never ends, for ever. RFC 9112 §9.6 lets a
//! server close instead, and this module makes it do so: the request body stays held until
//! the error answer has been written, which is the HTTP layer's (actix-http's) sign that the
//! body was left unread rather than given up, so it answers with `Connection: close` and ends
//! the connection instead of reading the upload to its end.

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The request body, shared between the handler (which reads it through a proxy) and the
/// answer (which keeps it until it is written).
#[derive(Clone)]
pub struct HeldBody(Rc<RefCell<Payload>>);

/// An answer's body that keeps the request body alive until the answer is written.
pub struct HoldingBody {
    body: BoxBody,
    _held: Option<HeldBody>,
}

impl MessageBody for HoldingBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

/// Closes the connection after an error answer to a request whose body was not read to its end.
pub async fn close_after_refused_upload(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<HoldingBody>, actix_web::Error> {
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0");
    if !has_body {
        let res = next.call(req).await?;
        return Ok(res.map_body(|_, body| HoldingBody { body: BoxBody::new(body), _held: None }));
    }
    let (http_req, payload) = req.into_parts();
    let held = HeldBody(Rc::new(RefCell::new(payload)));
    let reader = held.clone();
    let proxy: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::poll_fn(move |cx| reader.0.borrow_mut().poll_next_unpin(cx)));
    let req = ServiceRequest::from_parts(http_req, Payload::from(proxy));
    let res = next.call(req).await?;
    let refused = res.status().is_client_error() || res.status().is_server_error();
    let held = refused.then_some(held);
    Ok(res.map_body(|_, body| HoldingBody { body: BoxBody::new(body), _held: held }))
}
