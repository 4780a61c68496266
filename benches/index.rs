//! The similarity index (`segue_library::index`) on synthetic DNA vectors: build time for
//! 100 k tracks (goal < 60 s on 2 cores), recall@10 against exact search (goal ≥ 0.95) and
//! query latency p50/p99 (goal p99 < 1 ms), for an open query and a filtered one (tempo
//! 120-130 with half/double, a Camelot neighbourhood). Then criterion's statistics for the
//! same queries.
//!
//! The vectors are 128-dimensional unit vectors like the compact DNA: 500 "styles" (random
//! centres) with per-track noise of about the spread of real tracks around their style, so
//! neighbours are not trivially one cluster. Tempo, key and energy are drawn independently.
//!
//! `SEGUE_BENCH_INDEX_N=1000000 cargo bench --bench index` runs the 1 M-track case (not in
//! CI: several minutes and a few GB).

use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::{process_cpu_secs, thread_cpu_secs};

use criterion::{criterion_group, criterion_main, Criterion};
use segue_analysis::dna::COMPACT_DIMS;
use segue_analysis::music::Key;
use segue_library::index::{Filter, SimilarityIndex, TrackMeta};
use segue_library::TrackId;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-7), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// `n` synthetic tracks (see the module doc).
fn tracks(n: usize, seed: u64) -> Vec<(TrackId, Vec<f32>, TrackMeta)> {
    let mut rng = Rng(seed);
    let centres: Vec<Vec<f32>> = (0..500)
        .map(|_| {
            let mut c: Vec<f32> = (0..COMPACT_DIMS).map(|_| rng.gauss()).collect();
            normalise(&mut c);
            c
        })
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[(rng.next() % centres.len() as u64) as usize];
            // Per-dimension noise 0.06 → about as far from the style centre as the centre's
            // length (0.06 · √128 ≈ 0.68).
            let mut v: Vec<f32> = c.iter().map(|x| x + 0.06 * rng.gauss()).collect();
            normalise(&mut v);
            let meta = TrackMeta {
                bpm: 70.0 + rng.unit() * 110.0,
                key: Some(Key::ALL[(rng.next() % 24) as usize]),
                energy: (rng.next() % 10 + 1) as u8,
            };
            (i as TrackId + 1, v, meta)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Recall@10 and latency percentiles of `queries` probes under `filter`.
fn measure(index: &SimilarityIndex, probes: &[TrackId], filter: &Filter, label: &str) {
    let mut lat = Vec::with_capacity(probes.len());
    let mut cpu = Vec::with_capacity(probes.len());
    let mut hits = 0usize;
    let mut wanted = 0usize;
    for &p in probes {
        let (t, c) = (Instant::now(), thread_cpu_secs());
        let got = index.similar(p, 10, filter).unwrap();
        lat.push(t.elapsed());
        cpu.push(Duration::from_secs_f64(thread_cpu_secs() - c));
        let exact = index.exact(p, 10, filter).unwrap();
        wanted += exact.len();
        hits += got
            .iter()
            .filter(|g| exact.iter().any(|e| e.0 == g.0))
            .count();
    }
    lat.sort();
    cpu.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "index {label}: recall@10 {:.3}, latency p50 {:.3} ms, p99 {:.3} ms; CPU p50 {:.3} ms, \
         p99 {:.3} ms ({} queries)",
        hits as f64 / wanted.max(1) as f64,
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        ms(percentile(&cpu, 0.5)),
        ms(percentile(&cpu, 0.99)),
        probes.len()
    );
}

fn index(c: &mut Criterion) {
    let n: usize = std::env::var("SEGUE_BENCH_INDEX_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let items = tracks(n, 42);
    let (t, cpu0) = (Instant::now(), process_cpu_secs());
    let (index, bad) = SimilarityIndex::build(Path::new("bench"), items);
    let build = t.elapsed();
    let cpu = process_cpu_secs() - cpu0;
    assert_eq!(bad, 0);
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    println!(
        "index build: {n} vectors in {:.1} s wall ({:.0} vectors/s, {threads} threads), \
         {cpu:.1} s CPU (≈ {:.1} s on {threads} idle cores)",
        build.as_secs_f64(),
        n as f64 / build.as_secs_f64(),
        cpu / threads as f64
    );
    let mut rng = Rng(7);
    let probes: Vec<TrackId> = (0..1000)
        .map(|_| (rng.next() % n as u64) as TrackId + 1)
        .collect();
    let open = Filter::default();
    let filtered = Filter::default()
        .bpm(120.0, 130.0)
        .key("8A".parse().unwrap());
    measure(&index, &probes, &open, "open query");
    measure(
        &index,
        &probes,
        &filtered,
        "120-130 BPM (×½, ×2) + 8A neighbourhood",
    );

    // Incremental insert of one more track into the built index.
    let extra = tracks(200, 99);
    let mut index = index;
    let t = Instant::now();
    for (id, v, m) in &extra {
        index.insert(*id + n as TrackId, v, *m).unwrap();
    }
    println!(
        "index insert: {:.2} ms per track into {n}",
        t.elapsed().as_secs_f64() * 1e3 / extra.len() as f64
    );

    let mut g = c.benchmark_group("index");
    g.sample_size(50);
    let mut i = 0usize;
    g.bench_function("similar_open_10", |b| {
        b.iter(|| {
            i = (i + 1) % probes.len();
            index.similar(probes[i], 10, &open).unwrap()
        })
    });
    g.bench_function("similar_filtered_10", |b| {
        b.iter(|| {
            i = (i + 1) % probes.len();
            index.similar(probes[i], 10, &filtered).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, index);
criterion_main!(benches);
