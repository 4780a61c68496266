//! What a control drives (targets) and what an LED shows (sources), with their stable
//! mapping-file names.

use std::fmt;

use segue_engine::{EqBand, Stem};

/// How a target reacts to a control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetKind {
    /// An on/off state the engine reports (play, sync, PFL…): `button` holds it while
    /// pressed, `toggle` flips it on each press.
    Switch,
    /// Active while held (CDJ cue, loop roll, bend buttons, jog touch); `toggle` latches it.
    Momentary,
    /// Fires once on press (hot cue, reloop, eject…).
    Trigger,
    /// A value in `min..=max` set by a fader or an encoder.
    Continuous {
        /// Lowest value.
        min: f32,
        /// Highest value.
        max: f32,
    },
    /// A jog wheel (relative ticks: nudge, or scratch while touched).
    Jog,
}

/// Something a control drives. Deck targets need a `deck` in the mapping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Play / pause.
    Play,
    /// CDJ cue button (held).
    Cue,
    /// Set the main cue point at the playhead.
    CueSet,
    /// Jump to the main cue point.
    CueReturn,
    /// Sync on/off.
    Sync,
    /// Key lock on/off.
    KeyLock,
    /// Quantize on/off.
    Quantize,
    /// Pre-fader listen on/off.
    Pfl,
    /// Eject the track.
    Eject,
    /// Hot cue pad 0..=7 (written 1..=8): jump, or set when empty.
    HotCue(u8),
    /// Clear hot cue 0..=7.
    HotCueClear(u8),
    /// Beat loop of this many beats (on = loop, off = exit).
    BeatLoop(f32),
    /// Loop roll of this many beats while held.
    LoopRoll(f32),
    /// Exit the loop if looping, else reloop.
    LoopToggle,
    /// Exit the loop.
    LoopExit,
    /// Re-enable the last loop.
    Reloop,
    /// Halve the loop length.
    LoopHalve,
    /// Double the loop length.
    LoopDouble,
    /// Temporary pitch bend up while held.
    BendUp,
    /// Temporary pitch bend down while held.
    BendDown,
    /// Cycle the tempo fader range ±8 → ±16 → ±50 %.
    TempoRangeCycle,
    /// Kill an EQ band while on.
    EqKill(EqBand),
    /// Mute a stem while on.
    StemMute(Stem),
    /// Channel fader 0..1.
    Volume,
    /// Tempo fader in percent (default ±8).
    Tempo,
    /// EQ band gain 0..2 (1 = flat).
    Eq(EqBand),
    /// One-knob filter −1..1.
    Filter,
    /// Trim in dB (default −12..12).
    Trim,
    /// Stem gain 0..1.
    StemGain(Stem),
    /// Pitch bend in percent −10..10.
    Bend,
    /// Key shift in semitones −12..12.
    KeyShift,
    /// Jog wheel.
    Jog,
    /// Jog wheel touch sensor (scratch while held).
    JogTouch,
    /// Crossfader −1 (A) .. 1 (B).
    Crossfader,
    /// Crossfader curve 0 (smooth) .. 1 (sharp).
    CrossfaderCurve,
    /// Master gain 0..2.
    MasterGain,
    /// Headphone gain 0..2.
    HeadphoneGain,
    /// Headphone cue/master blend 0..1.
    CueMix,
}

const BANDS: [(&str, EqBand); 3] = [
    ("low", EqBand::Low),
    ("mid", EqBand::Mid),
    ("high", EqBand::High),
];
const STEMS: [(&str, Stem); 4] = [
    ("drums", Stem::Drums),
    ("bass", Stem::Bass),
    ("other", Stem::Other),
    ("vocals", Stem::Vocals),
];

/// Beat-loop lengths the engine accepts, 1/32..=64.
fn loop_beats(s: &str) -> Option<f32> {
    let v = if let Some((a, b)) = s.split_once('/') {
        a.parse::<f32>().ok()? / b.parse::<f32>().ok()?
    } else {
        s.parse::<f32>().ok()?
    };
    (v.is_finite() && (1.0 / 32.0..=64.0).contains(&v)).then_some(v)
}

fn fmt_beats(b: f32) -> String {
    if b >= 1.0 {
        format!("{b}")
    } else {
        format!("1/{}", (1.0 / b).round())
    }
}

impl Target {
    /// Simple targets and their names (parametrised ones are listed by [`Target::names`]).
    const SIMPLE: &'static [(&'static str, Target)] = &[
        ("play", Target::Play),
        ("cue", Target::Cue),
        ("cue_set", Target::CueSet),
        ("cue_return", Target::CueReturn),
        ("sync", Target::Sync),
        ("keylock", Target::KeyLock),
        ("quantize", Target::Quantize),
        ("pfl", Target::Pfl),
        ("eject", Target::Eject),
        ("loop_toggle", Target::LoopToggle),
        ("loop_exit", Target::LoopExit),
        ("reloop", Target::Reloop),
        ("loop_halve", Target::LoopHalve),
        ("loop_double", Target::LoopDouble),
        ("bend_up", Target::BendUp),
        ("bend_down", Target::BendDown),
        ("tempo_range", Target::TempoRangeCycle),
        ("volume", Target::Volume),
        ("tempo", Target::Tempo),
        ("filter", Target::Filter),
        ("trim", Target::Trim),
        ("bend", Target::Bend),
        ("key_shift", Target::KeyShift),
        ("jog", Target::Jog),
        ("jog_touch", Target::JogTouch),
        ("crossfader", Target::Crossfader),
        ("crossfader_curve", Target::CrossfaderCurve),
        ("master_gain", Target::MasterGain),
        ("headphone_gain", Target::HeadphoneGain),
        ("cue_mix", Target::CueMix),
    ];

    /// Parse a mapping-file target name (`play`, `hotcue_3`, `beatloop_1/2`, `eq_low`…).
    pub fn from_name(s: &str) -> Option<Target> {
        if let Some(&(_, t)) = Self::SIMPLE.iter().find(|(n, _)| *n == s) {
            return Some(t);
        }
        let idx = |n: &str| {
            n.parse::<u8>()
                .ok()
                .filter(|i| (1..=8).contains(i))
                .map(|i| i - 1)
        };
        if let Some(n) = s.strip_prefix("hotcue_clear_") {
            return idx(n).map(Target::HotCueClear);
        }
        if let Some(n) = s.strip_prefix("hotcue_") {
            return idx(n).map(Target::HotCue);
        }
        if let Some(n) = s.strip_prefix("beatloop_") {
            return loop_beats(n).map(Target::BeatLoop);
        }
        if let Some(n) = s.strip_prefix("loop_roll_") {
            return loop_beats(n).map(Target::LoopRoll);
        }
        if let Some(n) = s.strip_prefix("stem_mute_") {
            return STEMS
                .iter()
                .find(|(k, _)| *k == n)
                .map(|&(_, st)| Target::StemMute(st));
        }
        if let Some(n) = s.strip_prefix("stem_") {
            return STEMS
                .iter()
                .find(|(k, _)| *k == n)
                .map(|&(_, st)| Target::StemGain(st));
        }
        if let Some(n) = s.strip_prefix("eq_") {
            if let Some(b) = n.strip_suffix("_kill") {
                return BANDS
                    .iter()
                    .find(|(k, _)| *k == b)
                    .map(|&(_, b)| Target::EqKill(b));
            }
            return BANDS
                .iter()
                .find(|(k, _)| *k == n)
                .map(|&(_, b)| Target::Eq(b));
        }
        None
    }

    /// The mapping-file name (the inverse of [`Target::from_name`]).
    pub fn name(&self) -> String {
        if let Some((n, _)) = Self::SIMPLE.iter().find(|(_, t)| t == self) {
            return (*n).to_string();
        }
        let band = |b: EqBand| BANDS.iter().find(|(_, x)| *x == b).map_or("?", |x| x.0);
        let stem = |s: Stem| STEMS.iter().find(|(_, x)| *x == s).map_or("?", |x| x.0);
        match *self {
            Target::HotCue(i) => format!("hotcue_{}", i + 1),
            Target::HotCueClear(i) => format!("hotcue_clear_{}", i + 1),
            Target::BeatLoop(b) => format!("beatloop_{}", fmt_beats(b)),
            Target::LoopRoll(b) => format!("loop_roll_{}", fmt_beats(b)),
            Target::EqKill(b) => format!("eq_{}_kill", band(b)),
            Target::Eq(b) => format!("eq_{}", band(b)),
            Target::StemMute(s) => format!("stem_mute_{}", stem(s)),
            Target::StemGain(s) => format!("stem_{}", stem(s)),
            _ => "?".into(),
        }
    }

    /// Every target name, for `segue midi learn` and the docs (parametrised targets with
    /// a representative set of parameters).
    pub fn names() -> Vec<String> {
        let mut v: Vec<String> = Self::SIMPLE.iter().map(|(n, _)| n.to_string()).collect();
        for i in 1..=8 {
            v.push(format!("hotcue_{i}"));
        }
        for i in 1..=8 {
            v.push(format!("hotcue_clear_{i}"));
        }
        for b in ["1/4", "1/2", "1", "2", "4", "8", "16", "32"] {
            v.push(format!("beatloop_{b}"));
        }
        for b in ["1/16", "1/8", "1/4", "1/2", "1"] {
            v.push(format!("loop_roll_{b}"));
        }
        for (b, _) in BANDS {
            v.push(format!("eq_{b}"));
            v.push(format!("eq_{b}_kill"));
        }
        for (s, _) in STEMS {
            v.push(format!("stem_{s}"));
            v.push(format!("stem_mute_{s}"));
        }
        v
    }

    /// How the target reacts to a control.
    pub fn kind(&self) -> TargetKind {
        use Target::*;
        let c = |min, max| TargetKind::Continuous { min, max };
        match self {
            Play | Sync | KeyLock | Quantize | Pfl | BeatLoop(_) | EqKill(_) | StemMute(_) => {
                TargetKind::Switch
            }
            Cue | LoopRoll(_) | BendUp | BendDown | JogTouch => TargetKind::Momentary,
            CueSet | CueReturn | Eject | HotCue(_) | HotCueClear(_) | LoopToggle | LoopExit
            | Reloop | LoopHalve | LoopDouble | TempoRangeCycle => TargetKind::Trigger,
            Volume => c(0.0, 1.0),
            Tempo => c(-8.0, 8.0),
            Eq(_) => c(0.0, 2.0),
            Filter => c(-1.0, 1.0),
            Trim => c(-12.0, 12.0),
            StemGain(_) => c(0.0, 1.0),
            Bend => c(-10.0, 10.0),
            KeyShift => c(-12.0, 12.0),
            Crossfader => c(-1.0, 1.0),
            CrossfaderCurve => c(0.0, 1.0),
            MasterGain => c(0.0, 2.0),
            HeadphoneGain => c(0.0, 2.0),
            CueMix => c(0.0, 1.0),
            Jog => TargetKind::Jog,
        }
    }

    /// Whether the target belongs to a deck (and so needs `deck = N` in a mapping).
    pub fn is_deck(&self) -> bool {
        !matches!(
            self,
            Target::Crossfader
                | Target::CrossfaderCurve
                | Target::MasterGain
                | Target::HeadphoneGain
                | Target::CueMix
        )
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// What an output (LED, meter) shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// Deck playing.
    Play,
    /// Cue LED: previewing, or paused on the cue point.
    Cue,
    /// Sync on.
    Sync,
    /// Key lock on.
    KeyLock,
    /// Quantize on (as last set from this controller).
    Quantize,
    /// PFL on.
    Pfl,
    /// A loop is active.
    Loop,
    /// A loop roll is held.
    Roll,
    /// Hot cue 0..=7 is set.
    HotCue(u8),
    /// A track is loaded.
    Loaded,
    /// Lit for the first quarter of each beat while playing.
    Beat,
    /// This deck is on air.
    OnAir,
    /// This deck is the sync leader.
    SyncLeader,
    /// Deck level meter (peak, dB scale −48..0 → 0..1).
    Vu,
    /// Master level meter.
    VuMaster,
}

impl Source {
    const NAMES: &'static [(&'static str, Source)] = &[
        ("play", Source::Play),
        ("cue", Source::Cue),
        ("sync", Source::Sync),
        ("keylock", Source::KeyLock),
        ("quantize", Source::Quantize),
        ("pfl", Source::Pfl),
        ("loop", Source::Loop),
        ("loop_roll", Source::Roll),
        ("loaded", Source::Loaded),
        ("beat", Source::Beat),
        ("on_air", Source::OnAir),
        ("sync_leader", Source::SyncLeader),
        ("vu", Source::Vu),
        ("vu_master", Source::VuMaster),
    ];

    /// Parse a mapping-file source name (`play`, `hotcue_2`, `vu`…).
    pub fn from_name(s: &str) -> Option<Source> {
        if let Some(&(_, t)) = Self::NAMES.iter().find(|(n, _)| *n == s) {
            return Some(t);
        }
        let i = s.strip_prefix("hotcue_")?.parse::<u8>().ok()?;
        (1..=8).contains(&i).then_some(Source::HotCue(i - 1))
    }

    /// The mapping-file name.
    pub fn name(&self) -> String {
        match self {
            Source::HotCue(i) => format!("hotcue_{}", i + 1),
            s => Self::NAMES
                .iter()
                .find(|(_, x)| x == s)
                .map_or("?", |x| x.0)
                .to_string(),
        }
    }

    /// Every source name.
    pub fn names() -> Vec<String> {
        let mut v: Vec<String> = Self::NAMES.iter().map(|(n, _)| n.to_string()).collect();
        v.extend((1..=8).map(|i| format!("hotcue_{i}")));
        v
    }

    /// Whether the source belongs to a deck.
    pub fn is_deck(&self) -> bool {
        !matches!(self, Source::VuMaster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_round_trips() {
        for n in Target::names() {
            let t = Target::from_name(&n).unwrap_or_else(|| panic!("{n}"));
            assert_eq!(t.name(), n);
        }
        for n in Source::names() {
            let s = Source::from_name(&n).unwrap_or_else(|| panic!("{n}"));
            assert_eq!(s.name(), n);
        }
    }

    #[test]
    fn rejects_out_of_range_parameters() {
        assert_eq!(Target::from_name("hotcue_0"), None);
        assert_eq!(Target::from_name("hotcue_9"), None);
        assert_eq!(Target::from_name("beatloop_128"), None);
        assert_eq!(Target::from_name("beatloop_1/64"), None);
        assert_eq!(Target::from_name("eq_sub"), None);
        assert_eq!(
            Target::from_name("beatloop_0.5"),
            Some(Target::BeatLoop(0.5))
        );
        assert_eq!(Source::from_name("hotcue_9"), None);
    }
}
