//! Folding any channel layout to stereo.
//!
//! * 1 channel: duplicated to left and right at full level.
//! * 2 channels: first is left, second is right, whatever their labels.
//! * More, with speaker positions: ITU-R BS.775 style. Left-side front channels go to the
//!   left, centre channels to both at -3 dB, left-side surround/rear/height channels to the
//!   left at -3 dB (mirrored for the right), LFE is dropped. The matrix is then scaled down so a
//!   full-scale signal in every channel cannot exceed full scale in the output.
//! * More, without positions (discrete channels, unknown labels): the average of all channels
//!   into both sides. Ambisonics: the omnidirectional W component into both.

use segue_engine::Frame;
use symphonia::core::audio::{ChannelLabel, Channels, Position};

/// -3 dB, the level of centre and surround channels in a stereo downmix.
const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// A channel-to-stereo gain matrix for one channel layout.
#[derive(Debug, Default)]
pub(super) struct Downmix {
    /// The layout `gains` was built for.
    channels: Option<Channels>,
    /// `[to_left, to_right]` gain of each input channel, in canonical plane order.
    gains: Vec<[f32; 2]>,
}

impl Downmix {
    /// Rebuild the matrix if the layout differs from the one it was built for.
    pub(super) fn update(&mut self, channels: &Channels) {
        if self.channels.as_ref() != Some(channels) {
            self.gains = stereo_gains(channels);
            self.channels = Some(channels.clone());
        }
    }

    /// Whether the layout is two channels taken as they are (left, right): then the decoded
    /// samples can be interleaved straight into the frames, with no matrix.
    pub(super) fn is_stereo(&self) -> bool {
        self.gains == [[1.0, 0.0], [0.0, 1.0]]
    }

    /// [`mix_into`](Self::mix_into) `frames` frames appended to `out`.
    #[cfg(test)]
    pub(super) fn append(&self, planes: &[Vec<f32>], frames: usize, out: &mut Vec<Frame>) {
        let start = out.len();
        out.resize(start + frames, [0.0; 2]);
        self.mix_into(planes, &mut out[start..]);
    }

    /// Mix `planes` (one slice per channel, in canonical order) into the stereo frames `out`
    /// (zeroed, one per frame mixed). Planes beyond the matrix, or shorter than `out`,
    /// contribute nothing for the missing part.
    pub(super) fn mix_into(&self, planes: &[Vec<f32>], out: &mut [Frame]) {
        for (plane, &[gl, gr]) in planes.iter().zip(&self.gains) {
            if gl == 0.0 && gr == 0.0 {
                continue;
            }
            for (o, &s) in out.iter_mut().zip(plane) {
                o[0] += gl * s;
                o[1] += gr * s;
            }
        }
    }
}

/// The `[left, right]` gain of each channel of `channels`, in canonical plane order.
fn stereo_gains(channels: &Channels) -> Vec<[f32; 2]> {
    let count = channels.count();
    match count {
        0 => return Vec::new(),
        1 => return vec![[1.0, 1.0]],
        2 => return vec![[1.0, 0.0], [0.0, 1.0]],
        _ => {}
    }
    let positioned: Option<Vec<[f32; 2]>> = match channels {
        // Planes of a positioned layout are in ascending bit order.
        Channels::Positioned(mask) => Some(
            (0..64)
                .map(|bit| 1u64 << bit)
                .filter(|bit| mask.bits() & bit != 0)
                .map(|bit| {
                    position_gains(Position::from_bits_retain(bit)).unwrap_or([MINUS_3DB; 2])
                })
                .collect(),
        ),
        Channels::Custom(labels) => labels
            .iter()
            .map(|label| match label {
                ChannelLabel::Positioned(pos) => position_gains(*pos),
                _ => None,
            })
            .collect(),
        Channels::Ambisonic(_) => {
            // ACN 0 is W, the omnidirectional component.
            let mut gains = vec![[0.0; 2]; count];
            gains[0] = [1.0, 1.0];
            return gains;
        }
        _ => None,
    };
    match positioned {
        Some(mut gains) => {
            let left: f32 = gains.iter().map(|g| g[0]).sum();
            let right: f32 = gains.iter().map(|g| g[1]).sum();
            let peak = left.max(right);
            if peak == 0.0 {
                // Only LFE channels: better the bass than silence.
                return average(count);
            }
            if peak > 1.0 {
                gains
                    .iter_mut()
                    .for_each(|g| *g = [g[0] / peak, g[1] / peak]);
            }
            gains
        }
        None => average(count),
    }
}

/// Every channel into both sides at `1 / count`.
fn average(count: usize) -> Vec<[f32; 2]> {
    let g = 1.0 / count as f32;
    vec![[g, g]; count]
}

/// `[left, right]` gains of one speaker position; `None` for an unknown position.
fn position_gains(pos: Position) -> Option<[f32; 2]> {
    const FRONT_LEFT: Position = Position::FRONT_LEFT
        .union(Position::FRONT_LEFT_CENTER)
        .union(Position::FRONT_LEFT_WIDE);
    const FRONT_RIGHT: Position = Position::FRONT_RIGHT
        .union(Position::FRONT_RIGHT_CENTER)
        .union(Position::FRONT_RIGHT_WIDE);
    const CENTRE: Position = Position::FRONT_CENTER
        .union(Position::REAR_CENTER)
        .union(Position::TOP_CENTER)
        .union(Position::TOP_FRONT_CENTER)
        .union(Position::TOP_REAR_CENTER)
        .union(Position::BOTTOM_FRONT_CENTER);
    const SURROUND_LEFT: Position = Position::REAR_LEFT
        .union(Position::SIDE_LEFT)
        .union(Position::TOP_FRONT_LEFT)
        .union(Position::TOP_REAR_LEFT)
        .union(Position::TOP_SIDE_LEFT)
        .union(Position::BOTTOM_FRONT_LEFT);
    const SURROUND_RIGHT: Position = Position::REAR_RIGHT
        .union(Position::SIDE_RIGHT)
        .union(Position::TOP_FRONT_RIGHT)
        .union(Position::TOP_REAR_RIGHT)
        .union(Position::TOP_SIDE_RIGHT)
        .union(Position::BOTTOM_FRONT_RIGHT);
    const LFE: Position = Position::LFE1.union(Position::LFE2);

    if pos.is_empty() {
        None
    } else if FRONT_LEFT.contains(pos) {
        Some([1.0, 0.0])
    } else if FRONT_RIGHT.contains(pos) {
        Some([0.0, 1.0])
    } else if CENTRE.contains(pos) {
        Some([MINUS_3DB, MINUS_3DB])
    } else if SURROUND_LEFT.contains(pos) {
        Some([MINUS_3DB, 0.0])
    } else if SURROUND_RIGHT.contains(pos) {
        Some([0.0, MINUS_3DB])
    } else if LFE.contains(pos) {
        Some([0.0, 0.0])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(channels: Channels, frame: &[f32]) -> Frame {
        let mut d = Downmix::default();
        d.update(&channels);
        let planes: Vec<Vec<f32>> = frame.iter().map(|&s| vec![s]).collect();
        let mut out = Vec::new();
        d.append(&planes, 1, &mut out);
        out[0]
    }

    fn close(a: Frame, b: Frame) -> bool {
        (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6
    }

    #[test]
    fn mono_is_duplicated_at_full_level() {
        assert_eq!(
            mix(Channels::Positioned(Position::FRONT_CENTER), &[0.5]),
            [0.5, 0.5]
        );
        assert_eq!(mix(Channels::Discrete(1), &[0.25]), [0.25, 0.25]);
    }

    #[test]
    fn stereo_passes_through() {
        let lr = Channels::Positioned(Position::FRONT_LEFT | Position::FRONT_RIGHT);
        assert_eq!(mix(lr, &[0.1, -0.2]), [0.1, -0.2]);
        assert_eq!(mix(Channels::Discrete(2), &[0.3, 0.4]), [0.3, 0.4]);
    }

    #[test]
    fn five_one_uses_itu_gains_drops_lfe_and_cannot_clip() {
        // FL FR FC LFE RL RR, canonical (bit) order.
        let layout = Channels::Positioned(Position::from_bits_retain(0b11_1111));
        let peak = 1.0 + 2.0 * MINUS_3DB;
        assert!(close(
            mix(layout.clone(), &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
            [1.0 / peak, 0.0]
        ));
        assert!(close(
            mix(layout.clone(), &[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
            [MINUS_3DB / peak; 2]
        ));
        assert!(close(
            mix(layout.clone(), &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
            [0.0, 0.0]
        ));
        assert!(close(
            mix(layout.clone(), &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
            [0.0, MINUS_3DB / peak]
        ));
        let all = mix(layout, &[1.0; 6]);
        assert!(close(all, [1.0, 1.0]), "{all:?}");
    }

    #[test]
    fn unpositioned_channels_are_averaged_and_ambisonics_use_w() {
        assert!(close(
            mix(Channels::Discrete(4), &[1.0, 0.0, 0.0, 1.0]),
            [0.5, 0.5]
        ));
        assert!(close(
            mix(Channels::Ambisonic(1), &[0.7, 0.1, 0.2, 0.3]),
            [0.7, 0.7]
        ));
    }

    #[test]
    fn custom_labels_use_positions_and_lfe_only_still_sounds() {
        let labels: Vec<ChannelLabel> =
            [Position::FRONT_RIGHT, Position::FRONT_LEFT, Position::LFE1]
                .into_iter()
                .map(ChannelLabel::Positioned)
                .collect();
        assert!(close(
            mix(Channels::from(labels), &[0.2, 0.6, 1.0]),
            [0.6, 0.2]
        ));
        let lfe: Vec<ChannelLabel> = [Position::LFE1, Position::LFE2, Position::LFE1]
            .into_iter()
            .map(ChannelLabel::Positioned)
            .collect();
        assert!(close(
            mix(Channels::from(lfe), &[0.3, 0.3, 0.3]),
            [0.3, 0.3]
        ));
    }
}
