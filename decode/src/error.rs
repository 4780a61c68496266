//! The one error type of Segue's slow side (decode, analysis, library, demo material, offline
//! mixes): `segue-decode` defines it and the crates above re-export it. Every variant names the
//! input it is about.

use std::path::PathBuf;

/// Everything that can go wrong on the slow side (decode, demo material, files).
#[derive(Debug, thiserror::Error)]
pub enum SegueError {
    /// The file could not be opened, read or written (missing, permissions, full disk).
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The container or codec is not one Segue decodes (or the file is not audio at all).
    #[error("{path}: unsupported audio format ({reason})")]
    Unsupported {
        /// The file concerned.
        path: PathBuf,
        /// What was not recognised.
        reason: String,
    },
    /// The file is audio but its data is damaged or cut short.
    #[error("{path}: corrupt or truncated audio ({reason})")]
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// What the decoder found wrong.
        reason: String,
    },
    /// The file decoded to no audio at all.
    #[error("{path}: the file contains no audio")]
    Empty {
        /// The file concerned.
        path: PathBuf,
    },
    /// The file holds more audio than Segue decodes into memory for one track. The limit exists
    /// because a hostile or mislabelled file could otherwise make the decoder allocate without
    /// bound (decoded audio is held uncompressed: about 1.4 GB per hour at 48 kHz stereo).
    #[error("{path}: more than {limit_secs} s of audio, the most Segue decodes for one track")]
    TooLong {
        /// The file concerned.
        path: PathBuf,
        /// The limit in seconds that was exceeded.
        limit_secs: u32,
    },
    /// Resampling to the engine rate failed.
    #[error("{path}: cannot resample from {from} Hz to {to} Hz ({reason})")]
    Resample {
        /// The file concerned.
        path: PathBuf,
        /// Source rate.
        from: u32,
        /// Target rate.
        to: u32,
        /// The resampler's reason.
        reason: String,
    },
    /// A WAV file could not be written.
    #[error("{path}: cannot write WAV ({reason})")]
    WavWrite {
        /// The file concerned.
        path: PathBuf,
        /// The writer's reason.
        reason: String,
    },
    /// A JSON file (ground truth, analysis) could not be read or written.
    #[error("{path}: bad JSON ({reason})")]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The parser's reason.
        reason: String,
    },
    /// An offline mix could not be set up (tracks at the wrong rate, engine refused the
    /// configuration or its command queue).
    #[error("cannot render the mix: {reason}")]
    Mix {
        /// What was wrong.
        reason: String,
    },
    /// Stems could not be separated from a track (the separator's reason), or the separation
    /// was cancelled.
    #[error("stem separation of {path}: {reason}")]
    Separation {
        /// The track.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file decoded but there is nothing to analyse in it (too short, silent, no beat);
    /// `note` says when the file is also cut short of its header's stated length.
    #[error("{path}: {reason}{}", note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Unanalysable {
        /// The file concerned.
        path: PathBuf,
        /// Why.
        reason: Unanalysable,
        /// [`crate::DecodedInfo::truncation_note`], when the file is truncated.
        note: Option<String>,
    },
    /// The track library (an SQLite file) could not be opened, migrated, read or written:
    /// not a database, a locked or read-only file, a full disk, or a file path the library
    /// cannot store.
    #[error("library {path}: {reason}")]
    Library {
        /// The library file (or the track file) concerned.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Why decoded audio cannot be analysed: the analysis needs a couple of seconds with a beat
/// in them, and silence has neither tempo nor key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unanalysable {
    /// Shorter than the analysis needs.
    TooShort {
        /// Seconds of audio there are.
        secs: f64,
        /// Seconds the analysis needs at least.
        min_secs: f64,
    },
    /// Digital silence, or so quiet (peak below −80 dBFS) that nothing can be measured.
    Silent,
    /// Sound, but no beat the tracker can follow (a drone, speech, a lone chord).
    NoBeat,
}

impl std::fmt::Display for Unanalysable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unanalysable::TooShort { secs, min_secs } => write!(
                f,
                "too short to analyse ({secs:.2} s; the analysis needs {min_secs} s)"
            ),
            Unanalysable::Silent => write!(f, "silent (no signal above -80 dBFS)"),
            Unanalysable::NoBeat => write!(f, "no beat found"),
        }
    }
}

impl SegueError {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SegueError::Io {
            path: path.into(),
            source,
        }
    }
}
