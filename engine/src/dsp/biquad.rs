//! Biquad sections (RBJ cookbook, transposed direct form II, f64 state) and a
//! topology-preserving state-variable filter for modulated cutoffs.

use std::f64::consts::PI;

/// One second-order IIR section.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Biquad {
    b0: f64,
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
    z1: f64,
    z2: f64,
}

impl Biquad {
    fn from_raw(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Self {
            b0: b0 / a0,
            b1: b1 / a0,
            b2: b2 / a0,
            a1: a1 / a0,
            a2: a2 / a0,
            z1: 0.0,
            z2: 0.0,
        }
    }

    fn w0(freq: f64, rate: f64, q: f64) -> (f64, f64) {
        let w0 = 2.0 * PI * (freq / rate).clamp(1e-6, 0.49);
        (w0.cos(), w0.sin() / (2.0 * q))
    }

    /// Second-order low-pass.
    pub fn lowpass(freq: f64, rate: f64, q: f64) -> Self {
        let (c, alpha) = Self::w0(freq, rate, q);
        Self::from_raw(
            (1.0 - c) / 2.0,
            1.0 - c,
            (1.0 - c) / 2.0,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        )
    }

    /// Second-order high-pass.
    pub fn highpass(freq: f64, rate: f64, q: f64) -> Self {
        let (c, alpha) = Self::w0(freq, rate, q);
        Self::from_raw(
            (1.0 + c) / 2.0,
            -(1.0 + c),
            (1.0 + c) / 2.0,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        )
    }

    /// Second-order all-pass.
    pub fn allpass(freq: f64, rate: f64, q: f64) -> Self {
        let (c, alpha) = Self::w0(freq, rate, q);
        Self::from_raw(
            1.0 - alpha,
            -2.0 * c,
            1.0 + alpha,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        )
    }

    /// Filter one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let y = self.b0 * x + self.z1;
        self.z1 = self.b1 * x - self.a1 * y + self.z2;
        self.z2 = self.b2 * x - self.a2 * y;
        y
    }

    /// Forget the signal history.
    pub fn reset(&mut self) {
        self.z1 = 0.0;
        self.z2 = 0.0;
    }
}

/// A 2-pole state-variable filter (Zavalishin/Simper TPT form): stable and click-free under
/// per-sample cutoff changes, which the one-knob filter needs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Svf {
    g: f64,
    k: f64,
    a1: f64,
    a2: f64,
    a3: f64,
    ic1: f64,
    ic2: f64,
}

/// The two outputs of one [`Svf`] step.
pub(crate) struct SvfOut {
    pub low: f64,
    pub high: f64,
}

impl Svf {
    /// Set the cutoff (Hz) and resonance (Q) for the given sample rate.
    pub fn set(&mut self, freq: f64, q: f64, rate: f64) {
        self.g = (PI * (freq / rate).clamp(1e-6, 0.49)).tan();
        self.k = 1.0 / q;
        self.a1 = 1.0 / (1.0 + self.g * (self.g + self.k));
        self.a2 = self.g * self.a1;
        self.a3 = self.g * self.a2;
    }

    /// Filter one sample.
    #[inline]
    pub fn process(&mut self, v0: f64) -> SvfOut {
        let v3 = v0 - self.ic2;
        let v1 = self.a1 * self.ic1 + self.a2 * v3;
        let v2 = self.ic2 + self.a2 * self.ic1 + self.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        SvfOut {
            low: v2,
            high: v0 - self.k * v1 - v2,
        }
    }

    /// Forget the signal history.
    pub fn reset(&mut self) {
        self.ic1 = 0.0;
        self.ic2 = 0.0;
    }

    /// Zero a state that has decayed to nothing (no denormals after long silence).
    pub fn flush(&mut self) {
        if self.ic1.abs() < 1e-30 {
            self.ic1 = 0.0;
        }
        if self.ic2.abs() < 1e-30 {
            self.ic2 = 0.0;
        }
    }
}
