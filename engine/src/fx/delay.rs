//! Echo and ping-pong: one tempo-synced stereo delay line per slot (the two effects share
//! it, so switching between them keeps the tail). Feedback runs through a tone filter
//! (low-pass below the knob's centre, high-pass above it) and a hard bound, so even
//! maximum feedback can neither blow up nor produce NaN.

use super::{flush, Clock, Ctx, OnePole};
use crate::dsp::Smoothed;
use crate::track::Frame;

/// Largest feedback (knob at 1): every repeat 0.2 dB quieter, so tails always end.
const MAX_FEEDBACK: f32 = super::ECHO_MAX_FEEDBACK;
/// A jump in delay time is crossfaded over this long.
const XFADE_SECS: f64 = 0.02;
/// A delay change up to this fraction (tempo moves, sync corrections) glides instead.
const GLIDE_FRACTION: f64 = 0.1;
/// Gliding changes the delay by at most this per frame: a pitch bend of the repeats of at
/// most 2 %, as on a tape echo.
const GLIDE_SLOPE: f64 = 0.02;

pub(crate) struct Delay {
    buf: Vec<Frame>,
    w: usize,
    /// Frames written since the last restart: older content reads as silence.
    fresh: usize,
    delay: f64,
    /// Crossfade to a new delay time: (target, frames done).
    xfade: Option<(f64, u32)>,
    xfade_len: u32,
    feedback: Smoothed,
    cross: Smoothed,
    lp: [OnePole; 2],
    hp: [OnePole; 2],
    rate: f64,
}

impl Delay {
    /// A delay line of `max_frames` (the longest delay) at `rate`.
    pub fn new(max_frames: usize, rate: f64) -> Self {
        let ramp = ((rate * 0.02) as u32).max(1);
        Self {
            buf: vec![[0.0; 2]; max_frames + 4],
            w: 0,
            fresh: 0,
            delay: rate * 0.25,
            xfade: None,
            xfade_len: ((rate * XFADE_SECS) as u32).max(1),
            feedback: Smoothed::new(0.5, ramp),
            cross: Smoothed::new(0.0, ramp),
            lp: [OnePole::default(); 2],
            hp: [OnePole::default(); 2],
            rate,
        }
    }

    /// Longest delay in frames.
    pub fn max_delay(&self) -> f64 {
        (self.buf.len() - 4) as f64
    }

    /// Start from silence (after the tail died): no stale audio, no filter history.
    pub fn restart(&mut self) {
        self.fresh = 0;
        self.xfade = None;
        self.lp = [OnePole::default(); 2];
        self.hp = [OnePole::default(); 2];
    }

    /// Frames of memory: how long it can stay silent and still have something to say.
    pub fn memory(&self) -> usize {
        self.delay as usize + self.xfade_len as usize
    }

    #[inline]
    fn read(&self, d: f64) -> Frame {
        let d = d.clamp(1.0, self.max_delay());
        if d.ceil() > self.fresh as f64 {
            return [0.0; 2];
        }
        let len = self.buf.len();
        let i = d.floor();
        let t = (d - i) as f32;
        // The frame written `i` frames before the one about to be written (at `w + 1`).
        let a = (self.w + 1 + len - i as usize) % len;
        let b = (a + len - 1) % len;
        let (x, y) = (self.buf[a], self.buf[b]);
        [x[0] + (y[0] - x[0]) * t, x[1] + (y[1] - x[1]) * t]
    }

    /// Add the echoes of `w`-weighted `input` to `acc`. `ping_pong`: the repeats bounce
    /// left/right. Knobs: feedback, tone (0.5 flat), unused. Returns the peak added.
    pub fn render(
        &mut self,
        input: &[Frame],
        acc: &mut [Frame],
        w: &mut Smoothed,
        ctx: &Ctx,
        ping_pong: bool,
    ) -> f32 {
        let clock: &Clock = ctx.clock;
        let target = (ctx.beats as f64 * clock.frames_per_beat()).clamp(1.0, self.max_delay());
        let n = input.len();
        if self.fresh == 0 {
            // Nothing in the line yet: start at the right time.
            self.delay = target;
            self.xfade = None;
        }
        if self.xfade.is_none() && (target - self.delay).abs() > GLIDE_FRACTION * self.delay {
            self.xfade = Some((target, 0));
        }
        let glide = if self.xfade.is_none() {
            ((target - self.delay) / n.max(1) as f64).clamp(-GLIDE_SLOPE, GLIDE_SLOPE)
        } else {
            0.0
        };
        self.feedback
            .set(ctx.params[0].clamp(0.0, 1.0) * MAX_FEEDBACK);
        self.cross.set(if ping_pong { 1.0 } else { 0.0 });
        // Tone: 0 → low-pass at 300 Hz, 0.5 → flat, 1 → high-pass at 3 kHz.
        let tone = ctx.params[1].clamp(0.0, 1.0) as f64;
        let lp_hz = if tone < 0.5 {
            300.0 * (20_000.0f64 / 300.0).powf(tone * 2.0)
        } else {
            20_000.0
        };
        let hp_hz = if tone > 0.5 {
            20.0 * (3_000.0f64 / 20.0).powf((tone - 0.5) * 2.0)
        } else {
            10.0
        };
        for f in &mut self.lp {
            f.set_lowpass(lp_hz, self.rate);
        }
        for f in &mut self.hp {
            f.set_lowpass(hp_hz, self.rate);
        }
        let len = self.buf.len();
        let mut peak = 0.0f32;
        for (x, a) in input.iter().zip(acc.iter_mut()) {
            let g = w.next();
            let r = match self.xfade {
                Some((to, k)) => {
                    let t = k as f32 / self.xfade_len as f32;
                    let (p, q) = (self.read(self.delay), self.read(to));
                    let k = k + 1;
                    self.xfade = if k >= self.xfade_len {
                        self.delay = to;
                        None
                    } else {
                        Some((to, k))
                    };
                    [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t]
                }
                None => {
                    self.delay += glide;
                    self.read(self.delay)
                }
            };
            let fb = self.feedback.next();
            let c = self.cross.next();
            let mut t = [0.0f32; 2];
            for ch in 0..2 {
                let lo = self.lp[ch].process(r[ch]);
                t[ch] = (lo - self.hp[ch].process(lo)) * fb;
            }
            let mono = 0.5 * (x[0] + x[1]) * g;
            let echo = [x[0] * g + t[0], x[1] * g + t[1]];
            let pong = [mono + t[1], t[0]];
            let v = [
                echo[0] + (pong[0] - echo[0]) * c,
                echo[1] + (pong[1] - echo[1]) * c,
            ];
            self.w = (self.w + 1) % len;
            self.buf[self.w] = [flush(v[0].clamp(-4.0, 4.0)), flush(v[1].clamp(-4.0, 4.0))];
            self.fresh = (self.fresh + 1).min(len);
            a[0] += r[0];
            a[1] += r[1];
            // Input still arriving counts as sound too (its echoes are on their way).
            peak = peak.max(r[0].abs()).max(r[1].abs()).max(mono.abs() * 2.0);
        }
        peak
    }
}
