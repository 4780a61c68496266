//! The one error type of `segue-daemon`. Every variant names the input it is about.

use std::path::PathBuf;

/// What can stop the daemon from starting (or a request from being served).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration file could not be read.
    #[error("{path}: {source}")]
    ConfigIo {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML or has an unknown key or a wrong type.
    #[error("{path}: {reason}")]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said (with line and column).
        reason: String,
    },
    /// A configuration value makes no sense (bad address, bad rate, missing allow-list…).
    #[error("configuration: {0}")]
    Config(String),
    /// The MIDI controller mapping (`midi.mapping`) could not be read or is invalid.
    #[error("MIDI mapping: {0}")]
    Mapping(#[from] segue_controllers::MappingError),
    /// The engine refused the configuration.
    #[error("engine: {0}")]
    Engine(#[from] segue_engine::ConfigError),
    /// The audio backend could not start.
    #[error("{backend} backend: {reason}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// Why.
        reason: String,
    },
    /// A socket could not be opened.
    #[error("{what} {addr}: {source}")]
    Net {
        /// What the socket is for.
        what: &'static str,
        /// The address.
        addr: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A `/load` path outside the music roots (or that does not exist).
    #[error("{path}: {reason}")]
    Path {
        /// The path as requested.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// Something else on the slow side (decode, library, threads).
    #[error("{0}")]
    Other(String),
}

impl DaemonError {
    pub(crate) fn backend(backend: &'static str, reason: impl std::fmt::Display) -> Self {
        DaemonError::Backend {
            backend,
            reason: reason.to_string(),
        }
    }
}
