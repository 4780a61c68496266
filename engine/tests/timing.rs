//! Sample accuracy: scheduled commands, hot-cue jumps and loop boundaries land on the exact
//! frame.
#![allow(clippy::needless_range_loop)] // index arithmetic on frames reads clearer here

mod common;

use assert_no_alloc::AllocDisabler;
use common::*;
use segue_engine::*;

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

const RATE: u32 = 48_000;
const SCALE: f32 = 1e-6;

/// Which track frame an output sample played (ramp tracks encode it).
fn frame_of(s: f32) -> i64 {
    (s / SCALE).round() as i64 - 1
}

#[test]
fn scheduled_play_starts_on_exact_frame() {
    for (k, block) in [
        (0u64, 64),
        (1, 64),
        (100, 64),
        (777, 64),
        (777, 1),
        (1023, 512),
        (5000, 333),
    ] {
        let mut rig = Rig::new(RATE, 2, 512);
        rig.load(0, TrackAudio::new(RATE, vec![[0.25, 0.25]; RATE as usize]));
        rig.send_at(k, Command::Play { deck: 0, on: true });
        let out = rig.run(8000, block);
        let first = out.iter().position(|f| f[0] != 0.0);
        assert_eq!(first, Some(k as usize), "play at {k} (blocks of {block})");
    }
}

#[test]
fn commands_in_one_block_apply_at_their_own_frames() {
    let mut rig = Rig::new(RATE, 2, 1024);
    rig.load(0, TrackAudio::new(RATE, vec![[0.25, 0.25]; RATE as usize]));
    rig.load(
        1,
        TrackAudio::new(RATE, vec![[0.125, 0.125]; RATE as usize]),
    );
    rig.send_at(300, Command::Play { deck: 1, on: true });
    rig.send_at(100, Command::Play { deck: 0, on: true });
    let out = rig.run(1024, 1024);
    assert_eq!(out.iter().position(|f| f[0] != 0.0), Some(100));
    // Deck 1 joins at 300: the sum jumps there (after both fades settle).
    assert!(out[299][0] < 0.26 && out[299][0] > 0.2);
    assert!(out[300][0] > out[299][0]);
}

#[test]
fn hot_cue_jump_lands_on_the_exact_frame() {
    let mut rig = Rig::new(RATE, 1, 512);
    rig.load(0, ramp(RATE, RATE as usize * 4, SCALE));
    rig.send(Command::SetHotCue {
        deck: 0,
        index: 3,
        at: Position::Frames(100_000.0),
    });
    rig.send(Command::Play { deck: 0, on: true });
    let jump_at = 10_007u64;
    rig.send_at(jump_at, Command::HotCue { deck: 0, index: 3 });
    let out = rig.run(20_000, 256);
    // Before the jump the ramp plays in order (after the start fade).
    assert_eq!(frame_of(out[jump_at as usize - 1][0]), jump_at as i64 - 1);
    // The jump crossfades over a few ms; from the first frame the new material is in, and
    // once the fade is over every frame is exactly cue + offset.
    for i in jump_at as usize + 200..jump_at as usize + 2000 {
        assert_eq!(
            frame_of(out[i][0]),
            100_000 + (i as i64 - jump_at as i64),
            "frame {i}"
        );
    }
    // At the jump frame the output already moves towards the cue (mix of old and new).
    assert!(out[jump_at as usize][0] > out[jump_at as usize - 1][0] + 1e-4);
}

#[test]
fn loop_boundaries_are_exact_to_the_sample() {
    let mut rig = Rig::new(RATE, 1, 512);
    rig.load(0, ramp(RATE, RATE as usize * 4, SCALE));
    rig.send(Command::SetLoop {
        deck: 0,
        start: Position::Frames(1000.0),
        end: Position::Frames(3000.0),
    });
    rig.send(Command::Play { deck: 0, on: true });
    let out = rig.run(12_000, 100);
    for (i, f) in out.iter().enumerate().skip(200) {
        let expect = if i < 3000 {
            i as i64
        } else {
            1000 + ((i - 3000) % 2000) as i64
        };
        assert_eq!(frame_of(f[0]), expect, "output frame {i}");
    }
}

#[test]
fn beat_loop_is_quantized_to_the_grid_and_exact() {
    let mut rig = Rig::new(RATE, 1, 512);
    rig.load(0, ramp(RATE, RATE as usize * 8, SCALE));
    // 120 BPM: a beat is 24 000 frames; first beat at 500.
    rig.grid(
        0,
        Beatgrid::constant(120.0, 500.0, RATE, RATE as usize * 8).unwrap(),
    );
    rig.send(Command::Play { deck: 0, on: true });
    // Pressed at 30 000 (1.27 beats in): quantized to beat 1 = 24 500, 1 beat long.
    rig.send_at(
        30_000,
        Command::BeatLoop {
            deck: 0,
            beats: 1.0,
        },
    );
    let out = rig.run(100_000, 512);
    let st = rig.parts.handle.status().decks[0];
    assert!(st.looping);
    assert_eq!((st.loop_start, st.loop_end), (24_500.0, 48_500.0));
    assert_eq!(frame_of(out[48_499][0]), 48_499);
    assert_eq!(frame_of(out[48_500][0]), 24_500);
    assert_eq!(frame_of(out[72_500][0]), 24_500);
}

#[test]
fn loop_roll_resumes_where_playback_would_have_been() {
    let mut rig = Rig::new(RATE, 1, 512);
    rig.load(0, ramp(RATE, RATE as usize * 8, SCALE));
    rig.grid(
        0,
        Beatgrid::constant(120.0, 0.0, RATE, RATE as usize * 8).unwrap(),
    );
    rig.send(Command::Play { deck: 0, on: true });
    rig.send_at(
        48_000,
        Command::LoopRoll {
            deck: 0,
            beats: 0.25,
            on: true,
        },
    );
    rig.send_at(
        60_000,
        Command::LoopRoll {
            deck: 0,
            beats: 0.25,
            on: false,
        },
    );
    let out = rig.run(70_000, 256);
    // While rolling: a quarter beat (6000 frames) from 48 000 repeats.
    assert_eq!(frame_of(out[54_000][0]), 48_000);
    // After release (and the jump fade): as if never rolled.
    for i in 60_300..70_000 {
        assert_eq!(frame_of(out[i][0]), i as i64, "frame {i}");
    }
    assert!(!rig.parts.handle.status().decks[0].looping);
}

#[test]
fn cdj_cue_sets_previews_and_returns() {
    let mut rig = Rig::new(RATE, 1, 256);
    rig.load(0, ramp(RATE, RATE as usize * 4, SCALE));
    rig.send(Command::Quantize { deck: 0, on: false });
    rig.send(Command::Seek {
        deck: 0,
        to: Position::Frames(10_000.0),
    });
    // Paused away from the cue point: pressing cue sets it here.
    rig.send(Command::Cue {
        deck: 0,
        pressed: true,
    });
    rig.send(Command::Cue {
        deck: 0,
        pressed: false,
    });
    rig.run(256, 256);
    assert_eq!(rig.parts.handle.status().decks[0].cue_point, 10_000.0);
    // Pressed again on the cue point: plays while held...
    rig.send(Command::Cue {
        deck: 0,
        pressed: true,
    });
    let out = rig.run(4096, 256);
    assert!(rig.parts.handle.status().decks[0].previewing);
    assert!(frame_of(out[4000][0]) > 10_000);
    // ...and returns to the cue point, paused, on release.
    rig.send(Command::Cue {
        deck: 0,
        pressed: false,
    });
    rig.run(4096, 256);
    let st = rig.parts.handle.status().decks[0];
    assert!(!st.playing && !st.previewing);
    assert_eq!(st.position, 10_000.0);
    // Preview, then press play while holding: keeps playing after release.
    rig.send(Command::Cue {
        deck: 0,
        pressed: true,
    });
    rig.send(Command::Play { deck: 0, on: true });
    rig.send(Command::Cue {
        deck: 0,
        pressed: false,
    });
    rig.run(4096, 256);
    assert!(rig.parts.handle.status().decks[0].playing);
    // Cue while playing: back to the cue point and paused.
    rig.send(Command::Cue {
        deck: 0,
        pressed: true,
    });
    rig.send(Command::Cue {
        deck: 0,
        pressed: false,
    });
    rig.run(4096, 256);
    let st = rig.parts.handle.status().decks[0];
    assert!(!st.playing);
    assert_eq!(st.position, 10_000.0);
}

#[test]
fn playback_stops_at_the_end_of_the_track() {
    let mut rig = Rig::new(RATE, 1, 256);
    rig.load(0, TrackAudio::new(RATE, vec![[0.5, 0.5]; 1000]));
    rig.send(Command::Play { deck: 0, on: true });
    let out = rig.run(3000, 256);
    assert!(out[999][0] != 0.0);
    assert!(out[1001..].iter().all(|f| f[0] == 0.0));
    let st = rig.parts.handle.status().decks[0];
    assert!(!st.playing && st.at_end);
}

#[test]
fn pause_fades_out_instead_of_clicking() {
    let mut rig = Rig::new(RATE, 1, 256);
    rig.load(0, TrackAudio::new(RATE, vec![[0.5, 0.5]; RATE as usize]));
    rig.send(Command::Play { deck: 0, on: true });
    rig.send_at(1000, Command::Play { deck: 0, on: false });
    let out = rig.run(2000, 256);
    let max_step = out
        .windows(2)
        .map(|w| (w[1][0] - w[0][0]).abs())
        .fold(0.0, f32::max);
    assert!(max_step < 0.01, "largest sample step {max_step}");
    assert_eq!(out[1999][0], 0.0);
}
