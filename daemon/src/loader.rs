//! Track loading: `/load` requests are decoded on the loader thread (never on the OSC or
//! audio thread) and reach the deck as `Command::Load`; the track then goes to the
//! background worker with [`Priority::Deck`] (it jumps the queue), unless the library
//! already holds a current analysis. Results are stored in the library and turned into
//! beatgrid and hot-cue commands for every deck that still has that track.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use segue_engine::{Command, DeckId, TrackAudio};
use segue_models::analysis::Analysis;
use segue_models::library::Library;
use segue_models::worker::{deck_commands, Job, JobEvent, JobOutput, Priority, Worker};

use crate::state::Shared;

/// A checked load request.
#[derive(Debug, Clone)]
pub(crate) struct LoadJob {
    pub deck: DeckId,
    pub path: PathBuf,
}

/// The loader thread, the worker and its result thread.
pub(crate) struct Loader {
    tx: Option<Sender<LoadJob>>,
    threads: Vec<JoinHandle<()>>,
    worker: Option<Arc<Worker>>,
    library: Option<Arc<Mutex<Library>>>,
}

impl Loader {
    pub(crate) fn start(
        shared: Arc<Shared>,
        rate: u32,
        library: Option<Library>,
        worker_threads: usize,
    ) -> std::io::Result<Self> {
        let library = library.map(|l| Arc::new(Mutex::new(l)));
        let threads_n = if worker_threads == 0 {
            segue_models::worker::default_threads()
        } else {
            worker_threads
        };
        let worker = Arc::new(Worker::new(threads_n, |job, _ctx| {
            segue_models::analysis::analyze_file(&job.path)
                .map(|a| JobOutput::Analysis(Box::new(a)))
        }));
        let (tx, rx) = crossbeam_channel::unbounded::<LoadJob>();
        let mut threads = Vec::new();
        {
            let (shared, library, worker) = (shared.clone(), library.clone(), worker.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("segue-loader".into())
                    .spawn(move || load_loop(&rx, &shared, rate, library.as_deref(), &worker))?,
            );
        }
        {
            let (shared, library, events) =
                (shared.clone(), library.clone(), worker.events().clone());
            threads.push(
                std::thread::Builder::new()
                    .name("segue-results".into())
                    .spawn(move || result_loop(&events, &shared, rate, library.as_deref()))?,
            );
        }
        Ok(Self {
            tx: Some(tx),
            threads,
            worker: Some(worker),
            library,
        })
    }

    pub(crate) fn load(&self, job: LoadJob) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(job);
        }
    }

    /// Stop loading and analysing, then close the library (SQLite checkpoints its WAL).
    pub(crate) fn shutdown(mut self) {
        self.tx = None; // the loader thread ends
                        // Dropping the worker cancels queued jobs and joins its threads; the result thread
                        // ends when the event channel closes.
        if let Some(w) = self.worker.take() {
            let mut w = Some(w);
            for _ in 0..200 {
                match Arc::try_unwrap(w.take().expect("set")) {
                    Ok(worker) => {
                        drop(worker);
                        break;
                    }
                    Err(back) => {
                        w = Some(back);
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                }
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(lib) = self.library.take() {
            if let Ok(m) = Arc::try_unwrap(lib) {
                let lib = m.into_inner().unwrap_or_else(|e| e.into_inner());
                tracing::info!("library {} closed", lib.path().display());
                drop(lib);
            }
        }
    }
}

fn title_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn load_loop(
    rx: &Receiver<LoadJob>,
    shared: &Shared,
    rate: u32,
    library: Option<&Mutex<Library>>,
    worker: &Worker,
) {
    while let Ok(job) = rx.recv() {
        let deck = job.deck as usize;
        let t0 = std::time::Instant::now();
        let audio: TrackAudio = match segue_models::decode::decode_file(&job.path, rate) {
            Ok(a) => a,
            Err(e) => {
                shared.counters.loads_failed.fetch_add(1, Ordering::Relaxed);
                shared.with_deck(deck, |d| d.loading = false);
                tracing::warn!("deck {}: cannot load: {e}", deck + 1);
                continue;
            }
        };
        let secs = audio.duration_secs();
        let generation = shared
            .with_deck(deck, |d| {
                d.generation += 1;
                d.path = Some(job.path.clone());
                d.title = title_of(&job.path);
                d.analysis = None;
                d.loading = false;
                d.generation
            })
            .unwrap_or(0);
        if !shared.send_now(Command::Load {
            deck: job.deck,
            audio: Arc::new(audio),
        }) {
            tracing::warn!("deck {}: the engine queue is full; load dropped", deck + 1);
            continue;
        }
        shared.counters.loads.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            "deck {}: loaded {} ({secs:.1} s, decoded in {:.0} ms)",
            deck + 1,
            job.path.display(),
            t0.elapsed().as_secs_f64() * 1000.0
        );
        // A current analysis in the library: use it at once.
        let stored = library.and_then(|l| {
            let l = l.lock().unwrap_or_else(|e| e.into_inner());
            match l.needs_analysis(&job.path) {
                Ok(false) => l.get(&job.path).ok().flatten().and_then(|e| e.analysis),
                _ => None,
            }
        });
        match stored {
            Some(a) => {
                tracing::info!("deck {}: analysis from the library", deck + 1);
                apply_analysis(
                    shared,
                    rate,
                    &job.path,
                    Arc::new(a),
                    Some((deck, generation)),
                );
            }
            None => {
                worker.submit(Job::analyse(job.path.clone()), Priority::Deck);
            }
        }
    }
}

fn result_loop(
    events: &Receiver<JobEvent>,
    shared: &Shared,
    rate: u32,
    library: Option<&Mutex<Library>>,
) {
    while let Ok(ev) = events.recv() {
        let JobEvent::Finished { job, result, .. } = ev else {
            continue;
        };
        match result {
            Ok(JobOutput::Analysis(a)) => {
                shared.counters.analyses.fetch_add(1, Ordering::Relaxed);
                if let Some(l) = library {
                    let mut l = l.lock().unwrap_or_else(|e| e.into_inner());
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
                apply_analysis(shared, rate, &job.path, Arc::new(*a), None);
            }
            Err(e) => tracing::warn!("analysis of {} failed: {e}", job.path.display()),
        }
    }
}

/// Hand an analysis to every deck holding `path` (or only `only = (deck, generation)`).
fn apply_analysis(
    shared: &Shared,
    rate: u32,
    path: &Path,
    analysis: Arc<Analysis>,
    only: Option<(usize, u64)>,
) {
    for deck in 0..shared.deck_count {
        let matches = shared
            .with_deck(deck, |d| {
                let ok = d.path.as_deref() == Some(path)
                    && only.is_none_or(|(od, g)| od == deck && g == d.generation);
                if ok {
                    d.analysis = Some(analysis.clone());
                }
                ok
            })
            .unwrap_or(false);
        if matches {
            for c in deck_commands(&analysis, deck as DeckId, rate) {
                shared.send_now(c);
            }
        }
    }
}
