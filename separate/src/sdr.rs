//! BSS Eval v3 source-to-distortion ratio (Vincent, Gribonval, Févotte 2006; the
//! `bss_eval_sources` of `mir_eval.separation`).
//!
//! For a true source `s` and its estimate `ŝ`, the target part of `ŝ` is its least-squares
//! projection onto `s` delayed by 0..L−1 samples (L = `filter_len`, 512 in mir_eval: a
//! time-invariant filter of the source is allowed, not penalised); everything else
//! (interference, artefacts) is distortion:
//!
//! `SDR = 10·log10(‖P_s ŝ‖² / ‖ŝ − P_s ŝ‖²)`.
//!
//! `‖P_s ŝ‖² = dᵀ G⁻¹ d` with `G` the (Toeplitz) Gram matrix of the delayed sources, i.e. the
//! autocorrelation of `s` at lags 0..L−1, and `d` the cross-correlation of `s` with `ŝ`
//! at those lags, both computed by FFT in f64, the same algebra as mir_eval's `_project`.
//! For stereo, [`sdr`] projects each channel onto its own true channel and pools the
//! energies over both channels (one SDR per stem and track).

use realfft::num_complex::Complex64;
use realfft::RealFftPlanner;

use crate::Frame;

/// The distortion filter length of BSS Eval v3 (mir_eval's default), in samples.
pub const DEFAULT_FILTER_LEN: usize = 512;

/// BSS Eval v3 SDR (dB) of the stereo `estimate` of `reference` with a distortion filter of
/// `filter_len` taps, energies pooled over both channels. `None` when the reference is
/// silent (SDR undefined) or the lengths differ. An estimate equal to the reference gives a
/// very large value (clamped to 300 dB).
pub fn sdr(reference: &[Frame], estimate: &[Frame], filter_len: usize) -> Option<f64> {
    if reference.len() != estimate.len() {
        return None;
    }
    let (mut target, mut distortion) = (0.0, 0.0);
    for c in 0..2 {
        let s: Vec<f64> = reference.iter().map(|f| f64::from(f[c])).collect();
        let e: Vec<f64> = estimate.iter().map(|f| f64::from(f[c])).collect();
        if let Some((t, d)) = decompose(&s, &e, filter_len) {
            target += t;
            distortion += d;
        }
    }
    ratio_db(target, distortion)
}

/// BSS Eval v3 SDR (dB) of a mono `estimate` of `reference` (what mir_eval's
/// `bss_eval_sources` reports for one source). `None` as for [`sdr`].
pub fn sdr_mono(reference: &[f64], estimate: &[f64], filter_len: usize) -> Option<f64> {
    if reference.len() != estimate.len() {
        return None;
    }
    let (t, d) = decompose(reference, estimate, filter_len)?;
    ratio_db(t, d)
}

fn ratio_db(target: f64, distortion: f64) -> Option<f64> {
    if target <= 0.0 || !target.is_finite() {
        return None;
    }
    let d = distortion.max(target * 1e-30);
    Some((10.0 * (target / d).log10()).min(300.0))
}

/// (‖P_s ŝ‖², ‖ŝ − P_s ŝ‖²), or `None` for a silent reference.
fn decompose(s: &[f64], e: &[f64], filter_len: usize) -> Option<(f64, f64)> {
    let n = s.len();
    let l = filter_len.clamp(1, n.max(1));
    let energy_s: f64 = s.iter().map(|x| x * x).sum();
    if n == 0 || energy_s <= 0.0 {
        return None;
    }
    let energy_e: f64 = e.iter().map(|x| x * x).sum();
    let size = (n + l).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(size);
    let inv = planner.plan_fft_inverse(size);
    let spectrum = |x: &[f64]| {
        let mut buf = vec![0.0; size];
        buf[..x.len()].copy_from_slice(x);
        let mut out = fwd.make_output_vec();
        let _ = fwd.process(&mut buf, &mut out);
        out
    };
    let sf = spectrum(s);
    let ef = spectrum(e);
    // corr(a, b)[k] = Σ_m a[m] b[m + k] = IFFT(conj(A)·B)[k].
    let corr = |a: &[Complex64], b: &[Complex64]| {
        let mut prod: Vec<Complex64> = a.iter().zip(b).map(|(x, y)| x.conj() * y).collect();
        let last = prod.len() - 1;
        prod[0].im = 0.0;
        prod[last].im = 0.0;
        let mut out = vec![0.0; size];
        let _ = inv.process(&mut prod, &mut out);
        out.truncate(l);
        out.iter_mut().for_each(|x| *x /= size as f64);
        out
    };
    let r = corr(&sf, &sf);
    let d = corr(&sf, &ef);
    let c = solve_toeplitz(&r, &d)?;
    let target: f64 = c
        .iter()
        .zip(&d)
        .map(|(a, b)| a * b)
        .sum::<f64>()
        .clamp(0.0, energy_e);
    Some((target, (energy_e - target).max(0.0)))
}

/// Solve `T x = b` for the symmetric positive semi-definite Toeplitz `T` with first row
/// `r` (Cholesky, with a tiny diagonal loading so a rank-deficient source still solves).
fn solve_toeplitz(r: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let l = r.len();
    let load = r[0] * 1e-10 + 1e-300;
    let mut a = vec![0.0; l * l];
    for i in 0..l {
        for j in 0..l {
            a[i * l + j] = r[i.abs_diff(j)] + if i == j { load } else { 0.0 };
        }
    }
    // In-place Cholesky: A = L Lᵀ (lower triangle).
    for j in 0..l {
        let mut diag = a[j * l + j];
        for k in 0..j {
            diag -= a[j * l + k] * a[j * l + k];
        }
        if diag <= 0.0 || !diag.is_finite() {
            return None;
        }
        let djj = diag.sqrt();
        a[j * l + j] = djj;
        for i in j + 1..l {
            let mut v = a[i * l + j];
            for k in 0..j {
                v -= a[i * l + k] * a[j * l + k];
            }
            a[i * l + j] = v / djj;
        }
    }
    let mut y = b.to_vec();
    for i in 0..l {
        for k in 0..i {
            y[i] -= a[i * l + k] * y[k];
        }
        y[i] /= a[i * l + i];
    }
    for i in (0..l).rev() {
        for k in i + 1..l {
            y[i] -= a[k * l + i] * y[k];
        }
        y[i] /= a[i * l + i];
    }
    Some(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(seed: u64, n: usize) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn a_scaled_and_delayed_source_is_all_target() {
        let s = noise(1, 4000);
        let mut e = vec![0.0; 4000];
        for i in 3..4000 {
            e[i] = 0.5 * s[i - 3];
        }
        // Only the last three samples of the delayed copy are lost: ≈ 10·log10(4000 / 3).
        let v = sdr_mono(&s, &e, 8).unwrap();
        assert!(v > 25.0, "{v}");
    }

    #[test]
    fn added_independent_noise_gives_the_signal_to_noise_ratio() {
        let s = noise(2, 20_000);
        let n = noise(3, 20_000);
        for snr_db in [-5.0, 0.0, 10.0] {
            let g = 10f64.powf(-snr_db / 20.0);
            let e: Vec<f64> = s.iter().zip(&n).map(|(a, b)| a + g * b).collect();
            let v = sdr_mono(&s, &e, 32).unwrap();
            assert!((v - snr_db).abs() < 0.3, "want {snr_db}, got {v}");
        }
    }

    #[test]
    fn silent_reference_or_mismatched_lengths_have_no_sdr() {
        assert!(sdr_mono(&[0.0; 100], &[1.0; 100], 8).is_none());
        assert!(sdr_mono(&[1.0; 100], &[1.0; 99], 8).is_none());
        let st: Vec<Frame> = (0..500).map(|i| [(i as f32 * 0.1).sin(), 0.0]).collect();
        // The silent right channel adds nothing; the left one is exact.
        assert!(sdr(&st, &st, 8).unwrap() > 100.0);
    }
}
