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
