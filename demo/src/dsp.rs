//! Deterministic building blocks for the demo synthesiser.
//!
//! Everything here uses only IEEE-754 basic arithmetic (`+ - * /`, `sqrt`, `floor`, `round`
//! and conversions), which every conforming machine computes bit for bit the same. The
//! platform's `sin`/`exp` (libm) are deliberately not used: their last bit differs between
//! C libraries, and the demo audio must be the same bytes everywhere.

/// `sin(2π·x)` for any finite `x` (in turns), accurate to about 1e-9.
pub fn sin_turns(x: f64) -> f64 {
    // Reduce to [-0.5, 0.5], then fold onto [-0.25, 0.25] (|angle| <= π/2).
    let mut t = x - x.round();
    if t > 0.25 {
        t = 0.5 - t;
    } else if t < -0.25 {
        t = -0.5 - t;
    }
    let y = std::f64::consts::TAU * t;
    let y2 = y * y;
    // Taylor series to y^15 (truncation error < 1e-10 on [-π/2, π/2]).
    let p = 1.0 / 1_307_674_368_000.0;
    let p = p * -y2 + 1.0 / 6_227_020_800.0;
    let p = p * y2 - 1.0 / 39_916_800.0;
    let p = p * y2 + 1.0 / 362_880.0;
    let p = p * y2 - 1.0 / 5_040.0;
    let p = p * y2 + 1.0 / 120.0;
    let p = p * y2 - 1.0 / 6.0;
    y + y * y2 * p
}

/// `cos(2π·x)` for `x` in turns.
pub fn cos_turns(x: f64) -> f64 {
    sin_turns(x + 0.25)
}

/// `e^x`, correct to a few ulps; clamps to 0 below -700 and to `e^700` above.
pub fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let k = (x * std::f64::consts::LOG2_E).round();
    // Two-part ln 2 keeps the reduction exact enough.
    // fdlibm's split of ln 2: the high part has trailing zero bits, so k·LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r for |r| <= ln2/2, Horner form.
    let mut p = 1.0 / 6_227_020_800.0;
    for d in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
        1.0,
    ] {
        p = p * r + 1.0 / d;
    }
    p * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// Frequency in Hz of a (fractional) MIDI note number, A4 = 69 = 440 Hz.
pub fn midi_hz(note: f64) -> f64 {
    440.0 * exp((note - 69.0) / 12.0 * std::f64::consts::LN_2)
}

/// Per-sample multiplier of an exponential decay with time constant `tau` seconds.
pub fn decay(tau: f64, sample_rate: f64) -> f64 {
    exp(-1.0 / (tau * sample_rate))
}

/// A small, fast, deterministic PRNG (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one independent stream of a seed (the stream keeps e.g. the hats'
    /// noise from shifting when the melody draws one more number).
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn bipolar(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

/// FNV-1a hash of a string: a stable default seed from a track name.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Transposed direct form II biquad (RBJ cookbook coefficients).
#[derive(Debug, Clone, Copy)]
pub struct Biquad {
    b0: f64,
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
    z1: f64,
    z2: f64,
}

impl Biquad {
    fn from_rbj(b: [f64; 3], a: [f64; 3]) -> Biquad {
        Biquad {
            b0: b[0] / a[0],
            b1: b[1] / a[0],
            b2: b[2] / a[0],
            a1: a[1] / a[0],
            a2: a[2] / a[0],
            z1: 0.0,
            z2: 0.0,
        }
    }

    /// `(cos w0, alpha)` with the centre kept below Nyquist.
    fn prewarp(freq: f64, q: f64, sample_rate: f64) -> (f64, f64) {
        let turns = (freq / sample_rate).clamp(1e-5, 0.45);
        (cos_turns(turns), sin_turns(turns) / (2.0 * q))
    }

    /// Band-pass with 0 dB peak gain at `freq`.
    pub fn bandpass(freq: f64, q: f64, sample_rate: f64) -> Biquad {
        let (c, alpha) = Self::prewarp(freq, q, sample_rate);
        Self::from_rbj([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// High-pass.
    pub fn highpass(freq: f64, q: f64, sample_rate: f64) -> Biquad {
        let (c, alpha) = Self::prewarp(freq, q, sample_rate);
        let k = (1.0 + c) / 2.0;
        Self::from_rbj([k, -(1.0 + c), k], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// Low-pass.
    pub fn lowpass(freq: f64, q: f64, sample_rate: f64) -> Biquad {
        let (c, alpha) = Self::prewarp(freq, q, sample_rate);
        let k = (1.0 - c) / 2.0;
        Self::from_rbj([k, 1.0 - c, k], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// Replace the coefficients, keeping the state (for swept filters).
    pub fn retune(&mut self, other: Biquad) {
        let (z1, z2) = (self.z1, self.z2);
        *self = other;
        self.z1 = z1;
        self.z2 = z2;
    }

    /// Filter one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let y = self.b0 * x + self.z1;
        self.z1 = self.b1 * x - self.a1 * y + self.z2;
        self.z2 = self.b2 * x - self.a2 * y;
        y
    }
}

/// Band-limited sawtooth in [-1, 1] (PolyBLEP) at `phase` in [0, 1) advancing `inc` per
/// sample.
#[inline]
pub fn saw(phase: f64, inc: f64) -> f64 {
    let mut v = 2.0 * phase - 1.0;
    if phase < inc {
        let t = phase / inc;
        v -= t + t - t * t - 1.0;
    } else if phase > 1.0 - inc {
        let t = (phase - 1.0) / inc;
        v -= t * t + t + t + 1.0;
    }
    v
}

/// Advance a phase in [0, 1) by `inc` (< 1).
#[inline]
pub fn advance(phase: &mut f64, inc: f64) {
    *phase += inc;
    if *phase >= 1.0 {
        *phase -= 1.0;
    }
}

/// A single-cycle wavetable of a few harmonics, read with linear interpolation.
#[derive(Debug, Clone)]
pub struct Wavetable {
    table: Vec<f64>,
}

const TABLE_SIZE: usize = 2048;

impl Wavetable {
    /// Sum of sine harmonics `amps[k]·sin(2π(k+1)x)`.
    pub fn harmonics(amps: &[f64]) -> Wavetable {
        let table = (0..=TABLE_SIZE)
            .map(|i| {
                let x = i as f64 / TABLE_SIZE as f64;
                amps.iter()
                    .enumerate()
                    .map(|(k, a)| a * sin_turns((k + 1) as f64 * x))
                    .sum()
            })
            .collect();
        Wavetable { table }
    }

    /// Value at `phase` in [0, 1).
    #[inline]
    pub fn at(&self, phase: f64) -> f64 {
        let pos = phase * TABLE_SIZE as f64;
        let i = (pos as usize).min(TABLE_SIZE - 1);
        let frac = pos - i as f64;
        let a = self.table[i];
        a + (self.table[i + 1] - a) * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_matches_the_library_sine() {
        for i in -2000..2000 {
            let x = i as f64 * 0.001_37;
            let want = (std::f64::consts::TAU * x).sin();
            assert!((sin_turns(x) - want).abs() < 1e-9, "sin at {x}");
            let want = (std::f64::consts::TAU * x).cos();
            assert!((cos_turns(x) - want).abs() < 1e-9, "cos at {x}");
        }
    }

    #[test]
    fn exp_matches_the_library_exp() {
        for i in -3000..3000 {
            let x = i as f64 * 0.0173;
            let want = x.exp();
            assert!(((exp(x) - want) / want).abs() < 1e-14, "exp({x})");
        }
        assert_eq!(exp(-1e9), exp(-700.0));
        assert!((midi_hz(69.0) - 440.0).abs() < 1e-12);
        assert!((midi_hz(60.0) - 261.625_565_300_6).abs() < 1e-9);
    }

    #[test]
    fn rng_streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(7, 1).next_u64(), Rng::new(7, 2).next_u64());
        let mut r = Rng::new(1, 0);
        let mean = (0..10_000).map(|_| r.bipolar()).sum::<f64>() / 10_000.0;
        assert!(mean.abs() < 0.03);
        assert!((0..1000).all(|_| r.below(5) < 5));
    }

    #[test]
    fn bandpass_passes_its_centre_and_rejects_far_frequencies() {
        let sr = 44_100.0;
        let gain = |f: f64| {
            let mut bp = Biquad::bandpass(1000.0, 5.0, sr);
            let mut phase = 0.0;
            let mut peak: f64 = 0.0;
            for n in 0..20_000 {
                let y = bp.process(sin_turns(phase));
                advance(&mut phase, f / sr);
                if n > 10_000 {
                    peak = peak.max(y.abs());
                }
            }
            peak
        };
        assert!((gain(1000.0) - 1.0).abs() < 0.02);
        assert!(gain(100.0) < 0.05);
        assert!(gain(8000.0) < 0.05);
    }
}
