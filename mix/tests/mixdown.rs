//! Offline transitions: B comes in on A's beat, beat-matched, and A leaves.

use std::sync::Arc;

use segue_engine::{Beatgrid, TrackAudio};
use segue_mix::{render_transition, DeckTrack, Transition};

const RATE: u32 = 48_000;

/// 5 ms clicks on every beat in one channel.
fn click_track(name: &str, bpm: f64, first: f64, secs: f64, channel: usize) -> DeckTrack {
    let n = (secs * RATE as f64) as usize;
    let period = 60.0 * RATE as f64 / bpm;
    let mut mix = vec![[0.0f32; 2]; n];
    let mut beats = Vec::new();
    let mut k = 0;
    loop {
        let at = first + k as f64 * period;
        if at >= n as f64 {
            break;
        }
        beats.push(at);
        let s = at.round() as usize;
        for j in 0..240.min(n - s) {
            mix[s + j][channel] = 0.5 * (-(j as f32) / 40.0).exp();
        }
        k += 1;
    }
    DeckTrack {
        name: name.into(),
        audio: Arc::new(TrackAudio::new(RATE, mix)),
        grid: Arc::new(Beatgrid::new(beats, 0, 4).unwrap()),
    }
}

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

#[test]
fn b_enters_on_the_chosen_beat_and_stays_beat_matched() {
    let a = click_track("a", 124.0, 1000.0, 40.0, 0);
    let b = click_track("b", 128.0, 3000.0, 40.0, 1);
    let t = Transition {
        a_out_beat: 32.0,
        b_in_beat: 4.0,
        bars: 8,
    };
    let (mix, report) = render_transition(&a, &b, &t, RATE).unwrap();
    let start = a.grid.frame_at(32.0);
    assert!((report.blend_start_secs - start / RATE as f64).abs() < 1e-4);
    assert!((report.b_rate - 124.0 / 128.0).abs() < 1e-9);
    let ons_a = onsets(&mix.master, 0);
    let ons_b = onsets(&mix.master, 1);
    // B fades in with the crossfader from A's beat 32: its first audible click is on one of
    // A's first beats of the blend, and within 1 ms of it.
    let first_b = ons_b[0] as f64;
    let beat = a.grid.beat_at(first_b);
    assert!(
        (32.0..36.5).contains(&beat),
        "B first heard at A's beat {beat}"
    );
    let off = (first_b - a.grid.frame_at(beat.round())).abs();
    assert!(off <= 48.0, "B's first click {off} frames off A's beat");
    // From B's first audible click to the end of the blend, every A beat has a B beat
    // within 1 ms.
    let end = a.grid.frame_at(64.0);
    let mut compared = 0;
    for &x in ons_a
        .iter()
        .filter(|&&x| (x as f64) >= first_b - 48.0 && (x as f64) < end)
    {
        let d = ons_b
            .iter()
            .map(|&y| (y as f64 - x as f64).abs())
            .fold(f64::MAX, f64::min);
        assert!(d <= 48.0, "A beat at {x}: nearest B beat {d} frames away");
        compared += 1;
    }
    assert!(compared >= 24, "{compared} beats compared");
    // A is gone after the blend.
    assert!(ons_a.iter().all(|&x| (x as f64) < end + 4800.0));
}

#[test]
fn tracks_at_another_rate_are_refused_with_a_reason() {
    let a = click_track("a", 124.0, 0.0, 5.0, 0);
    let mut b = click_track("b", 124.0, 0.0, 5.0, 1);
    b.audio = Arc::new(TrackAudio::new(44_100, b.audio.mix.clone()));
    let t = Transition {
        a_out_beat: 0.0,
        b_in_beat: 0.0,
        bars: 1,
    };
    let e = render_transition(&a, &b, &t, RATE).unwrap_err().to_string();
    assert!(e.contains("44100") && e.contains("b"), "{e}");
}
