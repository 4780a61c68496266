//! Jog-wheel scratching: the touched platter drives the playhead forwards and backwards,
//! holds it still, and hands back to the transport on release.

mod common;

use common::{ramp, Rig};
use segue_engine::{Command, Position};

const RATE: u32 = 48_000;
const SCALE: f32 = 1e-6;

fn frame_of(s: f32) -> f64 {
    (s / SCALE) as f64 - 1.0
}

#[test]
fn touched_platter_plays_forwards_and_backwards_while_paused() {
    let mut rig = Rig::new(RATE, 2, 256);
    rig.load(0, ramp(RATE, RATE as usize * 4, SCALE));
    rig.send(Command::Seek {
        deck: 0,
        to: Position::Seconds(1.0),
    });
    rig.run(256, 256);
    rig.send(Command::Scratch { deck: 0, on: true });
    rig.send(Command::ScratchMove {
        deck: 0,
        seconds: 0.5,
    });
    // A 0.5 s flick: played at up to 4× speed, then settled on the platter's position.
    let fwd = rig.run(RATE as usize * 2 / 5, 64);
    let st = rig.parts.handle.status().decks[0];
    assert!(st.scratching && !st.playing);
    assert!(
        (st.position - 1.5 * RATE as f64).abs() < 2.0,
        "{}",
        st.position
    );
    // Audible although paused, and moving forwards through the track.
    let heard: Vec<f64> = fwd.iter().map(|f| frame_of(f[0])).collect();
    assert!(heard[100] > 48_000.0 && heard[2000] > heard[100] + 500.0);

    rig.send(Command::ScratchMove {
        deck: 0,
        seconds: -1.0,
    });
    let back = rig.run(RATE as usize / 2, 64);
    let st = rig.parts.handle.status().decks[0];
    assert!(
        (st.position - 0.5 * RATE as f64).abs() < 2.0,
        "{}",
        st.position
    );
    let heard: Vec<f64> = back.iter().map(|f| frame_of(f[0])).collect();
    assert!(heard[2000] < heard[100] - 500.0, "backwards");

    // Release: paused deck goes quiet and stays where the platter left it.
    rig.send(Command::Scratch { deck: 0, on: false });
    let after = rig.run(1024, 64);
    assert!(after[512..].iter().all(|f| f[0] == 0.0));
    let st = rig.parts.handle.status().decks[0];
    assert!(!st.scratching && (st.position - 0.5 * RATE as f64).abs() < 2.0);
}

#[test]
fn holding_the_platter_stops_a_playing_deck_and_release_resumes() {
    let mut rig = Rig::new(RATE, 2, 256);
    rig.load(0, ramp(RATE, RATE as usize * 4, SCALE));
    rig.send(Command::KeyLock { deck: 0, on: true });
    rig.send(Command::Tempo {
        deck: 0,
        percent: 6.0,
    });
    rig.send(Command::Play { deck: 0, on: true });
    rig.run(RATE as usize / 2, 128);
    assert!(rig.parts.handle.status().decks[0].stretching);
    rig.send(Command::Scratch { deck: 0, on: true });
    rig.run(4096, 128);
    let held = rig.parts.handle.status().decks[0].position;
    rig.run(RATE as usize / 10, 128);
    let st = rig.parts.handle.status().decks[0];
    assert!(st.playing && st.scratching && !st.stretching);
    assert!(
        (st.position - held).abs() < 0.5,
        "held still: {held} → {}",
        st.position
    );
    rig.send(Command::Scratch { deck: 0, on: false });
    rig.run(RATE as usize / 10, 128);
    let st = rig.parts.handle.status().decks[0];
    assert!(st.playing && !st.scratching);
    let moved = st.position - held;
    // 0.1 s at +6 % (the stretcher re-engages with a little latency).
    assert!(
        moved > 0.08 * RATE as f64 && moved < 0.12 * RATE as f64,
        "{moved}"
    );
}

#[test]
fn scratch_moves_without_touch_are_ignored() {
    let mut rig = Rig::new(RATE, 2, 256);
    rig.load(0, ramp(RATE, RATE as usize, SCALE));
    rig.send(Command::ScratchMove {
        deck: 0,
        seconds: 0.5,
    });
    rig.run(2048, 256);
    let st = rig.parts.handle.status().decks[0];
    assert_eq!(st.position, 0.0);
    assert!(!st.scratching);
}
