//! Full analysis (decode included) of a 4-minute 44.1 kHz stereo track, on one core.
//! Prints "× real time" besides criterion's statistics. Goal: ≤ 1.2 s (≥ 200× real time).
//!
//! Library scan throughput: eight 4-minute tracks (WAV) scanned into a fresh SQLite library
//! with two analysis jobs (`segue library add` on a 2-core machine leaves one core free and
//! so runs one; `--jobs 2` uses both), reported in tracks per minute.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use segue_models::analysis::analyze_file;
use segue_models::demo::{synthesize, DemoSpec, SectionLabel::*, Style};
use segue_models::library::scan;
use segue_models::music::{Key, Mode};
use segue_models::wav::{write_wav, WavFormat};

fn four_minute_track() -> (std::path::PathBuf, f64) {
    four_minute_track_in(&std::env::temp_dir(), 0)
}

/// A 4-minute track (its `seed` varies the arrangement's random details) written as a
/// 16-bit WAV into `dir`; returns its path and duration.
fn four_minute_track_in(dir: &std::path::Path, seed: u64) -> (std::path::PathBuf, f64) {
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
    ])
    .seed(seed);
    let t = synthesize(&spec, 44_100);
    let path = dir.join(format!("segue-bench-{}-{seed}.wav", std::process::id()));
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

fn library_scan(c: &mut Criterion) {
    const TRACKS: u64 = 8;
    const JOBS: usize = 2;
    let dir = std::env::temp_dir().join(format!("segue-bench-scan-{}", std::process::id()));
    let music = dir.join("music");
    std::fs::create_dir_all(&music).unwrap();
    for seed in 0..TRACKS {
        four_minute_track_in(&music, seed);
    }
    let run = |n: usize| {
        let db = dir.join(format!("library-{n}.sqlite"));
        let t = Instant::now();
        let report = scan(
            &db,
            std::slice::from_ref(&music),
            JOBS,
            analyze_file,
            |_| {},
        )
        .unwrap();
        assert_eq!(report.added, TRACKS as usize);
        t.elapsed()
    };
    let elapsed = run(0);
    println!(
        "library/scan: {TRACKS} four-minute tracks with {JOBS} jobs in {:.1} s: {:.0} tracks/minute",
        elapsed.as_secs_f64(),
        TRACKS as f64 * 60.0 / elapsed.as_secs_f64()
    );
    let mut n = 1;
    c.bench_function("library/scan-8x4min-2jobs", |b| {
        b.iter(|| {
            n += 1;
            run(n)
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(15));
    targets = analysis
}

criterion_group! {
    name = scan_benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(60));
    targets = library_scan
}
criterion_main!(benches, scan_benches);
