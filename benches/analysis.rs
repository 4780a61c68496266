//! Full analysis (decode included) of a 4-minute 44.1 kHz stereo track, on one core.
//! Prints "× real time" besides criterion's statistics. Goal: ≤ 1.2 s (≥ 200× real time).
//!
//! Library scan throughput: eight 4-minute tracks (WAV) scanned into a fresh SQLite library
//! with two analysis jobs (`segue library add` on a 2-core machine leaves one core free and
//! so runs one; `--jobs 2` uses both), reported in tracks per minute.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use segue_analysis::analyze_file;
use segue_decode::wav::{write_wav, WavFormat};
use segue_demo::{bench_track, synthesize};
use segue_library::scan;

fn four_minute_track() -> (std::path::PathBuf, f64) {
    four_minute_track_in(&std::env::temp_dir(), 0)
}

/// A 4-minute track (its `seed` varies the arrangement's random details) written as a
/// 16-bit WAV into `dir`; returns its path and duration.
fn four_minute_track_in(dir: &std::path::Path, seed: u64) -> (std::path::PathBuf, f64) {
    let spec = bench_track(seed);
    let t = synthesize(&spec, 44_100);
    let path = dir.join(format!("segue-bench-{}-{seed}.wav", std::process::id()));
    write_wav(&path, 44_100, &t.audio.mix, WavFormat::Pcm16).unwrap();
    (path, t.audio.duration_secs())
}

mod common;
use common::thread_cpu_secs;

fn analysis(c: &mut Criterion) {
    let (path, secs) = four_minute_track();
    let t = Instant::now();
    let cpu = thread_cpu_secs();
    let runs = 3;
    for _ in 0..runs {
        std::hint::black_box(analyze_file(&path).unwrap());
    }
    let each = t.elapsed().as_secs_f64() / runs as f64;
    let each_cpu = (thread_cpu_secs() - cpu) / runs as f64;
    println!(
        "analysis/4min: {secs:.0} s track analysed (decode included) in {each:.2} s wall, {each_cpu:.2} s CPU: {:.0}× real time ({:.0}× per CPU second)",
        secs / each,
        secs / each_cpu
    );
    stages(&path);
    c.bench_function("analysis/4min", |b| b.iter(|| analyze_file(&path).unwrap()));
    let _ = std::fs::remove_file(&path);
}

/// Where the time goes: each stage of `analyze` run on its own (least CPU time of three),
/// as the pipeline runs them.
fn stages(path: &std::path::Path) {
    use segue_analysis::{beats, dna, energy, key, loudness, structure, Spectrogram};
    fn best<T>(f: impl Fn() -> T) -> (T, f64) {
        let mut out = None;
        let mut secs = f64::INFINITY;
        for _ in 0..3 {
            let t = thread_cpu_secs();
            let r = std::hint::black_box(f());
            secs = secs.min(thread_cpu_secs() - t);
            out = Some(r);
        }
        (out.unwrap(), secs)
    }
    let mut rows = Vec::new();
    let (audio, t) = best(|| segue_decode::decode_file(path, 44_100).unwrap());
    rows.push(("decode", t));
    let (mono, t) = best(|| audio.mono_finite().0);
    rows.push(("mono", t));
    let rate = audio.sample_rate;
    let (rhythm, t) = best(|| beats::analyse_rhythm(&mono, rate));
    rows.push(("rhythm", t));
    rows.push(("key", best(|| key::detect_key(&mono, rate)).1));
    rows.push(("loudness", best(|| loudness::measure_loudness(&audio)).1));
    // (of which the true peak)
    let peak = best(|| loudness::true_peak(&audio.mix, rate)).1;
    let fft = energy::fft_size_for(rate);
    let (spec, t) = best(|| Spectrogram::compute(&mono, rate, fft, fft / 2));
    rows.push(("spectrogram", t));
    let duration = audio.duration_secs();
    rows.push((
        "energy",
        best(|| energy::energy_curve_of(&spec, duration, 0.5)).1,
    ));
    let (segments, t) = best(|| structure::segment(&spec, &rhythm.downbeats, duration));
    rows.push(("structure", t));
    let ranges: Vec<(f64, f64)> = segments
        .iter()
        .map(|g| {
            let end = rhythm.downbeats.get(g.end_bar).copied().unwrap_or(duration);
            (rhythm.downbeats[g.start_bar], end)
        })
        .collect();
    rows.push((
        "dna",
        best(|| dna::extract_with_spectrogram(&spec, &mono, &rhythm.beats, &ranges)).1,
    ));
    let total: f64 = rows.iter().map(|r| r.1).sum();
    let line: Vec<String> = rows
        .iter()
        .map(|(n, t)| format!("{n} {:.0} ms ({:.0} %)", t * 1e3, 100.0 * t / total))
        .collect();
    println!(
        "analysis/stages (CPU): {} — sum {:.2} s; true peak {:.0} ms of the loudness",
        line.join(", "),
        total,
        peak * 1e3
    );
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
