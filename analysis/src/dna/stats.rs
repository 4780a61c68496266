//! Summary statistics of one feature over many frames.

/// The statistics of a whole-track summary, in schema order.
pub(super) const STAT_NAMES: [&str; 9] = [
    "mean", "std", "min", "max", "median", "p10", "p90", "skew", "kurtosis",
];

/// The statistics of a section summary, in schema order.
pub(super) const SECTION_STAT_NAMES: [&str; 2] = ["mean", "std"];

/// Mean and population standard deviation (0 and 0 for no values).
pub(super) fn mean_std(x: &[f32]) -> (f32, f32) {
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean as f32, var.max(0.0).sqrt() as f32)
}

/// Linear-interpolated percentile `q` (0..=1) of sorted values.
pub(super) fn percentile_sorted(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = (pos - lo as f64) as f32;
    sorted[lo] + (sorted[hi] - sorted[lo]) * t
}

/// Linear-interpolated percentile `q` of unsorted values (reorders them).
fn select_percentile(x: &mut [f32], q: f64) -> f32 {
    let pos = q.clamp(0.0, 1.0) * (x.len() - 1) as f64;
    select_percentile_at(x, pos)
}

/// The value at fractional position `pos` (0..=len - 1) of the sorted `x`, interpolated
/// linearly (reorders `x`).
fn select_percentile_at(x: &mut [f32], pos: f64) -> f32 {
    let lo = (pos.floor() as usize).min(x.len() - 1);
    let (_, &mut a, rest) = x.select_nth_unstable_by(lo, f32::total_cmp);
    let t = (pos - lo as f64) as f32;
    if t > 0.0 && !rest.is_empty() {
        let b = rest.iter().fold(f32::INFINITY, |m, &v| m.min(v));
        a + (b - a) * t
    } else {
        a
    }
}

/// The 50th, 10th and 90th [`select_percentile`] of `x` (reordering it): after the median's
/// selection every value below its position is at most the median and every value above at
/// least, so the 10th percentile is selected among the lower part and the 90th among the
/// upper part, with the same results as selecting each over all of `x`.
fn percentiles_10_50_90(x: &mut [f32]) -> (f32, f32, f32) {
    let n = x.len();
    let pos = |q: f64| q * (n - 1) as f64;
    let mid = pos(0.5).floor() as usize;
    let median = select_percentile(x, 0.5);
    // The 10th percentile interpolates between positions lo and lo + 1: when lo + 1 <= mid
    // both lie in x[..=mid], whose order statistics are those of x up to mid.
    let p10 = if (pos(0.1).floor() as usize) < mid {
        select_percentile_at(&mut x[..=mid], pos(0.1))
    } else {
        select_percentile(x, 0.1)
    };
    // The 90th percentile reads positions hi >= mid and hi + 1: order statistics of x from
    // mid on are those of x[mid..] (x[mid] is the median itself, the least of them).
    let p90 = select_percentile_at(&mut x[mid..], pos(0.9) - mid as f64);
    (median, p10, p90)
}

/// The nine [`STAT_NAMES`] of `x`, written into `out`. `scratch` is reused for selecting.
/// Skew and excess kurtosis are 0 when the standard deviation is (nearly) 0.
pub(super) fn full(x: &[f32], scratch: &mut Vec<f32>, out: &mut Vec<f32>) {
    if x.is_empty() {
        out.extend([0.0; 9]);
        return;
    }
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0f64, 0.0f64, 0.0f64);
    for &v in x {
        let d = v as f64 - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    let std = m2.sqrt();
    let (skew, kurt) = if std > 1e-9 * (1.0 + mean.abs()) {
        (m3 / (m2 * std), m4 / (m2 * m2) - 3.0)
    } else {
        (0.0, 0.0)
    };
    scratch.clear();
    scratch.extend_from_slice(x);
    let (min, max) = x
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // Three linear-time selections cost less than a sort; the median's splits the values
    // so that the other two each select within one half.
    let (median, p10, p90) = percentiles_10_50_90(scratch);
    out.extend([
        mean as f32,
        std as f32,
        min,
        max,
        median,
        p10,
        p90,
        skew as f32,
        kurt as f32,
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_percentiles_are_the_full_selections() {
        let mut state = 1u32;
        for n in [1usize, 2, 3, 4, 5, 10, 11, 12, 101, 1000, 10_473] {
            let x: Vec<f32> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    ((state >> 20) % 37) as f32 - 9.5
                })
                .collect();
            let full: Vec<f32> = [0.5, 0.1, 0.9]
                .iter()
                .map(|&q| select_percentile(&mut x.clone(), q))
                .collect();
            let (m, a, b) = percentiles_10_50_90(&mut x.clone());
            assert_eq!(
                [m, a, b].map(f32::to_bits),
                [full[0], full[1], full[2]].map(f32::to_bits),
                "{n}"
            );
        }
    }

    #[test]
    fn statistics_of_a_ramp() {
        let x: Vec<f32> = (0..=10).map(|i| i as f32).collect();
        let mut out = Vec::new();
        full(&x, &mut Vec::new(), &mut out);
        assert_eq!(out.len(), STAT_NAMES.len());
        assert!((out[0] - 5.0).abs() < 1e-6);
        assert_eq!((out[2], out[3]), (0.0, 10.0));
        assert!((out[4] - 5.0).abs() < 1e-6 && (out[5] - 1.0).abs() < 1e-6);
        assert!((out[6] - 9.0).abs() < 1e-6 && out[7].abs() < 1e-6);
        let mut flat = Vec::new();
        full(&[3.0; 5], &mut Vec::new(), &mut flat);
        assert_eq!(&flat[7..], &[0.0, 0.0]);
    }
}
