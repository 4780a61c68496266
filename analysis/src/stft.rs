//! Short-time Fourier transform shared by every analysis stage: a magnitude spectrogram of a
//! mono signal (Hann window, realfft), computed once per track.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Magnitude spectrogram: `frames × bins`, row-major.
#[derive(Debug, Clone)]
pub struct Spectrogram {
    /// Sample rate of the analysed signal.
    pub sample_rate: u32,
    /// FFT size in samples.
    pub fft_size: usize,
    /// Hop between frames in samples.
    pub hop: usize,
    /// Number of bins kept per frame: `fft_size / 2 + 1`, or fewer (the lowest ones) from
    /// [`Spectrogram::compute_lowest`].
    pub bins: usize,
    /// Magnitudes, frame after frame.
    pub mags: Vec<f32>,
}

impl Spectrogram {
    /// Compute the spectrogram of `mono`. Frame `i` is centred on sample `i * hop` (the
    /// signal is zero-padded by half a frame on both sides).
    pub fn compute(mono: &[f32], sample_rate: u32, fft_size: usize, hop: usize) -> Self {
        Self::compute_lowest(mono, sample_rate, fft_size, hop, usize::MAX)
    }

    /// [`Spectrogram::compute`], keeping only the lowest `keep` bins of each frame (all of
    /// them when `keep` is larger): the same values for those bins, without the memory and
    /// the magnitudes of the bins a stage never reads.
    pub fn compute_lowest(
        mono: &[f32],
        sample_rate: u32,
        fft_size: usize,
        hop: usize,
        keep: usize,
    ) -> Self {
        let mut spec = Self::shape(sample_rate, fft_size, hop, keep);
        let frames = mono.len().div_ceil(spec.hop).max(1);
        let mut mags = vec![0.0f32; frames * spec.bins];
        let mut rows = mags.chunks_exact_mut(spec.bins);
        spec.frames_with(mono, |fft, src, lo, window| {
            if let Some(row) = rows.next() {
                fft.magnitudes(src, lo, window, row);
            }
        });
        spec.mags = mags;
        spec
    }

    /// The parameters of [`Spectrogram::compute_lowest`]'s spectrogram (the FFT size, the hop
    /// and the bins as it adjusts them), without magnitudes: `mags` is empty (no frames)
    /// until [`Spectrogram::each_frame`] hands them over one at a time.
    pub fn shape(sample_rate: u32, fft_size: usize, hop: usize, keep: usize) -> Self {
        let fft_size = fft_size.max(16);
        Self {
            sample_rate,
            fft_size,
            hop: hop.max(1),
            bins: keep.clamp(1, fft_size / 2 + 1),
            mags: Vec::new(),
        }
    }

    /// Each frame of `mono`'s spectrogram with this one's parameters ([`Spectrogram::shape`]),
    /// in order, handed to `each` instead of stored: the same magnitudes as
    /// [`Spectrogram::compute_lowest`]'s frames, for a stage that reduces every frame as it
    /// comes (no memory for the whole spectrogram, no trip through main memory).
    pub fn each_frame(&self, mono: &[f32], mut each: impl FnMut(&[f32])) {
        let mut mags = vec![0.0f32; self.bins];
        self.frames_with(mono, |fft, src, lo, window| {
            fft.magnitudes(src, lo, window, &mut mags);
            each(&mags);
        });
    }

    /// Each frame of `mono` in order, as its samples `src` (those from position `lo` of the
    /// frame on; the rest is zero padding), to `frame` with the FFT and the window.
    fn frames_with(
        &self,
        mono: &[f32],
        mut frame: impl FnMut(&mut MagnitudeFft, &[f32], usize, &[f32]),
    ) {
        let (fft_size, hop) = (self.fft_size, self.hop);
        let frames = mono.len().div_ceil(hop).max(1);
        let window: Vec<f32> = (0..fft_size)
            .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / fft_size as f32).cos())
            .collect();
        let mut fft = MagnitudeFft::new(fft_size);
        let half = (fft_size / 2) as isize;
        for f in 0..frames {
            let start = (f * hop) as isize - half;
            // Samples start + i for i in lo..hi exist; the rest of the frame is zero padding.
            let lo = (-start).clamp(0, fft_size as isize) as usize;
            let hi = (mono.len() as isize - start).clamp(lo as isize, fft_size as isize) as usize;
            let a = ((start + lo as isize) as usize).min(mono.len());
            let src = &mono[a..(a + hi - lo).min(mono.len())];
            frame(&mut fft, src, lo, &window);
        }
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.mags.len() / self.bins
    }

    /// One frame's magnitudes.
    pub fn frame(&self, i: usize) -> &[f32] {
        &self.mags[i * self.bins..(i + 1) * self.bins]
    }

    /// Centre frequency of a bin in Hz.
    pub fn bin_hz(&self, bin: usize) -> f64 {
        bin as f64 * self.sample_rate as f64 / self.fft_size as f64
    }

    /// Frames per second.
    pub fn frame_rate(&self) -> f64 {
        self.sample_rate as f64 / self.hop as f64
    }

    /// Time in seconds of frame `i`'s centre.
    pub fn frame_time(&self, i: usize) -> f64 {
        (i * self.hop) as f64 / self.sample_rate as f64
    }
}

/// The magnitudes of the lowest bins of a windowed real FFT, frame after frame, as
/// realfft computes them (its even-length transform: a complex FFT of half the length, then
/// a twiddled recombination of each bin with its mirror) to the bit, faster: for lengths
/// divisible by four the recombination is fused with the magnitudes and compiled for AVX2
/// where the CPU has it (independent bins, the same operations in the same order, no fused
/// multiply-adds: the same values).
struct MagnitudeFft {
    size: usize,
    /// realfft's plan: lengths not divisible by four, and the reference of the tests.
    real: Arc<dyn RealToComplex<f32>>,
    /// The complex FFT of half the length (the same plan realfft makes).
    half: Arc<dyn rustfft::Fft<f32>>,
    /// realfft's recombination twiddles: `e^(-2πik/size) / 2` for k = 1..size/4.
    twiddles: Vec<Complex<f32>>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl MagnitudeFft {
    fn new(size: usize) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let real = planner.plan_fft_forward(size);
        let half = rustfft::FftPlanner::<f32>::new().plan_fft_forward(size / 2);
        let twiddles = (1..size / 4)
            .map(|k| {
                let angle = -2f64 * std::f64::consts::PI / size as f64 * k as f64;
                Complex::new(angle.cos() as f32 * 0.5, angle.sin() as f32 * 0.5)
            })
            .collect();
        let scratch_len = real
            .get_scratch_len()
            .max(half.get_outofplace_scratch_len());
        Self {
            size,
            input: real.make_input_vec(),
            spectrum: real.make_output_vec(),
            scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            real,
            half,
            twiddles,
        }
    }

    /// The magnitudes of the lowest `out.len()` bins of the frame whose samples `lo..` are
    /// `src` (the rest zero), windowed by `window`.
    fn magnitudes(&mut self, src: &[f32], lo: usize, window: &[f32], out: &mut [f32]) {
        let hi = lo + src.len();
        let input = &mut self.input;
        input[..lo].fill(0.0);
        input[hi..].fill(0.0);
        for ((v, &x), &w) in input[lo..hi].iter_mut().zip(src).zip(&window[lo..hi]) {
            *v = x * w;
        }
        if self.size % 4 != 0 {
            // Sizes come from the plan itself, so processing cannot fail.
            let _ = self
                .real
                .process_with_scratch(input, &mut self.spectrum, &mut self.scratch);
            for (m, c) in out.iter_mut().zip(&self.spectrum) {
                *m = (c.re * c.re + c.im * c.im).sqrt();
            }
            return;
        }
        // The samples as size / 2 complex values (re, im = even, odd sample), as realfft
        // reads them.
        let h = self.size / 2;
        // SAFETY: `Complex<f32>` is `#[repr(C)]` { re, im }: two f32 with the alignment of
        // one; `input` holds `size` = 2 h floats, borrowed mutably for the cast's lifetime.
        let packed: &mut [Complex<f32>] =
            unsafe { std::slice::from_raw_parts_mut(input.as_mut_ptr().cast::<Complex<f32>>(), h) };
        let spectrum = &mut self.spectrum[..h];
        self.half
            .process_outofplace_with_scratch(packed, spectrum, &mut self.scratch);
        recombined_magnitudes(spectrum, &self.twiddles, out);
    }
}

avx2_or_portable! {
    /// realfft's recombination of a half-length complex spectrum `x` (length h, even) into the
    /// real FFT's bins 0..=h, with each bin's magnitude written to `out` (its lowest bins).
    fn recombined_magnitudes / recombined_magnitudes_avx2(x: &[Complex<f32>], twiddles: &[Complex<f32>], out: &mut [f32]) = recombined_magnitudes_with
}

#[inline(always)]
fn recombined_magnitudes_with(x: &[Complex<f32>], twiddles: &[Complex<f32>], out: &mut [f32]) {
    let h = x.len();
    let q = h / 2;
    let bins = out.len().min(h + 1);
    let magnitude = |re: f32, im: f32| (re * re + im * im).sqrt();
    // Bin 0 and bin h: the sum and the difference of the first value's parts; bin h / 2:
    // the conjugate of the middle value.
    out[0] = magnitude(x[0].re + x[0].im, 0.0);
    if bins > h {
        out[h] = magnitude(x[0].re - x[0].im, 0.0);
    }
    if bins > q {
        out[q] = magnitude(x[q].re, -x[q].im);
    }
    // Bins k and h - k for k = 1..q from x[k], x[h - k] and twiddle k - 1, in realfft's
    // operations: first the lower bins, then the upper ones (reading the pairs backwards).
    let pair = |a: Complex<f32>, b: Complex<f32>, t: Complex<f32>| {
        let (sum_re, sum_im) = (a.re + b.re, a.im + b.im);
        let (diff_re, diff_im) = (a.re - b.re, a.im - b.im);
        let half_sum_re = 0.5 * sum_re;
        let half_diff_im = 0.5 * diff_im;
        let real = sum_im * t.re + diff_re * t.im;
        let imag = sum_im * t.im - diff_re * t.re;
        (half_sum_re, half_diff_im, real, imag)
    };
    let lower = bins.min(q);
    for k in 1..lower {
        let (s, d, re, im) = pair(x[k], x[h - k], twiddles[k - 1]);
        out[k] = magnitude(s + re, d + im);
    }
    // Upper bins j = q + 1.. below `bins`, in increasing order (k = h - j decreasing).
    if bins > q + 1 {
        let upper = &mut out[q + 1..bins.min(h)];
        let mirrors = x[1..q].iter().rev();
        let turns = twiddles[..q - 1].iter().rev();
        for (((o, &b), &a), &t) in upper.iter_mut().zip(&x[q + 1..]).zip(mirrors).zip(turns) {
            let (s, d, re, im) = pair(a, b, t);
            *o = magnitude(s - re, im - d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sine_peaks_in_its_bin() {
        let rate = 44_100;
        let f = 1_000.0f32;
        let x: Vec<f32> = (0..rate)
            .map(|i| (std::f32::consts::TAU * f * i as f32 / rate as f32).sin())
            .collect();
        let s = Spectrogram::compute(&x, rate, 4096, 1024);
        let mid = s.frame(s.frames() / 2);
        let peak = (0..s.bins)
            .max_by(|&a, &b| mid[a].total_cmp(&mid[b]))
            .unwrap();
        assert!((s.bin_hz(peak) - f as f64).abs() < s.bin_hz(1));
        assert_eq!(s.frames(), (rate as usize).div_ceil(1024));
        let low = Spectrogram::compute_lowest(&x, rate, 4096, 1024, 100);
        assert_eq!(
            (low.bins, low.frames(), low.fft_size),
            (100, s.frames(), 4096)
        );
        for f in 0..s.frames() {
            assert_eq!(low.frame(f), &s.frame(f)[..100]);
        }
        assert_eq!(
            Spectrogram::compute_lowest(&x, rate, 4096, 1024, 5000).mags,
            s.mags
        );
        // Frame by frame: the same frames, in order.
        let shape = Spectrogram::shape(rate, 4096, 1024, 5000);
        assert_eq!((shape.bins, shape.frames(), shape.hop), (s.bins, 0, 1024));
        let mut streamed = Vec::new();
        shape.each_frame(&x, |m| streamed.push(m.to_vec()));
        assert_eq!(streamed.len(), s.frames());
        for (f, m) in streamed.iter().enumerate() {
            assert_eq!(m.as_slice(), s.frame(f));
        }
    }

    #[test]
    fn fused_magnitudes_are_realfft_s_to_the_bit() {
        let mut state = 0x9e37_79b9u32;
        for size in [16usize, 18, 20, 64, 512, 1024, 2048, 8192] {
            let window: Vec<f32> = (0..size).map(|i| 0.3 + (i % 7) as f32 * 0.1).collect();
            let mut fft = MagnitudeFft::new(size);
            for keep in [
                1,
                2,
                size / 4,
                size / 4 + 1,
                size / 2 - 3,
                size / 2,
                size / 2 + 1,
            ] {
                let src: Vec<f32> = (0..size - 3)
                    .map(|_| crate::test_uniform(&mut state) - 0.5)
                    .collect();
                let mut got = vec![0.0f32; keep];
                fft.magnitudes(&src, 2, &window, &mut got);
                // realfft on the same windowed frame.
                let mut input = vec![0.0f32; size];
                for (i, &x) in src.iter().enumerate() {
                    input[2 + i] = x * window[2 + i];
                }
                let mut spectrum = fft.real.make_output_vec();
                fft.real.process(&mut input, &mut spectrum).unwrap();
                let want: Vec<u32> = spectrum[..keep]
                    .iter()
                    .map(|c| (c.re * c.re + c.im * c.im).sqrt().to_bits())
                    .collect();
                let got: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, want, "size {size}, {keep} bins");
            }
        }
    }
}
