//! The control side of the plugin: everything slow, off the audio thread.
//!
//! * [`Shared::load`] decodes a track on its own thread (plus `<name>.<stem>.wav` stems
//!   beside it, the demo layout) at the engine's rate, hands it to the audio thread as a
//!   `Command::Load`, and queues an analysis job on the `segue-models` worker.
//! * The control thread ([`Shared::spawn_control`]) drops what the engine hands back, turns
//!   finished analyses into beatgrid and hot-cue commands, and copies the engine's cue
//!   points into the session so the host saves them.
//!
//! The audio thread never locks: commands reach it through a lock-free ring that only the
//! control side pushes into (under a mutex, on the control side) and the status comes back
//! through a triple buffer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use segue_engine::{Collector, Command, Position, Status, Stem, TrackAudio};
use segue_models::analysis::{analyze_file, Analysis};
use segue_models::worker::{self, Job, JobEvent, JobId, JobOutput, Priority, Worker};

use crate::midi::MidiTable;
use crate::params::DECKS;
use crate::session::{Session, SessionField};

/// Capacity of the control → audio command ring.
pub const TO_AUDIO_CAPACITY: usize = 1024;
/// Points of the waveform overview.
pub const OVERVIEW_POINTS: usize = 800;

/// Where a deck's track is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum DeckState {
    /// Nothing loaded.
    Empty,
    /// Decoding the file.
    Decoding,
    /// On the deck; the analysis is running.
    Analysing,
    /// On the deck with its analysis.
    Ready,
    /// On the deck, but the analysis failed (the message says why).
    AnalysisFailed(String),
    /// The file could not be loaded (the message names it and says why).
    Failed(String),
}

/// What the editor shows for a deck.
#[derive(Debug, Clone)]
pub struct DeckView {
    /// The file.
    pub path: Option<PathBuf>,
    /// Load state.
    pub state: DeckState,
    /// Peak per overview point, 0..=1 ([`OVERVIEW_POINTS`] of them when loaded).
    pub overview: Vec<f32>,
    /// Duration, seconds.
    pub duration: f64,
    /// Whether the track came with stems.
    pub has_stems: bool,
    /// The analysis, once done.
    pub analysis: Option<Arc<Analysis>>,
}

impl Default for DeckView {
    fn default() -> Self {
        Self {
            path: None,
            state: DeckState::Empty,
            overview: Vec::new(),
            duration: 0.0,
            has_stems: false,
            analysis: None,
        }
    }
}

/// State shared by the plugin object, the editor and the control threads.
pub struct Shared {
    /// Control → audio commands (the audio thread owns the consumer).
    to_audio: Mutex<rtrb::Producer<Command>>,
    /// Engine status published by the audio thread.
    status: Mutex<triple_buffer::Output<Status>>,
    /// What the editor shows.
    pub decks: Mutex<[DeckView; DECKS]>,
    /// The persisted session (the same `Arc` as the params' `session` field).
    pub session: Arc<SessionField>,
    /// New MIDI tables for the audio thread, and the replaced ones coming back.
    midi_tx: Mutex<rtrb::Producer<Box<MidiTable>>>,
    midi_old: Mutex<rtrb::Consumer<Box<MidiTable>>>,
    /// Engine cue points seen at the last tick (frames), per deck.
    last_cues: Mutex<[Option<[Option<f64>; segue_engine::HOT_CUES + 1]>; DECKS]>,
    /// Engine sample rate (0 before the first activation).
    pub rate: AtomicU32,
    /// Bumped per deck at each load, so a late decode or analysis of a replaced track is
    /// dropped.
    generation: [AtomicU64; DECKS],
    /// The engine's collector (replaced at each activation).
    pub collector: Mutex<Option<Collector>>,
    worker: Mutex<Option<Worker>>,
    /// Analysis jobs in flight: job → (deck, generation).
    jobs: Mutex<Vec<(JobId, usize, u64)>>,
    /// Loader threads still running.
    loaders: Mutex<Vec<JoinHandle<()>>>,
    stop: AtomicBool,
}

impl Shared {
    /// New shared state; returns the audio thread's ends.
    pub fn new(session: Arc<SessionField>) -> (Arc<Self>, AudioEnds) {
        let (tx, rx) = rtrb::RingBuffer::new(TO_AUDIO_CAPACITY);
        let (midi_tx, midi_rx) = rtrb::RingBuffer::new(4);
        let (midi_back, midi_old) = rtrb::RingBuffer::new(8);
        let (status_in, status_out) = triple_buffer::triple_buffer(&Status::default());
        let shared = Arc::new(Self {
            to_audio: Mutex::new(tx),
            status: Mutex::new(status_out),
            decks: Mutex::new(Default::default()),
            session,
            midi_tx: Mutex::new(midi_tx),
            midi_old: Mutex::new(midi_old),
            last_cues: Mutex::new([None; DECKS]),
            rate: AtomicU32::new(0),
            generation: Default::default(),
            collector: Mutex::new(None),
            worker: Mutex::new(None),
            jobs: Mutex::new(Vec::new()),
            loaders: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let ends = AudioEnds {
            commands: rx,
            status: status_in,
            midi: midi_rx,
            midi_back,
        };
        (shared, ends)
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
        let on_deck: Vec<Option<PathBuf>> =
            lock(&self.decks).iter().map(|v| v.path.clone()).collect();
        for (deck, ds) in saved.iter().enumerate() {
            match &ds.track {
                Some(p) if all || on_deck[deck].as_ref() != Some(p) => {
                    self.load(deck, p.clone(), true)
                }
                Some(_) => {
                    let clear =
                        (0..segue_engine::HOT_CUES as u8).map(|index| Command::ClearHotCue {
                            deck: deck as u8,
                            index,
                        });
                    let commands: Vec<Command> = clear.chain(cue_commands(deck, ds)).collect();
                    self.send(commands);
                }
                None if on_deck[deck].is_some() => {
                    self.generation[deck].fetch_add(1, Ordering::SeqCst);
                    self.send([Command::Eject { deck: deck as u8 }]);
                    lock(&self.decks)[deck] = DeckView::default();
                }
                None => {}
            }
        }
    }

    /// The latest engine status.
    pub fn status(&self) -> Status {
        *lock(&self.status).read()
    }

    /// Queue commands for the audio thread; those that do not fit are dropped here (off the
    /// audio thread) and counted.
    pub fn send(&self, commands: impl IntoIterator<Item = Command>) -> usize {
        let mut tx = lock(&self.to_audio);
        let mut dropped = 0;
        for c in commands {
            if tx.push(c).is_err() {
                dropped += 1;
            }
        }
        dropped
    }

    fn session_write(&self) -> std::sync::RwLockWriteGuard<'_, Session> {
        self.session.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Load `path` onto `deck` in the background (decode → deck → analysis). A failure is
    /// reported in the deck's view and on stderr.
    pub fn load(self: &Arc<Self>, deck: usize, path: PathBuf, restore_cues: bool) {
        if deck >= DECKS {
            return;
        }
        let generation = self.generation[deck].fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut decks = lock(&self.decks);
            decks[deck] = DeckView {
                path: Some(path.clone()),
                state: DeckState::Decoding,
                ..DeckView::default()
            };
        }
        {
            let mut s = self.session_write();
            if s.decks[deck].track.as_ref() != Some(&path) || !restore_cues {
                s.decks[deck] = Default::default();
            }
            s.decks[deck].track = Some(path.clone());
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("segue-plugin-load".into())
            .spawn(move || me.load_now(deck, &path, generation));
        let mut loaders = lock(&self.loaders);
        loaders.retain(|h| !h.is_finished());
        match spawned {
            Ok(h) => loaders.push(h),
            Err(e) => self.fail(
                deck,
                generation,
                format!("cannot start a loader thread: {e}"),
            ),
        }
    }

    fn current(&self, deck: usize, generation: u64) -> bool {
        self.generation[deck].load(Ordering::SeqCst) == generation
            && !self.stop.load(Ordering::SeqCst)
    }

    fn fail(&self, deck: usize, generation: u64, message: String) {
        if self.current(deck, generation) {
            eprintln!("segue-plugin: deck {}: {message}", deck_name(deck));
            lock(&self.decks)[deck].state = DeckState::Failed(message);
        }
    }

    fn load_now(self: &Arc<Self>, deck: usize, path: &Path, generation: u64) {
        let rate = match self.rate.load(Ordering::SeqCst) {
            0 => 48_000,
            r => r,
        };
        let audio = match decode_with_stems(path, rate) {
            Ok(a) => a,
            Err(e) => return self.fail(deck, generation, e),
        };
        if !self.current(deck, generation) {
            return;
        }
        let overview = overview(&audio);
        let duration = audio.duration_secs();
        let has_stems = audio.stems.is_some();
        let cues = self.session.read().map(|s| s.decks[deck].clone());
        let mut commands = vec![Command::Load {
            deck: deck as u8,
            audio: Arc::new(audio),
        }];
        if let Ok(saved) = cues {
            commands.extend(cue_commands(deck, &saved));
        }
        if self.send(commands) > 0 {
            return self.fail(
                deck,
                generation,
                "the audio thread is not taking commands".into(),
            );
        }
        {
            let mut decks = lock(&self.decks);
            let v = &mut decks[deck];
            v.overview = overview;
            v.duration = duration;
            v.has_stems = has_stems;
            v.state = DeckState::Analysing;
        }
        let mut worker = lock(&self.worker);
        let w = worker.get_or_insert_with(|| {
            Worker::new(1, |job, _ctx| {
                analyze_file(&job.path).map(|a| JobOutput::Analysis(Box::new(a)))
            })
        });
        let id = w.submit(Job::analyse(path), Priority::Deck);
        lock(&self.jobs).push((id, deck, generation));
    }

    /// Start the control thread (collector, analysis results, cue bookkeeping). It stops when
    /// [`Shared::shutdown`] is called.
    pub fn spawn_control(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("segue-plugin-control".into())
            .spawn(move || {
                while !me.stop.load(Ordering::SeqCst) {
                    me.tick();
                    std::thread::sleep(Duration::from_millis(15));
                }
                me.tick();
            })
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
        self.take_analyses();
        self.note_cues();
    }

    fn take_analyses(&self) {
        let events: Vec<JobEvent> = match lock(&self.worker).as_ref() {
            Some(w) => w.events().try_iter().collect(),
            None => return,
        };
        for event in events {
            let JobEvent::Finished { id, result, .. } = event else {
                continue;
            };
            let Some((deck, generation)) = ({
                let mut jobs = lock(&self.jobs);
                let i = jobs.iter().position(|j| j.0 == id);
                i.map(|i| {
                    let (_, d, g) = jobs.remove(i);
                    (d, g)
                })
            }) else {
                continue;
            };
            if !self.current(deck, generation) {
                continue;
            }
            match result {
                Ok(JobOutput::Analysis(a)) => {
                    let rate = self.rate.load(Ordering::SeqCst).max(1);
                    let saved_cues = self
                        .session
                        .read()
                        .map(|s| s.decks[deck].hot_cues.iter().any(Option::is_some))
                        .unwrap_or(false);
                    // Cues the user set (or restored from the state) win over the analysis.
                    let commands = worker::deck_commands(&a, deck as u8, rate)
                        .into_iter()
                        .filter(|c| !(saved_cues && matches!(c, Command::SetHotCue { .. })));
                    self.send(commands);
                    let mut decks = lock(&self.decks);
                    decks[deck].analysis = Some(Arc::new(*a));
                    decks[deck].state = DeckState::Ready;
                }
                Err(e) => {
                    let msg = e.to_string();
                    eprintln!("segue-plugin: deck {}: analysis: {msg}", deck_name(deck));
                    lock(&self.decks)[deck].state = DeckState::AnalysisFailed(msg);
                }
            }
        }
    }

    /// Copy the engine's cue points of loaded decks into the session (seconds).
    fn note_cues(&self) {
        let status = self.status();
        let rate = status.sample_rate.max(1) as f64;
        let loaded: [bool; DECKS] = {
            let decks = lock(&self.decks);
            std::array::from_fn(|d| {
                matches!(
                    decks[d].state,
                    DeckState::Analysing | DeckState::Ready | DeckState::AnalysisFailed(_)
                )
            })
        };
        let mut last = lock(&self.last_cues);
        for (d, ds) in status.decks.iter().take(DECKS).enumerate() {
            if !ds.loaded || !loaded[d] {
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

    /// Stop the control thread and the worker; wait for loaders.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for h in std::mem::take(&mut *lock(&self.loaders)) {
            let _ = h.join();
        }
        *lock(&self.worker) = None;
    }
}

/// The audio thread's ends of the channels to the control side.
pub struct AudioEnds {
    /// Commands from the control side.
    pub commands: rtrb::Consumer<Command>,
    /// Where the audio thread publishes the engine status.
    pub status: triple_buffer::Input<Status>,
    /// New MIDI tables.
    pub midi: rtrb::Consumer<Box<MidiTable>>,
    /// Replaced MIDI tables, dropped by the control side.
    pub midi_back: rtrb::Producer<Box<MidiTable>>,
}

/// Commands restoring a deck's saved cue points.
pub fn cue_commands(deck: usize, saved: &crate::session::DeckSession) -> Vec<Command> {
    let mut out = Vec::new();
    for (i, c) in saved.hot_cues.iter().enumerate() {
        if let Some(t) = c.filter(|t| t.is_finite() && *t >= 0.0) {
            out.push(Command::SetHotCue {
                deck: deck as u8,
                index: i as u8,
                at: Position::Seconds(t),
            });
        }
    }
    if let Some(t) = saved.cue_point.filter(|t| t.is_finite() && *t > 0.0) {
        out.push(Command::SetCue {
            deck: deck as u8,
            at: Position::Seconds(t),
        });
    }
    out
}

/// "A".."D".
pub fn deck_name(deck: usize) -> char {
    (b'A' + deck as u8) as char
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decode `path` at `rate`; if `<stem-of-name>.drums.wav` etc. all exist beside it (the demo
/// layout), they are loaded as the track's stems.
fn decode_with_stems(path: &Path, rate: u32) -> Result<TrackAudio, String> {
    let audio =
        segue_models::decode::decode_file(path, rate).map_err(|e| format!("cannot load: {e}"))?;
    if audio.frames() == 0 {
        return Err(format!("{}: no audio in the file", path.display()));
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_stem().and_then(|s| s.to_str())) else {
        return Ok(audio);
    };
    let stem_paths: Vec<PathBuf> = Stem::ALL
        .iter()
        .map(|s| dir.join(format!("{name}.{}.wav", s.name())))
        .collect();
    if !stem_paths.iter().all(|p| p.is_file()) {
        return Ok(audio);
    }
    let mut stems = Vec::with_capacity(4);
    for p in &stem_paths {
        match segue_models::decode::decode_file(p, rate) {
            Ok(s) if s.frames() == audio.frames() => stems.push(s.mix),
            // Stems that do not match the mix are ignored: the mix still plays.
            _ => return Ok(audio),
        }
    }
    let stems: [Vec<[f32; 2]>; 4] = stems.try_into().expect("four stems");
    audio
        .with_stems(stems)
        .map_err(|_| format!("{}: stems do not match the mix", path.display()))
}

/// Peak of each of [`OVERVIEW_POINTS`] stretches of the track.
fn overview(audio: &TrackAudio) -> Vec<f32> {
    let n = audio.frames().max(1);
    (0..OVERVIEW_POINTS)
        .map(|i| {
            let a = i * n / OVERVIEW_POINTS;
            let b = ((i + 1) * n / OVERVIEW_POINTS)
                .max(a + 1)
                .min(audio.mix.len());
            audio.mix[a.min(b)..b]
                .iter()
                .fold(0f32, |m, f| m.max(f[0].abs()).max(f[1].abs()))
                .min(1.0)
        })
        .collect()
}
