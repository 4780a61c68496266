//! State the control threads share: the engine handle, what is on each deck (title, key,
//! analysis), and the daemon's counters.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use segue_engine::{Command, EngineHandle, SendError, Status, TimedCommand};
use segue_models::analysis::Analysis;

use crate::audio::AudioShared;

/// What the daemon knows about a deck beyond the engine status.
#[derive(Debug, Clone, Default)]
pub struct DeckInfo {
    /// The file on the deck.
    pub path: Option<PathBuf>,
    /// Display title (file name without extension).
    pub title: String,
    /// Bumped on every load, so late analysis results for an old track are ignored.
    pub generation: u64,
    /// The analysis once known.
    pub analysis: Option<Arc<Analysis>>,
    /// A load is in progress.
    pub loading: bool,
}

impl DeckInfo {
    /// Key as "8A A minor" (Camelot and name), empty until analysed.
    pub fn key(&self) -> String {
        self.analysis
            .as_ref()
            .map(|a| format!("{} {}", a.camelot, a.key))
            .unwrap_or_default()
    }
}

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
    pub queue_full: AtomicU64,
    pub loads: AtomicU64,
    pub loads_refused: AtomicU64,
    pub loads_failed: AtomicU64,
    pub analyses: AtomicU64,
    pub feed_sent: AtomicU64,
    pub midi_handled: AtomicU64,
    pub midi_late: AtomicU64,
    pub midi_alloc_violations: AtomicU64,
}

/// Everything the control threads share.
pub struct Shared {
    handle: Mutex<EngineHandle>,
    decks: Mutex<Vec<DeckInfo>>,
    pub counters: Counters,
    pub audio: Arc<AudioShared>,
    pub deck_count: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(handle: EngineHandle, deck_count: usize, audio: Arc<AudioShared>) -> Self {
        Self {
            handle: Mutex::new(handle),
            decks: Mutex::new(vec![DeckInfo::default(); deck_count]),
            counters: Counters::default(),
            audio,
            deck_count,
        }
    }

    /// Queue a command (counted when the ring is full).
    pub fn send(&self, command: TimedCommand) -> bool {
        match lock(&self.handle).send_timed(command) {
            Ok(()) => true,
            Err(SendError::Full(_)) => {
                self.counters.queue_full.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Queue a command for the next block.
    pub fn send_now(&self, command: Command) -> bool {
        self.send(TimedCommand { at: None, command })
    }

    /// The latest engine status.
    pub fn status(&self) -> Status {
        lock(&self.handle).status()
    }

    /// A copy of one deck's info.
    pub fn deck(&self, deck: usize) -> DeckInfo {
        lock(&self.decks).get(deck).cloned().unwrap_or_default()
    }

    /// Change one deck's info.
    pub fn with_deck<R>(&self, deck: usize, f: impl FnOnce(&mut DeckInfo) -> R) -> Option<R> {
        lock(&self.decks).get_mut(deck).map(f)
    }
}
