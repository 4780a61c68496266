//! The deck-loading service both shells use (`segue serve` and the plugin): one place that
//! turns "put this file on deck N" into engine commands.
//!
//! For every load it
//! 1. decodes the file **once**, at the engine rate, with its stems when
//!    `<name>.{drums,bass,other,vocals}.wav` (or `.flac`) lie beside it (the layout `segue
//!    demo` and `segue separate` without `-o` write), else the stem files the library
//!    registered for it ([`Library::stems_at`]: `segue separate`, `segue library add
//!    --stems`), when they match the mix's length;
//! 2. hands the track to the engine (`Command::Load`) followed by the deck's saved cue points;
//! 3. takes a current analysis from the library when it has one, or queues the decoded audio
//!    on the background [`Worker`] with [`Priority::Deck`] (no second decode) and stores the
//!    result in the library;
//! 4. turns the analysis into a beatgrid and hot cues ([`deck_commands`]) for every deck that
//!    still holds that track. **Hot-cue policy:** cues the DJ saved or set win: analysed hot
//!    cues are placed only on a deck with no saved hot cue and no hot cue set in the engine.
//!
//! 5. **separates stems** for a track that has none (when [`DeckServiceConfig::auto_stems`]
//!    is on, the default in both shells): the decoded deck audio goes to the same worker as a
//!    [`JobKind::Separate`](crate::worker::JobKind) job with [`Priority::Deck`] (after the
//!    track's analysis), with the [`DspSeparator`]; its progress shows in
//!    [`DeckView::separation`]; a reload or eject cancels it. When the stems are ready they go
//!    to the engine as [`Command::AttachStems`] for exactly that track (a [`TrackRef`] the
//!    service keeps alive while it holds the track), and the deck switches to stem playback
//!    at a block boundary without a jump (the stems sum to the mix). The old track and the
//!    stems are freed by the engine's collector, never on the audio thread.
//!
//! 6. records the **play history** when it has a library: a track that stayed on air
//!    (`Status::on_air`, the deck the audience hears most) for [`MIN_ON_AIR`] in one load
//!    counts as played, in one live [`PlaySession`] per service, and the track played before
//!    it in the session makes a transition (previous → this one) of the library's
//!    transition graph ([`crate::graph`]). [`DeckService::set_history`] renames the session
//!    or changes the threshold.
//!
//! A per-deck generation guards against late results: a decode or analysis that finishes after
//! its deck was loaded again (or ejected) is dropped. The shells implement [`CommandSink`]
//! (how commands reach their engine) and read [`DeckView`]s for display, OSC and the lighting
//! feed.
//!
//! Must never: run on the audio thread, or block the caller on decoding or analysis (both run
//! on the service's own threads, started on the first load).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use segue_analysis::{Analysis, ANALYSIS_RATE};
use segue_engine::{Command, DeckId, Position, Status, Stem, TrackAudio, TrackRef, HOT_CUES};
use segue_separate::{Device, DspSeparator, OnnxOptions, OnnxSeparator, SeparateError, Separator};

use crate::graph::{PlaySession, SessionKind};
use crate::vocals::VocalEnvelope;
use crate::worker::{deck_commands, Job, JobEvent, JobId, JobKind, JobOutput, Priority, Worker};
use crate::{Library, SegueError, StemFiles, TrackId};

/// How long a track must be on air (in one load) to count as played, unless
/// [`DeckService::set_history`] says otherwise.
pub const MIN_ON_AIR: std::time::Duration = std::time::Duration::from_secs(20);

/// How often the history thread reads the engine status.
const HISTORY_TICK: std::time::Duration = std::time::Duration::from_millis(100);

/// Points of a deck's waveform overview.
pub const OVERVIEW_POINTS: usize = 800;

/// How a shell's engine takes commands from the control side.
pub trait CommandSink: Send + Sync {
    /// Queue `command` for the start of the engine's next block. `false` when the engine's
    /// queue is full and the command was dropped (the sink counts it).
    fn send(&self, command: Command) -> bool;
    /// The engine's latest status (hot cues already set decide the hot-cue policy).
    fn status(&self) -> Status;
}

/// The [`CommandSink`] over an engine's control end, shared by a shell's control threads
/// (the daemon's OSC, MIDI and feed threads; the plugin's control thread and editor). It
/// may start without an engine and have one attached later (the plugin builds its engine
/// at activation and again at a new sample rate): until then commands are dropped and the
/// status is the default one.
#[derive(Default)]
pub struct EngineSink {
    handle: Mutex<Option<segue_engine::EngineHandle>>,
    /// Commands dropped because the engine's queue was full (or there was no engine).
    pub queue_full: AtomicU64,
}

impl EngineSink {
    /// A sink over `handle`.
    pub fn new(handle: segue_engine::EngineHandle) -> Self {
        Self {
            handle: Mutex::new(Some(handle)),
            queue_full: AtomicU64::new(0),
        }
    }

    /// Attach a (new) engine; the old handle is returned for dropping.
    pub fn attach(&self, handle: segue_engine::EngineHandle) -> Option<segue_engine::EngineHandle> {
        lock(&self.handle).replace(handle)
    }

    /// Queue a timed command (counted when it cannot be queued).
    pub fn send_timed(&self, command: segue_engine::TimedCommand) -> bool {
        let queued = lock(&self.handle)
            .as_mut()
            .is_some_and(|h| h.send_timed(command).is_ok());
        if !queued {
            self.queue_full.fetch_add(1, Ordering::Relaxed);
        }
        queued
    }

    /// Commands dropped so far.
    pub fn dropped(&self) -> u64 {
        self.queue_full.load(Ordering::Relaxed)
    }
}

impl CommandSink for EngineSink {
    fn send(&self, command: Command) -> bool {
        self.send_timed(segue_engine::TimedCommand { at: None, command })
    }

    fn status(&self) -> Status {
        lock(&self.handle)
            .as_mut()
            .map(|h| h.status())
            .unwrap_or_default()
    }
}

/// Where a deck's track is in its life.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DeckState {
    /// Nothing loaded.
    #[default]
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

/// What the shells show of a deck: the file, its state, overview and analysis.
#[derive(Debug, Clone, Default)]
pub struct DeckView {
    /// The file on (or coming onto) the deck.
    pub path: Option<PathBuf>,
    /// Display title (the file name without extension).
    pub title: String,
    /// Load state.
    pub state: DeckState,
    /// Bumped on every load and eject, so late results for an old track are ignored.
    pub generation: u64,
    /// Peak per overview point, 0..=1 ([`OVERVIEW_POINTS`] of them once loaded).
    pub overview: Arc<[f32]>,
    /// Duration, seconds.
    pub duration: f64,
    /// Whether the track plays from stems (files beside it, or separated and sent to the
    /// engine).
    pub has_stems: bool,
    /// Stem separation of this track: `Some(fraction done)` while queued (0) or running.
    pub separation: Option<f32>,
    /// Why the separation failed, if it did.
    pub separation_error: Option<String>,
    /// The analysis, once known.
    pub analysis: Option<Arc<Analysis>>,
    /// Where the track sings, once it plays from stems (for plans that keep vocals apart).
    pub vocals: Option<Arc<VocalEnvelope>>,
}

impl DeckView {
    /// Key as "8A A minor" (Camelot and name), empty until analysed.
    pub fn key(&self) -> String {
        self.analysis
            .as_ref()
            .map(|a| format!("{} {}", a.camelot, a.key))
            .unwrap_or_default()
    }

    /// The load and analysis state in words, for a status line or a tablet: empty with no
    /// track, `loading`, `analysing`, `analysed`, `not analysed: REASON` (too short, silent,
    /// no beat: the track plays without a grid) or `load failed: REASON`.
    pub fn state_text(&self) -> String {
        match &self.state {
            DeckState::Empty => String::new(),
            DeckState::Decoding => "loading".into(),
            DeckState::Analysing => "analysing".into(),
            DeckState::Ready => "analysed".into(),
            DeckState::AnalysisFailed(e) => format!("not analysed: {e}"),
            DeckState::Failed(e) => format!("load failed: {e}"),
        }
    }

    /// A load is in progress (decoding).
    pub fn loading(&self) -> bool {
        self.state == DeckState::Decoding
    }

    /// The track is on the deck (whatever its analysis state).
    pub fn loaded(&self) -> bool {
        matches!(
            self.state,
            DeckState::Analysing | DeckState::Ready | DeckState::AnalysisFailed(_)
        )
    }
}

/// Cue points the DJ saved for a track (seconds into it): restored on load, and they win
/// over the analysed ones.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SavedCues {
    /// Hot cues 1..8.
    pub hot_cues: [Option<f64>; HOT_CUES],
    /// The main cue point.
    pub cue_point: Option<f64>,
}

impl SavedCues {
    /// Whether any hot cue is saved.
    pub fn any_hot_cue(&self) -> bool {
        self.hot_cues.iter().any(Option::is_some)
    }

    /// The commands that put these cues on `deck` (non-finite or negative times skipped).
    pub fn commands(&self, deck: DeckId) -> Vec<Command> {
        let mut out = Vec::new();
        for (i, c) in self.hot_cues.iter().enumerate() {
            if let Some(t) = c.filter(|t| t.is_finite() && *t >= 0.0) {
                out.push(Command::SetHotCue {
                    deck,
                    index: i as u8,
                    at: Position::Seconds(t),
                });
            }
        }
        if let Some(t) = self.cue_point.filter(|t| t.is_finite() && *t > 0.0) {
            out.push(Command::SetCue {
                deck,
                at: Position::Seconds(t),
            });
        }
        out
    }
}

/// What the service counted since it started.
#[derive(Debug, Default)]
pub struct DeckCounters {
    /// Tracks that reached a deck.
    pub loads: AtomicU64,
    /// Loads that failed (decode error, engine queue full).
    pub loads_failed: AtomicU64,
    /// Analyses finished by the worker.
    pub analyses: AtomicU64,
    /// Analyses taken from the library instead.
    pub from_library: AtomicU64,
    /// Stem separations finished by the worker.
    pub separations: AtomicU64,
    /// Stems handed to a deck ([`Command::AttachStems`] sent).
    pub stems_attached: AtomicU64,
}

/// How the service is set up.
pub struct DeckServiceConfig {
    /// Number of decks.
    pub decks: usize,
    /// Engine sample rate (tracks are decoded at it); 0 = not known yet, see
    /// [`DeckService::set_rate`].
    pub rate: u32,
    /// Worker threads for analysis (0 = [`crate::worker::default_threads`]).
    pub worker_threads: usize,
    /// The library to take analyses from and store them in.
    pub library: Option<Library>,
    /// Separate stems in the background for every loaded track that has none, and hand
    /// them to its deck (see the module doc). Changeable later with
    /// [`DeckService::set_auto_stems`].
    pub auto_stems: bool,
}

struct LoadRequest {
    deck: usize,
    generation: u64,
    path: PathBuf,
    saved: Option<SavedCues>,
}

struct Running {
    tx: Sender<LoadRequest>,
    threads: Vec<JoinHandle<()>>,
    worker: Arc<Worker>,
}

/// A deck's track as the service holds it for its stems: the engine's `Arc` (kept alive so
/// its [`TrackRef`] cannot name another track) and the separation job, if any.
struct Held {
    generation: u64,
    track: Arc<TrackAudio>,
    job: Option<JobId>,
}

struct Inner {
    sink: Arc<dyn CommandSink>,
    held: Mutex<Vec<Option<Held>>>,
    auto_stems: AtomicBool,
    decks: Mutex<Vec<DeckView>>,
    saved: Mutex<Vec<Option<SavedCues>>>,
    rate: AtomicU32,
    library: Mutex<Option<Library>>,
    counters: DeckCounters,
    stop: AtomicBool,
    history: Mutex<History>,
    separator: Mutex<SeparatorSlot>,
}

/// Which separator makes the stems of live decks ([`DeckService::set_stem_separator`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StemSeparator {
    /// An htdemucs ONNX model: a file, or a folder holding exactly one `.onnx` file. `None`:
    /// the DSP separator.
    pub model: Option<PathBuf>,
    /// Where it runs ([`Device::Auto`]: the GPU when usable, else the CPU).
    pub device: Device,
}

impl StemSeparator {
    /// The model file `model` names: itself, or the only `.onnx` file in it when it is a
    /// folder.
    pub fn model_file(&self) -> Result<Option<PathBuf>, SeparateError> {
        let Some(m) = &self.model else {
            return Ok(None);
        };
        if !m.is_dir() {
            return Ok(Some(m.clone()));
        }
        let bad = |reason: String| SeparateError::Model {
            path: m.clone(),
            reason,
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(m)
            .map_err(|e| bad(format!("cannot read the folder: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("onnx"))
            })
            .collect();
        found.sort();
        match found.len() {
            1 => Ok(found.pop()),
            0 => Err(bad("no .onnx file in the folder".into())),
            n => Err(bad(format!(
                "{n} .onnx files in the folder; name the one to use"
            ))),
        }
    }
}

/// The chosen separator, with the ONNX model opened once.
#[derive(Default)]
struct SeparatorSlot {
    choice: StemSeparator,
    onnx: Option<OnnxSeparator>,
}

/// The live session being recorded and what is on air.
struct History {
    name: String,
    min_on_air: std::time::Duration,
    session: Option<PlaySession>,
    /// (deck, generation) on air, and for how long so far.
    on_air: Option<(usize, u64)>,
    on_air_for: std::time::Duration,
    /// The load already recorded as played (one play per load).
    counted: Option<(usize, u64)>,
}

/// The deck-loading service (see the module doc).
pub struct DeckService {
    inner: Arc<Inner>,
    worker_threads: usize,
    running: Mutex<Option<Running>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DeckService {
    /// A service for `config.decks` decks sending to `sink`. No thread starts before the
    /// first load.
    pub fn new(config: DeckServiceConfig, sink: Arc<dyn CommandSink>) -> Self {
        Self {
            inner: Arc::new(Inner {
                sink,
                held: Mutex::new((0..config.decks).map(|_| None).collect()),
                auto_stems: AtomicBool::new(config.auto_stems),
                decks: Mutex::new(vec![DeckView::default(); config.decks]),
                saved: Mutex::new(vec![None; config.decks]),
                rate: AtomicU32::new(config.rate),
                library: Mutex::new(config.library),
                counters: DeckCounters::default(),
                stop: AtomicBool::new(false),
                history: Mutex::new(History {
                    name: "Segue live session".into(),
                    min_on_air: MIN_ON_AIR,
                    session: None,
                    on_air: None,
                    on_air_for: std::time::Duration::ZERO,
                    counted: None,
                }),
                separator: Mutex::new(SeparatorSlot::default()),
            }),
            worker_threads: config.worker_threads,
            running: Mutex::new(None),
        }
    }

    /// Number of decks.
    pub fn deck_count(&self) -> usize {
        lock(&self.inner.decks).len()
    }

    /// The engine rate tracks are decoded at (a plugin learns it at activation).
    pub fn set_rate(&self, rate: u32) {
        self.inner.rate.store(rate, Ordering::SeqCst);
    }

    /// Turn automatic stem separation on or off for the tracks loaded from now on (a
    /// separation already queued or running goes on).
    pub fn set_auto_stems(&self, on: bool) {
        self.inner.auto_stems.store(on, Ordering::SeqCst);
    }

    /// Make the stems of tracks loaded from now on with `choice` (default: the DSP
    /// separator on [`Device::Auto`]). A model is opened here, so an unusable model, ONNX
    /// Runtime library or device is an error now (the previous choice stays), not at the
    /// first track. Returns a note when the model runs elsewhere than asked (`auto` on the
    /// CPU).
    pub fn set_stem_separator(
        &self,
        choice: StemSeparator,
    ) -> Result<Option<String>, SeparateError> {
        let onnx = match choice.model_file()? {
            Some(file) => Some(OnnxSeparator::new(
                &file,
                &OnnxOptions {
                    device: choice.device,
                    ..OnnxOptions::default()
                },
            )?),
            None => {
                if choice.device == Device::Cuda {
                    segue_separate::cuda_usable().map_err(SeparateError::Device)?;
                }
                None
            }
        };
        let note = onnx.as_ref().and_then(|o| o.note().map(str::to_string));
        *lock(&self.inner.separator) = SeparatorSlot { choice, onnx };
        Ok(note)
    }

    /// The separator live decks get their stems from.
    pub fn stem_separator(&self) -> StemSeparator {
        lock(&self.inner.separator).choice.clone()
    }

    /// Whether loaded tracks get their stems separated.
    pub fn auto_stems(&self) -> bool {
        self.inner.auto_stems.load(Ordering::SeqCst)
    }

    /// What the service counted.
    pub fn counters(&self) -> &DeckCounters {
        &self.inner.counters
    }

    /// A copy of one deck's view (an empty view for a deck that does not exist).
    pub fn deck(&self, deck: usize) -> DeckView {
        lock(&self.inner.decks)
            .get(deck)
            .cloned()
            .unwrap_or_default()
    }

    /// Copies of every deck's view.
    pub fn decks(&self) -> Vec<DeckView> {
        lock(&self.inner.decks).clone()
    }

    /// The track on air (the engine's loudest playing deck), for a recording's cue sheet.
    pub fn now_playing(&self) -> Option<crate::record::NowPlaying> {
        let deck = usize::from(self.inner.sink.status().on_air?);
        let view = self.deck(deck);
        if !view.loaded() {
            return None;
        }
        Some(crate::record::NowPlaying {
            deck,
            generation: view.generation,
            title: view.title.clone(),
            path: view.path.clone(),
            bpm: view.analysis.as_ref().map(|a| a.bpm),
            key: view.analysis.as_ref().map(|a| a.camelot.clone()),
        })
    }

    /// Name the live session the plays are recorded in (e.g. "segue serve, 2026-12-03
    /// 21:00") and how long a track must be on air to count as played ([`MIN_ON_AIR`] by
    /// default). Takes effect for the next play; the session row is created at the first one.
    pub fn set_history(&self, session_name: &str, min_on_air: std::time::Duration) {
        let mut h = lock(&self.inner.history);
        h.name = session_name.to_string();
        h.min_on_air = min_on_air;
    }

    /// The live session plays are recorded in, once the first play was recorded.
    pub fn session(&self) -> Option<crate::graph::SessionId> {
        lock(&self.inner.history)
            .session
            .as_ref()
            .map(PlaySession::id)
    }

    /// Run `f` with the library, if there is one (queries, history, suggestions).
    pub fn with_library<R>(&self, f: impl FnOnce(&mut Library) -> R) -> Option<R> {
        lock(&self.inner.library).as_mut().map(f)
    }

    /// Load `path` onto `deck` in the background; `saved` are the DJ's cue points for it.
    /// Returns `false` when the deck does not exist or the service cannot start its threads.
    pub fn load(&self, deck: usize, path: PathBuf, saved: Option<SavedCues>) -> bool {
        let Some(generation) = self.inner.with_deck(deck, |d| {
            *d = DeckView {
                title: title_of(&path),
                path: Some(path.clone()),
                state: DeckState::Decoding,
                generation: d.generation + 1,
                ..DeckView::default()
            };
            d.generation
        }) else {
            return false;
        };
        self.release_held(deck);
        lock(&self.inner.saved)[deck] = saved;
        let request = LoadRequest {
            deck,
            generation,
            path,
            saved,
        };
        match self.start() {
            Ok(tx) => tx.send(request).is_ok(),
            Err(e) => {
                self.inner
                    .fail(deck, generation, format!("cannot start the loader: {e}"));
                false
            }
        }
    }

    /// Eject `deck`: the engine drops its track and late results for it are ignored.
    pub fn eject(&self, deck: usize) {
        let ejected = self.inner.with_deck(deck, |d| {
            *d = DeckView {
                generation: d.generation + 1,
                ..DeckView::default()
            };
        });
        if ejected.is_some() {
            self.release_held(deck);
            lock(&self.inner.saved)[deck] = None;
            self.inner.sink.send(Command::Eject { deck: deck as u8 });
        }
    }

    /// Forget the deck's held track and cancel its separation (a new load or an eject).
    fn release_held(&self, deck: usize) {
        let held = lock(&self.inner.held).get_mut(deck).and_then(Option::take);
        if let (Some(job), Some(r)) = (held.and_then(|h| h.job), lock(&self.running).as_ref()) {
            r.worker.cancel(job);
        }
    }

    /// Put `saved` on a deck that keeps its track (a restored session): the engine's hot cues
    /// are cleared, then the saved ones set.
    pub fn restore_cues(&self, deck: usize, saved: SavedCues) {
        if deck >= self.deck_count() {
            return;
        }
        lock(&self.inner.saved)[deck] = Some(saved);
        for index in 0..HOT_CUES as u8 {
            self.inner.sink.send(Command::ClearHotCue {
                deck: deck as u8,
                index,
            });
        }
        for c in saved.commands(deck as u8) {
            self.inner.sink.send(c);
        }
    }

    /// Start the loader and result threads and the worker (once).
    fn start(&self) -> std::io::Result<Sender<LoadRequest>> {
        let mut running = lock(&self.running);
        if let Some(r) = running.as_ref() {
            return Ok(r.tx.clone());
        }
        let threads_n = match self.worker_threads {
            0 => crate::worker::default_threads(),
            n => n,
        };
        let separator_of = self.inner.clone();
        let worker = Arc::new(Worker::new(threads_n, move |job, ctx| match job.kind {
            JobKind::Analyse => {
                let analysis = match &job.audio {
                    Some(audio) => analyse_decoded(audio, &job.path)?,
                    None => segue_analysis::analyze_file(&job.path)?,
                };
                Ok(JobOutput::Analysis(Box::new(analysis)))
            }
            JobKind::Separate => separate_job(job, ctx, &separator_of.separator),
        }));
        let (tx, rx) = crossbeam_channel::unbounded::<LoadRequest>();
        let mut threads = Vec::new();
        let (inner, w) = (self.inner.clone(), worker.clone());
        threads.push(
            std::thread::Builder::new()
                .name("segue-loader".into())
                .spawn(move || load_loop(&rx, &inner, &w))?,
        );
        let (inner, events) = (self.inner.clone(), worker.events().clone());
        threads.push(
            std::thread::Builder::new()
                .name("segue-results".into())
                .spawn(move || result_loop(&events, &inner))?,
        );
        if lock(&self.inner.library).is_some() {
            let inner = self.inner.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("segue-history".into())
                    .spawn(move || history_loop(&inner))?,
            );
        }
        *running = Some(Running {
            tx: tx.clone(),
            threads,
            worker,
        });
        Ok(tx)
    }

    /// Stop loading and analysing (queued jobs are cancelled), join the threads and close
    /// the library (SQLite checkpoints its WAL). Also done on drop.
    pub fn shutdown(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        if let Some(r) = lock(&self.running).take() {
            drop(r.tx); // the loader thread ends
                        // Dropping the worker cancels queued jobs and joins its threads; the result thread
                        // ends when the event channel closes.
            let mut worker = Some(r.worker);
            for _ in 0..500 {
                match Arc::try_unwrap(worker.take().expect("set")) {
                    Ok(w) => {
                        drop(w);
                        break;
                    }
                    Err(back) => {
                        worker = Some(back);
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                }
            }
            for t in r.threads {
                let _ = t.join();
            }
        }
        lock(&self.inner.library).take();
    }
}

impl Drop for DeckService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    fn with_deck<R>(&self, deck: usize, f: impl FnOnce(&mut DeckView) -> R) -> Option<R> {
        lock(&self.decks).get_mut(deck).map(f)
    }

    fn current(&self, deck: usize, generation: u64) -> bool {
        !self.stop.load(Ordering::SeqCst)
            && self
                .with_deck(deck, |d| d.generation == generation)
                .unwrap_or(false)
    }

    fn fail(&self, deck: usize, generation: u64, message: String) {
        self.counters.loads_failed.fetch_add(1, Ordering::Relaxed);
        self.with_deck(deck, |d| {
            if d.generation == generation {
                d.state = DeckState::Failed(message);
            }
        });
    }

    fn rate(&self) -> u32 {
        match self.rate.load(Ordering::SeqCst) {
            0 => 48_000,
            r => r,
        }
    }

    /// Hand `analysis` of `path` to every deck that holds it and waits for one (or only to
    /// `only = (deck, generation)`), with beatgrid and hot cues under the hot-cue policy.
    fn apply(&self, path: &Path, analysis: &Arc<Analysis>, only: Option<(usize, u64)>) {
        let rate = self.rate();
        let status = self.sink.status();
        let decks = lock(&self.decks).len();
        for deck in 0..decks {
            let takes = self
                .with_deck(deck, |d| {
                    let ok = d.path.as_deref() == Some(path)
                        && matches!(d.state, DeckState::Analysing | DeckState::AnalysisFailed(_))
                        && only.is_none_or(|(od, g)| od == deck && g == d.generation);
                    if ok {
                        d.analysis = Some(analysis.clone());
                        d.state = DeckState::Ready;
                    }
                    ok
                })
                .unwrap_or(false);
            if !takes {
                continue;
            }
            let saved = lock(&self.saved)[deck].is_some_and(|s| s.any_hot_cue());
            let set_in_engine = status
                .decks
                .get(deck)
                .is_some_and(|s| s.hot_cues.iter().any(Option::is_some));
            let keep_cues = saved || set_in_engine;
            for c in deck_commands(analysis, deck as DeckId, rate) {
                if keep_cues && matches!(c, Command::SetHotCue { .. }) {
                    continue;
                }
                self.sink.send(c);
            }
        }
    }
}

fn title_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Analyse a track decoded at its own rate: at [`ANALYSIS_RATE`] (resampled in memory when
/// the file has another rate), exactly as [`segue_analysis::analyze_file`] does, so the result
/// equals that of a library scan.
/// Analyse audio decoded at any rate (resampled to the analysis rate the way
/// `segue_analysis::analyze_file` does).
///
/// Audio with nothing to analyse in it (too short, silent, no beat) is
/// [`SegueError::Unanalysable`] with the reason: the deck shows it, nothing is stored.
pub fn analyse_decoded(audio: &TrackAudio, path: &Path) -> Result<Analysis, SegueError> {
    let unanalysable = |reason| SegueError::Unanalysable {
        path: path.to_path_buf(),
        reason,
        note: None,
    };
    if audio.sample_rate == ANALYSIS_RATE {
        return segue_analysis::analyze(audio).map_err(unanalysable);
    }
    let resampled = segue_decode::resample_track(audio, ANALYSIS_RATE, path)?;
    segue_analysis::analyze(&resampled).map_err(unanalysable)
}

fn load_loop(rx: &Receiver<LoadRequest>, inner: &Inner, worker: &Worker) {
    crate::worker::background_priority();
    while let Ok(req) = rx.recv() {
        if !inner.current(req.deck, req.generation) {
            continue; // loaded again or ejected while waiting
        }
        let t0 = std::time::Instant::now();
        // Stems the library registered for the track (`segue separate`, `library add
        // --stems`), played when none lie beside it.
        let registered = lock(&inner.library)
            .as_ref()
            .and_then(|l| l.stems_at(&req.path).ok().flatten());
        let DeckAudio {
            deck: audio,
            native,
        } = match decode_for_deck_with(&req.path, inner.rate(), registered.as_ref()) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("deck {}: {e}", req.deck + 1);
                inner.fail(req.deck, req.generation, e);
                continue;
            }
        };
        if !inner.current(req.deck, req.generation) {
            continue;
        }
        let overview: Arc<[f32]> = overview(&audio).into();
        let (duration, has_stems) = (audio.duration_secs(), audio.stems.is_some());
        let vocals = audio.stems.as_ref().map(|s| {
            Arc::new(VocalEnvelope::of(
                &s[Stem::Vocals as usize],
                audio.sample_rate,
            ))
        });
        let deck = req.deck as DeckId;
        if !inner.sink.send(Command::Load {
            deck,
            audio: audio.clone(),
        }) {
            inner.fail(
                req.deck,
                req.generation,
                "the engine is not taking commands (queue full); load dropped".into(),
            );
            continue;
        }
        for c in req.saved.map(|s| s.commands(deck)).unwrap_or_default() {
            inner.sink.send(c);
        }
        inner.counters.loads.fetch_add(1, Ordering::Relaxed);
        let separate = !has_stems && inner.auto_stems.load(Ordering::SeqCst);
        let current = inner
            .with_deck(req.deck, |d| {
                let current = d.generation == req.generation;
                if current {
                    d.overview = overview;
                    d.duration = duration;
                    d.has_stems = has_stems;
                    d.vocals = vocals;
                    d.separation = separate.then_some(0.0);
                    d.state = DeckState::Analysing;
                }
                current
            })
            .unwrap_or(false);
        if current && separate {
            // Held until the deck is loaded again or ejected (see `Held`).
            lock(&inner.held)[req.deck] = Some(Held {
                generation: req.generation,
                track: audio.clone(),
                job: None,
            });
        }
        tracing::info!(
            "deck {}: loaded {} ({duration:.1} s{}, decoded in {:.0} ms)",
            req.deck + 1,
            req.path.display(),
            if has_stems { ", with stems" } else { "" },
            t0.elapsed().as_secs_f64() * 1000.0
        );
        let stored =
            lock(&inner.library)
                .as_ref()
                .and_then(|l| match l.needs_analysis(&req.path) {
                    Ok(false) => l.get(&req.path).ok().flatten().and_then(|e| e.analysis),
                    _ => None,
                });
        match stored {
            Some(a) => {
                tracing::info!("deck {}: analysis from the library", req.deck + 1);
                inner.counters.from_library.fetch_add(1, Ordering::Relaxed);
                inner.apply(&req.path, &Arc::new(a), Some((req.deck, req.generation)));
            }
            None => {
                worker.submit(
                    Job::analyse_decoded(req.path.clone(), native),
                    Priority::Deck,
                );
            }
        }
        if current && separate {
            // After the analysis: the beatgrid matters first.
            let id = worker.submit(Job::separate_decoded(req.path, audio), Priority::Deck);
            let mut held = lock(&inner.held);
            match held.get_mut(req.deck) {
                Some(Some(h)) if h.generation == req.generation => h.job = Some(id),
                _ => {
                    drop(held);
                    worker.cancel(id); // loaded again or ejected meanwhile
                }
            }
        }
    }
}

/// The worker's separation job: the chosen separator ([`StemSeparator`]; the DSP one by
/// default) over the deck's audio, reporting progress about every 1 % and stopping when
/// cancelled. Separations take turns on the separator (an ONNX session is not shared).
fn separate_job(
    job: &Job,
    ctx: &crate::worker::JobContext,
    slot: &Mutex<SeparatorSlot>,
) -> Result<JobOutput, SegueError> {
    let err = |reason: String| SegueError::Separation {
        path: job.path.clone(),
        reason,
    };
    let audio = job
        .audio
        .as_ref()
        .ok_or_else(|| err("no decoded audio given".into()))?;
    let mut last = -1.0f32;
    let mut report = |f: f32| {
        if f - last >= 0.01 || f >= 1.0 {
            ctx.progress(f);
            last = f;
        }
        !ctx.cancelled()
    };
    let mut slot = lock(slot);
    let device = slot.choice.device;
    let mut dsp;
    let sep: &mut dyn Separator = match slot.onnx.as_mut() {
        Some(onnx) => onnx,
        None => {
            dsp = DspSeparator::default().on(device);
            &mut dsp
        }
    };
    let stems = sep
        .separate_with(&audio.mix, audio.sample_rate, &mut report)
        .map_err(|e| err(e.to_string()))?;
    Ok(JobOutput::Stems(Arc::new(stems)))
}

/// Watches what is on air and records plays and transitions (see the module doc).
fn history_loop(inner: &Inner) {
    let mut last = std::time::Instant::now();
    while !inner.stop.load(Ordering::SeqCst) {
        std::thread::sleep(HISTORY_TICK);
        let now = std::time::Instant::now();
        let dt = now - last;
        last = now;
        let on_air = inner.sink.status().on_air.map(usize::from);
        let view = on_air.and_then(|d| {
            inner
                .with_deck(d, |v| v.loaded().then(|| (d, v.generation, v.path.clone())))
                .flatten()
        });
        let mut h = lock(&inner.history);
        let key = view.as_ref().map(|(d, g, _)| (*d, *g));
        if key != h.on_air {
            h.on_air = key;
            h.on_air_for = std::time::Duration::ZERO;
        } else {
            h.on_air_for += dt;
        }
        let Some((deck, generation, Some(path))) = view else {
            continue;
        };
        if h.counted == Some((deck, generation)) || h.on_air_for < h.min_on_air {
            continue;
        }
        let recorded = lock(&inner.library).as_ref().and_then(|lib| {
            let id: TrackId = lib.get(path.as_path()).ok().flatten()?.track.id;
            if h.session.is_none() {
                let name = h.name.clone();
                match PlaySession::start(lib, SessionKind::Live, &name, None) {
                    Ok(s) => h.session = Some(s),
                    Err(e) => {
                        tracing::warn!("history: {e}");
                        return None;
                    }
                }
            }
            let session = h.session.as_mut()?;
            match session.played(lib, id) {
                Ok(()) => Some(id),
                Err(e) => {
                    tracing::warn!("history: {e}");
                    None
                }
            }
        });
        // Not in the library yet (still analysing): try again on the next tick.
        if let Some(id) = recorded {
            tracing::info!("deck {}: track {id} played (history)", deck + 1);
            h.counted = Some((deck, generation));
        }
    }
}

/// The deck whose held track has separation job `id`, with that track.
fn holder_of(inner: &Inner, id: JobId) -> Option<(usize, u64, Arc<TrackAudio>)> {
    lock(&inner.held)
        .iter()
        .enumerate()
        .find_map(|(d, h)| match h {
            Some(h) if h.job == Some(id) => Some((d, h.generation, h.track.clone())),
            _ => None,
        })
}

/// Set a deck's separation state, if it still holds that load.
fn set_separation(inner: &Inner, deck: usize, generation: u64, f: impl FnOnce(&mut DeckView)) {
    inner.with_deck(deck, |d| {
        if d.generation == generation {
            f(d);
        }
    });
}

fn result_loop(events: &Receiver<JobEvent>, inner: &Inner) {
    while let Ok(ev) = events.recv() {
        let (id, job, result) = match ev {
            JobEvent::Progress { id, fraction } => {
                if let Some((deck, g, _)) = holder_of(inner, id) {
                    set_separation(inner, deck, g, |d| d.separation = Some(fraction));
                }
                continue;
            }
            JobEvent::Cancelled { id } => {
                if let Some((deck, g, _)) = holder_of(inner, id) {
                    set_separation(inner, deck, g, |d| d.separation = None);
                }
                continue;
            }
            JobEvent::Started { .. } => continue,
            JobEvent::Finished { id, job, result } => (id, job, result),
        };
        if job.kind == JobKind::Separate {
            stems_ready(inner, id, &job, result);
            continue;
        }
        match result {
            Ok(JobOutput::Analysis(a)) => {
                inner.counters.analyses.fetch_add(1, Ordering::Relaxed);
                if let Some(l) = lock(&inner.library).as_mut() {
                    if let Err(e) = l.add_analysis(&job.path, &a) {
                        tracing::warn!("library: {e}");
                    }
                }
                tracing::info!(
                    "analysed {}: {:.2} BPM, {} ({}), energy {}",
                    job.path.display(),
                    a.bpm,
                    a.key,
                    a.camelot,
                    a.energy
                );
                inner.apply(&job.path, &Arc::new(*a), None);
            }
            Ok(JobOutput::Stems(_)) => {}
            Err(e) => {
                tracing::warn!("analysis of {} failed: {e}", job.path.display());
                let msg = e.to_string();
                let decks = lock(&inner.decks).len();
                for deck in 0..decks {
                    inner.with_deck(deck, |d| {
                        if d.path.as_deref() == Some(job.path.as_path())
                            && d.state == DeckState::Analysing
                        {
                            d.state = DeckState::AnalysisFailed(msg.clone());
                        }
                    });
                }
            }
        }
    }
}

/// A separation finished: hand the stems to the deck that still holds the track.
fn stems_ready(inner: &Inner, id: JobId, job: &Job, result: Result<JobOutput, SegueError>) {
    let holder = holder_of(inner, id);
    match result {
        Ok(JobOutput::Stems(stems)) => {
            inner.counters.separations.fetch_add(1, Ordering::Relaxed);
            // `track` (a clone of the held `Arc`) lives until the command is queued, so its
            // TrackRef names this track only.
            let Some((deck, generation, track)) = holder else {
                return; // loaded again or ejected meanwhile
            };
            let vocals = Arc::new(VocalEnvelope::of(
                &stems[Stem::Vocals as usize],
                track.sample_rate,
            ));
            let sent = inner.sink.send(Command::AttachStems {
                deck: deck as DeckId,
                track: TrackRef::of(&track),
                stems,
            });
            if sent {
                inner
                    .counters
                    .stems_attached
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "deck {}: stems of {} on the deck",
                    deck + 1,
                    job.path.display()
                );
            }
            set_separation(inner, deck, generation, |d| {
                d.separation = None;
                d.has_stems = sent;
                d.vocals = sent.then_some(vocals);
                if !sent {
                    d.separation_error = Some(
                        "the engine is not taking commands (queue full); stems dropped".into(),
                    );
                }
            });
            drop(track);
        }
        Ok(JobOutput::Analysis(_)) => {}
        Err(e) => {
            tracing::warn!("{e}");
            if let Some((deck, generation, _)) = holder {
                set_separation(inner, deck, generation, |d| {
                    d.separation = None;
                    d.separation_error = Some(e.to_string());
                });
            }
        }
    }
}

/// A track decoded once for a deck: `deck` at the engine rate (with stems when they lie
/// beside it), `native` at the file's own rate for the analysis (the same `Arc` when the
/// rates agree).
pub struct DeckAudio {
    /// What the deck plays.
    pub deck: Arc<TrackAudio>,
    /// The file's audio at its own rate (mix only).
    pub native: Arc<TrackAudio>,
}

/// Decode `path` once and make it a deck's track at `rate`. If
/// `<stem-of-name>.{drums,bass,other,vocals}.wav` (or all four `.flac`) exist beside it (the
/// demo layout, `segue separate`'s without `-o`) and match the mix's length, they are loaded
/// as the track's stems; stems that do not match are ignored (the mix still plays). Errors
/// are one line naming the file.
pub fn decode_for_deck(path: &Path, rate: u32) -> Result<DeckAudio, String> {
    decode_for_deck_with(path, rate, None)
}

/// [`decode_for_deck`], with the stem files the library registered for the track
/// (`registered`) as the second place to look when none lie beside it.
pub fn decode_for_deck_with(
    path: &Path,
    rate: u32,
    registered: Option<&StemFiles>,
) -> Result<DeckAudio, String> {
    let (native, info) =
        segue_decode::decode_file_native(path).map_err(|e| format!("cannot load: {e}"))?;
    if let Some(note) = info.truncation_note() {
        tracing::warn!("{}: {note}; the deck plays what decoded", path.display());
    }
    if native.frames() == 0 {
        return Err(format!("{}: no audio in the file", path.display()));
    }
    let native = Arc::new(native);
    let mix = if native.sample_rate == rate {
        None
    } else {
        Some(
            segue_decode::resample_track(&native, rate, path)
                .map_err(|e| format!("cannot load: {e}"))?,
        )
    };
    let frames = mix.as_ref().map_or(native.frames(), TrackAudio::frames);
    let stems = stems_beside(path, rate, frames).or_else(|| {
        let files = registered?;
        let stems = read_stems(&files.files, rate, frames);
        if stems.is_none() {
            tracing::warn!(
                "{}: the library's stems ({}) are missing or do not match the track; ignored",
                path.display(),
                files.files[0].with_file_name("").display()
            );
        }
        stems
    });
    let deck = match (mix, stems) {
        (None, None) => native.clone(),
        (Some(m), None) => Arc::new(m),
        (m, Some(stems)) => {
            let m = m.unwrap_or_else(|| TrackAudio::new(rate, native.mix.clone()));
            Arc::new(
                m.with_stems(stems)
                    .map_err(|_| format!("{}: stems do not match the mix", path.display()))?,
            )
        }
    };
    Ok(DeckAudio { deck, native })
}

/// The four stems beside `path` at `rate` (`.wav`, else `.flac`), when all exist and are
/// `frames` long.
fn stems_beside(path: &Path, rate: u32, frames: usize) -> Option<[Vec<[f32; 2]>; 4]> {
    let dir = path.parent()?;
    let name = path.file_stem().and_then(|s| s.to_str())?;
    ["wav", "flac"].iter().find_map(|ext| {
        let files = Stem::ALL.map(|s| dir.join(format!("{name}.{}.{ext}", s.name())));
        read_stems(&files, rate, frames)
    })
}

/// The four stem `files` decoded at `rate`, when all exist and are `frames` long.
fn read_stems(files: &[PathBuf; 4], rate: u32, frames: usize) -> Option<[Vec<[f32; 2]>; 4]> {
    if !files.iter().all(|p| p.is_file()) {
        return None;
    }
    let mut stems = Vec::with_capacity(4);
    for p in files {
        match segue_decode::decode_file(p, rate) {
            Ok(s) if s.frames() == frames => stems.push(s.mix),
            _ => return None,
        }
    }
    stems.try_into().ok()
}

/// Peak of each of [`OVERVIEW_POINTS`] stretches of the track.
pub fn overview(audio: &TrackAudio) -> Vec<f32> {
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
