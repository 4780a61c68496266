//! Short-time Fourier transform pieces shared by the DSP separator: a periodic sqrt-Hann
//! window used for analysis and synthesis at a hop of a quarter frame (the two windows'
//! product, Hann, overlap-adds to exactly 2), forward and inverse real FFTs with their
//! scratch buffers allocated once.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// FFT plans and buffers for one frame size.
pub struct Stft {
    /// Frame length in samples (a power of two).
    pub n: usize,
    /// Hop in samples (`n / 4`).
    pub hop: usize,
    window: Vec<f32>,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
    time: Vec<f32>,
    scratch_fwd: Vec<Complex32>,
    scratch_inv: Vec<Complex32>,
}

impl Stft {
    /// Plans for frames of `n` samples (`n` a power of two, at least 16).
    pub fn new(n: usize) -> Stft {
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        let window = (0..n)
            .map(|i| {
                let hann = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
                hann.sqrt() as f32
            })
            .collect();
        Stft {
            n,
            hop: n / 4,
            window,
            time: vec![0.0; n],
            scratch_fwd: fwd.make_scratch_vec(),
            scratch_inv: inv.make_scratch_vec(),
            fwd,
            inv,
        }
    }

    /// Number of bins (`n / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.n / 2 + 1
    }

    /// The spectrum of channel `ch` of the windowed frame of `signal` starting at sample
    /// `start` (may be negative or run past the end: zeros there) into `out`.
    pub fn forward(&mut self, signal: &[[f32; 2]], ch: usize, start: isize, out: &mut [Complex32]) {
        for (i, (t, w)) in self.time.iter_mut().zip(&self.window).enumerate() {
            let j = start + i as isize;
            *t = if j >= 0 && (j as usize) < signal.len() {
                signal[j as usize][ch] * w
            } else {
                0.0
            };
        }
        // The lengths match the plan, so this cannot fail.
        let _ = self
            .fwd
            .process_with_scratch(&mut self.time, out, &mut self.scratch_fwd);
    }

    /// Inverse of `spec` (destroyed), windowed and scaled for overlap-add at this hop, added
    /// into channel `ch` of `out` from sample `start` (samples outside `out` are dropped).
    /// Channel 2 means both channels.
    pub fn inverse_add(
        &mut self,
        spec: &mut [Complex32],
        out: &mut [[f32; 2]],
        ch: usize,
        start: isize,
    ) {
        let last = spec.len() - 1;
        spec[0].im = 0.0;
        spec[last].im = 0.0;
        if self
            .inv
            .process_with_scratch(spec, &mut self.time, &mut self.scratch_inv)
            .is_err()
        {
            return;
        }
        // realfft's inverse is unnormalised (× n); the Hann overlap sums to 2.
        let scale = 1.0 / (2.0 * self.n as f32);
        let lo = (-start).max(0) as usize;
        let hi = ((out.len() as isize - start).max(0) as usize).min(self.n);
        for i in lo..hi {
            let y = self.time[i] * self.window[i] * scale;
            let f = &mut out[(start + i as isize) as usize];
            if ch == 2 {
                f[0] += y;
                f[1] += y;
            } else {
                f[ch] += y;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_then_synthesis_reconstructs_the_signal() {
        let mut stft = Stft::new(256);
        let x: Vec<[f32; 2]> = (0..2000)
            .map(|i| {
                let t = i as f32;
                [(t * 0.03).sin() * 0.5, (t * 0.11).cos() * 0.3]
            })
            .collect();
        let mut y = vec![[0.0f32; 2]; x.len()];
        let mut spec = vec![Complex32::default(); stft.bins()];
        let frames = (x.len() + stft.n) / stft.hop + 1;
        for t in 0..frames {
            let start = (t * stft.hop) as isize - (stft.n - stft.hop) as isize;
            for ch in 0..2 {
                stft.forward(&x, ch, start, &mut spec);
                stft.inverse_add(&mut spec, &mut y, ch, start);
            }
        }
        let err = x
            .iter()
            .zip(&y)
            .flat_map(|(a, b)| [(a[0] - b[0]).abs(), (a[1] - b[1]).abs()])
            .fold(0.0f32, f32::max);
        assert!(err < 1e-5, "max error {err}");
    }
}
