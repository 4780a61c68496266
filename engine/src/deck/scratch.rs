//! Jog-wheel scratching. While the platter is touched the deck follows a target position
//! that the jog wheel moves (`Command::ScratchMove`), forwards or backwards, at the rate
//! that closes the gap within [`SCRATCH_FOLLOW_SECS`]: a steady turn plays at the turn's
//! speed, a hand holding the platter still stops the sound, a fast flick plays fast.
//! Key lock is bypassed while scratching (like a turntable). Releasing the platter hands
//! back to the deck's own transport (playing or paused as before).

use super::{Deck, MAX_RATE};
use crate::dsp::sane;

/// How quickly the playhead catches up with the platter.
pub(crate) const SCRATCH_FOLLOW_SECS: f64 = 0.02;

impl Deck {
    /// Platter touched (`true`) or released.
    pub fn scratch(&mut self, on: bool) {
        if !on {
            self.scratch_target = None;
            return;
        }
        if self.track.is_none() || self.scratch_target.is_some() {
            return;
        }
        let p = self.position();
        if self.keylock.engaged() {
            self.read_pos = p;
            self.keylock.disengage();
        }
        self.jump_from = None;
        self.scratch_target = Some(p);
    }

    /// Move the platter by `seconds` of audio (negative = backwards); ignored unless touched.
    pub fn scratch_move(&mut self, seconds: f32) {
        let frames = self.frames();
        let step = sane(seconds, -60.0, 60.0, 0.0) as f64 * self.rate_hz;
        if let Some(t) = &mut self.scratch_target {
            *t = (*t + step).clamp(0.0, frames);
        }
    }

    pub(crate) fn scratching(&self) -> bool {
        self.scratch_target.is_some()
    }

    /// Rate for the next `n` frames: close the gap to the platter without overshooting.
    pub(crate) fn scratch_rate(&self, n: usize) -> f64 {
        let Some(target) = self.scratch_target else {
            return 0.0;
        };
        let window = (SCRATCH_FOLLOW_SECS * self.rate_hz).max(n as f64).max(1.0);
        ((target - self.read_pos) / window).clamp(-MAX_RATE, MAX_RATE)
    }
}
