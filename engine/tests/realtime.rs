//! The audio path never allocates, frees or panics — including under a storm of nonsense.

mod common;

use std::sync::Arc;

use assert_no_alloc::AllocDisabler;
use common::*;
use segue_engine::*;

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

#[test]
#[should_panic(expected = "allocated or freed")]
fn the_allocation_check_itself_catches_an_allocation() {
    rt(|| std::hint::black_box(vec![1u8; 16]));
}

/// A tiny deterministic PRNG (xorshift64*).
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
    /// Mostly sensible values, sometimes nonsense.
    fn value(&mut self) -> f32 {
        match self.below(10) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => -1e9,
            3 => 1e9,
            _ => (self.below(2001) as f32 - 1000.0) / 100.0,
        }
    }
    fn f64(&mut self) -> f64 {
        match self.below(8) {
            0 => f64::NAN,
            1 => -1e12,
            2 => 1e15,
            _ => self.below(2_000_000) as f64,
        }
    }
}

fn random_command(
    r: &mut Rng,
    tracks: &[Arc<TrackAudio>],
    grids: &[Arc<Beatgrid>],
    stems: &[Arc<StemAudio>],
) -> Command {
    // Deck indices include ones that do not exist.
    let deck = r.below(6) as u8;
    let on = r.below(2) == 0;
    let pos = match r.below(3) {
        0 => Position::Frames(r.f64()),
        1 => Position::Seconds(r.f64() / 1000.0),
        _ => Position::Beats(r.f64() / 10_000.0),
    };
    let stem = Stem::ALL[r.below(4) as usize];
    let band = [EqBand::Low, EqBand::Mid, EqBand::High][r.below(3) as usize];
    match r.below(42) {
        0 => Command::Load {
            deck,
            audio: tracks[r.below(tracks.len() as u64) as usize].clone(),
        },
        1 => Command::Eject { deck },
        2 => Command::SetBeatgrid {
            deck,
            grid: (r.below(4) > 0).then(|| grids[r.below(grids.len() as u64) as usize].clone()),
        },
        3..=5 => Command::Play { deck, on },
        6 => Command::Cue { deck, pressed: on },
        7 => Command::SetCue { deck, at: pos },
        8 => Command::CueReturn { deck },
        9 => Command::Seek { deck, to: pos },
        10 => Command::Tempo {
            deck,
            percent: r.value(),
        },
        11 => Command::TempoRange {
            deck,
            range: [TempoRange::Narrow, TempoRange::Medium, TempoRange::Wide][r.below(3) as usize],
        },
        12 => Command::Bend {
            deck,
            percent: r.value(),
        },
        13 => Command::Nudge {
            deck,
            ms: r.value(),
        },
        14 => Command::KeyLock { deck, on },
        15 => Command::KeyShift {
            deck,
            semitones: r.value(),
        },
        16 => Command::Sync { deck, on },
        17 => Command::SyncLeader {
            deck: (r.below(2) == 0).then_some(deck),
        },
        18 => Command::Quantize { deck, on },
        19 => Command::BeatLoop {
            deck,
            beats: r.value(),
        },
        20 => Command::SetLoop {
            deck,
            start: pos,
            end: Position::Frames(r.f64()),
        },
        21 => Command::LoopExit { deck },
        22 => Command::Reloop { deck },
        23 => Command::LoopRoll {
            deck,
            beats: r.value(),
            on,
        },
        24 => Command::HotCue {
            deck,
            index: r.below(12) as u8,
        },
        25 => Command::SetHotCue {
            deck,
            index: r.below(12) as u8,
            at: pos,
        },
        26 => Command::ClearHotCue {
            deck,
            index: r.below(12) as u8,
        },
        27 => Command::Trim {
            deck,
            db: r.value() * 5.0,
        },
        28 => Command::Eq {
            deck,
            band,
            gain: r.value(),
        },
        29 => Command::Filter {
            deck,
            amount: r.value(),
        },
        30 => Command::StemGain {
            deck,
            stem,
            gain: r.value(),
        },
        31 => Command::StemMute {
            deck,
            stem,
            muted: on,
        },
        32 => Command::Volume {
            deck,
            level: r.value(),
        },
        33 => Command::Pfl { deck, on },
        34 => Command::CrossfaderAssign {
            deck,
            side: [CrossfaderSide::A, CrossfaderSide::B, CrossfaderSide::Thru][r.below(3) as usize],
        },
        35 => Command::Crossfader {
            position: r.value(),
        },
        36 => Command::CrossfaderCurve { curve: r.value() },
        37 => Command::ChannelFaderCurve { curve: r.value() },
        38 => Command::MasterGain { gain: r.value() },
        39 => Command::Scratch { deck, on },
        40 => Command::ScratchMove {
            deck,
            seconds: r.value(),
        },
        _ => match r.below(5) {
            2 => Command::StemFilter {
                deck,
                stem,
                amount: r.value(),
            },
            3 => Command::StemSwap {
                from: deck,
                to: r.below(6) as u8,
                stem,
                beats: r.value(),
            },
            4 => Command::AttachStems {
                deck,
                track: TrackRef::of(&tracks[r.below(tracks.len() as u64) as usize]),
                stems: stems[r.below(stems.len() as u64) as usize].clone(),
            },
            0 => Command::CueMix { mix: r.value() },
            _ => Command::HeadphoneGain { gain: r.value() },
        },
    }
}

#[test]
fn command_storm_of_100k_random_commands_is_survived_without_allocation() {
    let rate = 48_000;
    let mut rig = Rig::new(rate, 4, 512);
    // Loud material (+12 dB over full scale) with stems, so the limiter and stems work hard.
    let loud: Vec<Frame> = sine(rate, 110.0, 4.0, 8.0).mix;
    let stems: [Vec<Frame>; 4] = std::array::from_fn(|k| {
        loud.iter()
            .map(|f| [f[0] * 0.25 * (k as f32 + 1.0) / 2.5; 2])
            .collect()
    });
    let tracks = vec![
        Arc::new(
            TrackAudio::new(rate, loud.clone())
                .with_stems(stems)
                .unwrap(),
        ),
        Arc::new(sine(rate, 440.0, 1.0, 3.0)),
        Arc::new(TrackAudio::new(rate, vec![[0.5, -0.5]; 10])),
        Arc::new(TrackAudio::new(rate, Vec::new())),
    ];
    // Stems that fit the 440 Hz track (attached while it plays) and some that fit nothing.
    let stems: Vec<Arc<StemAudio>> = vec![
        Arc::new(std::array::from_fn(|k| {
            tracks[1]
                .mix
                .iter()
                .map(|f| [f[0] * [0.5, 0.25, 0.25, 0.0][k]; 2])
                .collect()
        })),
        Arc::new(std::array::from_fn(|_| vec![[0.1, 0.1]; 10])),
    ];
    let grids = vec![
        Arc::new(Beatgrid::constant(128.0, 0.0, rate, 8 * 48_000).unwrap()),
        Arc::new(Beatgrid::new(vec![0.0, 20_000.0, 45_000.0, 60_000.0], 1, 3).unwrap()),
    ];
    for d in 0..4u8 {
        rig.send(Command::Load {
            deck: d,
            audio: tracks[0].clone(),
        });
        rig.send(Command::SetBeatgrid {
            deck: d,
            grid: Some(grids[0].clone()),
        });
        rig.send(Command::Play { deck: d, on: true });
    }
    let mut r = Rng(0x5EED_1234_ABCD_0001);
    let mut sent = 0;
    let mut frame = 0u64;
    let mut worst = 0.0f32;
    while sent < 100_000 {
        // Up to 400 commands per block with timestamps inside, before and after the block.
        let k = r.below(400) + 1;
        for _ in 0..k {
            let c = random_command(&mut r, &tracks, &grids, &stems);
            let at = match r.below(4) {
                0 => None,
                1 => Some(frame.saturating_sub(r.below(10_000))),
                2 => Some(frame + r.below(512)),
                _ => Some(frame + r.below(100_000)),
            };
            if rig
                .parts
                .handle
                .send_timed(TimedCommand { at, command: c })
                .is_ok()
            {
                sent += 1;
            }
        }
        // Keep decks playing so the storm hits running audio.
        if r.below(8) == 0 {
            for d in 0..4u8 {
                let _ = rig.parts.handle.send(Command::Play { deck: d, on: true });
            }
        }
        let n = [1, 7, 64, 333, 512, 1024][r.below(6) as usize];
        let (m, c) = rig.block(n);
        for f in m.iter().chain(c.iter()) {
            for s in f {
                assert!(s.is_finite(), "non-finite output");
                assert!(s.abs() <= 1.0, "output {s} outside [-1, 1]");
                worst = worst.max(s.abs());
            }
        }
        frame += n as u64;
    }
    let st = rig.parts.handle.status();
    assert!(
        st.commands_applied > 50_000,
        "{} applied",
        st.commands_applied
    );
    assert!(
        st.commands_rejected > 1_000,
        "deck indices 4 and 5 must be rejected"
    );
    assert!(
        worst > 0.1,
        "the storm must not have silenced everything ({worst})"
    );
    // Everything handed back was collected off the audio thread.
    drop(tracks);
    drop(grids);
}

#[test]
fn replaced_tracks_are_freed_by_the_collector_not_the_audio_thread() {
    let mut rig = Rig::new(48_000, 2, 256);
    for i in 0..50 {
        // The rig keeps no reference: the engine's is the last one.
        rig.load((i % 2) as u8, sine(48_000, 220.0, 0.2, 0.1));
        rig.grid(
            (i % 2) as u8,
            Beatgrid::constant(120.0, 0.0, 48_000, 4800).unwrap(),
        );
        rig.send(Command::Play {
            deck: (i % 2) as u8,
            on: true,
        });
        // `block` runs process under assert_no_alloc: dropping a track there would fail.
        rig.block(256);
    }
    rig.send(Command::Eject { deck: 0 });
    rig.send(Command::Eject { deck: 1 });
    rig.block(64);
    assert!(!rig.parts.handle.status().decks[0].loaded);
}
