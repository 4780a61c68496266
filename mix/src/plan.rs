//! Transition plans: where A starts leaving, where B enters, how long the blend is and which
//! technique it uses, as data — a list of deck actions in beats of A (the outgoing track),
//! serialised as versioned JSON, so the same plan is rendered offline, performed live by
//! Auto DJ, shown in the editor and sent over OSC. [`crate::runner::PlanRunner`] turns it
//! into sample-accurate engine commands.
//!
//! Everything starts on downbeats of both tracks: A's mix-out is its outro or the last
//! phrase boundary that leaves room for the blend (never inside a vocal phrase when A has
//! stems), B's mix-in is its `mix in` cue (intro) or first downbeat.
//!
//! Transitions that use an effect drive the engine's FX unit [`TRANSITION_FX_UNIT`] (FX 2,
//! so FX 1 stays the DJ's): the echo-out (A's last bar into a beat-synced echo whose dry
//! signal is cut on a downbeat, the tail ringing out over B) and the filter sweep (A's
//! high-passed exit trails off in a thin echo). The one-shot filter ramps and the halving
//! loop of a loop-out stay on the deck's own filter and loop: the FX filter sweep is a
//! periodic LFO, and the FX roll repeats audio captured after the channel fader, which the
//! fader then cannot fade out.
//!
//! **Versions.** 1: the first format. 2: adds the `echo_out` technique and the `fx_*`
//! actions. A version-1 plan reads unchanged (it has neither); [`TransitionPlan::from_json`]
//! refuses versions this build does not know.

use serde::{Deserialize, Serialize};

use segue_analysis::{Analysis, SectionLabel};
use segue_engine::{Effect, EqBand, Stem};

use crate::compat::{score, Compat, EnergyFlow, Prefs, TrackFacts};

/// Version of the plan format (see the module doc for what each version added).
pub const PLAN_VERSION: u32 = 2;

/// The FX unit transitions use (0-based: FX 2).
pub const TRANSITION_FX_UNIT: u8 = 1;

/// How the blend is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Technique {
    /// Equal-power volume blend with the bass swapped on the halfway downbeat.
    BassSwap,
    /// Bass swap, with B rising out of a low-pass and A leaving through a high-pass (masks
    /// a key clash).
    FilterSweep,
    /// Stems: B enters without vocals and bass, the bass and the vocals change hands at
    /// the halfway downbeat (A's vocals leave before B's arrive: never two at once).
    StemSwap,
    /// Tempos too far apart to sync: A loops its last bar (halving) through a rising
    /// high-pass; B starts at its own tempo on A's third downbeat and the two cross over two bars.
    LoopOut,
    /// Tempos too far apart to sync: A's last bar goes into a beat-synced echo (FX unit
    /// [`TRANSITION_FX_UNIT`]), A's dry signal is cut on the next downbeat (a phrase
    /// boundary), where B starts at its own tempo; the echoes ring out over B for two bars,
    /// fading to −40 dB. Chosen over [`Technique::LoopOut`] when the set winds down (B
    /// slower or calmer) or A's last bar would not loop well (sung, drifting tempo).
    EchoOut,
    /// A hard cut on a phrase boundary straight into B's drop.
    Cut,
}

impl Technique {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Technique::BassSwap => "bass swap",
            Technique::FilterSweep => "filter sweep",
            Technique::StemSwap => "stem swap",
            Technique::LoopOut => "loop out",
            Technique::EchoOut => "echo out",
            Technique::Cut => "cut",
        }
    }
}

/// Which deck of the transition a step is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A, the track leaving.
    Out,
    /// B, the track coming in.
    In,
}

/// An EQ band, by name in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Low.
    Low,
    /// Mid.
    Mid,
    /// High.
    High,
}

impl From<Band> for EqBand {
    fn from(b: Band) -> EqBand {
        match b {
            Band::Low => EqBand::Low,
            Band::Mid => EqBand::Mid,
            Band::High => EqBand::High,
        }
    }
}

/// A stem, by name in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StemName {
    /// Drums.
    Drums,
    /// Bass.
    Bass,
    /// Other.
    Other,
    /// Vocals.
    Vocals,
}

impl From<StemName> for Stem {
    fn from(s: StemName) -> Stem {
        match s {
            StemName::Drums => Stem::Drums,
            StemName::Bass => Stem::Bass,
            StemName::Other => Stem::Other,
            StemName::Vocals => Stem::Vocals,
        }
    }
}

/// The engine's [`Effect`] in JSON: its stable name (`echo`, `ping_pong`, … —
/// [`Effect::name`]), so a plan names effects exactly as OSC and the mappings do.
mod effect_name {
    use segue_engine::Effect;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(e: &Effect, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(e.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Effect, D::Error> {
        let name = String::deserialize(d)?;
        Effect::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = Effect::ALL.iter().map(|e| e.name()).collect();
            serde::de::Error::custom(format!(
                "unknown effect {name:?}: expected one of {}",
                known.join(", ")
            ))
        })
    }
}

/// What a step does to its deck.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// Start or stop.
    Play {
        /// On.
        on: bool,
    },
    /// Jump to a beat of the deck's own grid.
    SeekBeat {
        /// Fractional beat index.
        to_beat: f64,
    },
    /// Sync to the leader.
    Sync {
        /// On.
        on: bool,
    },
    /// Key lock.
    KeyLock {
        /// On.
        on: bool,
    },
    /// Key shift.
    KeyShift {
        /// Semitones.
        semitones: f32,
    },
    /// Tempo fader range ±50 % (so the fader can hold any matched tempo).
    WideTempo,
    /// Tempo fader.
    Tempo {
        /// Percent.
        percent: f32,
    },
    /// Channel fader.
    Volume {
        /// 0..1.
        level: f32,
    },
    /// Input gain (loudness matching).
    Trim {
        /// dB.
        db: f32,
    },
    /// EQ band gain.
    Eq {
        /// Band.
        band: Band,
        /// 0 = kill, 1 = flat.
        gain: f32,
    },
    /// One-knob filter.
    Filter {
        /// −1 (low-pass) .. 0 .. 1 (high-pass).
        amount: f32,
    },
    /// Stem gain.
    Stem {
        /// Which.
        stem: StemName,
        /// 0..1.
        gain: f32,
    },
    /// Beat loop at the playhead (resizes an active loop).
    BeatLoop {
        /// Beats.
        beats: f32,
    },
    /// Leave the loop.
    LoopExit,
    /// This deck becomes the sync leader, keeping the tempo it plays at now (its tempo
    /// fader is set to it).
    TakeLead,
    /// Bring the tempo fader back to 0 % in small steps over this many beats.
    TempoReturn {
        /// Beats.
        beats: f64,
    },
    /// FX unit `unit` (0-based) made ready, off: one effect (single mode) in slot 1 with
    /// these beats and knobs, not on the master. (Unit-level: the step's role names the
    /// deck it is for.)
    FxSetup {
        /// FX unit, 0-based.
        unit: u8,
        /// The effect.
        #[serde(with = "effect_name")]
        effect: Effect,
        /// Its beat length.
        beats: f32,
        /// Its three knobs, 0..1.
        knobs: [f32; 3],
    },
    /// The step's deck goes through FX unit `unit` (or not).
    FxAssign {
        /// FX unit, 0-based.
        unit: u8,
        /// Through it.
        on: bool,
    },
    /// FX unit on/off (echoes ring out when it goes off).
    FxOn {
        /// FX unit, 0-based.
        unit: u8,
        /// On.
        on: bool,
    },
    /// FX unit dry/wet.
    FxMix {
        /// FX unit, 0-based.
        unit: u8,
        /// 0..1.
        mix: f32,
    },
    /// One knob of the unit's effect (slot 1).
    FxKnob {
        /// FX unit, 0-based.
        unit: u8,
        /// Knob 0..=2.
        knob: u8,
        /// 0..1.
        value: f32,
    },
}

/// One step: an action on a deck at a beat of A (`None`: when the plan is armed, before
/// anything else).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Beat of A.
    pub beat: Option<f64>,
    /// Which deck.
    pub role: Role,
    /// What.
    #[serde(flatten)]
    pub action: Action,
}

/// A → B, as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionPlan {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// A's name.
    pub from: String,
    /// B's name.
    pub to: String,
    /// The technique.
    pub technique: Technique,
    /// A's beat where the transition starts (a downbeat).
    pub out_beat: f64,
    /// B's beat heard at that moment (a downbeat), when B starts.
    pub in_beat: f64,
    /// Beat of A at which B starts playing (`out_beat` except for a loop-out).
    pub in_start_beat: f64,
    /// A's beat where A is gone.
    pub end_beat: f64,
    /// Length in bars of A.
    pub bars: u32,
    /// A's beats per bar.
    pub beats_per_bar: u32,
    /// B plays synced to A (beat-matched) during the blend.
    pub synced: bool,
    /// Why this technique and these points, in words.
    pub reason: String,
    /// The compatibility of B after A.
    pub compat: Compat,
    /// The steps, in beat order (prepare steps first).
    pub steps: Vec<Step>,
}

impl TransitionPlan {
    /// The plan as compact JSON (what [`TransitionPlan::from_json`] reads back).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Read a plan written by this or an earlier version (see the module doc); a newer
    /// version or malformed JSON is an error that says so.
    pub fn from_json(text: &str) -> Result<TransitionPlan, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a transition plan: {e}"))?;
        check_version(&v, PLAN_VERSION, "transition plan")?;
        serde_json::from_value(v).map_err(|e| format!("not a transition plan: {e}"))
    }
}

/// The `version` of a plan document is one this build reads (1..=`current`).
pub(crate) fn check_version(v: &serde_json::Value, current: u32, what: &str) -> Result<(), String> {
    let version = v
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("the {what} has no version number"))?;
    if version == 0 || version > current as u64 {
        return Err(format!(
            "{what} version {version} is not supported by this build (reads 1..={current})"
        ));
    }
    Ok(())
}

/// A track as the planner sees it.
#[derive(Debug, Clone, Copy)]
pub struct PlanTrack<'a> {
    /// Display name.
    pub name: &'a str,
    /// Its analysis.
    pub analysis: &'a Analysis,
    /// Vocal-stem level per beat of its grid (RMS), when it has stems.
    pub vocals: Option<&'a [f32]>,
}

/// Planning options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Compatibility preferences (pitch range, key shift, energy flow).
    pub prefs: Prefs,
    /// Loudness every track is matched to, LUFS.
    pub target_lufs: f64,
    /// A may not start leaving before this beat of its own (it came in until then).
    pub earliest_out_beat: f64,
    /// How often B followed A before.
    pub history: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            prefs: Prefs::default(),
            target_lufs: TARGET_LUFS,
            earliest_out_beat: 0.0,
            history: 0,
        }
    }
}

/// The loudness tracks are matched to by default (EBU R128 / streaming level: leaves the
/// limiter alone and the true peak under −1 dBTP on all but the loudest masters).
pub const TARGET_LUFS: f64 = -14.0;

/// Trim that brings a track of `lufs` to `target` (the engine's trim range).
pub fn trim_db(lufs: f64, target: f64) -> f32 {
    if lufs.is_finite() && lufs > -70.0 {
        (target - lufs).clamp(-24.0, 12.0) as f32
    } else {
        0.0
    }
}

/// A track's grid in beat indices: first downbeat index, beats per bar, number of beats.
#[derive(Debug, Clone, Copy)]
struct Grid {
    first_down: usize,
    bpb: usize,
    beats: usize,
}

impl Grid {
    fn of(a: &Analysis) -> Grid {
        Grid {
            first_down: a.first_downbeat_index(),
            bpb: a.beats_per_bar.max(1) as usize,
            beats: a.beats.len(),
        }
    }

    /// The downbeat nearest to `secs` (engine view: first downbeat + whole bars).
    fn downbeat_near(&self, a: &Analysis, secs: f64) -> usize {
        let i = beat_near(a, secs) as i64;
        let fd = self.first_down as i64;
        let bars = ((i - fd) as f64 / self.bpb as f64).round().max(0.0) as i64;
        (fd + bars * self.bpb as i64) as usize
    }

    fn last(&self) -> usize {
        self.beats.saturating_sub(1)
    }
}

fn beat_near(a: &Analysis, secs: f64) -> usize {
    a.beats
        .iter()
        .enumerate()
        .min_by(|x, y| (x.1 - secs).abs().total_cmp(&(y.1 - secs).abs()))
        .map_or(0, |(i, _)| i)
}

/// The plan of A → B.
pub fn plan_transition(a: &PlanTrack<'_>, b: &PlanTrack<'_>, o: &PlanOptions) -> TransitionPlan {
    let (aa, ba) = (a.analysis, b.analysis);
    let compat = score(
        &TrackFacts::of(aa),
        &TrackFacts::of(ba),
        o.history,
        &o.prefs,
    );
    let (ga, gb) = (Grid::of(aa), Grid::of(ba));
    let stems = a.vocals.is_some() && b.vocals.is_some();
    let synced = compat.tempo_matchable && aa.bpm > 0.0 && ba.bpm > 0.0;

    // B's entry: its `mix in` cue (the intro), else the first downbeat.
    let mix_in = ba
        .cues
        .iter()
        .find(|c| c.name == "mix in")
        .map_or(gb.first_down, |c| gb.downbeat_near(ba, c.time))
        .max(gb.first_down);
    let drop = ba
        .sections
        .iter()
        .find(|s| s.label == SectionLabel::Drop)
        .map(|s| gb.downbeat_near(ba, s.start));

    // A's outro and the earliest beat A may start leaving.
    let outro = aa
        .sections
        .iter()
        .rev()
        .find(|s| s.label == SectionLabel::Outro)
        .map(|s| ga.downbeat_near(aa, s.start));
    let earliest = o.earliest_out_beat.max(ga.first_down as f64);
    let bpb = ga.bpb as f64;

    let (technique, choice) = if !synced {
        unsynced_technique(a, b, &ga, outro, earliest, o.prefs.flow)
    } else if o.prefs.flow == EnergyFlow::Peak && drop.is_some() {
        (Technique::Cut, None)
    } else if stems {
        (Technique::StemSwap, None)
    } else if !compat.harmony.compatible() {
        (Technique::FilterSweep, None)
    } else {
        (Technique::BassSwap, None)
    };
    let in_beat = match technique {
        Technique::Cut => drop.unwrap_or(mix_in),
        _ => mix_in,
    } as f64;

    // The length: as long as A's outro allows (8, 16 or 32 bars), 4 bars for a loop-out or
    // when the tracks are too short, a bar of echo and two of its tail for an echo-out; a
    // cut has no blend.
    let outro_bars = outro.map_or(0, |s| ga.last().saturating_sub(s) / ga.bpb);
    let b_room = gb.last().saturating_sub(in_beat as usize) / gb.bpb.max(1);
    let (out_beat, bars, why) = match technique {
        Technique::LoopOut => {
            let (out, why) = out_point(&ga, outro, 4, earliest, a.vocals);
            (out, 4, why)
        }
        Technique::EchoOut => {
            // The cut is the phrase boundary; the echo starts a bar before it.
            let tail = ECHO_TAIL_BARS as usize;
            let (cut, why) = out_point(&ga, outro, tail, earliest + bpb, a.vocals);
            let out = (cut - bpb).max(ga.first_down as f64);
            (out, 1 + ECHO_TAIL_BARS, why)
        }
        Technique::Cut => {
            let (out, why) = out_point(&ga, outro, 1, earliest, a.vocals);
            (out, 1, why)
        }
        _ => {
            let want = outro_bars.max(8);
            let mut chosen = None;
            for bars in [32usize, 16, 8, 4] {
                if bars > want.max(4) || bars * gb.bpb > b_room * gb.bpb {
                    continue;
                }
                let (out, why) = out_point(&ga, outro, bars, earliest, a.vocals);
                if out + (bars * ga.bpb) as f64 <= ga.beats as f64 && out >= earliest {
                    chosen = Some((out, bars as u32, why));
                    break;
                }
            }
            chosen.unwrap_or_else(|| {
                let (out, why) = out_point(&ga, outro, 4, earliest, a.vocals);
                (out, 4, why)
            })
        }
    };
    let len = bars as f64 * bpb;
    let end_beat = out_beat + len;
    let in_start_beat = match technique {
        Technique::LoopOut => out_beat + 2.0 * bpb,
        Technique::EchoOut => out_beat + bpb,
        _ => out_beat,
    };

    let mut steps = Vec::new();
    let mut at =
        |beat: Option<f64>, role: Role, action: Action| steps.push(Step { beat, role, action });
    // B ready, every control reset (the deck may have played the track before last).
    let prep = |at: &mut dyn FnMut(Option<f64>, Role, Action), action| at(None, Role::In, action);
    prep(&mut at, Action::LoopExit);
    prep(&mut at, Action::SeekBeat { to_beat: in_beat });
    prep(&mut at, Action::WideTempo);
    prep(&mut at, Action::Tempo { percent: 0.0 });
    prep(&mut at, Action::KeyLock { on: true });
    prep(
        &mut at,
        Action::KeyShift {
            semitones: compat.key_shift as f32,
        },
    );
    prep(&mut at, Action::Sync { on: synced });
    prep(
        &mut at,
        Action::Trim {
            db: trim_db(ba.lufs, o.target_lufs),
        },
    );
    for band in [Band::Low, Band::Mid, Band::High] {
        prep(&mut at, Action::Eq { band, gain: 1.0 });
    }
    prep(&mut at, Action::Filter { amount: 0.0 });
    for stem in [
        StemName::Drums,
        StemName::Bass,
        StemName::Other,
        StemName::Vocals,
    ] {
        prep(&mut at, Action::Stem { stem, gain: 1.0 });
    }
    let cut = technique == Technique::Cut;
    prep(
        &mut at,
        Action::Volume {
            level: if cut { 1.0 } else { 0.0 },
        },
    );

    let half = out_beat + len / 2.0;
    let ramp = |at: &mut dyn FnMut(Option<f64>, Role, Action),
                role: Role,
                from: f64,
                beats: f64,
                f: &dyn Fn(f32) -> Action| {
        let n = (beats * RAMP_STEPS_PER_BEAT).round().max(1.0) as usize;
        for k in 1..=n {
            let t = k as f64 / n as f64;
            at(Some(from + beats * t), role, f(t as f32));
        }
    };
    // Equal-power fades (the channel fader's default curve is linear in gain): the two
    // tracks' powers add up to one throughout the blend.
    let vol = |level: f32| Action::Volume { level };
    let fade_in = |t: f32| vol((t * std::f32::consts::FRAC_PI_2).sin());
    let fade_out = |t: f32| vol((t * std::f32::consts::FRAC_PI_2).cos());
    match technique {
        Technique::BassSwap | Technique::FilterSweep => {
            at(
                None,
                Role::In,
                Action::Eq {
                    band: Band::Low,
                    gain: 0.0,
                },
            );
            let sweep = technique == Technique::FilterSweep;
            if sweep {
                at(None, Role::In, Action::Filter { amount: -0.7 });
            }
            at(Some(out_beat), Role::In, Action::Play { on: true });
            ramp(&mut at, Role::In, out_beat, len, &fade_in);
            ramp(&mut at, Role::Out, out_beat, len, &fade_out);
            if sweep {
                ramp(&mut at, Role::In, out_beat, len / 2.0, &|t| {
                    Action::Filter {
                        amount: -0.7 * (1.0 - t),
                    }
                });
            }
            at(
                Some(half),
                Role::Out,
                Action::Eq {
                    band: Band::Low,
                    gain: 0.0,
                },
            );
            at(
                Some(half),
                Role::In,
                Action::Eq {
                    band: Band::Low,
                    gain: 1.0,
                },
            );
            if sweep {
                ramp(&mut at, Role::Out, half, len / 2.0, &|t| Action::Filter {
                    amount: 0.8 * t,
                });
                // A's high-passed exit trails off in a thin echo over its last quarter (at
                // least a bar): A and B share the tempo, so the repeats stay on B's beat
                // after A stops (the unit then follows B, the new leader).
                let from = end_beat - (len / 4.0).max(bpb);
                fx_engage(
                    &mut at,
                    from,
                    Effect::Echo,
                    echo_beats(aa.bpm),
                    [SWEEP_ECHO_FEEDBACK, SWEEP_ECHO_TONE, 0.0],
                    SWEEP_ECHO_MIX,
                );
                fx_release(&mut at, end_beat);
            }
        }
        Technique::StemSwap => {
            let stem = |stem, gain| Action::Stem { stem, gain };
            at(None, Role::In, stem(StemName::Vocals, 0.0));
            at(None, Role::In, stem(StemName::Bass, 0.0));
            at(Some(out_beat), Role::In, Action::Play { on: true });
            ramp(&mut at, Role::In, out_beat, len, &fade_in);
            ramp(&mut at, Role::Out, out_beat, len, &fade_out);
            at(Some(half), Role::Out, stem(StemName::Vocals, 0.0));
            at(Some(half), Role::Out, stem(StemName::Bass, 0.0));
            at(Some(half), Role::In, stem(StemName::Bass, 1.0));
            // One bar later: A's vocals are gone (the gain is smoothed over milliseconds).
            at(Some(half + bpb), Role::In, stem(StemName::Vocals, 1.0));
        }
        Technique::LoopOut => {
            at(
                Some(out_beat),
                Role::Out,
                Action::BeatLoop { beats: bpb as f32 },
            );
            at(
                Some(out_beat + 2.0 * bpb),
                Role::Out,
                Action::BeatLoop {
                    beats: (bpb / 2.0) as f32,
                },
            );
            at(
                Some(out_beat + 3.0 * bpb),
                Role::Out,
                Action::BeatLoop {
                    beats: (bpb / 4.0) as f32,
                },
            );
            ramp(&mut at, Role::Out, out_beat, len, &|t| Action::Filter {
                amount: 0.85 * t,
            });
            at(Some(in_start_beat), Role::In, Action::Play { on: true });
            ramp(&mut at, Role::In, in_start_beat, 2.0 * bpb, &fade_in);
            ramp(&mut at, Role::Out, in_start_beat, 2.0 * bpb, &fade_out);
            at(Some(end_beat), Role::Out, Action::LoopExit);
            if stems {
                // B's vocals wait until A is gone.
                let vocals = |gain| Action::Stem {
                    stem: StemName::Vocals,
                    gain,
                };
                at(None, Role::In, vocals(0.0));
                at(Some(end_beat), Role::In, vocals(1.0));
            }
        }
        Technique::EchoOut => {
            let u = TRANSITION_FX_UNIT;
            let beats = echo_beats(aa.bpm);
            // A's last bar into the echo, its wet share rising over the bar.
            fx_engage(
                &mut at,
                out_beat,
                Effect::Echo,
                beats,
                [ECHO_BUILD_FEEDBACK, ECHO_TONE, 0.0],
                0.0,
            );
            ramp(&mut at, Role::Out, out_beat, bpb, &|t| Action::FxMix {
                unit: u,
                mix: ECHO_MIX * t,
            });
            // The downbeat: A's dry signal cut (A plays on, silent, so the echo keeps A's
            // tempo), the feedback raised so the tail fades to −40 dB over its two bars,
            // and B in at its own tempo.
            at(Some(in_start_beat), Role::Out, vol(0.0));
            at(
                Some(in_start_beat),
                Role::Out,
                Action::FxKnob {
                    unit: u,
                    knob: 0,
                    value: tail_feedback(beats, ECHO_TAIL_BARS as f64 * bpb),
                },
            );
            at(Some(in_start_beat), Role::In, Action::Play { on: true });
            at(Some(in_start_beat), Role::In, vol(1.0));
            fx_release(&mut at, end_beat);
            if stems {
                // B's vocals wait until A's echoes are gone.
                let vocals = |gain| Action::Stem {
                    stem: StemName::Vocals,
                    gain,
                };
                at(None, Role::In, vocals(0.0));
                at(Some(end_beat), Role::In, vocals(1.0));
            }
        }
        Technique::Cut => {
            at(Some(out_beat), Role::In, Action::Play { on: true });
            at(Some(out_beat), Role::Out, vol(0.0));
        }
    }
    let end = if cut { out_beat } else { end_beat };
    at(Some(end), Role::Out, Action::Play { on: false });
    at(Some(end), Role::In, Action::TakeLead);
    if synced {
        at(
            Some(end),
            Role::In,
            Action::TempoReturn {
                beats: TEMPO_RETURN_BARS * bpb,
            },
        );
    }
    // Stable sort: prepare steps first, then by beat, keeping the order written above.
    steps.sort_by(|x, y| {
        x.beat
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&y.beat.unwrap_or(f64::NEG_INFINITY))
    });

    let reason = format!(
        "{}: {}{}; B in on its beat {} ({}); {}",
        technique.name(),
        choice.map_or(String::new(), |c| format!("{c}; ")),
        why,
        in_beat,
        if cut {
            "its drop"
        } else if mix_in > gb.first_down {
            "its mix-in cue"
        } else {
            "its first downbeat"
        },
        if synced {
            format!("B synced at {:+.1} %", compat.tempo_change)
        } else {
            format!(
                "tempos {:.0} and {:.0} BPM too far apart to sync",
                aa.bpm, ba.bpm
            )
        }
    );
    TransitionPlan {
        version: PLAN_VERSION,
        from: a.name.to_string(),
        to: b.name.to_string(),
        technique,
        out_beat,
        in_beat,
        in_start_beat,
        end_beat: if cut { out_beat } else { end_beat },
        bars: if cut { 0 } else { bars },
        beats_per_bar: ga.bpb as u32,
        synced,
        reason,
        compat,
        steps,
    }
}

/// Volume and filter automation steps per beat.
const RAMP_STEPS_PER_BEAT: f64 = 4.0;
/// An echo-out's tail: A plays on silently this many bars after its dry cut (the echo
/// follows A's tempo), the repeats fading to [`ECHO_TAIL_DB`] by then.
const ECHO_TAIL_BARS: u32 = 2;
/// Where an echo-out's repeats are when A stops, dB.
const ECHO_TAIL_DB: f64 = -40.0;
/// Echo-out: feedback knob while A's last bar goes in, the echo's wet share at the cut, and
/// its tone (0.7: the repeats high-passed at about 150 Hz, so A's kick does not boom under
/// B's).
const ECHO_BUILD_FEEDBACK: f32 = 0.4;
const ECHO_MIX: f32 = 0.8;
const ECHO_TONE: f32 = 0.7;
/// Filter sweep: the thin echo A's exit trails off in.
const SWEEP_ECHO_FEEDBACK: f32 = 0.45;
const SWEEP_ECHO_TONE: f32 = 0.8;
const SWEEP_ECHO_MIX: f32 = 0.6;

/// The echo's beat length at `bpm`: 1/2, 3/4 or 1 beat, whichever is nearest 300 ms (a
/// delay that reads as an echo, not a doubling or a second groove).
fn echo_beats(bpm: f64) -> f32 {
    let beat = if bpm > 0.0 { 60.0 / bpm } else { 0.5 };
    [0.5f32, 0.75, 1.0]
        .into_iter()
        .min_by(|x, y| {
            ((*x as f64 * beat) - 0.3)
                .abs()
                .total_cmp(&((*y as f64 * beat) - 0.3).abs())
        })
        .unwrap_or(0.5)
}

/// The feedback knob at which repeats every `beats` fade to [`ECHO_TAIL_DB`] over
/// `tail_beats` (the engine's feedback is the knob times [`segue_engine::ECHO_MAX_FEEDBACK`]).
fn tail_feedback(beats: f32, tail_beats: f64) -> f32 {
    let repeats = (tail_beats / beats.max(1e-3) as f64).max(1.0);
    let g = 10f64.powf(ECHO_TAIL_DB / 20.0 / repeats);
    (g as f32 / segue_engine::ECHO_MAX_FEEDBACK).clamp(0.0, 1.0)
}

/// Steps that put A through [`TRANSITION_FX_UNIT`] at `beat`: the effect set up (single
/// mode, slot 1), B's deck off the unit, A's on, the wet share `mix`, the unit on.
fn fx_engage(
    at: &mut dyn FnMut(Option<f64>, Role, Action),
    beat: f64,
    effect: Effect,
    beats: f32,
    knobs: [f32; 3],
    mix: f32,
) {
    let unit = TRANSITION_FX_UNIT;
    at(
        Some(beat),
        Role::Out,
        Action::FxSetup {
            unit,
            effect,
            beats,
            knobs,
        },
    );
    at(Some(beat), Role::Out, Action::FxMix { unit, mix });
    at(Some(beat), Role::In, Action::FxAssign { unit, on: false });
    at(Some(beat), Role::Out, Action::FxAssign { unit, on: true });
    at(Some(beat), Role::Out, Action::FxOn { unit, on: true });
}

/// The unit goes off at `beat` (its echoes ring out) and lets go of A's deck.
fn fx_release(at: &mut dyn FnMut(Option<f64>, Role, Action), beat: f64) {
    let unit = TRANSITION_FX_UNIT;
    at(Some(beat), Role::Out, Action::FxOn { unit, on: false });
    at(Some(beat), Role::Out, Action::FxAssign { unit, on: false });
}

/// Loop-out or echo-out, for tempos that cannot be synced, and why in words. An echo-out
/// when A's last bar would not loop well (sung, or a drifting tempo) or when the set winds
/// down (the energy flow asks for it, or, holding steady, B is slower or calmer: a loop
/// roll builds tension, an echo lets A dissolve); a loop-out when the set builds into B.
fn unsynced_technique(
    a: &PlanTrack<'_>,
    b: &PlanTrack<'_>,
    ga: &Grid,
    outro: Option<usize>,
    earliest: f64,
    flow: EnergyFlow,
) -> (Technique, Option<String>) {
    let (aa, ba) = (a.analysis, b.analysis);
    // The bar a loop-out would repeat.
    let (loop_at, _) = out_point(ga, outro, 4, earliest, a.vocals);
    let sung = a.vocals.is_some_and(|v| {
        let peak = v.iter().copied().fold(0.0f32, f32::max);
        peak > 0.0
            && v.iter()
                .skip(loop_at as usize)
                .take(ga.bpb)
                .any(|&x| x > 0.2 * peak)
    });
    let tempos = format!("{:.0} → {:.0} BPM", aa.bpm, ba.bpm);
    let energy = format!("energy {} → {}", aa.energy, ba.energy);
    let (slower, calmer) = (ba.bpm < aa.bpm, ba.energy < aa.energy);
    let (technique, why) = if sung {
        (
            Technique::EchoOut,
            "A sings in the bar a loop-out would repeat, so an echo lets the phrase trail off"
                .to_string(),
        )
    } else if !aa.constant_tempo {
        (
            Technique::EchoOut,
            "A's tempo drifts, so its last bar would not loop cleanly: an echo instead".to_string(),
        )
    } else if flow == EnergyFlow::Down {
        (
            Technique::EchoOut,
            format!("the set winds down ({tempos}, {energy}): A's echo dissolves rather than a loop roll building tension"),
        )
    } else if flow == EnergyFlow::Steady && (slower || calmer) {
        (
            Technique::EchoOut,
            format!(
                "B is {} ({tempos}, {energy}): A's echo dissolves rather than a loop roll building tension into it",
                if slower { "slower" } else { "calmer" }
            ),
        )
    } else {
        (
            Technique::LoopOut,
            format!("the set builds ({tempos}, {energy}): A's halving loop rolls into B"),
        )
    };
    (technique, Some(why))
}
/// B's tempo fader returns to 0 % over this many bars after it takes the lead.
const TEMPO_RETURN_BARS: f64 = 16.0;

/// A's mix-out beat for a blend of `bars`: its outro start if the blend fits after it,
/// else the last phrase boundary (8 bars, else 4, else 1 from the first downbeat) that
/// leaves room for it; never where a vocal phrase runs across the boundary (with stems).
fn out_point(
    g: &Grid,
    outro: Option<usize>,
    bars: usize,
    earliest: f64,
    vocals: Option<&[f32]>,
) -> (f64, String) {
    let len = bars * g.bpb;
    // The blend may run to the end of A's last beat.
    let fits = |b: usize| b + len <= g.beats && b as f64 >= earliest;
    let sung_across = |b: usize| {
        vocals.is_some_and(|v| {
            let level = |i: usize| v.get(i).copied().unwrap_or(0.0);
            let peak = v.iter().copied().fold(0.0f32, f32::max);
            // Vocals in the beat before and the beat after the boundary.
            peak > 0.0 && b > 0 && level(b - 1) > 0.2 * peak && level(b) > 0.2 * peak
        })
    };
    if let Some(o) = outro.filter(|o| fits(*o) && !sung_across(*o)) {
        return (o as f64, format!("A leaves at its outro ({bars} bars)"));
    }
    for phrase in [8usize, 4, 1] {
        let step = phrase * g.bpb;
        let mut b = g.first_down;
        let mut best = None;
        while b + len <= g.beats {
            if fits(b) && !sung_across(b) && outro.is_none_or(|o| b <= o) {
                best = Some(b);
            }
            b += step;
        }
        if let Some(b) = best {
            return (
                b as f64,
                format!("A leaves on its last {phrase}-bar phrase boundary that leaves room for {bars} bars"),
            );
        }
    }
    // Too short for the blend: as late as the track allows, on a downbeat.
    let b = g.beats.saturating_sub(len);
    let b = g.first_down + (b.saturating_sub(g.first_down) / g.bpb) * g.bpb;
    (
        b.max(g.first_down) as f64,
        "A is short: the blend starts on its last downbeat that leaves room".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_go_by_the_engines_stable_names_in_json() {
        for e in Effect::ALL {
            let a = Action::FxSetup {
                unit: 1,
                effect: e,
                beats: 0.5,
                knobs: [0.1, 0.2, 0.3],
            };
            let v = serde_json::to_value(a).unwrap();
            assert_eq!(v["effect"], e.name());
            assert_eq!(serde_json::from_value::<Action>(v).unwrap(), a);
        }
        let bad = serde_json::json!({"do": "fx_setup", "unit": 0, "effect": "wobble",
            "beats": 1.0, "knobs": [0.0, 0.0, 0.0]});
        let err = serde_json::from_value::<Action>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("wobble") && err.contains("ping_pong"), "{err}");
    }
    use segue_analysis::{Cue, Section};

    /// A 4/4 track at `bpm` with `bars` bars, an intro and an outro of `outro` bars.
    fn track(bpm: f64, bars: usize, outro: usize, key: &str) -> Analysis {
        let beat = 60.0 / bpm;
        let beats: Vec<f64> = (0..bars * 4).map(|i| 0.5 + i as f64 * beat).collect();
        let downbeats: Vec<f64> = beats.iter().step_by(4).copied().collect();
        let dur = beats.last().unwrap() + beat;
        let outro_start = beats[(bars - outro) * 4];
        Analysis {
            duration: dur,
            bpm,
            beats: beats.clone(),
            downbeats,
            beats_per_bar: 4,
            constant_tempo: true,
            half_time: false,
            key: key.into(),
            camelot: String::new(),
            open_key: String::new(),
            key_confidence: 0.9,
            key_runner_up: None,
            lufs: -9.0,
            loudness_range: 5.0,
            true_peak_db: -0.5,
            energy: 6,
            sections: vec![
                Section {
                    start: 0.5,
                    end: beats[32],
                    label: SectionLabel::Intro,
                    energy: 4,
                },
                Section {
                    start: beats[32],
                    end: outro_start,
                    label: SectionLabel::Drop,
                    energy: 8,
                },
                Section {
                    start: outro_start,
                    end: dur,
                    label: SectionLabel::Outro,
                    energy: 4,
                },
            ],
            cues: vec![Cue {
                time: beats[4],
                name: "mix in".into(),
            }],
            analyser_version: 0,
            dna_version: 0,
            dna: vec![],
        }
    }

    fn plan(a: &Analysis, b: &Analysis, flow: EnergyFlow) -> TransitionPlan {
        plan_transition(
            &PlanTrack {
                name: "a",
                analysis: a,
                vocals: None,
            },
            &PlanTrack {
                name: "b",
                analysis: b,
                vocals: None,
            },
            &PlanOptions {
                prefs: Prefs {
                    flow,
                    ..Prefs::default()
                },
                ..PlanOptions::default()
            },
        )
    }

    #[test]
    fn a_blend_starts_on_the_outro_and_b_on_its_mix_in_cue() {
        let a = track(124.0, 96, 16, "8A");
        let b = track(126.0, 96, 16, "9A");
        let p = plan(&a, &b, EnergyFlow::Steady);
        assert_eq!(p.technique, Technique::BassSwap);
        assert!(p.synced);
        assert_eq!(p.out_beat, (80 * 4) as f64, "{}", p.reason);
        assert_eq!(p.in_beat, 4.0);
        assert_eq!(
            p.bars, 8,
            "16-bar outro, blend must end before the last beat"
        );
        assert_eq!(p.out_beat % 4.0, 0.0);
        // Steps are in beat order and inside the blend.
        let beats: Vec<f64> = p.steps.iter().filter_map(|s| s.beat).collect();
        assert!(beats.windows(2).all(|w| w[0] <= w[1]));
        assert!(beats.iter().all(|b| *b >= p.out_beat && *b <= p.end_beat));
        // JSON round trip with a version.
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"version\":2"));
        let back: TransitionPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn techniques_follow_tempo_key_stems_and_flow() {
        let a = track(124.0, 96, 16, "8A");
        // Tempos that cannot be synced: an echo-out into a slower track, a loop-out into a
        // faster one, the energy flow deciding when it says where the set goes.
        let slow = track(90.0, 96, 16, "8A");
        let p = plan(&a, &slow, EnergyFlow::Steady);
        assert_eq!(p.technique, Technique::EchoOut);
        assert!(p.reason.contains("B is slower"), "{}", p.reason);
        assert_eq!(
            plan(&a, &slow, EnergyFlow::Up).technique,
            Technique::LoopOut
        );
        let fast = plan(&track(90.0, 96, 16, "8A"), &a, EnergyFlow::Steady);
        assert_eq!(fast.technique, Technique::LoopOut);
        assert!(fast.reason.contains("builds"), "{}", fast.reason);
        assert_eq!(
            plan(&track(90.0, 96, 16, "8A"), &a, EnergyFlow::Down).technique,
            Technique::EchoOut
        );
        assert_eq!(
            plan(&a, &track(125.0, 96, 16, "3B"), EnergyFlow::Steady).technique,
            Technique::FilterSweep
        );
        let cut = plan(&a, &track(125.0, 96, 16, "8A"), EnergyFlow::Peak);
        assert_eq!(cut.technique, Technique::Cut);
        assert_eq!(cut.in_beat, 32.0, "cut into B's drop");
        let v = vec![0.0f32; 400];
        let b = track(125.0, 96, 16, "8A");
        let p = plan_transition(
            &PlanTrack {
                name: "a",
                analysis: &a,
                vocals: Some(&v),
            },
            &PlanTrack {
                name: "b",
                analysis: &b,
                vocals: Some(&v),
            },
            &PlanOptions::default(),
        );
        assert_eq!(p.technique, Technique::StemSwap);
        // Never two vocals: B's vocals come up only after A's are down.
        let when = |role, gain: f32| {
            p.steps
                .iter()
                .find(|s| {
                    s.role == role
                        && s.beat.is_some()
                        && s.action
                            == Action::Stem {
                                stem: StemName::Vocals,
                                gain,
                            }
                })
                .and_then(|s| s.beat)
                .unwrap()
        };
        assert!(when(Role::In, 1.0) > when(Role::Out, 0.0));
    }

    #[test]
    fn an_echo_out_cuts_a_on_a_phrase_downbeat_and_lets_the_echo_ring_out() {
        let a = track(124.0, 96, 16, "8A");
        let b = track(90.0, 96, 16, "8A");
        let p = plan(&a, &b, EnergyFlow::Steady);
        assert_eq!(p.technique, Technique::EchoOut);
        assert!(!p.synced);
        let cut = p.in_start_beat;
        // The cut is A's outro (a phrase boundary), the echo starts a bar before it, the
        // tail rings two bars.
        assert_eq!(cut, (80 * 4) as f64, "{}", p.reason);
        assert_eq!(p.out_beat, cut - 4.0);
        assert_eq!(p.end_beat, cut + 8.0);
        let at = |role, f: &dyn Fn(&Action) -> bool| {
            p.steps
                .iter()
                .filter(|s| s.role == role && f(&s.action))
                .map(|s| s.beat)
                .collect::<Vec<_>>()
        };
        let u = TRANSITION_FX_UNIT;
        assert_eq!(
            at(
                Role::Out,
                &|a| matches!(a, Action::FxSetup { effect: Effect::Echo, unit, .. } if *unit == u)
            ),
            vec![Some(p.out_beat)]
        );
        assert_eq!(
            at(Role::Out, &|a| *a == Action::FxOn { unit: u, on: true }),
            vec![Some(p.out_beat)]
        );
        // A's dry signal cut on the downbeat where B starts; A stops (and the unit goes off)
        // once the tail is down.
        assert_eq!(
            at(Role::Out, &|a| *a == Action::Volume { level: 0.0 }),
            vec![Some(cut)]
        );
        assert_eq!(
            at(Role::In, &|a| *a == Action::Play { on: true }),
            vec![Some(cut)]
        );
        assert_eq!(
            at(Role::Out, &|a| *a == Action::Play { on: false }),
            vec![Some(p.end_beat)]
        );
        assert_eq!(
            at(Role::Out, &|a| *a == Action::FxOn { unit: u, on: false }),
            vec![Some(p.end_beat)]
        );
        // The tail's feedback fades the repeats to −40 dB over the two bars.
        let Some(Action::FxKnob { value, .. }) = p
            .steps
            .iter()
            .find(|s| matches!(s.action, Action::FxKnob { knob: 0, .. }))
            .map(|s| s.action)
        else {
            panic!("no feedback step")
        };
        let beats = echo_beats(124.0) as f64;
        let db = 20.0 * (value * segue_engine::ECHO_MAX_FEEDBACK).log10() as f64 * 8.0 / beats;
        assert!((db + 40.0).abs() < 0.01, "{db} dB");
        assert!(
            p.reason.starts_with("echo out: B is slower"),
            "{}",
            p.reason
        );
    }

    #[test]
    fn plans_of_version_1_read_and_newer_versions_are_refused() {
        let a = track(124.0, 96, 16, "8A");
        let b = track(125.0, 96, 16, "8A");
        let p = plan(&a, &b, EnergyFlow::Steady);
        let mut v = serde_json::to_value(&p).unwrap();
        v["version"] = 1.into();
        let old = TransitionPlan::from_json(&v.to_string()).unwrap();
        assert_eq!(old.version, 1);
        assert_eq!(old.steps, p.steps);
        v["version"] = 3.into();
        let e = TransitionPlan::from_json(&v.to_string()).unwrap_err();
        assert!(e.contains("version 3"), "{e}");
        assert!(TransitionPlan::from_json("{}").is_err());
        // The current version round-trips, FX steps included.
        let echo = plan(&a, &track(90.0, 96, 16, "8A"), EnergyFlow::Steady);
        let json = serde_json::to_string(&echo).unwrap();
        assert!(
            json.contains("\"technique\":\"echo_out\"") && json.contains("\"do\":\"fx_setup\"")
        );
        assert_eq!(TransitionPlan::from_json(&json).unwrap(), echo);
    }

    #[test]
    fn a_short_track_still_gets_a_downbeat_plan() {
        let a = track(124.0, 12, 2, "8A");
        let b = track(124.0, 12, 2, "8A");
        let p = plan(&a, &b, EnergyFlow::Steady);
        assert_eq!(p.out_beat % 4.0, 0.0);
        assert!(p.end_beat <= 47.0, "{p:?}");
    }

    /// A transition plan is data (JSON) that may come from outside: seeded mutations of a
    /// real plan, 10 000 per run (`SEGUE_FUZZ_CASES`), parse or give a serde error, never
    /// panic; a plan that parses is run by the [`crate::runner::PlanRunner`] against a
    /// playing deck A until done: every command it emits addresses one of the two decks and
    /// is due no earlier than the frame it was polled at.
    #[test]
    fn mutated_plan_json_parses_and_runs_or_is_rejected() {
        use crate::runner::PlanRunner;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngSeed, TestRunner};

        let a = track(124.0, 96, 16, "8A");
        let b = track(126.0, 96, 16, "9A");
        let seed = serde_json::to_string_pretty(&plan(&a, &b, EnergyFlow::Steady)).unwrap();
        const TOKENS: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "null",
            "true",
            "-1",
            "-1e300",
            "1e300",
            "0",
            "4294967296",
            "\"beat\": 1e308",
            "\"role\": \"in\"",
            "\"action\"",
            "\"play\"",
            "\"seek_beat\"",
            "\"tempo\"",
            "\"percent\": -1e9",
            "\"eq\"",
            "\"band\": \"low\"",
            "\"gain\": 1e38",
            "\"beat_loop\"",
            "\"beats\": 0",
        ];
        let cases = std::env::var("SEGUE_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let mut runner = TestRunner::new(Config {
            cases,
            rng_seed: RngSeed::Fixed(0x9e1a_2011),
            failure_persistence: None,
            ..Config::default()
        });
        let ran = std::cell::Cell::new(0usize);
        let edit = (any::<usize>(), any::<usize>(), 1usize..24, any::<bool>());
        let result = runner.run(&proptest::collection::vec(edit, 1..5), |edits| {
            let mut text = seed.clone();
            let boundary = |s: &str, mut i: usize| {
                i = i.min(s.len());
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                i
            };
            for (at, tok, len, insert) in edits {
                let at = boundary(&text, at % (text.len() + 1));
                if insert {
                    text.insert_str(at, TOKENS[tok % TOKENS.len()]);
                } else {
                    let end = boundary(&text, at + len);
                    text.replace_range(at..end, "");
                }
            }
            let Ok(plan) = serde_json::from_str::<TransitionPlan>(&text) else {
                return Ok(());
            };
            ran.set(ran.get() + 1);
            let mut r = PlanRunner::new(&plan, 0, 1, 48_000);
            let mut status = segue_engine::Status {
                sample_rate: 48_000,
                deck_count: 2,
                ..segue_engine::Status::default()
            };
            let a = &mut status.decks[0];
            (a.loaded, a.playing, a.bpm, a.has_grid) = (true, true, 124.0, true);
            let mut out = Vec::new();
            // Ten minutes of A at 124 BPM in 100 ms polls (a plan outlasting that waits).
            for _ in 0..6_000 {
                out.clear();
                r.poll(&status, 4_800, &mut out);
                for (at, c) in &out {
                    prop_assert!(
                        *at >= status.frame,
                        "{:?} due at {} before {}",
                        c,
                        at,
                        status.frame
                    );
                    let deck = c.deck().unwrap_or(0);
                    prop_assert!(deck <= 1, "{:?} addresses deck {}", c, deck);
                }
                if r.done() {
                    break;
                }
                status.frame += 4_800;
                status.decks[0].beat += 124.0 / 60.0 * 0.1;
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        assert!(ran.get() > 0, "no mutant was still a plan");
    }
}
