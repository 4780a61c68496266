//! Audio backends and the one audio callback they all call.
//!
//! Every backend (JACK, ALSA via cpal, null, file) owns a [`Callback`]: it renders the engine
//! into the backend's buffers under `assert_no_alloc`, publishes the engine clock (which
//! engine frame started at which monotonic time, and the output latency) and counts what
//! happened. The callback never allocates, frees, locks, blocks, logs or panics; the engine
//! lives in an [`EngineCell`] so it survives a backend going away (JACK server restarts).

mod alsa;
mod file;
pub(crate) mod jack;
mod null;

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use segue_engine::record::RecordTap;
use segue_engine::{DeckOut, DeckTap, Engine, Outputs};

pub(crate) use self::alsa::AlsaBackend;
pub(crate) use self::file::FileBackend;
pub(crate) use self::jack::JackBackend;
pub use self::jack::MidiEvent;
pub(crate) use self::null::{try_realtime_priority, NullBackend};

/// Nanoseconds on the monotonic clock (`CLOCK_MONOTONIC`, the clock JACK uses on Linux).
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Sleep until monotonic time `t_ns` (absolute, so lateness does not accumulate).
pub fn sleep_until(t_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (t_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (t_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: valid timespec, null remainder is allowed with TIMER_ABSTIME; EINTR just
    // returns early and the callers loop on the clock.
    unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    };
}

/// The engine, shared between the control side (which keeps it across backend restarts)
/// and whichever audio callback currently runs it. Access is a single atomic
/// compare-and-swap: the callback never waits; if the cell is busy (only possible while a
/// backend is being torn down) it outputs silence for that block.
pub(crate) struct EngineCell {
    busy: AtomicBool,
    engine: UnsafeCell<Engine>,
    /// The set recorder's tap on the master output (the cue bus when `record_cue`), behind
    /// the same guard.
    record: UnsafeCell<Option<RecordTap>>,
    record_cue: bool,
}

// SAFETY: the engine is only reached through `try_with`, whose compare-and-swap on `busy`
// guarantees one `&mut Engine` at a time; `Engine` itself is `Send`.
unsafe impl Sync for EngineCell {}
// SAFETY: as above; the cell only moves the engine between threads as a whole.
unsafe impl Send for EngineCell {}

impl EngineCell {
    pub(crate) fn new(engine: Engine, record: Option<RecordTap>, record_cue: bool) -> Self {
        Self {
            busy: AtomicBool::new(false),
            engine: UnsafeCell::new(engine),
            record: UnsafeCell::new(record),
            record_cue,
        }
    }

    /// Recordings take the cue bus instead of the master.
    pub(crate) fn record_cue(&self) -> bool {
        self.record_cue
    }

    /// Run `f` on the engine unless someone else is; never blocks.
    pub(crate) fn try_with<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
        self.try_with_tap(|engine, _| f(engine))
    }

    /// [`try_with`](Self::try_with), with the recorder's tap too.
    pub(crate) fn try_with_tap<R>(
        &self,
        f: impl FnOnce(&mut Engine, Option<&mut RecordTap>) -> R,
    ) -> Option<R> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // SAFETY: `busy` was false and is now ours: no other reference to the engine or the
        // tap exists until we release it below.
        let r = f(unsafe { &mut *self.engine.get() }, unsafe {
            (*self.record.get()).as_mut()
        });
        self.busy.store(false, Ordering::Release);
        Some(r)
    }
}

/// Where the engine clock stands: engine frame `frame` started at monotonic `time_ns`;
/// what is rendered there is heard `latency_frames` later.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClockPoint {
    /// Engine frame at the start of the last block.
    pub frame: u64,
    /// Monotonic nanoseconds at which that block started.
    pub time_ns: u64,
    /// Output latency in frames (buffering after the callback until the speaker).
    pub latency_frames: u32,
    /// Sample rate.
    pub rate: u32,
}

impl ClockPoint {
    /// Monotonic time at which engine frame `frame` is heard.
    pub fn heard_ns(&self, frame: f64) -> f64 {
        self.time_ns as f64
            + (frame - self.frame as f64 + self.latency_frames as f64) * 1e9
                / self.rate.max(1) as f64
    }

    /// The engine frame heard at monotonic time `t_ns`.
    pub fn frame_heard_at(&self, t_ns: f64) -> f64 {
        self.frame as f64 + (t_ns - self.time_ns as f64) * self.rate as f64 / 1e9
            - self.latency_frames as f64
    }
}

/// Counters and the published clock, written by the callback, read by the control side.
#[derive(Default)]
pub(crate) struct AudioShared {
    seq: AtomicU64,
    clock_frame: AtomicU64,
    clock_time: AtomicU64,
    clock_latency: AtomicU64,
    pub rate: AtomicU64,
    /// Callbacks run.
    pub callbacks: AtomicU64,
    /// Blocks the callback could not render because the engine cell was busy.
    pub busy_skips: AtomicU64,
    /// Allocations or frees seen on the audio thread (debug builds check; 0 in release).
    pub alloc_violations: AtomicU64,
    /// Longest callback, nanoseconds.
    pub max_callback_ns: AtomicU64,
    /// Callbacks that took longer than their block lasts.
    pub late_callbacks: AtomicU64,
    /// Xruns reported by the backend (JACK) or detected (null/file timer overrun).
    pub xruns: AtomicU64,
    /// Times the backend went away.
    pub disconnects: AtomicU64,
    /// Times the backend came back.
    pub reconnects: AtomicU64,
    /// The backend is running now.
    pub running: AtomicBool,
    /// MIDI events received (JACK MIDI in).
    pub midi_in: AtomicU64,
    /// MIDI events dropped (ring full or longer than 3 bytes).
    pub midi_in_dropped: AtomicU64,
    /// The MIDI dispatch thread, which the callback wakes after queuing events.
    pub midi_thread: OnceLock<std::thread::Thread>,
    /// Frames the file backend could not write in time.
    pub file_dropped: AtomicU64,
    /// MIDI clock: tempo (f64 bits; 0 = no tempo), anchor frame of a beat, request.
    pub clock_bpm: AtomicU64,
    pub clock_anchor: AtomicU64,
    pub clock_request: AtomicU8,
    /// MIDI clock messages sent.
    pub clock_ticks: AtomicU64,
    /// What is connected to `midi_in` (JACK backend, polled by the main thread): each
    /// source port's name and its aliases, one line per name, sorted; the MIDI dispatch
    /// picks a shipped mapping by it ([`crate::midi`]).
    pub midi_in_sources: std::sync::Mutex<String>,
}

/// `clock_request` values.
pub(crate) const CLOCK_NONE: u8 = 0;
pub(crate) const CLOCK_START: u8 = 1;
pub(crate) const CLOCK_STOP: u8 = 2;

impl AudioShared {
    /// Publish a clock point (audio thread; a seqlock of three atomics).
    pub(crate) fn publish_clock(&self, frame: u64, time_ns: u64, latency: u32) {
        self.seq.fetch_add(1, Ordering::AcqRel);
        self.clock_frame.store(frame, Ordering::Relaxed);
        self.clock_time.store(time_ns, Ordering::Relaxed);
        self.clock_latency.store(latency as u64, Ordering::Relaxed);
        self.seq.fetch_add(1, Ordering::AcqRel);
    }

    /// The last clock point (control side).
    pub fn clock(&self) -> ClockPoint {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let frame = self.clock_frame.load(Ordering::Relaxed);
            let time_ns = self.clock_time.load(Ordering::Relaxed);
            let latency = self.clock_latency.load(Ordering::Relaxed);
            if self.seq.load(Ordering::Acquire) == s1 {
                return ClockPoint {
                    frame,
                    time_ns,
                    latency_frames: latency as u32,
                    rate: self.rate.load(Ordering::Relaxed) as u32,
                };
            }
        }
    }
}

/// The audio callback shared by every backend.
pub(crate) struct Callback {
    pub cell: Arc<EngineCell>,
    pub shared: Arc<AudioShared>,
}

impl Callback {
    /// Render `frames` into `out`; the block started at monotonic `start_ns` and is heard
    /// `latency` frames after that. Real-time safe.
    pub(crate) fn render(
        &mut self,
        out: &mut Outputs<'_>,
        frames: usize,
        start_ns: u64,
        latency: u32,
    ) {
        self.render_with_decks(out, &mut [], DeckTap::PreFader, frames, start_ns, latency);
    }

    /// [`render`](Self::render), and each deck's own signal (tapped at `tap`) into
    /// `decks[i]` (the JACK backend's per-deck ports). Real-time safe.
    pub(crate) fn render_with_decks(
        &mut self,
        out: &mut Outputs<'_>,
        decks: &mut [DeckOut<'_>],
        tap: DeckTap,
        frames: usize,
        start_ns: u64,
        latency: u32,
    ) {
        let t0 = now_ns();
        let shared = &self.shared;
        let cell = &self.cell;
        count_allocs(&shared.alloc_violations, || {
            let done = cell.try_with_tap(|engine, record| {
                let frame = engine.frame();
                shared.publish_clock(frame, start_ns, latency);
                engine.process_with_decks(out, decks, tap, frames);
                if let Some(r) = record {
                    let bus = if cell.record_cue() {
                        &out.cue
                    } else {
                        &out.master
                    };
                    let n = frames.min(bus[0].len()).min(bus[1].len());
                    r.block(frame, &bus[0][..n], &bus[1][..n]);
                }
            });
            if done.is_none() {
                for b in out.master.iter_mut().chain(out.cue.iter_mut()) {
                    b.iter_mut().for_each(|s| *s = 0.0);
                }
                for b in decks.iter_mut().flat_map(|d| d.iter_mut()) {
                    b.iter_mut().for_each(|s| *s = 0.0);
                }
                shared.busy_skips.fetch_add(1, Ordering::Relaxed);
            }
        });
        let took = now_ns().saturating_sub(t0);
        shared.callbacks.fetch_add(1, Ordering::Relaxed);
        shared.max_callback_ns.fetch_max(took, Ordering::Relaxed);
        let rate = shared.rate.load(Ordering::Relaxed).max(1);
        if took > frames as u64 * 1_000_000_000 / rate {
            shared.late_callbacks.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The MIDI clock on the audio thread: [`segue_controllers::MidiClock`] following what
/// the feed thread publishes in [`AudioShared`] (the on-air deck's heard tempo, the engine
/// frame of one of its beats, start / stop requests), re-locked to that beat every block.
pub(crate) struct ClockOut {
    clock: segue_controllers::MidiClock,
}

impl ClockOut {
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            clock: segue_controllers::MidiClock::new(rate),
        }
    }

    /// Call once per block before rendering: `emit(offset, byte)` for every message due in
    /// engine frames `[f0, f0 + n)`: Start on a beat, 24 pulses per beat, Stop.
    /// Allocation-free.
    pub(crate) fn block(
        &mut self,
        shared: &AudioShared,
        f0: u64,
        n: usize,
        mut emit: impl FnMut(usize, u8),
    ) {
        match shared.clock_request.swap(CLOCK_NONE, Ordering::AcqRel) {
            CLOCK_START => self.clock.start_on_beat(),
            CLOCK_STOP => self.clock.stop(),
            _ => {}
        }
        let bpm = f64::from_bits(shared.clock_bpm.load(Ordering::Relaxed));
        if (20.0..=999.0).contains(&bpm) {
            self.clock.set_bpm(bpm);
            let anchor = shared.clock_anchor.load(Ordering::Relaxed);
            self.clock.set_beat(anchor as f64 - f0 as f64);
        } else {
            self.clock.stop();
        }
        self.clock.advance_with(n as u32, |e| {
            emit(e.offset as usize, e.message);
            shared.clock_ticks.fetch_add(1, Ordering::Relaxed);
        });
    }
}

/// Run `f` where debug builds check that it neither allocates nor frees (under
/// `assert_no_alloc`); add what it did to `violations`. Release builds just run `f`.
pub(crate) fn count_allocs<R>(violations: &AtomicU64, f: impl FnOnce() -> R) -> R {
    #[cfg(debug_assertions)]
    let before = assert_no_alloc::violation_count();
    let r = assert_no_alloc::assert_no_alloc(f);
    #[cfg(debug_assertions)]
    {
        let after = assert_no_alloc::violation_count();
        if after != before {
            violations.fetch_add(after.wrapping_sub(before) as u64, Ordering::Relaxed);
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = violations;
    r
}

/// A running backend, driven from the main thread.
pub(crate) trait Backend {
    /// Called every few tens of milliseconds: reconnect, refresh latency, etc.
    fn poll(&mut self) {}
    /// A human description (device, ports, latency).
    fn describe(&self) -> String;
    /// Stop the audio and release the device; the engine stays in its cell.
    fn stop(self: Box<Self>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_points_map_frames_to_heard_time_and_back() {
        let c = ClockPoint {
            frame: 48_000,
            time_ns: 5_000_000_000,
            latency_frames: 480,
            rate: 48_000,
        };
        assert!((c.heard_ns(48_000.0) - 5_010_000_000.0).abs() < 1.0);
        assert!((c.frame_heard_at(c.heard_ns(96_123.0)) - 96_123.0).abs() < 1e-6);
    }

    #[test]
    fn midi_clock_sends_24_ticks_per_beat_starting_on_a_beat() {
        let shared = AudioShared::default();
        shared.rate.store(48_000, Ordering::Relaxed);
        shared.clock_bpm.store(120f64.to_bits(), Ordering::Relaxed);
        shared.clock_anchor.store(1_000, Ordering::Relaxed);
        shared.clock_request.store(CLOCK_START, Ordering::Relaxed);
        let mut clock = ClockOut::new(48_000);
        let mut events = Vec::new();
        let mut f0 = 0u64;
        while f0 < 48_000 * 2 {
            clock.block(&shared, f0, 64, |off, b| events.push((f0 + off as u64, b)));
            f0 += 64;
        }
        assert_eq!(events[0].1, 0xFA);
        let ticks: Vec<u64> = events.iter().filter(|e| e.1 == 0xF8).map(|e| e.0).collect();
        // The first tick is on a beat (anchor + k beats), then one every 1000 frames
        // (120 BPM, 24 ppq, 48 kHz).
        assert_eq!(events[0].0, ticks[0]);
        assert_eq!((ticks[0] - 1_000) % 24_000, 0);
        for w in ticks.windows(2) {
            assert_eq!(w[1] - w[0], 1_000);
        }
        assert_eq!(
            shared.clock_ticks.load(Ordering::Relaxed),
            events.len() as u64
        );
        shared.clock_request.store(CLOCK_STOP, Ordering::Relaxed);
        let mut stop = Vec::new();
        clock.block(&shared, f0, 64, |_, b| stop.push(b));
        assert_eq!(stop, vec![0xFC]);
    }
}
