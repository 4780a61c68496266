//! State the control threads share: the engine handle (as the deck service's command
//! sink), the deck service (what is on each deck: title, key, analysis), and the daemon's
//! counters.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use segue_engine::{EngineHandle, Status, TimedCommand};
use segue_library::decks::{CommandSink, DeckService, DeckServiceConfig, DeckView, EngineSink};
use segue_library::Library;

use crate::audio::AudioShared;

/// Counters shown by `/segue/query/stats`.
#[derive(Default)]
pub struct Counters {
    pub osc_packets: AtomicU64,
    pub osc_messages: AtomicU64,
    pub osc_malformed: AtomicU64,
    pub osc_unknown: AtomicU64,
    pub osc_bad_args: AtomicU64,
    pub osc_denied: AtomicU64,
    pub osc_late_or_far: AtomicU64,
    pub loads_refused: AtomicU64,
    pub feed_sent: AtomicU64,
    pub midi_handled: AtomicU64,
    pub midi_late: AtomicU64,
    pub midi_alloc_violations: AtomicU64,
}

/// Everything the control threads share.
pub struct Shared {
    engine: Arc<EngineSink>,
    /// Loading, analysis and what is on each deck.
    pub decks: DeckService,
    pub counters: Counters,
    pub audio: Arc<AudioShared>,
    pub deck_count: usize,
    /// Suggestions and Auto DJ (the service the plugin shares).
    pub live: segue_mix::live::Live,
    /// The set recorder (set once at startup).
    pub recorder: std::sync::OnceLock<segue_library::record::Recorder>,
    /// Where `/segue/record/start NAME` writes.
    pub record_dir: std::path::PathBuf,
    /// The headless library browser (MIDI `browse*` targets, `/segue/browse/…`).
    pub browser: crate::browse::Browser,
    /// The music roots a browsed track must be under to load (set once at startup).
    pub roots: std::sync::OnceLock<crate::MusicRoots>,
    /// Ableton Link requests and state.
    pub link: crate::link::LinkShared,
}

impl Shared {
    pub(crate) fn new(
        handle: EngineHandle,
        decks: DeckServiceConfig,
        audio: Arc<AudioShared>,
        record_dir: std::path::PathBuf,
    ) -> Self {
        let engine = Arc::new(EngineSink::new(handle));
        let deck_count = decks.decks;
        Self {
            decks: DeckService::new(decks, engine.clone()),
            engine,
            counters: Counters::default(),
            audio,
            deck_count,
            live: Default::default(),
            recorder: std::sync::OnceLock::new(),
            record_dir,
            browser: Default::default(),
            roots: std::sync::OnceLock::new(),
            link: Default::default(),
        }
    }

    /// Queue a command (counted when the ring is full).
    pub fn send(&self, command: TimedCommand) -> bool {
        self.engine.send_timed(command)
    }

    /// The latest engine status.
    pub fn status(&self) -> Status {
        self.engine.status()
    }

    /// Commands dropped because the engine's queue was full.
    pub fn queue_full(&self) -> u64 {
        self.engine.dropped()
    }

    /// What the live loops (suggestions, Auto DJ) work with.
    pub fn live_deps(&self) -> segue_mix::live::Deps<'_> {
        segue_mix::live::Deps {
            decks: &self.decks,
            engine: &self.engine,
            deck_count: self.deck_count,
        }
    }

    /// Start a take in the record folder, named by the time when `name` is `None`
    /// ([`segue_library::record::new_take_path`]). Errors when there is no recorder, a take runs, or the file cannot
    /// be made.
    pub fn record_start(&self, name: Option<String>) -> Result<std::path::PathBuf, String> {
        let rec = self.recorder.get().ok_or("no recorder")?;
        let path = match name {
            Some(n) => self.record_dir.join(n),
            None => segue_library::record::new_take_path(&self.record_dir),
        };
        rec.start(&path).map_err(|e| e.to_string())?;
        tracing::info!("recording to {}", path.display());
        Ok(path)
    }

    /// Stop the take (the file is finalised, the cue sheet written).
    pub fn record_stop(&self) -> Result<(), String> {
        let rec = self.recorder.get().ok_or("no recorder")?;
        let r = rec.stop().map_err(|e| e.to_string())?;
        tracing::info!(
            "recorded {}: {:.1} s",
            r.path.display(),
            r.frames as f64 / r.rate.max(1) as f64
        );
        Ok(())
    }

    /// A take is running (or asked for): allocation-free, for LED feedback.
    pub fn recording(&self) -> bool {
        self.recorder.get().is_some_and(|r| r.armed())
    }

    /// A recording live action (a MIDI `record_*` target): start, stop or flip.
    pub fn record_action(&self, a: segue_controllers::LiveAction) -> Result<(), String> {
        use segue_controllers::LiveAction as L;
        let on = self.recorder.get().is_some_and(|r| r.state().recording);
        match a {
            L::RecordStart if !on => self.record_start(None).map(drop),
            L::RecordStop if on => self.record_stop(),
            L::RecordToggle if on => self.record_stop(),
            L::RecordToggle => self.record_start(None).map(drop),
            _ => Ok(()),
        }
    }

    /// A browser action (a MIDI `browse*` / `load_selected` target, or `/segue/browse/…`).
    /// Loading checks the track against the music roots like `/load`; returns the deck
    /// loaded (0-based) for `LoadSelected`.
    pub fn browse_action(&self, a: segue_controllers::LiveAction) -> Result<Option<usize>, String> {
        use segue_controllers::LiveAction as L;
        let src = || crate::browse::Sources::read(self);
        match a {
            L::Browse(n) => self.browser.scroll(n as i32, &src),
            L::BrowseEnter => self.browser.enter(&src),
            L::BrowseBack => self.browser.back(&src),
            L::BrowseSort => self.browser.cycle_sort(&src),
            L::LoadSelected(deck) => {
                let deck = deck as usize;
                if deck >= self.deck_count {
                    return Err(format!("there is no deck {}", deck + 1));
                }
                let path = self
                    .browser
                    .selected_track()
                    .ok_or("no track is selected in the browser")?;
                let roots = self.roots.get().ok_or("no music roots")?;
                let real = roots
                    .check(&path.to_string_lossy())
                    .map_err(|e| e.to_string())?;
                tracing::info!("browser: loading {} onto deck {}", real.display(), deck + 1);
                if !self.decks.load(deck, real, None) {
                    return Err("the loader is busy".into());
                }
                return Ok(Some(deck));
            }
            _ => return Err(format!("{a:?} is not a browser action")),
        }
        Ok(None)
    }

    /// A copy of one deck's view.
    pub fn deck(&self, deck: usize) -> DeckView {
        self.decks.deck(deck)
    }
}

/// Open the library file for the daemon; a library that cannot be opened is logged and the
/// daemon runs without one.
pub(crate) fn open_library(path: Option<&std::path::Path>) -> Option<Library> {
    let p = path?;
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    match Library::open(p) {
        Ok(l) => {
            tracing::info!("library {}", p.display());
            Some(l)
        }
        Err(e) => {
            tracing::warn!("running without a library: {e}");
            None
        }
    }
}
