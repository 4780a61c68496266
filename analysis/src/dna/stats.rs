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
    let lo = pos.floor() as usize;
    let (_, &mut a, rest) = x.select_nth_unstable_by(lo, f32::total_cmp);
    let t = (pos - lo as f64) as f32;
    if t > 0.0 && !rest.is_empty() {
        let b = rest.iter().fold(f32::INFINITY, |m, &v| m.min(v));
        a + (b - a) * t
    } else {
        a
    }
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
    // Three linear-time selections cost less than a sort.
    let p10 = select_percentile(scratch, 0.1);
    let median = select_percentile(scratch, 0.5);
    let p90 = select_percentile(scratch, 0.9);
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
