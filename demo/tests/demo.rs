//! Behaviour of the demo material: determinism, exact stems, exact ground truth, and audio
//! that actually carries the beats, sections and key the truth claims.

use std::f64::consts::TAU;
use std::sync::OnceLock;

use segue_analysis::music::{Key, Mode};
use segue_demo::{self as demo, DemoSpec, DemoTrack, GroundTruth, SectionLabel, Style};
use segue_engine::Frame;

const SR: u32 = 44_100;

/// The built-in set, rendered once per test binary.
fn set() -> &'static [DemoTrack] {
    static SET: OnceLock<Vec<DemoTrack>> = OnceLock::new();
    SET.get_or_init(|| {
        demo::demo_set()
            .iter()
            .map(|s| demo::synthesize(s, SR))
            .collect()
    })
}

fn stems(t: &DemoTrack) -> &[Vec<Frame>; 4] {
    t.audio.stems.as_ref().expect("demo tracks carry stems")
}

fn mono(frames: &[Frame]) -> Vec<f64> {
    frames
        .iter()
        .map(|f| 0.5 * (f[0] as f64 + f[1] as f64))
        .collect()
}

fn frame(t: f64, sr: u32) -> usize {
    (t * sr as f64).round() as usize
}

fn rms(frames: &[Frame], from: f64, to: f64, sr: u32) -> f64 {
    let s = &frames[frame(from, sr)..frame(to, sr).min(frames.len())];
    let sum: f64 = s
        .iter()
        .map(|f| (f[0] as f64).powi(2) + (f[1] as f64).powi(2))
        .sum();
    (sum / (2 * s.len()).max(1) as f64).sqrt()
}

fn short_spec(name: &str, key: Key, style: Style) -> DemoSpec {
    DemoSpec::new(name, 126.0, key, style)
        .sections(&[
            (SectionLabel::Intro, 1),
            (SectionLabel::Verse, 1),
            (SectionLabel::Build, 2),
            (SectionLabel::Drop, 4),
            (SectionLabel::Break, 1),
            (SectionLabel::Outro, 1),
        ])
        .pickup(2)
        .lead_in(0.25)
}

fn bits(frames: &[Frame]) -> Vec<u32> {
    frames.iter().flat_map(|f| f.map(f32::to_bits)).collect()
}

#[test]
fn same_spec_renders_bit_identical_audio() {
    let spec = short_spec("twice", Key::new(9, Mode::Minor), Style::Breakbeat);
    let a = demo::synthesize(&spec, 22_050);
    let b = demo::synthesize(&spec, 22_050);
    assert_eq!(bits(&a.audio.mix), bits(&b.audio.mix));
    for (x, y) in stems(&a).iter().zip(stems(&b).iter()) {
        assert_eq!(bits(x), bits(y));
    }
    assert_eq!(a.truth, b.truth);
    // The seed matters: another seed gives other audio with the same truth.
    let c = demo::synthesize(&spec.clone().seed(spec.seed + 1), 22_050);
    assert_ne!(bits(&a.audio.mix), bits(&c.audio.mix));
    assert_eq!(a.truth, c.truth);
}

/// FNV-1a over the mix's sample bits.
fn fingerprint(frames: &[Frame]) -> u64 {
    bits(frames).iter().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        b.to_le_bytes()
            .iter()
            .fold(h, |h, &x| (h ^ x as u64).wrapping_mul(0x0100_0000_01B3))
    })
}

/// The synthesiser uses no platform maths, so the bytes are the same on every machine. If
/// you change the sound on purpose, update the constant (and regenerate any fixtures made
/// from the demo set); if it changed by itself, something non-deterministic crept in.
#[test]
fn audio_fingerprint_is_stable_across_machines() {
    let spec = short_spec("fingerprint", Key::new(3, Mode::Major), Style::HalfTime);
    let track = demo::synthesize(&spec, 16_000);
    assert_eq!(
        fingerprint(&track.audio.mix),
        1_486_326_665_026_505_671,
        "demo audio fingerprint changed"
    );
}

#[test]
fn stems_sum_exactly_to_the_mix() {
    for t in set() {
        let [d, b, o, v] = stems(t);
        assert_eq!(t.audio.mix.len(), d.len());
        for i in 0..t.audio.mix.len() {
            for c in 0..2 {
                let sum = d[i][c] + b[i][c] + o[i][c] + v[i][c];
                assert_eq!(
                    t.audio.mix[i][c].to_bits(),
                    sum.to_bits(),
                    "{} frame {i}",
                    t.spec.name
                );
            }
        }
        for (k, s) in stems(t).iter().enumerate() {
            assert!(
                s.iter().any(|f| f[0] != 0.0),
                "{}: stem {k} is silent",
                t.spec.name
            );
        }
    }
}

#[test]
fn nothing_clips_and_the_mix_peaks_near_minus_3_dbfs() {
    let limit = 10f32.powf(-3.0 / 20.0);
    for t in set() {
        let peak = |f: &[Frame]| {
            f.iter()
                .flat_map(|x| x.iter())
                .fold(0f32, |p, s| p.max(s.abs()))
        };
        let mix_peak = peak(&t.audio.mix);
        assert!(mix_peak <= limit, "{}: mix peak {mix_peak}", t.spec.name);
        assert!(mix_peak > 0.69, "{}: mix peak {mix_peak}", t.spec.name);
        for s in stems(t).iter() {
            assert!(peak(s) <= 1.0, "{}: a stem clips", t.spec.name);
        }
        assert!(t.audio.mix.iter().flatten().all(|s| s.is_finite()));
    }
}

#[test]
fn ground_truth_beats_are_even_and_downbeats_follow_the_pickup() {
    for t in set() {
        let truth = &t.truth;
        let spec = &t.spec;
        let period = 60.0 / truth.bpm;
        let sample = 1.0 / truth.sample_rate as f64;
        let bpb = truth.beats_per_bar as usize;
        let pickup = spec.pickup_beats as usize;
        assert_eq!(truth.beats.len(), pickup + spec.bars() as usize * bpb);
        assert!((truth.beats[0] - spec.lead_in_silence_secs).abs() < 1e-9);
        for w in truth.beats.windows(2) {
            assert!((w[1] - w[0] - period).abs() < sample, "{}", spec.name);
        }
        let expected: Vec<f64> = truth.beats[pickup..].iter().step_by(bpb).copied().collect();
        assert_eq!(truth.downbeats, expected);
        assert_eq!(truth.first_downbeat, truth.downbeats[0]);
        assert_eq!(truth.first_downbeat_index(), pickup);
        // Sections tile first downbeat .. end of the last bar, each starting on a downbeat.
        assert_eq!(truth.sections.len(), spec.sections.len());
        assert_eq!(truth.sections[0].start, truth.first_downbeat);
        for (s, (label, bars)) in truth.sections.iter().zip(&spec.sections) {
            assert_eq!(s.label, *label);
            assert!((s.end - s.start - *bars as f64 * bpb as f64 * period).abs() < 1e-9);
            assert!(truth.downbeats.iter().any(|&d| (d - s.start).abs() < 1e-9));
        }
        for w in truth.sections.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        let last = truth.sections.last().unwrap().end;
        assert!((last - (truth.beats.last().unwrap() + period)).abs() < 1e-9);
        assert!(truth.duration > last && truth.duration < last + 2.0);
        assert!((truth.duration - t.audio.duration_secs()).abs() < 1e-9);
        assert_eq!(truth.stems, ["drums", "bass", "other", "vocals"]);
        let key: Key = truth.key.parse().unwrap();
        assert_eq!(key, spec.key);
        assert_eq!(truth.camelot, key.camelot());
        assert_eq!(truth.open_key, key.open_key());
        // The engine grid agrees.
        let grid = demo::beatgrid(truth).unwrap();
        assert_eq!(grid.downbeat_index(), pickup);
        assert_eq!(grid.beats_per_bar(), truth.beats_per_bar);
        let first = truth.first_downbeat * truth.sample_rate as f64;
        assert!(grid.bar_phase(grid.beat_at(first)).abs() < 1e-9);
        assert!((grid.bpm_at(first, truth.sample_rate) - truth.bpm).abs() < 1e-5);
    }
}

/// The low end of the drums stem: a peak-following envelope of the mono signal through
/// two one-pole low-passes at 100 Hz (the kick's body; snares and hats barely get through).
fn low_envelope(drums: &[Frame], sr: u32) -> Vec<f64> {
    let sr = sr as f64;
    let a = 1.0 - (-TAU * 100.0 / sr).exp();
    let release = (-1.0 / (0.01 * sr)).exp();
    let (mut y1, mut y2, mut env) = (0.0, 0.0, 0.0f64);
    mono(drums)
        .into_iter()
        .map(|x| {
            y1 += a * (x - y1);
            y2 += a * (y1 - y2);
            env = (env * release).max(y2.abs());
            env
        })
        .collect()
}

/// Times where `env` jumps: above `threshold` and above three times its value 8 ms
/// earlier (a kick over the tail of the previous one counts; a snare over a kick tail does
/// not). At most one onset per 60 ms.
fn onsets(env: &[f64], sr: u32, threshold: f64) -> Vec<f64> {
    let sr = sr as f64;
    let (lag, refractory) = ((0.008 * sr) as usize, (0.06 * sr) as usize);
    let mut out = Vec::new();
    let mut next = lag;
    for n in lag..env.len() {
        if n >= next && env[n] > threshold && env[n] > 3.0 * env[n - lag] {
            out.push(n as f64 / sr);
            next = n + refractory;
        }
    }
    out
}

#[test]
fn kick_onsets_line_up_with_ground_truth_beats() {
    const TOL: f64 = 0.005;
    for t in set() {
        let truth = &t.truth;
        let period = 60.0 / truth.bpm;
        let drums = &stems(t)[0];
        let drops: Vec<_> = truth
            .sections
            .iter()
            .filter(|s| s.label == SectionLabel::Drop)
            .collect();
        assert!(!drops.is_empty());
        let env = low_envelope(drums, truth.sample_rate);
        let loudest = drops
            .iter()
            .flat_map(|s| &env[frame(s.start, truth.sample_rate)..frame(s.end, truth.sample_rate)])
            .fold(0.0, |m: f64, &e| m.max(e));
        let onsets = onsets(&env, truth.sample_rate, 0.3 * loudest);
        let in_drop = |x: f64| drops.iter().any(|s| x >= s.start - TOL && x < s.end - TOL);
        let near = |x: f64, grid: &[f64]| grid.iter().any(|&g| (g - x).abs() <= TOL);
        let eighths: Vec<f64> = truth
            .beats
            .iter()
            .flat_map(|&b| [b, b + period / 2.0])
            .collect();
        let mut checked = 0;
        let mut worst: f64 = 0.0;
        for &o in onsets.iter().filter(|&&o| in_drop(o)) {
            assert!(
                near(o, &eighths),
                "{}: kick onset at {o:.4} s is off the grid",
                truth.name
            );
            let err = eighths
                .iter()
                .map(|g| (g - o).abs())
                .fold(f64::INFINITY, f64::min);
            worst = worst.max(err);
            checked += 1;
        }
        println!(
            "{}: {checked} kick onsets in drops, worst {:.2} ms off",
            truth.name,
            worst * 1e3
        );
        // Every downbeat of a drop has its kick, and four-on-the-floor has one on every beat.
        let expected: Vec<f64> = match t.spec.style {
            Style::FourOnFloor => truth.beats.clone(),
            _ => truth.downbeats.clone(),
        };
        let mut found = 0;
        for &b in expected.iter().filter(|&&b| in_drop(b)) {
            assert!(
                near(b, &onsets),
                "{}: no kick onset at {b:.4} s",
                truth.name
            );
            found += 1;
        }
        assert!(
            checked >= found && found >= 8,
            "{}: {found} kicks",
            truth.name
        );
    }
}

#[test]
fn breaks_are_quieter_than_drops() {
    let mut compared = 0;
    for t in set() {
        let truth = &t.truth;
        let level = |label| -> Vec<f64> {
            truth
                .sections
                .iter()
                .filter(|s| s.label == label)
                .map(|s| rms(&t.audio.mix, s.start, s.end, truth.sample_rate))
                .collect()
        };
        let drops = level(SectionLabel::Drop);
        let quietest_drop = drops.iter().copied().fold(f64::INFINITY, f64::min);
        for b in level(SectionLabel::Break) {
            assert!(
                b < 0.5 * quietest_drop,
                "{}: break RMS {b:.4} vs drop {quietest_drop:.4}",
                truth.name
            );
            compared += 1;
        }
        for label in [SectionLabel::Intro, SectionLabel::Outro] {
            for x in level(label) {
                assert!(
                    x < quietest_drop,
                    "{}: {label} louder than the drop",
                    truth.name
                );
            }
        }
    }
    assert!(compared >= 3);
}

#[test]
fn lead_in_is_silent_and_a_drumless_intro_has_no_drums() {
    for t in set() {
        let truth = &t.truth;
        let start = frame(truth.beats[0], truth.sample_rate);
        for s in stems(t).iter() {
            assert!(
                s[..start].iter().all(|f| f == &[0.0, 0.0]),
                "{}",
                truth.name
            );
        }
        if t.spec.lead_in_silence_secs > 0.0 {
            assert!(t.audio.mix[start..start + 100].iter().any(|f| f[0] != 0.0));
        }
        if t.spec.drumless_intro {
            let intro_end = truth
                .sections
                .iter()
                .find(|s| s.label != SectionLabel::Intro)
                .unwrap()
                .start;
            let end = frame(intro_end, truth.sample_rate);
            assert!(
                stems(t)[0][..end].iter().all(|f| f == &[0.0, 0.0]),
                "{}",
                truth.name
            );
            assert!(stems(t)[0][end..].iter().any(|f| f[0] != 0.0));
            assert!(rms(&stems(t)[2], 0.0, intro_end, truth.sample_rate) > 1e-3);
        }
        if t.spec.pickup_beats > 0 {
            // The pickup is heard before the first downbeat.
            let level = rms(
                &t.audio.mix,
                truth.beats[0],
                truth.first_downbeat,
                truth.sample_rate,
            );
            assert!(level > 1e-3, "{}: silent pickup", truth.name);
        }
    }
    let set = demo::demo_set();
    assert!(set.iter().any(|s| s.lead_in_silence_secs > 0.0));
    assert!(set.iter().any(|s| s.drumless_intro));
    assert!(set.iter().any(|s| s.pickup_beats > 0));
}

/// Energy per pitch class of MIDI notes 48..96 (C3..B6), from Hann-windowed Goertzel
/// filters on blocks spread over the signal.
fn chroma(x: &[f64], sr: u32) -> [f64; 12] {
    let n = (sr as usize / 5).next_power_of_two();
    let window: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (TAU * i as f64 / n as f64).cos())
        .collect();
    let mut c = [0.0; 12];
    for block in x.chunks_exact(n).step_by(3) {
        for midi in 48..96 {
            let f = 440.0 * 2f64.powf((midi as f64 - 69.0) / 12.0);
            let k = 2.0 * (TAU * f / sr as f64).cos();
            let (mut s1, mut s2) = (0.0, 0.0);
            for (v, w) in block.iter().zip(&window) {
                let s0 = v * w + k * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            c[midi % 12] += s1 * s1 + s2 * s2 - k * s1 * s2;
        }
    }
    c
}

fn argmax(c: &[f64; 12]) -> u8 {
    (0..12).fold(0, |best, i| if c[i] > c[best] { i } else { best }) as u8
}

#[test]
fn the_tonic_dominates_the_chroma_of_the_other_stem() {
    for t in set() {
        let c = chroma(&mono(&stems(t)[2]), t.truth.sample_rate);
        assert_eq!(
            argmax(&c),
            t.spec.key.tonic,
            "{}: chroma {c:?}",
            t.spec.name
        );
    }
    // Every key, on a short render.
    for key in Key::ALL {
        let spec = DemoSpec::new("every-key", 120.0, key, Style::FourOnFloor)
            .sections(&[(SectionLabel::Verse, 4), (SectionLabel::Drop, 4)]);
        let t = demo::synthesize(&spec, 16_000);
        let c = chroma(&mono(&stems(&t)[2]), 16_000);
        assert_eq!(argmax(&c), key.tonic, "{key}: chroma {c:?}");
        // Pitch classes outside the scale carry little energy.
        let scale = key.scale();
        let total: f64 = c.iter().sum();
        let outside: f64 = (0..12u8)
            .filter(|p| !scale.contains(p))
            .map(|p| c[p as usize])
            .sum();
        assert!(
            outside < 0.1 * total,
            "{key}: {:.3} outside the scale",
            outside / total
        );
    }
}

#[test]
fn truth_round_trips_through_json_and_files() {
    let spec = short_spec("round-trip", Key::new(6, Mode::Minor), Style::FourOnFloor);
    let track = demo::synthesize(&spec, 8_000);
    let json = serde_json::to_string_pretty(&track.truth).unwrap();
    let back: GroundTruth = serde_json::from_str(&json).unwrap();
    assert_eq!(back, track.truth);
    assert!(json.contains("\"camelot\": \"11A\""));
    assert!(json.contains("\"label\": \"drop\""));

    let dir = std::env::temp_dir().join(format!("segue-demo-test-{}", std::process::id()));
    let mix_path = demo::write_track(&dir, &track).unwrap();
    assert_eq!(mix_path, dir.join("round-trip.wav"));
    let loaded = demo::load_truth(&dir.join("round-trip.json")).unwrap();
    assert_eq!(loaded, track.truth);
    let read = |path: &std::path::Path| -> Vec<f32> {
        let mut r = hound::WavReader::open(path).unwrap();
        assert_eq!(r.spec().sample_rate, 8_000);
        assert_eq!(r.spec().channels, 2);
        r.samples::<f32>().map(Result::unwrap).collect()
    };
    let flat = |f: &[Frame]| f.iter().flatten().copied().collect::<Vec<f32>>();
    assert_eq!(read(&mix_path), flat(&track.audio.mix));
    for (i, stem) in ["drums", "bass", "other", "vocals"].iter().enumerate() {
        let path = dir.join(format!("round-trip.{stem}.wav"));
        assert_eq!(read(&path), flat(&stems(&track)[i]));
    }
    let missing = demo::load_truth(&dir.join("nope.json")).unwrap_err();
    assert!(missing.to_string().contains("nope.json"));
    std::fs::write(dir.join("bad.json"), "{").unwrap();
    let bad = demo::load_truth(&dir.join("bad.json")).unwrap_err();
    assert!(bad.to_string().contains("bad JSON"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[should_panic(expected = "tempo")]
fn an_invalid_spec_panics_with_its_reason() {
    let spec = DemoSpec::new("bad", -1.0, Key::new(0, Mode::Major), Style::FourOnFloor);
    demo::synthesize(&spec, SR);
}

/// Not a check: per-section levels of the set, for a human (`--nocapture`).
#[test]
fn section_levels_report() {
    for t in set() {
        let truth = &t.truth;
        let db = |x: f64| 20.0 * x.max(1e-9).log10();
        let mut line = format!("{:<18}", truth.name);
        for s in &truth.sections {
            let r = rms(&t.audio.mix, s.start, s.end, truth.sample_rate);
            line += &format!(" {}:{:.1}", s.label, db(r));
        }
        let stem_levels: Vec<String> = stems(t)
            .iter()
            .map(|s| format!("{:.1}", db(rms(s, 0.0, truth.duration, truth.sample_rate))))
            .collect();
        println!("{line}  stems dB(d/b/o/v): {}", stem_levels.join("/"));
    }
}
