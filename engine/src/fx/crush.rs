//! Bitcrusher: drive, sample-and-hold rate reduction and bit-depth reduction.

use super::Ctx;
use crate::track::Frame;

pub(crate) struct Crusher {
    hold: Frame,
    count: f32,
    /// Engine rate / 48 kHz: the hold is counted in 48 kHz frames, so the knob gives the
    /// same reduced rate (48 kHz … 1.5 kHz) at any engine rate.
    scale: f32,
}

impl Crusher {
    pub fn new(rate: f64) -> Self {
        Self {
            hold: [0.0; 2],
            count: f32::MAX,
            scale: (rate / 48_000.0) as f32,
        }
    }

    pub fn restart(&mut self) {
        self.count = f32::MAX;
    }

    /// Bits for knob 1: 16 (0) … 2 (1).
    pub fn bits(knob: f32) -> f32 {
        16.0 - 14.0 * knob.clamp(0.0, 1.0)
    }

    /// Crushed signal into `out`. Knobs: bit depth (16 … 2 bits), rate reduction (hold each
    /// sample for 1 … 32 frames at 48 kHz, as long in time at other rates), drive (×1 … ×4
    /// before the quantiser, level kept).
    pub fn render(&mut self, input: &[Frame], out: &mut [Frame], ctx: &Ctx) {
        let levels = 2f32.powf(Self::bits(ctx.params[0]) - 1.0);
        let hold = ((1.0 + 31.0 * ctx.params[1].clamp(0.0, 1.0)) * self.scale).max(1.0);
        let drive = 1.0 + 3.0 * ctx.params[2].clamp(0.0, 1.0);
        for (x, o) in input.iter().zip(out.iter_mut()) {
            self.count += 1.0;
            if self.count >= hold {
                self.count -= hold;
                if self.count >= hold {
                    self.count = 0.0;
                }
                for (h, &v) in self.hold.iter_mut().zip(x) {
                    let v = (v * drive).clamp(-1.0, 1.0);
                    *h = (v * levels).round() / levels / drive;
                }
            }
            *o = self.hold;
        }
    }
}
