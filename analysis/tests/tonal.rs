//! Key, loudness and energy analysis against demo tracks with exact ground truth and
//! against test signals with known levels. Run with `--nocapture` for the key table.

use std::sync::OnceLock;
use std::time::Instant;

use segue_analysis::energy::{energy_curve, energy_level, energy_level_between};
use segue_analysis::key::{detect_key, LOW_CONFIDENCE};
use segue_analysis::loudness::{
    measure_loudness, replay_gain_db, true_peak, Loudness, LoudnessMeter,
};
use segue_analysis::music::{Key, Mode};
use segue_demo::eval::key_score as mirex;
use segue_demo::{self as demo, DemoSpec, DemoTrack, SectionLabel, Style};
use segue_engine::TrackAudio;

const SR: u32 = 44_100;

/// Hop of the energy curves in these tests, seconds.
const HOP: f64 = 0.5;

/// Section layout of fixture `i` at about `bars` bars in all.
fn layout(i: usize, bars: u32) -> Vec<(SectionLabel, u32)> {
    use SectionLabel::*;
    let q = (bars / 6).max(1);
    let rest = bars.saturating_sub(4 * q).max(1);
    match i % 4 {
        0 => vec![(Intro, q), (Verse, 2 * q), (Drop, rest), (Outro, q)],
        1 => vec![(Intro, q), (Build, q), (Drop, rest), (Break, q), (Drop, q)],
        2 => vec![(Break, q), (Build, q), (Drop, rest + q), (Outro, q)],
        _ => vec![(Verse, q), (Drop, rest), (Break, q), (Build, q), (Drop, q)],
    }
}

/// 24 short fixtures (about 20-25 s), one per key, over the three styles and 88-174 BPM.
fn fixtures() -> &'static [DemoTrack] {
    static SET: OnceLock<Vec<DemoTrack>> = OnceLock::new();
    SET.get_or_init(|| {
        let tempos: [(f64, Style); 8] = [
            (122.0, Style::FourOnFloor),
            (174.0, Style::Breakbeat),
            (128.0, Style::FourOnFloor),
            (88.0, Style::HalfTime),
            (140.0, Style::FourOnFloor),
            (124.5, Style::FourOnFloor),
            (172.0, Style::Breakbeat),
            (95.0, Style::HalfTime),
        ];
        Key::ALL
            .iter()
            .enumerate()
            .map(|(i, &key)| {
                let (bpm, style) = tempos[(i * 5) % tempos.len()];
                let bars = (22.0 * bpm / 240.0).round() as u32;
                let name = format!("key-{i:02}");
                let mut spec = DemoSpec::new(&name, bpm, key, style)
                    .sections(&layout(i, bars))
                    .seed(1_000 + 7 * i as u64);
                if i % 5 == 2 {
                    spec = spec.pickup(2);
                }
                if i % 7 == 3 {
                    spec = spec.drumless_intro();
                }
                demo::synthesize(&spec, SR)
            })
            .collect()
    })
}

#[test]
fn mirex_weights_follow_the_definition() {
    let a = Key::new(9, Mode::Minor);
    assert_eq!(mirex(a, a), 1.0);
    assert_eq!(mirex(Key::new(4, Mode::Minor), a), 0.5);
    assert_eq!(mirex(Key::new(2, Mode::Minor), a), 0.5);
    assert_eq!(mirex(Key::new(0, Mode::Major), a), 0.3);
    assert_eq!(mirex(Key::new(9, Mode::Major), a), 0.2);
    assert_eq!(mirex(Key::new(10, Mode::Minor), a), 0.0);
}

#[test]
fn keys_of_24_demo_tracks_score_at_least_0_95_mirex() {
    let tracks = fixtures();
    let start = Instant::now();
    let mut total = 0.0;
    // One print at the end, so the table is not interleaved with other tests' output.
    let mut table = format!(
        "{:<7} {:>6} {:<13} {:<9} {:<9} {:>5} {:>5}\n",
        "track", "bpm", "style", "truth", "estimate", "conf", "score"
    );
    for t in tracks {
        let truth: Key = t.truth.key.parse().unwrap();
        let est = detect_key(&t.audio.mono(), SR).expect("a demo track has a key");
        let s = mirex(est.key, truth);
        total += s;
        table += &format!(
            "{:<7} {:>6.1} {:<13} {:<9} {:<9} {:>5.2} {:>5.1}\n",
            t.spec.name,
            t.spec.bpm,
            t.spec.style.name(),
            truth.name(),
            est.key.name(),
            est.confidence,
            s
        );
        assert!((0.0..=1.0).contains(&est.confidence));
    }
    let score = total / tracks.len() as f64;
    println!(
        "{table}MIREX weighted score {score:.3} over {} tracks ({:.2} s)",
        tracks.len(),
        start.elapsed().as_secs_f64()
    );
    let mut keys: Vec<&str> = tracks.iter().map(|t| t.truth.key.as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 24, "the fixtures cover every key");
    assert!(score >= 0.95, "MIREX weighted score {score:.3} < 0.95");
}

#[test]
fn the_built_in_demo_set_gets_its_keys_at_22_khz() {
    let rate = 22_050;
    let mut total = 0.0;
    let mut table = String::new();
    let set = demo::demo_set();
    for spec in &set {
        let t = demo::synthesize(spec, rate);
        let est = detect_key(&t.audio.mono(), rate).expect("a demo track has a key");
        let s = mirex(est.key, spec.key);
        total += s;
        table += &format!(
            "{:<17} {:<9} {:<9} {:>5.2} {:>4.1}\n",
            spec.name,
            spec.key.name(),
            est.key.name(),
            est.confidence,
            s
        );
    }
    let score = total / set.len() as f64;
    println!("{table}built-in set at 22.05 kHz: MIREX weighted score {score:.3}");
    assert!(score >= 0.95, "MIREX weighted score {score:.3} < 0.95");
}

fn sine(freq: f64, amp: f64, phase: f64, secs: f64, rate: u32) -> Vec<f32> {
    (0..(secs * rate as f64) as usize)
        .map(|i| {
            (amp * (std::f64::consts::TAU * freq * i as f64 / rate as f64 + phase).sin()) as f32
        })
        .collect()
}

fn stereo(mono: &[f32], rate: u32) -> TrackAudio {
    TrackAudio::new(rate, mono.iter().map(|&v| [v, v]).collect())
}

fn db(level: f64) -> f64 {
    10f64.powf(level / 20.0)
}

/// Deterministic uniform noise in -amp..amp (xorshift).
fn noise(amp: f64, secs: f64, rate: u32, mut seed: u64) -> Vec<f32> {
    (0..(secs * rate as f64) as usize)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (amp * ((seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)) as f32
        })
        .collect()
}

#[test]
fn a_1_khz_sine_at_minus_20_dbfs_in_both_channels_reads_minus_20_lufs() {
    // BS.1770 / EBU Tech 3341 case 1: a stereo 1 kHz sine at -23 dBFS per channel reads
    // -23 LUFS (-3 dB for the sine's mean square, +0.69 dB of K-weighting at 1 kHz,
    // -0.691 calibration, +3 dB for two channels). So -20 dBFS reads -20 LUFS.
    for freq in [997.0, 1000.0] {
        let l = measure_loudness(&stereo(&sine(freq, db(-20.0), 0.0, 20.0, SR), SR));
        println!("{freq} Hz sine at -20 dBFS, both channels: {l:?}");
        assert!((l.integrated_lufs + 20.0).abs() < 0.1, "{l:?}");
        assert!(l.range_lu < 0.1, "{l:?}");
        assert!((l.true_peak_db + 20.0).abs() < 0.1, "{l:?}");
    }
    // One channel alone is 3 dB quieter.
    let x = sine(997.0, db(-20.0), 0.0, 20.0, SR);
    let one = TrackAudio::new(SR, x.iter().map(|&v| [v, 0.0]).collect());
    let l = measure_loudness(&one);
    assert!((l.integrated_lufs + 23.01).abs() < 0.1, "{l:?}");
}

#[test]
fn true_peak_sees_between_the_samples() {
    // A full-scale sine at a quarter of the sample rate sampled 45° off its peaks: every
    // sample is at ±0.707 (-3 dBFS), the waveform between them reaches 0 dBFS.
    let x = sine(SR as f64 / 4.0, 1.0, std::f64::consts::FRAC_PI_4, 5.0, SR);
    let sample_peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!((20.0 * (sample_peak as f64).log10() + 3.01).abs() < 0.05);
    let l = measure_loudness(&stereo(&x, SR));
    println!("fs/4 sine, samples at -3 dBFS: {l:?}");
    assert!(l.true_peak_db > -0.6 && l.true_peak_db < 0.3, "{l:?}");
}

#[test]
fn loudness_range_spans_a_quiet_and_a_loud_half() {
    // 20 s of noise at -30 dBFS then 20 s at -15 dBFS: the short-term loudness sits at two
    // levels 15 LU apart, so LRA (10th to 95th percentile) is about 15 LU.
    let mut x = noise(db(-30.0), 20.0, SR, 1);
    x.extend(noise(db(-15.0), 20.0, SR, 2));
    let l = measure_loudness(&stereo(&x, SR));
    println!("quiet half + loud half: {l:?}");
    assert!((l.range_lu - 15.0).abs() < 1.0, "{l:?}");
    // Integrated loudness is the loud half's alone: the quiet half is more than 10 LU below
    // the ungated mean, so the relative gate drops it.
    let loud = measure_loudness(&stereo(&noise(db(-15.0), 20.0, SR, 3), SR));
    assert!(
        (l.integrated_lufs - loud.integrated_lufs).abs() < 0.2,
        "{l:?} {loud:?}"
    );
}

#[test]
fn silence_nans_and_tiny_inputs_give_finite_sentinels() {
    use segue_analysis::loudness::{SILENCE_LUFS, SILENCE_PEAK_DB};
    let silent = measure_loudness(&stereo(&vec![0.0; 5 * SR as usize], SR));
    assert_eq!(
        silent,
        Loudness {
            integrated_lufs: SILENCE_LUFS,
            range_lu: 0.0,
            true_peak_db: SILENCE_PEAK_DB
        }
    );
    assert_eq!(measure_loudness(&TrackAudio::new(SR, vec![])), silent);
    assert_eq!(measure_loudness(&stereo(&[0.5; 10], SR)).range_lu, 0.0);
    assert_eq!(
        measure_loudness(&TrackAudio::new(0, vec![[0.1; 2]; 100])),
        silent
    );
    let mut x = sine(1000.0, db(-20.0), 0.0, 5.0, SR);
    x[100] = f32::NAN;
    x[200] = f32::INFINITY;
    let l = measure_loudness(&stereo(&x, SR));
    assert!(
        l.integrated_lufs.is_finite() && (l.integrated_lufs + 20.0).abs() < 0.2,
        "{l:?}"
    );
    // (the dropouts are clicks, whose true peak overshoots the sine a little)
    assert!(
        l.true_peak_db.is_finite() && l.true_peak_db < -17.0,
        "{l:?}"
    );
    assert_eq!(replay_gain_db(&silent, -14.0), 0.0);
}

#[test]
fn replay_gain_reaches_the_target_unless_the_peak_would_pass_minus_1_dbtp() {
    let l = |i, p| Loudness {
        integrated_lufs: i,
        range_lu: 6.0,
        true_peak_db: p,
    };
    assert_eq!(replay_gain_db(&l(-8.0, 0.8), -14.0), -6.0);
    assert_eq!(replay_gain_db(&l(-14.0, -1.0), -14.0), 0.0);
    assert_eq!(replay_gain_db(&l(-20.0, -10.0), -14.0), 6.0);
    // +6 dB would put the peak at +1 dBTP: limited to +1 dB (peak at -1 dBTP).
    assert_eq!(replay_gain_db(&l(-20.0, -2.0), -14.0), 1.0);
    // A peak already above -1 dBTP is turned down even at the target loudness.
    assert_eq!(replay_gain_db(&l(-14.0, 0.5), -14.0), -1.5);
    assert_eq!(replay_gain_db(&l(f64::NAN, -3.0), -14.0), 0.0);
    // Measured, then trimmed, then measured again.
    let x = sine(440.0, db(-26.0), 0.0, 10.0, SR);
    let before = measure_loudness(&stereo(&x, SR));
    let g = replay_gain_db(&before, -18.0);
    let y: Vec<f32> = x.iter().map(|&v| v * db(g) as f32).collect();
    let after = measure_loudness(&stereo(&y, SR));
    assert!(
        (after.integrated_lufs + 18.0).abs() < 0.05,
        "{before:?} {after:?}"
    );
}

#[test]
fn drops_have_more_energy_than_breaks() {
    let mut checked = 0;
    let mut table = format!("{:<7} {:>5} sections (label:level)\n", "track", "level");
    for t in fixtures() {
        let curve = energy_curve(&t.audio.mono(), SR, HOP);
        let mut line = String::new();
        let mut drops = Vec::new();
        let mut breaks = Vec::new();
        for s in &t.truth.sections {
            let e = energy_level_between(&curve, HOP, s.start, s.end);
            line += &format!(" {}:{e}", s.label);
            match s.label {
                SectionLabel::Drop => drops.push(e),
                SectionLabel::Break => breaks.push(e),
                _ => {}
            }
        }
        table += &format!("{:<7} {:>5}{line}\n", t.spec.name, energy_level(&curve));
        if let (Some(&quietest_drop), Some(&loudest_break)) =
            (drops.iter().min(), breaks.iter().max())
        {
            assert!(quietest_drop > loudest_break, "{}: {line}", t.spec.name);
            checked += 1;
        }
    }
    println!("{table}");
    assert!(checked >= 10, "{checked} tracks with both drops and breaks");
}

#[test]
fn silence_is_1_and_full_scale_noise_is_at_least_8() {
    let secs = 10.0;
    let silence = energy_curve(&vec![0.0; (secs * SR as f64) as usize], SR, HOP);
    assert_eq!(energy_level(&silence), 1);
    assert!(silence.iter().all(|&v| v == 0.0));
    let loud = energy_curve(&noise(1.0, secs, SR, 7), SR, HOP);
    println!("full-scale noise: level {}", energy_level(&loud));
    assert!(energy_level(&loud) >= 8);
    assert!(loud.iter().all(|v| (0.0..=1.0).contains(v)));
    // Quiet noise is low energy: a level is an absolute measure, not a per-track one.
    let quiet = energy_curve(&noise(db(-50.0), secs, SR, 8), SR, HOP);
    assert!(energy_level(&quiet) <= 2, "{}", energy_level(&quiet));
    assert_eq!(
        energy_level_between(&loud, HOP, 2.0, 4.0),
        energy_level(&loud)
    );
    for bad in [vec![], vec![0.3f32], vec![f32::NAN; 1000]] {
        let c = energy_curve(&bad, SR, HOP);
        assert!(energy_level(&c) >= 1);
    }
}

/// The `ebur128` crate's true-peak reading of `audio` (linear).
fn ebur128_true_peak(audio: &TrackAudio) -> f64 {
    let mut m = ebur128::EbuR128::new(2, audio.sample_rate, ebur128::Mode::TRUE_PEAK).unwrap();
    let flat: Vec<f32> = audio.mix.iter().flatten().copied().collect();
    m.add_frames_f32(&flat).unwrap();
    (0..2).map(|c| m.true_peak(c).unwrap()).fold(0.0, f64::max)
}

#[test]
fn true_peak_agrees_with_the_ebur128_crate() {
    let track = demo::synthesize(&demo::demo_set()[1], SR);
    let mut clicks = vec![0.0f32; SR as usize];
    for (i, v) in clicks.iter_mut().enumerate().skip(1000).step_by(4410) {
        *v = if i % 2 == 0 { 0.9 } else { -0.9 };
    }
    let cases = [
        ("demo track", track.audio.clone()),
        ("noise", stereo(&noise(db(-6.0), 5.0, SR, 9), SR)),
        ("clicks", stereo(&clicks, SR)),
        (
            "fs/4 sine 45° off",
            stereo(
                &sine(SR as f64 / 4.0, 0.5, std::f64::consts::FRAC_PI_4, 2.0, SR),
                SR,
            ),
        ),
    ];
    for (name, audio) in cases {
        let ours = 20.0 * (true_peak(&audio.mix, audio.sample_rate) as f64).log10();
        let theirs = 20.0 * ebur128_true_peak(&audio).log10();
        println!("{name}: {ours:.3} dBTP, ebur128 {theirs:.3} dBTP");
        assert!((ours - theirs).abs() < 0.25, "{name}: {ours} vs {theirs}");
    }
}

/// The `ebur128` crate's integrated loudness and loudness range of `audio`.
fn ebur128_loudness(audio: &TrackAudio) -> (f64, f64) {
    let mode = ebur128::Mode::I | ebur128::Mode::LRA;
    let mut m = ebur128::EbuR128::new(2, audio.sample_rate, mode).unwrap();
    let flat: Vec<f32> = audio.mix.iter().flatten().copied().collect();
    m.add_frames_f32(&flat).unwrap();
    (m.loudness_global().unwrap(), m.loudness_range().unwrap())
}

#[test]
fn integrated_loudness_and_range_agree_with_the_ebur128_crate() {
    let track = demo::synthesize(&demo::demo_set()[2], SR);
    // Loudness steps every 2.5 s (a spread for the range), with a silent gap (the gates).
    let steps: Vec<f32> = noise(1.0, 30.0, SR, 3)
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let step = i / (SR as usize * 5 / 2);
            if step == 5 {
                0.0
            } else {
                v * db(-6.0 * (step % 4) as f64 - 12.0) as f32
            }
        })
        .collect();
    let left_only: Vec<[f32; 2]> = sine(200.0, 0.3, 0.0, 8.0, 48_000)
        .iter()
        .map(|&v| [v, 0.0])
        .collect();
    let cases = [
        ("demo track", track.audio.clone()),
        ("noise steps", stereo(&steps, SR)),
        (
            "100 Hz at 96 kHz",
            stereo(&sine(100.0, 0.5, 0.0, 6.0, 96_000), 96_000),
        ),
        (
            "200 Hz, left only, 48 kHz",
            TrackAudio::new(48_000, left_only),
        ),
        (
            "quiet 3 kHz",
            stereo(&sine(3000.0, db(-50.0), 0.0, 5.0, SR), SR),
        ),
    ];
    for (name, audio) in cases {
        let ours = measure_loudness(&audio);
        let (i, lra) = ebur128_loudness(&audio);
        println!(
            "{name}: {:.4} LUFS, LRA {:.4} LU; ebur128 {i:.4} LUFS, LRA {lra:.4} LU",
            ours.integrated_lufs, ours.range_lu
        );
        assert!(
            (ours.integrated_lufs - i).abs() < 0.01,
            "{name}: I {ours:?} vs {i}"
        );
        assert!(
            (ours.range_lu - lra).abs() < 0.01,
            "{name}: LRA {ours:?} vs {lra}"
        );
        // The meter given the mix a stretch at a time (long ones, in four parts, and short
        // ones, serially) reads the same, to rounding; the true peak to the bit.
        let rate = audio.sample_rate as usize;
        let mut meter = LoudnessMeter::new(audio.sample_rate);
        let mut rest = &audio.mix[..];
        for len in [rate * 93 / 10, rate * 77 / 100].into_iter().cycle() {
            let (now, later) = rest.split_at(len.min(rest.len()));
            meter.add(now);
            rest = later;
            if rest.is_empty() {
                break;
            }
        }
        let streamed = meter.finish();
        assert!(
            (streamed.integrated_lufs - ours.integrated_lufs).abs() < 1e-9
                && (streamed.range_lu - ours.range_lu).abs() < 1e-9
                && streamed.true_peak_db.to_bits() == ours.true_peak_db.to_bits(),
            "{name}: streamed {streamed:?} vs {ours:?}"
        );
    }
}

#[test]
fn a_file_analysed_as_it_decodes_gets_the_analysis_of_the_decoded_track() {
    use segue_analysis::{analyze, analyze_file_with_info};
    let dir = std::env::temp_dir().join(format!("segue-streamed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = &demo::demo_set()[1];
    // At the analysis rate the file is streamed; at 48 kHz it is decoded whole and
    // resampled. Float WAV and 16-bit WAV.
    for (rate, format, name) in [
        (SR, segue_decode::wav::WavFormat::Float32, "f32.wav"),
        (SR, segue_decode::wav::WavFormat::Pcm16, "s16.wav"),
        (48_000, segue_decode::wav::WavFormat::Pcm16, "48k.wav"),
    ] {
        let track = demo::synthesize(spec, rate);
        let path = dir.join(name);
        segue_decode::wav::write_wav(&path, rate, &track.audio.mix, format).unwrap();
        let decoded = segue_decode::decode_file(&path, SR).unwrap();
        let whole = analyze(&decoded).unwrap();
        let (streamed, info) = analyze_file_with_info(&path).unwrap();
        assert_eq!(info.source_frames, track.audio.mix.len());
        assert!(
            (streamed.lufs - whole.lufs).abs() < 1e-9
                && (streamed.loudness_range - whole.loudness_range).abs() < 1e-9,
            "{name}: {} / {} LUFS, LRA {} / {}",
            streamed.lufs,
            whole.lufs,
            streamed.loudness_range,
            whole.loudness_range
        );
        // Everything else to the bit.
        let same_loudness = segue_analysis::Analysis {
            lufs: whole.lufs,
            loudness_range: whole.loudness_range,
            ..streamed
        };
        assert_eq!(same_loudness, whole, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A note with six harmonics (amplitude 1/h), as real instruments have: the 3rd harmonic
/// adds the fifth above, which pulls a plain chroma towards the dominant.
fn rich_note(midi: f64, amp: f64, secs: f64, rate: u32) -> Vec<f32> {
    let f0 = 440.0 * 2f64.powf((midi - 69.0) / 12.0);
    (0..(secs * rate as f64) as usize)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let env = (t / 0.01).min(1.0) * (-t / (0.8 * secs)).exp();
            let s: f64 = (1..=6)
                .map(|h| (std::f64::consts::TAU * f0 * h as f64 * t).sin() / h as f64)
                .sum();
            (amp * env * s) as f32
        })
        .collect()
}

/// Pop progressions that do not dwell on the tonic chord (I-V-vi-IV, vi-IV-I-V, i-VI-VII-v)
/// played with notes rich in harmonics and a bass on the roots read as their key, not as
/// its relative or dominant, with a confidence that says so.
#[test]
fn pop_progressions_with_their_bass_read_the_tonic() {
    let bar = 2.0;
    // (tonic pitch class, mode, chords as MIDI notes with the bass first).
    let cases: [(u8, Mode, [[f64; 4]; 4]); 3] = [
        // D major, I-V-vi-IV: D, A, Bm, G.
        (
            2,
            Mode::Major,
            [
                [38.0, 62.0, 66.0, 69.0],
                [45.0, 69.0, 73.0, 76.0],
                [47.0, 71.0, 74.0, 78.0],
                [43.0, 67.0, 71.0, 74.0],
            ],
        ),
        // F major, vi-IV-I-V: Dm, Bb, F, C.
        (
            5,
            Mode::Major,
            [
                [38.0, 62.0, 65.0, 69.0],
                [46.0, 70.0, 74.0, 77.0],
                [41.0, 65.0, 69.0, 72.0],
                [48.0, 72.0, 76.0, 79.0],
            ],
        ),
        // G minor, i-VI-VII-v: Gm, Eb, F, Dm.
        (
            7,
            Mode::Minor,
            [
                [43.0, 67.0, 70.0, 74.0],
                [39.0, 63.0, 67.0, 70.0],
                [41.0, 65.0, 69.0, 72.0],
                [38.0, 62.0, 65.0, 69.0],
            ],
        ),
    ];
    let mut ok = 0;
    for (tonic, mode, chords) in cases {
        let mut x: Vec<f32> = Vec::new();
        for _ in 0..4 {
            for chord in &chords {
                let mut seg = vec![0.0f32; (bar * SR as f64) as usize];
                for (i, &m) in chord.iter().enumerate() {
                    let amp = if i == 0 { 0.25 } else { 0.12 };
                    for (s, v) in seg.iter_mut().zip(rich_note(m, amp, bar, SR)) {
                        *s += v;
                    }
                }
                x.extend(seg);
            }
        }
        let est = detect_key(&x, SR).expect("a key");
        let truth = Key::new(tonic, mode);
        println!(
            "{truth}: read {} (confidence {:.2}, runner-up {})",
            est.key, est.confidence, est.runner_up
        );
        ok += (est.key == truth) as usize;
        // Clear keys read clearly: the bass roots lift the confidence above the point
        // where a runner-up is named (0.25-0.35 from the whole chroma alone).
        assert!(
            est.confidence >= segue_analysis::key::LOW_CONFIDENCE,
            "{truth}: {est:?}"
        );
    }
    assert_eq!(ok, 3);
}

/// `chords` (MIDI notes, the bass first) played one bar each, `loops` times over, then the
/// chord `last` for `last_secs` (none when 0), then `outro_secs` of drums only (kick and
/// hi-hat noise, no pitch), all with notes rich in harmonics.
fn progression(
    chords: &[[f64; 4]],
    loops: usize,
    last: [f64; 4],
    last_secs: f64,
    outro_secs: f64,
) -> Vec<f32> {
    let bar = 2.0;
    let chord = |notes: &[f64; 4], secs: f64| {
        let mut seg = vec![0.0f32; (secs * SR as f64) as usize];
        for (i, &m) in notes.iter().enumerate() {
            let amp = if i == 0 { 0.25 } else { 0.12 };
            for (s, v) in seg.iter_mut().zip(rich_note(m, amp, secs, SR)) {
                *s += v;
            }
        }
        seg
    };
    let mut x: Vec<f32> = Vec::new();
    for _ in 0..loops {
        for c in chords {
            x.extend(chord(c, bar));
        }
    }
    if last_secs > 0.0 {
        x.extend(chord(&last, last_secs));
    }
    // Drums: a decaying 55 Hz kick on each beat (0.5 s), a burst of noise between.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let n = (outro_secs * SR as f64) as usize;
    let beat = SR as usize / 2;
    x.extend((0..n).map(|i| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        let tk = (i % beat) as f64 / SR as f64;
        let th = ((i + beat / 2) % beat) as f64 / SR as f64;
        let kick = (std::f64::consts::TAU * 55.0 * tk).sin() * (-tk / 0.08).exp() * 0.6;
        let hat = noise * (-th / 0.03).exp() * 0.3;
        (kick + hat) as f32
    }));
    x
}

/// A loop that spends as long on each chord (E minor's III-VII-i-iv: G, D, Em, Am) names its
/// tonic only by where it comes to rest: ending on the tonic chord reads E minor. After a drum
/// outro whose kick is tuned to A (55 Hz) the loop is as much A dorian's VII-IV-v-i: since
/// analyser version 6 (chord histogram, overtones at half weight) that reads A minor, so
/// the test asks what a DJ needs there, a low confidence with E minor as the runner-up.
#[test]
fn a_loop_of_equal_chords_reads_the_key_its_ending_rests_on() {
    let chords = [
        [43.0, 67.0, 71.0, 74.0], // G
        [38.0, 62.0, 66.0, 69.0], // D
        [40.0, 64.0, 67.0, 71.0], // Em
        [45.0, 69.0, 72.0, 76.0], // Am
    ];
    let e_minor = Key::new(4, Mode::Minor);
    let em = [40.0, 64.0, 67.0, 71.0];
    let ends_on_em = detect_key(&progression(&chords, 4, em, 4.0, 0.0), SR).unwrap();
    assert_eq!(ends_on_em.key, e_minor, "{ends_on_em:?}");
    let drum_outro = detect_key(&progression(&chords, 4, em, 4.0, 8.0), SR).unwrap();
    assert!(
        drum_outro.key == e_minor
            || (drum_outro.confidence < LOW_CONFIDENCE && drum_outro.runner_up == e_minor),
        "{drum_outro:?}"
    );
    // Resting on G instead, the same loop reads G major (E minor's relative).
    let g = [43.0, 67.0, 71.0, 74.0];
    let ends_on_g = detect_key(&progression(&chords, 4, g, 4.0, 0.0), SR).unwrap();
    assert_eq!(ends_on_g.key, Key::new(7, Mode::Major), "{ends_on_g:?}");
}

/// Modal loops read as annotations name them: a dorian loop as the minor key of its tonic
/// (C dorian's i-IV, Cm-F: C minor, though its notes are Bb major's), a mixolydian loop as
/// the major key of its tonic (G mixolydian's I-bVII-IV-I: G major, not C major).
#[test]
fn modal_loops_read_as_the_key_of_their_tonic() {
    let dorian = [
        [36.0, 60.0, 63.0, 67.0], // Cm
        [41.0, 65.0, 69.0, 72.0], // F
    ];
    let est = detect_key(&progression(&dorian, 8, dorian[0], 4.0, 0.0), SR).unwrap();
    assert_eq!(est.key, Key::new(0, Mode::Minor), "{est:?}");
    let mixolydian = [
        [43.0, 67.0, 71.0, 74.0], // G
        [41.0, 65.0, 69.0, 72.0], // F
        [36.0, 60.0, 64.0, 67.0], // C
        [43.0, 67.0, 71.0, 74.0], // G
    ];
    let est = detect_key(&progression(&mixolydian, 4, mixolydian[0], 4.0, 0.0), SR).unwrap();
    assert_eq!(est.key, Key::new(7, Mode::Major), "{est:?}");
}

/// A note with twelve harmonics (amplitude 1/h): a sawtooth, as synth basses and leads
/// play, with a strong 3rd and 5th harmonic (the fifth and the major third above).
fn saw_note(midi: f64, amp: f64, secs: f64, rate: u32) -> Vec<f32> {
    let f0 = 440.0 * 2f64.powf((midi - 69.0) / 12.0);
    (0..(secs * rate as f64) as usize)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let env = (t / 0.01).min(1.0) * (-t / (0.8 * secs)).exp();
            let s: f64 = (1..=12)
                .map(|h| (std::f64::consts::TAU * f0 * h as f64 * t).sin() / h as f64)
                .sum();
            (amp * env * s) as f32
        })
        .collect()
}

/// A note maker: (MIDI note, amplitude, seconds, rate) to samples.
type NoteFn = fn(f64, f64, f64, u32) -> Vec<f32>;

/// A loop to read: name, tonic, mode, chords (root above the tonic, minor?).
type LoopCase<'a> = (&'a str, u8, Mode, &'a [(i32, bool)]);

/// How a loop's chords are voiced in [`chord_loop`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Voicing {
    /// A bass on the root (E2-D#3) under the triad (C4-B4).
    RootBass,
    /// The triad alone, no bass.
    NoBass,
    /// A pad with the chord's fifth as its lowest note (E2-D#3), the triad above: the
    /// second inversion a pad intro often has.
    FifthBelow,
}

/// The notes (MIDI) of the triad on pitch class `root` (minor or major), voiced so.
fn voiced(root: i32, minor: bool, voicing: Voicing) -> Vec<f64> {
    let third = if minor { 3 } else { 4 };
    let in_octave = |pc: i32, lowest: i32| (lowest + (pc - lowest).rem_euclid(12)) as f64;
    let mut notes = match voicing {
        Voicing::RootBass => vec![in_octave(root, 40)],
        Voicing::FifthBelow => vec![in_octave(root + 7, 40)],
        Voicing::NoBass => vec![],
    };
    notes.extend([root, root + third, root + 7].map(|pc| in_octave(pc, 60)));
    notes
}

/// The chords (root in semitones above the tonic of `key`, minor?), one 2-second bar
/// each, once per entry of `voicings`, then the tonic chord for 4 s (the track comes to
/// rest), every note made by `note` (the lowest louder, as a bass is).
fn chord_loop(key: Key, chords: &[(i32, bool)], voicings: &[Voicing], note: NoteFn) -> Vec<f32> {
    let tonic_chord = (0, key.mode == Mode::Minor);
    let last = *voicings.last().unwrap_or(&Voicing::RootBass);
    let bars = voicings
        .iter()
        .flat_map(|&v| chords.iter().map(move |&c| (c, v, 2.0)))
        .chain([(tonic_chord, last, 4.0)]);
    let mut x: Vec<f32> = Vec::new();
    {
        for ((interval, minor), voicing, bar) in bars {
            let mut seg = vec![0.0f32; (bar * SR as f64) as usize];
            let notes = voiced(key.tonic as i32 + interval, minor, voicing);
            for (i, &m) in notes.iter().enumerate() {
                let amp = if i == 0 && voicing != Voicing::NoBass {
                    0.25
                } else {
                    0.12
                };
                for (s, v) in seg.iter_mut().zip(note(m, amp, bar, SR)) {
                    *s += v;
                }
            }
            x.extend(seg);
        }
    }
    x
}

/// Reads every case (name, tonic, mode, chords) in every voicing sequence with both note
/// timbres; panics with the list of misreadings.
fn assert_loops_read_their_tonic(cases: &[LoopCase]) {
    use Voicing::*;
    let sequences: [&[Voicing]; 3] = [
        &[RootBass; 4],
        &[NoBass; 4],
        // A pad intro over its fifth, then the bass comes in.
        &[FifthBelow, RootBass, RootBass, RootBass],
    ];
    let notes: [(&str, NoteFn); 2] = [("6 harmonics", rich_note), ("sawtooth", saw_note)];
    let mut misses = Vec::new();
    for &(name, tonic, mode, chords) in cases {
        let truth = Key::new(tonic, mode);
        for voicings in sequences {
            for (timbre, note) in notes {
                let est = detect_key(&chord_loop(truth, chords, voicings, note), SR).unwrap();
                println!(
                    "{name} in {truth}, {voicings:?}, {timbre}: {} ({:.2}, runner-up {})",
                    est.key, est.confidence, est.runner_up
                );
                if est.key != truth {
                    misses.push(format!(
                        "{name} in {truth} ({voicings:?}, {timbre}): {est:?}"
                    ));
                }
            }
        }
    }
    assert!(misses.is_empty(), "{misses:#?}");
}

/// ii-V-I loops read as the key of their I, not of their V: the pitch classes of ii-V-I-I
/// in F (Gm, C, F, F) have as much C as F, and the 3rd harmonics add more C and G; the
/// chords decide (Gm is no chord of C major, and F lasts longest).
#[test]
fn ii_v_i_loops_read_the_tonic_not_the_dominant() {
    let ii_v_i_i: &[(i32, bool)] = &[(2, true), (7, false), (0, false), (0, false)];
    assert_loops_read_their_tonic(&[
        ("ii-V-I-I", 5, Mode::Major, ii_v_i_i),
        ("ii-V-I-I", 7, Mode::Major, ii_v_i_i),
        ("ii-V-I-I", 6, Mode::Major, ii_v_i_i),
        ("ii-V-I-I", 2, Mode::Major, ii_v_i_i),
        ("ii-V-I-I", 10, Mode::Major, ii_v_i_i),
    ]);
}

/// Pop and minor loops that start off the tonic, and as long on each chord, read as their
/// key rather than its relative, dominant or subdominant; a dorian i-IV loop of sawtooth
/// notes reads minor although the root's 5th harmonic adds its major third.
#[test]
fn loops_starting_off_the_tonic_read_the_tonic() {
    assert_loops_read_their_tonic(&[
        (
            "IV-I-V-vi",
            9,
            Mode::Major,
            &[(5, false), (0, false), (7, false), (9, true)],
        ),
        (
            "V-vi-IV-I",
            4,
            Mode::Major,
            &[(7, false), (9, true), (5, false), (0, false)],
        ),
        (
            "IV-V-I-vi",
            0,
            Mode::Major,
            &[(5, false), (7, false), (0, false), (9, true)],
        ),
        (
            "I-V-vi-IV",
            2,
            Mode::Major,
            &[(0, false), (7, false), (9, true), (5, false)],
        ),
        (
            "VI-VII-i-i",
            9,
            Mode::Minor,
            &[(8, false), (10, false), (0, true), (0, true)],
        ),
        (
            "i-VI-VII-i",
            4,
            Mode::Minor,
            &[(0, true), (8, false), (10, false), (0, true)],
        ),
        (
            "VI-iv-i-VII",
            10,
            Mode::Minor,
            &[(8, false), (5, true), (0, true), (10, false)],
        ),
        (
            "VII-VI-iv-i",
            1,
            Mode::Minor,
            &[(10, false), (8, false), (5, true), (0, true)],
        ),
        (
            "dorian IV-i",
            0,
            Mode::Minor,
            &[(5, false), (0, true), (5, false), (0, true)],
        ),
    ]);
}

/// `analyze_file` measures the loudness, then writes the mono mix over the decoded stereo
/// mix's memory: the same analysis as `analyze` of the decoded audio.
#[test]
fn analysing_a_file_equals_analysing_its_decoded_audio() {
    use segue_analysis::{analyze, analyze_file};
    use segue_decode::wav::{write_wav, WavFormat};
    let spec = DemoSpec::new("owned", 124.0, Key::new(9, Mode::Minor), Style::FourOnFloor)
        .sections(&[(SectionLabel::Intro, 4), (SectionLabel::Drop, 4)]);
    let track = demo::synthesize(&spec, SR);
    let path = std::env::temp_dir().join(format!("segue-owned-{}.wav", std::process::id()));
    write_wav(&path, SR, &track.audio.mix, WavFormat::Pcm16).expect("write the track");
    let decoded = segue_decode::decode_file(&path, SR).expect("decode the track");
    let from_file = analyze_file(&path);
    let _ = std::fs::remove_file(&path);
    let want = analyze(&decoded).expect("a demo track analyses");
    assert_eq!(from_file.expect("a demo track analyses"), want);
}
