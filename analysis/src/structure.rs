//! Structure: bar-aligned sections with labels (intro, verse, build, drop, break, outro).
//!
//! Each bar gets a small feature vector from the spectrogram (overall, low, mid and high band
//! levels in dB and the share of low-band onsets, i.e. a kick). Boundaries are bars where the
//! two bars before and the two bars after differ most, kept where they are local maxima
//! above an adaptive threshold, at least [`MIN_SECTION_BARS`] apart, and preferably on the
//! 4-bar phrase grid. Labels then follow from level and drums: the loudest sections with a
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

/// Per-bar features between consecutive downbeats (the last bar ends at `end_secs`).
fn bar_features(spec: &Spectrogram, downbeats: &[f64], end_secs: f64) -> Vec<BarFeatures> {
    let fr = spec.frame_rate();
    let band = |lo: f64, hi: f64| {
        let a = (lo / spec.bin_hz(1)).ceil() as usize;
        let b = ((hi / spec.bin_hz(1)).floor() as usize).min(spec.bins - 1);
        (a.min(b), b)
    };
    let (l0, l1) = band(30.0, 150.0);
    let (m0, m1) = band(150.0, 2_500.0);
    let (h0, h1) = band(4_000.0, 16_000.0);
    let energy =
        |f: &[f32], a: usize, b: usize| f[a..=b].iter().map(|&m| (m * m) as f64).sum::<f64>();
    let n = spec.frames();
    let lows: Vec<f64> = (0..n).map(|i| energy(spec.frame(i), l0, l1)).collect();
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
                let f = spec.frame(i);
                all += energy(f, 0, spec.bins - 1);
                low += lows[i];
                mid += energy(f, m0, m1);
                high += energy(f, h0, h1);
                if i > 0 && lows[i] > 4.0 * lows[i - 1] + 1e-6 {
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

fn distance(a: &BarFeatures, b: &BarFeatures) -> f32 {
    let d = [
        a.all - b.all,
        a.low - b.low,
        a.mid - b.mid,
        a.high - b.high,
        6.0 * (a.kick - b.kick),
    ];
    d.iter().map(|x| x * x).sum::<f32>().sqrt()
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

/// Find bar-aligned sections. `downbeats` and `end_secs` in seconds; `spec` is the track's
/// spectrogram. Returns an empty list when there are fewer than 2 bars.
pub fn segment(spec: &Spectrogram, downbeats: &[f64], end_secs: f64) -> Vec<Segment> {
    let bars = bar_features(spec, downbeats, end_secs);
    let n = bars.len();
    if n < 2 {
        return Vec::new();
    }
    // Novelty at each bar boundary: 2 bars before vs 2 bars after.
    let novelty: Vec<f32> = (0..=n)
        .map(|b| {
            if b < 1 || b + 1 > n {
                return 0.0;
            }
            let before = mean(&bars[b.saturating_sub(2)..b]);
            let after = mean(&bars[b..(b + 2).min(n)]);
            distance(&before, &after)
        })
        .collect();
    let mut sorted: Vec<f32> = novelty[1..n].to_vec();
    sorted.sort_by(f32::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let threshold = (median * 1.5).max(2.0);
    // Candidates: local maxima above threshold, moved onto the 4-bar phrase grid when they
    // are one bar off it and the grid bar is nearly as novel; grid ones rank higher.
    let mut cands: Vec<(usize, f32)> = (1..n)
        .filter(|&b| {
            novelty[b] > threshold && novelty[b] >= novelty[b - 1] && novelty[b] >= novelty[b + 1]
        })
        .map(|b| {
            let snapped = [b - 1, b + 1]
                .into_iter()
                .find(|&g| g % 4 == 0 && g > 0 && g < n && novelty[g] > 0.5 * novelty[b]);
            let b = if b % 4 == 0 { b } else { snapped.unwrap_or(b) };
            (
                b,
                novelty[b].max(threshold) * if b % 4 == 0 { 1.5 } else { 1.0 },
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
