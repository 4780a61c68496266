//! CDJ-style main cue and the eight hot cues.

use super::Deck;
use crate::command::Position;
use crate::status::HOT_CUES;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CueState {
    /// Main cue point, frames.
    pub point: f64,
    /// The cue button is held and the deck plays from the cue point.
    pub previewing: bool,
}

impl Deck {
    /// The cue button (pressed or released).
    pub fn cue_button(&mut self, pressed: bool) {
        if self.track.is_none() {
            return;
        }
        let running = self.playing && !self.stopping;
        if pressed {
            if running && !self.cue.previewing {
                // Playing: back to the cue point, paused there.
                self.return_and_pause();
            } else if !running {
                let pos = self.position();
                if (pos - self.cue.point).abs() < 1.0 {
                    self.cue.previewing = true;
                    self.playing = true;
                    self.stopping = false;
                    self.park = None;
                    self.at_end = false;
                    self.play_gain.set(1.0);
                } else {
                    self.cue.point = self.snap(pos);
                    self.jump(self.cue.point);
                }
            }
        } else if self.cue.previewing {
            self.cue.previewing = false;
            self.return_and_pause();
        }
    }

    fn return_and_pause(&mut self) {
        self.jump(self.cue.point);
        self.stop();
        self.park = Some(self.cue.point);
    }

    pub fn set_cue(&mut self, at: Position) {
        if let Some(f) = self.resolve(at) {
            self.cue.point = f;
        }
    }

    pub fn cue_return(&mut self) {
        if self.track.is_some() {
            self.jump(self.cue.point);
        }
    }

    /// Hot cue pad: jump if set, else set at the playhead (snapped when quantize is on).
    pub fn hot_cue(&mut self, index: u8) {
        let i = index as usize;
        if i >= HOT_CUES || self.track.is_none() {
            return;
        }
        match self.hot_cues[i] {
            Some(p) => self.jump(p),
            None => self.hot_cues[i] = Some(self.snap(self.position())),
        }
    }

    pub fn set_hot_cue(&mut self, index: u8, at: Position) {
        let i = index as usize;
        if i < HOT_CUES {
            if let Some(f) = self.resolve(at) {
                self.hot_cues[i] = Some(f);
            }
        }
    }

    pub fn clear_hot_cue(&mut self, index: u8) {
        if let Some(h) = self.hot_cues.get_mut(index as usize) {
            *h = None;
        }
    }
}
