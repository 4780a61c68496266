//! MIDI clock out: 24 pulses per quarter note, start / stop / continue, following a tempo.
//! Pure logic: the caller advances it by audio frames and sends what it returns at the
//! frame offsets it gives (the daemon schedules them against its output latency).

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

    /// Keep sending pulses while stopped (many devices want that to hold their tempo).
    pub fn set_free_running(&mut self, on: bool) {
        self.free_running = on;
    }

    /// Send Start and restart the pulse count; the first pulse follows the Start at once.
    pub fn start(&mut self) {
        self.running = true;
        self.pending = Some(START);
        self.until_pulse = 0.0;
        self.pulses = 0;
    }

    /// Send Stop.
    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
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
        if let Some(m) = self.pending.take() {
            out.push(ClockEvent {
                offset: 0,
                message: m,
            });
        }
        let ticking = self.running || self.free_running;
        let span = frames as f64;
        let step = self.frames_per_pulse();
        let mut t = self.until_pulse;
        while t < span {
            if ticking {
                out.push(ClockEvent {
                    offset: t.max(0.0).round().min(span - 1.0).max(0.0) as u32,
                    message: CLOCK,
                });
                if self.running {
                    self.pulses += 1;
                }
            }
            t += step;
        }
        self.until_pulse = t - span;
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
}
