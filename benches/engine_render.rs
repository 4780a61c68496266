//! Engine render cost: 4 decks playing, each with 4 stems mixed live and key lock engaged at
//! +3 % tempo, 48 kHz, blocks of 64 and 512 frames. Prints "× real time" and "% of one core"
//! besides criterion's own statistics, and the worst blocks (p99.9 and maximum block time),
//! also while tempo faders move through zero with key lock on (the stretcher engaging and
//! warming up again and again).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use segue_engine::{
    Command, Engine, EngineConfig, EngineParts, Outputs, Position, Stem, TrackAudio,
};

mod common;

const RATE: u32 = 48_000;

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

fn setup(block: usize, key_lock: bool) -> EngineParts {
    let mut parts = Engine::new(EngineConfig {
        sample_rate: RATE,
        max_block: block,
        decks: 4,
        ..EngineConfig::default()
    })
    .unwrap();
    for d in 0..4u8 {
        let h = &mut parts.handle;
        h.send(Command::Load {
            deck: d,
            audio: Arc::new(track(d as u32)),
        })
        .unwrap();
        h.send(Command::KeyLock {
            deck: d,
            on: key_lock,
        })
        .unwrap();
        h.send(Command::Tempo {
            deck: d,
            percent: 3.0,
        })
        .unwrap();
        // A stem away from unity: the deck mixes its four stems live.
        h.send(Command::StemGain {
            deck: d,
            stem: Stem::Vocals,
            gain: 0.8,
        })
        .unwrap();
        // Loop the whole track so the decks never stop, however long criterion runs.
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

struct Bufs(Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>);

impl Bufs {
    fn new(n: usize) -> Self {
        Self(vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n])
    }
    fn process(&mut self, engine: &mut Engine, n: usize) {
        let mut out = Outputs {
            master: [&mut self.0[..n], &mut self.1[..n]],
            cue: [&mut self.2[..n], &mut self.3[..n]],
        };
        engine.process(&mut out, n);
        black_box(&out.master[0][0]);
    }
}

/// Render 20 s of audio in blocks of `block` and print the ratio line.
fn ratio_line(parts: &mut EngineParts, bufs: &mut Bufs, block: usize, what: &str) {
    let blocks = 20 * RATE as usize / block;
    let t = Instant::now();
    for _ in 0..blocks {
        bufs.process(&mut parts.engine, block);
    }
    let secs = t.elapsed().as_secs_f64();
    let audio = (blocks * block) as f64 / RATE as f64;
    println!(
        "engine_render/{block}: 4 decks × 4 stems, {what}, 48 kHz: {:.1}× real time, {:.2} % of one core",
        audio / secs,
        100.0 * secs / audio
    );
}

/// Time every block of 20 s of audio (after `change` ran before each block) and print the
/// mean, p99.9 and maximum block time, the maximum also as a share of the block's period.
/// Times are the thread's CPU time, so a block the scheduler preempted (other work on the
/// machine) is not counted as costly: what is measured is what the block costs.
fn block_times(
    parts: &mut EngineParts,
    bufs: &mut Bufs,
    block: usize,
    what: &str,
    mut change: impl FnMut(usize, &mut segue_engine::EngineHandle),
) {
    let blocks = 20 * RATE as usize / block;
    let mut times = Vec::with_capacity(blocks);
    for i in 0..blocks {
        change(i, &mut parts.handle);
        let t = common::thread_cpu_secs();
        bufs.process(&mut parts.engine, block);
        times.push(common::thread_cpu_secs() - t);
    }
    let mean = times.iter().sum::<f64>() / blocks as f64;
    times.sort_by(f64::total_cmp);
    let p999 = times[(blocks * 999 / 1000).min(blocks - 1)];
    let max = times[blocks - 1];
    let period = block as f64 / RATE as f64;
    println!(
        "engine_render/{block}: {what}: block time mean {:.1} µs, p99.9 {:.1} µs, max {:.1} µs \
         ({:.0} % of the {:.2} ms period)",
        mean * 1e6,
        p999 * 1e6,
        max * 1e6,
        100.0 * max / period,
        period * 1e3
    );
}

/// Every 6 blocks one deck's tempo fader moves through zero (+2 %, 0, −2 %, 0, …: with key
/// lock on, the stretcher disengages at zero and engages again off it), and every 96 blocks
/// one deck's key lock is switched (engaging at its ±2 % when switched on).
fn pitch_through_zero(i: usize, h: &mut segue_engine::EngineHandle) {
    if i % 6 == 0 {
        let deck = (i / 6 % 4) as u8;
        let percent = [2.0, 0.0, -2.0, 0.0][i / 24 % 4];
        h.send(Command::Tempo { deck, percent }).unwrap();
    }
    if i % 96 == 48 {
        let deck = (i / 96 % 4) as u8;
        h.send(Command::KeyLock {
            deck,
            on: i / 384 % 2 == 1,
        })
        .unwrap();
    }
}

fn engine_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_render");
    for block in [64usize, 512] {
        // For reference: the engine's own cost, without the time-stretcher.
        let mut plain = setup(block, false);
        let mut bufs = Bufs::new(block);
        ratio_line(&mut plain, &mut bufs, block, "tempo +3 % without key lock");

        let mut parts = setup(block, true);
        // Warm up: let every deck engage its stretcher.
        for _ in 0..(RATE as usize / block) {
            bufs.process(&mut parts.engine, block);
        }
        assert!(parts.handle.status().decks[..4]
            .iter()
            .all(|d| d.playing && d.stretching));
        ratio_line(&mut parts, &mut bufs, block, "key lock at +3 %");
        block_times(&mut parts, &mut bufs, block, "key lock at +3 %", |_, _| {});
        let mut moving = setup(block, true);
        block_times(
            &mut moving,
            &mut bufs,
            block,
            "key lock, tempo faders moving through 0 %, key lock switched",
            pitch_through_zero,
        );

        group.throughput(Throughput::Elements(block as u64));
        group.bench_function(format!("{block}_frames_key_lock"), |b| {
            b.iter(|| bufs.process(&mut parts.engine, block))
        });
        assert!(parts.handle.status().decks[..4]
            .iter()
            .all(|d| d.playing && d.stretching));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(50);
    targets = engine_render
}
criterion_main!(benches);
