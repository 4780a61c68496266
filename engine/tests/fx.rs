//! The FX units: beat-exact echoes, decaying reverb, grid-locked gate, measurable
//! modulation and crushing, tails that ring out, no clicks, no NaN, no allocation.

mod common;

use assert_no_alloc::AllocDisabler;
use common::*;
use segue_engine::*;

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

const RATE: u32 = 48_000;

fn track(mix: Vec<Frame>) -> TrackAudio {
    TrackAudio::new(RATE, mix)
}

/// Silence with a single sample of `amp` at `at`.
fn impulse(frames: usize, at: usize, amp: f32) -> TrackAudio {
    let mut mix = vec![[0.0f32; 2]; frames];
    mix[at] = [amp, amp];
    track(mix)
}

/// A 1 kHz burst of `secs` at `at` seconds, silence elsewhere.
fn burst(total_secs: f64, at: f64, secs: f64, amp: f32) -> TrackAudio {
    let n = (total_secs * RATE as f64) as usize;
    let (a, b) = (
        (at * RATE as f64) as usize,
        ((at + secs) * RATE as f64) as usize,
    );
    track(
        (0..n)
            .map(|i| {
                if (a..b).contains(&i) {
                    let s = (std::f64::consts::TAU * 1000.0 * i as f64 / RATE as f64).sin() as f32;
                    [s * amp; 2]
                } else {
                    [0.0; 2]
                }
            })
            .collect(),
    )
}

/// One deck with `audio`, a grid at `bpm` from `first_beat`, assigned to unit 0, playing.
fn rig_with(audio: TrackAudio, bpm: f64, first_beat: f64) -> Rig {
    let mut rig = Rig::new(RATE, 1, 256);
    let frames = audio.frames();
    rig.load(0, audio);
    rig.grid(
        0,
        Beatgrid::constant(bpm, first_beat, RATE, frames).unwrap(),
    );
    rig.send(Command::FxAssign {
        unit: 0,
        deck: 0,
        on: true,
    });
    rig.send(Command::Play { deck: 0, on: true });
    rig
}

/// Unit 0 as a single `effect` at `beats`, knobs `params`, fully wet, on.
fn single(rig: &mut Rig, effect: Effect, beats: f32, params: [f32; 3]) {
    rig.send(Command::FxMode {
        unit: 0,
        mode: FxMode::Single,
    });
    rig.send(Command::FxSelect {
        unit: 0,
        slot: 0,
        effect: Some(effect),
    });
    rig.send(Command::FxBeats {
        unit: 0,
        slot: 0,
        beats,
    });
    for (param, &value) in params.iter().enumerate() {
        rig.send(Command::FxParam {
            unit: 0,
            slot: 0,
            param: param as u8,
            value,
        });
    }
    rig.send(Command::FxMix { unit: 0, mix: 1.0 });
    rig.send(Command::FxOn { unit: 0, on: true });
}

fn argmax(x: &[Frame], from: usize, to: usize) -> usize {
    (from..to.min(x.len()))
        .max_by(|&a, &b| x[a][0].abs().total_cmp(&x[b][0].abs()))
        .unwrap()
}

fn energy(x: &[Frame]) -> f64 {
    x.iter()
        .map(|f| (f[0] as f64).powi(2) + (f[1] as f64).powi(2))
        .sum()
}

fn max_step(x: &[Frame]) -> f32 {
    x.windows(2)
        .map(|w| (w[1][0] - w[0][0]).abs().max((w[1][1] - w[0][1]).abs()))
        .fold(0.0, f32::max)
}

#[test]
fn echo_repeats_at_the_beat_fraction_within_one_sample() {
    // (grid BPM, tempo fader %, beats): the delay follows the tempo heard, including the
    // slowest tempo's longest delay (4 beats at 40 BPM = 6 s, the buffer's size).
    for (bpm, tempo, beats) in [
        (120.0, 0.0, 0.25),
        (128.0, 0.0, 1.0 / 16.0),
        (120.0, 5.0, 0.5),
        (40.0, 0.0, 4.0),
    ] {
        let delay = beats as f64 * 60.0 * RATE as f64 / (bpm * (1.0 + tempo / 100.0));
        let at = 12_000;
        let frames = at + (3.5 * delay) as usize + 2_000;
        let mut rig = rig_with(impulse(frames + 48_000, at, 0.5), bpm, 0.0);
        rig.send(Command::Tempo {
            deck: 0,
            percent: tempo as f32,
        });
        single(&mut rig, Effect::Echo, beats, [0.5, 0.5, 0.0]);
        let out = rig.run(frames, 256);
        let dry = argmax(&out, 0, at + 2_000) as f64;
        let mut last = f32::MAX;
        for k in 1..=3 {
            let expect = dry + k as f64 * delay;
            let w = (delay / 2.0).min(1_000.0) as usize;
            let got = argmax(&out, expect as usize - w, expect as usize + w);
            assert!(
                (got as f64 - expect).abs() <= 1.0,
                "{bpm} BPM {tempo:+}% {beats} beats: repeat {k} at {got}, expected {expect:.2}"
            );
            let amp = out[got][0].abs();
            assert!(amp > 0.01 && amp < last, "repeat {k}: {amp} after {last}");
            last = amp;
        }
        assert_eq!(
            rig.parts.handle.status().fx[0].slots[0].effect,
            Some(Effect::Echo)
        );
    }
}

#[test]
fn echo_follows_a_tempo_change_live() {
    // The tempo fader moves +6 % while the echo runs (a glide, no restart); an impulse
    // afterwards repeats at a quarter beat of the new tempo.
    let mut rig = rig_with(impulse(200_000, 90_000, 0.5), 120.0, 0.0);
    single(&mut rig, Effect::Echo, 0.25, [0.5, 0.5, 0.0]);
    rig.send_at(
        12_000,
        Command::Tempo {
            deck: 0,
            percent: 6.0,
        },
    );
    let out = rig.run(120_000, 256);
    let delay = 0.25 * 60.0 * RATE as f64 / (120.0 * 1.06);
    let dry = argmax(&out, 80_000, 100_000) as f64;
    for k in 1..=2 {
        let expect = dry + k as f64 * delay;
        let got = argmax(&out, expect as usize - 1_000, expect as usize + 1_000) as f64;
        assert!(
            (got - expect).abs() <= 1.0,
            "repeat {k} at {got}, expected {expect:.2}"
        );
    }
    assert!((rig.parts.handle.status().fx[0].bpm - 127.2).abs() < 1e-6);
}

#[test]
fn ping_pong_alternates_left_and_right() {
    let at = 12_000;
    let mut rig = rig_with(impulse(96_000, at, 0.5), 120.0, 0.0);
    single(&mut rig, Effect::PingPong, 0.25, [0.6, 0.5, 0.0]);
    let out = rig.run(48_000, 256);
    for k in 1..=4 {
        let t = at + k * 6_000;
        let (l, r) = (out[t][0].abs(), out[t][1].abs());
        if k % 2 == 1 {
            assert!(l > 0.05 && r < 1e-4, "repeat {k}: left {l}, right {r}");
        } else {
            assert!(r > 0.02 && l < 1e-4, "repeat {k}: left {l}, right {r}");
        }
    }
}

#[test]
fn reverb_tail_decays_monotonically_below_minus_60_db() {
    let mut rig = rig_with(burst(10.0, 0.25, 0.02, 0.5), 120.0, 0.0);
    single(&mut rig, Effect::Reverb, 1.0, [0.5, 0.4, 0.0]);
    let out = rig.run(6 * RATE as usize, 256);
    // 100 ms blocks from the end of the burst.
    let start = (0.27 * RATE as f64) as usize;
    let blocks: Vec<f64> = out[start..].chunks(4_800).map(energy).collect();
    let first = blocks[0];
    assert!(first > 1e-4, "the reverb is audible ({first})");
    // A real tail: still there half a second later (−40 dB at most).
    assert!(blocks[5] > first * 1e-4, "{:?}", &blocks[..6]);
    for (k, w) in blocks.windows(2).enumerate() {
        assert!(w[1] <= w[0], "block {}: {} after {}", k + 1, w[1], w[0]);
    }
    let last = *blocks.last().unwrap();
    assert!(
        last <= first * 1e-6,
        "ends at {:.1} dB",
        10.0 * (last / first).log10()
    );
}

#[test]
fn gate_opens_and_closes_on_the_beat_grid() {
    // Grid starts at frame 3000; the gate switches on at an arbitrary frame in between.
    let first = 3_000.0;
    let mut rig = rig_with(sine(RATE, 440.0, 0.5, 6.0), 120.0, first);
    rig.send(Command::FxSelect {
        unit: 0,
        slot: 0,
        effect: Some(Effect::Gate),
    });
    rig.send(Command::FxBeats {
        unit: 0,
        slot: 0,
        beats: 0.5,
    });
    rig.send(Command::FxMix { unit: 0, mix: 1.0 });
    rig.send_at(10_123, Command::FxOn { unit: 0, on: true });
    let out = rig.run(4 * RATE as usize, 256);
    let half = 12_000; // half a beat at 120 BPM
    for k in 2..14 {
        let b = first as usize + k * half;
        let open = rms(&left(&out[b + 600..b + half / 2 - 600]));
        let closed = rms(&left(&out[b + half / 2 + 600..b + half - 600]));
        assert!(open > 0.3, "half-beat {k}: open {open}");
        assert!(closed < 1e-3, "half-beat {k}: closed {closed}");
    }
}

/// RMS in windows of `w` frames.
fn envelope(x: &[Frame], w: usize) -> Vec<f64> {
    x.chunks(w).map(|c| rms(&left(c))).collect()
}

#[test]
fn flanger_phaser_and_bitcrusher_change_the_signal_measurably() {
    let dry = {
        let mut rig = rig_with(sine(RATE, 1_000.0, 0.3, 6.0), 120.0, 0.0);
        rig.run(4 * RATE as usize, 256)
    };
    let spread = |e: &[f64]| {
        let (lo, hi) = e
            .iter()
            .fold((f64::MAX, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        hi / lo.max(1e-9)
    };
    let dry_env = envelope(&dry[RATE as usize..], 960);
    assert!(spread(&dry_env) < 1.05);
    for (effect, params) in [
        (Effect::Flanger, [1.0, 0.5, 0.2]),
        (Effect::Phaser, [1.0, 0.5, 0.3]),
        (Effect::FilterSweep, [1.0, 0.3, 0.0]),
    ] {
        let mut rig = rig_with(sine(RATE, 1_000.0, 0.3, 6.0), 120.0, 0.0);
        single(&mut rig, effect, 2.0, params);
        let out = rig.run(4 * RATE as usize, 256);
        // The sweep moves notches across the tone: its level swings over the LFO cycle.
        let s = spread(&envelope(&out[RATE as usize..], 960));
        assert!(s > 2.0, "{effect:?}: level swings only ×{s:.2}");
    }
    let mut rig = rig_with(sine(RATE, 1_000.0, 0.3, 6.0), 120.0, 0.0);
    single(&mut rig, Effect::Bitcrusher, 1.0, [1.0, 0.0, 0.0]);
    let out = rig.run(2 * RATE as usize, 256);
    let tail = RATE as usize..2 * RATE as usize;
    let err: Vec<f32> = out[tail.clone()]
        .iter()
        .zip(&dry[tail.clone()])
        .map(|(a, b)| a[0] - b[0])
        .collect();
    assert!(rms(&err) > 0.05, "2-bit crushing error {}", rms(&err));
    // Harmonics that the clean tone does not have.
    let h3 = |x: &[Frame]| goertzel(&left(x), RATE, 3_000.0);
    assert!(h3(&out[tail.clone()]) > 100.0 * h3(&dry[tail]).max(1e-12));
}

#[test]
fn roll_repeats_a_beat_quantised_capture() {
    // The track's samples encode their frame: a repeat is recognisable exactly.
    let mut rig = rig_with(ramp(RATE, 60_000, 1e-5), 120.0, 0.0);
    single(&mut rig, Effect::Roll, 0.25, [0.0; 3]);
    // Switched on mid-way through a quarter beat: the capture starts at the next one.
    rig.send(Command::FxOn { unit: 0, on: false });
    rig.send_at(10_000, Command::FxOn { unit: 0, on: true });
    let out = rig.run(40_000, 256);
    // Live until the loop has been captured (12000..18000), then the capture repeats.
    for t in (12_000..18_000).step_by(97) {
        assert!(
            (out[t][0] - (t + 1) as f32 * 1e-5).abs() < 1e-6,
            "live at {t}"
        );
    }
    for t in (18_300..40_000).step_by(89) {
        let src = 12_000 + (t - 18_000) % 6_000;
        if (t - 18_000) % 6_000 < 300 {
            continue; // the seam's crossfade
        }
        let want = (src + 1) as f32 * 1e-5;
        assert!(
            (out[t][0] - want).abs() < 1e-5,
            "{t}: {} vs {want}",
            out[t][0]
        );
    }
}

#[test]
fn echo_and_reverb_ring_out_after_the_unit_is_switched_off() {
    for effect in [Effect::Echo, Effect::Reverb] {
        // A burst at 0.25 s, the unit off at 0.3 s, a second burst at 2 s.
        let mut audio = burst(4.0, 0.25, 0.03, 0.5).mix;
        let second = burst(4.0, 2.0, 0.03, 0.5).mix;
        for (a, b) in audio.iter_mut().zip(second) {
            a[0] += b[0];
            a[1] += b[1];
        }
        let mut rig = rig_with(track(audio), 120.0, 0.0);
        single(&mut rig, effect, 0.5, [0.5, 0.3, 0.0]);
        rig.send_at(
            (0.3 * RATE as f64) as u64,
            Command::FxOn { unit: 0, on: false },
        );
        let out = rig.run(3 * RATE as usize, 256);
        let s =
            |a: f64, b: f64| energy(&out[(a * RATE as f64) as usize..(b * RATE as f64) as usize]);
        let burst_e = s(0.25, 0.28);
        // The tail of the first burst after the unit went off (echo: the repeat at 0.5 s).
        let tail = s(0.45, 0.6);
        assert!(
            tail > burst_e * 1e-3,
            "{effect:?}: tail {tail} vs burst {burst_e}"
        );
        // The input is muted: the second burst has no echo or reverb (what is left of
        // the first tail is far quieter).
        let after = s(2.05, 2.35);
        assert!(
            after < burst_e * 1e-3,
            "{effect:?}: the second burst was processed ({after} vs {burst_e})"
        );
        assert!(!rig.parts.handle.status().fx[0].on);
    }
}

#[test]
fn extreme_parameters_never_produce_nan_or_inf() {
    // A square wave at +12 dB over full scale, every knob at its ends, beats at both ends.
    let loud = track(
        (0..4 * RATE as usize)
            .map(|i| {
                if (i / 60) % 2 == 0 {
                    [4.0, -4.0]
                } else {
                    [-4.0, 4.0]
                }
            })
            .collect(),
    );
    for effect in Effect::ALL {
        for (knob, beats) in [
            (0.0, 1.0 / 16.0),
            (1.0, 32.0),
            (1.0, 1.0 / 16.0),
            (0.0, 4.0),
        ] {
            let mut rig = Rig::new(RATE, 2, 256);
            rig.load(0, loud.clone());
            rig.grid(
                0,
                Beatgrid::constant(300.0, 0.0, RATE, loud.frames()).unwrap(),
            );
            rig.send(Command::Play { deck: 0, on: true });
            // Both units on the master, in series, the same effect.
            for unit in 0..2 {
                rig.send(Command::FxAssignMaster { unit, on: true });
                rig.send(Command::FxMode {
                    unit,
                    mode: FxMode::Chain,
                });
                for slot in 0..3 {
                    rig.send(Command::FxSelect {
                        unit,
                        slot,
                        effect: Some(effect),
                    });
                    rig.send(Command::FxBeats { unit, slot, beats });
                    for param in 0..3 {
                        rig.send(Command::FxParam {
                            unit,
                            slot,
                            param,
                            value: knob,
                        });
                    }
                }
                rig.send(Command::FxMix { unit, mix: 1.0 });
                rig.send(Command::FxOn { unit, on: true });
            }
            let out = rig.run(2 * RATE as usize, 256);
            assert!(
                out.iter()
                    .flatten()
                    .all(|s| s.is_finite() && s.abs() <= 1.0),
                "{effect:?} knobs {knob}"
            );
            // A NaN inside would be scrubbed to silence by the limiter: the signal must go on.
            let last = rms(&left(&out[RATE as usize..]));
            assert!(
                last > 0.01,
                "{effect:?} knobs {knob} beats {beats}: silent ({last})"
            );
        }
    }
}

/// xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn value(&mut self) -> f32 {
        match self.below(10) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => -1e9,
            3 => 1e9,
            _ => (self.below(1201) as f32 - 100.0) / 1000.0,
        }
    }
}

fn random_fx_command(r: &mut Rng) -> Command {
    // Units, slots, knobs and decks include ones that do not exist.
    let unit = r.below(3) as u8;
    let slot = r.below(4) as u8;
    let on = r.below(3) > 0;
    match r.below(12) {
        0 | 1 => Command::FxOn { unit, on },
        2 => Command::FxMode {
            unit,
            mode: if on { FxMode::Chain } else { FxMode::Single },
        },
        3 | 4 => Command::FxSelect {
            unit,
            slot,
            effect: (r.below(10) > 0).then(|| Effect::ALL[r.below(9) as usize]),
        },
        5 => Command::FxSlotOn { unit, slot, on },
        6 => Command::FxMix {
            unit,
            mix: r.value(),
        },
        7 => Command::FxParam {
            unit,
            slot,
            param: r.below(4) as u8,
            value: r.value(),
        },
        8 => Command::FxBeats {
            unit,
            slot,
            beats: r.value() * 40.0,
        },
        9 => Command::FxAssign {
            unit,
            deck: r.below(6) as u8,
            on,
        },
        10 => Command::FxAssignMaster { unit, on },
        _ => match r.below(3) {
            0 => Command::Tempo {
                deck: r.below(4) as u8,
                percent: r.value() * 10.0,
            },
            1 => Command::Sync {
                deck: r.below(4) as u8,
                on,
            },
            _ => Command::Play {
                deck: r.below(4) as u8,
                on: true,
            },
        },
    }
}

#[test]
fn a_storm_of_random_fx_commands_never_allocates_or_breaks_the_output() {
    let mut rig = Rig::new(RATE, 4, 512);
    let loud = sine(RATE, 110.0, 2.0, 8.0);
    let frames = loud.frames();
    for d in 0..4u8 {
        rig.load(d, loud.clone());
        rig.grid(
            d,
            Beatgrid::constant(100.0 + 10.0 * d as f64, 0.0, RATE, frames).unwrap(),
        );
        rig.send(Command::Play { deck: d, on: true });
        rig.send(Command::SetLoop {
            deck: d,
            start: Position::Seconds(0.5),
            end: Position::Seconds(7.5),
        });
    }
    let mut r = Rng(0xF00D_5EED_0000_0016);
    let mut sent = 0u32;
    let mut frame = 0u64;
    let mut loud_blocks = 0;
    while sent < 40_000 {
        for _ in 0..r.below(100) + 1 {
            let command = random_fx_command(&mut r);
            let at = match r.below(3) {
                0 => None,
                1 => Some(frame + r.below(512)),
                _ => Some(frame + r.below(50_000)),
            };
            if rig
                .parts
                .handle
                .send_timed(TimedCommand { at, command })
                .is_ok()
            {
                sent += 1;
            }
        }
        let n = [1, 16, 100, 256, 512, 1024][r.below(6) as usize];
        let (m, _) = rig.block(n);
        assert!(m.iter().flatten().all(|s| s.is_finite() && s.abs() <= 1.0));
        if rms(&left(&m)) > 0.05 {
            loud_blocks += 1;
        }
        frame += n as u64;
    }
    let st = rig.parts.handle.status();
    assert!(
        st.commands_rejected > 1_000,
        "unit 2, slot 3 and knob 3 are rejected"
    );
    assert!(st.commands_applied > 20_000);
    assert!(loud_blocks > 100, "the storm silenced the engine");
}

#[test]
fn choosing_effects_and_changing_the_chain_never_allocates() {
    let mut rig = Rig::new(RATE, 2, 256);
    rig.load(0, sine(RATE, 220.0, 0.3, 10.0));
    rig.send(Command::Play { deck: 0, on: true });
    rig.send(Command::FxAssign {
        unit: 1,
        deck: 0,
        on: true,
    });
    rig.send(Command::FxOn { unit: 1, on: true });
    rig.send(Command::FxMix { unit: 1, mix: 1.0 });
    for mode in [FxMode::Single, FxMode::Chain] {
        rig.send(Command::FxMode { unit: 1, mode });
        for slot in 0..3 {
            for effect in Effect::ALL {
                rig.send(Command::FxSelect {
                    unit: 1,
                    slot,
                    effect: Some(effect),
                });
                // `block` runs process under assert_no_alloc.
                rig.block(256);
                let st = rig.parts.handle.status().fx[1];
                assert_eq!(st.slots[slot as usize].effect, Some(effect));
                assert_eq!(st.mode, mode);
            }
        }
    }
}

#[test]
fn switching_on_and_off_does_not_click() {
    // A quiet low sine: its own largest step is 2π·110/48000·0.25 ≈ 0.0036.
    let dry_step = (std::f64::consts::TAU * 110.0 / RATE as f64 * 0.25) as f32;
    for effect in Effect::ALL {
        if effect == Effect::Bitcrusher {
            continue; // its output is steps by design
        }
        let mut rig = rig_with(sine(RATE, 110.0, 0.25, 8.0), 120.0, 0.0);
        single(&mut rig, effect, 1.0, effect.defaults().1);
        rig.send(Command::FxOn { unit: 0, on: false });
        let toggles = [10_111u64, 40_333, 70_555, 100_777, 130_999, 160_001];
        for (k, &t) in toggles.iter().enumerate() {
            rig.send_at(
                t,
                Command::FxOn {
                    unit: 0,
                    on: k % 2 == 0,
                },
            );
        }
        // A dry/wet jump and an assignment change are ramped too.
        rig.send_at(200_000, Command::FxOn { unit: 0, on: true });
        // Another effect and back while on: the two crossfade.
        let other = if effect == Effect::Phaser {
            Effect::Flanger
        } else {
            Effect::Phaser
        };
        for (t, e) in [(212_000, other), (221_000, effect)] {
            rig.send_at(
                t,
                Command::FxSelect {
                    unit: 0,
                    slot: 0,
                    effect: Some(e),
                },
            );
        }
        rig.send_at(230_000, Command::FxMix { unit: 0, mix: 0.0 });
        rig.send_at(250_000, Command::FxMix { unit: 0, mix: 1.0 });
        rig.send_at(
            280_000,
            Command::FxAssign {
                unit: 0,
                deck: 0,
                on: false,
            },
        );
        let out = rig.run(300_000, 256);
        let worst = max_step(&out[2_000..]);

        assert!(
            worst < 6.0 * dry_step,
            "{effect:?}: step {worst} (the tone's own: {dry_step})"
        );
    }
}

#[test]
fn status_reports_each_unit_and_its_clock() {
    let mut rig = rig_with(sine(RATE, 220.0, 0.3, 4.0), 125.0, 0.0);
    rig.send(Command::Tempo {
        deck: 0,
        percent: 4.0,
    });
    rig.send(Command::FxMode {
        unit: 0,
        mode: FxMode::Chain,
    });
    rig.send(Command::FxSelect {
        unit: 0,
        slot: 2,
        effect: Some(Effect::Roll),
    });
    rig.send(Command::FxSlotOn {
        unit: 0,
        slot: 1,
        on: false,
    });
    rig.send(Command::FxMix { unit: 0, mix: 0.7 });
    rig.send(Command::FxOn { unit: 0, on: true });
    rig.send(Command::FxAssignMaster { unit: 1, on: true });
    rig.run(4_800, 256);
    let st = rig.parts.handle.status();
    let u = st.fx[0];
    assert!(u.on && !u.master && u.decks[0] && !u.decks[1]);
    assert_eq!(u.mode, FxMode::Chain);
    assert_eq!(u.mix, 0.7);
    assert_eq!(u.slots[2].effect, Some(Effect::Roll));
    assert_eq!(u.slots[2].beats, Effect::Roll.defaults().0);
    assert!(!u.slots[1].on && u.slots[0].on);
    assert!(u.slots[0].active);
    assert!((u.bpm - 130.0).abs() < 1e-6, "{}", u.bpm);
    assert!(st.fx[1].master && !st.fx[1].on);
    // On the master, unit 2 follows the sync leader (deck 1, the only one playing).
    assert_eq!(st.sync_leader, Some(0));
    assert!((st.fx[1].bpm - 130.0).abs() < 1e-6, "{}", st.fx[1].bpm);
    assert!(!st.fx[1].slots[0].active);
    // A unit or slot that does not exist is rejected, not applied.
    let before = st.commands_rejected;
    rig.send(Command::FxOn { unit: 2, on: true });
    rig.send(Command::FxBeats {
        unit: 0,
        slot: 3,
        beats: 1.0,
    });
    rig.run(256, 256);
    assert_eq!(rig.parts.handle.status().commands_rejected, before + 2);
}

#[test]
fn only_the_assigned_decks_go_through_a_unit() {
    // Deck 1: 480 Hz through a full-depth gate on unit 1; deck 2: 750 Hz, not assigned.
    let mut rig = Rig::new(RATE, 2, 256);
    for (d, f) in [(0u8, 480.0), (1, 750.0)] {
        let s = sine(RATE, f, 0.3, 4.0);
        let frames = s.frames();
        rig.load(d, s);
        rig.grid(d, Beatgrid::constant(120.0, 0.0, RATE, frames).unwrap());
        rig.send(Command::Play { deck: d, on: true });
    }
    rig.send(Command::FxAssign {
        unit: 0,
        deck: 0,
        on: true,
    });
    rig.send(Command::FxSelect {
        unit: 0,
        slot: 0,
        effect: Some(Effect::Gate),
    });
    rig.send(Command::FxBeats {
        unit: 0,
        slot: 0,
        beats: 1.0,
    });
    rig.send(Command::FxMix { unit: 0, mix: 1.0 });
    rig.send(Command::FxOn { unit: 0, on: true });
    let out = rig.run(2 * RATE as usize, 256);
    // Windows of whole periods of both tones (no leakage between them).
    // Beat 2 (frames 24000..48000): open for the first half, closed for the second.
    let (open, closed) = (&out[25_000..34_600], &out[37_000..46_600]);
    let tone = |x: &[Frame], f: f64| goertzel(&left(x), RATE, f).sqrt();
    assert!(tone(open, 480.0) > 0.1);
    assert!(tone(closed, 480.0) < 1e-3 * tone(open, 480.0));
    assert!(
        tone(closed, 750.0) > 0.9 * tone(open, 750.0),
        "deck 2 is not gated"
    );
    // Assigned to the master instead, the unit gates both.
    rig.send(Command::FxAssignMaster { unit: 0, on: true });
    let out = rig.run(2 * RATE as usize, 256);
    // Beats 5 and 6 of the grid (frames 120000..168000) are 24000..72000 into this run.
    let (open, closed) = (&out[25_000..34_600], &out[37_000..46_600]);
    for f in [480.0, 750.0] {
        assert!(
            tone(closed, f) < 1e-3 * tone(open, f),
            "{f} Hz on the master"
        );
    }
}
