//! Channel strip and mixer: EQ kills, filter, stems, faders, crossfader curves, PFL and the
//! limiter.

mod common;

use assert_no_alloc::AllocDisabler;
use common::*;
use segue_engine::*;

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

const RATE: u32 = 48_000;

/// Three tones at once: 50 Hz (low band), 800 Hz (mid), 10 kHz (high).
fn three_tones() -> TrackAudio {
    let n = RATE as usize * 3;
    let mix = (0..n)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            let s = [50.0, 800.0, 10_000.0]
                .iter()
                .map(|f| (std::f64::consts::TAU * f * t).sin() * 0.2)
                .sum::<f64>() as f32;
            [s, s]
        })
        .collect();
    TrackAudio::new(RATE, mix)
}

fn db(p: f64, reference: f64) -> f64 {
    10.0 * (p / reference).log10()
}

fn render_with(cmds: &[Command]) -> Vec<f32> {
    let mut rig = Rig::new(RATE, 1, 512);
    rig.load(0, three_tones());
    for c in cmds {
        rig.send(c.clone());
    }
    rig.send(Command::Play { deck: 0, on: true });
    let out = rig.run(RATE as usize * 2, 512);
    left(&out[RATE as usize..])
}

#[test]
fn eq_kill_attenuates_its_band_by_at_least_40_db() {
    let flat = render_with(&[]);
    let freqs = [50.0, 800.0, 10_000.0];
    for (b, band) in [EqBand::Low, EqBand::Mid, EqBand::High]
        .into_iter()
        .enumerate()
    {
        let killed = render_with(&[Command::Eq {
            deck: 0,
            band,
            gain: 0.0,
        }]);
        for (k, &f) in freqs.iter().enumerate() {
            let change = db(goertzel(&killed, RATE, f), goertzel(&flat, RATE, f));
            if k == b {
                assert!(
                    change <= -40.0,
                    "{band:?} kill: {f} Hz only {change:.1} dB down"
                );
            } else {
                assert!(
                    change.abs() < 1.0,
                    "{band:?} kill changed {f} Hz by {change:.1} dB"
                );
            }
        }
    }
}

#[test]
fn eq_boost_is_six_db_at_most() {
    let flat = render_with(&[]);
    let boosted = render_with(&[Command::Eq {
        deck: 0,
        band: EqBand::Mid,
        gain: 100.0,
    }]);
    let change = db(
        goertzel(&boosted, RATE, 800.0),
        goertzel(&flat, RATE, 800.0),
    );
    assert!((change - 6.02).abs() < 0.5, "boost {change:.2} dB");
}

#[test]
fn filter_knob_low_passes_left_and_high_passes_right() {
    let flat = render_with(&[]);
    let lp = render_with(&[Command::Filter {
        deck: 0,
        amount: -0.8,
    }]);
    let hp = render_with(&[Command::Filter {
        deck: 0,
        amount: 0.8,
    }]);
    assert!(
        db(
            goertzel(&lp, RATE, 10_000.0),
            goertzel(&flat, RATE, 10_000.0)
        ) < -30.0
    );
    assert!(db(goertzel(&lp, RATE, 50.0), goertzel(&flat, RATE, 50.0)).abs() < 1.5);
    assert!(db(goertzel(&hp, RATE, 50.0), goertzel(&flat, RATE, 50.0)) < -30.0);
    assert!(
        db(
            goertzel(&hp, RATE, 10_000.0),
            goertzel(&flat, RATE, 10_000.0)
        )
        .abs()
            < 1.5
    );
}

#[test]
fn stem_mute_removes_only_that_stem() {
    let n = RATE as usize * 2;
    let tone = |f: f64| -> Vec<Frame> {
        (0..n)
            .map(|i| {
                let s = ((std::f64::consts::TAU * f * i as f64 / RATE as f64).sin() * 0.1) as f32;
                [s, s]
            })
            .collect()
    };
    let stems = [tone(100.0), tone(300.0), tone(1000.0), tone(3000.0)];
    let mix = (0..n)
        .map(|i| {
            let s: f32 = stems.iter().map(|st| st[i][0]).sum();
            [s, s]
        })
        .collect();
    let track = TrackAudio::new(RATE, mix).with_stems(stems).unwrap();
    let mut rig = Rig::new(RATE, 1, 512);
    rig.load(0, track);
    rig.send(Command::StemMute {
        deck: 0,
        stem: Stem::Drums,
        muted: true,
    });
    rig.send(Command::StemGain {
        deck: 0,
        stem: Stem::Vocals,
        gain: 0.5,
    });
    rig.send(Command::Play { deck: 0, on: true });
    let out = left(&rig.run(n - 1000, 512)[RATE as usize / 2..]);
    let p = |f| goertzel(&out, RATE, f);
    let full = goertzel(&left(&tone(300.0)[..out.len()]), RATE, 300.0);
    assert!(
        db(p(100.0), full) < -60.0,
        "muted drums still at {:.1} dB",
        db(p(100.0), full)
    );
    assert!(db(p(300.0), full).abs() < 0.2);
    assert!((db(p(3000.0), full) + 6.02).abs() < 0.3);
    assert!(rig.parts.handle.status().decks[0].has_stems);
}

/// Deck 0 plays 0.25 on the left only, deck 1 plays 0.25 on the right only.
fn crossfade(position: f32, curve: f32) -> (f32, f32) {
    let mut rig = Rig::new(RATE, 2, 512);
    rig.load(0, TrackAudio::new(RATE, vec![[0.25, 0.0]; RATE as usize]));
    rig.load(1, TrackAudio::new(RATE, vec![[0.0, 0.25]; RATE as usize]));
    rig.send(Command::CrossfaderAssign {
        deck: 0,
        side: CrossfaderSide::A,
    });
    rig.send(Command::CrossfaderAssign {
        deck: 1,
        side: CrossfaderSide::B,
    });
    rig.send(Command::Crossfader { position });
    rig.send(Command::CrossfaderCurve { curve });
    rig.send(Command::Play { deck: 0, on: true });
    rig.send(Command::Play { deck: 1, on: true });
    let out = rig.run(4096, 512);
    (out[4000][0] / 0.25, out[4000][1] / 0.25)
}

#[test]
fn crossfader_curves_at_their_endpoints_and_centre() {
    for curve in [0.0, 0.5, 1.0] {
        assert_eq!(crossfade(-1.0, curve), (1.0, 0.0), "curve {curve} at A");
        assert_eq!(crossfade(1.0, curve), (0.0, 1.0), "curve {curve} at B");
    }
    let (a, b) = crossfade(0.0, 0.0);
    assert!(
        (a - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3
            && (b - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3,
        "smooth centre {a} {b}"
    );
    assert_eq!(
        crossfade(0.0, 1.0),
        (1.0, 1.0),
        "sharp curve: both full in the centre"
    );
    // Constant power along the smooth curve.
    for x in [-0.8f32, -0.3, 0.4, 0.9] {
        let (a, b) = crossfade(x, 0.0);
        assert!(
            (a * a + b * b - 1.0).abs() < 1e-3,
            "power at {x}: {}",
            a * a + b * b
        );
    }
}

#[test]
fn limiter_keeps_a_plus_12_db_input_inside_full_scale() {
    let mut rig = Rig::new(RATE, 2, 512);
    rig.load(0, sine(RATE, 100.0, 3.98, 2.0));
    rig.load(1, sine(RATE, 1234.0, 3.98, 2.0));
    rig.send(Command::Play { deck: 0, on: true });
    rig.send(Command::Play { deck: 1, on: true });
    rig.send(Command::MasterGain { gain: 2.0 });
    let out = rig.run(RATE as usize * 2 - 100, 333);
    let peak = out
        .iter()
        .flat_map(|f| f.iter())
        .fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak <= 1.0, "peak {peak}");
    assert!(peak > 0.85, "the limiter must not just mute ({peak})");
    assert!(rig.parts.handle.status().limiter_reduction_db < -12.0);
}

#[test]
fn pfl_sends_a_deck_to_the_cue_bus_and_cue_mix_blends_master() {
    let mut rig = Rig::new(RATE, 2, 512);
    rig.load(0, TrackAudio::new(RATE, vec![[0.25, 0.25]; RATE as usize]));
    rig.load(
        1,
        TrackAudio::new(RATE, vec![[0.125, 0.125]; RATE as usize]),
    );
    rig.send(Command::Volume {
        deck: 1,
        level: 0.0,
    });
    rig.send(Command::Pfl { deck: 1, on: true });
    rig.send(Command::Play { deck: 0, on: true });
    rig.send(Command::Play { deck: 1, on: true });
    let (m, c) = rig.run_both(4096, 512);
    assert_eq!(m[4000][0], 0.25, "deck 1's fader is down");
    assert_eq!(c[4000][0], 0.125, "cue bus hears deck 1 pre-fader");
    rig.send(Command::CueMix { mix: 1.0 });
    let (m, c) = rig.run_both(4096, 512);
    assert_eq!(c[4000][0], m[4000][0], "cue mix 1 = master");
}

#[test]
fn fader_moves_are_smoothed() {
    let mut rig = Rig::new(RATE, 1, 512);
    rig.load(0, TrackAudio::new(RATE, vec![[0.5, 0.5]; RATE as usize]));
    rig.send(Command::Play { deck: 0, on: true });
    rig.send_at(
        2000,
        Command::Volume {
            deck: 0,
            level: 0.0,
        },
    );
    rig.send_at(3000, Command::Trim { deck: 0, db: -20.0 });
    rig.send_at(
        3000,
        Command::Volume {
            deck: 0,
            level: 1.0,
        },
    );
    rig.send_at(
        5000,
        Command::Eq {
            deck: 0,
            band: EqBand::Low,
            gain: 0.0,
        },
    );
    let out = rig.run(10_000, 512);
    let max_step = out
        .windows(2)
        .map(|w| (w[1][0] - w[0][0]).abs())
        .fold(0.0, f32::max);
    assert!(max_step < 0.01, "largest sample step {max_step}");
}

#[test]
fn on_air_is_the_loudest_playing_deck() {
    let mut rig = Rig::new(RATE, 2, 512);
    rig.load(0, TrackAudio::new(RATE, vec![[0.1, 0.1]; RATE as usize]));
    rig.load(1, TrackAudio::new(RATE, vec![[0.1, 0.1]; RATE as usize]));
    rig.send(Command::CrossfaderAssign {
        deck: 0,
        side: CrossfaderSide::A,
    });
    rig.send(Command::CrossfaderAssign {
        deck: 1,
        side: CrossfaderSide::B,
    });
    rig.send(Command::Crossfader { position: 0.6 });
    rig.send(Command::Play { deck: 0, on: true });
    rig.send(Command::Play { deck: 1, on: true });
    rig.run(2048, 512);
    assert_eq!(rig.parts.handle.status().on_air, Some(1));
    rig.send(Command::Crossfader { position: -0.6 });
    rig.run(2048, 512);
    assert_eq!(rig.parts.handle.status().on_air, Some(0));
}

/// Render two decks (deck 1: 440 Hz, deck 2: 1 kHz) for `frames` with per-deck outputs
/// tapped at `tap` (three deck buffers: the third has no deck); returns master and the
/// three deck outputs (left channel).
fn render_deck_outs(tap: DeckTap, setup: &[Command], frames: usize) -> (Vec<f32>, [Vec<f32>; 3]) {
    let mut rig = Rig::new(RATE, 2, 512);
    rig.load(0, sine(RATE, 440.0, 0.25, 2.0));
    rig.load(1, sine(RATE, 1000.0, 0.25, 2.0));
    for c in setup {
        rig.send(c.clone());
    }
    rig.send(Command::Play { deck: 0, on: true });
    rig.send(Command::Play { deck: 1, on: true });
    let mut bufs: Vec<Vec<f32>> = (0..10).map(|_| vec![f32::NAN; 256]).collect();
    let mut master = Vec::new();
    let mut decks: [Vec<f32>; 3] = Default::default();
    for _ in 0..frames / 256 {
        let [ml, mr, cl, cr, d0l, d0r, d1l, d1r, d2l, d2r] = &mut bufs[..] else {
            unreachable!()
        };
        let engine = &mut rig.parts.engine;
        rt(|| {
            let mut out = Outputs {
                master: [&mut ml[..], &mut mr[..]],
                cue: [&mut cl[..], &mut cr[..]],
            };
            let mut outs = [
                [&mut d0l[..], &mut d0r[..]],
                [&mut d1l[..], &mut d1r[..]],
                [&mut d2l[..], &mut d2r[..]],
            ];
            engine.process_with_decks(&mut out, &mut outs, tap, 256);
        });
        rig.parts.collector.collect();
        master.extend_from_slice(&bufs[0]);
        for (k, d) in decks.iter_mut().enumerate() {
            d.extend_from_slice(&bufs[4 + 2 * k]);
        }
    }
    (master, decks)
}

#[test]
fn per_deck_outputs_carry_each_deck_pre_or_post_fader() {
    let n = RATE as usize;
    let quiet = [Command::Volume {
        deck: 1,
        level: 0.0,
    }];
    // Pre-fader: deck 2's output carries its tone although its fader is down; each deck
    // output holds only its own deck.
    let (master, [d0, d1, d2]) = render_deck_outs(DeckTap::PreFader, &quiet, n);
    let tail = n / 2..;
    assert!(goertzel(&d1[tail.clone()], RATE, 1000.0) > 0.01);
    assert!(goertzel(&d1[tail.clone()], RATE, 440.0) < 1e-6);
    assert!(goertzel(&d0[tail.clone()], RATE, 440.0) > 0.01);
    assert!(goertzel(&d0[tail.clone()], RATE, 1000.0) < 1e-6);
    assert!(goertzel(&master[tail.clone()], RATE, 1000.0) < 1e-6);
    // A buffer beyond the deck count is silence, never left as it was (NaN here).
    assert!(d2.iter().all(|&v| v == 0.0));

    // Post-fader: the deck outputs sum to the master bus (limiter idle at this level).
    let (master, [d0, d1, _]) = render_deck_outs(DeckTap::PostFader, &quiet, n);
    assert!(
        d1[tail.clone()].iter().all(|&v| v == 0.0),
        "fader down: silent"
    );
    let worst = master
        .iter()
        .zip(d0.iter().zip(&d1))
        .map(|(m, (a, b))| (m - (a + b)).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-6,
        "post-fader outputs differ from master by {worst}"
    );
}
