//! Key lock and key shift: one preallocated Signalsmith Stretch per deck, engaged only when
//! needed (key lock at a rate other than 1, or a key shift). While engaged the deck's read
//! cursor runs ahead of what is heard by the stretcher's latency.

use signalsmith_stretch::Stretch;

use super::MAX_RATE;
use crate::track::Frame;

/// Time-stretcher quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeylockQuality {
    /// Signalsmith's cheaper preset (about 2/3 of the cost of the default).
    #[default]
    Cheaper,
    /// Signalsmith's default preset.
    Default,
}

/// A zeroed buffer whose pages are written now (a fresh `vec![0.0; n]` is mapped lazily,
/// and the first write to each page would fault on the audio thread).
fn touched(len: usize) -> Vec<f32> {
    let mut v = vec![0.0; len];
    for x in &mut v {
        *x = std::hint::black_box(0.0);
    }
    v
}

/// Frames over which the stretcher's output is crossfaded in after its warm-up (the direct
/// path and the stretcher differ in phase: a cut would click).
pub(crate) const WARM_XFADE: usize = 256;

/// Engage the stretcher when the rate is further than this from 1 (with key lock on).
const ENGAGE_RATE_DIFF: f64 = 5e-4;

pub(crate) struct KeyLock {
    stretch: Stretch,
    /// Interleaved stereo input scratch.
    input: Vec<f32>,
    /// Interleaved stereo output scratch.
    output: Vec<f32>,
    /// Output discarded while warming up after (re)engaging.
    warm: Vec<f32>,
    /// Output frames of warm-up still to run (see [`KeyLock::warm_up`]).
    warming: usize,
    /// The stretcher's analysis interval in frames: after a seek it outputs silence for
    /// about this long, so engaging runs it this far ahead (see [`KeyLock::warm_up`]).
    interval: usize,
    acc: f64,
    engaged: bool,
    reseed: bool,
    transpose: f32,
    latency_in: f64,
    latency_out: f64,
}

impl KeyLock {
    pub fn new(rate_hz: u32, max_block: usize, quality: KeylockQuality) -> Self {
        // The presets' block and interval lengths (signalsmith-stretch.h).
        let (stretch, interval_secs) = match quality {
            KeylockQuality::Cheaper => (Stretch::preset_cheaper(2, rate_hz), 0.04),
            KeylockQuality::Default => (Stretch::preset_default(2, rate_hz), 0.03),
        };
        let interval = (rate_hz as f64 * interval_secs) as usize;
        let latency_in = stretch.input_latency() as f64;
        let latency_out = stretch.output_latency() as f64;
        let preroll = 2 * stretch.input_latency();
        let in_frames = ((max_block.max(interval) as f64 * MAX_RATE) as usize + 2).max(preroll);
        let mut k = Self {
            stretch,
            input: touched(2 * in_frames),
            output: touched(2 * max_block),
            warm: touched(2 * max_block),
            warming: 0,
            interval,
            acc: 0.0,
            engaged: false,
            reseed: false,
            transpose: 0.0,
            latency_in,
            latency_out,
        };
        k.prime();
        k
    }

    /// Run the stretcher once through an engage and a few intervals of silence, here on the
    /// control thread, so that the first engage on the audio thread finds every page of its
    /// memory mapped and warm rather than faulting them in inside one block.
    fn prime(&mut self) {
        let pre = self.preroll_frames().min(self.input.len() / 2);
        self.stretch.reset();
        self.stretch.seek(&self.input[..2 * pre], 1.0);
        let block = (self.output.len() / 2).max(1);
        for _ in 0..(4 * self.interval).div_ceil(block) {
            self.stretch
                .process(&self.input[..self.output.len()], &mut self.output[..]);
        }
        self.stretch.reset();
    }

    pub fn engaged(&self) -> bool {
        self.engaged
    }

    /// Should the stretcher run for these settings?
    pub fn wanted(&self, key_lock: bool, rate: f64, shift: f32) -> bool {
        let diff = (rate - 1.0).abs();
        shift != 0.0
            || (key_lock
                && if self.engaged {
                    diff > 0.0
                } else {
                    diff > ENGAGE_RATE_DIFF
                })
    }

    /// How far (track frames) the read cursor runs ahead of what is heard.
    pub fn lead(&self, rate: f64) -> f64 {
        self.latency_in + self.latency_out * rate
    }

    pub fn preroll_frames(&self) -> usize {
        2 * self.latency_in as usize
    }

    /// Start the stretcher afresh; it then warms up over the next
    /// analysis interval's output frames ([`KeyLock::warming`]).
    pub fn engage(&mut self, rate: f64, key_lock: bool, shift: f32) {
        self.stretch.reset();
        self.engaged = true;
        self.warming = self.interval + WARM_XFADE;
        self.reseed = false;
        self.acc = 0.0;
        self.transpose = f32::NAN;
        self.configure(rate, key_lock, shift);
    }

    pub fn disengage(&mut self) {
        self.engaged = false;
        self.reseed = false;
        self.warming = 0;
    }

    /// Still warming up: what the stretcher outputs is not heard yet.
    pub fn warming(&self) -> bool {
        self.engaged && self.warming > 0
    }

    /// After a jump: restart from the new cursor on the next block.
    pub fn reseed_pending(&mut self) {
        self.reseed = true;
    }

    pub fn needs_reseed(&self) -> bool {
        self.reseed
    }

    /// Key lock keeps the pitch; without it (key shift only) the pitch follows the rate.
    pub fn configure(&mut self, rate: f64, key_lock: bool, shift: f32) {
        let varispeed = if key_lock {
            0.0
        } else {
            12.0 * rate.max(1e-3).log2() as f32
        };
        let t = shift + varispeed;
        if !(self.transpose - t).abs().lt(&1e-3) {
            self.transpose = t;
            self.stretch.set_transpose_factor_semitones(t, None);
        }
    }

    /// Input frames to feed for `n` output frames at `rate`.
    pub fn input_frames(&mut self, n: usize, rate: f64) -> usize {
        self.acc += n as f64 * rate;
        let m = self.acc.floor().max(0.0);
        self.acc -= m;
        (m as usize).min(self.input.len() / 2)
    }

    pub fn take_input(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.input)
    }

    pub fn give_input(&mut self, input: Vec<f32>) {
        self.input = input;
    }

    pub fn seek(&mut self, pre: &[f32], rate: f64) {
        self.stretch.seek(pre, rate);
    }

    /// One block of the warm-up: feed `input` (interleaved) for `out.len()` output frames.
    /// `out` holds the direct path (what is heard meanwhile): for the first analysis
    /// interval the stretcher's output is thrown away, then it is crossfaded in over
    /// [`WARM_XFADE`] frames. Run block by block while [`KeyLock::warming`], it spreads the
    /// stretcher's start-up (one interval, and the re-analysis a seek asks for) over the
    /// interval's blocks instead of one block paying for all of it: the Cheaper preset
    /// splits its spectral work across the calls of an interval.
    pub fn warm_up(&mut self, input: &[f32], out: &mut [Frame]) {
        let n = out.len().min(self.warm.len() / 2);
        self.stretch.process(input, &mut self.warm[..2 * n]);
        let total = self.interval + WARM_XFADE;
        let done = total - self.warming.min(total);
        for (j, f) in out[..n].iter_mut().enumerate() {
            let k = done + j;
            if k >= self.interval {
                let w = (((k - self.interval + 1) as f32) / WARM_XFADE as f32).min(1.0);
                let (sl, sr) = (self.warm[2 * j], self.warm[2 * j + 1]);
                *f = [f[0] + (sl - f[0]) * w, f[1] + (sr - f[1]) * w];
            }
        }
        self.warming = self.warming.saturating_sub(n);
    }

    /// Stretch `input` (interleaved) into `out.len()` frames.
    pub fn process(&mut self, input: &[f32], out: &mut [Frame]) {
        let n = out.len().min(self.output.len() / 2);
        self.stretch.process(input, &mut self.output[..2 * n]);
        for (j, f) in out[..n].iter_mut().enumerate() {
            *f = [self.output[2 * j], self.output[2 * j + 1]];
        }
    }
}
