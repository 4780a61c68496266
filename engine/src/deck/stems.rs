//! A deck's stem strip: per-stem gain, mute and one-knob filter (all smoothed), the fades
//! of a stem swap, and the switch from the mix to the stems' sum.
//!
//! The deck reads the **mix** while every stem sits at unity with no filter (settled), and
//! the **sum of the stems** otherwise. The stems sum to the mix sample-exactly (the
//! separators guarantee it, in the order summed here: `((drums + bass) + other) + vocals`),
//! so moving between the two is sample-continuous. Stems that arrive while the deck plays
//! ([`StemStrip::arrive`]) start at unity and ramp to the strip's settings, so a stem muted
//! before its stems existed fades out instead of dropping at once.

use super::filter::OneKnobFilter;
use crate::dsp::{sane, Smoothed};
use crate::track::Frame;

/// Gain ramp of the stem faders and mutes, seconds.
const RAMP_SECS: f64 = 0.01;

pub(crate) struct StemStrip {
    gain: [f32; 4],
    mute: [bool; 4],
    smooth: [Smoothed; 4],
    filter: [OneKnobFilter; 4],
    /// Which filters run in this block (from [`Self::begin`]).
    filtering: [bool; 4],
    ramp: u32,
}

impl StemStrip {
    pub fn new(rate: f64) -> Self {
        let ramp = ((rate * RAMP_SECS) as u32).max(1);
        Self {
            gain: [1.0; 4],
            mute: [false; 4],
            smooth: [Smoothed::new(1.0, ramp); 4],
            filter: std::array::from_fn(|_| OneKnobFilter::new(rate)),
            filtering: [false; 4],
            ramp,
        }
    }

    /// The gain stem `k` is heading for (0 when muted).
    fn target(&self, k: usize) -> f32 {
        if self.mute[k] {
            0.0
        } else {
            self.gain[k]
        }
    }

    pub fn set_gain(&mut self, k: usize, gain: f32) {
        self.gain[k] = sane(gain, 0.0, 1.0, 1.0);
        self.smooth[k].set(self.target(k));
    }

    pub fn set_mute(&mut self, k: usize, muted: bool) {
        self.mute[k] = muted;
        self.smooth[k].set(self.target(k));
    }

    pub fn set_filter(&mut self, k: usize, amount: f32) {
        self.filter[k].set(sane(amount, -1.0, 1.0, 0.0));
    }

    /// Move stem `k` to `gain` over `frames` (a swap's fade); a stem faded in is unmuted.
    pub fn fade(&mut self, k: usize, gain: f32, frames: u32) {
        self.gain[k] = sane(gain, 0.0, 1.0, 1.0);
        if self.gain[k] > 0.0 {
            self.mute[k] = false;
        }
        self.smooth[k].set_over(self.target(k), frames.max(self.ramp));
    }

    /// Stems just arrived on a deck that was reading its mix: start from unity (what the
    /// mix is) and ramp to the present settings.
    pub fn arrive(&mut self) {
        for k in 0..4 {
            self.smooth[k].reset(1.0);
            self.smooth[k].set(self.target(k));
        }
    }

    /// Start a block of a track that has stems: true when the stems must be read (a gain
    /// off unity or moving, or a filter on); false when the mix sounds the same.
    pub fn begin(&mut self) -> bool {
        let mut needed = false;
        for k in 0..4 {
            self.filtering[k] = self.filter[k].begin();
            needed |= self.filtering[k]
                || !(self.smooth[k].is_settled() && self.smooth[k].value() == 1.0);
        }
        needed
    }

    /// Advance the gains by one frame while the mix is read.
    #[inline]
    pub fn skip(&mut self) {
        for s in &mut self.smooth {
            s.next();
        }
    }

    /// One frame of the four stems, filtered and weighted, summed in stem order.
    #[inline]
    pub fn mix(&mut self, v: [Frame; 4]) -> Frame {
        let mut s = [0.0f32; 2];
        for (k, mut x) in v.into_iter().enumerate() {
            let g = self.smooth[k].next();
            if self.filtering[k] {
                x = self.filter[k].tick(x);
            }
            s[0] += x[0] * g;
            s[1] += x[1] * g;
        }
        s
    }

    /// Gains heading for (0 when muted), for the status.
    pub fn gains(&self) -> [f32; 4] {
        std::array::from_fn(|k| self.smooth[k].target())
    }

    /// Filter knob positions, for the status.
    pub fn filters(&self) -> [f32; 4] {
        std::array::from_fn(|k| self.filter[k].amount())
    }
}
