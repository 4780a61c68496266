//! The daemon's session file (`--session FILE`, config key `session`): what is on each deck,
//! where it is, whether it plays, its tempo, key lock, sync, volume and cue points, and the
//! crossfader. Written about twice a second while anything changes (to a temporary file,
//! synced, then renamed over the old one, so a `kill -9` or a power cut leaves the previous
//! or the new document, never half of one); read at startup, when the daemon puts every deck
//! back: the same track, within a second of where it was, its hot cues, playing if it was.
//!
//! A document that does not parse or comes from a newer Segue is not applied and not
//! overwritten: it is kept beside as `FILE.bad` and the daemon starts with empty decks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use segue_engine::{Command, Position, Status, TimedCommand, HOT_CUES};
use segue_library::decks::SavedCues;

use crate::state::Shared;
use crate::MusicRoots;

/// Version of the session document this build writes (and the newest it reads).
pub const SESSION_VERSION: u32 = 1;

/// How often the session is written while something changes.
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// How long a restored deck may take to load before its restore is given up.
const RESTORE_WAIT: Duration = Duration::from_secs(60);

/// One deck as saved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeckEntry {
    /// The track file.
    pub track: Option<PathBuf>,
    /// Heard position, seconds.
    pub position: f64,
    /// Playing.
    pub playing: bool,
    /// Tempo fader, percent.
    pub tempo: f32,
    /// Key lock.
    pub key_lock: bool,
    /// Sync on.
    pub sync: bool,
    /// Channel fader 0..1.
    pub volume: f32,
    /// Hot cues 1..8, seconds.
    pub hot_cues: [Option<f64>; HOT_CUES],
    /// The main cue point, seconds.
    pub cue_point: Option<f64>,
}

/// The session document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionDoc {
    /// [`SESSION_VERSION`].
    pub version: u32,
    /// Per deck, in order.
    pub decks: Vec<DeckEntry>,
    /// Crossfader −1 (A) … 1 (B).
    pub crossfader: f32,
}

impl SessionDoc {
    /// What the engine and the deck service hold now.
    pub fn now(shared: &Shared, status: &Status) -> SessionDoc {
        let rate = status.sample_rate.max(1) as f64;
        let decks = (0..shared.deck_count)
            .map(|d| {
                let s = &status.decks[d];
                let view = shared.decks.deck(d);
                let track = view.path.filter(|_| s.loaded);
                DeckEntry {
                    position: if track.is_some() {
                        s.position_secs
                    } else {
                        0.0
                    },
                    playing: track.is_some() && s.playing,
                    tempo: s.tempo_percent,
                    key_lock: s.key_lock,
                    sync: s.sync,
                    volume: s.volume,
                    hot_cues: std::array::from_fn(|i| s.hot_cues[i].map(|f| f / rate)),
                    cue_point: (s.cue_point > 0.0).then_some(s.cue_point / rate),
                    track,
                }
            })
            .collect();
        SessionDoc {
            version: SESSION_VERSION,
            decks,
            crossfader: status.crossfader,
        }
    }
}

/// Read the session file: `Ok(None)` when there is none, an error (the reason) when it
/// cannot be used; the unusable file is then moved to `FILE.bad` so nothing overwrites it.
pub fn load(path: &Path) -> Result<Option<SessionDoc>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let parsed = serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            let version = v.get("version").and_then(serde_json::Value::as_u64);
            match version {
                Some(n) if n >= 1 && n <= SESSION_VERSION as u64 => {
                    serde_json::from_value::<SessionDoc>(v).map_err(|e| e.to_string())
                }
                Some(n) => Err(format!(
                    "version {n} is not supported by this build (reads 1..={SESSION_VERSION})"
                )),
                None => Err("no version number".into()),
            }
        });
    match parsed {
        Ok(doc) => Ok(Some(doc)),
        Err(reason) => {
            let bad = bad_path(path);
            let kept = std::fs::rename(path, &bad)
                .map(|_| format!("; kept as {}", bad.display()))
                .unwrap_or_default();
            Err(format!(
                "session file {} not used: {reason}{kept}",
                path.display()
            ))
        }
    }
}

fn bad_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bad");
    path.with_file_name(name)
}

/// Write `doc` to `path` atomically: a temporary file beside it, synced, renamed over it,
/// and the folder synced.
pub fn save(path: &Path, doc: &SessionDoc) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let text = serde_json::to_string_pretty(doc).map_err(std::io::Error::other)?;
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Put the saved decks back: load each track (through the music roots, with its cues),
/// and once it is on its deck, its position, tempo, key lock, sync, volume and play state.
/// Runs until every deck is restored, gives up on a deck after [`RESTORE_WAIT`].
pub fn restore(shared: &Shared, roots: &MusicRoots, doc: &SessionDoc, stop: &AtomicBool) {
    let mut waiting = Vec::new();
    for (d, e) in doc.decks.iter().enumerate().take(shared.deck_count) {
        let Some(track) = &e.track else { continue };
        let real = match roots.check(&track.to_string_lossy()) {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!("session: deck {} not restored: {err}", d + 1);
                continue;
            }
        };
        let cues = SavedCues {
            hot_cues: e.hot_cues,
            cue_point: e.cue_point,
        };
        let before = shared.status().decks[d].loads;
        if shared.decks.load(d, real, Some(cues)) {
            waiting.push((d, e, before));
        }
    }
    shared.send(TimedCommand {
        at: None,
        command: Command::Crossfader {
            position: doc.crossfader,
        },
    });
    let t0 = Instant::now();
    while !waiting.is_empty() && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
        let status = shared.status();
        waiting.retain(|&(d, e, before)| {
            let s = &status.decks[d];
            if !(s.loaded && s.loads != before) {
                if t0.elapsed() > RESTORE_WAIT {
                    tracing::warn!("session: deck {} did not load in time", d + 1);
                    return false;
                }
                return true;
            }
            let deck = d as u8;
            for command in [
                Command::Seek {
                    deck,
                    to: Position::Seconds(e.position),
                },
                Command::Tempo {
                    deck,
                    percent: e.tempo,
                },
                Command::KeyLock {
                    deck,
                    on: e.key_lock,
                },
                Command::Volume {
                    deck,
                    level: e.volume,
                },
                Command::Sync { deck, on: e.sync },
                Command::Play {
                    deck,
                    on: e.playing,
                },
            ] {
                shared.send(TimedCommand { at: None, command });
            }
            tracing::info!(
                "session: deck {} back at {:.1} s{}",
                d + 1,
                e.position,
                if e.playing { ", playing" } else { "" }
            );
            false
        });
    }
}

/// Write the session to `path` while anything changes, until `stop`; a write that fails
/// (full disk, read-only folder) is logged once per failure streak and retried.
pub fn run(shared: &Shared, path: &Path, stop: &AtomicBool) {
    let mut last: Option<SessionDoc> = None;
    let mut last_write = Instant::now() - SAVE_EVERY;
    let mut failing = false;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if last_write.elapsed() < SAVE_EVERY {
            continue;
        }
        // A playing deck's position moves, so the file follows it twice a second.
        let doc = SessionDoc::now(shared, &shared.status());
        if last.as_ref() == Some(&doc) {
            continue;
        }
        last_write = Instant::now();
        match save(path, &doc) {
            Ok(()) => {
                failing = false;
                last = Some(doc);
            }
            Err(e) => {
                if !failing {
                    tracing::warn!("session: cannot write {}: {e}", path.display());
                }
                failing = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> SessionDoc {
        SessionDoc {
            version: SESSION_VERSION,
            decks: vec![
                DeckEntry {
                    track: Some("/music/a.wav".into()),
                    position: 12.5,
                    playing: true,
                    tempo: 2.0,
                    key_lock: true,
                    sync: false,
                    volume: 0.8,
                    hot_cues: [Some(1.0), None, Some(30.0), None, None, None, None, None],
                    cue_point: Some(0.5),
                },
                DeckEntry::default(),
            ],
            crossfader: -0.25,
        }
    }

    #[test]
    fn a_saved_session_reads_back_the_same() {
        let dir = std::env::temp_dir().join(format!("segue-session-{}", std::process::id()));
        let path = dir.join("s/session.json");
        save(&path, &doc()).unwrap();
        assert_eq!(load(&path).unwrap(), Some(doc()));
        assert!(!dir.join("s/session.json.tmp").exists());
        assert_eq!(load(&dir.join("none.json")).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unusable_session_is_refused_and_kept_aside() {
        let dir = std::env::temp_dir().join(format!("segue-session-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text, why) in [
            ("garbage.json", "{not json", "key must be a string"),
            (
                "newer.json",
                "{\"version\": 99, \"decks\": []}",
                "version 99",
            ),
            ("noversion.json", "{\"decks\": []}", "no version"),
            (
                "wrong.json",
                "{\"version\": 1, \"decks\": 3}",
                "invalid type",
            ),
        ] {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            let err = load(&p).unwrap_err();
            assert!(err.contains(why) && err.contains(".bad"), "{name}: {err}");
            assert!(!p.exists(), "{name} moved aside");
            assert_eq!(
                std::fs::read_to_string(dir.join(format!("{name}.bad"))).unwrap(),
                text
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
