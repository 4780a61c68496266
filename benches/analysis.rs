//! Full analysis (decode included) of a 4-minute 44.1 kHz stereo track, on one core.
//! Prints "× real time" besides criterion's statistics. Goal: ≤ 1.2 s (≥ 200× real time).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use segue_models::analysis::analyze_file;
use segue_models::demo::{synthesize, DemoSpec, SectionLabel::*, Style};
use segue_models::music::{Key, Mode};
use segue_models::wav::{write_wav, WavFormat};

fn four_minute_track() -> (std::path::PathBuf, f64) {
    let spec = DemoSpec::new(
        "bench-126",
        126.0,
        Key::new(5, Mode::Minor),
        Style::FourOnFloor,
    )
    .sections(&[
        (Intro, 16),
        (Verse, 16),
        (Build, 8),
        (Drop, 32),
        (Break, 16),
        (Build, 8),
        (Drop, 16),
        (Outro, 16),
    ]);
    let t = synthesize(&spec, 44_100);
    let path = std::env::temp_dir().join(format!("segue-bench-{}.wav", std::process::id()));
    write_wav(&path, 44_100, &t.audio.mix, WavFormat::Pcm16).unwrap();
    (path, t.audio.duration_secs())
}

fn analysis(c: &mut Criterion) {
    let (path, secs) = four_minute_track();
    let t = Instant::now();
    let runs = 3;
    for _ in 0..runs {
        std::hint::black_box(analyze_file(&path).unwrap());
    }
    let each = t.elapsed().as_secs_f64() / runs as f64;
    println!("analysis/4min: {secs:.0} s track analysed (decode included) in {each:.2} s: {:.0}× real time", secs / each);
    c.bench_function("analysis/4min", |b| b.iter(|| analyze_file(&path).unwrap()));
    let _ = std::fs::remove_file(&path);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(15));
    targets = analysis
}
criterion_main!(benches);
