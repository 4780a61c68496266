//! The audio thread's half of set recording: a [`RecordTap`] copies the master output
//! into a preallocated lock-free ring while recording is armed, and a [`RecordReader`] on a
//! writer thread (the shells' recorder, `segue_library::record`) drains it to disk.
//!
//! The tap never waits: when the ring is full (a slow or stalled disk) the block is counted
//! in [`RecordShared::dropped`] and left out, the audio goes on. The control side arms and
//! disarms with [`RecordShared::arm`]; the tap notices at the next block boundary and
//! publishes the engine frame where the take starts ([`RecordShared::started_at`]) and how
//! many frames it holds when it ends ([`RecordShared::take_end`]), so the writer knows
//! exactly which samples belong to which take.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// "No take has ended yet" in [`RecordShared::take_end`].
pub const NO_END: u64 = u64::MAX;

/// What the tap and the writer share (atomics only).
#[derive(Debug)]
pub struct RecordShared {
    armed: AtomicBool,
    /// Take number, bumped by the tap when a take starts.
    take: AtomicU64,
    started_at: AtomicU64,
    /// Frames pushed in the current take so far.
    pushed: AtomicU64,
    take_end: AtomicU64,
    dropped: AtomicU64,
}

impl RecordShared {
    /// Ask the tap to start (`true`) or end (`false`) a take at its next block.
    pub fn arm(&self, on: bool) {
        self.armed.store(on, Ordering::Release);
    }

    /// Whether recording is requested.
    pub fn armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }

    /// Number of the current (or last) take, 0 before the first.
    pub fn take(&self) -> u64 {
        self.take.load(Ordering::Acquire)
    }

    /// Engine frame of the current take's first frame.
    pub fn started_at(&self) -> u64 {
        self.started_at.load(Ordering::Acquire)
    }

    /// Frames pushed into the ring in the current take so far.
    pub fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::Acquire)
    }

    /// Frames in the current take once it ended, [`NO_END`] while it runs.
    pub fn take_end(&self) -> u64 {
        self.take_end.load(Ordering::Acquire)
    }

    /// Frames left out because the ring was full (all takes).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The audio thread's end: call [`RecordTap::block`] after rendering every block.
pub struct RecordTap {
    ring: rtrb::Producer<[f32; 2]>,
    shared: Arc<RecordShared>,
    on: bool,
    pushed: u64,
}

/// The writer thread's end of the ring.
pub struct RecordReader {
    /// Frames in take order; see [`RecordShared`] for where takes begin and end.
    pub ring: rtrb::Consumer<[f32; 2]>,
    /// The state shared with the tap.
    pub shared: Arc<RecordShared>,
}

/// A tap and its reader with room for `capacity` frames (allocated here, never again).
pub fn record_tap(capacity: usize) -> (RecordTap, RecordReader) {
    let (tx, rx) = rtrb::RingBuffer::new(capacity.max(1));
    let shared = Arc::new(RecordShared {
        armed: AtomicBool::new(false),
        take: AtomicU64::new(0),
        started_at: AtomicU64::new(0),
        pushed: AtomicU64::new(0),
        take_end: AtomicU64::new(NO_END),
        dropped: AtomicU64::new(0),
    });
    (
        RecordTap {
            ring: tx,
            shared: shared.clone(),
            on: false,
            pushed: 0,
        },
        RecordReader { ring: rx, shared },
    )
}

impl RecordTap {
    /// The shared state (to arm from the control side).
    pub fn shared(&self) -> &Arc<RecordShared> {
        &self.shared
    }

    /// The master output of one block: `left` and `right` (the shorter length counts),
    /// whose first frame is engine frame `frame`. Real-time safe: no allocation, no lock,
    /// never waits.
    pub fn block(&mut self, frame: u64, left: &[f32], right: &[f32]) {
        let armed = self.shared.armed.load(Ordering::Acquire);
        if armed && !self.on {
            // A new take: where it starts first, then its number (the writer reads the
            // number, then the start).
            self.on = true;
            self.pushed = 0;
            self.shared.pushed.store(0, Ordering::Release);
            self.shared.take_end.store(NO_END, Ordering::Release);
            self.shared.started_at.store(frame, Ordering::Release);
            self.shared.take.fetch_add(1, Ordering::AcqRel);
        } else if !armed && self.on {
            self.on = false;
            self.shared.take_end.store(self.pushed, Ordering::Release);
        }
        if !self.on {
            return;
        }
        let n = left.len().min(right.len());
        // Whole blocks only: a block that does not fit is left out and counted (the writer
        // reports it); the ring holds seconds, so only a stalled disk gets here.
        match self.ring.write_chunk_uninit(n) {
            Ok(chunk) => {
                chunk.fill_from_iter(left.iter().zip(right).map(|(&l, &r)| [l, r]));
                self.pushed += n as u64;
                self.shared.pushed.store(self.pushed, Ordering::Release);
            }
            Err(_) => {
                self.shared.dropped.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
}
