//! The editor's file browser, minus the drawing: list a directory as the browser shows it
//! (parent, subdirectories, audio files) and decide what a dropped or picked path is.
//!
//! Native file dialogs need GTK or desktop portals that many hosts and every headless box
//! lack; an in-editor list works in every host. Listing runs on the GUI thread only when the
//! user changes directory (or asks for a refresh), never per frame.

use std::io;
use std::path::{Path, PathBuf};

/// File extensions the browser offers and a drop accepts (lower case, no dot).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "flac", "mp3", "ogg", "m4a", "aac", "alac", "aiff", "aif",
];

/// Stem files written beside a track (`<name>.<stem>.wav`); loaded with their track.
const STEM_SUFFIXES: &[&str] = &["drums", "bass", "other", "vocals"];

/// One directory as the browser shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The directory listed (as given, not canonicalised).
    pub dir: PathBuf,
    /// Its parent, if it has one.
    pub parent: Option<PathBuf>,
    /// Subdirectories, sorted by name (case-insensitive); hidden ones left out.
    pub dirs: Vec<PathBuf>,
    /// Audio files, sorted by name (case-insensitive); hidden files and the stem files of a
    /// listed track left out.
    pub files: Vec<PathBuf>,
}

impl Listing {
    /// Entries in display order: parent, directories, files.
    pub fn entries(&self) -> impl Iterator<Item = &PathBuf> {
        self.parent.iter().chain(&self.dirs).chain(&self.files)
    }

    /// Number of [`Listing::entries`].
    pub fn len(&self) -> usize {
        self.parent.is_some() as usize + self.dirs.len() + self.files.len()
    }

    /// True when there is nothing to show (not even a parent).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// True if `path` has one of [`AUDIO_EXTENSIONS`] (any case).
pub fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// If `path` is a stem file (`<name>.<stem>.<ext>`), the track it belongs to's file stem.
fn stem_of(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let (track, part) = stem.rsplit_once('.')?;
    STEM_SUFFIXES.contains(&part).then(|| track.to_string())
}

fn hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn sort_key(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// List `dir` for the browser. Entries that cannot be read (a dangling link, no
/// permission) are skipped; an unreadable `dir` is an error.
pub fn list_dir(dir: &Path) -> io::Result<Listing> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        if hidden(&path) {
            continue;
        }
        // Follows symlinks: a link to a directory is browsable, a dangling one is skipped.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            dirs.push(path);
        } else if meta.is_file() && is_audio(&path) {
            files.push(path);
        }
    }
    // Stem files of a track that is listed too are loaded with it: leave them out.
    let tracks: std::collections::HashSet<String> = files
        .iter()
        .filter(|p| stem_of(p).is_none())
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(String::from))
        .collect();
    files.retain(|p| stem_of(p).is_none_or(|t| !tracks.contains(&t)));
    dirs.sort_by_cached_key(|p| sort_key(p));
    files.sort_by_cached_key(|p| sort_key(p));
    Ok(Listing {
        dir: dir.to_path_buf(),
        parent: dir.parent().map(Path::to_path_buf),
        dirs,
        files,
    })
}

/// Where the browser opens: `saved` (the last used directory, from the session) if it is
/// still a directory, else `$HOME`, else the filesystem root.
pub fn start_dir(saved: Option<&Path>, home: Option<&Path>) -> PathBuf {
    saved
        .filter(|p| p.is_dir())
        .or(home.filter(|p| p.is_dir()))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// What to do with a file that was dropped or picked: load it, or the message for its deck.
pub fn check_track(path: &Path) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    if path.is_dir() {
        return Err(format!("{name} is a folder, not a track"));
    }
    if !is_audio(path) {
        return Err(format!(
            "{name} is not an audio file (wav, flac, mp3, ogg, m4a, aac, alac, aiff)"
        ));
    }
    if !path.is_file() {
        return Err(format!("{name} does not exist"));
    }
    Ok(())
}

/// Files dropped on `deck`: the first goes to that deck, the next ones to the decks after
/// it (while there are decks); each is the path to load or the message for its deck. Files
/// beyond the last deck are reported on `deck`.
pub fn plan_drop(
    deck: usize,
    files: &[PathBuf],
    decks: usize,
) -> Vec<(usize, Result<PathBuf, String>)> {
    let mut plan: Vec<(usize, Result<PathBuf, String>)> = files
        .iter()
        .zip(deck..decks)
        .map(|(f, d)| (d, check_track(f).map(|()| f.clone())))
        .collect();
    let left = files.len().saturating_sub(decks.saturating_sub(deck));
    if left > 0 && deck < decks {
        plan.push((
            deck,
            Err(format!(
                "{left} more file(s) dropped than decks to put them on"
            )),
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!(
                "segue-browser-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn touch(&self, name: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, b"x").unwrap();
            p
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn names(paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn lists_subdirectories_and_audio_files_sorted_without_hidden_or_other_files() {
        let t = TempDir::new("list");
        for f in [
            "b.wav",
            "A.FLAC",
            "c.mp3",
            "d.ogg",
            "e.m4a",
            "f.aac",
            "g.alac",
            "h.aiff",
            "i.aif",
            "notes.txt",
            "cover.jpg",
            "noext",
            ".hidden.wav",
        ] {
            t.touch(f);
        }
        for d in ["zeta", "Alpha", ".git"] {
            std::fs::create_dir(t.0.join(d)).unwrap();
        }
        // A directory named like an audio file is a directory.
        std::fs::create_dir(t.0.join("set.wav")).unwrap();
        let l = list_dir(&t.0).unwrap();
        assert_eq!(names(&l.dirs), ["Alpha", "set.wav", "zeta"]);
        assert_eq!(
            names(&l.files),
            ["A.FLAC", "b.wav", "c.mp3", "d.ogg", "e.m4a", "f.aac", "g.alac", "h.aiff", "i.aif"]
        );
        assert_eq!(l.parent.as_deref(), t.0.parent());
        assert_eq!(l.len(), 1 + 3 + 9);
        let order: Vec<&PathBuf> = l.entries().collect();
        assert_eq!(order[0], t.0.parent().unwrap());
        assert_eq!(order[1], &t.0.join("Alpha"));
        assert_eq!(order[4], &t.0.join("A.FLAC"));
    }

    #[test]
    fn stem_files_beside_their_track_are_not_listed() {
        let t = TempDir::new("stems");
        for f in [
            "song.wav",
            "song.drums.wav",
            "song.bass.wav",
            "song.other.wav",
            "song.vocals.wav",
            // No "orphan.wav": its stem file is a track of its own here.
            "orphan.drums.wav",
            // Not a stem suffix.
            "live.at.wembley.flac",
        ] {
            t.touch(f);
        }
        let l = list_dir(&t.0).unwrap();
        assert_eq!(
            names(&l.files),
            ["live.at.wembley.flac", "orphan.drums.wav", "song.wav"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_dangling_ones_skipped() {
        let t = TempDir::new("links");
        let sub = t.0.join("real");
        std::fs::create_dir(&sub).unwrap();
        let track = t.touch("track.wav");
        std::os::unix::fs::symlink(&sub, t.0.join("linked-dir")).unwrap();
        std::os::unix::fs::symlink(&track, t.0.join("linked.wav")).unwrap();
        std::os::unix::fs::symlink(t.0.join("gone.wav"), t.0.join("dangling.wav")).unwrap();
        let l = list_dir(&t.0).unwrap();
        assert_eq!(names(&l.dirs), ["linked-dir", "real"]);
        assert_eq!(names(&l.files), ["linked.wav", "track.wav"]);
    }

    #[test]
    fn an_unreadable_directory_is_an_error_and_the_root_has_no_parent() {
        let t = TempDir::new("missing");
        assert!(list_dir(&t.0.join("nope")).is_err());
        assert!(list_dir(&t.touch("file.wav")).is_err());
        let root = list_dir(Path::new("/")).unwrap();
        assert_eq!(root.parent, None);
    }

    #[test]
    fn start_dir_prefers_the_saved_directory_then_home_then_root() {
        let t = TempDir::new("start");
        let home = t.0.join("home");
        let saved = t.0.join("music");
        std::fs::create_dir_all(&home).unwrap();
        assert_eq!(start_dir(Some(&saved), Some(&home)), home, "saved is gone");
        std::fs::create_dir_all(&saved).unwrap();
        assert_eq!(start_dir(Some(&saved), Some(&home)), saved);
        assert_eq!(start_dir(None, Some(&home)), home);
        assert_eq!(
            start_dir(None, Some(&t.0.join("nohome"))),
            PathBuf::from("/")
        );
        assert_eq!(start_dir(None, None), PathBuf::from("/"));
    }

    #[test]
    fn check_track_accepts_audio_files_and_explains_the_rest() {
        let t = TempDir::new("check");
        assert_eq!(check_track(&t.touch("ok.WAV")), Ok(()));
        let e = check_track(&t.touch("readme.txt")).unwrap_err();
        assert!(e.contains("readme.txt is not an audio file"), "{e}");
        let e = check_track(&t.0).unwrap_err();
        assert!(e.contains("is a folder"), "{e}");
        let e = check_track(&t.0.join("gone.flac")).unwrap_err();
        assert!(e.contains("gone.flac does not exist"), "{e}");
    }

    #[test]
    fn a_drop_fills_the_deck_under_the_pointer_and_the_ones_after_it() {
        let t = TempDir::new("drop");
        let (a, b, txt) = (t.touch("a.wav"), t.touch("b.flac"), t.touch("c.txt"));
        let plan = plan_drop(1, &[a.clone(), txt.clone(), b.clone()], 4);
        assert_eq!(plan.len(), 3);
        assert_eq!(plan[0], (1, Ok(a.clone())));
        assert_eq!(plan[1].0, 2);
        assert!(plan[1]
            .1
            .as_ref()
            .unwrap_err()
            .contains("not an audio file"));
        assert_eq!(plan[2], (3, Ok(b.clone())));
        // Two files on the last deck: one loads, the other is reported there.
        let plan = plan_drop(3, &[a.clone(), b.clone()], 4);
        assert_eq!(plan[0], (3, Ok(a)));
        assert_eq!(plan[1].0, 3);
        assert!(plan[1].1.as_ref().unwrap_err().contains("1 more file"));
        assert!(plan_drop(0, &[], 4).is_empty());
        assert!(plan_drop(4, &[b], 4).is_empty(), "no such deck");
    }
}
