//! Short-time Fourier transform shared by every analysis stage: a magnitude spectrogram of a
//! mono signal (Hann window, realfft), computed once per track.

use realfft::RealFftPlanner;

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
        let mut mags = Vec::with_capacity(frames * spec.bins);
        spec.each_frame(mono, |m| mags.extend_from_slice(m));
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
        let (fft_size, hop, bins) = (self.fft_size, self.hop, self.bins);
        let frames = mono.len().div_ceil(hop).max(1);
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(fft_size);
        let window: Vec<f32> = (0..fft_size)
            .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / fft_size as f32).cos())
            .collect();
        let mut input = fft.make_input_vec();
        let mut output = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        let mut mags = vec![0.0f32; bins];
        let half = (fft_size / 2) as isize;
        for f in 0..frames {
            let start = (f * hop) as isize - half;
            // Samples start + i for i in lo..hi exist; the rest of the frame is zero padding.
            let lo = (-start).clamp(0, fft_size as isize) as usize;
            let hi = (mono.len() as isize - start).clamp(lo as isize, fft_size as isize) as usize;
            input[..lo].fill(0.0);
            input[hi..].fill(0.0);
            let a = ((start + lo as isize) as usize).min(mono.len());
            let src = &mono[a..(a + hi - lo).min(mono.len())];
            for ((v, &x), &w) in input[lo..hi].iter_mut().zip(src).zip(&window[lo..hi]) {
                *v = x * w;
            }
            // Sizes come from the plan itself, so processing cannot fail.
            let _ = fft.process_with_scratch(&mut input, &mut output, &mut scratch);
            // Plain sqrt(re² + im²): `norm()` goes through hypot, several times slower.
            for (m, c) in mags.iter_mut().zip(&output[..bins]) {
                *m = (c.re * c.re + c.im * c.im).sqrt();
            }
            each(&mags);
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
}
