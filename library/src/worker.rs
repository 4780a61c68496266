//! The background worker: one service that owns a priority queue of slow jobs (analysis
//! and stem separation today; embedding and planning later) and runs them on a small
//! thread pool that leaves the audio thread a core.
//!
//! * A job for a track just loaded on a deck is submitted (or promoted) with
//!   [`Priority::Deck`] and jumps the queue.
//! * Jobs report progress and can be cancelled: a queued job is dropped at once, a running
//!   one sees [`JobContext::cancelled`] and stops at its next check.
//! * Results come back as [`JobEvent`]s on a channel; the caller stores them in the library
//!   and turns them into engine commands ([`deck_commands`]). The worker never touches the
//!   audio thread.
//!
//! ```
//! use segue_library::worker::{Job, JobEvent, Priority, Worker};
//! let worker = Worker::new(1, |job, ctx| {
//!     ctx.progress(0.5);
//!     Err(segue_decode::SegueError::Mix { reason: format!("no analyser for {}", job.path.display()) })
//! });
//! let id = worker.submit(Job::analyse("a.wav"), Priority::Background);
//! loop {
//!     match worker.events().recv().unwrap() {
//!         JobEvent::Finished { id: done, result, .. } if done == id => { assert!(result.is_err()); break }
//!         _ => {}
//!     }
//! }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{unbounded, Receiver, Sender};
use segue_engine::{Command, DeckId, Position, StemAudio, TrackAudio};

use crate::SegueError;
use segue_analysis::Analysis;

/// How urgent a job is; higher runs first, equal priorities run in submission order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Library scans and other batch work.
    Background = 0,
    /// A track on a deck: the DJ is waiting for its beatgrid.
    Deck = 1,
}

/// Identifies a submitted job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// Musical analysis of an audio file.
    Analyse,
    /// Stem separation of a decoded track (drums, bass, other, vocals at the track's rate).
    Separate,
}

/// A unit of work.
#[derive(Debug, Clone)]
pub struct Job {
    /// The kind of work.
    pub kind: JobKind,
    /// The file it is about.
    pub path: PathBuf,
    /// The file already decoded (a track loaded on a deck), so the job need not decode it
    /// again.
    pub audio: Option<Arc<TrackAudio>>,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        let same_audio = match (&self.audio, &other.audio) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        self.kind == other.kind && self.path == other.path && same_audio
    }
}

impl Job {
    /// Analyse the file at `path`.
    pub fn analyse(path: impl Into<PathBuf>) -> Self {
        Self {
            kind: JobKind::Analyse,
            path: path.into(),
            audio: None,
        }
    }

    /// Separate the stems of `audio`, the track of `path` as a deck plays it (the stems come
    /// back at its rate and length).
    pub fn separate_decoded(path: impl Into<PathBuf>, audio: Arc<TrackAudio>) -> Self {
        Self {
            kind: JobKind::Separate,
            path: path.into(),
            audio: Some(audio),
        }
    }

    /// Analyse the file at `path`, already decoded into `audio`.
    pub fn analyse_decoded(path: impl Into<PathBuf>, audio: Arc<TrackAudio>) -> Self {
        Self {
            kind: JobKind::Analyse,
            path: path.into(),
            audio: Some(audio),
        }
    }
}

/// What a finished job produced.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutput {
    /// An analysis.
    Analysis(Box<Analysis>),
    /// Stems of the job's audio, each exactly as long as it, summing to its mix.
    Stems(Arc<StemAudio>),
}

/// Reports from the worker, in the order they happen for each job.
#[derive(Debug)]
pub enum JobEvent {
    /// A worker thread took the job.
    Started {
        /// The job.
        id: JobId,
    },
    /// Fraction done, 0..=1.
    Progress {
        /// The job.
        id: JobId,
        /// Fraction done.
        fraction: f32,
    },
    /// The job ran to the end (successfully or not).
    Finished {
        /// The job.
        id: JobId,
        /// The job as submitted.
        job: Job,
        /// What it produced.
        result: Result<JobOutput, SegueError>,
    },
    /// The job was cancelled (before or while running).
    Cancelled {
        /// The job.
        id: JobId,
    },
}

/// Handed to a running job: report progress, check for cancellation.
pub struct JobContext {
    id: JobId,
    cancel: Arc<AtomicBool>,
    events: Sender<JobEvent>,
}

impl JobContext {
    /// Report the fraction done.
    pub fn progress(&self, fraction: f32) {
        let _ = self.events.send(JobEvent::Progress {
            id: self.id,
            fraction: fraction.clamp(0.0, 1.0),
        });
    }

    /// True once the job has been cancelled: stop and return any error.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

type Runner = dyn Fn(&Job, &JobContext) -> Result<JobOutput, SegueError> + Send + Sync;

#[derive(Default)]
struct Queue {
    /// (priority descending, sequence ascending) → job.
    waiting: BTreeMap<(std::cmp::Reverse<Priority>, u64), (JobId, Job)>,
    running: BTreeMap<JobId, Arc<AtomicBool>>,
    next_id: u64,
    shutdown: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// The worker service. Dropping it cancels what is queued, lets running jobs see their
/// cancel flag and joins the threads.
pub struct Worker {
    shared: Arc<Shared>,
    tx: Sender<JobEvent>,
    events: Receiver<JobEvent>,
    threads: Vec<JoinHandle<()>>,
}

/// Lower the calling thread's scheduling priority to nice 10, so that analysis and
/// separation only take CPU time the audio threads (JACK's, the host's, or a non-real-time
/// audio callback on a machine without rtprio) leave over. Linux applies nice per thread;
/// elsewhere, and where it is refused, the thread keeps its priority.
pub fn background_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid(2) and setpriority(2) take and return plain integers; the call only
    // changes this thread's own nice value.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

/// Worker threads that leave one core to the audio thread (at least one).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

impl Worker {
    /// Start `threads` worker threads running jobs with `runner`.
    pub fn new(
        threads: usize,
        runner: impl Fn(&Job, &JobContext) -> Result<JobOutput, SegueError> + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        let (tx, rx) = unbounded();
        let runner: Arc<Runner> = Arc::new(runner);
        let threads = (0..threads.max(1))
            .filter_map(|i| {
                let (shared, tx, runner) = (shared.clone(), tx.clone(), runner.clone());
                std::thread::Builder::new()
                    .name(format!("segue-worker-{i}"))
                    .spawn(move || {
                        background_priority();
                        work(&shared, &tx, &*runner)
                    })
                    .ok()
            })
            .collect();
        Self {
            shared,
            tx,
            events: rx,
            threads,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panicking job cannot poison the queue for everyone else.
        self.shared.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a job; returns its id.
    pub fn submit(&self, job: Job, priority: Priority) -> JobId {
        let mut q = self.lock();
        q.next_id += 1;
        let id = JobId(q.next_id);
        q.waiting
            .insert((std::cmp::Reverse(priority), id.0), (id, job));
        drop(q);
        self.shared.wake.notify_one();
        id
    }

    /// Raise (or lower) a queued job's priority; false if it is not waiting any more.
    pub fn reprioritise(&self, id: JobId, priority: Priority) -> bool {
        let mut q = self.lock();
        let Some(key) = q
            .waiting
            .iter()
            .find(|(_, (j, _))| *j == id)
            .map(|(k, _)| *k)
        else {
            return false;
        };
        let entry = q.waiting.remove(&key).expect("key just found");
        q.waiting
            .insert((std::cmp::Reverse(priority), key.1), entry);
        true
    }

    /// Cancel a job: a waiting job is removed (a `Cancelled` event follows), a running one
    /// is asked to stop. False if the job is unknown or already finished.
    pub fn cancel(&self, id: JobId) -> bool {
        let mut q = self.lock();
        if let Some(key) = q
            .waiting
            .iter()
            .find(|(_, (j, _))| *j == id)
            .map(|(k, _)| *k)
        {
            q.waiting.remove(&key);
            drop(q);
            let _ = self.tx.send(JobEvent::Cancelled { id });
            return true;
        }
        match q.running.get(&id) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Jobs waiting (not yet started).
    pub fn queued(&self) -> usize {
        self.lock().waiting.len()
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<JobEvent> {
        &self.events
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        {
            let mut q = self.lock();
            q.shutdown = true;
            q.waiting.clear();
            for flag in q.running.values() {
                flag.store(true, Ordering::Relaxed);
            }
        }
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One worker thread: take the most urgent job, run it, report, repeat.
fn work(shared: &Shared, tx: &Sender<JobEvent>, runner: &Runner) {
    loop {
        let (id, job, cancel) = {
            let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if q.shutdown {
                    return;
                }
                if let Some((_, (id, job))) = q.waiting.pop_first() {
                    let cancel = Arc::new(AtomicBool::new(false));
                    q.running.insert(id, cancel.clone());
                    break (id, job, cancel);
                }
                q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let _ = tx.send(JobEvent::Started { id });
        let ctx = JobContext {
            id,
            cancel: cancel.clone(),
            events: tx.clone(),
        };
        // A panicking job is reported as failed; the thread lives on.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner(&job, &ctx)))
            .unwrap_or_else(|_| {
                Err(SegueError::Mix {
                    reason: format!("the job for {} panicked", job.path.display()),
                })
            });
        shared
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .running
            .remove(&id);
        let event = if cancel.load(Ordering::Relaxed) {
            JobEvent::Cancelled { id }
        } else {
            JobEvent::Finished { id, job, result }
        };
        let _ = tx.send(event);
    }
}

/// The commands that hand an analysis to a deck: its beatgrid (in frames at
/// `sample_rate`, the rate the deck's track was decoded at) and its cue points as hot cues
/// (first eight, in time order). Built off the audio thread; send them through the
/// `EngineHandle`.
pub fn deck_commands(analysis: &Analysis, deck: DeckId, sample_rate: u32) -> Vec<Command> {
    let mut out = Vec::new();
    if let Some(grid) = analysis.beatgrid(sample_rate) {
        out.push(Command::SetBeatgrid {
            deck,
            grid: Some(Arc::new(grid)),
        });
    }
    for (i, cue) in analysis
        .cues
        .iter()
        .take(segue_engine::HOT_CUES)
        .enumerate()
    {
        out.push(Command::SetHotCue {
            deck,
            index: i as u8,
            at: Position::Seconds(cue.time),
        });
    }
    out
}
