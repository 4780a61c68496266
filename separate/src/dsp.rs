//! The DSP separator: signal processing only, no model.
//!
//! One pass over the track's STFT (sqrt-Hann, ≈ 93 ms frames, hop a quarter frame), with a
//! ring of `2·W + 1` frames so memory stays a few frames whatever the track's length:
//!
//! 1. **Harmonic/percussive** (Fitzgerald's median filtering): per bin, `H` = median of the
//!    magnitude over `2·W + 1` frames (steady partials), `P` = median over `2·Wf + 1` bins of
//!    the frame (broadband hits). Soft Wiener-style masks `H²/(H² + P²)`, `P²/(H² + P²)`.
//! 2. **Drums** = the percussive mask on both channels.
//! 3. **Bass** = the harmonic mask in a low band (full below `bass_hz`, a cosine fade to zero
//!    at `bass_fade_hz`), plus the harmonics of the bass's tracked fundamental (the
//!    strongest steady partial between 30 Hz and `bass_hz`, refined parabolically) up to
//!    `bass_harmonics_hz`, with a narrow weight per harmonic.
//! 4. **Vocals** = what is left of the harmonic mask, weighted by how centred the bin is
//!    (mid/side: `|L + R|² / 2(|L|² + |R|²)`, 1 for a centred source, raised to
//!    `centre_power`) and by a voice band (`vocal_low_hz`..`vocal_high_hz`), applied to the
//!    mid signal only (a centred voice is the same on both sides).
//! 5. **Other** = the residual, `mix − drums − bass − vocals`, sample-exact
//!    ([`crate::assign_residual`]).
//!
//! The masks of 2–4 are products of the two Wiener masks and weights in [0, 1] and never
//! sum above 1, so "other" is what the steady, off-centre, mid-band part of the mix holds.

#![allow(clippy::needless_range_loop)] // bins index several parallel arrays

use realfft::num_complex::Complex32;

use crate::stft::Stft;
use crate::{assign_residual, Device, Frame, SeparateError, Separator, Stems};

/// Tuning of [`DspSeparator`]. The defaults are what `cargo xtask eval --separate` measured
/// best on the demo set.
#[derive(Debug, Clone, PartialEq)]
pub struct DspParams {
    /// Half-width in frames of the harmonic (time) median filter.
    pub harmonic_frames: usize,
    /// Half-width in bins of the percussive (frequency) median filter.
    pub percussive_bins: usize,
    /// Exponent of the soft masks (2 = Wiener-style power ratio).
    pub mask_power: f32,
    /// Below this frequency (Hz) the harmonic part is bass.
    pub bass_hz: f32,
    /// The bass band fades out (raised cosine) from `bass_hz` to this frequency (Hz).
    pub bass_fade_hz: f32,
    /// Harmonics of the tracked bass fundamental are followed up to this frequency (Hz);
    /// 0 turns the tracking off.
    pub bass_harmonics_hz: f32,
    /// Share of the harmonic part given to the bass at its tracked harmonics (0..=1).
    pub bass_harmonic_weight: f32,
    /// Exponent of the centre weight of the vocal mask.
    pub centre_power: i32,
    /// Lower edge (Hz) of the voice band.
    pub vocal_low_hz: f32,
    /// Upper edge (Hz) of the voice band.
    pub vocal_high_hz: f32,
}

impl Default for DspParams {
    fn default() -> Self {
        DspParams {
            harmonic_frames: 8,
            percussive_bins: 8,
            mask_power: 2.0,
            bass_hz: 180.0,
            bass_fade_hz: 350.0,
            bass_harmonics_hz: 1200.0,
            bass_harmonic_weight: 0.6,
            centre_power: 24,
            vocal_low_hz: 180.0,
            vocal_high_hz: 6000.0,
        }
    }
}

/// The default separator: median-filter HPSS, low band + tracked harmonics for the bass,
/// a centred-harmonic mask for the vocals, the residual for "other" (see the module doc).
///
/// On [`Device::Auto`] (the default) or [`Device::Cuda`] the per-bin work (magnitudes, both
/// median filters, the bass tracking and the masks) runs as CUDA kernels when a GPU is usable
/// (`cuda.rs`); the STFTs stay on the CPU. Both paths give the same stems within float
/// rounding (tested on a GPU machine). `Auto` falls back to the CPU and says why in
/// [`DspSeparator::note`].
#[derive(Debug, Clone, Default)]
pub struct DspSeparator {
    /// Its tuning.
    pub params: DspParams,
    /// Where the per-bin work runs.
    pub device: Device,
    ran_on: Option<&'static str>,
    note: Option<String>,
}

impl DspSeparator {
    /// A separator with `params`, on [`Device::Auto`].
    pub fn new(params: DspParams) -> DspSeparator {
        DspSeparator {
            params,
            ..DspSeparator::default()
        }
    }

    /// This separator on `device`.
    pub fn on(mut self, device: Device) -> DspSeparator {
        self.device = device;
        self
    }

    /// Where the last separation ran: `Some("cpu")` or `Some("cuda")` (`None` before the
    /// first).
    pub fn ran_on(&self) -> Option<&'static str> {
        self.ran_on
    }

    /// Why the last separation on [`Device::Auto`] did not use the GPU, if it did not.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// What the CPU and GPU paths share: the STFT and the per-bin weights that do not change
/// between frames, for one track.
pub(crate) struct Setup {
    pub stft: Stft,
    pub n: usize,
    pub hop: usize,
    pub bins: usize,
    pub bin_hz: f32,
    /// Half-width (frames) of the harmonic median.
    pub w: usize,
    /// Half-width (bins) of the percussive median.
    pub wf: usize,
    /// The bass band's weight per bin.
    pub low: Vec<f32>,
    /// The voice band's weight per bin.
    pub band: Vec<f32>,
    /// The bins searched for the bass fundamental.
    pub k_min: usize,
    pub k_max: usize,
    /// STFT frames covering the track.
    pub frames: usize,
}

impl Setup {
    pub fn new(p: &DspParams, sample_rate: u32, len: usize) -> Setup {
        let stft = Stft::new(frame_len(sample_rate));
        let (n, hop, bins) = (stft.n, stft.hop, stft.bins());
        let bin_hz = sample_rate as f32 / n as f32;
        let freq = |k: usize| k as f32 * bin_hz;
        let low = (0..bins)
            .map(|k| {
                let f = freq(k);
                if f <= p.bass_hz {
                    1.0
                } else if f >= p.bass_fade_hz {
                    0.0
                } else {
                    let x = (f - p.bass_hz) / (p.bass_fade_hz - p.bass_hz).max(1e-3);
                    0.5 + 0.5 * (std::f32::consts::PI * x).cos()
                }
            })
            .collect();
        let band = (0..bins)
            .map(|k| {
                let f = freq(k);
                let lo = ((f / p.vocal_low_hz.max(1.0)).log2() * 2.0 + 1.0).clamp(0.0, 1.0);
                let hi = ((p.vocal_high_hz / f.max(1.0)).log2() * 2.0 + 1.0).clamp(0.0, 1.0);
                lo * hi
            })
            .collect();
        Setup {
            n,
            hop,
            bins,
            bin_hz,
            w: p.harmonic_frames.max(1),
            wf: p.percussive_bins.max(1),
            low,
            band,
            k_min: ((30.0 / bin_hz).ceil() as usize).max(1),
            k_max: ((p.bass_hz / bin_hz) as usize).min(bins - 2),
            frames: (len + 3 * hop).div_ceil(hop),
            stft,
        }
    }

    /// The first sample of STFT frame `t` (negative for the first frames).
    pub fn start_of(&self, t: usize) -> isize {
        (t * self.hop) as isize - (self.n - self.hop) as isize
    }

    /// Whether the bass fundamental is tracked at all.
    pub fn tracks_bass(&self, p: &DspParams) -> bool {
        p.bass_harmonics_hz > 0.0 && self.k_max > self.k_min
    }
}

/// FFT size for a rate: the power of two nearest to 93 ms (4096 at 44.1 and 48 kHz).
fn frame_len(sample_rate: u32) -> usize {
    let target = (f64::from(sample_rate) * 0.0929).max(1.0);
    let lo = (target as usize).next_power_of_two() / 2;
    let n = if target / lo.max(1) as f64 > 1.5 {
        lo * 2
    } else {
        lo
    };
    n.clamp(256, 16_384)
}

/// One STFT frame of the ring.
struct Slot {
    l: Vec<Complex32>,
    r: Vec<Complex32>,
    mag: Vec<f32>,
    perc: Vec<f32>,
}

/// In the sorted `s`, replace one `old` (which `s` holds) by `new`, keeping `s` sorted: find
/// `old` (count the values below it), then move `new` from its place towards its own, shifting the
/// values in between by one. The medians of the separator are read from such sorted windows
/// (their middle element) instead of selected anew for every bin and frame: the same
/// multiset gives the same median, bit for bit. Values are non-negative floats given as
/// their bit patterns (which order like the values).
fn replace_sorted(s: &mut [u32], old: u32, new: u32) {
    // A branch-free count beats a binary search on these short windows.
    let mut i = s.iter().filter(|&&x| x < old).count();
    if new < old {
        while i > 0 && s[i - 1] > new {
            s[i] = s[i - 1];
            i -= 1;
        }
    } else {
        while i + 1 < s.len() && s[i + 1] < new {
            s[i] = s[i + 1];
            i += 1;
        }
    }
    s[i] = new;
}

/// Insert `v` into the sorted `s` (which has room: its capacity is the window's).
fn insert_sorted(s: &mut Vec<u32>, v: u32) {
    let j = s.partition_point(|&x| x < v);
    s.insert(j, v);
}

/// `out[k]` = the median of `mag[k − wf ..= k + wf]` (cut at both ends; the upper median
/// of an even count), for every bin: a sorted window slid along the bins, one value in and
/// one out per bin. `win` is scratch with capacity `2·wf + 1`.
fn sliding_median(mag: &[f32], wf: usize, out: &mut [f32], win: &mut Vec<u32>) {
    let bins = mag.len();
    win.clear();
    for &m in &mag[..(wf + 1).min(bins)] {
        insert_sorted(win, m.to_bits());
    }
    for k in 0..bins {
        if k > 0 {
            let add = k + wf;
            let drop = k.checked_sub(wf + 1);
            match (add < bins, drop) {
                (true, Some(d)) => replace_sorted(win, mag[d].to_bits(), mag[add].to_bits()),
                (true, None) => insert_sorted(win, mag[add].to_bits()),
                (false, Some(d)) => {
                    let v = mag[d].to_bits();
                    let i = win.partition_point(|&x| x < v);
                    win.remove(i);
                }
                (false, None) => {}
            }
        }
        out[k] = f32::from_bits(win[win.len() / 2]);
    }
}

impl Separator for DspSeparator {
    fn name(&self) -> &str {
        "dsp"
    }

    fn separate(&mut self, mix: &[Frame], sample_rate: u32) -> Result<Stems, SeparateError> {
        self.separate_with(mix, sample_rate, &mut |_| true)
    }

    fn separate_with(
        &mut self,
        mix: &[Frame],
        sample_rate: u32,
        progress: &mut dyn FnMut(f32) -> bool,
    ) -> Result<Stems, SeparateError> {
        if !progress(0.0) {
            return Err(SeparateError::Cancelled);
        }
        let len = mix.len();
        let mut stems: Stems = std::array::from_fn(|_| vec![[0.0f32; 2]; len]);
        if len == 0 || sample_rate == 0 {
            assign_residual(mix, &mut stems);
            return Ok(stems);
        }
        let p = self.params.clone();
        let mut setup = Setup::new(&p, sample_rate, len);
        self.note = None;
        if self.device != Device::Cpu {
            match crate::cuda::separate(&p, &mut setup, mix, &mut stems, progress) {
                Ok(()) => {
                    self.ran_on = Some("cuda");
                    assign_residual(mix, &mut stems);
                    progress(1.0);
                    return Ok(stems);
                }
                Err(crate::cuda::GpuError::Cancelled) => return Err(SeparateError::Cancelled),
                Err(crate::cuda::GpuError::Unusable(why)) => {
                    if self.device == Device::Cuda {
                        return Err(SeparateError::Device(why));
                    }
                    // A GPU that failed half way may have added to the stems.
                    for s in stems.iter_mut() {
                        s.fill([0.0; 2]);
                    }
                    self.note = Some(why);
                }
            }
        }
        self.ran_on = Some("cpu");
        let p = &p;
        let Setup {
            mut stft,
            n,
            hop,
            bins,
            bin_hz,
            w,
            wf,
            low,
            band,
            k_min,
            k_max,
            frames,
        } = setup;
        let ring_len = 2 * w + 1;
        let mut ring: Vec<Slot> = (0..ring_len)
            .map(|_| Slot {
                l: vec![Complex32::default(); bins],
                r: vec![Complex32::default(); bins],
                mag: vec![0.0; bins],
                perc: vec![0.0; bins],
            })
            .collect();

        // Per bin, the magnitudes of the ring's frames, sorted (all slots start silent).
        let mut by_bin = vec![0u32; bins * ring_len];
        let mut win = Vec::with_capacity(2 * wf + 1);
        let mut harm = vec![0.0f32; bins];
        let mut bass_w = vec![0.0f32; bins];
        let (mut sd, mut sb, mut sv) = (
            vec![Complex32::default(); bins],
            vec![Complex32::default(); bins],
            vec![Complex32::default(); bins],
        );
        let mut sd_r = vec![Complex32::default(); bins];
        let mut sb_r = vec![Complex32::default(); bins];
        let start_of = |t: usize| (t * hop) as isize - (n - hop) as isize;
        let pw = p.mask_power;
        let tiny = 1e-20f32;
        let (drums, rest) = stems.split_at_mut(1);
        let (bass, rest) = rest.split_at_mut(1);
        let vocals = &mut rest[1];

        for t in 0..frames + w {
            // 1. Analyse frame t into its slot (frames past the end are silence).
            {
                let slot = &mut ring[t % ring_len];
                if t < frames {
                    stft.forward(mix, 0, start_of(t), &mut slot.l);
                    stft.forward(mix, 1, start_of(t), &mut slot.r);
                } else {
                    slot.l.fill(Complex32::default());
                    slot.r.fill(Complex32::default());
                }
                // The new magnitude replaces the one of frame t − ring_len in its bin's
                // sorted column.
                for (k, col) in by_bin.chunks_exact_mut(ring_len).enumerate() {
                    let m = (0.5 * (slot.l[k].norm_sqr() + slot.r[k].norm_sqr())).sqrt();
                    replace_sorted(col, slot.mag[k].to_bits(), m.to_bits());
                    slot.mag[k] = m;
                }
                sliding_median(&slot.mag, wf, &mut slot.perc, &mut win);
            }
            if t < w {
                continue;
            }
            let c = t - w;
            if c >= frames {
                break;
            }
            // About a hundred reports per track (and a cancel check with each).
            if c % (frames / 100).max(1) == 0 && !progress(c as f32 / frames as f32) {
                return Err(SeparateError::Cancelled);
            }
            // 2. Masks of the centre frame c.
            for (h, col) in harm.iter_mut().zip(by_bin.chunks_exact(ring_len)) {
                *h = f32::from_bits(col[ring_len / 2]);
            }
            let slot = &ring[c % ring_len];
            bass_w.copy_from_slice(&low);
            if p.bass_harmonics_hz > 0.0 && k_max > k_min {
                let (k0, &h0) = harm[k_min..=k_max]
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, h)| (i + k_min, h))
                    .unwrap_or((k_min, &0.0));
                if h0 > 1e-6 && h0 > 2.0 * slot.perc[k0] {
                    let (a, b) = (harm[k0 - 1], harm[k0 + 1]);
                    let denom = a - 2.0 * h0 + b;
                    let delta = if denom.abs() > 1e-12 {
                        (0.5 * (a - b) / denom).clamp(-0.5, 0.5)
                    } else {
                        0.0
                    };
                    let f0 = (k0 as f32 + delta) * bin_hz;
                    let mut h = 2.0;
                    while h * f0 < p.bass_harmonics_hz {
                        let kf = h * f0 / bin_hz;
                        let kc = kf.round() as usize;
                        for k in kc.saturating_sub(1)..=(kc + 1).min(bins - 1) {
                            let d = (k as f32 - kf).abs();
                            let g = p.bass_harmonic_weight * (1.0 - d / 1.5).max(0.0);
                            bass_w[k] = bass_w[k].max(g);
                        }
                        h += 1.0;
                    }
                }
            }
            for k in 0..bins {
                let (hh, pp) = if pw == 2.0 {
                    (harm[k] * harm[k], slot.perc[k] * slot.perc[k])
                } else {
                    (harm[k].powf(pw), slot.perc[k].powf(pw))
                };
                let mh = hh / (hh + pp + tiny);
                let mp = 1.0 - mh;
                let (l, r) = (slot.l[k], slot.r[k]);
                let e = l.norm_sqr() + r.norm_sqr();
                let centre = if e > tiny {
                    ((l + r).norm_sqr() / (2.0 * e)).min(1.0)
                } else {
                    0.0
                };
                let mb = mh * bass_w[k];
                // (Outside the voice band the weight is 0: no power to take.)
                let mv = if band[k] > 0.0 {
                    (mh - mb) * centre.powi(p.centre_power) * band[k]
                } else {
                    0.0
                };
                sd[k] = l * mp;
                sd_r[k] = r * mp;
                sb[k] = l * mb;
                sb_r[k] = r * mb;
                sv[k] = (l + r) * (0.5 * mv);
            }
            // 3. Synthesis into the stems.
            let s = start_of(c);
            stft.inverse_add(&mut sd, drums[0].as_mut_slice(), 0, s);
            stft.inverse_add(&mut sd_r, drums[0].as_mut_slice(), 1, s);
            stft.inverse_add(&mut sb, bass[0].as_mut_slice(), 0, s);
            stft.inverse_add(&mut sb_r, bass[0].as_mut_slice(), 1, s);
            stft.inverse_add(&mut sv, vocals.as_mut_slice(), 2, s);
        }
        assign_residual(mix, &mut stems);
        progress(1.0);
        Ok(stems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sdr, sums_to_mix};

    /// A deterministic noise source.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    const SR: u32 = 22_050;

    /// Four true stems: noise bursts (drums), a 55 Hz tone (bass), a panned chord (other)
    /// and a centred 349 Hz tone with harmonics (vocals).
    fn synthetic(secs: f32) -> Stems {
        let len = (secs * SR as f32) as usize;
        let mut rng = Lcg(7);
        let tau = std::f32::consts::TAU;
        let sr = SR as f32;
        let mut s: Stems = std::array::from_fn(|_| vec![[0.0; 2]; len]);
        for i in 0..len {
            let t = i as f32 / sr;
            let beat = (t * 2.0).fract();
            let env = (-beat * 40.0).exp();
            let n = rng.next() * env * 0.3;
            s[0][i] = [n, n * 0.9];
            let b = (tau * 55.0 * t).sin() * 0.3;
            s[1][i] = [b, b];
            let o = (tau * 523.25 * t).sin() * 0.08 + (tau * 622.25 * t).sin() * 0.08;
            s[2][i] = [o * 0.2, o];
            let v: f32 = (1..6)
                .map(|h| (tau * 349.2 * h as f32 * t).sin() * 0.12 / h as f32)
                .sum();
            s[3][i] = [v, v];
        }
        s
    }

    fn mix_of(s: &Stems) -> Vec<Frame> {
        (0..s[0].len())
            .map(|i| std::array::from_fn(|c| ((s[0][i][c] + s[1][i][c]) + s[2][i][c]) + s[3][i][c]))
            .collect()
    }

    #[test]
    fn stems_sum_to_the_mix_exactly_and_have_its_shape() {
        let truth = synthetic(2.0);
        let mix = mix_of(&truth);
        for len in [0, 1, 100, 5000, mix.len()] {
            let stems = DspSeparator::default().separate(&mix[..len], SR).unwrap();
            assert!(stems.iter().all(|s| s.len() == len));
            assert!(sums_to_mix(&mix[..len], &stems), "len {len}");
            assert!(stems.iter().flatten().flatten().all(|x| x.is_finite()));
        }
    }

    #[test]
    fn progress_rises_to_one_and_a_false_cancels() {
        let mix = mix_of(&synthetic(3.0));
        let mut seen = Vec::new();
        let stems = DspSeparator::default()
            .separate_with(&mix, SR, &mut |f| {
                seen.push(f);
                true
            })
            .unwrap();
        assert!(sums_to_mix(&mix, &stems));
        assert!(seen.len() > 20, "{} reports", seen.len());
        assert!(seen.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!((seen[0], *seen.last().unwrap()), (0.0, 1.0));
        // Cancelled half way: stops with Cancelled, no stems.
        let mut calls = 0;
        let r = DspSeparator::default().separate_with(&mix, SR, &mut |f| {
            calls += 1;
            f < 0.5
        });
        assert!(matches!(r, Err(SeparateError::Cancelled)));
        assert!(calls < seen.len());
    }

    #[test]
    fn silence_and_odd_rates_give_finite_exact_stems() {
        for (rate, len) in [
            (1_000, 300),
            (8_000, 10_000),
            (48_000, 3000),
            (192_000, 4000),
        ] {
            let mix = vec![[0.0f32; 2]; len];
            let stems = DspSeparator::default().separate(&mix, rate).unwrap();
            assert!(sums_to_mix(&mix, &stems));
            assert!(stems.iter().flatten().flatten().all(|x| *x == 0.0));
        }
        let loud: Vec<Frame> = (0..9000)
            .map(|i| if i % 2 == 0 { [1.0, -1.0] } else { [-1.0, 1.0] })
            .collect();
        let stems = DspSeparator::default().separate(&loud, 44_100).unwrap();
        assert!(sums_to_mix(&loud, &stems));
        assert!(stems.iter().flatten().flatten().all(|x| x.is_finite()));
    }

    #[test]
    fn separated_stems_beat_the_mix_baseline_on_a_synthetic_track() {
        let truth = synthetic(4.0);
        let mix = mix_of(&truth);
        let est = DspSeparator::default().separate(&mix, SR).unwrap();
        let mut report = String::new();
        let mut ok = true;
        for (i, name) in ["drums", "bass", "other", "vocals"].iter().enumerate() {
            let base = sdr(&truth[i], &mix, 16).unwrap();
            let got = sdr(&truth[i], &est[i], 16).unwrap();
            report += &format!("{name}: mix {base:.2} dB, dsp {got:.2} dB\n");
            ok &= got > base + 3.0;
        }
        assert!(ok, "{report}");
        eprint!("{report}");
    }

    /// The median as the separator used to take it: select the middle of a copy.
    fn select_median(v: &[u32]) -> u32 {
        let mut b = v.to_vec();
        let mid = b.len() / 2;
        *b.select_nth_unstable(mid).1
    }

    #[test]
    fn sliding_median_equals_selecting_each_window() {
        let mut rng = Lcg(11);
        for (bins, wf) in [
            (1, 8),
            (5, 8),
            (17, 8),
            (18, 8),
            (2049, 8),
            (300, 1),
            (64, 3),
        ] {
            // Quantised so that equal values occur, zeros and a NaN among them.
            let mut mag: Vec<f32> = (0..bins)
                .map(|_| (rng.next().abs() * 8.0).floor() / 8.0)
                .collect();
            if bins > 3 {
                mag[bins / 2] = f32::NAN;
            }
            let mut out = vec![0.0; bins];
            let mut win = Vec::with_capacity(2 * wf + 1);
            sliding_median(&mag, wf, &mut out, &mut win);
            for k in 0..bins {
                let w: Vec<u32> = mag[k.saturating_sub(wf)..(k + wf + 1).min(bins)]
                    .iter()
                    .map(|m| m.to_bits())
                    .collect();
                assert_eq!(
                    out[k].to_bits(),
                    select_median(&w),
                    "bins {bins} wf {wf} k {k}"
                );
            }
        }
    }

    #[test]
    fn a_sorted_column_updated_in_place_keeps_the_ring_median() {
        let mut rng = Lcg(5);
        let ring_len = 17;
        let mut ring = vec![0u32; ring_len];
        let mut col = vec![0u32; ring_len];
        for t in 0..2000 {
            let v = ((rng.next().abs() * 6.0).floor() / 6.0).to_bits();
            replace_sorted(&mut col, ring[t % ring_len], v);
            ring[t % ring_len] = v;
            assert!(col.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(col[ring_len / 2], select_median(&ring), "t {t}");
        }
    }

    #[test]
    fn frame_length_is_about_93_ms() {
        assert_eq!(frame_len(44_100), 4096);
        assert_eq!(frame_len(48_000), 4096);
        assert_eq!(frame_len(22_050), 2048);
        assert_eq!(frame_len(1_000), 256);
    }
}
