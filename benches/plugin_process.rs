//! Plugin `process` cost through the CLAP host harness: the release bundle
//! (`cargo xtask bundle segue-plugin --release`, built by the bench), 4 decks each playing a
//! demo track with its 4 stems mixed live (vocals at 0.8) and key lock engaged at +3 %
//! tempo, 48 kHz, blocks of 64 and 512 frames. Prints "× real time" and "% of one core"
//! besides criterion's own statistics; the engine alone is `benches/engine_render.rs`.

#[path = "../tests/clap_host/mod.rs"]
mod clap_host;

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap_host::{param_hash, session_of, with_session, Event, Library, Processor};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use segue_demo as demo;
use serde_json::Value;

const RATE: u32 = 48_000;

/// Hot cue 1 on every deck (back near the start, so the decks never run out).
fn rewind() -> Vec<Event> {
    (0..4u8)
        .map(|channel| Event::Note {
            time: 0,
            channel,
            key: 36,
            velocity: 1.0,
        })
        .collect()
}

fn ratio_line(p: &mut Processor, block: usize) {
    let blocks = 20 * RATE as usize / block;
    let rewind = rewind();
    let t = Instant::now();
    for i in 0..blocks {
        let ev: &[Event] = if i == 0 { &rewind } else { &[] };
        black_box(p.process(block, ev, None));
    }
    let secs = t.elapsed().as_secs_f64();
    let audio = (blocks * block) as f64 / RATE as f64;
    println!(
        "plugin_process/{block}: 4 decks × 4 stems, key lock at +3 %, 48 kHz, CLAP host: {:.1}× real time, {:.2} % of one core",
        audio / secs,
        100.0 * secs / audio
    );
}

fn plugin_process(c: &mut Criterion) {
    let bundle = clap_host::bundle(true);
    let lib = Library::load(&bundle.join("Segue.clap"));
    let dir = std::env::temp_dir().join(format!("segue-plugin-bench-{}", std::process::id()));
    let tracks: Vec<_> = demo::demo_set()[1..5]
        .iter()
        .map(|s| demo::write_track(&dir, &demo::synthesize(s, 44_100)).unwrap())
        .collect();
    let mut group = c.benchmark_group("plugin_process");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for block in [64usize, 512] {
        let mut inst = lib.create("org.segue.segue");
        let state = with_session(&inst.save_state(), |s| {
            for (d, t) in tracks.iter().enumerate() {
                s["decks"][d]["track"] = Value::from(t.to_str().unwrap());
            }
        });
        assert!(inst.load_state(&state));
        assert!(inst.activate(RATE as f64, block as u32));
        let mut p = inst.processor(block);
        let mut setup = Vec::new();
        for d in 1..=4 {
            for (id, value) in [("play", 1.0), ("tempo", 11.0 / 16.0), ("vocals", 0.8)] {
                setup.push(Event::Param {
                    time: 0,
                    id: param_hash(&format!("{id}_{d}")),
                    value,
                });
            }
        }
        p.process(block, &setup, None);
        // Wait until every deck is loaded and analysed (its cues are in the session).
        let start = Instant::now();
        loop {
            for _ in 0..16 {
                p.process(block, &[], None);
            }
            let s = session_of(&inst.save_state());
            if (0..4).all(|d| s["decks"][d]["hot_cues"][0].is_number()) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "tracks not ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ratio_line(&mut p, block);
        group.throughput(Throughput::Elements(block as u64));
        let rewind = rewind();
        let mut i = 0usize;
        let every = 10 * RATE as usize / block;
        group.bench_function(format!("{block}_frames_4_decks_key_lock"), |b| {
            b.iter(|| {
                i += 1;
                let ev: &[Event] = if i % every == 0 { &rewind } else { &[] };
                black_box(p.process(block, ev, None))
            })
        });
        p.stop();
        drop(p);
        drop(inst);
    }
    group.finish();
}

criterion_group!(benches, plugin_process);
criterion_main!(benches);
