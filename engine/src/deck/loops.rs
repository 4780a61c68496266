//! Loops: beat loops (1/32..64 beats, quantized to the grid), manual loops, reloop and
//! loop roll with slip (playback resumes where it would have been).

use super::Deck;
use crate::command::Position;
use crate::dsp::sane;

/// Shortest and longest beat loop.
pub(crate) const MIN_LOOP_BEATS: f32 = 1.0 / 32.0;
pub(crate) const MAX_LOOP_BEATS: f32 = 64.0;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LoopState {
    /// Loop in (frames); also the remembered loop when not enabled.
    pub start: f64,
    /// Loop out (frames); `end > start` whenever a loop exists.
    pub end: f64,
    enabled: bool,
    roll: Option<Roll>,
}

#[derive(Debug, Clone, Copy)]
struct Roll {
    /// Where the read cursor would be without the roll.
    slip: f64,
    /// The loop state to restore on release.
    before: (f64, f64, bool),
}

impl LoopState {
    pub fn active(&self) -> bool {
        self.enabled
    }

    pub fn rolling(&self) -> bool {
        self.roll.is_some()
    }

    /// Advance a read cursor by `rate`, wrapping at the loop end. Exact to the sample: a
    /// cursor that reaches `end` continues at `start` plus the overshoot.
    #[inline]
    pub fn advance(&mut self, pos: f64, rate: f64) -> f64 {
        let mut p = pos + rate;
        if let Some(r) = &mut self.roll {
            r.slip += rate;
        }
        let len = self.end - self.start;
        if self.enabled && len > 0.0 && pos < self.end && p >= self.end {
            while p >= self.end {
                p -= len;
            }
        }
        p
    }

    /// A heard position that lags the read cursor across a wrap is moved back inside.
    pub fn unwrap_heard(&self, p: f64) -> f64 {
        let len = self.end - self.start;
        if self.enabled && len > 0.0 && p < self.start && p + len >= self.start {
            p + len
        } else {
            p
        }
    }
}

impl Deck {
    /// Loop in for a new beat loop at the playhead.
    fn loop_in(&self, beats: f64) -> f64 {
        let pos = self.position();
        if !(self.quantize && self.grid.is_some()) {
            return pos;
        }
        // Snap to the loop's own resolution (a beat, or a fraction for short loops); a
        // press just before a boundary counts as on it.
        let q = beats.min(1.0);
        let b = self.beat_at(pos) / q;
        let snapped = if b - b.floor() > 0.9 {
            b.ceil()
        } else {
            b.floor()
        };
        self.frame_at_beat(snapped * q)
    }

    pub fn beat_loop(&mut self, beats: f32) {
        if self.track.is_none() {
            return;
        }
        let beats = sane(beats, MIN_LOOP_BEATS, MAX_LOOP_BEATS, 4.0) as f64;
        let start = if self.loops.enabled && !self.loops.rolling() {
            self.loops.start
        } else {
            self.loop_in(beats)
        };
        let end = self.frame_at_beat(self.beat_at(start) + beats);
        self.set_loop_frames(start, end);
    }

    pub fn set_loop(&mut self, start: Position, end: Position) {
        if let (Some(s), Some(e)) = (self.resolve(start), self.resolve(end)) {
            self.set_loop_frames(s, e);
        }
    }

    fn set_loop_frames(&mut self, start: f64, end: f64) {
        if end - start >= 1.0 {
            self.loops.start = start;
            self.loops.end = end;
            self.loops.enabled = true;
            // A playhead already past the new end jumps back into the loop.
            let pos = self.position();
            if pos >= end {
                self.jump(start + (pos - start) % (end - start));
            }
        }
    }

    pub fn loop_exit(&mut self) {
        self.loops.enabled = false;
    }

    pub fn reloop(&mut self) {
        let l = self.loops;
        if l.end - l.start >= 1.0 && self.track.is_some() {
            self.loops.enabled = true;
            if self.position() >= l.end {
                self.jump(l.start);
            }
        }
    }

    pub fn loop_roll(&mut self, beats: f32, on: bool) {
        if self.track.is_none() {
            return;
        }
        match (on, self.loops.roll) {
            (true, None) => {
                let before = (self.loops.start, self.loops.end, self.loops.enabled);
                let slip = self.read_pos;
                self.loops.enabled = false;
                self.beat_loop(beats);
                self.loops.roll = Some(Roll { slip, before });
            }
            (true, Some(_)) => {
                let beats = sane(beats, MIN_LOOP_BEATS, MAX_LOOP_BEATS, 1.0) as f64;
                let start = self.loops.start;
                self.loops.end = self
                    .frame_at_beat(self.beat_at(start) + beats)
                    .max(start + 1.0);
            }
            (false, Some(roll)) => {
                let (s, e, en) = roll.before;
                self.loops = LoopState {
                    start: s,
                    end: e,
                    enabled: en,
                    roll: None,
                };
                let lead = if self.keylock.engaged() {
                    self.keylock.lead(self.rate)
                } else {
                    0.0
                };
                self.jump(roll.slip - lead);
            }
            (false, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_wraps_exactly_at_loop_end() {
        let mut l = LoopState {
            start: 100.0,
            end: 200.0,
            enabled: true,
            roll: None,
        };
        assert_eq!(l.advance(198.0, 1.0), 199.0);
        assert_eq!(l.advance(199.0, 1.0), 100.0);
        assert_eq!(l.advance(199.5, 1.0), 100.5);
        // Before the loop the cursor runs freely.
        assert_eq!(l.advance(50.0, 1.0), 51.0);
    }
}
