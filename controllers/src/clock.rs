//! MIDI clock out: 24 pulses per quarter note, start / stop / continue, following a tempo
//! and, optionally, locked to the beats of a track. Pure logic that never allocates: the
//! caller advances it by audio frames and sends what it emits at the frame offsets it gives.
//! The daemon runs it inside the JACK callback (`midi_clock_out`), re-locking it to the
//! on-air deck's beat grid every block with [`MidiClock::set_beat`].

/// MIDI timing clock (0xF8).
pub const CLOCK: u8 = 0xF8;
/// Start (0xFA).
pub const START: u8 = 0xFA;
/// Continue (0xFB).
pub const CONTINUE: u8 = 0xFB;
/// Stop (0xFC).
pub const STOP: u8 = 0xFC;

/// One message to send, `offset` frames into the span just advanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockEvent {
    /// Frames from the start of the span passed to [`MidiClock::advance`].
    pub offset: u32,
    /// The one-byte real-time message.
    pub message: u8,
}

/// A MIDI clock generator.
///
/// ```
/// use segue_controllers::MidiClock;
///
/// let mut clock = MidiClock::new(48_000);
/// clock.set_bpm(120.0);             // 48 pulses a second: one every 1000 frames
/// clock.start();
/// let mut out = Vec::new();
/// clock.advance(48_000, &mut out);
/// assert_eq!(out[0].message, 0xFA); // start, then the first pulse at frame 0
/// assert_eq!(out.iter().filter(|e| e.message == 0xF8).count(), 48);
/// assert_eq!(out[2].offset, 1000);
/// ```
#[derive(Debug, Clone)]
pub struct MidiClock {
    sample_rate: f64,
    bpm: f64,
    running: bool,
    free_running: bool,
    /// Frames until the next pulse.
    until_pulse: f64,
    /// A transport message waiting for the next `advance` (sent at offset 0).
    pending: Option<u8>,
    /// Pulses sent since start (song position, 24 per beat).
    pulses: u64,
    /// Once [`set_beat`](Self::set_beat) was called: where the next pulse falls in its beat
    /// (0 = on the beat).
    next_in_beat: Option<u32>,
    /// [`start_on_beat`](Self::start_on_beat): Start goes out with the next pulse on a beat.
    start_waiting: bool,
    /// Frames since the last pulse sent (`None` before the first).
    since_pulse: Option<f64>,
}

impl MidiClock {
    /// A stopped clock at 120 BPM.
    pub fn new(sample_rate: u32) -> MidiClock {
        MidiClock {
            sample_rate: sample_rate.max(1) as f64,
            bpm: 120.0,
            running: false,
            free_running: false,
            until_pulse: 0.0,
            pending: None,
            pulses: 0,
            next_in_beat: None,
            start_waiting: false,
            since_pulse: None,
        }
    }

    /// Follow a tempo (BPM, clamped to 20..=999; NaN ignored). Takes effect from the
    /// next pulse on.
    pub fn set_bpm(&mut self, bpm: f64) {
        if bpm.is_finite() {
            let old = self.frames_per_pulse();
            self.bpm = bpm.clamp(20.0, 999.0);
            // Keep the phase: the part of the interval already elapsed stays elapsed.
            self.until_pulse *= self.frames_per_pulse() / old;
        }
    }

    /// The tempo followed.
    pub fn bpm(&self) -> f64 {
        self.bpm
    }

    /// Lock the pulses to a beat grid: a beat falls `frames_until_beat` frames after the
    /// start of the next [`advance`](Self::advance) span (negative: that many frames
    /// before it; any beat of the grid will do). The next pulse moves onto the grid at the
    /// current tempo, so calling this every block with the track's beat keeps the clock on
    /// the track's beats without drift. A pulse the move would put within half an interval
    /// of the last one sent is skipped (no double pulse when the grid jumps). NaN ignored.
    pub fn set_beat(&mut self, frames_until_beat: f64) {
        if !frames_until_beat.is_finite() {
            return;
        }
        let step = self.frames_per_pulse();
        // The first pulse of the grid that rounds to a frame of this span or later (the
        // span before sent those rounding to its own frames), and its place in the beat.
        let j = ((-0.5 - frames_until_beat) / step).ceil();
        let mut until = frames_until_beat + j * step;
        let mut in_beat = j.rem_euclid(24.0) as u32;
        if self
            .since_pulse
            .is_some_and(|since| until + since < step * 0.5)
        {
            until += step;
            in_beat = (in_beat + 1) % 24;
        }
        self.until_pulse = until;
        self.next_in_beat = Some(in_beat);
    }

    /// Keep sending pulses while stopped (many devices want that to hold their tempo).
    pub fn set_free_running(&mut self, on: bool) {
        self.free_running = on;
    }

    /// Send Start and restart the pulse count; the first pulse follows the Start at once.
    pub fn start(&mut self) {
        self.running = true;
        self.start_waiting = false;
        self.pending = Some(START);
        self.until_pulse = 0.0;
        self.pulses = 0;
    }

    /// Start on the beat: Start goes out just before the next pulse that falls on a beat
    /// of the grid given to [`set_beat`](Self::set_beat) (the next pulse when no grid was
    /// given), so the receiver's bar begins where the track's beat is. Until then no pulse
    /// is sent unless free-running.
    pub fn start_on_beat(&mut self) {
        self.running = true;
        self.start_waiting = true;
        self.pending = None;
        self.pulses = 0;
    }

    /// Send Stop.
    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
            self.start_waiting = false;
            self.pending = Some(STOP);
        }
    }

    /// Send Continue (resume from where Stop left off).
    pub fn resume(&mut self) {
        if !self.running {
            self.running = true;
            self.pending = Some(CONTINUE);
        }
    }

    /// Whether the transport is running.
    pub fn running(&self) -> bool {
        self.running
    }

    /// Pulses since the last start.
    pub fn pulses(&self) -> u64 {
        self.pulses
    }

    fn frames_per_pulse(&self) -> f64 {
        self.sample_rate * 60.0 / (self.bpm * 24.0)
    }

    /// Advance by `frames` frames; append what to send in that span, in order.
    pub fn advance(&mut self, frames: u32, out: &mut Vec<ClockEvent>) {
        self.advance_with(frames, |e| out.push(e));
    }

    /// [`advance`](Self::advance), handing each message to `emit` instead of a `Vec`:
    /// allocation-free, for the audio thread.
    pub fn advance_with(&mut self, frames: u32, mut emit: impl FnMut(ClockEvent)) {
        if let Some(m) = self.pending.take() {
            emit(ClockEvent {
                offset: 0,
                message: m,
            });
        }
        let span = frames as f64;
        let step = self.frames_per_pulse();
        let mut t = self.until_pulse;
        let mut last = None;
        // Each pulse goes out on the frame nearest its ideal time: those rounding to a
        // frame of this span now, the rest in the next span.
        while t < span - 0.5 {
            let on_beat = self.next_in_beat.is_none_or(|i| i == 0);
            if let Some(i) = &mut self.next_in_beat {
                *i = (*i + 1) % 24;
            }
            let offset = t.round().max(0.0) as u32;
            if self.start_waiting && on_beat {
                self.start_waiting = false;
                emit(ClockEvent {
                    offset,
                    message: START,
                });
            }
            let transport = self.running && !self.start_waiting;
            if transport || self.free_running {
                emit(ClockEvent {
                    offset,
                    message: CLOCK,
                });
                last = Some(t);
                if transport {
                    self.pulses += 1;
                }
            }
            t += step;
        }
        self.until_pulse = t - span;
        self.since_pulse = match last {
            Some(l) => Some(span - l),
            None => self.since_pulse.map(|s| s + span),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pulses(out: &[ClockEvent]) -> Vec<u32> {
        out.iter()
            .filter(|e| e.message == CLOCK)
            .map(|e| e.offset)
            .collect()
    }

    #[test]
    fn twenty_four_pulses_per_beat_at_exact_offsets() {
        let mut c = MidiClock::new(48_000);
        c.set_bpm(125.0); // 960 frames per pulse
        c.start();
        let mut all = Vec::new();
        let mut base = 0u64;
        // Odd block sizes: offsets must still land on multiples of 960.
        for n in [37u32, 512, 1000, 64, 2047, 333].iter().cycle().take(200) {
            let mut out = Vec::new();
            c.advance(*n, &mut out);
            all.extend(pulses(&out).iter().map(|&o| base + o as u64));
            base += *n as u64;
        }
        assert!(all.len() > 100);
        for (i, &f) in all.iter().enumerate() {
            assert_eq!(f, i as u64 * 960, "pulse {i}");
        }
        assert_eq!(c.pulses(), all.len() as u64);
    }

    #[test]
    fn follows_tempo_changes() {
        let mut c = MidiClock::new(48_000);
        c.set_bpm(120.0);
        c.start();
        let mut out = Vec::new();
        c.advance(48_000, &mut out);
        assert_eq!(pulses(&out).len(), 48);
        c.set_bpm(240.0);
        out.clear();
        c.advance(48_000, &mut out);
        assert_eq!(pulses(&out).len(), 96);
        let p = pulses(&out);
        assert_eq!(p[1] - p[0], 500);
    }

    #[test]
    fn tempo_change_mid_interval_keeps_the_phase() {
        let mut c = MidiClock::new(48_000);
        c.set_bpm(120.0); // 1000 frames per pulse
        c.start();
        let mut out = Vec::new();
        c.advance(1500, &mut out); // pulses at 0 and 1000; next due in 500
        c.set_bpm(240.0); // half the interval: due in 250
        out.clear();
        c.advance(1000, &mut out);
        assert_eq!(pulses(&out), vec![250, 750]);
    }

    #[test]
    fn start_stop_continue() {
        let mut c = MidiClock::new(44_100);
        let mut out = Vec::new();
        c.advance(44_100, &mut out);
        assert!(out.is_empty(), "stopped and not free-running: silent");
        c.start();
        c.advance(100, &mut out);
        assert_eq!(
            out[0],
            ClockEvent {
                offset: 0,
                message: START
            }
        );
        assert_eq!(
            out[1],
            ClockEvent {
                offset: 0,
                message: CLOCK
            }
        );
        out.clear();
        c.stop();
        c.advance(44_100, &mut out);
        assert_eq!(
            out,
            vec![ClockEvent {
                offset: 0,
                message: STOP
            }]
        );
        out.clear();
        c.resume();
        c.advance(44_100, &mut out);
        assert_eq!(out[0].message, CONTINUE);
        assert_eq!(pulses(&out).len(), 48);
        c.set_free_running(true);
        c.stop();
        out.clear();
        c.advance(44_100, &mut out);
        assert_eq!(out[0].message, STOP);
        assert_eq!(pulses(&out).len(), 48, "free-running pulses continue");
    }

    #[test]
    fn nonsense_tempo_is_ignored_or_clamped() {
        let mut c = MidiClock::new(48_000);
        c.set_bpm(f64::NAN);
        assert_eq!(c.bpm(), 120.0);
        c.set_bpm(0.0);
        assert_eq!(c.bpm(), 20.0);
        c.set_bpm(1e9);
        assert_eq!(c.bpm(), 999.0);
    }

    /// (absolute frame, message) of everything sent while advancing in blocks of `n`
    /// frames from `from` to `to`, re-locking to a beat at `anchor` before every block.
    fn locked(c: &mut MidiClock, anchor: f64, from: u64, to: u64, n: u32) -> Vec<(u64, u8)> {
        let mut got = Vec::new();
        let mut f0 = from;
        while f0 < to {
            c.set_beat(anchor - f0 as f64);
            c.advance_with(n, |e| got.push((f0 + e.offset as u64, e.message)));
            f0 += n as u64;
        }
        got
    }

    #[test]
    fn locked_to_a_beat_grid_pulses_land_on_it_and_start_waits_for_a_beat() {
        let mut c = MidiClock::new(48_000);
        c.set_bpm(125.0); // 960 frames per pulse, 23 040 per beat
        c.start_on_beat();
        let anchor = 100_000.0 + 0.4; // a beat between two frames
        let got = locked(&mut c, anchor, 0, 200_000, 64);
        // Start first, right before the first pulse, which is on a beat.
        assert_eq!(got[0].1, START);
        assert_eq!(got[1].1, CLOCK);
        assert_eq!(got[0].0, got[1].0);
        let pulses: Vec<u64> = got.iter().filter(|e| e.1 == CLOCK).map(|e| e.0).collect();
        let first_beat = anchor - 23_040.0 * ((anchor / 23_040.0).floor());
        assert_eq!(pulses[0], first_beat.round() as u64);
        // Every pulse on the integer frame of its ideal time, however the blocks fall.
        for (k, &p) in pulses.iter().enumerate() {
            let ideal = first_beat + k as f64 * 960.0;
            assert!(
                (p as f64 - ideal).abs() <= 0.5,
                "pulse {k} at {p}, ideal {ideal}"
            );
        }
        assert_eq!(c.pulses(), pulses.len() as u64);
    }

    #[test]
    fn a_grid_jump_does_not_send_a_double_pulse() {
        let mut c = MidiClock::new(48_000);
        c.set_bpm(120.0); // 1000 frames per pulse
        c.start_on_beat();
        // Pulses at 0, 1000, … 9000; then the grid moves 100 frames later (a beat jump on
        // the deck): 9100 would be a second pulse 100 frames after 9000, so it is skipped
        // and the clock goes on at 10 100, 11 100, …
        let mut got = locked(&mut c, 0.0, 0, 9_088, 128);
        got.extend(locked(&mut c, 100.0, 9_088, 20_000, 128));
        let pulses: Vec<u64> = got.iter().filter(|e| e.1 == CLOCK).map(|e| e.0).collect();
        assert_eq!(&pulses[8..12], &[8_000, 9_000, 10_100, 11_100]);
        for w in pulses.windows(2) {
            assert!(w[1] - w[0] >= 500, "pulses {} and {} too close", w[0], w[1]);
        }
    }

    #[test]
    fn stop_before_the_beat_cancels_the_start() {
        let mut c = MidiClock::new(48_000);
        c.set_bpm(120.0);
        c.start_on_beat();
        let mut out = Vec::new();
        c.set_beat(30_000.0);
        c.advance(1_000, &mut out);
        assert!(out.is_empty(), "nothing before the beat: {out:?}");
        c.stop();
        c.advance(48_000, &mut out);
        assert_eq!(
            out,
            vec![ClockEvent {
                offset: 0,
                message: STOP
            }]
        );
    }
}
