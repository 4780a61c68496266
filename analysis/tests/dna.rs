//! Musical DNA: schema, robustness, determinism, and similarity that makes sense.

use segue_analysis::dna::{
    compact, extract, extract_with_spectrogram, whole_track_names, DnaFeatures, COMPACT_DIMS,
    DNA_VERSION, SECTION_VALUES, WHOLE_TRACK_VALUES,
};
use segue_analysis::music::{Key, Mode};
use segue_analysis::Spectrogram;
use segue_demo::{demo_set, synthesize, DemoSpec, SectionLabel, Style};

const RATE: u32 = 44_100;

/// A short fixture (about 20 s) of `style` at `bpm`.
fn short_spec(name: &str, bpm: f64, style: Style) -> DemoSpec {
    let bars = |secs: f64| ((secs * bpm / 240.0).round() as u32).max(1);
    DemoSpec::new(name, bpm, Key::new(9, Mode::Minor), style).sections(&[
        (SectionLabel::Intro, bars(4.0)),
        (SectionLabel::Drop, bars(12.0)),
        (SectionLabel::Outro, bars(4.0)),
    ])
}

fn dna_of(spec: &DemoSpec) -> DnaFeatures {
    let track = synthesize(spec, RATE);
    let sections: Vec<(f64, f64)> = track
        .truth
        .sections
        .iter()
        .map(|s| (s.start, s.end))
        .collect();
    extract(&track.audio.mono(), RATE, &track.truth.beats, &sections)
}

fn sine(freq: f32, secs: f32) -> Vec<f32> {
    (0..(secs * RATE as f32) as usize)
        .map(|i| 0.5 * (std::f32::consts::TAU * freq * i as f32 / RATE as f32).sin())
        .collect()
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f32>()
        .sqrt()
}

fn assert_sane(f: &DnaFeatures) {
    assert_eq!(f.names.len(), f.values.len());
    for (n, v) in f.names.iter().zip(&f.values) {
        assert!(v.is_finite(), "{n} = {v}");
    }
}

#[test]
fn a_demo_track_with_sections_has_over_a_thousand_unique_finite_values() {
    let f = dna_of(&short_spec("dna-count", 128.0, Style::FourOnFloor));
    assert_eq!(f.version, DNA_VERSION);
    assert_sane(&f);
    assert_eq!(f.values.len(), WHOLE_TRACK_VALUES + 3 * SECTION_VALUES);
    assert!(f.values.len() >= 1000, "{} values", f.values.len());
    let mut names = f.names.clone();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), f.names.len(), "names are unique");
    assert!(f.get("section_1.spectral_centroid.mean").unwrap() > 0.0);
    assert!((f.get("rhythm.tempo_bpm").unwrap() - 128.0).abs() < 0.5);
}

#[test]
fn extraction_is_deterministic() {
    let track = synthesize(&short_spec("dna-det", 124.0, Style::FourOnFloor), RATE);
    let mono = track.audio.mono();
    let a = extract(&mono, RATE, &[], &[(0.0, 5.0)]);
    let b = extract(&mono, RATE, &[], &[(0.0, 5.0)]);
    assert_eq!(a, b);
    assert_eq!(compact(&a), compact(&b));
}

#[test]
fn a_shared_spectrogram_gives_the_same_values() {
    let track = synthesize(&short_spec("dna-shared", 126.0, Style::FourOnFloor), RATE);
    let mono = track.audio.mono();
    let sections = [(0.0, 4.0), (4.0, 12.0)];
    let own = extract(&mono, RATE, &track.truth.beats, &sections);
    let pipeline = Spectrogram::compute(&mono, RATE, 2048, 1024);
    let shared = extract_with_spectrogram(&pipeline, &mono, &track.truth.beats, &sections);
    assert_eq!(own, shared);
    // Sizes that do not fit are ignored rather than misread.
    let other = Spectrogram::compute(&mono, RATE, 4096, 1024);
    let fallback = extract_with_spectrogram(&other, &mono, &track.truth.beats, &sections);
    assert_eq!(own, fallback);
}

#[test]
fn the_compact_vector_has_128_dims_and_unit_norm() {
    let f = dna_of(&short_spec("dna-compact", 140.0, Style::FourOnFloor));
    let c = compact(&f);
    assert_eq!(c.len(), COMPACT_DIMS);
    assert_eq!(COMPACT_DIMS, 128);
    let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

#[test]
fn renders_of_one_spec_are_much_closer_than_other_styles() {
    let set = demo_set();
    let by_name = |n: &str| set.iter().find(|s| s.name == n).unwrap().clone();
    let shorten = |s: DemoSpec| {
        let mut s = s;
        s.sections = vec![(SectionLabel::Intro, 2), (SectionLabel::Drop, 6)];
        s.lead_in_silence_secs = 0.0;
        s.pickup_beats = 0;
        s.drumless_intro = false;
        s
    };
    let techno = shorten(by_name("techno-128"));
    let a = compact(&dna_of(&techno.clone().seed(1)));
    let b = compact(&dna_of(&techno.seed(2)));
    let same = l2(&a, &b);
    for other in ["trap-090", "dnb-174"] {
        let o = compact(&dna_of(&shorten(by_name(other))));
        let d = l2(&a, &o);
        eprintln!("techno seeds {same:.3} apart, techno vs {other} {d:.3}");
        assert!(
            2.0 * same < d,
            "techno seeds {same:.3} apart, techno vs {other} {d:.3}"
        );
    }
}

#[test]
fn a_sine_has_its_centroid_pitch_class_and_no_flatness() {
    let f = extract(&sine(440.0, 3.0), RATE, &[], &[]);
    assert_sane(&f);
    let centroid = f.get("spectral_centroid.median").unwrap();
    assert!((centroid - 440.0).abs() < 30.0, "centroid {centroid}");
    let a = f.get("chroma_A.mean").unwrap();
    for pc in ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "Bb", "B"] {
        let v = f.get(&format!("chroma_{pc}.mean")).unwrap();
        assert!(v < a, "chroma_{pc} {v} >= chroma_A {a}");
    }
    let flatness = f.get("spectral_flatness.median").unwrap();
    assert!(flatness < 0.01, "flatness {flatness}");
}

#[test]
fn white_noise_is_flat() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<f32> = (0..3 * RATE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    let f = extract(&noise, RATE, &[], &[]);
    assert_sane(&f);
    let flatness = f.get("spectral_flatness.median").unwrap();
    assert!(flatness > 0.4, "flatness {flatness}");
    let centroid = f.get("spectral_centroid.median").unwrap();
    assert!((centroid - 11_025.0).abs() < 1_000.0, "centroid {centroid}");
}

#[test]
fn silence_tiny_and_broken_input_give_finite_values() {
    for input in [
        vec![0.0; 2 * RATE as usize],
        Vec::new(),
        vec![0.1; 3],
        vec![f32::NAN; 5_000],
        [f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30].repeat(3_000),
    ] {
        let f = extract(
            &input,
            RATE,
            &[f64::NAN, 1.0, 0.5],
            &[(0.0, 1.0), (f64::NAN, -3.0)],
        );
        assert_sane(&f);
        assert_eq!(f.values.len(), WHOLE_TRACK_VALUES + 2 * SECTION_VALUES);
        assert_eq!(compact(&f).len(), COMPACT_DIMS);
        assert!(compact(&f).iter().all(|v| v.is_finite()));
    }
    let silent = extract(&vec![0.0; RATE as usize], RATE, &[], &[]);
    assert!(silent.get("mfcc_0.mean").unwrap().is_finite());
    assert!(silent.get("mfcc_1.mean").unwrap().abs() < 1e-3);
    for rate in [0, 1, 8_000, 192_000] {
        assert_sane(&extract(&sine(440.0, 0.5), rate, &[], &[]));
    }
}

#[test]
fn the_schema_is_stable() {
    // Changing any of this changes the schema: bump DNA_VERSION and update the docs.
    assert_eq!(DNA_VERSION, 1);
    assert_eq!(WHOLE_TRACK_VALUES, 698);
    assert_eq!(SECTION_VALUES, 148);
    let names = whole_track_names();
    assert_eq!(names.len(), WHOLE_TRACK_VALUES);
    assert_eq!(
        &names[..10],
        [
            "mfcc_0.mean",
            "mfcc_0.std",
            "mfcc_0.min",
            "mfcc_0.max",
            "mfcc_0.median",
            "mfcc_0.p10",
            "mfcc_0.p90",
            "mfcc_0.skew",
            "mfcc_0.kurtosis",
            "mfcc_1.mean",
        ]
    );
    assert_eq!(names[180], "mfcc_delta_0.mean");
    assert_eq!(names[360], "chroma_C.mean");
    assert_eq!(names[657], "track.duration");
    assert_eq!(names[WHOLE_TRACK_VALUES - 1], "tonal.chroma_rel_11");
    let f = extract(&sine(220.0, 1.0), RATE, &[], &[(0.0, 0.5)]);
    assert_eq!(&f.names[..WHOLE_TRACK_VALUES], &names[..]);
    assert_eq!(f.names[WHOLE_TRACK_VALUES], "section_0.start");
    assert_eq!(f.names[WHOLE_TRACK_VALUES + 2], "section_0.mfcc_0.mean");
    assert_eq!(
        &segue_analysis::dna::compact_names()[..3],
        ["mfcc_0.mean", "mfcc_1.mean", "mfcc_2.mean"]
    );
}

#[test]
#[ignore = "exploration: prints compact inputs for the demo set"]
fn print_demo_set_values() {
    let names = segue_analysis::dna::compact_names();
    let mut rows = Vec::new();
    for spec in demo_set() {
        let t0 = std::time::Instant::now();
        let f = dna_of(&spec);
        eprintln!("{} {:?}", spec.name, t0.elapsed());
        rows.push((spec.name.clone(), f));
    }
    for n in &names {
        let vals: Vec<String> = rows
            .iter()
            .map(|(_, f)| format!("{:9.3}", f.get(n).unwrap()))
            .collect();
        eprintln!("{n:32} {}", vals.join(" "));
    }
    let c: Vec<Vec<f32>> = rows.iter().map(|(_, f)| compact(f)).collect();
    for (i, (a, _)) in rows.iter().enumerate() {
        let d: Vec<String> = c.iter().map(|b| format!("{:.3}", l2(&c[i], b))).collect();
        eprintln!("{a:18} {}", d.join(" "));
    }
}

#[test]
#[ignore = "timing: run with --release"]
fn four_minutes_in_release() {
    let track = synthesize(&demo_set()[3], RATE);
    let mono = track.audio.mono();
    let mut long = Vec::new();
    while long.len() < 240 * RATE as usize {
        long.extend_from_slice(&mono);
    }
    long.truncate(240 * RATE as usize);
    // CPU time of this thread (Linux), so other processes on a busy machine do not count.
    let cpu_ns = || -> Option<u64> {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        s.split_whitespace().next()?.parse().ok()
    };
    for _ in 0..3 {
        let (t0, c0) = (std::time::Instant::now(), cpu_ns());
        let f = extract(&long, RATE, &[], &[(0.0, 60.0), (60.0, 120.0)]);
        let (wall, c1) = (t0.elapsed(), cpu_ns());
        assert_eq!(f.values.len(), WHOLE_TRACK_VALUES + 2 * SECTION_VALUES);
        let cpu = c0.zip(c1).map(|(a, b)| (b - a) as f64 / 1e6);
        eprintln!("DNA of 4 minutes at 44.1 kHz: wall {wall:?}, CPU {cpu:?} ms");
    }
    let spec = Spectrogram::compute(&long, RATE, 2048, 1024);
    for _ in 0..3 {
        let c0 = cpu_ns();
        let f = extract_with_spectrogram(&spec, &long, &[], &[(0.0, 60.0), (60.0, 120.0)]);
        let cpu = c0.zip(cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e6);
        assert_eq!(f.values.len(), WHOLE_TRACK_VALUES + 2 * SECTION_VALUES);
        eprintln!("... with the pipeline's spectrogram: CPU {cpu:?} ms");
    }
}
