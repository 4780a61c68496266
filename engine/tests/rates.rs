//! The engine at host rates other than the usual four: 22 050, 45 679 (a host's 45 678.9
//! rounded), 192 000 and 384 000 Hz. Tempo and beat position, key lock, EQ crossovers, the
//! one-knob filter, the limiter's ceiling and release, and the beat-synced echo must all
//! behave as they do at 48 kHz: every corner frequency and time constant is in Hz and
//! seconds. Every block runs under `assert_no_alloc`.

mod common;

use assert_no_alloc::AllocDisabler;
use common::*;
use segue_engine::*;

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

const RATES: [u32; 4] = [22_050, 45_679, 192_000, 384_000];

fn db(p: f64, reference: f64) -> f64 {
    10.0 * (p / reference).log10()
}

#[test]
fn the_engine_accepts_22_05_to_384_khz_and_refuses_the_rest() {
    for rate in [
        22_050, 32_000, 44_101, 45_679, 176_400, 192_000, 352_800, 384_000,
    ] {
        assert!(
            Engine::new(EngineConfig {
                sample_rate: rate,
                ..EngineConfig::default()
            })
            .is_ok(),
            "{rate} Hz refused"
        );
    }
    for rate in [0, 8_000, 22_049, 384_001, 768_000] {
        let e = Engine::new(EngineConfig {
            sample_rate: rate,
            ..EngineConfig::default()
        })
        .err()
        .unwrap_or_else(|| panic!("{rate} Hz accepted"));
        assert_eq!(e, ConfigError::SampleRate(rate));
        assert!(e.to_string().contains("22050 to 384000 Hz"), "{e}");
    }
}

/// Clicks at 120 BPM with a grid, tempo fader +6 %: the heard BPM, the beat position and
/// the clicks in the output are where they must be at every rate.
#[test]
fn tempo_and_beat_position_are_exact_at_odd_rates() {
    for rate in RATES {
        let r = rate as f64;
        let first = 0.1 * r;
        let track = clicks(rate, 120.0, first, 6.0, 2);
        let frames = track.frames();
        let mut rig = Rig::new(rate, 1, 1024);
        rig.load(0, track);
        rig.grid(0, Beatgrid::constant(120.0, first, rate, frames).unwrap());
        rig.send(Command::Tempo {
            deck: 0,
            percent: 6.0,
        });
        rig.send(Command::Play { deck: 0, on: true });
        let n = (3.0 * r) as usize;
        let out = rig.run(n, 1000);
        let st = rig.parts.handle.status().decks[0];
        assert!((st.bpm - 127.2).abs() < 1e-9, "{rate} Hz: {} BPM", st.bpm);
        let pos = n as f64 * 1.06;
        assert!(
            (st.position - pos).abs() < 1.0,
            "{rate} Hz: at frame {} of the track, expected {pos}",
            st.position
        );
        let beat = (pos - first) / (0.5 * r);
        assert!(
            (st.beat - beat).abs() < 1e-4,
            "{rate} Hz: beat {} expected {beat}",
            st.beat
        );
        // The clicks heard: one every 60 / 127.2 s, the first at 0.1 s / 1.06.
        let period = 60.0 * r / 127.2;
        let got = onsets(&out, 0, 0.05, (0.1 * r) as usize);
        assert!(got.len() >= 6, "{rate} Hz: {} clicks", got.len());
        for (k, &at) in got.iter().enumerate() {
            let want = first / 1.06 + k as f64 * period;
            // A couple of frames for the click's rise at the onset threshold, more at the
            // highest rates (10 µs).
            assert!(
                (at as f64 - want).abs() <= 2.0 + 2e-5 * r,
                "{rate} Hz: click {k} at {at}, expected {want:.1}"
            );
        }
    }
}

/// Key lock at +8 %: a 440 Hz tone stays at 440 Hz (the stretcher runs at the engine
/// rate); without key lock it rises to 475.2 Hz.
#[test]
fn key_lock_keeps_the_pitch_at_odd_rates() {
    for rate in RATES {
        let tone = |key_lock: bool| {
            let mut rig = Rig::new(rate, 1, 512);
            rig.load(0, sine(rate, 440.0, 0.3, 4.0));
            rig.send(Command::Tempo {
                deck: 0,
                percent: 8.0,
            });
            rig.send(Command::KeyLock {
                deck: 0,
                on: key_lock,
            });
            rig.send(Command::Play { deck: 0, on: true });
            let out = rig.run((2.0 * rate as f64) as usize, 512);
            assert_eq!(rig.parts.handle.status().decks[0].stretching, key_lock);
            left(&out[rate as usize..])
        };
        let locked = tone(true);
        let free = tone(false);
        let (at, up) = (440.0, 475.2);
        assert!(
            goertzel(&locked, rate, at) > 100.0 * goertzel(&locked, rate, up),
            "{rate} Hz: key lock lost the pitch"
        );
        assert!(
            goertzel(&free, rate, up) > 100.0 * goertzel(&free, rate, at),
            "{rate} Hz: without key lock the pitch must follow the tempo"
        );
        assert!(rms(&locked) > 0.1, "{rate} Hz: key lock is too quiet");
    }
}

/// A single tone through one deck, the given commands applied first; the second second.
fn tone_through(rate: u32, freq: f64, cmds: &[Command]) -> Vec<f32> {
    let mut rig = Rig::new(rate, 1, 512);
    rig.load(0, sine(rate, freq, 0.2, 2.5));
    for c in cmds {
        rig.send(c.clone());
    }
    rig.send(Command::Play { deck: 0, on: true });
    let out = rig.run(2 * rate as usize, 512);
    left(&out[rate as usize..])
}

/// Gain (dB) the commands give a tone of `freq` at `rate`.
fn response(rate: u32, freq: f64, cmds: &[Command]) -> f64 {
    let flat = tone_through(rate, freq, &[]);
    let got = tone_through(rate, freq, cmds);
    db(goertzel(&got, rate, freq), goertzel(&flat, rate, freq))
}

/// The isolator's Linkwitz–Riley crossovers sit at 250 Hz and 2.5 kHz at every rate: a
/// killed band leaves the crossover frequency 6 dB down (LR: each side is −6 dB there),
/// its own band at least 40 dB down and the others flat.
#[test]
fn eq_crossovers_stay_at_250_hz_and_2_5_khz_at_odd_rates() {
    let kill = |band| Command::Eq {
        deck: 0,
        band,
        gain: 0.0,
    };
    for rate in RATES {
        let low = [kill(EqBand::Low)];
        let high = [kill(EqBand::High)];
        let at_low = response(rate, 250.0, &low);
        assert!(
            (at_low + 6.02).abs() < 0.5,
            "{rate} Hz: low kill at 250 Hz {at_low:.2} dB"
        );
        let at_high = response(rate, 2_500.0, &high);
        assert!(
            (at_high + 6.02).abs() < 0.5,
            "{rate} Hz: high kill at 2.5 kHz {at_high:.2} dB"
        );
        let deep = response(rate, 60.0, &low);
        assert!(deep < -40.0, "{rate} Hz: low kill at 60 Hz {deep:.1} dB");
        let deep = response(rate, 8_000.0, &high);
        assert!(deep < -40.0, "{rate} Hz: high kill at 8 kHz {deep:.1} dB");
        let kept = response(rate, 800.0, &low);
        assert!(
            kept.abs() < 0.5,
            "{rate} Hz: low kill at 800 Hz {kept:.2} dB"
        );
    }
}

/// The one-knob filter's response is the same at every rate as at 48 kHz (its cutoff is in
/// Hz, its coefficients prewarped): within 0.75 dB at a knob position each way, measured
/// on both sides of the cutoff (below a tenth of 22 050 Hz, where the bilinear transform's
/// squeeze towards Nyquist is still small).
#[test]
fn filter_knob_corner_matches_48_khz_at_odd_rates() {
    let cases = [
        (-0.5, [250.0, 1_000.0, 2_000.0]),
        (0.5, [50.0, 200.0, 800.0]),
    ];
    for (amount, freqs) in cases {
        let cmd = [Command::Filter { deck: 0, amount }];
        let reference: Vec<f64> = freqs.iter().map(|&f| response(48_000, f, &cmd)).collect();
        // The reference itself is a filter with its corner between the outer frequencies.
        assert!(
            reference[0].abs() < 1.5 || reference[2].abs() < 1.5,
            "{reference:?}"
        );
        assert!(reference[0] < -8.0 || reference[2] < -8.0, "{reference:?}");
        for rate in RATES {
            for (&f, &want) in freqs.iter().zip(&reference) {
                let got = response(rate, f, &cmd);
                assert!(
                    (got - want).abs() < 0.75,
                    "{rate} Hz: filter {amount} at {f} Hz {got:.2} dB, at 48 kHz {want:.2} dB"
                );
            }
        }
    }
}

/// +12 dB into the master: the output never passes the −1 dBFS ceiling, and the limiter's
/// release is 80 ms in time at every rate (the gain recovers by 1 − e⁻¹ of the way in
/// 80 ms once the level drops).
#[test]
fn limiter_ceiling_and_release_time_hold_at_odd_rates() {
    for rate in RATES {
        let r = rate as f64;
        // One second of a constant +12 dB level, then one second at −20 dB.
        let loud = (0..rate as usize).map(|_| [3.98f32; 2]);
        let quiet = (0..rate as usize).map(|_| [0.1f32; 2]);
        let audio = TrackAudio::new(rate, loud.chain(quiet).collect());
        let mut rig = Rig::new(rate, 1, 512);
        rig.load(0, audio);
        rig.send(Command::Play { deck: 0, on: true });
        let out = rig.run(rate as usize, 500);
        let peak = out
            .iter()
            .flat_map(|f| f.iter())
            .fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(
            peak <= segue_engine_ceiling() + 1e-6,
            "{rate} Hz: peak {peak}"
        );
        assert!(
            peak > 0.88,
            "{rate} Hz: the limiter must not just mute ({peak})"
        );
        let held = rig.parts.handle.status().limiter_reduction_db;
        let g0 = 10f64.powf(held as f64 / 20.0);
        assert!(
            (g0 - 0.891_25 / 3.98).abs() < 0.01,
            "{rate} Hz: gain {g0} while loud"
        );
        // 80 ms after the drop (the deck plays from frame 0: the drop is at frame `rate`).
        let tau = (0.08 * r).round() as usize;
        rig.run(tau, 500);
        let g = 10f64.powf(rig.parts.handle.status().limiter_reduction_db as f64 / 20.0);
        let want = 1.0 - (1.0 - g0) * (-1.0f64).exp();
        assert!(
            (g - want).abs() < 0.01,
            "{rate} Hz: gain {g:.4} 80 ms after the drop, expected {want:.4}"
        );
    }
}

/// −1 dBFS, the limiter's documented ceiling.
fn segue_engine_ceiling() -> f32 {
    10f32.powf(-1.0 / 20.0)
}

/// The beat-synced echo repeats exactly one beat later (the delay line is sized for the
/// rate), and every effect of the rack gives clean output at every rate.
#[test]
fn echo_time_and_every_effect_at_odd_rates() {
    for rate in RATES {
        let r = rate as f64;
        let at = (0.25 * r) as usize;
        let mut mix = vec![[0.0f32; 2]; 3 * rate as usize];
        mix[at] = [0.5, 0.5];
        let frames = mix.len();
        let mut rig = Rig::new(rate, 1, 256);
        rig.load(0, TrackAudio::new(rate, mix));
        rig.grid(0, Beatgrid::constant(120.0, 0.0, rate, frames).unwrap());
        rig.send(Command::FxAssign {
            unit: 0,
            deck: 0,
            on: true,
        });
        rig.send(Command::FxMode {
            unit: 0,
            mode: FxMode::Single,
        });
        rig.send(Command::FxSelect {
            unit: 0,
            slot: 0,
            effect: Some(Effect::Echo),
        });
        rig.send(Command::FxBeats {
            unit: 0,
            slot: 0,
            beats: 1.0,
        });
        rig.send(Command::FxMix { unit: 0, mix: 1.0 });
        rig.send(Command::FxOn { unit: 0, on: true });
        rig.send(Command::Play { deck: 0, on: true });
        let out = rig.run((1.5 * r) as usize, 256);
        let argmax = |a: usize, b: usize| {
            (a..b)
                .max_by(|&x, &y| out[x][0].abs().total_cmp(&out[y][0].abs()))
                .unwrap()
        };
        let dry = argmax(0, at + 100);
        let echo = argmax(dry + (0.25 * r) as usize, (1.4 * r) as usize);
        assert!(
            (echo as f64 - (dry as f64 + 0.5 * r)).abs() <= 1.0,
            "{rate} Hz: echo at {echo}, dry at {dry}"
        );

        // Every effect, on a 1 kHz tone: finite, bounded, audible.
        for effect in Effect::ALL {
            let mut rig = Rig::new(rate, 1, 256);
            let audio = sine(rate, 1_000.0, 0.3, 2.0);
            let frames = audio.frames();
            rig.load(0, audio);
            rig.grid(0, Beatgrid::constant(128.0, 0.0, rate, frames).unwrap());
            for c in [
                Command::FxAssign {
                    unit: 0,
                    deck: 0,
                    on: true,
                },
                Command::FxMode {
                    unit: 0,
                    mode: FxMode::Single,
                },
                Command::FxSelect {
                    unit: 0,
                    slot: 0,
                    effect: Some(effect),
                },
                Command::FxMix { unit: 0, mix: 1.0 },
                Command::FxOn { unit: 0, on: true },
                Command::Play { deck: 0, on: true },
            ] {
                rig.send(c);
            }
            let out = rig.run(rate as usize, 256);
            assert!(
                out.iter()
                    .flatten()
                    .all(|s| s.is_finite() && s.abs() <= 1.0),
                "{rate} Hz {effect:?}: bad samples"
            );
            let level = rms(&left(&out[rate as usize / 2..]));
            assert!(level > 1e-3, "{rate} Hz {effect:?}: silent ({level})");
        }
    }
}
