//! What the FX units cost: 4 decks × 4 stems playing at +3 % tempo, 48 kHz, blocks of 64
//! and 512 frames, with both FX units off, then fully loaded (unit 1: echo → reverb →
//! flanger on decks 1 and 2; unit 2: ping-pong → phaser → filter sweep on the master; unit
//! 1's decks also through gate → bitcrusher → roll in a second run). Prints "% of one core"
//! (thread CPU time, so a busy machine does not inflate it) and the difference.
//!
//! `cargo bench -p segue-engine --bench fx_render`

#[path = "../../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;

use segue_engine::{
    Command, Effect, Engine, EngineConfig, EngineParts, FxMode, Outputs, Position, Stem, TrackAudio,
};

const RATE: u32 = 48_000;
const SECS: usize = 20;

/// A 60 s track whose four stems are distinct tones with a little noise.
fn track(seed: u32) -> TrackAudio {
    let n = RATE as usize * 60;
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    let stems: [Vec<[f32; 2]>; 4] = std::array::from_fn(|k| {
        let f = 55.0 * (k as f32 + 1.0) * 1.5 + seed as f32;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let noise = (x as f32 / u32::MAX as f32 - 0.5) * 0.02;
                let s = (i as f32 * f * std::f32::consts::TAU / RATE as f32).sin() * 0.1 + noise;
                [s, s * 0.9]
            })
            .collect()
    });
    let mix = (0..n)
        .map(|i| {
            let mut m = [0.0; 2];
            for s in &stems {
                m[0] += s[i][0];
                m[1] += s[i][1];
            }
            m
        })
        .collect();
    TrackAudio::new(RATE, mix).with_stems(stems).unwrap()
}

fn setup(tracks: &[Arc<TrackAudio>], block: usize) -> EngineParts {
    let mut parts = Engine::new(EngineConfig {
        sample_rate: RATE,
        max_block: block,
        decks: 4,
        ..EngineConfig::default()
    })
    .unwrap();
    for (d, t) in tracks.iter().enumerate() {
        let d = d as u8;
        let h = &mut parts.handle;
        h.send(Command::Load {
            deck: d,
            audio: t.clone(),
        })
        .unwrap();
        h.send(Command::Tempo {
            deck: d,
            percent: 3.0,
        })
        .unwrap();
        h.send(Command::StemGain {
            deck: d,
            stem: Stem::Vocals,
            gain: 0.8,
        })
        .unwrap();
        h.send(Command::SetLoop {
            deck: d,
            start: Position::Seconds(1.0),
            end: Position::Seconds(59.0),
        })
        .unwrap();
        h.send(Command::Play { deck: d, on: true }).unwrap();
    }
    parts
}

fn load_fx(parts: &mut EngineParts, chains: [[Effect; 3]; 2]) {
    let h = &mut parts.handle;
    let mut send = |c| h.send(c).unwrap();
    for (unit, chain) in chains.iter().enumerate() {
        let unit = unit as u8;
        send(Command::FxMode {
            unit,
            mode: FxMode::Chain,
        });
        for (slot, &effect) in chain.iter().enumerate() {
            send(Command::FxSelect {
                unit,
                slot: slot as u8,
                effect: Some(effect),
            });
        }
        send(Command::FxMix { unit, mix: 0.6 });
        send(Command::FxOn { unit, on: true });
    }
    send(Command::FxAssign {
        unit: 0,
        deck: 0,
        on: true,
    });
    send(Command::FxAssign {
        unit: 0,
        deck: 1,
        on: true,
    });
    send(Command::FxAssignMaster { unit: 1, on: true });
}

/// Render `SECS` seconds in blocks of `block`; % of one core (thread CPU time).
fn cost(parts: &mut EngineParts, block: usize) -> f64 {
    let mut b = [
        vec![0.0f32; block],
        vec![0.0; block],
        vec![0.0; block],
        vec![0.0; block],
    ];
    let [ml, mr, cl, cr] = &mut b;
    let mut render = |engine: &mut Engine| {
        let mut out = Outputs {
            master: [&mut ml[..], &mut mr[..]],
            cue: [&mut cl[..], &mut cr[..]],
        };
        engine.process(&mut out, block);
        black_box(out.master[0][0]);
    };
    // Warm up: one second (the effects' ramps, caches).
    for _ in 0..RATE as usize / block {
        render(&mut parts.engine);
    }
    let blocks = SECS * RATE as usize / block;
    let t = common::thread_cpu_secs();
    for _ in 0..blocks {
        render(&mut parts.engine);
    }
    let secs = common::thread_cpu_secs() - t;
    100.0 * secs / ((blocks * block) as f64 / RATE as f64)
}

fn main() {
    let tracks: Vec<Arc<TrackAudio>> = (0..4).map(|d| Arc::new(track(d))).collect();
    let loaded = [
        [Effect::Echo, Effect::Reverb, Effect::Flanger],
        [Effect::PingPong, Effect::Phaser, Effect::FilterSweep],
    ];
    let cheap = [
        [Effect::Gate, Effect::Bitcrusher, Effect::Roll],
        [Effect::Reverb, Effect::Echo, Effect::Phaser],
    ];
    for block in [64usize, 512] {
        let mut plain = setup(&tracks, block);
        let base = cost(&mut plain, block);
        println!(
            "fx_render/{block}: 4 decks × 4 stems, tempo +3 %, FX off: {base:.2} % of one core"
        );
        for (what, chains) in [
            (
                "echo → reverb → flanger + ping-pong → phaser → sweep",
                loaded,
            ),
            ("gate → bitcrusher → roll + reverb → echo → phaser", cheap),
        ] {
            let mut parts = setup(&tracks, block);
            load_fx(&mut parts, chains);
            let with = cost(&mut parts, block);
            let st = parts.handle.status();
            assert!(st
                .fx
                .iter()
                .all(|u| u.on && u.slots.iter().all(|s| s.active)));
            println!(
                "fx_render/{block}: both units loaded ({what}): {with:.2} % of one core, FX +{:.2} % of one core",
                with - base
            );
        }
    }
}
