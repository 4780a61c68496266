//! What the plugin saves besides its parameters: the track on each deck, its cue points and
//! the MIDI mapping. Stored by nice-plug as JSON under the `session` key of the plugin state.
//!
//! The document carries [`SESSION_VERSION`]. Loading runs the migration steps in
//! [`MIGRATIONS`] (step `n` turns version `n + 1` into `n + 2`) until the document is current;
//! a document from a newer plugin or one that does not parse is not applied: the session
//! keeps its defaults and [`Session::load_error`] says why (the editor shows it). A missing
//! or unreadable track is reported on its deck, never a crash.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LockResult, RwLock, RwLockReadGuard, RwLockWriteGuard};

use nice_plug::params::persist::PersistentField;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::midi::MidiMapping;
use crate::params::DECKS;

/// Version of the session document written by this build (2: each MIDI binding says whether
/// it was made with MIDI learn).
pub const SESSION_VERSION: u32 = 2;

/// One migration step: rewrites a document of version `n` into version `n + 1`.
pub type Migration = fn(Value) -> Result<Value, String>;

/// Migration steps, index `n` upgrades version `n + 1`; append one whenever
/// [`SESSION_VERSION`] is bumped.
pub const MIGRATIONS: &[Migration] = &[v1_learned_flags];

/// Version 1 → 2: every MIDI binding gains `"learned": false` (version 1 had no MIDI learn).
fn v1_learned_flags(mut doc: Value) -> Result<Value, String> {
    let midi = doc
        .get_mut("midi")
        .and_then(Value::as_object_mut)
        .ok_or("no MIDI mapping")?;
    for list in ["notes", "ccs"] {
        let bindings = midi
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .ok_or_else(|| format!("no MIDI {list} list"))?;
        for b in bindings {
            b.as_object_mut()
                .ok_or_else(|| format!("a MIDI {list} binding is not an object"))?
                .insert("learned".into(), Value::Bool(false));
        }
    }
    Ok(doc)
}

/// One deck's saved state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeckSession {
    /// The track file, if one is loaded.
    pub track: Option<PathBuf>,
    /// Hot cues 1..8, seconds into the track.
    pub hot_cues: [Option<f64>; segue_engine::HOT_CUES],
    /// The main cue point, seconds.
    pub cue_point: Option<f64>,
}

/// The saved session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Value", into = "SessionDoc")]
pub struct Session {
    /// Per deck.
    pub decks: [DeckSession; DECKS],
    /// MIDI notes and CCs → deck actions and controls.
    pub midi: MidiMapping,
    /// The editor's file browser: the directory it was last in (it opens there).
    pub browse_dir: Option<PathBuf>,
    /// Where the Record button writes takes (`None`: [`default_record_dir`]).
    pub record_dir: Option<PathBuf>,
    /// Why the last loaded document was not applied (not saved).
    pub load_error: Option<String>,
}

/// The on-disk shape of [`Session`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionDoc {
    version: u32,
    decks: [DeckSession; DECKS],
    midi: MidiMapping,
    /// Optional (absent in documents written before the browser existed): no migration.
    #[serde(default)]
    browse_dir: Option<PathBuf>,
    /// Optional (absent in documents written before recording existed): no migration.
    #[serde(default)]
    record_dir: Option<PathBuf>,
}

impl From<Session> for SessionDoc {
    fn from(s: Session) -> Self {
        SessionDoc {
            version: SESSION_VERSION,
            decks: s.decks,
            midi: s.midi,
            browse_dir: s.browse_dir,
            record_dir: s.record_dir,
        }
    }
}

impl From<Value> for Session {
    fn from(v: Value) -> Self {
        match migrate(v, MIGRATIONS).and_then(|v| {
            serde_json::from_value::<SessionDoc>(v).map_err(|e| format!("invalid session: {e}"))
        }) {
            Ok(doc) => Session {
                decks: doc.decks,
                midi: doc.midi,
                browse_dir: doc.browse_dir,
                record_dir: doc.record_dir,
                load_error: None,
            },
            Err(e) => Session {
                load_error: Some(e),
                ..Session::default()
            },
        }
    }
}

/// Where takes go when the session names no folder: `$HOME/Music/Segue` (`./Music/Segue`
/// without a home directory).
pub fn default_record_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join("Music")
        .join("Segue")
}

/// The persisted session field: the session behind a lock, plus a flag raised whenever the
/// host restores a state (the control thread then reloads tracks, cues and the mapping).
#[derive(Debug, Default)]
pub struct SessionField {
    session: RwLock<Session>,
    restored: AtomicBool,
}

impl SessionField {
    /// Read the session.
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, Session>> {
        self.session.read()
    }

    /// Change the session.
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, Session>> {
        self.session.write()
    }

    /// True once after each state restore.
    pub fn take_restored(&self) -> bool {
        self.restored.swap(false, Ordering::SeqCst)
    }
}

impl<'a> PersistentField<'a, Session> for std::sync::Arc<SessionField> {
    fn set(&self, new_value: Session) {
        *self.session.write().unwrap_or_else(|e| e.into_inner()) = new_value;
        self.restored.store(true, Ordering::SeqCst);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&Session) -> R,
    {
        f(&self.session.read().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Bring a session document to [`SESSION_VERSION`] with `steps` (see [`MIGRATIONS`]).
pub fn migrate(mut doc: Value, steps: &[Migration]) -> Result<Value, String> {
    let current = steps.len() as u32 + 1;
    let mut version = doc
        .get("version")
        .and_then(Value::as_u64)
        .ok_or("the session has no version number")? as u32;
    if version == 0 || version > current {
        return Err(format!(
            "session version {version} is not supported by this build (knows 1..={current})"
        ));
    }
    while version < current {
        doc = steps[version as usize - 1](doc)
            .map_err(|e| format!("migrating the session from version {version}: {e}"))?;
        version += 1;
        doc["version"] = Value::from(version);
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_round_trips_through_json() {
        let mut s = Session::default();
        s.decks[1].track = Some("/music/a.flac".into());
        s.decks[1].hot_cues[3] = Some(12.5);
        s.decks[1].cue_point = Some(1.0);
        s.browse_dir = Some("/music/techno".into());
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"version\":2"));
        let back: Session = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn a_document_without_browse_dir_still_loads() {
        let mut s = Session::default();
        s.decks[0].track = Some("/music/b.wav".into());
        let mut v = serde_json::to_value(&s).unwrap();
        v.as_object_mut().unwrap().remove("browse_dir");
        let back: Session = serde_json::from_value(v).unwrap();
        assert_eq!(back.load_error, None);
        assert_eq!(back, s);
    }

    /// A version-1 document (written before MIDI learn: no `learned` flags) still loads: the
    /// migration marks every binding as not learned; its custom bindings are kept.
    #[test]
    fn a_version_1_document_loads_with_unlearned_bindings() {
        let mut s = Session::default();
        s.decks[2].track = Some("/music/c.flac".into());
        s.midi.ccs[0].cc = 99;
        let mut v = serde_json::to_value(&s).unwrap();
        v["version"] = Value::from(1);
        for list in ["notes", "ccs"] {
            for b in v["midi"][list].as_array_mut().unwrap() {
                b.as_object_mut().unwrap().remove("learned");
            }
        }
        assert!(!v.to_string().contains("learned"));
        // Without the migration the document would not parse.
        assert!(serde_json::from_value::<SessionDoc>(v.clone()).is_err());
        let back: Session = serde_json::from_value(v).unwrap();
        assert_eq!(back.load_error, None);
        assert_eq!(back, s);
        assert_eq!(back.midi.learned(), 0);
    }

    #[test]
    fn future_or_broken_documents_are_reported_not_applied() {
        let future: Session = serde_json::from_str(r#"{"version": 99, "decks": []}"#).unwrap();
        assert!(future.load_error.unwrap().contains("version 99"));
        let broken: Session = serde_json::from_str(r#"{"version": 2, "decks": 3}"#).unwrap();
        assert!(broken.load_error.unwrap().contains("invalid session"));
        let none: Session = serde_json::from_str("[1, 2]").unwrap();
        assert!(none.load_error.is_some());
    }

    #[test]
    fn migrations_run_in_order_up_to_the_current_version() {
        fn add_x(mut v: Value) -> Result<Value, String> {
            v["x"] = Value::from(1);
            Ok(v)
        }
        fn double_x(mut v: Value) -> Result<Value, String> {
            let x = v["x"].as_i64().ok_or("no x")?;
            v["x"] = Value::from(x * 2);
            Ok(v)
        }
        let steps: &[Migration] = &[add_x, double_x];
        let out = migrate(serde_json::json!({"version": 1}), steps).unwrap();
        assert_eq!(out["version"], 3);
        assert_eq!(out["x"], 2);
        let out = migrate(serde_json::json!({"version": 2, "x": 5}), steps).unwrap();
        assert_eq!(out["x"], 10);
        let err = migrate(serde_json::json!({"version": 2}), steps).unwrap_err();
        assert!(err.contains("from version 2"), "{err}");
    }

    /// The session document is outside input (a host hands back whatever a project file
    /// holds): seeded mutations of a full document, 10 000 per run (`SEGUE_FUZZ_CASES`),
    /// never panic. Each gives a session, applied or carrying a `load_error`; an applied
    /// one builds its MIDI table and round-trips through JSON.
    #[test]
    fn mutated_session_documents_never_panic() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

        let mut full = Session::default();
        full.decks[0].track = Some("/music/ä b.flac".into());
        full.decks[2].hot_cues = [
            Some(0.5),
            None,
            Some(12.25),
            None,
            None,
            None,
            None,
            Some(3e3),
        ];
        full.decks[3].cue_point = Some(7.0);
        full.browse_dir = Some("/music".into());
        let seed = serde_json::to_string_pretty(&full).unwrap();
        const TOKENS: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "null",
            "true",
            "-1",
            "1e309",
            "-0",
            "256",
            "4294967296",
            "1.5",
            "\"version\"",
            "\"decks\"",
            "\"midi\"",
            "\"notes\"",
            "\"channel\": 200",
            "\"\\u0000\"",
            "[[[[[[[[",
            "\"hot_cues\"",
        ];
        let edit = (any::<usize>(), any::<usize>(), 0usize..24, 0u8..3);
        let cases = std::env::var("SEGUE_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let mut runner = TestRunner::new(Config {
            cases,
            rng_seed: RngSeed::Fixed(0x5e55_1011),
            failure_persistence: None,
            ..Config::default()
        });
        let applied = std::cell::Cell::new(0usize);
        let result = runner.run(&proptest::collection::vec(edit, 1..6), |edits| {
            let mut text = seed.clone();
            for (at, tok, len, kind) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match kind {
                    0 => text.insert_str(at, TOKENS[tok % TOKENS.len()]),
                    1 => {
                        let mut end = (at + len).min(text.len());
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        text.replace_range(at..end.max(at), "");
                    }
                    _ => {
                        // A number somewhere replaced by an extreme one.
                        if let Some(p) = text[at..].find(|c: char| c.is_ascii_digit()) {
                            let p = at + p;
                            text.replace_range(p..p + 1, TOKENS[tok % TOKENS.len()]);
                        }
                    }
                }
            }
            if let Ok(s) = serde_json::from_str::<Session>(&text) {
                if s.load_error.is_none() {
                    applied.set(applied.get() + 1);
                    let _table = crate::midi::MidiTable::new(&s.midi);
                    let json = serde_json::to_string(&s)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let back: Session = serde_json::from_str(&json)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    // Floats may come back one ulp off (serde_json's fast float parser).
                    let near = |a: Option<f64>, b: Option<f64>| match (a, b) {
                        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                        (x, y) => x == y,
                    };
                    prop_assert_eq!(&back.midi, &s.midi);
                    prop_assert_eq!(&back.browse_dir, &s.browse_dir);
                    for (b, d) in back.decks.iter().zip(&s.decks) {
                        prop_assert_eq!(&b.track, &d.track);
                        prop_assert!(near(b.cue_point, d.cue_point));
                        for (x, y) in b.hot_cues.iter().zip(&d.hot_cues) {
                            prop_assert!(near(*x, *y), "{:?} vs {:?}", x, y);
                        }
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        assert!(applied.get() > 0, "no mutant was still a valid session");
    }
}
