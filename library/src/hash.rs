//! Track identity: the blake3 hash of a file's bytes, and what `stat` says about it.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::SegueError;

/// blake3 of the file's bytes as 64 lower-case hex digits, read in a stream (memory use does
/// not grow with the file).
pub fn content_hash(path: &Path) -> Result<String, SegueError> {
    let file = File::open(path).map_err(|e| SegueError::io(path, e))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(BufReader::with_capacity(1 << 16, file))
        .map_err(|e| SegueError::io(path, e))?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// Size and modification time of a file: the cheap check that a known file is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
}

pub(super) fn stat(path: &Path) -> Result<Stat, SegueError> {
    let meta = std::fs::metadata(path).map_err(|e| SegueError::io(path, e))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    Ok(Stat {
        size: meta.len(),
        mtime_ns,
    })
}

/// The absolute form of `path` (symlinks kept, as the user named the file), as stored text.
/// Paths that are not UTF-8 cannot be stored and give an error naming the file.
pub(super) fn stored_path(path: &Path) -> Result<(PathBuf, String), SegueError> {
    let abs = std::path::absolute(path).map_err(|e| SegueError::io(path, e))?;
    match abs.to_str() {
        Some(s) => {
            let s = s.to_string();
            Ok((abs, s))
        }
        None => Err(SegueError::Library {
            path: abs.clone(),
            reason: "the file name is not valid UTF-8, which the library cannot store; \
                     rename the file"
                .to_string(),
        }),
    }
}
