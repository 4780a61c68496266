//! A profiling harness for the analysis: `cargo run --profile bench -p segue-analysis
//! --example profile_analysis -- [RUNS] [FILE]` analyses FILE (default: the 4-minute track
//! of `benches/analysis.rs`, written once to the temporary folder) RUNS times, for `perf
//! record` and friends, and lists every allocation of 1 MB or more made by the first run:
//! fresh buffers cost page faults, a large share of the analysis time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use segue_analysis::analyze_file;

use segue_decode::wav::{write_wav, WavFormat};
use segue_demo::{bench_track, synthesize};

/// The allocator, noting the sizes of large allocations while `TRACE` is set.
struct Tracing;

const LARGE: usize = 1 << 20;
static TRACE: AtomicBool = AtomicBool::new(false);
static SIZES: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) {
    if TRACE.load(Relaxed) && size >= LARGE {
        let i = COUNT.fetch_add(1, Relaxed);
        if let Some(slot) = SIZES.get(i) {
            slot.store(size, Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; `note` only touches
// atomics and never allocates.
unsafe impl GlobalAlloc for Tracing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracing = Tracing;

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let path = args.next().map(PathBuf::from).unwrap_or_else(|| {
        let path = std::env::temp_dir().join("segue-profile-4min.wav");
        if !path.exists() {
            let spec = bench_track(0);
            let t = synthesize(&spec, 44_100);
            write_wav(&path, 44_100, &t.audio.mix, WavFormat::Pcm16).expect("write the track");
        }
        path
    });
    let start = std::time::Instant::now();
    for run in 0..runs {
        TRACE.store(run == 0, Relaxed);
        std::hint::black_box(analyze_file(&path).expect("analyse"));
        TRACE.store(false, Relaxed);
    }
    let each = start.elapsed().as_secs_f64() / runs.max(1) as f64;
    let sizes: Vec<usize> = SIZES[..COUNT.load(Relaxed).min(SIZES.len())]
        .iter()
        .map(|s| s.load(Relaxed))
        .collect();
    let list: Vec<String> = sizes
        .iter()
        .map(|&s| format!("{:.1}", s as f64 / 1e6))
        .collect();
    eprintln!(
        "{}: {each:.3} s a run ({runs} runs); the first run's allocations >= 1 MB: {} MB = {:.0} MB",
        path.display(),
        list.join(" + "),
        sizes.iter().sum::<usize>() as f64 / 1e6
    );
}
