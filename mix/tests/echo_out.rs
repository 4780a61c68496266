//! The echo-out transition, judged on the rendered set: A's last bar goes into the engine's
//! beat-synced echo (FX unit 2), A's dry signal is cut on a downbeat where B starts at its
//! own tempo, and the echoes ring out over B — on the beat fraction, fading, with no gap
//! and under the set renderer's quality measurement.

use std::sync::Arc;

use segue_analysis::music::{Key, Mode};
use segue_analysis::{Analysis, Cue, Section, SectionLabel};
use segue_demo::{synthesize, DemoSpec, Style};
use segue_engine::TrackAudio;
use segue_mix::plan::{Action, PlanOptions, Technique, TransitionPlan};
use segue_mix::set::{plan_set, render_set, SetPlan, SetRender, SetTrack};

const RATE: u32 = 48_000;

/// A 4/4 track of `bars` bars at `bpm`: a 5 ms click on every beat in `channel` only, an
/// outro over its last 8 bars, analysed as exactly that (loudness at the set's target, so
/// its trim is 0 dB).
fn click_track(name: &str, bpm: f64, bars: usize, channel: usize) -> SetTrack {
    let beat = 60.0 / bpm;
    let beats: Vec<f64> = (0..bars * 4).map(|i| 0.5 + i as f64 * beat).collect();
    let dur = beats.last().unwrap() + 2.0 * beat;
    let n = (dur * RATE as f64) as usize;
    let mut mix = vec![[0.0f32; 2]; n];
    for t in &beats {
        let s = (t * RATE as f64).round() as usize;
        for j in 0..240.min(n - s) {
            mix[s + j][channel] = 0.5 * (-(j as f32) / 40.0).exp();
        }
    }
    let outro = beats[(bars - 8) * 4];
    let analysis = Analysis {
        duration: dur,
        bpm,
        beats: beats.clone(),
        downbeats: beats.iter().step_by(4).copied().collect(),
        beats_per_bar: 4,
        constant_tempo: true,
        half_time: false,
        key: "A minor".into(),
        camelot: "8A".into(),
        open_key: "1m".into(),
        key_confidence: 0.9,
        key_runner_up: None,
        lufs: -14.0,
        loudness_range: 1.0,
        true_peak_db: -6.0,
        energy: 6,
        sections: vec![
            Section {
                start: 0.5,
                end: outro,
                label: SectionLabel::Drop,
                energy: 6,
            },
            Section {
                start: outro,
                end: dur,
                label: SectionLabel::Outro,
                energy: 4,
            },
        ],
        cues: vec![Cue {
            time: beats[0],
            name: "mix in".into(),
        }],
        analyser_version: 0,
        dna_version: 0,
        dna: vec![],
    };
    SetTrack::new(name, analysis, Arc::new(TrackAudio::new(RATE, mix))).unwrap()
}

/// Frames where `ch` rises above 0.02 after at least 1000 quiet frames.
fn onsets(x: &[[f32; 2]], ch: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quiet = 1000;
    for (i, f) in x.iter().enumerate() {
        if f[ch].abs() > 0.02 {
            if quiet >= 1000 {
                out.push(i);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    out
}

/// The frame of A's beat `beat` in the render (A starts on its beat 0, at its own tempo).
fn frame_of(t: &SetTrack, beat: f64) -> f64 {
    t.grid.frame_at(beat) - t.grid.frame_at(0.0)
}

#[test]
fn echo_repeats_land_on_the_beat_fraction_after_the_dry_cut() {
    // 124 → 90 BPM: too far apart to sync, and B is slower: an echo-out.
    let tracks = [
        click_track("a", 124.0, 24, 0),
        click_track("b", 90.0, 24, 1),
    ];
    let plan = plan_set(&tracks, &PlanOptions::default());
    let p = &plan.transitions[0];
    assert_eq!(p.technique, Technique::EchoOut, "{}", p.reason);
    assert!(!p.synced);
    let echo_beats = p
        .steps
        .iter()
        .find_map(|s| match s.action {
            Action::FxSetup { beats, .. } => Some(beats as f64),
            _ => None,
        })
        .expect("an echo is set up");
    let r = render_set(&tracks, &plan).unwrap();
    let cut = frame_of(&tracks[0], p.in_start_beat);
    let end = frame_of(&tracks[0], p.end_beat);
    // B starts on the cut (A's downbeat), to the frame.
    assert!((r.tracks[1].start * RATE as f64 - cut).abs() < 1.0);
    let delay = echo_beats * 60.0 * RATE as f64 / 124.0;

    // A is in the left channel only and its dry signal is gone after the cut: every click
    // there now is an echo, on the grid of the echo's beat fraction from A's beats.
    let after = cut as usize + 480;
    let left = onsets(&r.master[after..end as usize], 0);
    assert!(
        left.len() >= 6,
        "only {} echo repeats after the cut",
        left.len()
    );
    let mut worst = 0.0f64;
    for o in &left {
        let t = (after + o) as f64 - cut;
        let k = (t / delay).round();
        worst = worst.max((t - k * delay).abs());
        assert!(
            (t - k * delay).abs() <= 2.0,
            "a repeat {:.1} frames off the {echo_beats}-beat grid",
            t - k * delay
        );
    }
    eprintln!(
        "{} echo repeats after the cut, at most {worst:.2} frames off the {echo_beats}-beat grid",
        left.len()
    );
    // Fading: the first repeat after the cut is louder than the last one heard.
    let peak = |o: usize| {
        r.master[after + o..after + o + 240]
            .iter()
            .fold(0.0f32, |m, f| m.max(f[0].abs()))
    };
    assert!(peak(left[0]) > 4.0 * peak(*left.last().unwrap()));
    // Nothing of A after its stop (the tail is under −40 dB by then and ends).
    assert!(r.master[end as usize + RATE as usize..]
        .iter()
        .all(|f| f[0].abs() < 0.01));
    assert!(r.quality.longest_gap_secs <= 1.0, "{}", r.quality.summary());
    assert!(r.quality.true_peak_db <= -1.0 + 1e-3);
}

/// `plan` without its FX steps (the same transition with a dry cut).
fn without_fx(plan: &SetPlan) -> SetPlan {
    let mut p = plan.clone();
    for t in &mut p.transitions {
        t.steps.retain(|s| {
            !matches!(
                s.action,
                Action::FxSetup { .. }
                    | Action::FxAssign { .. }
                    | Action::FxOn { .. }
                    | Action::FxMix { .. }
                    | Action::FxKnob { .. }
            )
        });
    }
    p
}

/// The master before the set's final −1 dBTP gain.
fn raw(r: &SetRender) -> Vec<[f32; 2]> {
    let g = 10f32.powf(-r.quality.peak_gain_db as f32 / 20.0);
    r.master.iter().map(|f| [f[0] * g, f[1] * g]).collect()
}

fn rms(x: &[[f32; 2]]) -> f64 {
    (x.iter()
        .map(|f| (f[0] * f[0] + f[1] * f[1]) as f64 / 2.0)
        .sum::<f64>()
        / x.len().max(1) as f64)
        .sqrt()
}

#[test]
fn an_unsyncable_pair_echoes_out_within_the_set_targets() {
    // Two synthesised tracks with stems, analysed by Segue's own analyser.
    let make = |name: &str, bpm: f64, tonic: u8, style: Style, seed: u64| {
        let spec = DemoSpec::new(name, bpm, Key::new(tonic, Mode::Minor), style)
            .sections(&[
                (SectionLabel::Intro, 4),
                (SectionLabel::Drop, 8),
                (SectionLabel::Outro, 8),
            ])
            .seed(seed);
        let t = synthesize(&spec, RATE);
        let analysis = segue_analysis::analyze(&t.audio).expect("a synthesised track analyses");
        SetTrack::new(name, analysis, Arc::new(t.audio)).unwrap()
    };
    let tracks = [
        make("uptempo", 126.0, 9, Style::FourOnFloor, 21),
        make("downtempo", 88.0, 9, Style::HalfTime, 22),
    ];
    let plan = plan_set(&tracks, &PlanOptions::default());
    let p: &TransitionPlan = &plan.transitions[0];
    assert_eq!(p.technique, Technique::EchoOut, "{}", p.reason);
    let r = render_set(&tracks, &plan).unwrap();
    eprintln!("{}\n{}", p.reason, r.quality.summary());
    // The set renderer's targets: no gap, true peak ≤ −1 dBTP, loudness steps ≤ 2 LU, no
    // vocals over vocals, matched levels.
    assert!(
        r.quality.failures().is_empty(),
        "{:?}\n{}",
        r.quality.failures(),
        r.quality.summary()
    );

    // The echo alone: this render minus the same plan with a dry cut (no FX steps).
    let dry = render_set(&tracks, &without_fx(&plan)).unwrap();
    let (wet, dry) = (raw(&r), raw(&dry));
    let d: Vec<[f32; 2]> = wet
        .iter()
        .zip(&dry)
        .map(|(a, b)| [a[0] - b[0], a[1] - b[1]])
        .collect();
    let cut = (r.tracks[1].start * RATE as f64) as usize;
    let end = (r.tracks[0].end * RATE as f64) as usize;
    let beat = (60.0 * RATE as f64 / tracks[0].analysis.bpm) as usize;
    // Audible after A's dry signal stopped, and fading by its stop.
    let first = rms(&d[cut..cut + beat]);
    let last = rms(&d[end - beat / 2..end]);
    let level = rms(&wet[cut..cut + beat]);
    eprintln!(
        "echo after the cut {:.1} dB of the master, {:.1} dB at A's stop",
        20.0 * (first / level).log10(),
        20.0 * (last / first).log10()
    );
    assert!(first > 0.1 * level, "the echo is not heard after the cut");
    assert!(last < 0.05 * first, "the echo did not fade");
    // Its repeats land on the echo's beat fraction: the tail correlates best with itself
    // one delay earlier.
    let delay = p
        .steps
        .iter()
        .find_map(|s| match s.action {
            Action::FxSetup { beats, .. } => Some(beats as f64),
            _ => None,
        })
        .unwrap()
        * 60.0
        * RATE as f64
        / tracks[0].analysis.bpm;
    let lag_d = delay.round() as usize;
    let x: Vec<f32> = d[cut..cut + 4 * beat].iter().map(|f| f[0] + f[1]).collect();
    let corr = |lag: usize| {
        let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
        for i in lag..x.len() {
            let (a, b) = (x[i] as f64, x[i - lag] as f64);
            xy += a * b;
            xx += a * a;
            yy += b * b;
        }
        xy / (xx * yy).sqrt().max(1e-30)
    };
    let best = (lag_d - 200..=lag_d + 200)
        .max_by(|a, b| corr(*a).total_cmp(&corr(*b)))
        .unwrap();
    eprintln!(
        "tail self-correlation peaks at {best} frames ({:.2}), the echo delay is {delay:.1}",
        corr(best)
    );
    assert!(
        (best as f64 - delay).abs() <= 2.0,
        "the tail repeats every {best} frames, the echo is {delay:.1}"
    );
    assert!(corr(best) > 0.5, "correlation {:.2}", corr(best));
}
