//! Structure: bar-aligned sections with labels (intro, verse, build, drop, break, outro).
//!
//! Boundaries come from a bar-synchronous novelty curve: each bar of the music (leading
//! silence and the final chord's tail left out) is described by 16 log-spaced band levels,
//! how percussive each band is, and a chroma, every dimension z-scored over the track; the
//! novelty at a bar line is the distance between the mean of the 4 bars before and the 4
//! bars after (a box-kernel Foote novelty). Boundaries are its local maxima above a share of
//! its peak, at least [`MIN_SECTION_BARS`] apart, and preferably on the 4-bar phrase grid (the grid offset the novelty peaks agree on).
//! Labels use simpler bar features (overall, low, mid and high band levels in dB and the
//! share of low-band onsets, i.e. a kick) and follow from level and drums: the loudest sections with a
//! kick are drops, quiet kick-less sections between them are breaks, a section that leads
//! into a drop while rising is a build, the lower-energy opening is the intro, the part after
//! the last drop the outro, and everything else a verse.

use super::{SectionLabel, Spectrogram};

/// Shortest section, in bars.
pub const MIN_SECTION_BARS: usize = 4;

/// A section found by [`segment`]: bar indices `[start_bar, end_bar)` into the downbeats, and
/// its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// First bar (index into the downbeats).
    pub start_bar: usize,
    /// One past the last bar.
    pub end_bar: usize,
    /// Label.
    pub label: SectionLabel,
    /// Mean level of the section in dB (relative, for energy ranking).
    pub level_db: f32,
}

#[derive(Debug, Clone, Copy, Default)]
struct BarFeatures {
    all: f32,
    low: f32,
    mid: f32,
    high: f32,
    kick: f32,
}

fn db(x: f64) -> f32 {
    (10.0 * (x + 1e-10).log10()) as f32
}

/// The per-frame quantities [`segment`] reads from a spectrogram, gathered one frame at a
/// time as the frames come (from a stored spectrogram, or streamed by
/// [`Spectrogram::each_frame`]: the pipeline): per frame only what the per-bar sums add, so
/// that they add the same numbers in the same order.
pub(crate) struct BarFrames {
    frame_rate: f64,
    /// Bins of the low, mid and high bands of the labels' features.
    bands: [(usize, usize); 3],
    /// Bins `a..z` of each timbre band.
    timbre_bins: [(usize, usize); TIMBRE_BANDS],
    /// The chroma's bins and each one's pitch class, in bin order.
    chroma_bins: Vec<(usize, usize)>,
    /// Per frame: power (sum of squared magnitudes, f64) of all bins, of the low, the mid
    /// and the high band.
    levels: Vec<[f64; 4]>,
    /// Per frame: mean power of each timbre band.
    timbre: Vec<[f32; TIMBRE_BANDS]>,
    /// Per frame: the magnitudes of the chroma's bins (`chroma_bins.len()` a frame).
    chroma: Vec<f32>,
    /// The squared magnitudes of the frames not yet summed, per bin: [`BATCH`] frames' at a
    /// time, their sums computed together (independent chains of additions, side by side).
    pending: Vec<[f32; BATCH]>,
    /// Frames in `pending`.
    waiting: usize,
}

/// Frames whose per-frame sums are computed together.
const BATCH: usize = 8;

impl BarFrames {
    /// For the frames of spectrograms shaped like `shape` (its FFT size, hop, rate and
    /// bins; its magnitudes are not read).
    pub(crate) fn new(shape: &Spectrogram) -> Self {
        let bins = shape.bins;
        let hz = shape.bin_hz(1);
        let band = |lo: f64, hi: f64| {
            let a = (lo / hz).ceil() as usize;
            let b = ((hi / hz).floor() as usize).min(bins - 1);
            (a.min(b), b)
        };
        // Timbre band edges in bins.
        let (lo_hz, hi_hz) = (
            40.0f64,
            16_000.0f64.min(0.5 * shape.sample_rate as f64 - hz),
        );
        let edges: Vec<usize> = (0..=TIMBRE_BANDS)
            .map(|i| {
                let f = lo_hz * (hi_hz / lo_hz).powf(i as f64 / TIMBRE_BANDS as f64);
                ((f / hz).round() as usize).clamp(1, bins - 1)
            })
            .collect();
        let timbre_bins = std::array::from_fn(|b| {
            let (a, z) = (edges[b], edges[b + 1].max(edges[b] + 1));
            (a, z)
        });
        // Chroma bins: 80 Hz - 2 kHz, each bin to its pitch class.
        let chroma_bins: Vec<(usize, usize)> = (1..bins)
            .filter_map(|k| {
                let f = k as f64 * hz;
                (80.0..2_000.0).contains(&f).then(|| {
                    let midi = 69.0 + 12.0 * (f / 440.0).log2();
                    (k, (midi.round() as i64).rem_euclid(12) as usize)
                })
            })
            .collect();
        Self {
            frame_rate: shape.frame_rate(),
            bands: [
                band(30.0, 150.0),
                band(150.0, 2_500.0),
                band(4_000.0, 16_000.0),
            ],
            timbre_bins,
            chroma_bins,
            levels: Vec::new(),
            timbre: Vec::new(),
            chroma: Vec::new(),
            pending: vec![[0.0; BATCH]; bins],
            waiting: 0,
        }
    }

    /// The next frame's magnitudes (all the shape's bins).
    pub(crate) fn push(&mut self, f: &[f32]) {
        let j = self.waiting;
        for (p, &m) in self.pending.iter_mut().zip(f) {
            p[j] = m * m;
        }
        self.chroma
            .extend(self.chroma_bins.iter().map(|&(bin, _)| f[bin]));
        self.waiting += 1;
        if self.waiting == BATCH {
            self.sum_pending();
        }
    }

    /// The per-frame sums of the frames waiting.
    fn sum_pending(&mut self) {
        if self.waiting > 0 {
            batch_sums(self);
            self.waiting = 0;
        }
    }

    /// Every frame's sums (the last batch summed).
    fn finished(mut self) -> Self {
        self.sum_pending();
        self
    }

    /// Number of frames summed.
    fn frames(&self) -> usize {
        self.levels.len()
    }
}

avx2_or_portable! {
    /// The per-frame sums of the frames waiting in `b.pending`, appended: per frame, each sum
    /// adds its squared magnitudes first to last (the frames' sums side by side, in lanes).
    fn batch_sums / batch_sums_avx2(b: &mut BarFrames) = batch_sums_with
}

#[inline(always)]
fn batch_sums_with(b: &mut BarFrames) {
    let pending = &b.pending;
    let bins = pending.len();
    // Sums of squared magnitudes, in f64.
    let energy = |lo: usize, hi: usize| {
        let mut acc = [0.0f64; BATCH];
        for p in &pending[lo..=hi] {
            for j in 0..BATCH {
                acc[j] += p[j] as f64;
            }
        }
        acc
    };
    let [(l0, l1), (m0, m1), (h0, h1)] = b.bands;
    let levels = [
        energy(0, bins - 1),
        energy(l0, l1),
        energy(m0, m1),
        energy(h0, h1),
    ];
    // Mean squared magnitude per timbre band, in f32.
    let timbre: [[f32; BATCH]; TIMBRE_BANDS] = std::array::from_fn(|t| {
        let (a, z) = b.timbre_bins[t];
        let mut acc = [0.0f32; BATCH];
        for p in &pending[a..z.min(bins)] {
            for j in 0..BATCH {
                acc[j] += p[j];
            }
        }
        acc.map(|v| v / (z - a) as f32)
    });
    for j in 0..b.waiting {
        b.levels.push(levels.map(|l| l[j]));
        b.timbre.push(timbre.map(|t| t[j]));
    }
}

/// Per-bar features between consecutive downbeats (the last bar ends at `end_secs`).
fn bar_features(frames: &BarFrames, downbeats: &[f64], end_secs: f64) -> Vec<BarFeatures> {
    let fr = frames.frame_rate;
    let n = frames.frames();
    let levels = &frames.levels;
    (0..downbeats.len())
        .map(|k| {
            let s = ((downbeats[k] * fr).round() as usize).min(n);
            let e = ((downbeats.get(k + 1).copied().unwrap_or(end_secs) * fr).round() as usize)
                .clamp(s, n);
            if e <= s {
                return BarFeatures::default();
            }
            let (mut all, mut low, mut mid, mut high) = (0.0, 0.0, 0.0, 0.0);
            let mut rises = 0usize;
            for i in s..e {
                let [a, l, m, h] = levels[i];
                all += a;
                low += l;
                mid += m;
                high += h;
                if i > 0 && l > 4.0 * levels[i - 1][1] + 1e-6 {
                    rises += 1;
                }
            }
            let len = (e - s) as f64;
            BarFeatures {
                all: db(all / len),
                low: db(low / len),
                mid: db(mid / len),
                high: db(high / len),
                kick: rises as f32 / 4.0,
            }
        })
        .collect()
}

fn mean(bars: &[BarFeatures]) -> BarFeatures {
    let n = bars.len().max(1) as f32;
    let mut m = BarFeatures::default();
    for b in bars {
        m.all += b.all / n;
        m.low += b.low / n;
        m.mid += b.mid / n;
        m.high += b.high / n;
        m.kick += b.kick / n;
    }
    m
}

/// Bands of the timbre part of the bar features: log-spaced from 40 Hz to 16 kHz.
const TIMBRE_BANDS: usize = 16;

/// Half-width of the novelty kernel, bars: the bars before and after a candidate boundary
/// that are compared.
const NOVELTY_BARS: usize = 4;

/// A boundary's novelty must reach this share of the track's highest novelty.
const RELATIVE_THRESHOLD: f32 = 0.3;

/// ... and this much (mean z-score distance per dimension): a track without sections has
/// none.
const MIN_NOVELTY: f32 = 0.3;

/// Weight of a candidate on the 4-bar phrase grid against one off it.
const PHRASE_BONUS: f32 = 1.3;

/// Bars this far (dB) below the median bar are silence before the music.
const SILENCE_BELOW_DB: f32 = 30.0;

/// Bars this far (dB) below the median bar at the end are the final chord's tail.
const TAIL_BELOW_DB: f32 = 8.0;

/// Per-bar description for the novelty curve: per-band mean level (dB), per-band mean of
/// the frames' dB (their difference is how percussive a band is: a band of steady pads
/// has none, one of drum hits a lot) and a 12-bin chroma of 80 Hz-2 kHz; each dimension
/// z-scored over the bars given, with a floor on the spread so that a dimension that
/// barely changes stays quiet.
fn bar_vectors(frames: &BarFrames, downbeats: &[f64], end_secs: f64) -> Vec<Vec<f32>> {
    let fr = frames.frame_rate;
    let n = frames.frames();
    let chroma_bins = &frames.chroma_bins;
    let dims = 2 * TIMBRE_BANDS + 12;
    let mut out = Vec::with_capacity(downbeats.len());
    for k in 0..downbeats.len() {
        let s = ((downbeats[k] * fr).round() as usize).min(n);
        let e =
            ((downbeats.get(k + 1).copied().unwrap_or(end_secs) * fr).round() as usize).clamp(s, n);
        let mut v = vec![0.0f32; dims];
        if e <= s {
            out.push(v);
            continue;
        }
        let mut power = [0.0f64; TIMBRE_BANDS];
        let mut chroma = [0.0f64; 12];
        for i in s..e {
            let frame_band = &frames.timbre[i];
            for (b, &p) in frame_band.iter().enumerate() {
                power[b] += p as f64;
            }
            for (b, &p) in frame_band.iter().enumerate() {
                v[TIMBRE_BANDS + b] += db(p as f64);
            }
            let mags = &frames.chroma[i * chroma_bins.len()..(i + 1) * chroma_bins.len()];
            for (&(_, pc), &m) in chroma_bins.iter().zip(mags) {
                chroma[pc] += m as f64;
            }
        }
        let len = (e - s) as f32;
        for b in 0..TIMBRE_BANDS {
            v[b] = db(power[b] / len as f64);
            v[TIMBRE_BANDS + b] = v[b] - v[TIMBRE_BANDS + b] / len;
        }
        let total: f64 = chroma.iter().sum::<f64>().max(1e-12);
        for (c, x) in chroma.iter().enumerate() {
            v[2 * TIMBRE_BANDS + c] = (x / total) as f32;
        }
        out.push(v);
    }
    // z-score each dimension over the bars that have sound.
    let nb = out.len().max(1) as f32;
    for d in 0..dims {
        let floor = if d < 2 * TIMBRE_BANDS { 2.0 } else { 0.03 };
        let m = out.iter().map(|v| v[d]).sum::<f32>() / nb;
        let sd = (out.iter().map(|v| (v[d] - m).powi(2)).sum::<f32>() / nb).sqrt();
        let sd = sd.max(floor);
        for v in out.iter_mut() {
            v[d] = (v[d] - m) / sd;
        }
    }
    out
}

/// Novelty at each bar boundary `0..=n`: the distance between the mean vectors of the
/// `half` bars before and after (fewer near the ends), per dimension.
fn novelty_curve(v: &[Vec<f32>], half: usize) -> Vec<f32> {
    let n = v.len();
    let dims = v.first().map_or(0, |x| x.len()).max(1);
    (0..=n)
        .map(|b| {
            let l = half.min(b).min(n - b);
            if l == 0 {
                return 0.0;
            }
            let mut d2 = 0.0f32;
            for d in 0..dims {
                let a: f32 = v[b - l..b].iter().map(|x| x[d]).sum::<f32>() / l as f32;
                let c: f32 = v[b..b + l].iter().map(|x| x[d]).sum::<f32>() / l as f32;
                d2 += (a - c) * (a - c);
            }
            // Fewer bars are less sure: shrink towards zero.
            (d2 / dims as f32).sqrt() * (l as f32 / half as f32).sqrt()
        })
        .collect()
}

/// Find bar-aligned sections. `downbeats` and `end_secs` in seconds; `spec` is the track's
/// spectrogram. Returns an empty list when there are fewer than 2 bars.
///
/// The last bar is at most as long as the one before it: the beats stop at the last hit, and
/// a ringing tail after it is no bar of the music (taken for one long last bar, its novelty
/// outweighed every real boundary).
pub fn segment(spec: &Spectrogram, downbeats: &[f64], end_secs: f64) -> Vec<Segment> {
    let mut frames = BarFrames::new(spec);
    for i in 0..spec.frames() {
        frames.push(spec.frame(i));
    }
    segment_frames(frames, downbeats, end_secs)
}

/// [`segment`] from the spectrogram's frames as [`BarFrames`] gathered them.
pub(crate) fn segment_frames(frames: BarFrames, downbeats: &[f64], end_secs: f64) -> Vec<Segment> {
    let end_secs = match *downbeats {
        [.., a, b] if b > a => end_secs.min(2.0 * b - a),
        _ => end_secs,
    };
    let frames = &frames.finished();
    let bars = bar_features(frames, downbeats, end_secs);
    let n = bars.len();
    if n < 2 {
        return Vec::new();
    }
    // Bars of the music itself: the leading silence and the reverb tail after the last
    // chord are left out (their level change is no section boundary).
    let mut levels: Vec<f32> = bars.iter().map(|b| b.all).collect();
    levels.sort_by(f32::total_cmp);
    let median_level = levels[n / 2];
    let first = bars
        .iter()
        .position(|b| b.all >= median_level - SILENCE_BELOW_DB)
        .unwrap_or(0);
    let last = bars
        .iter()
        .rposition(|b| b.all >= median_level - TAIL_BELOW_DB)
        .map_or(n, |l| l + 1)
        .max(first + 1);
    let music_end = downbeats.get(last).copied().unwrap_or(end_secs);
    let vectors = bar_vectors(frames, &downbeats[first..last], music_end);
    let mut novelty = vec![0.0f32; n + 1];
    for (i, v) in novelty_curve(&vectors, NOVELTY_BARS)
        .into_iter()
        .enumerate()
    {
        novelty[first + i] = v;
    }
    let top = novelty[1..n].iter().copied().fold(0.0f32, f32::max);
    let threshold = (RELATIVE_THRESHOLD * top).max(MIN_NOVELTY);
    let local_max = |b: usize| novelty[b] >= novelty[b - 1] && novelty[b] >= novelty[b + 1];
    // The 4-bar phrase grid: the offset whose local maxima carry the most novelty.
    let offset = (0..4)
        .max_by(|&a, &b| {
            let s = |o: usize| {
                (1..n)
                    .filter(|&b| b % 4 == o && local_max(b))
                    .map(|b| novelty[b].powi(2))
                    .sum::<f32>()
            };
            s(a).total_cmp(&s(b))
        })
        .unwrap_or(0);
    let on_grid = |b: usize| b % 4 == offset;
    // Candidates: local maxima above threshold, moved onto the phrase grid when they are one
    // bar off it and the grid bar is nearly as novel; grid ones rank higher.
    let mut cands: Vec<(usize, f32)> = (1..n)
        .filter(|&b| novelty[b] > threshold && local_max(b))
        .map(|b| {
            let snapped = [b - 1, b + 1]
                .into_iter()
                .find(|&g| on_grid(g) && g > 0 && g < n && novelty[g] > 0.5 * novelty[b]);
            let b = if on_grid(b) { b } else { snapped.unwrap_or(b) };
            (
                b,
                novelty[b].max(threshold) * if on_grid(b) { PHRASE_BONUS } else { 1.0 },
            )
        })
        .collect();
    cands.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut cuts: Vec<usize> = vec![0, n];
    for (b, _) in cands {
        if cuts.iter().all(|&c| c.abs_diff(b) >= MIN_SECTION_BARS) {
            cuts.push(b);
        }
    }
    cuts.sort_unstable();
    let mut segs: Vec<Segment> = cuts
        .windows(2)
        .map(|w| {
            let m = mean(&bars[w[0]..w[1]]);
            Segment {
                start_bar: w[0],
                end_bar: w[1],
                label: SectionLabel::Verse,
                level_db: m.all,
            }
        })
        .collect();
    label(&mut segs, &bars);
    segs
}

/// Assign labels from level and drums.
fn label(segs: &mut [Segment], bars: &[BarFeatures]) {
    let kick = |s: &Segment| mean(&bars[s.start_bar..s.end_bar]).kick > 0.4;
    let top = segs.iter().map(|s| s.level_db).fold(f32::MIN, f32::max);
    let bottom = segs.iter().map(|s| s.level_db).fold(f32::MAX, f32::min);
    let span = (top - bottom).max(1e-3);
    let rel = |s: &Segment| (s.level_db - bottom) / span;
    let drops: Vec<usize> = (0..segs.len())
        .filter(|&i| rel(&segs[i]) > 0.8 && kick(&segs[i]))
        .collect();
    for &i in &drops {
        segs[i].label = SectionLabel::Drop;
    }
    let (first_drop, last_drop) = match (drops.first(), drops.last()) {
        (Some(&f), Some(&l)) => (f, l),
        _ => (segs.len(), segs.len()),
    };
    for i in 0..segs.len() {
        if segs[i].label == SectionLabel::Drop {
            continue;
        }
        let next_is_drop = segs
            .get(i + 1)
            .is_some_and(|s| s.label == SectionLabel::Drop);
        let quiet = rel(&segs[i]) < 0.5;
        segs[i].label = if i + 1 == segs.len() && i > last_drop {
            SectionLabel::Outro
        } else if i > first_drop && i < last_drop && quiet && !kick(&segs[i]) {
            SectionLabel::Break
        } else if next_is_drop && i > 0 && segs[i].end_bar - segs[i].start_bar <= 8 {
            SectionLabel::Build
        } else if i < first_drop
            && (i == 0 || segs[..i].iter().all(|s| s.label == SectionLabel::Intro))
            && quiet
        {
            SectionLabel::Intro
        } else if i > last_drop {
            SectionLabel::Outro
        } else {
            SectionLabel::Verse
        };
    }
    if segs.first().is_some_and(|s| s.label == SectionLabel::Verse) && segs.len() > 2 {
        segs[0].label = SectionLabel::Intro;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_frame_sums_are_each_frame_s_sums_to_the_bit() {
        let rate = 44_100;
        let mut state = 0x0dd_ba11u32;
        let x: Vec<f32> = (0..rate as usize * 2 + 3_000)
            .map(|i| (crate::test_uniform(&mut state) - 0.5) * (1.0 + (i as f32 * 3e-4).sin()))
            .collect();
        let spec = Spectrogram::compute(&x, rate, 2048, 1024);
        assert_ne!(spec.frames() % BATCH, 0);
        let mut frames = BarFrames::new(&spec);
        for i in 0..spec.frames() {
            frames.push(spec.frame(i));
        }
        let frames = frames.finished();
        assert_eq!(frames.frames(), spec.frames());
        let [(l0, l1), (m0, m1), (h0, h1)] = frames.bands;
        for i in 0..spec.frames() {
            // Each frame's sums, one after the other, first bin to last.
            let f = spec.frame(i);
            let energy = |a: usize, b: usize| f[a..=b].iter().map(|&m| (m * m) as f64).sum::<f64>();
            let levels = [
                energy(0, spec.bins - 1),
                energy(l0, l1),
                energy(m0, m1),
                energy(h0, h1),
            ];
            assert_eq!(levels.map(f64::to_bits), frames.levels[i].map(f64::to_bits));
            let timbre: [f32; TIMBRE_BANDS] = std::array::from_fn(|b| {
                let (a, z) = frames.timbre_bins[b];
                f[a..z.min(spec.bins)].iter().map(|m| m * m).sum::<f32>() / (z - a) as f32
            });
            assert_eq!(timbre.map(f32::to_bits), frames.timbre[i].map(f32::to_bits));
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut avx2 = BarFrames::new(&spec);
            let mut portable = BarFrames::new(&spec);
            for i in 0..spec.frames() {
                for b in [&mut avx2, &mut portable] {
                    let j = b.waiting;
                    for (p, &m) in b.pending.iter_mut().zip(spec.frame(i)) {
                        p[j] = m * m;
                    }
                    b.waiting += 1;
                }
                if avx2.waiting == BATCH || i + 1 == spec.frames() {
                    // SAFETY: the CPU supports AVX2, checked above.
                    unsafe { batch_sums_avx2(&mut avx2) };
                    batch_sums_with(&mut portable);
                    avx2.waiting = 0;
                    portable.waiting = 0;
                }
            }
            let bits = |b: &BarFrames| {
                let l: Vec<_> = b.levels.iter().map(|v| v.map(f64::to_bits)).collect();
                let t: Vec<_> = b.timbre.iter().map(|v| v.map(f32::to_bits)).collect();
                (l, t)
            };
            assert_eq!(bits(&avx2), bits(&portable));
            assert_eq!(bits(&avx2), bits(&frames));
        }
    }
}
