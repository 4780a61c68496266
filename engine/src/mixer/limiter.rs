//! Master limiter: zero latency, stereo-linked, instant attack and smooth release, with a
//! ceiling of −1 dBFS that leaves headroom for inter-sample peaks. A final clamp and NaN
//! scrub guarantee the output never leaves [-1, 1] whatever reaches it.

/// −1 dBFS.
pub const CEILING: f32 = 0.891_250_9;
const RELEASE_SECS: f64 = 0.08;

pub(crate) struct Limiter {
    gain: f32,
    release: f32,
}

impl Limiter {
    pub fn new(rate: u32) -> Self {
        Self {
            gain: 1.0,
            // Per-sample recovery factor towards unity.
            release: (1.0 - (-1.0 / (RELEASE_SECS * rate as f64)).exp()) as f32,
        }
    }

    /// Limit one stereo frame.
    #[inline]
    pub fn process(&mut self, l: f32, r: f32) -> [f32; 2] {
        let l = if l.is_finite() { l } else { 0.0 };
        let r = if r.is_finite() { r } else { 0.0 };
        // Release towards unity, then cut at once if this frame would exceed the ceiling.
        self.gain += (1.0 - self.gain) * self.release;
        if self.gain > 0.999_999 {
            self.gain = 1.0;
        }
        let peak = l.abs().max(r.abs());
        if peak * self.gain > CEILING {
            self.gain = CEILING / peak;
        }
        [
            (l * self.gain).clamp(-1.0, 1.0),
            (r * self.gain).clamp(-1.0, 1.0),
        ]
    }

    /// Current gain reduction in dB (≤ 0).
    pub fn reduction_db(&self) -> f32 {
        20.0 * self.gain.log10()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_signals_pass_bit_exact() {
        let mut l = Limiter::new(48_000);
        for i in 0..1000 {
            let x = (i as f32 * 0.01).sin() * 0.5;
            assert_eq!(l.process(x, -x), [x, -x]);
        }
    }

    #[test]
    fn nan_and_infinity_become_silence_or_ceiling() {
        let mut l = Limiter::new(48_000);
        assert_eq!(l.process(f32::NAN, 0.0), [0.0, 0.0]);
        let out = l.process(f32::INFINITY, 1e30);
        assert!(out.iter().all(|s| s.abs() <= 1.0));
    }
}
