//! The background worker: priorities, cancellation, progress, and its results reaching a
//! deck while the audio thread keeps time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use segue_analysis::{Analysis, Cue, Spectrogram};
use segue_engine::{Command, Engine, EngineConfig, Outputs, TrackAudio};
use segue_library::worker::{deck_commands, Job, JobEvent, JobId, JobOutput, Priority, Worker};

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

fn analysis(bpm: f64, secs: f64) -> Analysis {
    let period = 60.0 / bpm;
    let beats: Vec<f64> = (0..(secs / period) as usize)
        .map(|i| 0.25 + i as f64 * period)
        .collect();
    Analysis {
        duration: secs,
        bpm,
        downbeats: beats.iter().step_by(4).copied().collect(),
        beats,
        beats_per_bar: 4,
        constant_tempo: true,
        half_time: false,
        key: "A minor".into(),
        camelot: "8A".into(),
        open_key: "1m".into(),
        key_confidence: 0.5,
        key_runner_up: None,
        lufs: -9.0,
        loudness_range: 4.0,
        true_peak_db: -1.0,
        energy: 7,
        sections: vec![],
        cues: vec![Cue {
            time: 0.25,
            name: "first downbeat".into(),
        }],
        analyser_version: 1,
        dna_version: 1,
        dna: Vec::new(),
    }
}

fn wait_finished(w: &Worker, n: usize) -> Vec<JobEvent> {
    let mut out = Vec::new();
    let mut done = 0;
    while done < n {
        let e = w
            .events()
            .recv_timeout(Duration::from_secs(30))
            .expect("worker stalled");
        if matches!(e, JobEvent::Finished { .. } | JobEvent::Cancelled { .. }) {
            done += 1;
        }
        out.push(e);
    }
    out
}

#[test]
fn a_deck_job_jumps_the_queue() {
    let gate = Arc::new(AtomicBool::new(false));
    let g = gate.clone();
    let w = Worker::new(1, move |job, _| {
        while !g.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(JobOutput::Analysis(Box::new(analysis(
            120.0,
            job.path.to_string_lossy().len() as f64,
        ))))
    });
    let bg: Vec<JobId> = (0..4)
        .map(|i| w.submit(Job::analyse(format!("bg{i}.wav")), Priority::Background))
        .collect();
    // Let the first one start, then a deck load arrives.
    while w.queued() == 4 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let deck = w.submit(Job::analyse("deck.wav"), Priority::Deck);
    gate.store(true, Ordering::Relaxed);
    let started: Vec<JobId> = wait_finished(&w, 5)
        .into_iter()
        .filter_map(|e| match e {
            JobEvent::Started { id } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(started, vec![bg[0], deck, bg[1], bg[2], bg[3]]);
}

#[test]
fn reprioritised_job_moves_up() {
    let gate = Arc::new(AtomicBool::new(false));
    let g = gate.clone();
    let w = Worker::new(1, move |_, _| {
        while !g.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(JobOutput::Analysis(Box::new(analysis(120.0, 10.0))))
    });
    let ids: Vec<JobId> = (0..3)
        .map(|i| w.submit(Job::analyse(format!("{i}.wav")), Priority::Background))
        .collect();
    while w.queued() == 3 {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(w.reprioritise(ids[2], Priority::Deck));
    gate.store(true, Ordering::Relaxed);
    let started: Vec<JobId> = wait_finished(&w, 3)
        .into_iter()
        .filter_map(|e| match e {
            JobEvent::Started { id } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(started, vec![ids[0], ids[2], ids[1]]);
    assert!(
        !w.reprioritise(ids[2], Priority::Deck),
        "a finished job cannot move"
    );
}

#[test]
fn jobs_report_progress_and_can_be_cancelled_queued_or_running() {
    let w = Worker::new(1, |_, ctx| {
        for i in 0..200 {
            if ctx.cancelled() {
                return Err(segue_decode::SegueError::Mix {
                    reason: "cancelled".into(),
                });
            }
            ctx.progress(i as f32 / 200.0);
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(JobOutput::Analysis(Box::new(analysis(128.0, 5.0))))
    });
    let running = w.submit(Job::analyse("long.wav"), Priority::Background);
    let queued = w.submit(Job::analyse("later.wav"), Priority::Background);
    // Wait for progress from the running job, then cancel both.
    loop {
        if let JobEvent::Progress { id, fraction } = w.events().recv().unwrap() {
            if id == running && fraction > 0.0 {
                break;
            }
        }
    }
    assert!(w.cancel(queued));
    assert!(w.cancel(running));
    let events = wait_finished(&w, 2);
    let cancelled: Vec<JobId> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Cancelled { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert!(
        cancelled.contains(&queued) && cancelled.contains(&running),
        "{events:?}"
    );
    assert!(!w.cancel(JobId(999)));
}

#[test]
fn a_panicking_job_fails_alone() {
    let w = Worker::new(1, |job, _| {
        if job.path.ends_with("bad.wav") {
            panic!("boom");
        }
        Ok(JobOutput::Analysis(Box::new(analysis(128.0, 5.0))))
    });
    w.submit(Job::analyse("bad.wav"), Priority::Background);
    w.submit(Job::analyse("good.wav"), Priority::Background);
    let results: Vec<bool> = wait_finished(&w, 2)
        .into_iter()
        .filter_map(|e| match e {
            JobEvent::Finished { result, .. } => Some(result.is_ok()),
            _ => None,
        })
        .collect();
    assert_eq!(results, vec![false, true]);
}

/// CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The audio thread renders 4 playing decks in real time (a simulated clock: one 256-frame
/// block every 5.33 ms) while the worker does real work on several tracks (spectrograms of
/// 60 s of audio each). Every `process` runs under `assert_no_alloc`; none may take longer
/// than its block. Each result reaches its deck as a beatgrid through the engine handle.
///
/// "Longer" is measured in the audio thread's own CPU time: this test thread is not a
/// real-time thread, so on a loaded 2-core machine the scheduler may pause it in the middle
/// of a block, which says nothing about the engine (a real audio thread runs at real-time
/// priority). Wall-clock times are printed too.
#[test]
fn worker_results_reach_the_decks_without_disturbing_the_audio_thread() {
    const RATE: u32 = 48_000;
    const BLOCK: usize = 256;
    let mut parts = Engine::new(EngineConfig {
        sample_rate: RATE,
        max_block: BLOCK,
        decks: 4,
        ..EngineConfig::default()
    })
    .unwrap();
    for d in 0..4u8 {
        let tone: Vec<[f32; 2]> = (0..RATE as usize * 30)
            .map(|i| [((i as f32) * 0.01 * (d as f32 + 1.0)).sin() * 0.1; 2])
            .collect();
        parts
            .handle
            .send(Command::Load {
                deck: d,
                audio: Arc::new(TrackAudio::new(RATE, tone)),
            })
            .unwrap();
        parts
            .handle
            .send(Command::Play { deck: d, on: true })
            .unwrap();
    }
    let mut engine = parts.engine;
    let mut handle = parts.handle;
    let collector = parts.collector.spawn().unwrap();

    let w = Worker::new(1, |job, ctx| {
        let secs = 60.0;
        let mono: Vec<f32> = (0..(44_100.0 * secs) as usize)
            .map(|i| ((i % 97) as f32 / 97.0) - 0.5)
            .collect();
        let s = Spectrogram::compute(&mono, 44_100, 4096, 256);
        ctx.progress(1.0);
        let bpm = 120.0 + job.path.to_string_lossy().len() as f64;
        assert!(s.frames() > 1000);
        Ok(JobOutput::Analysis(Box::new(analysis(bpm, secs))))
    });
    let ids: Vec<JobId> = (0..4)
        .map(|d| w.submit(Job::analyse(format!("deck{d}.wav")), Priority::Deck))
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let late = Arc::new(Mutex::new((0usize, 0usize, Duration::ZERO)));
    let (stop2, late2) = (stop.clone(), late.clone());
    let audio = std::thread::spawn(move || {
        let mut bufs = [
            vec![0.0f32; BLOCK],
            vec![0.0f32; BLOCK],
            vec![0.0f32; BLOCK],
            vec![0.0f32; BLOCK],
        ];
        let period = Duration::from_secs_f64(BLOCK as f64 / RATE as f64);
        let start = Instant::now();
        let mut n = 0u32;
        let (mut blocks, mut over, mut worst) = (0usize, 0usize, Duration::ZERO);
        let mut worst_wall = Duration::ZERO;
        while !stop2.load(Ordering::Relaxed) {
            let deadline = start + period * (n + 1);
            let t = Instant::now();
            let cpu = thread_cpu_time();
            let before = violation_count();
            let [a, b, c, d] = &mut bufs;
            assert_no_alloc(|| {
                let mut out = Outputs {
                    master: [&mut a[..], &mut b[..]],
                    cue: [&mut c[..], &mut d[..]],
                };
                engine.process(&mut out, BLOCK);
            });
            assert_eq!(violation_count(), before, "process allocated");
            let took = thread_cpu_time() - cpu;
            worst_wall = worst_wall.max(t.elapsed());
            worst = worst.max(took);
            if took > period {
                over += 1;
            }
            blocks += 1;
            n += 1;
            if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        eprintln!("worst process, wall clock: {worst_wall:?}");
        *late2.lock().unwrap() = (blocks, over, worst);
    });

    let mut delivered = 0;
    while delivered < ids.len() {
        match w
            .events()
            .recv_timeout(Duration::from_secs(60))
            .expect("worker stalled")
        {
            JobEvent::Finished {
                id,
                result: Ok(JobOutput::Analysis(a)),
                ..
            } => {
                let deck = ids.iter().position(|&i| i == id).unwrap() as u8;
                for c in deck_commands(&a, deck, RATE) {
                    handle.send(c).unwrap();
                }
                delivered += 1;
            }
            JobEvent::Finished { result: Err(e), .. } => panic!("{e}"),
            _ => {}
        }
    }
    // Let the engine apply the grids, then stop.
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    audio.join().unwrap();
    let st = handle.status();
    for d in 0..4 {
        assert!(st.decks[d].has_grid, "deck {d} got no beatgrid");
        assert!(st.decks[d].hot_cues[0].is_some(), "deck {d} got no cue");
        assert!((st.decks[d].native_bpm - (120.0 + 9.0)).abs() < 1e-6);
    }
    let (blocks, over, worst) = *late.lock().unwrap();
    eprintln!("{blocks} blocks, {over} over budget, worst process {worst:?} (CPU time)");
    assert!(blocks > 50);
    assert_eq!(
        over, 0,
        "blocks whose process() took longer than the block ({worst:?} worst)"
    );
    drop(handle);
    collector.join().unwrap();
}

// --- separation as a worker job: stems reach a playing deck -----------------------------------

/// A track whose DSP "vocals" are clearly there: noise-burst drums, a 55 Hz bass, a
/// centred 349 Hz harmonic voice and an off-centre chord.
fn stem_track(rate: u32, secs: f64) -> Vec<[f32; 2]> {
    let n = (rate as f64 * secs) as usize;
    let mut seed = 7u64;
    let tau = std::f64::consts::TAU;
    (0..n)
        .map(|i| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let noise = ((seed >> 40) as f64 / (1u64 << 24) as f64) * 2.0 - 1.0;
            let t = i as f64 / rate as f64;
            let env = (-(t * 2.0).fract() * 40.0).exp();
            let drums = noise * env * 0.2;
            let bass = (tau * 55.0 * t).sin() * 0.2;
            let voice: f64 = (1..6)
                .map(|h| (tau * 349.2 * h as f64 * t).sin() * 0.1 / h as f64)
                .sum();
            let chord = (tau * 523.25 * t).sin() * 0.05;
            [
                (drums + bass + voice + 0.2 * chord) as f32,
                (drums * 0.9 + bass + voice + chord) as f32,
            ]
        })
        .collect()
}

fn write_wav(path: &std::path::Path, rate: u32, mix: &[[f32; 2]]) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for f in mix {
        w.write_sample(f[0]).unwrap();
        w.write_sample(f[1]).unwrap();
    }
    w.finalize().unwrap();
}

fn max_step(x: &[[f32; 2]]) -> f32 {
    x.windows(2)
        .map(|w| (w[1][0] - w[0][0]).abs().max((w[1][1] - w[0][1]).abs()))
        .fold(0.0, f32::max)
}

/// What the audio thread recorded: per block, the deck's position at the block's end, and
/// whether the engine reported stems then; the master output.
struct Take {
    blocks: Vec<(f64, bool)>,
    out: Vec<[f32; 2]>,
}

/// An engine with one deck processed on its own thread (every `process` under
/// `assert_no_alloc`), one 256-frame block every `pace`, recording the master.
fn audio_thread(
    mut engine: Engine,
    pace: Duration,
    stop: Arc<AtomicBool>,
    capacity: usize,
) -> std::thread::JoinHandle<Take> {
    std::thread::spawn(move || {
        const BLOCK: usize = 256;
        let mut take = Take {
            blocks: Vec::with_capacity(capacity / BLOCK + 1),
            out: Vec::with_capacity(capacity),
        };
        let mut bufs = [0; 4].map(|_| vec![0.0f32; BLOCK]);
        while !stop.load(Ordering::Relaxed) && take.out.len() + BLOCK <= capacity {
            let before = violation_count();
            let [a, b, c, d] = &mut bufs;
            assert_no_alloc(|| {
                let mut out = Outputs {
                    master: [&mut a[..], &mut b[..]],
                    cue: [&mut c[..], &mut d[..]],
                };
                engine.process(&mut out, BLOCK);
            });
            assert_eq!(violation_count(), before, "process allocated");
            let st = engine.status().decks[0];
            take.blocks.push((st.position, st.has_stems));
            take.out
                .extend((0..BLOCK).map(|j| [bufs[0][j], bufs[1][j]]));
            std::thread::sleep(pace);
        }
        take
    })
}

/// End to end through the shared deck service (what `segue serve` and the plugin run): a
/// track without stem files plays on a deck; the worker separates it (progress reported);
/// the deck switches to the stems while playing, at a block boundary, without a jump; a
/// stem muted before the stems existed then fades out. Judged on the rendered master.
#[test]
fn deck_service_separates_a_playing_track_and_switches_it_to_stems_without_a_jump() {
    use segue_library::decks::{CommandSink, DeckService, DeckServiceConfig, EngineSink};
    use segue_separate::{DspSeparator, Separator};
    const RATE: u32 = 48_000;
    let dir = std::env::temp_dir().join(format!("segue-worker-stems-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("voice and drums.wav");
    let mix = stem_track(RATE, 40.0);
    write_wav(&path, RATE, &mix);
    let stems = DspSeparator::default().separate(&mix, RATE).unwrap();
    let without_vocals: Vec<[f32; 2]> = (0..mix.len())
        .map(|i| std::array::from_fn(|c| (stems[0][i][c] + stems[1][i][c]) + stems[2][i][c]))
        .collect();
    let vocals_rms = (stems[3]
        .iter()
        .map(|f| f[0] as f64 * f[0] as f64)
        .sum::<f64>()
        / mix.len() as f64)
        .sqrt();
    assert!(
        vocals_rms > 0.02,
        "the separator finds vocals ({vocals_rms})"
    );

    let parts = Engine::new(EngineConfig {
        sample_rate: RATE,
        max_block: 256,
        decks: 1,
        ..EngineConfig::default()
    })
    .unwrap();
    let collector = parts.collector.spawn().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // Half real time: the debug build's analysis and separation finish well within the track.
    let audio = audio_thread(
        parts.engine,
        Duration::from_millis(10),
        stop.clone(),
        mix.len(),
    );
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
    assert!(service.load(0, path.clone(), None));
    let t0 = Instant::now();
    while !service.deck(0).loaded() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{:?}",
            service.deck(0).state
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!service.deck(0).has_stems);
    assert!(
        service.deck(0).vocals.is_none(),
        "no vocal levels without stems"
    );
    assert_eq!(service.deck(0).separation, Some(0.0), "separation queued");
    sink.send(Command::StemMute {
        deck: 0,
        stem: segue_engine::Stem::Vocals,
        muted: true,
    });
    sink.send(Command::Play { deck: 0, on: true });
    let mut progress = Vec::new();
    loop {
        let v = service.deck(0);
        if let Some(f) = v.separation {
            if progress.last() != Some(&f) {
                progress.push(f);
            }
        } else {
            assert!(v.has_stems, "separation ended without stems: {v:?}");
            // The planner's view of where it sings comes with the stems.
            assert!(v.vocals.is_some(), "stems without vocal levels");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(150),
            "separation too slow"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let until = Instant::now() + Duration::from_secs(60);
    while !sink.status().decks[0].has_stems {
        assert!(Instant::now() < until, "the engine never took the stems");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Another second of audio with the stems, then stop.
    std::thread::sleep(Duration::from_millis(2_000));
    stop.store(true, Ordering::Relaxed);
    let take = audio.join().unwrap();
    assert_eq!(service.counters().stems_attached.load(Ordering::Relaxed), 1);
    assert!(progress.len() > 5, "progress reports: {progress:?}");
    assert!(progress.windows(2).all(|w| w[1] >= w[0]), "{progress:?}");
    service.shutdown();
    drop(sink);
    collector.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    // Where the switch happened, in the recording and in the track.
    let switch = take
        .blocks
        .iter()
        .position(|b| b.1)
        .expect("stems reported");
    let played_from = take.blocks.iter().position(|b| b.0 > 0.0).unwrap();
    assert!(
        switch > played_from + 40,
        "the deck was playing well before the stems came (block {switch})"
    );
    let (mut before, mut after) = (0usize, 0usize);
    for (b, &(end, _)) in take.blocks.iter().enumerate().skip(played_from + 2) {
        let start = end as usize - 256;
        for j in 0..256 {
            let (p, got) = (start + j, take.out[b * 256 + j]);
            let want = if b < switch {
                before += 1;
                mix[p]
            } else if b >= switch + 3 {
                after += 1;
                without_vocals[p]
            } else {
                continue; // the 10 ms fade
            };
            for c in 0..2 {
                assert!(
                    (got[c] - want[c]).abs() < 1e-5,
                    "block {b} frame {j} (switch at block {switch}): {got:?} vs {want:?}"
                );
            }
        }
    }
    // At least the 40 blocks asserted above were compared before the switch (the DSP
    // separator is fast now: the stems may come within a second of the start).
    assert!(
        before >= 38 * 256 && after > RATE as usize / 2,
        "{before} {after}"
    );
    // No jump anywhere: no step larger than the track's own, with or without its vocals.
    let natural = max_step(&mix).max(max_step(&without_vocals));
    let heard = &take.out[(played_from + 2) * 256..];
    assert!(
        max_step(heard) <= natural * 1.01,
        "{} vs {natural}",
        max_step(heard)
    );
}

/// Ejecting a deck cancels its separation: no stems reach the engine.
#[test]
fn ejecting_a_deck_cancels_its_separation() {
    use segue_library::decks::{CommandSink, DeckService, DeckServiceConfig, EngineSink};
    const RATE: u32 = 48_000;
    let dir = std::env::temp_dir().join(format!("segue-worker-cancel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("long.wav");
    write_wav(&path, RATE, &stem_track(RATE, 240.0));
    let parts = Engine::new(EngineConfig {
        sample_rate: RATE,
        max_block: 256,
        decks: 1,
        ..EngineConfig::default()
    })
    .unwrap();
    let collector = parts.collector.spawn().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let audio = audio_thread(
        parts.engine,
        Duration::from_millis(5),
        stop.clone(),
        RATE as usize * 600,
    );
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
    assert!(service.load(0, path, None));
    let t0 = Instant::now();
    // Wait until the separation is under way (past the analysis), then eject.
    while service.deck(0).separation.is_none_or(|f| f <= 0.0) {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "{:?}",
            service.deck(0)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    service.eject(0);
    assert_eq!(service.deck(0).separation, None);
    // The worker stops at its next check; nothing is attached.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(service.counters().separations.load(Ordering::Relaxed), 0);
    assert_eq!(service.counters().stems_attached.load(Ordering::Relaxed), 0);
    let st = sink.status().decks[0];
    assert!(!st.loaded && !st.has_stems);
    // The next load separates again.
    stop.store(true, Ordering::Relaxed);
    audio.join().unwrap();
    service.shutdown();
    drop(sink);
    collector.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
