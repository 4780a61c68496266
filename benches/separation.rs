//! Stem separation of a 1-minute 44.1 kHz stereo demo track on one core (one thread).
//! Prints "× real time" (per CPU second of the thread) besides criterion's statistics.
//! DSP goal: ≥ 50× real time. ONNX: the tiny fixture model
//! (`separate/tests/fixtures/tiny_sep.onnx`, two small convolutions, 8190-frame segments),
//! one ONNX Runtime thread, CPU seconds per minute of audio: what the chunking, the
//! normalisation and the runtime's per-run overhead cost, not what htdemucs costs (skipped,
//! saying so, without libonnxruntime: see scripts/setup.sh).

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
