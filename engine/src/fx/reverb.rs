//! Reverb: an 8-line feedback delay network (Jot/Stautner–Puckette): a pre-delay, two
//! series all-pass diffusers per channel, eight mutually prime delay lines (29–56 ms at any
//! rate) mixed by a fast Walsh–Hadamard transform (lossless, so the decay is set by the
//! per-line gains alone), each line's gain set from the decay time (RT60) and a one-pole
//! damping filter in the loop (high frequencies die first, as in a room).

use super::{flush, Ctx, OnePole};
use crate::dsp::Smoothed;
use crate::track::Frame;

/// Line lengths at 48 kHz (scaled to the engine rate).
const LINES_48K: [usize; 8] = [1399, 1601, 1787, 1949, 2129, 2297, 2467, 2693];
/// Diffuser lengths at 48 kHz, left and right.
const DIFFUSERS_48K: [[usize; 2]; 2] = [[223, 379], [241, 409]];
const DIFFUSION: f32 = 0.6;
/// Longest pre-delay (knob 3 at 1).
const MAX_PREDELAY_SECS: f64 = 0.1;

/// A fixed delay line read and written at one index.
struct Line {
    buf: Vec<f32>,
    i: usize,
}

impl Line {
    fn new(len: usize) -> Self {
        Self {
            buf: vec![0.0; len.max(1)],
            i: 0,
        }
    }
    #[inline]
    fn out(&self) -> f32 {
        self.buf[self.i]
    }
    #[inline]
    fn push(&mut self, v: f32) {
        self.buf[self.i] = flush(v);
        self.i += 1;
        if self.i == self.buf.len() {
            self.i = 0;
        }
    }
    fn clear(&mut self) {
        self.buf.fill(0.0);
        self.i = 0;
    }
}

/// Schroeder all-pass diffuser.
#[inline]
fn allpass(line: &mut Line, x: f32) -> f32 {
    let d = line.out();
    let v = x + DIFFUSION * d;
    line.push(v);
    d - DIFFUSION * v
}

pub(crate) struct Reverb {
    lines: [Line; 8],
    damp: [OnePole; 8],
    gains: [f32; 8],
    diffusers: [[Line; 2]; 2],
    pre: [Line; 2],
    pre_len: usize,
    pre_max: usize,
    rate: f64,
    /// Settings the gains were computed for (decay, damping).
    for_params: (f32, f32),
}

impl Reverb {
    pub fn new(rate: f64) -> Self {
        let s = |n: usize| ((n as f64 * rate / 48_000.0).round() as usize).max(1);
        let pre_max = (rate * MAX_PREDELAY_SECS) as usize + 1;
        Self {
            lines: LINES_48K.map(|n| Line::new(s(n))),
            damp: [OnePole::default(); 8],
            gains: [0.0; 8],
            diffusers: DIFFUSERS_48K.map(|p| p.map(|n| Line::new(s(n)))),
            pre: [Line::new(pre_max), Line::new(pre_max)],
            pre_len: pre_max,
            pre_max,
            rate,
            for_params: (f32::NAN, f32::NAN),
        }
    }

    pub fn restart(&mut self) {
        for l in self.lines.iter_mut().chain(self.pre.iter_mut()) {
            l.clear();
        }
        for l in self.diffusers.iter_mut().flatten() {
            l.clear();
        }
        self.damp = [OnePole::default(); 8];
    }

    pub fn memory(&self) -> usize {
        self.pre_len + 4 * self.lines[7].buf.len()
    }

    /// Decay time (s) for knob 1: 0.3 s … 12 s, 0.5 → 1.9 s.
    pub fn rt60(knob: f32) -> f64 {
        0.3 * 40f64.powf(knob.clamp(0.0, 1.0) as f64)
    }

    fn configure(&mut self, decay: f32, damping: f32, predelay: f32) {
        let len = ((predelay.clamp(0.0, 1.0) as f64 * (self.pre_max - 1) as f64) as usize).max(1);
        if len != self.pre_len {
            // Resizing the pre-delay is done by restarting its index range (short click-free
            // because it only changes when the knob moves; the level ramps hide it).
            self.pre_len = len;
            for p in &mut self.pre {
                p.i %= len;
            }
        }
        if self.for_params == (decay, damping) {
            return;
        }
        self.for_params = (decay, damping);
        let rt = Self::rt60(decay);
        // Damping: loop low-pass from 18 kHz (0) down to 1.5 kHz (1).
        let hz = 18_000.0 * (1_500.0f64 / 18_000.0).powf(damping.clamp(0.0, 1.0) as f64);
        for (k, l) in self.lines.iter().enumerate() {
            self.gains[k] = 10f64.powf(-3.0 * l.buf.len() as f64 / (rt * self.rate)) as f32;
            self.damp[k].set_lowpass(hz, self.rate);
        }
    }

    /// Add the reverb of `w`-weighted `input` to `acc`. Knobs: decay, damping, pre-delay.
    pub fn render(
        &mut self,
        input: &[Frame],
        acc: &mut [Frame],
        w: &mut Smoothed,
        ctx: &Ctx,
    ) -> f32 {
        self.configure(ctx.params[0], ctx.params[1], ctx.params[2]);
        let mut peak = 0.0f32;
        let pre_len = self.pre_len;
        for (x, a) in input.iter().zip(acc.iter_mut()) {
            let g = w.next();
            let mut d = [0.0f32; 2];
            for ch in 0..2 {
                // Pre-delay over the first `pre_len` frames of the line.
                let p = &mut self.pre[ch];
                let out = p.buf[p.i];
                p.buf[p.i] = x[ch] * g;
                p.i += 1;
                if p.i >= pre_len {
                    p.i = 0;
                }
                let v = allpass(&mut self.diffusers[ch][0], out);
                d[ch] = allpass(&mut self.diffusers[ch][1], v);
            }
            let mut s = [0.0f32; 8];
            for (k, l) in self.lines.iter().enumerate() {
                s[k] = self.damp[k].process(l.out()) * self.gains[k];
            }
            let (ol, or) = (
                s[0] - s[2] + s[4] - s[6] + s[1] * 0.5 - s[5] * 0.5,
                s[1] - s[3] + s[5] - s[7] + s[2] * 0.5 - s[6] * 0.5,
            );
            hadamard8(&mut s);
            for (k, l) in self.lines.iter_mut().enumerate() {
                let inj = if k % 2 == 0 { d[0] } else { d[1] };
                let sign = if k & 2 == 0 { 1.0 } else { -1.0 };
                l.push(s[k] + inj * sign);
            }
            let out = [ol * 0.35, or * 0.35];
            a[0] += out[0];
            a[1] += out[1];
            peak = peak
                .max(out[0].abs())
                .max(out[1].abs())
                .max((x[0] * g).abs())
                .max((x[1] * g).abs());
        }
        peak
    }
}

/// In-place 8-point Walsh–Hadamard transform, scaled to be orthonormal.
#[inline]
fn hadamard8(s: &mut [f32; 8]) {
    let mut h = 1;
    while h < 8 {
        let mut i = 0;
        while i < 8 {
            for j in i..i + h {
                let (a, b) = (s[j], s[j + h]);
                s[j] = a + b;
                s[j + h] = a - b;
            }
            i += 2 * h;
        }
        h *= 2;
    }
    let k = 1.0 / 8f32.sqrt();
    for v in s.iter_mut() {
        *v *= k;
    }
}
