//! DSP stem separation of a 1-minute 44.1 kHz stereo demo track on one core (one thread).
//! Prints "× real time" (per CPU second of the thread) besides criterion's statistics.
//! Goal: ≥ 50× real time.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use segue_analysis::music::{Key, Mode};
use segue_demo::{synthesize, DemoSpec, SectionLabel::*, Style};
use segue_separate::{DspSeparator, Separator};

mod common;
use common::thread_cpu_secs;

fn separation(c: &mut Criterion) {
    let spec = DemoSpec::new(
        "bench-sep-124",
        124.0,
        Key::new(9, Mode::Minor),
        Style::FourOnFloor,
    )
    .sections(&[(Intro, 8), (Drop, 16), (Break, 4), (Outro, 4)]);
    let track = synthesize(&spec, 44_100);
    let mix = track.audio.mix;
    let secs = mix.len() as f64 / 44_100.0;
    let mut sep = DspSeparator::default();
    let (t, cpu) = (Instant::now(), thread_cpu_secs());
    let runs = 3;
    for _ in 0..runs {
        std::hint::black_box(sep.separate(&mix, 44_100).unwrap());
    }
    let wall = t.elapsed().as_secs_f64() / runs as f64;
    let cpu = (thread_cpu_secs() - cpu) / runs as f64;
    println!(
        "separate/dsp: {secs:.0} s track in {wall:.2} s wall, {cpu:.2} s CPU: {:.0}× real time ({:.0}× per CPU second)",
        secs / wall,
        secs / cpu
    );
    let mut group = c.benchmark_group("separate");
    group.sample_size(10);
    group.bench_function("dsp/1min", |b| {
        b.iter(|| sep.separate(&mix, 44_100).unwrap())
    });
    group.finish();
}

criterion_group!(benches, separation);
criterion_main!(benches);
