//! The FX units through the control vocabulary: names, commands, toggles, soft takeover and
//! LED feedback.

use segue_controllers::{
    effect_number, effect_of_number, Controller, Mapping, Source, Target, TargetKind, Value,
};
use segue_engine::{Command, Effect, FxMode, Status, FX_PARAMS, FX_SLOTS, FX_UNITS};

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
fn fx_target_names_round_trip_and_cover_every_unit_slot_and_knob() {
    let fx: Vec<Target> = Target::fx_targets().collect();
    // Per unit: on, chain, mix, master, assign; per slot: effect, on, beats, halve, double
    // and the knobs.
    assert_eq!(fx.len(), FX_UNITS * (5 + FX_SLOTS * (5 + FX_PARAMS)));
    let names = Target::names();
    for t in &fx {
        let n = t.name();
        assert!(names.contains(&n), "{n} not listed");
        assert_eq!(Target::from_name(&n), Some(*t), "{n}");
    }
    for (name, t) in [
        ("fx1_on", Target::FxOn(0)),
        ("fx2_mix", Target::FxMix(1)),
        ("fx1_chain", Target::FxChain(0)),
        ("fx2_master", Target::FxMaster(1)),
        ("fx1_assign", Target::FxAssign(0)),
        ("fx2_slot_3_effect", Target::FxEffect(1, 2)),
        ("fx1_slot_2_on", Target::FxSlotOn(0, 1)),
        ("fx1_slot_1_knob_3", Target::FxKnob(0, 0, 2)),
        ("fx2_slot_2_beats", Target::FxBeats(1, 1)),
        ("fx1_slot_1_beats_halve", Target::FxBeatsHalve(0, 0)),
        ("fx1_slot_1_beats_double", Target::FxBeatsDouble(0, 0)),
    ] {
        assert_eq!(Target::from_name(name), Some(t), "{name}");
    }
    for bad in [
        "fx0_on",
        "fx3_on",
        "fx01_on",
        "fx+1_on",
        "fx1_slot_0_on",
        "fx1_slot_4_on",
        "fx1_slot_1_knob_4",
        "fx1_slot_1_knob_0",
        "fx1_slot_1",
        "fx1_off",
        "fx1",
        "fx_on",
    ] {
        assert_eq!(Target::from_name(bad), None, "{bad}");
    }
    // Only the deck assignment belongs to a deck.
    for t in &fx {
        assert_eq!(t.is_deck(), matches!(t, Target::FxAssign(_)), "{t}");
    }
    // Catalog patterns name every FX target kind once.
    let catalog: Vec<String> = Target::catalog()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("fx"))
        .collect();
    assert!(catalog.contains(&"fx{u}_slot_{s}_knob_{p}".to_string()));
    assert!(catalog.contains(&"fx{u}_assign".to_string()));
    assert_eq!(catalog.len(), 11, "{catalog:?}");
    // Sources.
    for n in Source::names().iter().filter(|n| n.starts_with("fx")) {
        let s = Source::from_name(n).unwrap_or_else(|| panic!("{n}"));
        assert_eq!(&s.name(), n);
        assert_eq!(s.is_deck(), matches!(s, Source::FxAssign(_)), "{n}");
    }
    assert_eq!(
        Source::from_name("fx1_slot_2_active"),
        Some(Source::FxActive(0, 1))
    );
    assert_eq!(Source::from_name("fx3_on"), None);
}

#[test]
fn fx_targets_make_the_fx_commands() {
    let st = status();
    let cmd = |t: &str, deck: u8, v: Value| Target::from_name(t).unwrap().command(deck, v, &st);
    let n = Value::Number;
    let p = Value::Press;
    assert_eq!(
        cmd("fx1_on", 0, p(true)),
        Some(Command::FxOn { unit: 0, on: true })
    );
    assert_eq!(
        cmd("fx2_on", 0, n(0.0)),
        Some(Command::FxOn { unit: 1, on: false })
    );
    assert_eq!(
        cmd("fx1_chain", 0, p(true)),
        Some(Command::FxMode {
            unit: 0,
            mode: FxMode::Chain
        })
    );
    assert_eq!(
        cmd("fx1_chain", 0, n(0.0)),
        Some(Command::FxMode {
            unit: 0,
            mode: FxMode::Single
        })
    );
    assert_eq!(
        cmd("fx2_mix", 3, n(0.25)),
        Some(Command::FxMix { unit: 1, mix: 0.25 })
    );
    assert_eq!(
        cmd("fx2_master", 0, p(true)),
        Some(Command::FxAssignMaster { unit: 1, on: true })
    );
    assert_eq!(
        cmd("fx1_assign", 2, p(true)),
        Some(Command::FxAssign {
            unit: 0,
            deck: 2,
            on: true
        })
    );
    assert_eq!(
        cmd("fx1_slot_2_on", 0, p(false)),
        Some(Command::FxSlotOn {
            unit: 0,
            slot: 1,
            on: false
        })
    );
    assert_eq!(
        cmd("fx2_slot_3_knob_2", 0, n(0.75)),
        Some(Command::FxParam {
            unit: 1,
            slot: 2,
            param: 1,
            value: 0.75
        })
    );
    assert_eq!(
        cmd("fx1_slot_1_beats", 0, n(0.5)),
        Some(Command::FxBeats {
            unit: 0,
            slot: 0,
            beats: 0.5
        })
    );
    assert_eq!(cmd("fx1_slot_1_beats", 0, n(0.0)), None);
    assert_eq!(cmd("fx1_slot_1_beats", 0, p(true)), None);
    // Effects by number: 0 none, then Effect::ALL; a fader's in-between values round.
    assert_eq!(
        cmd("fx1_slot_1_effect", 0, n(0.0)),
        Some(Command::FxSelect {
            unit: 0,
            slot: 0,
            effect: None
        })
    );
    for (i, e) in Effect::ALL.into_iter().enumerate() {
        assert_eq!(
            cmd("fx1_slot_3_effect", 0, n(i as f64 + 1.2)),
            Some(Command::FxSelect {
                unit: 0,
                slot: 2,
                effect: Some(e)
            })
        );
        assert_eq!(effect_number(Some(e)), i as u8 + 1);
        assert_eq!(effect_of_number(i as f64 + 1.0), Some(Some(e)));
    }
    assert_eq!(cmd("fx1_slot_1_effect", 0, n(10.0)), None);
    assert_eq!(cmd("fx1_slot_1_effect", 0, n(-1.0)), None);
    assert_eq!(
        Target::FxEffect(0, 0).kind(),
        TargetKind::Continuous { min: 0.0, max: 9.0 }
    );
    // Halve / double from the slot's beats in the status, within 1/16..32.
    let mut st = status();
    st.fx[1].slots[0].beats = 0.5;
    let t = Target::from_name("fx2_slot_1_beats_halve").unwrap();
    assert_eq!(
        t.command(0, p(true), &st),
        Some(Command::FxBeats {
            unit: 1,
            slot: 0,
            beats: 0.25
        })
    );
    assert_eq!(t.command(0, p(false), &st), None, "a release does nothing");
    st.fx[1].slots[0].beats = 32.0;
    let t = Target::from_name("fx2_slot_1_beats_double").unwrap();
    assert_eq!(
        t.command(0, p(true), &st),
        Some(Command::FxBeats {
            unit: 1,
            slot: 0,
            beats: 32.0
        })
    );
}

#[test]
fn fx_toggles_read_the_engine_state() {
    let mut c = controller(
        r#"
[[control]]
note = 0x10
type = "toggle"
target = "fx1_on"

[[control]]
note = 0x11
type = "toggle"
target = "fx2_assign"
deck = 3

[[control]]
note = 0x12
type = "toggle"
target = "fx1_chain"

[[control]]
note = 0x13
type = "toggle"
target = "fx1_slot_2_on"

[[control]]
note = 0x14
type = "toggle"
target = "fx2_master"

[[control]]
note = 0x15
type = "button"
target = "fx1_slot_1_beats_double"
"#,
    );
    let mut st = status();
    st.fx[0].slots[0].beats = 1.0;
    st.fx[0].slots[1].on = true;
    let press = |n: u8| [0x90, n, 0x7F];
    let out = run(
        &mut c,
        &st,
        &[
            press(0x10),
            press(0x11),
            press(0x12),
            press(0x13),
            press(0x14),
            press(0x15),
        ],
    );
    assert_eq!(
        out,
        vec![
            Command::FxOn { unit: 0, on: true },
            Command::FxAssign {
                unit: 1,
                deck: 2,
                on: true
            },
            Command::FxMode {
                unit: 0,
                mode: FxMode::Chain
            },
            Command::FxSlotOn {
                unit: 0,
                slot: 1,
                on: false
            },
            Command::FxAssignMaster { unit: 1, on: true },
            Command::FxBeats {
                unit: 0,
                slot: 0,
                beats: 2.0
            },
        ]
    );
    // The engine reports them on: the same presses turn them off.
    st.fx[0].on = true;
    st.fx[1].decks[2] = true;
    st.fx[0].mode = FxMode::Chain;
    st.fx[0].slots[1].on = false;
    st.fx[1].master = true;
    let out = run(
        &mut c,
        &st,
        &[
            press(0x10),
            press(0x11),
            press(0x12),
            press(0x13),
            press(0x14),
        ],
    );
    assert_eq!(
        out,
        vec![
            Command::FxOn { unit: 0, on: false },
            Command::FxAssign {
                unit: 1,
                deck: 2,
                on: false
            },
            Command::FxMode {
                unit: 0,
                mode: FxMode::Single
            },
            Command::FxSlotOn {
                unit: 0,
                slot: 1,
                on: true
            },
            Command::FxAssignMaster { unit: 1, on: false },
        ]
    );
}

#[test]
fn fx_knobs_and_effect_selector_from_faders_and_encoders() {
    let mut c = controller(
        r#"
[[control]]
cc = 0x20
type = "fader"
target = "fx1_mix"
soft_takeover = true

[[control]]
cc = 0x21
type = "fader"
target = "fx2_slot_1_knob_2"

[[control]]
cc = 0x22
type = "encoder"
encoding = "twos_complement"
step = 1
target = "fx1_slot_1_effect"

[[control]]
cc = 0x23
type = "fader"
target = "fx1_slot_2_effect"
"#,
    );
    let mut st = status();
    st.fx[0].mix = 0.8;
    // Soft takeover through the continuous-target path: the first move is taken…
    let out = run(&mut c, &st, &[[0xB0, 0x20, 0]]);
    assert_eq!(out, vec![Command::FxMix { unit: 0, mix: 0.0 }]);
    // …a second later the mix is 0.8 (set elsewhere): the fader at 0.3 waits…
    st.frame += 48_000;
    let out = run(&mut c, &st, &[[0xB0, 0x20, 40]]);
    assert!(out.is_empty(), "{out:?}");
    // …until it reaches the engine's value.
    let out = run(&mut c, &st, &[[0xB0, 0x20, 101]]);
    assert_eq!(out.len(), 1, "{out:?}");
    // A plain fader on a knob: 0..1.
    let out = run(&mut c, &st, &[[0xB0, 0x21, 127]]);
    assert_eq!(
        out,
        vec![Command::FxParam {
            unit: 1,
            slot: 0,
            param: 1,
            value: 1.0
        }]
    );
    // The encoder steps from the effect the engine reports (reverb = 3) to the next one.
    st.fx[0].slots[0].effect = Some(Effect::Reverb);
    st.frame += 48_000;
    let out = run(&mut c, &st, &[[0xB0, 0x22, 1]]);
    assert_eq!(
        out,
        vec![Command::FxSelect {
            unit: 0,
            slot: 0,
            effect: Some(Effect::Flanger)
        }]
    );
    // A fader spans none..filter sweep.
    let out = run(&mut c, &st, &[[0xB0, 0x23, 0], [0xB0, 0x23, 127]]);
    assert_eq!(
        out,
        vec![
            Command::FxSelect {
                unit: 0,
                slot: 1,
                effect: None
            },
            Command::FxSelect {
                unit: 0,
                slot: 1,
                effect: Some(Effect::FilterSweep)
            }
        ]
    );
}

#[test]
fn fx_leds_follow_the_engine_status() {
    let toml = r#"
[[output]]
note = 0x30
source = "fx1_on"

[[output]]
note = 0x31
source = "fx2_assign"
deck = 2

[[output]]
note = 0x32
source = "fx1_chain"

[[output]]
note = 0x33
source = "fx2_master"

[[output]]
note = 0x34
source = "fx1_slot_3_on"

[[output]]
note = 0x35
source = "fx1_slot_1_active"
"#;
    let mut c = controller(toml);
    let mut st = status();
    let mut out = Vec::new();
    c.feedback(&st, &mut out);
    assert_eq!(out, (0x30..=0x35).map(|n| [0x90, n, 0]).collect::<Vec<_>>());
    out.clear();
    st.fx[0].on = true;
    st.fx[1].decks[1] = true;
    st.fx[1].decks[0] = true; // another deck: not this LED's
    st.fx[0].mode = FxMode::Chain;
    st.fx[1].master = true;
    st.fx[0].slots[2].on = true;
    st.fx[0].slots[0].active = true;
    c.feedback(&st, &mut out);
    assert_eq!(
        out,
        (0x30..=0x35).map(|n| [0x90, n, 127]).collect::<Vec<_>>()
    );
    out.clear();
    st.fx[1].decks[1] = false;
    c.feedback(&st, &mut out);
    assert_eq!(out, vec![[0x90, 0x31, 0]]);
}

#[test]
fn fx_mapping_errors_name_the_problem() {
    // A deck target needs its deck; the beat length is a value, not a fader.
    let e =
        Mapping::from_str("[[control]]\nnote = 1\ntype = \"toggle\"\ntarget = \"fx1_assign\"\n")
            .unwrap_err()
            .to_string();
    assert!(e.contains("deck"), "{e}");
    let e =
        Mapping::from_str("[[control]]\ncc = 1\ntype = \"fader\"\ntarget = \"fx1_slot_1_beats\"\n")
            .unwrap_err()
            .to_string();
    assert!(e.contains("OSC"), "{e}");
}
