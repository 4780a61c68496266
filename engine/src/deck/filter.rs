//! The one-knob filter: centre = off, left = low-pass sweeping down, right = high-pass
//! sweeping up (12 dB/oct state-variable filter, mild resonance). Engaged only off-centre.

use crate::dsp::{Engage, Smoothed, Svf};

/// Knob positions closer to the centre than this are "off".
const DEAD_ZONE: f32 = 0.02;
const Q: f64 = 0.9;
/// Recompute coefficients every this many frames while the knob moves.
const COEFF_INTERVAL: usize = 16;

pub(crate) struct OneKnobFilter {
    svf: [Svf; 2],
    amount: Smoothed,
    engage: Engage,
    rate: f64,
    /// Frames since the coefficients were last computed ([`Self::tick`]).
    count: usize,
    /// High-pass (else low-pass) at the last coefficient update.
    high: bool,
}

/// Cutoff in Hz and "is high-pass" for a knob position outside the dead zone.
fn cutoff(amount: f32) -> (f64, bool) {
    let u = ((amount.abs() - DEAD_ZONE) / (1.0 - DEAD_ZONE)).clamp(0.0, 1.0) as f64;
    if amount < 0.0 {
        (18_000.0 * (50.0f64 / 18_000.0).powf(u), false)
    } else {
        (20.0 * (9_000.0f64 / 20.0).powf(u), true)
    }
}

impl OneKnobFilter {
    pub fn new(rate: f64) -> Self {
        Self {
            svf: [Svf::default(); 2],
            amount: Smoothed::new(0.0, (rate * 0.02) as u32),
            engage: Engage::new((rate * 0.01) as u32),
            rate,
            count: 0,
            high: false,
        }
    }

    /// Knob position in [-1, 1].
    pub fn set(&mut self, amount: f32) {
        self.amount.set(amount.clamp(-1.0, 1.0));
    }

    pub fn amount(&self) -> f32 {
        self.amount.target()
    }

    pub fn process(&mut self, buf: &mut [[f32; 2]]) {
        if !self.begin() {
            return;
        }
        for f in buf.iter_mut() {
            *f = self.tick(*f);
        }
    }

    /// Start a block: false when the filter is off (then [`Self::tick`] must not be called
    /// for this block and the signal passes untouched).
    pub fn begin(&mut self) -> bool {
        let on = self.amount.target().abs() > DEAD_ZONE || self.amount.value().abs() > DEAD_ZONE;
        self.engage.want(on);
        if !self.engage.active() {
            self.amount.reset(self.amount.target());
            return false;
        }
        if self.engage.starting() {
            self.svf.iter_mut().for_each(Svf::reset);
        }
        self.high = cutoff(self.amount.value()).1;
        self.count = 0;
        true
    }

    /// Filter one frame (after [`Self::begin`] said the filter is on).
    #[inline]
    pub fn tick(&mut self, mut f: [f32; 2]) -> [f32; 2] {
        let a = self.amount.next();
        if self.count % COEFF_INTERVAL == 0 {
            let (fc, hp) = cutoff(a);
            if hp != self.high {
                // Crossing the centre: start the other mode from rest.
                self.svf.iter_mut().for_each(Svf::reset);
            }
            self.high = hp;
            for s in &mut self.svf {
                s.set(fc, Q, self.rate);
            }
        }
        self.count += 1;
        let w = self.engage.next_weight();
        for (c, s) in f.iter_mut().zip(self.svf.iter_mut()) {
            let o = s.process(*c as f64);
            let wet = if self.high { o.high } else { o.low } as f32;
            *c += (wet - *c) * w;
        }
        f
    }
}
