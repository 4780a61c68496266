//! The control side of the plugin: everything slow, off the audio thread.
//!
//! * [`Shared::load`] hands a track to the deck service both shells share
//!   ([`segue_library::decks::DeckService`]): decode once with its stems, `Command::Load`,
//!   the library's analysis or a worker job, beatgrid and hot cues (saved cues win).
//! * The control thread ([`Shared::spawn_control`]) drops what the engine hands back and
//!   copies the engine's cue points into the session so the host saves them.
//! * Recording ([`Shared::record_toggle`]: the editor's Record button, the MIDI `Record`
//!   note): the shared set recorder ([`segue_library::record::Recorder`]) drains the audio
//!   thread's lock-free tap of the master output (what the host receives) to a WAV in the
//!   session's record folder, with a cue sheet of the tracks that went on air.
//!
//! The audio thread never locks: the control side's commands reach the engine through the
//! engine's own command ring (its [`EngineHandle`], held here in the deck service's
//! [`EngineSink`] and replaced when the engine is rebuilt), the audio thread's own commands
//! go straight into the engine ([`segue_engine::Engine::schedule`]) — one queue — and the
//! status comes back through the engine's triple buffer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use segue_controllers::LiveAction;
use segue_engine::record::RecordReader;
use segue_engine::{Collector, Command, EngineHandle, Status};
use segue_library::decks::{
    CommandSink, DeckService, DeckServiceConfig, DeckView, EngineSink, SavedCues,
};
use segue_library::record::{RecordState, Recorder};
use segue_library::Library;
use segue_mix::live::{Deps, Live};

use crate::midi::{Learn, MidiTable};
use crate::params::DECKS;
use crate::session::{default_record_dir, Session, SessionField};

/// State shared by the plugin object, the editor and the control threads.
pub struct Shared {
    /// The engine's control end (commands in, status out); empty before activation.
    sink: Arc<EngineSink>,
    /// Loading, analysis and what is on each deck (the service both shells share).
    pub decks: DeckService,
    /// The persisted session (the same `Arc` as the params' `session` field).
    pub session: Arc<SessionField>,
    /// Live actions from MIDI notes (load a suggestion, Auto DJ), acted on by the
    /// control thread.
    live_rx: Mutex<rtrb::Consumer<LiveAction>>,
    /// New MIDI tables for the audio thread, and the replaced ones coming back.
    midi_tx: Mutex<rtrb::Producer<Box<MidiTable>>>,
    midi_old: Mutex<rtrb::Consumer<Box<MidiTable>>>,
    /// Engine cue points seen at the last tick (frames), per deck.
    last_cues: Mutex<[Option<[Option<f64>; segue_engine::HOT_CUES + 1]>; DECKS]>,
    /// Engine sample rate (0 before the first activation).
    pub rate: AtomicU32,
    /// The engine's collector (replaced at each activation).
    pub collector: Mutex<Option<Collector>>,
    /// Suggestions for the deck on air and Auto DJ (the service the daemon runs too).
    pub live: Live,
    /// MIDI learn: the editor arms a target, the audio thread hears the message, the control
    /// thread binds it ([`Shared::tick`]).
    pub learn: Learn,
    /// Tracks on the decks as last copied into the session.
    last_tracks: Mutex<[Option<PathBuf>; DECKS]>,
    /// The set recorder of the current engine (replaced with it).
    recorder: Mutex<Option<Recorder>>,
    stop: AtomicBool,
}

impl Shared {
    /// New shared state; returns the audio thread's ends. `library` is where analyses are
    /// looked up and stored (`None`: every track is analysed).
    pub fn new(session: Arc<SessionField>, library: Option<Library>) -> (Arc<Self>, AudioEnds) {
        let (midi_tx, midi_rx) = rtrb::RingBuffer::new(4);
        let (midi_back, midi_old) = rtrb::RingBuffer::new(8);
        let (live_tx, live_rx) = rtrb::RingBuffer::new(32);
        let sink = Arc::new(EngineSink::default());
        let decks = DeckService::new(
            DeckServiceConfig {
                decks: DECKS,
                rate: 0,
                worker_threads: 1,
                library,
                auto_stems: true,
            },
            sink.clone(),
        );
        let shared = Arc::new(Self {
            sink,
            decks,
            session,
            live_rx: Mutex::new(live_rx),
            midi_tx: Mutex::new(midi_tx),
            midi_old: Mutex::new(midi_old),
            last_cues: Mutex::new([None; DECKS]),
            rate: AtomicU32::new(0),
            collector: Mutex::new(None),
            live: Live::default(),
            learn: Learn::default(),
            last_tracks: Mutex::new(Default::default()),
            recorder: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let ends = AudioEnds {
            live: live_tx,
            midi: midi_rx,
            midi_back,
        };
        (shared, ends)
    }

    /// A new engine (at activation, or a new sample rate): its control end, collector and
    /// the reader of its record tap replace the old ones, and tracks are decoded at its rate
    /// from then on. The old handle, collector and recorder (a running take is finished) are
    /// dropped here, on the host's main thread.
    pub fn attach(
        self: &Arc<Self>,
        handle: EngineHandle,
        collector: Collector,
        rate: u32,
        record: RecordReader,
    ) {
        drop(self.sink.attach(handle));
        *lock(&self.collector) = Some(collector);
        self.rate.store(rate, Ordering::SeqCst);
        self.decks.set_rate(rate);
        let weak = Arc::downgrade(self);
        let recorder = Recorder::new(record, rate, move || {
            weak.upgrade().and_then(|s| s.decks.now_playing())
        });
        let recorder = match recorder {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("segue-plugin: no recording: {e}");
                None
            }
        };
        let old = std::mem::replace(&mut *lock(&self.recorder), recorder);
        drop(old);
    }

    /// The folder takes go to: the session's, else [`default_record_dir`].
    pub fn record_dir(&self) -> PathBuf {
        self.session
            .read()
            .ok()
            .and_then(|s| s.record_dir.clone())
            .unwrap_or_else(default_record_dir)
    }

    /// Set the folder takes go to (saved in the session).
    pub fn set_record_dir(&self, dir: PathBuf) {
        self.session_write().record_dir = Some(dir);
    }

    /// Start a take: `segue-<unix time>.wav` in [`Shared::record_dir`]
    /// ([`segue_library::record::new_take_path`]); returns its path.
    pub fn record_start(&self) -> Result<PathBuf, String> {
        let rec = lock(&self.recorder);
        let rec = rec.as_ref().ok_or("the plugin is not active")?;
        let path = segue_library::record::new_take_path(&self.record_dir());
        rec.start(&path).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Stop the take: the file is finalised, the cue sheet written.
    pub fn record_stop(&self) -> Result<(), String> {
        let rec = lock(&self.recorder);
        let rec = rec.as_ref().ok_or("the plugin is not active")?;
        rec.stop().map(drop).map_err(|e| e.to_string())
    }

    /// Start recording if not recording, else stop.
    pub fn record_toggle(&self) -> Result<(), String> {
        if self.record_state().recording {
            self.record_stop()
        } else {
            self.record_start().map(drop)
        }
    }

    /// Where recording stands (the editor shows it).
    pub fn record_state(&self) -> RecordState {
        lock(&self.recorder)
            .as_ref()
            .map(Recorder::state)
            .unwrap_or_default()
    }

    fn record_action(&self, a: LiveAction) -> Result<(), String> {
        let on = self.record_state().recording;
        match a {
            LiveAction::RecordStart if !on => self.record_start().map(drop),
            LiveAction::RecordStop if on => self.record_stop(),
            LiveAction::RecordToggle => self.record_toggle(),
            _ => Ok(()),
        }
    }

    /// Compile the session's MIDI mapping and hand it to the audio thread.
    pub fn send_midi_table(&self) {
        drop(lock(&self.midi_old).pop());
        let table = match self.session.read() {
            Ok(s) => MidiTable::new(&s.midi),
            Err(_) => return,
        };
        let _ = lock(&self.midi_tx).push(table);
    }

    /// Bring the decks in line with the session: (re)load every deck whose saved track is
    /// not the one on it (every deck when `all`), eject decks with no saved track, and
    /// re-apply saved cue points to decks that keep their track.
    pub fn restore(self: &Arc<Self>, all: bool) {
        let saved: Vec<crate::session::DeckSession> = match self.session.read() {
            Ok(s) => s.decks.to_vec(),
            Err(_) => return,
        };
        if let Ok(s) = self.session.read() {
            if let Some(e) = &s.load_error {
                eprintln!("segue-plugin: saved session not restored: {e}");
            }
        }
        for (deck, ds) in saved.iter().enumerate() {
            let on_deck = self.decks.deck(deck).path;
            match &ds.track {
                Some(p) if all || on_deck.as_ref() != Some(p) => self.load(deck, p.clone(), true),
                Some(_) => self.decks.restore_cues(deck, saved_cues(ds)),
                None if on_deck.is_some() => self.decks.eject(deck),
                None => {}
            }
        }
    }

    /// The latest engine status.
    pub fn status(&self) -> Status {
        self.sink.status()
    }

    /// Queue commands for the engine; those that do not fit are dropped here (off the audio
    /// thread) and counted. Returns how many were dropped.
    pub fn send(&self, commands: impl IntoIterator<Item = Command>) -> usize {
        let mut dropped = 0;
        for c in commands {
            if !self.sink.send(c) {
                dropped += 1;
            }
        }
        dropped
    }

    fn session_write(&self) -> std::sync::RwLockWriteGuard<'_, Session> {
        self.session.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Load `path` onto `deck` in the background (decode → deck → analysis), with the
    /// session's cue points for it when `restore_cues` and the session holds this track. A
    /// failure is reported in the deck's view.
    pub fn load(self: &Arc<Self>, deck: usize, path: PathBuf, restore_cues: bool) {
        if deck >= DECKS {
            return;
        }
        let saved = {
            let mut s = self.session_write();
            if s.decks[deck].track.as_ref() != Some(&path) || !restore_cues {
                s.decks[deck] = Default::default();
            }
            s.decks[deck].track = Some(path.clone());
            saved_cues(&s.decks[deck])
        };
        self.decks.load(deck, path, Some(saved));
    }

    /// What the live loops (suggestions, Auto DJ) work with.
    pub fn live_deps(&self) -> Deps<'_> {
        Deps {
            decks: &self.decks,
            engine: &self.sink,
            deck_count: DECKS,
        }
    }

    /// Start the control thread (collector, cue and track bookkeeping) and the live
    /// service's two threads (suggestions, Auto DJ). They stop when [`Shared::shutdown`] is
    /// called.
    pub fn spawn_control(self: &Arc<Self>) -> std::io::Result<Vec<JoinHandle<()>>> {
        let me = self.clone();
        let control = std::thread::Builder::new()
            .name("segue-plugin-control".into())
            .spawn(move || {
                while !me.stop.load(Ordering::SeqCst) {
                    me.tick();
                    std::thread::sleep(Duration::from_millis(15));
                }
                me.tick();
            })?;
        let me = self.clone();
        let suggest = std::thread::Builder::new()
            .name("segue-plugin-suggest".into())
            .spawn(move || me.live.run_suggestions(me.live_deps(), &me.stop))?;
        let me = self.clone();
        let autodj = std::thread::Builder::new()
            .name("segue-plugin-autodj".into())
            .spawn(move || me.live.run_autodj(me.live_deps(), &me.stop))?;
        Ok(vec![control, suggest, autodj])
    }

    /// One round of control work.
    pub fn tick(self: &Arc<Self>) {
        if let Some(c) = lock(&self.collector).as_mut() {
            c.collect();
        }
        drop(lock(&self.midi_old).pop());
        if self.session.take_restored() && self.rate.load(Ordering::SeqCst) != 0 {
            self.restore(false);
            self.send_midi_table();
        }
        self.bind_learned();
        while let Ok(a) = lock(&self.live_rx).pop() {
            let done = match a {
                LiveAction::RecordToggle | LiveAction::RecordStart | LiveAction::RecordStop => {
                    self.record_action(a)
                }
                _ => self.live.act(self.live_deps(), a),
            };
            if let Err(e) = done {
                eprintln!("segue-plugin: MIDI {a:?}: {e}");
            }
        }
        self.note_tracks();
        self.note_cues();
    }

    /// A message heard by MIDI learn: bind it to the armed target in the session's mapping
    /// (saved with the plugin state) and hand the audio thread the new table.
    fn bind_learned(&self) {
        let Some((target, heard)) = self.learn.take() else {
            return;
        };
        let bound = self.session_write().midi.bind(target, heard);
        let text = format!("{heard:?} -> {target:?}");
        *lock(&self.learn.last) = Some(if bound {
            self.send_midi_table();
            format!("learned: {text}")
        } else {
            format!("not learned: {text}")
        });
    }

    /// Reset the MIDI mapping to the default layout (forgets every learned binding).
    pub fn reset_midi(&self) {
        self.session_write().midi = crate::midi::MidiMapping::default();
        self.learn.arm(None);
        self.send_midi_table();
    }

    /// A track that reached a deck without going through [`Shared::load`] (Auto DJ, a
    /// suggestion) goes into the session too, so the host saves what is on the decks.
    fn note_tracks(&self) {
        let views = self.decks.decks();
        let mut last = lock(&self.last_tracks);
        for (d, view) in views.iter().enumerate().take(DECKS) {
            if view.path == last[d] {
                continue;
            }
            last[d] = view.path.clone();
            let Some(path) = &view.path else {
                continue;
            };
            let mut s = self.session_write();
            if s.decks[d].track.as_ref() != Some(path) {
                s.decks[d] = Default::default();
                s.decks[d].track = Some(path.clone());
            }
        }
    }

    /// Copy the engine's cue points of loaded decks into the session (seconds).
    fn note_cues(&self) {
        let status = self.status();
        let rate = status.sample_rate.max(1) as f64;
        let loaded: Vec<bool> = self.decks.decks().iter().map(DeckView::loaded).collect();
        let mut last = lock(&self.last_cues);
        for (d, ds) in status.decks.iter().take(DECKS).enumerate() {
            if !ds.loaded || !loaded.get(d).copied().unwrap_or(false) {
                last[d] = None;
                continue;
            }
            let mut now = [None; segue_engine::HOT_CUES + 1];
            now[..segue_engine::HOT_CUES].copy_from_slice(&ds.hot_cues);
            now[segue_engine::HOT_CUES] = Some(ds.cue_point);
            // Only changes made in the engine are copied, so a restored session is not
            // overwritten by what the engine held before the restore reached it.
            if last[d] == Some(now) {
                continue;
            }
            last[d] = Some(now);
            let mut s = self.session_write();
            s.decks[d].hot_cues = ds.hot_cues.map(|c| c.map(|f| f / rate));
            s.decks[d].cue_point = Some(ds.cue_point / rate);
        }
    }

    /// Stop the control thread, the loader and the worker; finish a running take.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(lock(&self.recorder).take());
        self.decks.shutdown();
    }
}

/// The audio thread's ends of the channels to the control side.
pub struct AudioEnds {
    /// Live actions pressed on MIDI notes.
    pub live: rtrb::Producer<LiveAction>,
    /// New MIDI tables.
    pub midi: rtrb::Consumer<Box<MidiTable>>,
    /// Replaced MIDI tables, dropped by the control side.
    pub midi_back: rtrb::Producer<Box<MidiTable>>,
}

/// A deck's saved cue points in the service's terms.
pub fn saved_cues(saved: &crate::session::DeckSession) -> SavedCues {
    SavedCues {
        hot_cues: saved.hot_cues,
        cue_point: saved.cue_point,
    }
}

/// "A".."D".
pub fn deck_name(deck: usize) -> char {
    (b'A' + deck as u8) as char
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
