//! The crate's one error type.

use std::path::PathBuf;

use segue_decode::SegueError;

/// Why a separation did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeparateError {
    /// Reading the track or writing a stem failed (the decoder's error names the file).
    #[error(transparent)]
    Audio(#[from] SegueError),
    /// A request that cannot be served as asked (unknown device, bad option).
    #[error("{0}")]
    Usage(String),
    /// The model file cannot be used: missing, unreadable, or not the htdemucs contract.
    #[error("model {path}: {reason}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The ONNX Runtime library is missing or unusable.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// The requested device is not available (no CUDA driver or device).
    #[error("device: {0}")]
    Device(String),
    /// The caller cancelled the separation ([`crate::Separator::separate_with`]).
    #[error("separation cancelled")]
    Cancelled,
    /// A bug: an internal invariant did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}
