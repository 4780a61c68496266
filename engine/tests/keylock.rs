//! Key lock keeps the pitch when the tempo changes; without it the pitch follows the rate.

mod common;

use assert_no_alloc::AllocDisabler;
use common::*;
use segue_engine::*;

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

const RATE: u32 = 48_000;

/// Frequency of the strongest partial (FFT-free: scan with Goertzel, then refine).
fn pitch(x: &[f32]) -> f64 {
    let mut best = (0.0, 0.0);
    let mut f = 300.0;
    while f < 700.0 {
        let p = goertzel(x, RATE, f);
        if p > best.1 {
            best = (f, p);
        }
        f += 1.0;
    }
    let mut f = best.0 - 1.0;
    while f < best.0 + 1.0 {
        let p = goertzel(x, RATE, f);
        if p > best.1 {
            best = (f, p);
        }
        f += 0.01;
    }
    best.0
}

fn cents(f: f64, reference: f64) -> f64 {
    1200.0 * (f / reference).log2()
}

fn render_pitch(key_lock: bool, tempo: f32, shift: f32) -> (f64, DeckStatus) {
    let mut rig = Rig::new(RATE, 1, 512);
    rig.load(0, sine(RATE, 440.0, 0.5, 6.0));
    rig.send(Command::KeyLock {
        deck: 0,
        on: key_lock,
    });
    rig.send(Command::Tempo {
        deck: 0,
        percent: tempo,
    });
    rig.send(Command::KeyShift {
        deck: 0,
        semitones: shift,
    });
    rig.send(Command::Play { deck: 0, on: true });
    let out = rig.run(RATE as usize * 3, 512);
    let st = rig.parts.handle.status().decks[0];
    (pitch(&left(&out[RATE as usize..RATE as usize * 3])), st)
}

#[test]
fn key_lock_keeps_440hz_within_10_cents_at_plus_8_percent() {
    let (f, st) = render_pitch(true, 8.0, 0.0);
    assert!(st.stretching, "key lock at +8 % must engage the stretcher");
    assert!((st.rate - 1.08).abs() < 1e-9);
    assert!(cents(f, 440.0).abs() <= 10.0, "heard {f:.2} Hz");
    // And the tempo really changed: 2 s of output consumed 2.16 s of track (± latency).
    assert!(
        (st.position_secs - 3.0 * 1.08).abs() < 0.1,
        "position {}",
        st.position_secs
    );
}

#[test]
fn without_key_lock_pitch_follows_the_tempo() {
    let (f, st) = render_pitch(false, 8.0, 0.0);
    assert!(!st.stretching, "plain varispeed needs no stretcher");
    assert!(cents(f, 440.0 * 1.08).abs() <= 10.0, "heard {f:.2} Hz");
}

#[test]
fn key_shift_moves_the_pitch_by_semitones() {
    let (f, _) = render_pitch(true, 0.0, 2.0);
    assert!(
        cents(f, 440.0 * 2f64.powf(2.0 / 12.0)).abs() <= 10.0,
        "heard {f:.2} Hz"
    );
}

#[test]
fn key_lock_at_unity_tempo_is_bypassed_bit_exact() {
    let (_, st) = render_pitch(true, 0.0, 0.0);
    assert!(!st.stretching, "the stretcher must only run when needed");
}

/// Moving the tempo off zero with key lock on engages the stretcher; its start-up is spread
/// over the blocks of one analysis interval while the deck is heard from the direct path.
/// The heard position runs on without a jump, the switch to the stretcher's output does not
/// click, and the pitch is kept afterwards. 64-frame blocks, as a live rig would run.
#[test]
fn engaging_key_lock_mid_play_keeps_the_position_and_does_not_click() {
    let mut rig = Rig::new(RATE, 1, 64);
    rig.load(0, sine(RATE, 440.0, 0.5, 6.0));
    rig.send(Command::KeyLock { deck: 0, on: true });
    rig.send(Command::Play { deck: 0, on: true });
    let mut out = rig.run(RATE as usize / 2, 64);
    let before = rig.parts.handle.status().decks[0];
    assert!(!before.stretching);
    rig.send(Command::Tempo {
        deck: 0,
        percent: 4.0,
    });
    let mut positions = Vec::new();
    let mut engaged_at = None;
    for b in 0..(RATE as usize / 64) {
        let (m, _) = rig.block(64);
        out.extend_from_slice(&m);
        let st = rig.parts.handle.status().decks[0];
        positions.push(st.position_secs);
        if st.stretching && engaged_at.is_none() {
            engaged_at = Some(b);
        }
    }
    assert!(engaged_at.is_some(), "the stretcher never engaged");
    // The heard position advances by 64 frames × 1.04 every block: no jump at the engage
    // or when the warm-up ends (at most a frame of rounding).
    let step = 64.0 * 1.04 / RATE as f64;
    let worst = positions
        .windows(2)
        .map(|w| ((w[1] - w[0]) - step).abs() * RATE as f64)
        .fold(0.0, f64::max);
    assert!(
        worst <= 2.0,
        "the heard position jumped by {worst:.2} frames"
    );
    // No click: a 440 Hz sine at 0.5 moves at most 0.03 per sample (0.033 at +4 %).
    let l = left(&out);
    let (i, jump) = l
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .enumerate()
        .fold((0, 0.0f32), |a, (i, d)| if d > a.1 { (i, d) } else { a });
    eprintln!(
        "largest sample step {jump:.4} at {i} (engage at {})",
        RATE as usize / 2
    );
    assert!(jump < 0.06, "a click of {jump:.3} at sample {i}");
    let f = pitch(&l[l.len() - RATE as usize / 2..]);
    assert!(
        cents(f, 440.0).abs() <= 10.0,
        "heard {f:.2} Hz after the engage"
    );
}
