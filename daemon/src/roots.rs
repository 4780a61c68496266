//! Which files `/load` may open: only regular files under the configured music roots, after
//! resolving symlinks and `..` (so a link inside a root pointing outside is refused too).

use std::path::{Path, PathBuf};

use crate::DaemonError;

/// The canonical music roots.
#[derive(Debug, Clone, Default)]
pub struct MusicRoots {
    roots: Vec<PathBuf>,
}

impl MusicRoots {
    /// Canonicalise every root; a root that does not exist is an error.
    pub fn new(roots: &[PathBuf]) -> Result<Self, DaemonError> {
        let roots = roots
            .iter()
            .map(|r| {
                std::fs::canonicalize(r)
                    .map_err(|e| DaemonError::Config(format!("music root {}: {e}", r.display())))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { roots })
    }

    /// The roots.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The canonical path of `requested` if it is a file inside a root. Relative paths are
    /// taken relative to each root in turn.
    pub fn check(&self, requested: &str) -> Result<PathBuf, DaemonError> {
        let refuse = |reason: &str| DaemonError::Path {
            path: requested.to_string(),
            reason: reason.to_string(),
        };
        if self.roots.is_empty() {
            return Err(refuse(
                "no music roots are configured (--music-root DIR): loading is disabled",
            ));
        }
        if requested.is_empty() || requested.contains('\0') {
            return Err(refuse("empty or invalid path"));
        }
        let req = Path::new(requested);
        let candidates: Vec<PathBuf> = if req.is_absolute() {
            vec![req.to_path_buf()]
        } else {
            self.roots.iter().map(|r| r.join(req)).collect()
        };
        let mut found_outside = false;
        for c in candidates {
            let Ok(real) = std::fs::canonicalize(&c) else {
                continue;
            };
            if !self.roots.iter().any(|r| real.starts_with(r)) {
                found_outside = true;
                continue;
            }
            return match std::fs::metadata(&real) {
                Ok(m) if m.is_file() => Ok(real),
                Ok(_) => Err(refuse("not a regular file")),
                Err(e) => Err(refuse(&e.to_string())),
            };
        }
        Err(refuse(if found_outside {
            "outside the music roots"
        } else {
            "no such file under the music roots"
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_under_the_roots_resolve() {
        let base = std::env::temp_dir().join(format!("segue-roots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("music");
        let outside = base.join("secret");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("sub/a.wav"), b"x").unwrap();
        std::fs::write(outside.join("b.wav"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.join("b.wav"), root.join("link.wav")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("dirlink")).unwrap();
        let roots = MusicRoots::new(std::slice::from_ref(&root)).unwrap();
        let real = std::fs::canonicalize(root.join("sub/a.wav")).unwrap();
        assert_eq!(
            roots
                .check(root.join("sub/a.wav").to_str().unwrap())
                .unwrap(),
            real
        );
        assert_eq!(roots.check("sub/a.wav").unwrap(), real);
        for bad in [
            outside.join("b.wav").to_string_lossy().into_owned(),
            root.join("sub/../../secret/b.wav")
                .to_string_lossy()
                .into_owned(),
            "../secret/b.wav".into(),
            "link.wav".into(),
            "dirlink/b.wav".into(),
            "sub".into(),
            "nope.wav".into(),
            "".into(),
            "/etc/passwd".into(),
        ] {
            assert!(roots.check(&bad).is_err(), "{bad} accepted");
        }
        assert!(MusicRoots::default().check("sub/a.wav").is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
