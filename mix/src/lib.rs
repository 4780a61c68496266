//! Offline two-deck transitions: deck A plays, deck B comes in beat-matched (sync + key
//! lock) on a chosen beat, the crossfader blends over a number of bars with a bass swap at
//! the halfway downbeat, and A stops when the blend is done. The engine renders it exactly
//! as it would live, only faster than real time.
//!
//! The rest of the crate is Segue's main job: [`compat`] scores "B after A", [`order`]
//! plans a set's order, [`plan`] finds where and how to mix (transition plans as data),
//! [`runner`] performs a plan on two engine decks sample-accurately, [`set`] renders
//! and measures a whole automixed set, and [`live`] is the live service both shells run
//! (suggestions for the deck on air, Auto DJ).

#![forbid(unsafe_code)]

pub use segue_decode::SegueError;

pub mod compat;
pub mod live;
pub mod mashup;
pub mod order;
pub mod plan;
pub mod runner;
pub mod set;

use std::sync::Arc;
use std::time::Instant;

use segue_engine::{
    Beatgrid, Command, CrossfaderSide, Engine, EngineConfig, EqBand, Position, Rendered, TrackAudio,
};

/// A track ready for a deck: decoded audio at the engine rate and its beatgrid.
#[derive(Debug, Clone)]
pub struct DeckTrack {
    /// Display name.
    pub name: String,
    /// Audio at the engine rate.
    pub audio: Arc<TrackAudio>,
    /// Beatgrid in frames of `audio`.
    pub grid: Arc<Beatgrid>,
}

/// Where and how long the blend is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// Beat index on A where B comes in (A's mix-out point, normally a phrase start).
    pub a_out_beat: f64,
    /// Beat index on B heard at that moment (B's mix-in cue, normally its first downbeat).
    pub b_in_beat: f64,
    /// Length of the blend in bars (4 beats each).
    pub bars: u32,
}

/// What a render did.
#[derive(Debug, Clone, PartialEq)]
pub struct MixReport {
    /// Length of the render, seconds.
    pub duration_secs: f64,
    /// When B comes in, seconds into the mix.
    pub blend_start_secs: f64,
    /// When A is gone, seconds into the mix.
    pub blend_end_secs: f64,
    /// A's tempo (the mix's tempo), BPM.
    pub bpm: f64,
    /// B's playback rate (its tempo matched to A's, pitch kept by key lock).
    pub b_rate: f64,
    /// Largest absolute sample of the master.
    pub peak: f32,
    /// Wall-clock seconds the render took.
    pub render_secs: f64,
}

/// Queue `command` for the engine at frame `at` (`None`: at once).
pub(crate) fn send(
    handle: &mut segue_engine::EngineHandle,
    at: Option<u64>,
    command: Command,
) -> Result<(), SegueError> {
    handle
        .send_timed(segue_engine::TimedCommand { at, command })
        .map_err(|e| SegueError::Mix {
            reason: format!("engine command queue: {e}"),
        })
}

/// Blend steps per beat for the crossfader automation.
const STEPS_PER_BEAT: u32 = 4;

/// Render A → B at `sample_rate` (both tracks must already be at that rate).
pub fn render_transition(
    a: &DeckTrack,
    b: &DeckTrack,
    t: &Transition,
    sample_rate: u32,
) -> Result<(Rendered, MixReport), SegueError> {
    for d in [a, b] {
        if d.audio.sample_rate != sample_rate {
            return Err(SegueError::Mix {
                reason: format!(
                    "{} is at {} Hz, the mix at {} Hz (decode it at the mix rate)",
                    d.name, d.audio.sample_rate, sample_rate
                ),
            });
        }
    }
    let mut parts = Engine::new(EngineConfig {
        sample_rate,
        max_block: 512,
        decks: 2,
        ..EngineConfig::default()
    })
    .map_err(|e| SegueError::Mix {
        reason: e.to_string(),
    })?;

    let rate = sample_rate as f64;
    let bpm_a = a.grid.bpm_at(a.grid.frame_at(t.a_out_beat), sample_rate);
    let bpm_b = b.grid.bpm_at(b.grid.frame_at(t.b_in_beat), sample_rate);
    let blend_beats = (t.bars.max(1) * 4) as f64;
    let start = a.grid.frame_at(t.a_out_beat).round().max(0.0) as u64;
    let end = a.grid.frame_at(t.a_out_beat + blend_beats).round() as u64;
    // Sync matches B to A's tempo, in half or double time if that is closer.
    let b_rate = bpm_a / compat::fold_tempo(bpm_a, bpm_b).0;
    let b_left = (b.audio.frames() as f64 - b.grid.frame_at(t.b_in_beat)).max(0.0) / b_rate;
    let total = (start as f64 + b_left).max(end as f64).ceil() as usize;

    // The whole performance, as timed commands.
    let mut cmds: Vec<(Option<u64>, Command)> = vec![
        (
            None,
            Command::Load {
                deck: 0,
                audio: a.audio.clone(),
            },
        ),
        (
            None,
            Command::SetBeatgrid {
                deck: 0,
                grid: Some(a.grid.clone()),
            },
        ),
        (
            None,
            Command::Load {
                deck: 1,
                audio: b.audio.clone(),
            },
        ),
        (
            None,
            Command::SetBeatgrid {
                deck: 1,
                grid: Some(b.grid.clone()),
            },
        ),
        (None, Command::SyncLeader { deck: Some(0) }),
        (
            None,
            Command::CrossfaderAssign {
                deck: 0,
                side: CrossfaderSide::A,
            },
        ),
        (
            None,
            Command::CrossfaderAssign {
                deck: 1,
                side: CrossfaderSide::B,
            },
        ),
        (None, Command::Crossfader { position: -1.0 }),
        (
            None,
            Command::Seek {
                deck: 1,
                to: Position::Beats(t.b_in_beat),
            },
        ),
        (None, Command::KeyLock { deck: 1, on: true }),
        (None, Command::Sync { deck: 1, on: true }),
        (
            None,
            Command::Eq {
                deck: 1,
                band: EqBand::Low,
                gain: 0.0,
            },
        ),
        (None, Command::Play { deck: 0, on: true }),
        (Some(start), Command::Play { deck: 1, on: true }),
    ];
    let steps = t.bars.max(1) * 4 * STEPS_PER_BEAT;
    for k in 1..=steps {
        let beat = t.a_out_beat + k as f64 / STEPS_PER_BEAT as f64;
        let at = a.grid.frame_at(beat).round() as u64;
        let position = -1.0 + 2.0 * k as f32 / steps as f32;
        cmds.push((Some(at), Command::Crossfader { position }));
    }
    // Bass swap on the halfway downbeat.
    let half = a.grid.frame_at(t.a_out_beat + blend_beats / 2.0).round() as u64;
    cmds.push((
        Some(half),
        Command::Eq {
            deck: 0,
            band: EqBand::Low,
            gain: 0.0,
        },
    ));
    cmds.push((
        Some(half),
        Command::Eq {
            deck: 1,
            band: EqBand::Low,
            gain: 1.0,
        },
    ));
    cmds.push((Some(end), Command::Play { deck: 0, on: false }));

    for (at, command) in cmds {
        send(&mut parts.handle, at, command)?;
    }
    let clock = Instant::now();
    let out = parts.render_offline(total, 512, |_, _| {});
    let render_secs = clock.elapsed().as_secs_f64();
    let peak = out
        .master
        .iter()
        .flat_map(|f| f.iter())
        .fold(0.0f32, |m, s| m.max(s.abs()));
    Ok((
        out,
        MixReport {
            duration_secs: total as f64 / rate,
            blend_start_secs: start as f64 / rate,
            blend_end_secs: end as f64 / rate,
            bpm: bpm_a,
            b_rate,
            peak,
            render_secs,
        },
    ))
}
