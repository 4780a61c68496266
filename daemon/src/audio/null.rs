//! The null backend: no device; a thread clocked by the monotonic timer renders one block
//! every `buffer / rate` seconds, like a sound card would ask for it. The file backend is
//! the same clock with the master bus written to a WAV file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use segue_engine::Outputs;

use super::{now_ns, sleep_until, AudioShared, Backend, Callback, EngineCell};
use crate::DaemonError;

/// Receives the master bus of every block (file backend), on the audio thread: must not
/// allocate or block.
pub(crate) trait BlockSink: Send + 'static {
    fn block(&mut self, left: &[f32], right: &[f32]);
}

impl BlockSink for () {
    fn block(&mut self, _: &[f32], _: &[f32]) {}
}

/// A timer-clocked render thread.
pub(crate) struct TimerThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TimerThread {
    pub(crate) fn spawn(
        cell: Arc<EngineCell>,
        shared: Arc<AudioShared>,
        rate: u32,
        buffer: usize,
        mut sink: impl BlockSink,
    ) -> Result<Self, DaemonError> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("segue-audio".into())
            .spawn(move || {
                try_realtime_priority(70);
                let mut bufs: [Vec<f32>; 4] = std::array::from_fn(|_| vec![0.0; buffer]);
                let mut cb = Callback { cell, shared };
                let period = buffer as u64 * 1_000_000_000 / rate as u64;
                let rem = buffer as u64 * 1_000_000_000 % rate as u64;
                let t0 = now_ns();
                let mut k: u64 = 0;
                cb.shared.running.store(true, Ordering::Release);
                while !s.load(Ordering::Acquire) {
                    // Block k is rendered at t0 + k·period and heard one block later, as
                    // on a card with two periods of buffering.
                    let due = t0 + k * period + k * rem / rate as u64;
                    let [ml, mr, cl, cr] = &mut bufs;
                    let mut out = Outputs {
                        master: [&mut ml[..], &mut mr[..]],
                        cue: [&mut cl[..], &mut cr[..]],
                    };
                    cb.render(&mut out, buffer, due, buffer as u32);
                    sink.block(ml, mr);
                    k += 1;
                    let next = t0 + k * period + k * rem / rate as u64;
                    let now = now_ns();
                    if now > next + period {
                        // More than a block behind: an xrun. Catch up by rendering the missed
                        // blocks at once (the timeline, and a file's, stays continuous);
                        // only after a second behind (suspend) skip ahead.
                        cb.shared.xruns.fetch_add(1, Ordering::Relaxed);
                        if now > next + 1_000_000_000 {
                            k = (now - t0) / period;
                        }
                    }
                    sleep_until(t0 + k * period + k * rem / rate as u64);
                }
                cb.shared.running.store(false, Ordering::Release);
            })
            .map_err(|e| DaemonError::backend("null", e))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    pub(crate) fn join(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TimerThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Ask for SCHED_FIFO (works as root or with rtprio limits); silently stays normal otherwise.
pub(crate) fn try_realtime_priority(priority: i32) {
    // SAFETY: plain syscall on the calling thread with a valid sched_param.
    unsafe {
        let param = libc::sched_param {
            sched_priority: priority,
        };
        libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param);
    }
}

/// The null backend.
pub(crate) struct NullBackend {
    timer: TimerThread,
    rate: u32,
    buffer: usize,
}

impl NullBackend {
    pub(crate) fn start(
        cell: Arc<EngineCell>,
        shared: Arc<AudioShared>,
        rate: u32,
        buffer: usize,
    ) -> Result<Self, DaemonError> {
        shared.rate.store(rate as u64, Ordering::Relaxed);
        Ok(Self {
            timer: TimerThread::spawn(cell, shared, rate, buffer, ())?,
            rate,
            buffer,
        })
    }
}

impl Backend for NullBackend {
    fn describe(&self) -> String {
        format!(
            "null backend: {} Hz, {} frames per block ({:.2} ms), timer-clocked",
            self.rate,
            self.buffer,
            self.buffer as f64 * 1000.0 / self.rate as f64
        )
    }
    fn stop(self: Box<Self>) {
        self.timer.join();
    }
}
