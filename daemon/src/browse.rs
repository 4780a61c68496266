//! Headless library browsing: with no screen, a controller's browse encoder and load
//! buttons (MIDI targets `browse`, `browse_next|prev|enter|back|sort`, `load_selected`) or
//! a tablet (`/segue/browse/…` over OSC) walk the library and load onto a deck.
//!
//! The browser is a stack of lists. The root lists the views: **Tracks** (every track of
//! the library), **Folders** (the tracks' folders, each a list), **Playlists** (imported
//! playlists, in file order) and **Suggestions** (the live next-track list for the deck on
//! air). A track list is sorted by title, BPM, key (Camelot order) or energy
//! (`browse_sort` cycles; playlists and suggestions keep their own order). A list is read
//! from the library when it is opened (so it holds what the library held then).
//!
//! The selected item is announced as `/segue/browse` (pushed to OSC subscribers when it
//! changes, and on `/segue/query/browse`); see [`Browser::announce`].
//!
//! Must never: run on the audio thread or in the MIDI dispatch's allocation-free section
//! (the dispatch queues browse actions and acts on them after it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use segue_library::graph::SessionKind;
use segue_library::LibraryEntry;

pub use segue_library::sort::Sort;
use segue_library::sort::{camelot_order, SortFields};

/// What a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum View {
    Root,
    Tracks,
    Folders,
    Folder(PathBuf),
    Playlists,
    Playlist(i64, String),
    Suggestions,
}

impl View {
    fn label(&self) -> String {
        match self {
            View::Root => String::new(),
            View::Tracks => "Tracks".into(),
            View::Folders => "Folders".into(),
            View::Folder(p) => folder_name(p),
            View::Playlists => "Playlists".into(),
            View::Playlist(_, n) => n.clone(),
            View::Suggestions => "Suggestions".into(),
        }
    }

    /// Whether `browse_sort` applies (lists with an order of their own keep it).
    fn sortable(&self) -> bool {
        matches!(self, View::Tracks | View::Folder(_))
    }
}

fn folder_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// One line of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// What it shows (a title, a folder or view name).
    pub label: String,
    /// The second line: `124.0 BPM · 8A · energy 7` for a track, `12 tracks` for a folder.
    pub detail: String,
    /// A track's file (`None`: a folder or view, opened with `browse_enter`).
    pub path: Option<PathBuf>,
    open: Option<View>,
    bpm: Option<f64>,
    camelot: Option<(u8, u8)>,
    energy: Option<u8>,
}

impl Item {
    fn node(view: View, detail: String) -> Item {
        Item {
            label: view.label(),
            detail,
            path: None,
            open: Some(view),
            bpm: None,
            camelot: None,
            energy: None,
        }
    }

    fn track(e: &LibraryEntry) -> Option<Item> {
        let path = e.track.path.clone()?;
        let (bpm, key, energy) = e.analysis.as_ref().map_or((0.0, String::new(), 0), |a| {
            (a.bpm, a.camelot.clone(), a.energy)
        });
        let detail = if e.analysis.is_some() {
            format!("{bpm:.1} BPM · {key} · energy {energy}")
        } else {
            "not analysed".into()
        };
        Some(Item {
            label: e.track.title.clone(),
            detail,
            path: Some(path),
            open: None,
            bpm: Some(bpm).filter(|b| *b > 0.0),
            camelot: camelot_order(&key),
            energy: Some(energy).filter(|e| *e > 0),
        })
    }

    fn sort_fields(&self) -> SortFields<'_> {
        SortFields {
            title: &self.label,
            bpm: self.bpm,
            camelot: self.camelot,
            energy: self.energy,
        }
    }
}

fn sort_tracks(items: &mut [Item], sort: Sort) {
    items.sort_by(|a, b| sort.compare(&a.sort_fields(), &b.sort_fields(), false));
}

#[derive(Debug, Clone)]
struct Level {
    view: View,
    items: Vec<Item>,
    cursor: usize,
}

/// What the browser lists come from: the library's tracks and playlists, and the live
/// suggestions (path, title, explanation).
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// The library's tracks.
    pub entries: Vec<LibraryEntry>,
    /// Imported playlists: (session id, name, track paths in order).
    pub playlists: Vec<(i64, String, Vec<PathBuf>)>,
    /// The suggestions for the deck on air, best first: (path, title, explanation).
    pub suggestions: Vec<(PathBuf, String, String)>,
}

impl Sources {
    /// Read from the shell's library and live suggestions.
    pub(crate) fn read(shared: &crate::state::Shared) -> Sources {
        let from_library = shared.decks.with_library(|l| {
            let entries = l.list()?;
            let by_id: std::collections::HashMap<i64, PathBuf> = entries
                .iter()
                .filter_map(|e| Some((e.track.id, e.track.path.clone()?)))
                .collect();
            let playlists = segue_library::graph::sessions(l, SessionKind::Playlist)?
                .into_iter()
                .map(|s| {
                    let paths = s
                        .tracks
                        .iter()
                        .filter_map(|t| by_id.get(t).cloned())
                        .collect();
                    (s.id, s.name, paths)
                })
                .collect();
            Ok::<_, segue_library::SegueError>((entries, playlists))
        });
        let (entries, playlists) = match from_library {
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                tracing::warn!("browser: cannot read the library: {e}");
                Default::default()
            }
            None => Default::default(),
        };
        let suggestions = shared
            .live
            .suggestions
            .get()
            .items
            .into_iter()
            .map(|s| (s.path, s.title, s.compat.line))
            .collect();
        Sources {
            entries,
            playlists,
            suggestions,
        }
    }

    fn list(&self, view: &View, sort: Sort) -> Vec<Item> {
        let tracks = |filter: &dyn Fn(&Path) -> bool| -> Vec<Item> {
            self.entries
                .iter()
                .filter(|e| e.track.path.as_deref().is_some_and(filter))
                .filter_map(Item::track)
                .collect()
        };
        let mut items = match view {
            View::Root => vec![
                Item::node(View::Tracks, format!("{} tracks", self.entries.len())),
                Item::node(View::Folders, String::new()),
                Item::node(
                    View::Playlists,
                    format!("{} playlists", self.playlists.len()),
                ),
                Item::node(
                    View::Suggestions,
                    format!("{} suggestions", self.suggestions.len()),
                ),
            ],
            View::Tracks => tracks(&|_| true),
            View::Folder(dir) => tracks(&|p| p.parent() == Some(dir.as_path())),
            View::Folders => {
                let mut dirs: Vec<(PathBuf, usize)> = Vec::new();
                for p in self.entries.iter().filter_map(|e| e.track.path.as_deref()) {
                    let Some(d) = p.parent() else { continue };
                    match dirs.iter_mut().find(|(x, _)| x == d) {
                        Some((_, n)) => *n += 1,
                        None => dirs.push((d.to_path_buf(), 1)),
                    }
                }
                dirs.sort_by_key(|(d, _)| folder_name(d).to_lowercase());
                return dirs
                    .into_iter()
                    .map(|(d, n)| Item::node(View::Folder(d), format!("{n} tracks")))
                    .collect();
            }
            View::Playlists => {
                return self
                    .playlists
                    .iter()
                    .map(|(id, name, paths)| {
                        Item::node(
                            View::Playlist(*id, name.clone()),
                            format!("{} tracks", paths.len()),
                        )
                    })
                    .collect()
            }
            View::Playlist(id, _) => {
                let Some((_, _, paths)) = self.playlists.iter().find(|p| p.0 == *id) else {
                    return Vec::new();
                };
                return paths
                    .iter()
                    .filter_map(|p| {
                        self.entries
                            .iter()
                            .find(|e| e.track.path.as_ref() == Some(p))
                            .and_then(Item::track)
                    })
                    .collect();
            }
            View::Suggestions => {
                return self
                    .suggestions
                    .iter()
                    .map(|(path, title, line)| {
                        let mut item = self
                            .entries
                            .iter()
                            .find(|e| e.track.path.as_ref() == Some(path))
                            .and_then(Item::track)
                            .unwrap_or(Item {
                                label: title.clone(),
                                detail: String::new(),
                                path: Some(path.clone()),
                                open: None,
                                bpm: None,
                                camelot: None,
                                energy: None,
                            });
                        item.detail = line.clone();
                        item
                    })
                    .collect()
            }
        };
        if view.sortable() {
            sort_tracks(&mut items, sort);
        }
        items
    }
}

#[derive(Debug)]
struct State {
    stack: Vec<Level>,
    sort: Sort,
}

/// The browser's announcement of its selected item: what `/segue/browse` carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Announce {
    /// Where the list is: `Tracks`, `Folders/house`, `Playlists/warm-up` (empty: the root).
    pub location: String,
    /// The track list's sort.
    pub sort: Sort,
    /// 1-based index of the selected item (0: the list is empty).
    pub index: usize,
    /// Items in the list.
    pub count: usize,
    /// The selected item (empty when the list is empty).
    pub label: String,
    /// Its second line.
    pub detail: String,
    /// The selected track's file (`None` for a folder or view).
    pub path: Option<PathBuf>,
}

/// The daemon's one browser (every controller and tablet share it).
#[derive(Debug)]
pub struct Browser {
    state: Mutex<State>,
    /// Bumped on every change of what [`Browser::announce`] says.
    pub generation: AtomicU64,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                stack: Vec::new(),
                sort: Sort::Title,
            }),
            generation: AtomicU64::new(1),
        }
    }
}

impl Browser {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Make sure the root list exists (read from `src` the first time).
    fn ensure_root(st: &mut State, src: &dyn Fn() -> Sources) {
        if st.stack.is_empty() {
            st.stack.push(Level {
                view: View::Root,
                items: src().list(&View::Root, st.sort),
                cursor: 0,
            });
        }
    }

    /// Move the selection by `steps` (clamped at the ends).
    pub fn scroll(&self, steps: i32, src: &dyn Fn() -> Sources) {
        let mut st = self.lock();
        Self::ensure_root(&mut st, src);
        if let Some(l) = st.stack.last_mut() {
            let max = l.items.len().saturating_sub(1) as i64;
            l.cursor = (l.cursor as i64 + steps as i64).clamp(0, max) as usize;
        }
        drop(st);
        self.changed();
    }

    /// Open the selected folder or view (on a track: nothing).
    pub fn enter(&self, src: &dyn Fn() -> Sources) {
        let mut st = self.lock();
        Self::ensure_root(&mut st, src);
        let sort = st.sort;
        let Some(view) = st
            .stack
            .last()
            .and_then(|l| l.items.get(l.cursor))
            .and_then(|i| i.open.clone())
        else {
            return;
        };
        let items = src().list(&view, sort);
        st.stack.push(Level {
            view,
            items,
            cursor: 0,
        });
        drop(st);
        self.changed();
    }

    /// Back to the parent list (at the root: the root list read again).
    pub fn back(&self, src: &dyn Fn() -> Sources) {
        let mut st = self.lock();
        if st.stack.len() > 1 {
            st.stack.pop();
        } else {
            st.stack.clear();
            Self::ensure_root(&mut st, src);
        }
        drop(st);
        self.changed();
    }

    /// Cycle the sort (title → BPM → key → energy); the open track list is re-sorted and
    /// the cursor goes to its top.
    pub fn cycle_sort(&self, src: &dyn Fn() -> Sources) {
        let mut st = self.lock();
        Self::ensure_root(&mut st, src);
        st.sort = st.sort.next();
        let sort = st.sort;
        if let Some(l) = st.stack.last_mut() {
            if l.view.sortable() {
                sort_tracks(&mut l.items, sort);
                l.cursor = 0;
            }
        }
        drop(st);
        self.changed();
    }

    /// The selected track's file, if a track is selected.
    pub fn selected_track(&self) -> Option<PathBuf> {
        let st = self.lock();
        st.stack
            .last()
            .and_then(|l| l.items.get(l.cursor))
            .and_then(|i| i.path.clone())
    }

    /// What is selected now (the root list before anything was browsed: read from `src`).
    pub fn announce(&self, src: &dyn Fn() -> Sources) -> Announce {
        let mut st = self.lock();
        Self::ensure_root(&mut st, src);
        let location = st
            .stack
            .iter()
            .skip(1)
            .map(|l| l.view.label())
            .collect::<Vec<_>>()
            .join("/");
        let l = st.stack.last().expect("the root exists");
        let item = l.items.get(l.cursor);
        Announce {
            location,
            sort: st.sort,
            index: if l.items.is_empty() { 0 } else { l.cursor + 1 },
            count: l.items.len(),
            label: item.map(|i| i.label.clone()).unwrap_or_default(),
            detail: item.map(|i| i.detail.clone()).unwrap_or_default(),
            path: item.and_then(|i| i.path.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use segue_analysis::Analysis;
    use segue_library::Track;

    fn entry(id: i64, path: &str, title: &str, an: Option<(f64, &str, u8)>) -> LibraryEntry {
        LibraryEntry {
            track: Track {
                id,
                content_hash: String::new(),
                path: Some(path.into()),
                size: 0,
                mtime_ns: 0,
                title: title.into(),
                duration: None,
                added_at: 0,
            },
            analysis: an.map(|(bpm, key, energy)| Analysis {
                duration: 60.0,
                bpm,
                beats: Vec::new(),
                downbeats: Vec::new(),
                beats_per_bar: 4,
                constant_tempo: true,
                half_time: false,
                key: String::new(),
                camelot: key.into(),
                open_key: String::new(),
                key_confidence: 1.0,
                key_runner_up: None,
                lufs: -9.0,
                loudness_range: 5.0,
                true_peak_db: -1.0,
                energy,
                sections: Vec::new(),
                cues: Vec::new(),
                analyser_version: 0,
                dna_version: 0,
                dna: Vec::new(),
            }),
            analysed_at: None,
            play_count: 0,
            last_played: None,
            stems: None,
        }
    }

    fn sources() -> Sources {
        Sources {
            entries: vec![
                entry(1, "/m/house/b.wav", "Bravo", Some((126.0, "8A", 7))),
                entry(2, "/m/house/a.wav", "alpha", Some((122.0, "12B", 5))),
                entry(3, "/m/techno/c.wav", "Charlie", Some((132.0, "1A", 9))),
                entry(4, "/m/techno/d.wav", "Delta", None),
            ],
            playlists: vec![(
                7,
                "warm-up".into(),
                vec!["/m/techno/c.wav".into(), "/m/house/a.wav".into()],
            )],
            suggestions: vec![("/m/house/a.wav".into(), "alpha".into(), "12B → 8A".into())],
        }
    }

    fn labels(b: &Browser, src: &dyn Fn() -> Sources) -> Vec<String> {
        let n = b.announce(src).count;
        (0..n)
            .map(|i| {
                b.scroll(-1000, src);
                b.scroll(i as i32, src);
                b.announce(src).label
            })
            .collect()
    }

    #[test]
    fn walks_views_sorts_and_selects_tracks() {
        let src = || sources();
        let b = Browser::default();
        let a = b.announce(&src);
        assert_eq!((a.location.as_str(), a.index, a.count), ("", 1, 4));
        assert_eq!(a.label, "Tracks");
        assert_eq!(a.detail, "4 tracks");
        assert_eq!(b.selected_track(), None, "a view is not a track");
        b.enter(&src);
        assert_eq!(b.announce(&src).location, "Tracks");
        assert_eq!(
            labels(&b, &src),
            ["alpha", "Bravo", "Charlie", "Delta"],
            "by title, case-insensitive"
        );
        b.cycle_sort(&src);
        assert_eq!(b.announce(&src).sort, Sort::Bpm);
        assert_eq!(labels(&b, &src), ["alpha", "Bravo", "Charlie", "Delta"]);
        b.cycle_sort(&src);
        assert_eq!(
            labels(&b, &src),
            ["Charlie", "Bravo", "alpha", "Delta"],
            "Camelot order, unknown last"
        );
        b.cycle_sort(&src);
        assert_eq!(labels(&b, &src), ["alpha", "Bravo", "Charlie", "Delta"]);
        b.scroll(-1000, &src);
        b.scroll(2, &src);
        let a = b.announce(&src);
        assert_eq!((a.index, a.label.as_str()), (3, "Charlie"));
        assert_eq!(a.detail, "132.0 BPM · 1A · energy 9");
        assert_eq!(b.selected_track(), Some("/m/techno/c.wav".into()));
        b.scroll(50, &src);
        assert_eq!(b.announce(&src).index, 4, "clamped at the end");
        // Back to the root; into the folders, the second folder's tracks.
        b.back(&src);
        b.scroll(1, &src);
        b.enter(&src);
        assert_eq!(labels(&b, &src), ["house", "techno"]);
        b.scroll(1, &src);
        assert_eq!(b.announce(&src).detail, "2 tracks");
        b.enter(&src);
        assert_eq!(b.announce(&src).location, "Folders/techno");
        assert_eq!(labels(&b, &src).len(), 2);
        b.enter(&src); // on a track: nothing
        assert_eq!(b.announce(&src).location, "Folders/techno");
        // Playlists keep their order; suggestions carry their explanation.
        b.back(&src);
        b.back(&src);
        b.scroll(1, &src);
        b.enter(&src);
        b.enter(&src);
        assert_eq!(b.announce(&src).location, "Playlists/warm-up");
        assert_eq!(labels(&b, &src), ["Charlie", "alpha"]);
        b.back(&src);
        b.back(&src);
        b.scroll(1, &src);
        b.enter(&src);
        let a = b.announce(&src);
        assert_eq!((a.label.as_str(), a.detail.as_str()), ("alpha", "12B → 8A"));
        assert_eq!(b.selected_track(), Some("/m/house/a.wav".into()));
    }

    #[test]
    fn an_empty_library_browses_without_panicking() {
        let src = Sources::default;
        let b = Browser::default();
        b.enter(&src);
        let a = b.announce(&src);
        assert_eq!((a.location.as_str(), a.index, a.count), ("Tracks", 0, 0));
        b.scroll(3, &src);
        b.scroll(-3, &src);
        b.cycle_sort(&src);
        assert_eq!(b.selected_track(), None);
        b.back(&src);
        b.back(&src);
        assert_eq!(b.announce(&src).count, 4);
        let g = b.generation.load(Ordering::SeqCst);
        b.scroll(1, &src);
        assert!(b.generation.load(Ordering::SeqCst) > g);
    }
}
