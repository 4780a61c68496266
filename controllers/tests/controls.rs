//! Every control type turns MIDI into the right engine commands.

use segue_controllers::{
    Controller, LiveAction, LiveState, Mapping, Target, BEND_BUTTON_PERCENT, SECONDS_PER_REV,
};
use segue_engine::{Command, EqBand, Position, Status, TempoRange};

fn controller(toml: &str) -> Controller {
    Controller::new(Mapping::from_str(toml).unwrap(), 4)
}

fn status() -> Status {
    Status {
        sample_rate: 48_000,
        deck_count: 4,
        ..Status::default()
    }
}

fn run(c: &mut Controller, st: &Status, msgs: &[[u8; 3]]) -> Vec<Command> {
    let mut out = Vec::new();
    for m in msgs {
        c.handle(m, st, &mut out);
    }
    out
}

#[test]
fn button_sends_press_and_release() {
    let mut c = controller(
        "[[control]]\nnote = 0x0C\nchannel = 2\ntype = \"button\"\ntarget = \"cue\"\ndeck = 2\n",
    );
    let out = run(
        &mut c,
        &status(),
        &[[0x91, 0x0C, 0x7F], [0x81, 0x0C, 0x40], [0x90, 0x0C, 0x7F]],
    );
    assert_eq!(
        out,
        vec![
            Command::Cue {
                deck: 1,
                pressed: true
            },
            Command::Cue {
                deck: 1,
                pressed: false
            },
        ],
        "channel 1 message ignored"
    );
    // Note on with velocity 0 is a release too.
    let out = run(&mut c, &status(), &[[0x91, 0x0C, 1], [0x91, 0x0C, 0]]);
    assert_eq!(
        out[1],
        Command::Cue {
            deck: 1,
            pressed: false
        }
    );
}

#[test]
fn toggle_flips_the_engine_state_and_ignores_release() {
    let mut c = controller("[[control]]\nnote = 0x0B\ntype = \"toggle\"\ntarget = \"play\"\ndeck = 1\n\n[[control]]\ncc = 0x40\ntype = \"toggle\"\ntarget = \"quantize\"\ndeck = 1\n");
    let mut st = status();
    let out = run(&mut c, &st, &[[0x90, 0x0B, 0x7F], [0x80, 0x0B, 0]]);
    assert_eq!(out, vec![Command::Play { deck: 0, on: true }]);
    st.decks[0].playing = true;
    let out = run(&mut c, &st, &[[0x90, 0x0B, 0x7F]]);
    assert_eq!(out, vec![Command::Play { deck: 0, on: false }]);
    // Previewing with the cue button: play keeps it playing.
    st.decks[0].previewing = true;
    let out = run(&mut c, &st, &[[0x90, 0x0B, 0x7F]]);
    assert_eq!(out, vec![Command::Play { deck: 0, on: true }]);
    // A state the engine does not report is remembered by the controller.
    let out = run(
        &mut c,
        &st,
        &[[0xB0, 0x40, 127], [0xB0, 0x40, 0], [0xB0, 0x40, 127]],
    );
    assert_eq!(
        out,
        vec![
            Command::Quantize { deck: 0, on: true },
            Command::Quantize { deck: 0, on: false }
        ]
    );
}

#[test]
fn seven_bit_fader_maps_ends_and_centre_exactly() {
    let mut c = controller("[[control]]\ncc = 0x10\ntype = \"fader\"\ntarget = \"tempo\"\ndeck = 1\nmin = -16\nmax = 16\n\n[[control]]\ncc = 0x11\ntype = \"fader\"\ntarget = \"volume\"\ndeck = 1\ninvert = true\n");
    let out = run(
        &mut c,
        &status(),
        &[
            [0xB0, 0x10, 0],
            [0xB0, 0x10, 64],
            [0xB0, 0x10, 127],
            [0xB0, 0x11, 0],
            [0xB0, 0x11, 127],
        ],
    );
    assert_eq!(
        out,
        vec![
            Command::Tempo {
                deck: 0,
                percent: -16.0
            },
            Command::Tempo {
                deck: 0,
                percent: 0.0
            },
            Command::Tempo {
                deck: 0,
                percent: 16.0
            },
            Command::Volume {
                deck: 0,
                level: 1.0
            },
            Command::Volume {
                deck: 0,
                level: 0.0
            },
        ]
    );
}

#[test]
fn fourteen_bit_fader_combines_msb_and_lsb() {
    let mut c = controller(
        "[[control]]\ncc = 0x00\nchannel = 1\ntype = \"fader14\"\ntarget = \"crossfader\"\n",
    );
    let st = status();
    // MSB 0x40, LSB 0x00: exact centre.
    let out = run(&mut c, &st, &[[0xB0, 0x00, 0x40], [0xB0, 0x20, 0x00]]);
    assert_eq!(out, vec![Command::Crossfader { position: 0.0 }; 2]);
    // Full scale.
    let out = run(&mut c, &st, &[[0xB0, 0x00, 0x7F], [0xB0, 0x20, 0x7F]]);
    assert_eq!(out[1], Command::Crossfader { position: 1.0 });
    // Resolution finer than 7 bits: LSB steps move the value by 1/8191 of the half range.
    let out = run(&mut c, &st, &[[0xB0, 0x00, 0x40], [0xB0, 0x20, 0x01]]);
    let Command::Crossfader { position } = out[1] else {
        panic!()
    };
    assert!((position - 1.0 / 8191.0).abs() < 1e-6, "{position}");
    // Pitch bend is a one-message 14-bit fader.
    let mut c = controller("[[control]]\npitch_bend = true\nchannel = 3\ntype = \"fader\"\ntarget = \"tempo\"\ndeck = 2\n");
    let out = run(
        &mut c,
        &st,
        &[[0xE2, 0x00, 0x40], [0xE2, 0x7F, 0x7F], [0xE2, 0, 0]],
    );
    assert_eq!(
        out,
        vec![
            Command::Tempo {
                deck: 1,
                percent: 0.0
            },
            Command::Tempo {
                deck: 1,
                percent: 8.0
            },
            Command::Tempo {
                deck: 1,
                percent: -8.0
            },
        ]
    );
}

fn encoder(encoding: &str) -> Controller {
    controller(&format!("[[control]]\ncc = 0x20\ntype = \"encoder\"\nencoding = \"{encoding}\"\nstep = 0.125\ntarget = \"filter\"\ndeck = 1\n"))
}

fn amounts(out: &[Command]) -> Vec<f32> {
    out.iter()
        .map(|c| match c {
            Command::Filter { amount, .. } => *amount,
            c => panic!("{c:?}"),
        })
        .collect()
}

#[test]
fn relative_encoder_twos_complement() {
    let mut c = encoder("twos_complement");
    let out = run(
        &mut c,
        &status(),
        &[
            [0xB0, 0x20, 1],
            [0xB0, 0x20, 2],
            [0xB0, 0x20, 127],
            [0xB0, 0x20, 126],
        ],
    );
    assert_eq!(amounts(&out), vec![0.125, 0.375, 0.25, 0.0]);
}

#[test]
fn relative_encoder_sign_bit() {
    let mut c = encoder("sign_bit");
    let out = run(
        &mut c,
        &status(),
        &[[0xB0, 0x20, 3], [0xB0, 0x20, 0x41], [0xB0, 0x20, 0x42]],
    );
    assert_eq!(amounts(&out), vec![0.375, 0.25, 0.0]);
}

#[test]
fn relative_encoder_offset_and_clamping() {
    let mut c = encoder("offset");
    let out = run(
        &mut c,
        &status(),
        &[[0xB0, 0x20, 65], [0xB0, 0x20, 63], [0xB0, 0x20, 0]],
    );
    assert_eq!(
        amounts(&out),
        vec![0.125, 0.0, -1.0],
        "clamped at the range"
    );
}

#[test]
fn encoder_picks_up_a_value_changed_elsewhere() {
    let mut c = encoder("twos_complement");
    let mut st = status();
    run(&mut c, &st, &[[0xB0, 0x20, 1]]);
    // OSC moved the filter to −0.5; a second later the encoder continues from there.
    st.decks[0].filter = -0.5;
    st.frame += 48_000;
    let out = run(&mut c, &st, &[[0xB0, 0x20, 1]]);
    assert_eq!(amounts(&out), vec![-0.375]);
}

#[test]
fn shift_layer_replaces_base_bindings_while_held() {
    let toml = r#"
[[shift]]
note = 0x3F
layer = "shift"

[[control]]
note = 0x0B
type = "toggle"
target = "play"
deck = 1

[[control]]
note = 0x0B
type = "button"
target = "cue_set"
deck = 1
layer = "shift"

[[control]]
note = 0x0C
type = "button"
target = "cue"
deck = 1
"#;
    let mut c = controller(toml);
    let mut st = status();
    st.decks[0].position = 1234.0;
    let out = run(&mut c, &st, &[[0x90, 0x0B, 127], [0x80, 0x0B, 0]]);
    assert_eq!(out, vec![Command::Play { deck: 0, on: true }]);
    assert!(!c.layer_active("shift"));
    let out = run(&mut c, &st, &[[0x90, 0x3F, 127], [0x90, 0x0B, 127]]);
    assert!(c.layer_active("shift"));
    assert_eq!(
        out,
        vec![Command::SetCue {
            deck: 0,
            at: segue_engine::Position::Frames(1234.0)
        }]
    );
    // Controls without a shift binding keep working under shift.
    let out = run(&mut c, &st, &[[0x90, 0x0C, 127]]);
    assert_eq!(
        out,
        vec![Command::Cue {
            deck: 0,
            pressed: true
        }]
    );
    // Shift released before the cue button: the release still reaches the cue target.
    let out = run(&mut c, &st, &[[0x80, 0x3F, 0], [0x80, 0x0C, 0]]);
    assert_eq!(
        out,
        vec![Command::Cue {
            deck: 0,
            pressed: false
        }]
    );
    assert!(!c.layer_active("shift"));
}

#[test]
fn toggle_shift_latches() {
    let toml = "[[shift]]\nnote = 0x3F\nlayer = \"fx\"\ntoggle = true\n\n[[control]]\ncc = 0x10\ntype = \"fader\"\ntarget = \"volume\"\ndeck = 1\n\n[[control]]\ncc = 0x10\ntype = \"fader\"\ntarget = \"filter\"\ndeck = 1\nlayer = \"fx\"\n";
    let mut c = controller(toml);
    let st = status();
    let out = run(
        &mut c,
        &st,
        &[[0x90, 0x3F, 127], [0x80, 0x3F, 0], [0xB0, 0x10, 127]],
    );
    assert_eq!(
        out,
        vec![Command::Filter {
            deck: 0,
            amount: 1.0
        }]
    );
    let out = run(&mut c, &st, &[[0x90, 0x3F, 127], [0xB0, 0x10, 127]]);
    assert_eq!(
        out,
        vec![Command::Volume {
            deck: 0,
            level: 1.0
        }]
    );
}

#[test]
fn jog_nudges_and_scratches_while_touched() {
    let toml = "[[control]]\ncc = 0x21\ntype = \"jog\"\nencoding = \"twos_complement\"\nticks_per_rev = 360\nnudge_ms = 2\ntarget = \"jog\"\ndeck = 1\n\n[[control]]\nnote = 0x36\ntype = \"button\"\ntarget = \"jog_touch\"\ndeck = 1\n";
    let mut c = controller(toml);
    let st = status();
    let out = run(&mut c, &st, &[[0xB0, 0x21, 3], [0xB0, 0x21, 126]]);
    assert_eq!(
        out,
        vec![
            Command::Nudge { deck: 0, ms: 6.0 },
            Command::Nudge { deck: 0, ms: -4.0 }
        ]
    );
    let out = run(
        &mut c,
        &st,
        &[
            [0x90, 0x36, 127],
            [0xB0, 0x21, 36],
            [0xB0, 0x21, 127],
            [0x80, 0x36, 0],
            [0xB0, 0x21, 1],
        ],
    );
    let expected_step = 36.0 / 360.0 * SECONDS_PER_REV;
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], Command::Scratch { deck: 0, on: true });
    let Command::ScratchMove { deck: 0, seconds } = out[1] else {
        panic!("{:?}", out[1])
    };
    assert!((seconds - expected_step).abs() < 1e-6);
    let Command::ScratchMove { deck: 0, seconds } = out[2] else {
        panic!("{:?}", out[2])
    };
    assert!((seconds + SECONDS_PER_REV / 360.0).abs() < 1e-6);
    assert_eq!(out[3], Command::Scratch { deck: 0, on: false });
    assert_eq!(out[4], Command::Nudge { deck: 0, ms: 2.0 });
}

#[test]
fn triggers_loops_kills_and_mixer_targets() {
    let toml = r#"
[[control]]
note = 1
type = "button"
target = "hotcue_3"
deck = 1
[[control]]
note = 2
type = "toggle"
target = "beatloop_1/2"
deck = 1
[[control]]
note = 3
type = "button"
target = "loop_halve"
deck = 1
[[control]]
note = 4
type = "toggle"
target = "eq_low_kill"
deck = 1
[[control]]
note = 5
type = "button"
target = "tempo_range"
deck = 1
[[control]]
note = 6
type = "button"
target = "bend_up"
deck = 1
[[control]]
cc = 7
type = "fader"
target = "master_gain"
"#;
    let mut c = controller(toml);
    let mut st = status();
    st.decks[0].eq = [0.5, 1.0, 1.0];
    let out = run(&mut c, &st, &[[0x90, 1, 127], [0x80, 1, 0], [0x90, 2, 127]]);
    assert_eq!(
        out,
        vec![
            Command::HotCue { deck: 0, index: 2 },
            Command::BeatLoop {
                deck: 0,
                beats: 0.5
            }
        ]
    );
    // A 4-beat loop at 120 BPM (24000 frames per beat) is halved to 2 beats.
    st.decks[0].looping = true;
    st.decks[0].native_bpm = 120.0;
    st.decks[0].loop_start = 48_000.0;
    st.decks[0].loop_end = 48_000.0 + 4.0 * 24_000.0;
    let out = run(&mut c, &st, &[[0x90, 3, 127], [0x90, 2, 127]]);
    assert_eq!(
        out,
        vec![
            Command::BeatLoop {
                deck: 0,
                beats: 2.0
            },
            Command::LoopExit { deck: 0 }
        ]
    );
    // Kill and restore the gain it had.
    let out = run(&mut c, &st, &[[0x90, 4, 127], [0x90, 4, 127]]);
    assert_eq!(
        out,
        vec![
            Command::Eq {
                deck: 0,
                band: EqBand::Low,
                gain: 0.0
            },
            Command::Eq {
                deck: 0,
                band: EqBand::Low,
                gain: 0.5
            }
        ]
    );
    let out = run(
        &mut c,
        &st,
        &[[0x90, 5, 127], [0x90, 5, 127], [0x90, 5, 127]],
    );
    assert_eq!(
        out,
        vec![
            Command::TempoRange {
                deck: 0,
                range: TempoRange::Medium
            },
            Command::TempoRange {
                deck: 0,
                range: TempoRange::Wide
            },
            Command::TempoRange {
                deck: 0,
                range: TempoRange::Narrow
            },
        ]
    );
    let out = run(&mut c, &st, &[[0x90, 6, 127], [0x80, 6, 0], [0xB0, 7, 127]]);
    assert_eq!(
        out,
        vec![
            Command::Bend {
                deck: 0,
                percent: BEND_BUTTON_PERCENT
            },
            Command::Bend {
                deck: 0,
                percent: 0.0
            },
            Command::MasterGain { gain: 2.0 },
        ]
    );
}

#[test]
fn decks_beyond_the_engine_and_garbage_bytes_are_ignored() {
    let mut c = Controller::new(
        Mapping::from_str(
            "[[control]]\nnote = 1\ntype = \"button\"\ntarget = \"play\"\ndeck = 3\n",
        )
        .unwrap(),
        2,
    );
    let mut out = Vec::new();
    c.handle(&[0x90, 1, 127], &status(), &mut out);
    for m in [
        &[][..],
        &[0x90],
        &[0x90, 1],
        &[0x12, 0x90, 1],
        &[0xF8],
        &[0xF0, 1, 2, 3, 0xF7],
        &[0xC0, 5],
    ] {
        c.handle(m, &status(), &mut out);
    }
    assert!(out.is_empty());
}

#[test]
fn feedback_sends_only_changes() {
    let toml = r#"
[[output]]
note = 0x0B
source = "play"
deck = 1

[[output]]
note = 0x10
source = "hotcue_2"
deck = 1
on = 0x30
off = 0x01

[[output]]
cc = 0x02
source = "vu"
deck = 1
level = true

[[output]]
note = 0x11
channel = 2
source = "loop"
deck = 2
"#;
    let mut c = controller(toml);
    let mut st = status();
    let mut out = Vec::new();
    c.feedback(&st, &mut out);
    assert_eq!(
        out,
        vec![
            [0x90, 0x0B, 0],
            [0x90, 0x10, 0x01],
            [0xB0, 0x02, 0],
            [0x91, 0x11, 0]
        ]
    );
    out.clear();
    c.feedback(&st, &mut out);
    assert!(out.is_empty(), "nothing changed");
    st.decks[0].playing = true;
    st.decks[0].hot_cues[1] = Some(1000.0);
    st.decks[0].meter.peak = 1.0; // 0 dBFS: full scale
    st.decks[1].looping = true;
    c.feedback(&st, &mut out);
    assert_eq!(
        out,
        vec![
            [0x90, 0x0B, 127],
            [0x90, 0x10, 0x30],
            [0xB0, 0x02, 127],
            [0x91, 0x11, 127]
        ]
    );
    out.clear();
    st.decks[0].meter.peak = 10f32.powf(-24.0 / 20.0); // −24 dB: half scale
    c.feedback(&st, &mut out);
    assert_eq!(out, vec![[0xB0, 0x02, 64]]);
    out.clear();
    c.refresh_feedback();
    c.feedback(&st, &mut out);
    assert_eq!(out.len(), 4);
}

#[test]
fn soft_takeover_waits_for_the_fader_to_reach_the_value() {
    let mut c = controller("[[control]]\ncc = 0x10\ntype = \"fader\"\ntarget = \"volume\"\ndeck = 1\nsoft_takeover = true\n");
    let mut st = status();
    st.decks[0].volume = 0.8;
    // The first move is taken (the hardware's position is the truth at start)…
    let out = run(&mut c, &st, &[[0xB0, 0x10, 0]]);
    assert_eq!(
        out,
        vec![Command::Volume {
            deck: 0,
            level: 0.0
        }]
    );
    // …and so is a fader being moved, even before the engine's status catches up.
    st.frame += 480;
    let out = run(&mut c, &st, &[[0xB0, 0x10, 32]]);
    assert_eq!(out.len(), 1);
    // A second later OSC has set the volume to 0.8: the fader (at 0.25) no longer jumps it.
    st.frame += 48_000;
    st.decks[0].volume = 0.8;
    let out = run(&mut c, &st, &[[0xB0, 0x10, 40], [0xB0, 0x10, 70]]);
    assert!(out.is_empty(), "{out:?}");
    // Within 3/128 of 0.8 it picks up, and follows from there.
    let out = run(&mut c, &st, &[[0xB0, 0x10, 101], [0xB0, 0x10, 110]]);
    assert_eq!(out.len(), 2, "{out:?}");
    // Crossing the value picks up too.
    st.frame += 48_000;
    st.decks[0].volume = 0.3;
    let out = run(&mut c, &st, &[[0xB0, 0x10, 60], [0xB0, 0x10, 20]]);
    assert_eq!(
        out,
        vec![Command::Volume {
            deck: 0,
            level: 20.0 / 64.0 * 0.5
        }]
    );
}

#[test]
fn live_targets_become_live_actions_not_commands() {
    let mut c = controller(
        "[[control]]\nnote = 0x20\nchannel = 1\ntype = \"button\"\ntarget = \"suggestion_load_2\"\n\
         [[control]]\nnote = 0x21\nchannel = 1\ntype = \"button\"\ntarget = \"transition_start\"\n\
         [[control]]\nnote = 0x22\nchannel = 1\ntype = \"button\"\ntarget = \"autodj_toggle\"\n",
    );
    let out = run(
        &mut c,
        &status(),
        &[
            [0x90, 0x20, 0x7F],
            [0x80, 0x20, 0],
            [0x90, 0x21, 0x7F],
            [0x90, 0x22, 0x7F],
        ],
    );
    assert!(out.is_empty(), "no engine command: {out:?}");
    let live: Vec<LiveAction> = c.take_live().collect();
    assert_eq!(
        live,
        vec![
            LiveAction::LoadSuggestion(1),
            LiveAction::StartTransition,
            LiveAction::AutoDjToggle
        ],
        "one action per press, none per release"
    );
    assert_eq!(c.take_live().count(), 0, "taken once");
    // Names round-trip and sit in the listing.
    for name in ["suggestion_load_10", "transition_start", "autodj_toggle"] {
        let t = Target::from_name(name).unwrap();
        assert_eq!(t.name(), name);
        assert!(Target::names().contains(&name.to_string()));
    }
    assert_eq!(Target::from_name("suggestion_load_11"), None);
}

#[test]
fn record_targets_are_live_actions_and_the_shell_lights_their_leds() {
    let mut c = controller(
        "[[control]]\nnote = 0x30\nchannel = 1\ntype = \"button\"\ntarget = \"record_toggle\"\n\
         [[control]]\nnote = 0x31\nchannel = 1\ntype = \"button\"\ntarget = \"record_start\"\n\
         [[control]]\nnote = 0x32\nchannel = 1\ntype = \"button\"\ntarget = \"record_stop\"\n\
         [[output]]\nnote = 0x30\nchannel = 1\nsource = \"recording\"\n\
         [[output]]\nnote = 0x33\nchannel = 1\nsource = \"autodj\"\n",
    );
    let out = run(
        &mut c,
        &status(),
        &[
            [0x90, 0x30, 0x7F],
            [0x80, 0x30, 0],
            [0x90, 0x31, 0x7F],
            [0x90, 0x32, 0x7F],
        ],
    );
    assert!(out.is_empty(), "no engine command: {out:?}");
    assert_eq!(
        c.take_live().collect::<Vec<_>>(),
        vec![
            LiveAction::RecordToggle,
            LiveAction::RecordStart,
            LiveAction::RecordStop
        ]
    );
    for name in ["record_toggle", "record_start", "record_stop"] {
        let t = Target::from_name(name).unwrap();
        assert_eq!(t.name(), name);
        assert!(!t.is_deck());
        assert!(Target::names().contains(&name.to_string()));
    }
    // The LEDs show what the shell says: dark, then lit while recording / Auto DJ on.
    let st = status();
    let mut leds = Vec::new();
    c.feedback(&st, &mut leds);
    assert_eq!(leds, vec![[0x90, 0x30, 0], [0x90, 0x33, 0]]);
    c.set_live_state(LiveState {
        recording: true,
        autodj: false,
    });
    leds.clear();
    c.feedback(&st, &mut leds);
    assert_eq!(leds, vec![[0x90, 0x30, 0x7F]]);
    c.set_live_state(LiveState {
        recording: false,
        autodj: true,
    });
    leds.clear();
    c.feedback(&st, &mut leds);
    assert_eq!(leds, vec![[0x90, 0x30, 0], [0x90, 0x33, 0x7F]]);
}

#[test]
fn browse_targets_become_browser_actions() {
    let mut c = controller(
        "[[control]]\ncc = 0x40\nchannel = 7\ntype = \"encoder\"\nencoding = \"twos_complement\"\ntarget = \"browse\"\n\
         [[control]]\nnote = 0x41\nchannel = 7\ntype = \"button\"\ntarget = \"browse_enter\"\n\
         [[control]]\nnote = 0x42\nchannel = 7\ntype = \"button\"\ntarget = \"browse_back\"\n\
         [[control]]\nnote = 0x43\nchannel = 7\ntype = \"button\"\ntarget = \"browse_sort\"\n\
         [[control]]\nnote = 0x44\nchannel = 7\ntype = \"button\"\ntarget = \"browse_next\"\n\
         [[control]]\nnote = 0x45\nchannel = 7\ntype = \"button\"\ntarget = \"browse_prev\"\n\
         [[control]]\nnote = 0x47\nchannel = 7\ntype = \"button\"\ntarget = \"load_selected\"\ndeck = 2\n",
    );
    let out = run(
        &mut c,
        &status(),
        &[
            [0xB6, 0x40, 0x01],
            [0xB6, 0x40, 0x7D],
            [0xB6, 0x40, 0x00],
            [0x96, 0x41, 0x7F],
            [0x86, 0x41, 0x00],
            [0x96, 0x42, 0x7F],
            [0x96, 0x43, 0x7F],
            [0x96, 0x44, 0x7F],
            [0x96, 0x45, 0x7F],
            [0x96, 0x47, 0x7F],
            [0x96, 0x47, 0x00],
        ],
    );
    assert!(out.is_empty(), "no engine command: {out:?}");
    assert_eq!(
        c.take_live().collect::<Vec<_>>(),
        vec![
            LiveAction::Browse(1),
            LiveAction::Browse(-3),
            LiveAction::BrowseEnter,
            LiveAction::BrowseBack,
            LiveAction::BrowseSort,
            LiveAction::Browse(1),
            LiveAction::Browse(-1),
            LiveAction::LoadSelected(1),
        ]
    );
    // A button cannot drive the encoder target.
    let err =
        Mapping::from_str("[[control]]\nnote = 0x40\ntype = \"button\"\ntarget = \"browse\"\n")
            .unwrap_err()
            .to_string();
    assert!(err.contains("browse_next"), "{err}");
}

#[test]
fn loop_in_out_and_beat_jumps() {
    let mut c = controller(
        "[[control]]\nnote = 0x10\ntype = \"button\"\ntarget = \"loop_in\"\ndeck = 1\n\
         [[control]]\nnote = 0x11\ntype = \"button\"\ntarget = \"loop_out\"\ndeck = 1\n\
         [[control]]\nnote = 0x12\ntype = \"button\"\ntarget = \"beatjump_forward_4\"\ndeck = 1\n\
         [[control]]\nnote = 0x13\ntype = \"button\"\ntarget = \"beatjump_backward_1/2\"\ndeck = 1\n",
    );
    let mut st = status();
    st.decks[0].loaded = true;
    st.decks[0].position = 48_000.0;
    st.decks[0].beat = 10.0;
    let press = |n: u8| [0x90, n, 0x7F];
    // Loop out before any loop in: nothing.
    assert!(run(&mut c, &st, &[press(0x11)]).is_empty());
    assert!(
        run(&mut c, &st, &[press(0x10)]).is_empty(),
        "loop in only remembers"
    );
    st.decks[0].position = 96_000.0;
    assert_eq!(
        run(&mut c, &st, &[press(0x11)]),
        vec![Command::SetLoop {
            deck: 0,
            start: Position::Frames(48_000.0),
            end: Position::Frames(96_000.0)
        }]
    );
    // With a loop running, loop in moves its start and loop out its end.
    st.decks[0].looping = true;
    st.decks[0].loop_start = 48_000.0;
    st.decks[0].loop_end = 96_000.0;
    st.decks[0].position = 60_000.0;
    assert_eq!(
        run(&mut c, &st, &[press(0x10)]),
        vec![Command::SetLoop {
            deck: 0,
            start: Position::Frames(60_000.0),
            end: Position::Frames(96_000.0)
        }]
    );
    st.decks[0].position = 72_000.0;
    assert_eq!(
        run(&mut c, &st, &[press(0x11)]),
        vec![Command::SetLoop {
            deck: 0,
            start: Position::Frames(48_000.0),
            end: Position::Frames(72_000.0)
        }]
    );
    assert_eq!(
        run(&mut c, &st, &[press(0x12), press(0x13)]),
        vec![
            Command::Seek {
                deck: 0,
                to: Position::Beats(14.0)
            },
            Command::Seek {
                deck: 0,
                to: Position::Beats(9.5)
            }
        ]
    );
    for name in [
        "loop_in",
        "loop_out",
        "beatjump_forward_4",
        "beatjump_backward_1/2",
    ] {
        assert_eq!(Target::from_name(name).unwrap().name(), name);
    }
}

#[test]
fn link_toggle_is_a_live_action_on_each_press() {
    let mut c = controller(
        "[[control]]\nnote = 0x40\nchannel = 1\ntype = \"button\"\ntarget = \"link_toggle\"\n",
    );
    let out = run(
        &mut c,
        &status(),
        &[[0x90, 0x40, 0x7F], [0x80, 0x40, 0], [0x90, 0x40, 0x7F]],
    );
    assert!(out.is_empty(), "no engine command: {out:?}");
    assert_eq!(
        c.take_live().collect::<Vec<_>>(),
        vec![LiveAction::LinkToggle, LiveAction::LinkToggle]
    );
    let t = Target::from_name("link_toggle").unwrap();
    assert_eq!(t.name(), "link_toggle");
    assert!(!t.is_deck());
    assert!(Target::names().contains(&"link_toggle".to_string()));
}
