//! Offline rendering: the same engine, driven block by block as fast as the CPU allows
//! (used by tests, the demo mix and automix renders).

use crate::engine::{EngineParts, Outputs};
use crate::track::Frame;

/// What an offline render produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// Master bus, stereo frames.
    pub master: Vec<Frame>,
    /// Cue/headphone bus, stereo frames.
    pub cue: Vec<Frame>,
}

impl EngineParts {
    /// Render `frames` frames in blocks of `block` frames, collecting garbage between
    /// blocks. Commands already sent through the handle are applied at their frames;
    /// `between` runs before every block (e.g. to send more commands) with the frame the
    /// block starts at.
    pub fn render_offline(
        &mut self,
        frames: usize,
        block: usize,
        mut between: impl FnMut(&mut Self, u64),
    ) -> Rendered {
        let block = block.max(1);
        let mut planar = [
            vec![0.0f32; block],
            vec![0.0f32; block],
            vec![0.0f32; block],
            vec![0.0f32; block],
        ];
        let mut out = Rendered {
            master: Vec::with_capacity(frames),
            cue: Vec::with_capacity(frames),
        };
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(block);
            let start = self.engine.frame();
            between(self, start);
            let [ml, mr, cl, cr] = &mut planar;
            let mut outputs = Outputs {
                master: [&mut ml[..n], &mut mr[..n]],
                cue: [&mut cl[..n], &mut cr[..n]],
            };
            self.engine.process(&mut outputs, n);
            out.master.extend((0..n).map(|i| [ml[i], mr[i]]));
            out.cue.extend((0..n).map(|i| [cl[i], cr[i]]));
            self.collector.collect();
            done += n;
        }
        out
    }
}
