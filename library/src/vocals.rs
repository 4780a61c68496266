//! Where a track sings: its vocal stem's level over time, small enough to keep beside a
//! deck (one `f32` per 256 frames: about 0.7 MB for an hour at 48 kHz).
//!
//! The transition planner asks for it per beat of the track's grid ([`VocalEnvelope::per_beat`])
//! so a mix-out never cuts across a sung phrase and two vocals never sound at once. `segue
//! mix` computes it from stem files, a live deck from the stems it plays (files beside the
//! track, or separated in the background), so the same rule holds offline and live.

use segue_engine::Frame;

/// Mean power of a vocal stem over consecutive hops of [`VocalEnvelope::HOP`] frames.
#[derive(Debug, Clone, PartialEq)]
pub struct VocalEnvelope {
    rate: u32,
    frames: usize,
    power: Box<[f32]>,
}

impl VocalEnvelope {
    /// Frames per envelope value (5.3 ms at 48 kHz: a beat is dozens of them).
    pub const HOP: usize = 256;

    /// The envelope of a vocal stem at `rate` Hz.
    pub fn of(vocals: &[Frame], rate: u32) -> Self {
        let power = vocals
            .chunks(Self::HOP)
            .map(|c| {
                let sum: f64 = c
                    .iter()
                    .map(|f| (f[0] as f64 * f[0] as f64 + f[1] as f64 * f[1] as f64) / 2.0)
                    .sum();
                (sum / c.len() as f64) as f32
            })
            .collect();
        VocalEnvelope {
            rate,
            frames: vocals.len(),
            power,
        }
    }

    /// Sample rate of the stem it was made from.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// RMS level of each beat: from beat `i` to beat `i + 1` (the last to the end of the
    /// track), `beats` in frames at [`VocalEnvelope::rate`]. Beat edges fall on the nearest
    /// hop boundary; a beat shorter than a hop reads its hop.
    pub fn per_beat(&self, beats: &[f64]) -> Vec<f32> {
        let n = self.power.len();
        let hop = |frame: f64| ((frame.max(0.0) / Self::HOP as f64).round() as usize).min(n);
        let end = self.frames as f64;
        beats
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                let s = hop(b);
                let e = hop(beats.get(i + 1).copied().unwrap_or(end))
                    .max(s + 1)
                    .min(n);
                let s = s.min(e.saturating_sub(1));
                if e <= s {
                    return 0.0;
                }
                let sum: f64 = self.power[s..e].iter().map(|&p| p as f64).sum();
                (sum / (e - s) as f64).sqrt() as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_beat_levels_follow_where_the_stem_sings() {
        // 4 beats of 12 000 frames: silent, loud (0.5 constant), quiet (0.1), silent.
        let rate = 48_000;
        let mut v = vec![[0.0f32; 2]; 48_000];
        for f in &mut v[12_000..24_000] {
            *f = [0.5, 0.5];
        }
        for f in &mut v[24_000..36_000] {
            *f = [0.1, -0.1];
        }
        let env = VocalEnvelope::of(&v, rate);
        assert_eq!(env.rate(), rate);
        let got = env.per_beat(&[0.0, 12_000.0, 24_000.0, 36_000.0]);
        let want = [0.0, 0.5, 0.1, 0.0];
        for (g, w) in got.iter().zip(want) {
            // Beat edges round to the nearest 256-frame hop: at most one hop of 47 leaks.
            assert!((g - w).abs() < 0.5 * 0.1, "{got:?}");
        }
        assert!(got[1] > 0.45 && got[2] > 0.08 && got[2] < 0.12, "{got:?}");
    }

    #[test]
    fn odd_grids_give_a_level_per_beat_without_panicking() {
        let env = VocalEnvelope::of(&[[0.3, 0.3]; 1000], 44_100);
        // Beats past the end, before the start, equal and reversed.
        let got = env.per_beat(&[-500.0, 0.0, 0.0, 900.0, 400.0, 10_000.0]);
        assert_eq!(got.len(), 6);
        assert!(got.iter().all(|x| x.is_finite() && *x >= 0.0), "{got:?}");
        assert!(VocalEnvelope::of(&[], 48_000).per_beat(&[0.0, 1.0]) == vec![0.0, 0.0]);
    }
}
