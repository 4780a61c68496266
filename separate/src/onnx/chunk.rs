//! Chunked inference: a track longer than the model's segment is cut into segments of `n`
//! frames at a stride of `n − n/4`, each segment's output weighted by a triangular window and
//! overlap-added, and the sum divided by the summed weights (demucs' `apply_model` with
//! `overlap = 0.25`). The model sees planar input (`[channel][frame]`, 2 × n) and returns
//! planar output (`[stem][channel][frame]`, 4 × 2 × n); the last segment is zero-padded.

use crate::{Frame, SeparateError, Stems};

/// The stride between segment starts: `n − n/4` (integer division, as demucs rounds it).
pub(crate) fn stride(n: usize) -> usize {
    (n - n / 4).max(1)
}

/// The cross-fade window, `w[t] = min(t + 1, n − t) / max`: a triangle peaking at the centre,
/// never zero, so every frame has a positive summed weight.
pub(crate) fn window(n: usize) -> Vec<f32> {
    let w: Vec<f32> = (0..n).map(|t| (t + 1).min(n - t) as f32).collect();
    let max = w.iter().copied().fold(1.0f32, f32::max);
    w.into_iter().map(|x| x / max).collect()
}

/// The stems of `mix` (already normalised as the model wants it), running `model` on
/// segments of `n` frames. `model(input, output)` gets `input` of 2·n samples and fills
/// `output` of 8·n samples.
pub(crate) fn run_chunked(
    mix: &[Frame],
    n: usize,
    mut model: impl FnMut(&[f32], &mut [f32]) -> Result<(), SeparateError>,
) -> Result<Stems, SeparateError> {
    let len = mix.len();
    let mut stems: Stems = std::array::from_fn(|_| vec![[0.0f32; 2]; len]);
    if len == 0 || n == 0 {
        return Ok(stems);
    }
    let w = window(n);
    let mut wsum = vec![0.0f32; len];
    let mut input = vec![0.0f32; 2 * n];
    let mut output = vec![0.0f32; 8 * n];
    for off in (0..len).step_by(stride(n)) {
        let m = n.min(len - off);
        input.fill(0.0);
        for (t, f) in mix[off..off + m].iter().enumerate() {
            input[t] = f[0];
            input[n + t] = f[1];
        }
        output.fill(0.0);
        model(&input, &mut output)?;
        for (s, stem) in stems.iter_mut().enumerate() {
            for c in 0..2 {
                let y = &output[(2 * s + c) * n..][..m];
                for ((acc, &y), &w) in stem[off..off + m].iter_mut().zip(y).zip(&w) {
                    acc[c] += w * y;
                }
            }
        }
        for (acc, &w) in wsum[off..off + m].iter_mut().zip(&w) {
            *acc += w;
        }
    }
    for stem in &mut stems {
        for (f, &w) in stem.iter_mut().zip(&wsum) {
            f[0] /= w;
            f[1] /= w;
        }
    }
    Ok(stems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_a_positive_triangle() {
        let w = window(8);
        assert_eq!(w, [0.25, 0.5, 0.75, 1.0, 1.0, 0.75, 0.5, 0.25]);
        let w = window(7);
        assert_eq!(w, [0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25]);
        assert_eq!(stride(8190), 6143);
        assert_eq!(stride(343_980), 257_985);
        assert_eq!(stride(1), 1);
    }

    #[test]
    fn a_pointwise_model_is_reproduced_across_chunks() {
        // A model that maps each sample on its own (stem s = (s + 1)·x) must give the same
        // stems whatever the chunking: the weights cancel.
        let mix: Vec<Frame> = (0..1000)
            .map(|i| [i as f32 * 1e-3, -(i as f32) * 2e-3])
            .collect();
        for n in [1, 7, 64, 1000, 4096] {
            let stems = run_chunked(&mix, n, |x, y| {
                for s in 0..4 {
                    for c in 0..2 {
                        for t in 0..n {
                            y[(2 * s + c) * n + t] = (s + 1) as f32 * x[c * n + t];
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
            for (i, m) in mix.iter().enumerate() {
                for (s, stem) in stems.iter().enumerate() {
                    for c in 0..2 {
                        let want = (s + 1) as f32 * m[c];
                        assert!((stem[i][c] - want).abs() <= 1e-6, "n {n} i {i} s {s}");
                    }
                }
            }
        }
    }

    #[test]
    fn model_errors_stop_the_run() {
        let mix = vec![[0.1f32; 2]; 100];
        let r = run_chunked(&mix, 16, |_, _| Err(SeparateError::Internal("boom".into())));
        assert!(r.is_err());
    }
}
