//! `segue mashup A B`: the vocals of A over the instrumental of B — A synced to B's tempo
//! (half/double time allowed) with key lock and a key shift onto B's key, its first sung bar
//! entering on a downbeat of B after B's intro. Both tracks need stems: the CLI passes the
//! ones beside the file, or has `segue-separate`'s DSP separator make them.

use serde::{Deserialize, Serialize};

use segue_analysis::music::Key;
use segue_engine::{Command, Engine, EngineConfig, Position, Stem};

use crate::set::{vocal_levels, SetTrack};
use crate::SegueError;

/// What the mashup did, as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MashupPlan {
    /// Format version.
    pub version: u32,
    /// The vocal track.
    pub vocals_from: String,
    /// The instrumental track.
    pub instrumental_from: String,
    /// Semitones A's vocals are shifted by to sit in B's key.
    pub key_shift: i8,
    /// A's key, B's key.
    pub keys: (String, String),
    /// A's beat (a downbeat) where its vocals start.
    pub vocals_beat: f64,
    /// B's beat (a downbeat) on which they come in.
    pub entry_beat: f64,
    /// B's tempo (the mashup's).
    pub bpm: f64,
}

/// The semitones that move key `a` onto key `b` (or onto b's relative when the modes
/// differ), the smaller way round.
pub fn key_shift(a: Key, b: Key) -> i8 {
    let target = if a.mode == b.mode { b } else { b.relative() };
    ((target.tonic as i16 - a.tonic as i16 + 18).rem_euclid(12) - 6) as i8
}

/// Render the mashup of A's vocals over B's instrumental at the tracks' rate.
pub fn render_mashup(
    a: &SetTrack,
    b: &SetTrack,
) -> Result<(Vec<[f32; 2]>, MashupPlan), SegueError> {
    let err = |reason: String| SegueError::Mix { reason };
    for t in [a, b] {
        if t.audio.stems.is_none() {
            return Err(err(format!(
                "{} has no stems: a mashup needs both tracks' stems \
                 (name.drums/bass/other/vocals.wav beside the file, e.g. from `segue separate`)",
                t.name
            )));
        }
    }
    let rate = b.audio.sample_rate;
    if a.audio.sample_rate != rate {
        return Err(err("the two tracks are at different rates".into()));
    }
    let (ka, kb) = (a.analysis.key.parse::<Key>(), b.analysis.key.parse::<Key>());
    let shift = match (ka, kb) {
        (Ok(x), Ok(y)) => key_shift(x, y),
        _ => 0,
    };
    // A's first sung bar: the first downbeat at or before the first beat with vocals.
    let levels = vocal_levels(&a.audio, &a.grid).unwrap_or_default();
    let peak = levels.iter().copied().fold(0.0f32, f32::max);
    let first_sung = levels.iter().position(|l| *l > 0.2 * peak).unwrap_or(0);
    let bpb = a.grid.beats_per_bar().max(1) as usize;
    let fd = a.grid.downbeat_index();
    let vocals_beat = if first_sung >= fd {
        fd + (first_sung - fd) / bpb * bpb
    } else {
        fd
    };
    // B's entry: its mix-in cue's downbeat when there is one, else its first downbeat, and
    // after B's intro (the first section's end) when B has one.
    let bb = b.grid.beats_per_bar().max(1) as usize;
    let bfd = b.grid.downbeat_index();
    let intro_end = b.analysis.sections.first().map_or(0.0, |s| s.end);
    let entry = b
        .analysis
        .beats
        .iter()
        .position(|t| *t >= intro_end - 1e-3)
        .unwrap_or(bfd);
    let entry_beat = if entry >= bfd {
        bfd + (entry - bfd).div_ceil(bb) * bb
    } else {
        bfd
    };
    let entry_frame = b.grid.frame_at(entry_beat as f64).round().max(0.0) as u64;

    let mut parts = Engine::new(EngineConfig {
        sample_rate: rate,
        max_block: 512,
        decks: 2,
        ..EngineConfig::default()
    })
    .map_err(|e| err(e.to_string()))?;
    let mut cmds = vec![
        (
            None,
            Command::Load {
                deck: 0,
                audio: b.audio.clone(),
            },
        ),
        (
            None,
            Command::SetBeatgrid {
                deck: 0,
                grid: Some(b.grid.clone()),
            },
        ),
        (
            None,
            Command::Load {
                deck: 1,
                audio: a.audio.clone(),
            },
        ),
        (
            None,
            Command::SetBeatgrid {
                deck: 1,
                grid: Some(a.grid.clone()),
            },
        ),
        (None, Command::SyncLeader { deck: Some(0) }),
        (
            None,
            Command::StemGain {
                deck: 0,
                stem: Stem::Vocals,
                gain: 0.0,
            },
        ),
        (
            None,
            Command::Trim {
                deck: 0,
                db: crate::plan::trim_db(b.analysis.lufs, crate::plan::TARGET_LUFS),
            },
        ),
        (
            None,
            Command::Trim {
                deck: 1,
                db: crate::plan::trim_db(a.analysis.lufs, crate::plan::TARGET_LUFS),
            },
        ),
        (
            None,
            Command::Seek {
                deck: 1,
                to: Position::Beats(vocals_beat as f64),
            },
        ),
        (None, Command::KeyLock { deck: 1, on: true }),
        (
            None,
            Command::KeyShift {
                deck: 1,
                semitones: shift as f32,
            },
        ),
        (None, Command::Sync { deck: 1, on: true }),
        (
            None,
            Command::Seek {
                deck: 0,
                to: Position::Frames(0.0),
            },
        ),
        (None, Command::Play { deck: 0, on: true }),
        (Some(entry_frame), Command::Play { deck: 1, on: true }),
    ];
    for stem in [Stem::Drums, Stem::Bass, Stem::Other] {
        cmds.push((
            None,
            Command::StemGain {
                deck: 1,
                stem,
                gain: 0.0,
            },
        ));
    }
    for (at, c) in cmds {
        crate::send(&mut parts.handle, at, c)?;
    }
    let frames = b.audio.frames();
    let out = parts.render_offline(frames, 512, |_, _| {});
    Ok((
        out.master,
        MashupPlan {
            version: 1,
            vocals_from: a.name.clone(),
            instrumental_from: b.name.clone(),
            key_shift: shift,
            keys: (a.analysis.key.clone(), b.analysis.key.clone()),
            vocals_beat: vocals_beat as f64,
            entry_beat: entry_beat as f64,
            bpm: b.analysis.bpm,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shift_takes_the_short_way_and_the_relative_key() {
        let k = |s: &str| s.parse::<Key>().unwrap();
        assert_eq!(key_shift(k("A minor"), k("A minor")), 0);
        assert_eq!(key_shift(k("A minor"), k("B minor")), 2);
        assert_eq!(key_shift(k("A minor"), k("G minor")), -2);
        // C major's relative is A minor: A minor vocals need no shift.
        assert_eq!(key_shift(k("A minor"), k("C major")), 0);
        assert_eq!(key_shift(k("C major"), k("F# major")), -6);
    }
}
