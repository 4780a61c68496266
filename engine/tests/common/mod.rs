//! Test rig: runs the engine block by block with every `process` call under
//! `assert_no_alloc`; an allocation or free on the audio path fails the test.
#![allow(dead_code)]

use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, violation_count};
use segue_engine::{
    Beatgrid, Command, Engine, EngineConfig, EngineParts, Frame, Outputs, TrackAudio,
};

/// Run `f` as the audio thread would: any allocator call inside panics the test.
pub fn rt<T>(f: impl FnOnce() -> T) -> T {
    let before = violation_count();
    let r = assert_no_alloc(f);
    assert_eq!(
        violation_count(),
        before,
        "the audio path allocated or freed memory"
    );
    r
}

pub struct Rig {
    pub parts: EngineParts,
    bufs: [Vec<f32>; 4],
    pub rate: u32,
}

impl Rig {
    pub fn new(rate: u32, decks: usize, max_block: usize) -> Self {
        let parts = Engine::new(EngineConfig {
            sample_rate: rate,
            max_block,
            decks,
            ..EngineConfig::default()
        })
        .unwrap();
        Self {
            parts,
            bufs: std::array::from_fn(|_| vec![0.0; 8192]),
            rate,
        }
    }

    pub fn send(&mut self, c: Command) {
        self.parts.handle.send(c).unwrap();
    }

    pub fn send_at(&mut self, frame: u64, c: Command) {
        self.parts.handle.send_at(frame, c).unwrap();
    }

    /// Render one block of `n` frames (≤ 8192) under `assert_no_alloc`.
    pub fn block(&mut self, n: usize) -> (Vec<Frame>, Vec<Frame>) {
        let [ml, mr, cl, cr] = &mut self.bufs;
        let engine = &mut self.parts.engine;
        rt(|| {
            let mut out = Outputs {
                master: [&mut ml[..n], &mut mr[..n]],
                cue: [&mut cl[..n], &mut cr[..n]],
            };
            engine.process(&mut out, n);
        });
        self.parts.collector.collect();
        let m = (0..n).map(|i| [ml[i], mr[i]]).collect();
        let c = (0..n).map(|i| [cl[i], cr[i]]).collect();
        (m, c)
    }

    /// Render `frames` frames in blocks of `block`; returns the master bus.
    pub fn run(&mut self, frames: usize, block: usize) -> Vec<Frame> {
        let mut out = Vec::with_capacity(frames);
        let mut done = 0;
        while done < frames {
            let n = block.min(frames - done);
            out.extend(self.block(n).0);
            done += n;
        }
        out
    }

    /// Render and keep both buses.
    pub fn run_both(&mut self, frames: usize, block: usize) -> (Vec<Frame>, Vec<Frame>) {
        let (mut m, mut c) = (Vec::new(), Vec::new());
        let mut done = 0;
        while done < frames {
            let n = block.min(frames - done);
            let (a, b) = self.block(n);
            m.extend(a);
            c.extend(b);
            done += n;
        }
        (m, c)
    }

    pub fn load(&mut self, deck: u8, audio: TrackAudio) {
        self.send(Command::Load {
            deck,
            audio: Arc::new(audio),
        });
    }

    pub fn grid(&mut self, deck: u8, grid: Beatgrid) {
        self.send(Command::SetBeatgrid {
            deck,
            grid: Some(Arc::new(grid)),
        });
    }
}

pub fn sine(rate: u32, freq: f64, amp: f32, secs: f64) -> TrackAudio {
    let n = (rate as f64 * secs) as usize;
    let mix = (0..n)
        .map(|i| {
            let s = (std::f64::consts::TAU * freq * i as f64 / rate as f64).sin() as f32 * amp;
            [s, s]
        })
        .collect();
    TrackAudio::new(rate, mix)
}

/// A track whose sample value encodes its own frame index: `(i + 1) * scale`, so any
/// output sample tells exactly which track frame was played.
pub fn ramp(rate: u32, frames: usize, scale: f32) -> TrackAudio {
    TrackAudio::new(
        rate,
        (0..frames).map(|i| [(i + 1) as f32 * scale; 2]).collect(),
    )
}

/// Short clicks (5 ms decaying 2 kHz bursts) at every beat of `bpm`, starting at frame
/// `first`, in the given channel only (0 = left, 1 = right, 2 = both).
pub fn clicks(rate: u32, bpm: f64, first: f64, secs: f64, channel: usize) -> TrackAudio {
    let n = (rate as f64 * secs) as usize;
    let period = 60.0 * rate as f64 / bpm;
    let mut mix = vec![[0.0f32; 2]; n];
    let len = (0.005 * rate as f64) as usize;
    let mut k = 0;
    loop {
        let start = (first + k as f64 * period).round() as usize;
        if start >= n {
            break;
        }
        for j in 0..len.min(n - start) {
            let t = j as f64 / rate as f64;
            let v = ((std::f64::consts::TAU * 2000.0 * t).sin() * (-t * 800.0).exp()) as f32 * 0.5;
            for (c, s) in mix[start + j].iter_mut().enumerate() {
                if channel == 2 || channel == c {
                    *s = v;
                }
            }
        }
        k += 1;
    }
    TrackAudio::new(rate, mix)
}

/// Onsets (frame of the first sample above `thr` after ≥ `gap` quiet frames) in a channel.
pub fn onsets(x: &[Frame], channel: usize, thr: f32, gap: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quiet = gap;
    for (i, f) in x.iter().enumerate() {
        if f[channel].abs() > thr {
            if quiet >= gap {
                out.push(i);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    out
}

/// Power of `freq` in a mono signal (Goertzel), normalised by length.
pub fn goertzel(x: &[f32], rate: u32, freq: f64) -> f64 {
    let w = std::f64::consts::TAU * freq / rate as f64;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = v as f64 + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.len() as f64 * x.len() as f64)
}

pub fn left(x: &[Frame]) -> Vec<f32> {
    x.iter().map(|f| f[0]).collect()
}

pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / x.len().max(1) as f64).sqrt()
}
