//! Live suggestions: while a deck is on air, the best next tracks from the library (scored
//! by `segue_mix::compat`), recomputed when the on-air track changes or the library grows.
//! Read by OSC (`/segue/query/suggest`, pushed to subscribers on change) and used by
//! `/segue/suggest/load N` (load suggestion N onto a free deck).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use segue_mix::compat::{suggest, Candidate, Prefs, Suggestion};

use crate::state::Shared;

/// Suggestions kept.
pub const SUGGESTIONS: usize = 10;

/// The current list and what it was made for.
#[derive(Debug, Clone, Default)]
pub struct SuggestList {
    /// Engine deck the list follows (the one on air).
    pub deck: Option<usize>,
    /// Best first.
    pub items: Vec<Suggestion>,
}

/// Shared between the suggestion thread and the OSC server.
#[derive(Debug, Default)]
pub struct Suggestions {
    list: Mutex<SuggestList>,
    /// Bumped on every change of the list.
    pub generation: AtomicU64,
}

impl Suggestions {
    /// A copy of the list.
    pub fn get(&self) -> SuggestList {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, l: SuggestList) {
        *self.list.lock().unwrap_or_else(|e| e.into_inner()) = l;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// Follow the on-air deck until `stop`.
pub fn run(shared: &Shared, out: &Arc<Suggestions>, stop: &AtomicBool) {
    segue_library::worker::background_priority();
    let mut made_for: Option<(PathBuf, usize)> = None;
    let mut last = Instant::now() - Duration::from_secs(60);
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        let status = shared.status();
        let Some(deck) = status.on_air.map(|d| d as usize) else {
            continue;
        };
        let view = shared.decks.deck(deck);
        let (Some(path), Some(analysis)) = (view.path.clone(), view.analysis.clone()) else {
            continue;
        };
        let loaded: Vec<PathBuf> = shared
            .decks
            .decks()
            .into_iter()
            .filter_map(|d| d.path)
            .collect();
        // The library's entries (their analyses), if there is a library.
        let Some(Ok(entries)) = shared.decks.with_library(|l| l.list()) else {
            continue;
        };
        let key = (path.clone(), entries.len());
        if made_for.as_ref() == Some(&key) && last.elapsed() < Duration::from_secs(30) {
            continue;
        }
        let same = |a: &PathBuf, b: &PathBuf| {
            a == b
                || a.canonicalize()
                    .ok()
                    .is_some_and(|x| Some(x) == b.canonicalize().ok())
        };
        let candidates: Vec<Candidate<'_>> = entries
            .iter()
            .filter_map(|e| {
                let p = e.track.path.as_ref()?;
                let a = e.analysis.as_ref()?;
                (!loaded.iter().any(|l| same(l, p))).then_some(Candidate {
                    path: p,
                    title: &e.track.title,
                    analysis: a,
                    history: 0,
                })
            })
            .collect();
        let items = suggest(&analysis, &candidates, SUGGESTIONS, &Prefs::default());
        out.set(SuggestList {
            deck: Some(deck),
            items,
        });
        made_for = Some(key);
        last = Instant::now();
    }
}
