//! Beat-locked insert effects: the gate (trans) and the filter sweep. Both read the unit's
//! clock, so they follow the grid's phase, not the time the effect was switched on.

use super::{flush, triangle, Ctx};
use crate::dsp::Svf;
use crate::track::Frame;

/// Gate edges: a one-pole ramp of this time constant (no clicks, still a hard chop).
const GATE_EDGE_SECS: f64 = 0.001;
/// Sweep coefficients are recomputed every this many frames.
const SWEEP_STEP: usize = 16;

pub(crate) struct Gate {
    gain: f32,
    edge: f32,
}

impl Gate {
    pub fn new(rate: f64) -> Self {
        Self {
            gain: 1.0,
            edge: (1.0 - (-1.0 / (GATE_EDGE_SECS * rate)).exp()) as f32,
        }
    }

    pub fn restart(&mut self) {
        self.gain = 1.0;
    }

    /// Whether the gate is open at `beat` for a period of `period` beats, open for the
    /// first `duty` of each period.
    #[inline]
    pub fn open(beat: f64, period: f64, duty: f64) -> bool {
        (beat / period).rem_euclid(1.0) < duty
    }

    /// Gated signal into `out`: open for the first part (knob 1: 10…90 %, 0.5 = half) of
    /// every `beats`, closed to `1 - depth` (knob 2) for the rest. Knob 3 unused.
    pub fn render(&mut self, input: &[Frame], out: &mut [Frame], ctx: &Ctx) {
        let duty = 0.1 + 0.8 * ctx.params[0].clamp(0.0, 1.0) as f64;
        let closed = 1.0 - ctx.params[1].clamp(0.0, 1.0);
        let period = ctx.beats as f64;
        for (j, (x, o)) in input.iter().zip(out.iter_mut()).enumerate() {
            let target = if Self::open(ctx.clock.beat_at(j), period, duty) {
                1.0
            } else {
                closed
            };
            self.gain += (target - self.gain) * self.edge;
            o[0] = x[0] * self.gain;
            o[1] = x[1] * self.gain;
        }
        self.gain = flush(self.gain);
    }
}

pub(crate) struct Sweep {
    svf: [Svf; 2],
    rate: f64,
}

impl Sweep {
    pub fn new(rate: f64) -> Self {
        Self {
            svf: [Svf::default(); 2],
            rate,
        }
    }

    pub fn restart(&mut self) {
        for s in &mut self.svf {
            s.reset();
        }
    }

    /// Filter whose cutoff sweeps up and down once every `beats` beats (triangle, locked to
    /// the grid). Knobs: range (0 narrow … 1 from 80 Hz to 16 kHz), resonance, mode
    /// (below 0.5 low-pass, above high-pass).
    pub fn render(&mut self, input: &[Frame], out: &mut [Frame], ctx: &Ctx) {
        let range = 0.2 + 0.8 * ctx.params[0].clamp(0.0, 1.0) as f64;
        let q = 0.7 + 7.0 * ctx.params[1].clamp(0.0, 1.0) as f64;
        let high = ctx.params[2] >= 0.5;
        let period = ctx.lfo_beats();
        // Log sweep around 1.1 kHz: `range` 1 spans 80 Hz … 16 kHz.
        let (lo, hi) = (80f64.ln(), 16_000f64.ln());
        let mid = 0.5 * (lo + hi);
        let half = 0.5 * (hi - lo) * range;
        for (j, (x, o)) in input.iter().zip(out.iter_mut()).enumerate() {
            if j % SWEEP_STEP == 0 {
                let lfo = triangle(ctx.clock.beat_at(j) / period);
                // The low-pass opens as the LFO rises; the high-pass closes.
                let l = if high { 1.0 - lfo } else { lfo };
                let hz = (mid - half + 2.0 * half * l).exp();
                for s in &mut self.svf {
                    s.set(hz, q, self.rate);
                }
            }
            for ch in 0..2 {
                let y = self.svf[ch].process(x[ch] as f64);
                o[ch] = if high { y.high } else { y.low } as f32;
            }
        }
        for s in &mut self.svf {
            s.flush();
        }
    }
}
