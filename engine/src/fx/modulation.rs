//! Flanger and phaser: delay- and all-pass-based sweeps whose LFO is phase-locked to the
//! beat grid (one cycle every `beats` beats, triangle, the right channel a quarter cycle
//! behind for width).

use super::{flush, triangle, Ctx};
use crate::track::Frame;

/// Longest flanger delay: manual (knob 3) + depth (knob 1), seconds.
const FLANGER_MAX_SECS: f64 = 0.012;
const PHASER_STAGES: usize = 6;
/// Phaser coefficients are recomputed every this many frames.
const PHASER_STEP: usize = 16;

pub(crate) struct Flanger {
    buf: Vec<Frame>,
    w: usize,
    fb: [f32; 2],
    /// Frames since the restart: the comb fades in once the line holds real history.
    since: usize,
    rate: f64,
}

impl Flanger {
    pub fn new(rate: f64) -> Self {
        Self {
            buf: vec![[0.0; 2]; (rate * FLANGER_MAX_SECS) as usize + 4],
            w: 0,
            fb: [0.0; 2],
            since: 0,
            rate,
        }
    }

    pub fn restart(&mut self) {
        self.buf.fill([0.0; 2]);
        self.fb = [0.0; 2];
        self.since = 0;
    }

    /// The flanged signal (`0.5 · (dry + delayed)`, comb notches) into `out`. Knobs: depth,
    /// feedback, manual (shortest delay).
    pub fn render(&mut self, input: &[Frame], out: &mut [Frame], ctx: &Ctx) {
        let ms = self.rate / 1000.0;
        let depth = ctx.params[0].clamp(0.0, 1.0) as f64 * 8.0 * ms;
        let manual = (0.3 + ctx.params[2].clamp(0.0, 1.0) as f64 * 3.0) * ms;
        let feedback = ctx.params[1].clamp(0.0, 1.0) * 0.9;
        let len = self.buf.len();
        let max = (len - 3) as f64;
        let period = ctx.lfo_beats();
        for (j, (x, o)) in input.iter().zip(out.iter_mut()).enumerate() {
            let phase = ctx.clock.beat_at(j) / period;
            self.w = (self.w + 1) % len;
            // 0 while the line still holds the silence of a restart, then a ramp to 1.
            let comb = (self.since.saturating_sub(len) as f32 / len as f32).min(1.0);
            self.since = (self.since + 1).min(4 * len);
            for ch in 0..2 {
                let lfo = triangle(phase - 0.25 * ch as f64);
                let d = (manual + depth * lfo).clamp(1.0, max);
                let i = d.floor();
                let t = (d - i) as f32;
                let a = (self.w + len - i as usize) % len;
                let b = (a + len - 1) % len;
                let y = self.buf[a][ch] + (self.buf[b][ch] - self.buf[a][ch]) * t;
                self.fb[ch] = y;
                o[ch] = x[ch] + 0.5 * comb * (y - x[ch]);
            }
            // Written after reading: the newest sample is one frame old when read at d ≥ 1.
            for ((b, &v), &f) in self.buf[self.w].iter_mut().zip(x).zip(&self.fb) {
                *b = flush((v + f * feedback).clamp(-4.0, 4.0));
            }
        }
    }
}

pub(crate) struct Phaser {
    z: [[f32; PHASER_STAGES]; 2],
    fb: [f32; 2],
    rate: f64,
}

impl Phaser {
    pub fn new(rate: f64) -> Self {
        Self {
            z: [[0.0; PHASER_STAGES]; 2],
            fb: [0.0; 2],
            rate,
        }
    }

    pub fn restart(&mut self) {
        self.z = [[0.0; PHASER_STAGES]; 2];
        self.fb = [0.0; 2];
    }

    /// The phased signal (`0.5 · (dry + all-passed)`) into `out`. Knobs: depth (sweep
    /// range), feedback (resonance), centre frequency.
    pub fn render(&mut self, input: &[Frame], out: &mut [Frame], ctx: &Ctx) {
        let octaves = 0.5 + ctx.params[0].clamp(0.0, 1.0) as f64 * 5.0;
        let base = 100.0 * 2f64.powf(ctx.params[2].clamp(0.0, 1.0) as f64 * 4.0);
        let feedback = ctx.params[1].clamp(0.0, 1.0) * 0.85;
        let period = ctx.lfo_beats();
        let mut coef = [0.0f32; 2];
        for (j, (x, o)) in input.iter().zip(out.iter_mut()).enumerate() {
            if j % PHASER_STEP == 0 {
                let phase = ctx.clock.beat_at(j) / period;
                for (ch, c) in coef.iter_mut().enumerate() {
                    let f = (base * 2f64.powf(octaves * triangle(phase - 0.25 * ch as f64)))
                        .min(0.45 * self.rate);
                    let t = (std::f64::consts::PI * f / self.rate).tan();
                    *c = ((t - 1.0) / (t + 1.0)) as f32;
                }
            }
            for ch in 0..2 {
                let a = coef[ch];
                let mut v = x[ch] + self.fb[ch] * feedback;
                for z in &mut self.z[ch] {
                    // First-order all-pass, transposed direct form.
                    let y = a * v + *z;
                    *z = flush(v - a * y);
                    v = y;
                }
                self.fb[ch] = v.clamp(-4.0, 4.0);
                o[ch] = 0.5 * (x[ch] + v);
            }
        }
    }
}
