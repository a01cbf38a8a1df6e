//! Decoding errors: every malformed input maps to one of these, never to a panic.

use thiserror::Error;

/// Why an inbound websocket frame could not be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The text frame is not valid JSON.
    #[error("frame is not valid JSON: {0}")]
    Json(String),
    /// The JSON is valid but does not have the shape of a Phoenix message.
    #[error("frame has the wrong shape: {0}")]
    Shape(&'static str),
    /// A binary frame ended before its declared lengths.
    #[error("binary frame truncated: needs {needed} bytes, has {len}")]
    Truncated {
        /// Bytes the header announced.
        needed: usize,
        /// Bytes present.
        len: usize,
    },
    /// A binary frame carries a kind a client may not send.
    #[error("binary frame kind {0} is not accepted from clients")]
    UnsupportedKind(u8),
    /// A binary frame field is not UTF-8.
    #[error("binary frame field `{0}` is not UTF-8")]
    Utf8(&'static str),
    /// A binary frame declares an unknown payload encoding.
    #[error("binary frame payload encoding {0} is unknown")]
    UnknownEncoding(u8),
    /// Binary frames exist only in serializer 2.0.0.
    #[error("binary frames need vsn 2.0.0")]
    BinaryInV1,
    /// The requested serializer version is not supported.
    #[error("unsupported serializer vsn `{0}` (use 1.0.0 or 2.0.0)")]
    UnsupportedVsn(String),
}
