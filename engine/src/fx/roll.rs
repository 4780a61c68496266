//! Roll (stutter): when engaged it waits for the next `beats` boundary of the grid, captures
//! `beats` of audio while passing it through, then repeats the capture until released. The
//! loop seam is crossfaded with the audio that followed the capture.

use super::Ctx;
use crate::track::Frame;

/// Loop seam crossfade.
const SEAM_SECS: f64 = 0.003;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    /// Waiting for the boundary after the beat index `last`.
    Armed {
        last: f64,
    },
    /// Capturing: frames written so far of `len`.
    Recording {
        len: usize,
        done: usize,
    },
    /// Repeating the capture of `len` frames at offset `pos`; `tail` continuation frames
    /// written after it.
    Looping {
        len: usize,
        pos: usize,
        tail: usize,
    },
}

pub(crate) struct Roll {
    buf: Vec<Frame>,
    seam: usize,
    state: State,
}

impl Roll {
    pub fn new(max_frames: usize, rate: f64) -> Self {
        let seam = ((rate * SEAM_SECS) as usize).max(1);
        Self {
            buf: vec![[0.0; 2]; max_frames + seam + 1],
            seam,
            state: State::Idle,
        }
    }

    pub fn restart(&mut self) {
        self.state = State::Idle;
    }

    /// Rolled signal into `out` (the input itself until the capture plays); the slot calls
    /// it while engaged or fading out, and [`Roll::restart`] when it engages again.
    pub fn render(&mut self, input: &[Frame], out: &mut [Frame], ctx: &Ctx) {
        let period = ctx.beats as f64;
        let max = self.buf.len() - self.seam - 1;
        for (j, (x, o)) in input.iter().zip(out.iter_mut()).enumerate() {
            let slot = (ctx.clock.beat_at(j) / period).floor();
            if self.state == State::Idle {
                self.state = State::Armed { last: slot };
            }
            if let State::Armed { last } = self.state {
                if slot != last {
                    let len = (period * ctx.clock.frames_per_beat()).round() as usize;
                    self.state = State::Recording {
                        len: len.clamp(1, max),
                        done: 0,
                    };
                }
            }
            *o = *x;
            match self.state {
                State::Recording { len, done } => {
                    self.buf[done] = *x;
                    self.state = if done + 1 >= len {
                        State::Looping {
                            len,
                            pos: 0,
                            tail: 0,
                        }
                    } else {
                        State::Recording {
                            len,
                            done: done + 1,
                        }
                    };
                }
                State::Looping { len, pos, tail } => {
                    let mut tail = tail;
                    if tail < self.seam {
                        self.buf[len + tail] = *x;
                        tail += 1;
                    }
                    let v = self.buf[pos];
                    *o = if pos < self.seam {
                        // Fade from what followed the capture into its start.
                        let t = pos as f32 / self.seam as f32;
                        let c = self.buf[len + pos];
                        [c[0] + (v[0] - c[0]) * t, c[1] + (v[1] - c[1]) * t]
                    } else {
                        v
                    };
                    let pos = if pos + 1 >= len { 0 } else { pos + 1 };
                    self.state = State::Looping { len, pos, tail };
                }
                _ => {}
            }
        }
    }
}
