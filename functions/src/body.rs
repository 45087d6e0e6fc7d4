//! What a function answers with: a whole body (every function but one), or a body written while
//! it is sent, chunk by chunk, so that a download of any size needs the memory of one chunk.
//! Hosts send [`Body::Chunks`] as a streamed (chunked) body; an [`Aborted`] item ends the
//! transfer without its proper end, so the client sees a broken download, never a short file.

use std::fmt;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::Response;

/// The chunks of a streamed body, produced on the host's thread (not `Send`, like the
/// functions' futures).
pub type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, Aborted>>>>;

pub enum Body {
    Whole(Bytes),
    Chunks(Chunks),
}

impl Body {
    /// All of it in memory: for tests and for callers that need the bytes, never for hosts.
    pub async fn collect(self) -> Result<Bytes, Aborted> {
        match self {
            Self::Whole(bytes) => Ok(bytes),
            Self::Chunks(mut chunks) => {
                let mut all = BytesMut::new();
                while let Some(chunk) = chunks.next().await {
                    all.extend_from_slice(&chunk?);
                }
                Ok(all.freeze())
            }
        }
    }
}

/// A function's answer as the registry hands it to hosts: most functions answer a whole body.
pub(crate) trait IntoAnswer {
    fn into_answer(self) -> Response<Body>;
}

impl IntoAnswer for Response<Bytes> {
    fn into_answer(self) -> Response<Body> {
        self.map(Body::Whole)
    }
}

impl IntoAnswer for Response<Body> {
    fn into_answer(self) -> Response<Body> {
        self
    }
}

/// A streamed body failed after its first byte left; the function has logged why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aborted;

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the response body was cut short")
    }
}

impl std::error::Error for Aborted {}

#[cfg(test)]
mod tests {
    use futures_util::stream;
    use shared::testing::block_on;

    use super::*;

    fn chunks(items: Vec<Result<&'static str, Aborted>>) -> Body {
        Body::Chunks(Box::pin(stream::iter(items.into_iter().map(|item| item.map(Bytes::from)))))
    }

    #[test]
    fn collecting_joins_the_chunks_or_reports_the_abort() {
        assert_eq!(
            block_on(chunks(vec![Ok("a,"), Ok("b\r\n")]).collect()),
            Ok(Bytes::from("a,b\r\n"))
        );
        assert_eq!(block_on(chunks(vec![Ok("a"), Err(Aborted), Ok("b")]).collect()), Err(Aborted));
        assert_eq!(block_on(Body::Whole(Bytes::from("x")).collect()), Ok(Bytes::from("x")));
    }
}
