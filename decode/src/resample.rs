//! Whole-file sample-rate conversion of stereo audio with rubato.
//!
//! The output is exactly `round(len * to / from)` frames long and starts at the same instant as
//! the input: the resampler's own delay is trimmed. Rate pairs with a reasonably large common
//! divisor (every standard rate against every other) use rubato's synchronous FFT resampler, which
//! is fast and exact in ratio; odd pairs (say 44 101 Hz) whose FFT would get unwieldy use the
//! asynchronous sinc resampler (256 taps, Blackman-Harris window, cubic interpolation).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};
use segue_engine::Frame;

/// Frames the resampler consumes per step: big enough for a sharp anti-aliasing filter.
const CHUNK_FRAMES: usize = 8192;

/// FFT sub-chunks per chunk (each FFT then spans about 2048 frames).
const SUB_CHUNKS: usize = 4;

/// Largest `rate / gcd(from, to)` for which the FFT resampler is used.
const MAX_FFT_BLOCK: usize = 8192;

/// Resample stereo `input` from `from` Hz to `to` Hz. Errors are the resampler's reason.
pub(super) fn resample(input: &[Frame], from: u32, to: u32) -> Result<Vec<Frame>, String> {
    let wanted = output_len(input.len(), from, to);
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let (from_hz, to_hz) = (from as usize, to as usize);
    let gcd = gcd(from_hz, to_hz);
    let mut resampler: Box<dyn Resampler<f32>> =
        if from_hz / gcd <= MAX_FFT_BLOCK && to_hz / gcd <= MAX_FFT_BLOCK {
            Box::new(
                Fft::<f32>::new_custom(
                    from_hz,
                    to_hz,
                    CHUNK_FRAMES,
                    SUB_CHUNKS,
                    2,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(|e| e.to_string())?,
            )
        } else {
            let params = SincInterpolationParameters {
                sinc_len: 256,
                f_cutoff: None,
                oversampling_factor: 256,
                interpolation: SincInterpolationType::Cubic,
                window: WindowFunction::BlackmanHarris2,
            };
            Box::new(
                Async::<f32>::new_sinc(
                    to as f64 / from as f64,
                    1.0,
                    &params,
                    CHUNK_FRAMES,
                    2,
                    FixedAsync::Input,
                )
                .map_err(|e| e.to_string())?,
            )
        };

    let needed = resampler
        .process_all_needed_output_len(input.len())
        .max(wanted);
    let mut output = vec![[0.0f32; 2]; needed];
    let produced = {
        let src = InterleavedSlice::new(input.as_flattened(), 2, input.len())
            .map_err(|e| e.to_string())?;
        let mut dst = InterleavedSlice::new_mut(output.as_flattened_mut(), 2, needed)
            .map_err(|e| e.to_string())?;
        let (_, produced) = resampler
            .process_all_into_buffer(&src, &mut dst, input.len(), None)
            .map_err(|e| e.to_string())?;
        produced
    };
    // `produced` is `ceil(len * ratio)`; keep the rounded length (never more than produced,
    // but pad with silence rather than return a short buffer if a resampler ever did).
    output.truncate(produced.min(wanted));
    output.resize(wanted, [0.0; 2]);
    Ok(output)
}

/// `round(len * to / from)` in exact integer arithmetic.
fn output_len(len: usize, from: u32, to: u32) -> usize {
    let (len, from, to) = (len as u128, u128::from(from), u128::from(to));
    ((len * to + from / 2) / from) as usize
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `secs` of a sine at `hz`, sampled at `rate`, on both channels.
    fn sine(hz: f64, rate: u32, secs: f64) -> Vec<Frame> {
        let n = (secs * rate as f64) as usize;
        (0..n)
            .map(|i| {
                let s =
                    (0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin()) as f32;
                [s, s]
            })
            .collect()
    }

    /// Lag in output samples of a resampled `hz` sine against the ideal one (positive: late),
    /// from the phase of its projection on sin/cos, ignoring the ends.
    fn lag_samples(out: &[Frame], hz: f64, rate: u32) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / rate as f64;
        let edge = rate as usize / 10;
        let (mut s, mut c) = (0.0, 0.0);
        for (i, f) in out.iter().enumerate().take(out.len() - edge).skip(edge) {
            s += f[0] as f64 * (w * i as f64).sin();
            c += f[0] as f64 * (w * i as f64).cos();
        }
        // out ~ sin(w (i - lag)) = sin(wi) cos(w lag) - cos(wi) sin(w lag).
        (-c).atan2(s) / w
    }

    #[test]
    fn output_length_is_rounded_ratio() {
        assert_eq!(output_len(44_100, 44_100, 48_000), 48_000);
        assert_eq!(output_len(1, 44_100, 48_000), 1);
        assert_eq!(output_len(3, 48_000, 44_100), 3);
        assert_eq!(output_len(100, 3, 2), 67);
    }

    #[test]
    fn standard_rates_use_fft_and_keep_phase() {
        let out = resample(&sine(440.0, 44_100, 1.0), 44_100, 48_000).unwrap();
        assert_eq!(out.len(), 48_000);
        let lag = lag_samples(&out, 440.0, 48_000);
        assert!(lag.abs() < 0.01, "lag {lag} samples");
    }

    #[test]
    fn odd_rates_use_sinc_and_keep_phase_within_a_sample() {
        let out = resample(&sine(440.0, 44_101, 1.0), 44_101, 48_000).unwrap();
        assert_eq!(out.len(), output_len(44_101, 44_101, 48_000));
        let lag = lag_samples(&out, 440.0, 48_000);
        assert!(lag.abs() < 1.0, "lag {lag} samples");
    }

    #[test]
    fn very_short_input_still_gets_its_length() {
        let out = resample(&[[0.5, -0.5]; 3], 44_100, 96_000).unwrap();
        assert_eq!(out.len(), 7);
        assert!(resample(&[], 44_100, 48_000).unwrap().is_empty());
    }
}
