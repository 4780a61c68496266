//! Fader curves.

use crate::command::CrossfaderSide;

/// Gain of a deck assigned to `side` at crossfader `position` (−1 = A .. 1 = B) with
/// `curve` 0 (smooth, constant power: −3 dB each in the centre) .. 1 (sharp: both full in
/// the centre, a fast cut at the far end).
pub fn crossfader_gain(side: CrossfaderSide, position: f32, curve: f32) -> f32 {
    let t = ((position.clamp(-1.0, 1.0) + 1.0) * 0.5) as f64;
    // Distance from the deck's own end: 0 = fully on its side, 1 = fully away.
    let d = match side {
        CrossfaderSide::Thru => return 1.0,
        CrossfaderSide::A => t,
        CrossfaderSide::B => 1.0 - t,
    };
    if d >= 1.0 {
        return 0.0;
    }
    let boost = 100f64.powf(curve.clamp(0.0, 1.0) as f64);
    ((d * std::f64::consts::FRAC_PI_2).cos() * boost).min(1.0) as f32
}

/// Gain of a channel fader at `level` (0..1) with `curve` 0 (slow start) .. 0.5 (linear)
/// .. 1 (fast start). The ends are always 0 and 1.
pub fn channel_fader_gain(level: f32, curve: f32) -> f32 {
    let exponent = 2f32.powf(2.0 - 4.0 * curve.clamp(0.0, 1.0));
    level.clamp(0.0, 1.0).powf(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thru_ignores_the_crossfader() {
        assert_eq!(crossfader_gain(CrossfaderSide::Thru, -1.0, 0.0), 1.0);
        assert_eq!(crossfader_gain(CrossfaderSide::Thru, 1.0, 1.0), 1.0);
    }

    #[test]
    fn channel_fader_ends_are_fixed_and_middle_follows_curve() {
        for c in [0.0, 0.5, 1.0] {
            assert_eq!(channel_fader_gain(0.0, c), 0.0);
            assert_eq!(channel_fader_gain(1.0, c), 1.0);
        }
        assert!((channel_fader_gain(0.5, 0.5) - 0.5).abs() < 1e-6);
        assert!(channel_fader_gain(0.5, 0.0) < 0.1);
        assert!(channel_fader_gain(0.5, 1.0) > 0.8);
    }
}
