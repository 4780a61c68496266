//! Stem separation of a 1-minute 44.1 kHz stereo demo track on one core (one thread).
//! Prints "× real time" (per CPU second of the thread) besides criterion's statistics.
//! DSP goal: ≥ 50× real time. The DSP separator's GPU path (`--device cuda`) when a GPU is
//! usable (else skipped, saying why). ONNX: the tiny fixture model
//! (`separate/tests/fixtures/tiny_sep.onnx`, two small convolutions, 8190-frame segments),
//! one ONNX Runtime thread, CPU seconds per minute of audio: what the chunking, the
//! normalisation and the runtime's per-run overhead cost, not what htdemucs costs (skipped,
//! saying so, without libonnxruntime: see scripts/setup.sh).
//!
//! Worker latency: the time from "load this file on deck 1" (the deck service both shells
//! use, a real engine processing blocks on its own thread) to "the engine reports the deck
//! playing from stems", for the same track written as a 48 kHz WAV without stem files:
//! decode + analysis + DSP separation on one worker thread + the hand-over.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use segue_analysis::music::{Key, Mode};
use segue_demo::{synthesize, DemoSpec, SectionLabel::*, Style};
use segue_separate::{Device, DspSeparator, OnnxOptions, OnnxSeparator, Separator};

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
    let mut sep = DspSeparator::default().on(Device::Cpu);
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
    match segue_separate::cuda_usable() {
        Ok(()) => {
            let mut gpu = DspSeparator::default().on(Device::Cuda);
            gpu.separate(&mix, 44_100).unwrap(); // kernels compiled, context made
            let (t, cpu) = (Instant::now(), thread_cpu_secs());
            for _ in 0..runs {
                std::hint::black_box(gpu.separate(&mix, 44_100).unwrap());
            }
            let wall = t.elapsed().as_secs_f64() / runs as f64;
            let cpu = (thread_cpu_secs() - cpu) / runs as f64;
            println!(
                "separate/dsp-cuda: {secs:.0} s track in {wall:.3} s wall, {cpu:.3} s CPU: {:.0}× real time",
                secs / wall
            );
            group.bench_function("dsp-cuda/1min", |b| {
                b.iter(|| gpu.separate(&mix, 44_100).unwrap())
            });
        }
        Err(why) => println!("separate/dsp-cuda: skipped ({why})"),
    }
    if let Some(mut onnx) = tiny_onnx() {
        let (t, cpu, pcpu) = (Instant::now(), thread_cpu_secs(), process_cpu_secs());
        for _ in 0..runs {
            std::hint::black_box(onnx.separate(&mix, 44_100).unwrap());
        }
        let wall = t.elapsed().as_secs_f64() / runs as f64;
        let cpu = (thread_cpu_secs() - cpu) / runs as f64;
        let pcpu = (process_cpu_secs() - pcpu) / runs as f64;
        println!(
            "separate/onnx-tiny: {secs:.0} s track in {wall:.2} s wall, {cpu:.2} s CPU ({pcpu:.2} s whole process): {:.2} CPU s per minute of audio ({:.0}× per CPU second)",
            pcpu * 60.0 / secs,
            secs / pcpu
        );
        group.bench_function("onnx-tiny/1min", |b| {
            b.iter(|| onnx.separate(&mix, 44_100).unwrap())
        });
    }
    group.finish();
    worker_latency(&track_at(&spec, 48_000));
}

fn track_at(spec: &DemoSpec, rate: u32) -> Vec<[f32; 2]> {
    synthesize(spec, rate).audio.mix
}

/// "Loaded on deck" → "stems on deck" through the deck service, three times; prints each
/// and the median.
fn worker_latency(mix: &[[f32; 2]]) {
    use segue_engine::{Engine, EngineConfig, Outputs};
    use segue_library::decks::{CommandSink, DeckService, DeckServiceConfig, EngineSink};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    const RATE: u32 = 48_000;
    let dir = std::env::temp_dir().join(format!("segue-bench-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latency.wav");
    segue_decode::wav::write_wav(&path, RATE, mix, segue_decode::wav::WavFormat::Float32).unwrap();
    let secs = mix.len() as f64 / RATE as f64;
    let mut times = Vec::new();
    for _ in 0..3 {
        let parts = Engine::new(EngineConfig {
            sample_rate: RATE,
            decks: 1,
            ..EngineConfig::default()
        })
        .unwrap();
        let collector = parts.collector.spawn().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let mut engine = parts.engine;
        let audio = std::thread::spawn(move || {
            let mut b = [0; 4].map(|_| vec![0.0f32; 256]);
            while !stop2.load(Ordering::Relaxed) {
                let [l, r, cl, cr] = &mut b;
                let mut out = Outputs {
                    master: [&mut l[..], &mut r[..]],
                    cue: [&mut cl[..], &mut cr[..]],
                };
                engine.process(&mut out, 256);
                std::thread::sleep(Duration::from_micros(5_333));
            }
        });
        let sink = Arc::new(EngineSink::new(parts.handle));
        let service = DeckService::new(
            DeckServiceConfig {
                decks: 1,
                rate: RATE,
                worker_threads: 1,
                library: None,
                auto_stems: true,
            },
            sink.clone(),
        );
        let t0 = Instant::now();
        service.load(0, path.clone(), None);
        while !sink.status().decks[0].has_stems {
            std::thread::sleep(Duration::from_millis(1));
        }
        times.push(t0.elapsed().as_secs_f64());
        service.shutdown();
        stop.store(true, Ordering::Relaxed);
        audio.join().unwrap();
        drop(sink);
        collector.join().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "worker latency (load on deck → stems on deck), {secs:.0} s track at 48 kHz: {:.2} s median ({})",
        sorted[1],
        times.iter().map(|t| format!("{t:.2} s")).collect::<Vec<_>>().join(", ")
    );
}

/// The tiny fixture model on one ONNX Runtime thread, or `None` (said) without the runtime.
fn tiny_onnx() -> Option<OnnxSeparator> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = segue_separate::find_runtime()
        .or_else(|| segue_separate::venv_lib(&root.join("target/onnxruntime")));
    let Some(runtime) = runtime else {
        println!(
            "separate/onnx-tiny: skipped, no libonnxruntime (ORT_DYLIB_PATH or scripts/setup.sh)"
        );
        return None;
    };
    let options = OnnxOptions {
        device: Device::Cpu,
        runtime: Some(runtime),
        threads: Some(1),
    };
    let model = root.join("separate/tests/fixtures/tiny_sep.onnx");
    Some(OnnxSeparator::new(&model, &options).expect("the tiny model loads"))
}

/// CPU time of the whole process (ONNX Runtime's own threads included).
fn process_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

criterion_group!(benches, separation);
criterion_main!(benches);
