//! What a control drives (targets) and what an LED shows (sources), with their stable
//! names: **the control vocabulary** of Segue. A [`Target`] and a [`Value`] become an engine
//! [`Command`] in one place, [`Target::command`]; MIDI mappings, the daemon's OSC addresses
//! (`/segue/deck/{n}/<target>`, `/segue/mixer/<target>`) and the plugin's parameters and
//! MIDI all go through it, under the names listed by [`Target::catalog`]. Older spellings
//! stay accepted as documented aliases ([`TARGET_ALIASES`]).

use std::fmt;

use segue_engine::{
    Command, CrossfaderSide, DeckId, Effect, EqBand, FxMode, Position, Status, Stem, TempoRange,
    FX_PARAMS, FX_SLOTS, FX_UNITS,
};

/// Older or other names of targets, accepted everywhere a target name is read (mapping
/// files, OSC addresses, the plugin's saved MIDI mapping): (alias, canonical name). The
/// plugin's parameter IDs (`xfader`, `master`, `vol`, `eqlow`…) are frozen contracts with
/// saved host projects; they are these aliases too.
pub const TARGET_ALIASES: &[(&str, &str)] = &[
    ("xfader", "crossfader"),
    ("master", "master_gain"),
    ("keyshift", "key_shift"),
    ("key_lock", "keylock"),
    ("vol", "volume"),
    ("eqlow", "eq_low"),
    ("eqmid", "eq_mid"),
    ("eqhigh", "eq_high"),
    ("drums", "stem_drums"),
    ("bass", "stem_bass"),
    ("other", "stem_other"),
    ("vocals", "stem_vocals"),
];

/// What a control sends to its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A button went down (`true`) or up; also an OSC message without an argument (a press).
    Press(bool),
    /// A number in the target's units (fader position, semitones, seconds, beats, ms…).
    Number(f64),
}

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
    /// A number in its own units with no fader range (seconds, beats, milliseconds, a
    /// deck number): sent over OSC; a MIDI mapping cannot bind it to a fader.
    Value,
    /// Steps with no value of their own (the library browser's list): an encoder's
    /// ticks move by that many items.
    Relative,
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
    /// A stem's one-knob filter −1..1.
    StemFilter(Stem),
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
    /// Pause (a trigger: play off).
    Pause,
    /// Jump to a position, seconds.
    Seek,
    /// Jump to a beat index.
    SeekBeats,
    /// Move the playhead by milliseconds.
    Nudge,
    /// Beat loop of the value's beats (1/32..64); 0 = exit.
    Loop,
    /// Set hot cue 0..=7 (written 1..=8) at the playhead (press) or at seconds (number).
    HotCueSet(u8),
    /// Which crossfader side the deck is on: −1 A, 0 thru, 1 B.
    CrossfaderAssign,
    /// Channel fader curve 0 (slow)..0.5 (linear)..1 (fast).
    ChannelCurve,
    /// Sync leader deck 1..N (0 = automatic).
    SyncLeader,
    /// Load suggestion 0..=9 (written 1..=10) for the deck on air onto the free deck: a
    /// [`LiveAction`] for the shell, not an engine command.
    SuggestionLoad(u8),
    /// Auto DJ on/off (flips on each press): a [`LiveAction`].
    AutoDjToggle,
    /// Start the planned transition from the deck on air to the track waiting on another
    /// deck, once (Auto DJ need not be on): a [`LiveAction`].
    TransitionStart,
    /// Start recording the set if it is not recording, else stop (flips on each press): a
    /// [`LiveAction`] for the shell's recorder.
    RecordToggle,
    /// Start recording the set (nothing when it records already): a [`LiveAction`].
    RecordStart,
    /// Stop recording the set (nothing when it does not record): a [`LiveAction`].
    RecordStop,
    /// Ableton Link on/off (flips on each press): a [`LiveAction`] for the daemon.
    LinkToggle,
    /// FX unit 0..=1 (written 1..=2) on/off.
    FxOn(u8),
    /// FX unit in chain mode (three slots in series) / off: one effect (slot 1).
    FxChain(u8),
    /// FX unit dry/wet 0..1.
    FxMix(u8),
    /// The FX unit processes the master (its deck assignments are then ignored).
    FxMaster(u8),
    /// The deck goes through FX unit 0..=1 (a deck target).
    FxAssign(u8),
    /// A slot's effect (unit, slot 0..=2, written 1..=3): 0 none, 1.. the effects in
    /// [`Effect::ALL`] order (a fader or an encoder steps through them).
    FxEffect(u8, u8),
    /// A slot's on switch (unit, slot).
    FxSlotOn(u8, u8),
    /// A slot's knob (unit, slot, knob 0..=2, written 1..=3), 0..1.
    FxKnob(u8, u8, u8),
    /// A slot's beat length 1/16..32 (unit, slot).
    FxBeats(u8, u8),
    /// Halve a slot's beat length (unit, slot).
    FxBeatsHalve(u8, u8),
    /// Double a slot's beat length (unit, slot).
    FxBeatsDouble(u8, u8),
    /// The library browser's list: an encoder scrolls it by its ticks (a
    /// [`LiveAction`] for the shell's browser).
    Browse,
    /// One item down the browser's list (a button).
    BrowseNext,
    /// One item up the browser's list (a button).
    BrowsePrev,
    /// Open the selected folder / view of the browser.
    BrowseEnter,
    /// Back to the parent folder / view.
    BrowseBack,
    /// Cycle the sort of the browser's track list: title → BPM → key → energy.
    BrowseSort,
    /// Load the browser's selected track onto the deck (a deck target).
    LoadSelected,
    /// Set the loop-in point at the playhead (a mapping remembers it; with a loop
    /// running, moves its start).
    LoopIn,
    /// Set the loop-out point at the playhead: loops from the loop-in point (with a loop
    /// running, moves its end).
    LoopOut,
    /// Jump this many beats (negative: back) from the playhead.
    BeatJump(f32),
}

/// What a live target asks of the shell's live service (suggestions, Auto DJ) rather than
/// of the engine: the daemon and the plugin act on it off the audio thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveAction {
    /// Load suggestion N (0-based) onto the free deck.
    LoadSuggestion(u8),
    /// Flip Auto DJ.
    AutoDjToggle,
    /// Perform the planned transition to the track waiting on a free deck.
    StartTransition,
    /// Start recording the set if it is not recording, else stop.
    RecordToggle,
    /// Start recording the set (a new file in the shell's record folder).
    RecordStart,
    /// Stop recording the set.
    RecordStop,
    /// Flip Ableton Link on/off (the daemon; hosts without Link ignore it).
    LinkToggle,
    /// Scroll the browser's list by this many items (negative: up).
    Browse(i16),
    /// Open the browser's selected folder / view.
    BrowseEnter,
    /// Back to the browser's parent folder / view.
    BrowseBack,
    /// Cycle the sort of the browser's track list.
    BrowseSort,
    /// Load the browser's selected track onto this deck (0-based).
    LoadSelected(u8),
}

/// Suggestions a mapping can load (`suggestion_load_1` .. `_10`).
pub const SUGGESTION_TARGETS: u8 = 10;

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

/// `fx{u}_rest` → (unit 0-based, rest).
fn fx_unit(s: &str) -> Option<(u8, &str)> {
    let rest = s.strip_prefix("fx")?;
    let (u, rest) = rest.split_once('_')?;
    let u = one_based(u, FX_UNITS)?;
    Some((u, rest))
}

/// `"1"`..=`"max"` → 0-based.
fn one_based(s: &str, max: usize) -> Option<u8> {
    if s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<usize>()
        .ok()
        .filter(|i| (1..=max).contains(i))
        .map(|i| (i - 1) as u8)
}

/// `slot_{s}_rest` → (slot 0-based, rest).
fn fx_slot(s: &str) -> Option<(u8, &str)> {
    let (n, rest) = s.strip_prefix("slot_")?.split_once('_')?;
    Some((one_based(n, FX_SLOTS)?, rest))
}

/// The FX target of a name (`fx1_on`, `fx2_slot_3_knob_1`…).
fn fx_target(s: &str) -> Option<Target> {
    let (u, rest) = fx_unit(s)?;
    Some(match rest {
        "on" => Target::FxOn(u),
        "chain" => Target::FxChain(u),
        "mix" => Target::FxMix(u),
        "master" => Target::FxMaster(u),
        "assign" => Target::FxAssign(u),
        _ => {
            let (slot, rest) = fx_slot(rest)?;
            match rest {
                "effect" => Target::FxEffect(u, slot),
                "on" => Target::FxSlotOn(u, slot),
                "beats" => Target::FxBeats(u, slot),
                "beats_halve" => Target::FxBeatsHalve(u, slot),
                "beats_double" => Target::FxBeatsDouble(u, slot),
                _ => Target::FxKnob(u, slot, one_based(rest.strip_prefix("knob_")?, FX_PARAMS)?),
            }
        }
    })
}

/// The number of a slot's effect (0 none, 1.. in [`Effect::ALL`] order).
pub fn effect_number(e: Option<Effect>) -> u8 {
    e.and_then(|e| Effect::ALL.iter().position(|&x| x == e))
        .map_or(0, |i| i as u8 + 1)
}

/// The effect of a number (0 none, 1.. in [`Effect::ALL`] order; rounded), `None` outside.
pub fn effect_of_number(n: f64) -> Option<Option<Effect>> {
    let n = n.round();
    if !(0.0..=Effect::ALL.len() as f64).contains(&n) {
        return None;
    }
    Some(match n as usize {
        0 => None,
        i => Some(Effect::ALL[i - 1]),
    })
}

/// The shortest and longest slot beat lengths a target sets.
const FX_BEATS: (f32, f32) = (1.0 / 16.0, 32.0);

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
        ("pause", Target::Pause),
        ("seek", Target::Seek),
        ("seek_beats", Target::SeekBeats),
        ("nudge", Target::Nudge),
        ("loop", Target::Loop),
        ("crossfader_assign", Target::CrossfaderAssign),
        ("channel_curve", Target::ChannelCurve),
        ("sync_leader", Target::SyncLeader),
    ];

    /// Resolve an alias ([`TARGET_ALIASES`]) to its canonical name (other names unchanged).
    pub fn canonical_name(s: &str) -> &str {
        TARGET_ALIASES
            .iter()
            .find(|(a, _)| *a == s)
            .map_or(s, |(_, c)| c)
    }

    /// Parse a target name (`play`, `hotcue_3`, `beatloop_1/2`, `eq_low`…) or one of its
    /// aliases ([`TARGET_ALIASES`]).
    pub fn from_name(s: &str) -> Option<Target> {
        let s = Self::canonical_name(s);
        if let Some(&(_, t)) = Self::SIMPLE.iter().find(|(n, _)| *n == s) {
            return Some(t);
        }
        let idx = |n: &str| {
            n.parse::<u8>()
                .ok()
                .filter(|i| (1..=8).contains(i))
                .map(|i| i - 1)
        };
        match s {
            "autodj_toggle" => return Some(Target::AutoDjToggle),
            "transition_start" => return Some(Target::TransitionStart),
            "record_toggle" => return Some(Target::RecordToggle),
            "record_start" => return Some(Target::RecordStart),
            "record_stop" => return Some(Target::RecordStop),
            "link_toggle" => return Some(Target::LinkToggle),
            "browse" => return Some(Target::Browse),
            "browse_next" => return Some(Target::BrowseNext),
            "browse_prev" => return Some(Target::BrowsePrev),
            "browse_enter" => return Some(Target::BrowseEnter),
            "browse_back" => return Some(Target::BrowseBack),
            "browse_sort" => return Some(Target::BrowseSort),
            "load_selected" => return Some(Target::LoadSelected),
            "loop_in" => return Some(Target::LoopIn),
            "loop_out" => return Some(Target::LoopOut),
            _ => {}
        }
        if let Some(n) = s.strip_prefix("beatjump_forward_") {
            return loop_beats(n).map(Target::BeatJump);
        }
        if let Some(n) = s.strip_prefix("beatjump_backward_") {
            return loop_beats(n).map(|b| Target::BeatJump(-b));
        }
        if s.starts_with("fx") {
            return fx_target(s);
        }
        if let Some(n) = s.strip_prefix("suggestion_load_") {
            return n
                .parse::<u8>()
                .ok()
                .filter(|i| (1..=SUGGESTION_TARGETS).contains(i))
                .map(|i| Target::SuggestionLoad(i - 1));
        }
        if let Some(n) = s.strip_prefix("hotcue_clear_") {
            return idx(n).map(Target::HotCueClear);
        }
        if let Some(n) = s.strip_prefix("hotcue_set_") {
            return idx(n).map(Target::HotCueSet);
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
        if let Some(n) = s.strip_prefix("stem_filter_") {
            return STEMS
                .iter()
                .find(|(k, _)| *k == n)
                .map(|&(_, st)| Target::StemFilter(st));
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
            Target::HotCueSet(i) => format!("hotcue_set_{}", i + 1),
            Target::BeatLoop(b) => format!("beatloop_{}", fmt_beats(b)),
            Target::LoopRoll(b) => format!("loop_roll_{}", fmt_beats(b)),
            Target::EqKill(b) => format!("eq_{}_kill", band(b)),
            Target::Eq(b) => format!("eq_{}", band(b)),
            Target::StemMute(s) => format!("stem_mute_{}", stem(s)),
            Target::StemGain(s) => format!("stem_{}", stem(s)),
            Target::StemFilter(s) => format!("stem_filter_{}", stem(s)),
            Target::SuggestionLoad(i) => format!("suggestion_load_{}", i + 1),
            Target::AutoDjToggle => "autodj_toggle".into(),
            Target::TransitionStart => "transition_start".into(),
            Target::RecordToggle => "record_toggle".into(),
            Target::RecordStart => "record_start".into(),
            Target::RecordStop => "record_stop".into(),
            Target::LinkToggle => "link_toggle".into(),
            Target::Browse => "browse".into(),
            Target::BrowseNext => "browse_next".into(),
            Target::BrowsePrev => "browse_prev".into(),
            Target::BrowseEnter => "browse_enter".into(),
            Target::BrowseBack => "browse_back".into(),
            Target::BrowseSort => "browse_sort".into(),
            Target::LoadSelected => "load_selected".into(),
            Target::LoopIn => "loop_in".into(),
            Target::LoopOut => "loop_out".into(),
            Target::BeatJump(b) if b < 0.0 => format!("beatjump_backward_{}", fmt_beats(-b)),
            Target::BeatJump(b) => format!("beatjump_forward_{}", fmt_beats(b)),
            Target::FxOn(u) => format!("fx{}_on", u + 1),
            Target::FxChain(u) => format!("fx{}_chain", u + 1),
            Target::FxMix(u) => format!("fx{}_mix", u + 1),
            Target::FxMaster(u) => format!("fx{}_master", u + 1),
            Target::FxAssign(u) => format!("fx{}_assign", u + 1),
            Target::FxEffect(u, s) => format!("fx{}_slot_{}_effect", u + 1, s + 1),
            Target::FxSlotOn(u, s) => format!("fx{}_slot_{}_on", u + 1, s + 1),
            Target::FxKnob(u, s, p) => format!("fx{}_slot_{}_knob_{}", u + 1, s + 1, p + 1),
            Target::FxBeats(u, s) => format!("fx{}_slot_{}_beats", u + 1, s + 1),
            Target::FxBeatsHalve(u, s) => format!("fx{}_slot_{}_beats_halve", u + 1, s + 1),
            Target::FxBeatsDouble(u, s) => format!("fx{}_slot_{}_beats_double", u + 1, s + 1),
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
        for i in 1..=8 {
            v.push(format!("hotcue_set_{i}"));
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
            v.push(format!("stem_filter_{s}"));
        }
        for i in 1..=SUGGESTION_TARGETS {
            v.push(format!("suggestion_load_{i}"));
        }
        v.push("autodj_toggle".into());
        v.push("transition_start".into());
        v.extend(["record_toggle", "record_start", "record_stop"].map(String::from));
        v.push("link_toggle".into());
        v.extend(
            [
                "browse",
                "browse_next",
                "browse_prev",
                "browse_enter",
                "browse_back",
                "browse_sort",
                "load_selected",
                "loop_in",
                "loop_out",
            ]
            .map(String::from),
        );
        for b in ["1", "2", "4", "8", "16", "32"] {
            v.push(format!("beatjump_forward_{b}"));
            v.push(format!("beatjump_backward_{b}"));
        }
        v.extend(Self::fx_targets().map(|t| t.name()));
        v
    }

    /// Every FX target, unit by unit.
    pub fn fx_targets() -> impl Iterator<Item = Target> {
        (0..FX_UNITS as u8).flat_map(|u| {
            let unit = [
                Target::FxOn(u),
                Target::FxChain(u),
                Target::FxMix(u),
                Target::FxMaster(u),
                Target::FxAssign(u),
            ];
            let slots = (0..FX_SLOTS as u8).flat_map(move |s| {
                [
                    Target::FxEffect(u, s),
                    Target::FxSlotOn(u, s),
                    Target::FxBeats(u, s),
                    Target::FxBeatsHalve(u, s),
                    Target::FxBeatsDouble(u, s),
                ]
                .into_iter()
                .chain((0..FX_PARAMS as u8).map(move |p| Target::FxKnob(u, s, p)))
            });
            unit.into_iter().chain(slots)
        })
    }

    /// How the target reacts to a control.
    pub fn kind(&self) -> TargetKind {
        use Target::*;
        let c = |min, max| TargetKind::Continuous { min, max };
        match self {
            Play | Sync | KeyLock | Quantize | Pfl | BeatLoop(_) | EqKill(_) | StemMute(_)
            | FxOn(_) | FxChain(_) | FxMaster(_) | FxAssign(_) | FxSlotOn(..) => TargetKind::Switch,
            Cue | LoopRoll(_) | BendUp | BendDown | JogTouch => TargetKind::Momentary,
            CueSet | CueReturn | Eject | HotCue(_) | HotCueClear(_) | HotCueSet(_) | LoopToggle
            | LoopExit | Reloop | LoopHalve | LoopDouble | TempoRangeCycle | Pause
            | SuggestionLoad(_) | AutoDjToggle | TransitionStart | RecordToggle | RecordStart
            | RecordStop | LinkToggle | FxBeatsHalve(..) | FxBeatsDouble(..) | BrowseNext
            | BrowsePrev | BrowseEnter | BrowseBack | BrowseSort | LoadSelected | LoopIn
            | LoopOut | BeatJump(_) => TargetKind::Trigger,
            Browse => TargetKind::Relative,
            Seek | SeekBeats | Nudge | Loop | CrossfaderAssign | SyncLeader | FxBeats(..) => {
                TargetKind::Value
            }
            FxMix(_) | FxKnob(..) => c(0.0, 1.0),
            FxEffect(..) => c(0.0, Effect::ALL.len() as f32),
            ChannelCurve => c(0.0, 1.0),
            Volume => c(0.0, 1.0),
            Tempo => c(-8.0, 8.0),
            Eq(_) => c(0.0, 2.0),
            Filter => c(-1.0, 1.0),
            Trim => c(-12.0, 12.0),
            StemGain(_) => c(0.0, 1.0),
            StemFilter(_) => c(-1.0, 1.0),
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
                | Target::ChannelCurve
                | Target::SyncLeader
                | Target::SuggestionLoad(_)
                | Target::AutoDjToggle
                | Target::TransitionStart
                | Target::RecordToggle
                | Target::RecordStart
                | Target::RecordStop
                | Target::LinkToggle
                | Target::Browse
                | Target::BrowseNext
                | Target::BrowsePrev
                | Target::BrowseEnter
                | Target::BrowseBack
                | Target::BrowseSort
                | Target::FxOn(_)
                | Target::FxChain(_)
                | Target::FxMix(_)
                | Target::FxMaster(_)
                | Target::FxEffect(..)
                | Target::FxSlotOn(..)
                | Target::FxKnob(..)
                | Target::FxBeats(..)
                | Target::FxBeatsHalve(..)
                | Target::FxBeatsDouble(..)
        )
    }

    /// The live action of a live target (suggestions, Auto DJ, the browser), fired by a
    /// press or a number ≠ 0 (`browse`: the number is the items to scroll; `load_selected`
    /// takes `deck`); `None` for every other target and for a release. Allocation-free.
    pub fn live_action_on(self, deck: u8, value: Value) -> Option<LiveAction> {
        match (self, value) {
            (Target::Browse, Value::Number(x)) if x.is_finite() && x.round() != 0.0 => {
                Some(LiveAction::Browse(x.round().clamp(-1000.0, 1000.0) as i16))
            }
            (Target::Browse, _) => None,
            (Target::LoadSelected, v) if v != Value::Press(false) && v != Value::Number(0.0) => {
                Some(LiveAction::LoadSelected(deck))
            }
            _ => self.live_action(value),
        }
    }

    /// The live action of a live target (suggestions, Auto DJ), fired by a press or a
    /// number ≠ 0; `None` for every other target and for a release. Allocation-free.
    pub fn live_action(self, value: Value) -> Option<LiveAction> {
        let pressed = match value {
            Value::Press(p) => p,
            Value::Number(x) => x != 0.0,
        };
        if !pressed {
            return None;
        }
        Some(match self {
            Target::SuggestionLoad(i) => LiveAction::LoadSuggestion(i),
            Target::AutoDjToggle => LiveAction::AutoDjToggle,
            Target::TransitionStart => LiveAction::StartTransition,
            Target::RecordToggle => LiveAction::RecordToggle,
            Target::RecordStart => LiveAction::RecordStart,
            Target::RecordStop => LiveAction::RecordStop,
            Target::LinkToggle => LiveAction::LinkToggle,
            Target::BrowseNext => LiveAction::Browse(1),
            Target::BrowsePrev => LiveAction::Browse(-1),
            Target::BrowseEnter => LiveAction::BrowseEnter,
            Target::BrowseBack => LiveAction::BrowseBack,
            Target::BrowseSort => LiveAction::BrowseSort,
            _ => return None,
        })
    }

    /// The engine command for this target on `deck` (ignored by mixer targets) given
    /// `value`: **the one place a control becomes a [`Command`]** (MIDI mappings through
    /// [`crate::Controller`], the daemon's OSC addresses, the plugin's parameters and MIDI).
    ///
    /// * switches: `Press(on)`, or a number (≠ 0 = on);
    /// * momentary targets: `Press(held)`, or a number (≠ 0 = held);
    /// * triggers fire on a press or a number ≠ 0 (a release or 0 does nothing) —
    ///   `cue_set` / `hotcue_set_{k}` take a number as seconds (a press: the playhead),
    ///   `tempo_range` a number as the range 8, 16 or 50 (a press cycles, see below);
    /// * continuous and value targets need a number in their units (not clamped here: the
    ///   engine clamps).
    ///
    /// `status` is the engine's latest snapshot: `cue_set` reads the playhead from it,
    /// `loop_toggle` / `loop_halve` / `loop_double` the loop. `None`: nothing to do (a
    /// release, a value outside what the target takes, or a target that needs the state a
    /// [`crate::Controller`] keeps: `jog`, and `tempo_range` cycling on a press).
    /// Allocation-free.
    pub fn command(self, deck: DeckId, value: Value, status: &Status) -> Option<Command> {
        use Command as C;
        let (pressed, number) = match value {
            Value::Press(p) => (p, None),
            Value::Number(x) => (x != 0.0, Some(x)),
        };
        let x = || number.map(|v| v as f32);
        let d = status.decks.get(deck as usize)?;
        let fire = pressed;
        let on = pressed;
        Some(match self {
            Target::Play => C::Play { deck, on },
            Target::Cue => C::Cue { deck, pressed: on },
            Target::Sync => C::Sync { deck, on },
            Target::KeyLock => C::KeyLock { deck, on },
            Target::Quantize => C::Quantize { deck, on },
            Target::Pfl => C::Pfl { deck, on },
            Target::BeatLoop(beats) if on => C::BeatLoop { deck, beats },
            Target::BeatLoop(_) => C::LoopExit { deck },
            Target::LoopRoll(beats) => C::LoopRoll { deck, beats, on },
            Target::BendUp | Target::BendDown => {
                let sign = if self == Target::BendUp { 1.0 } else { -1.0 };
                let percent = if on {
                    sign * crate::controller::BEND_BUTTON_PERCENT
                } else {
                    0.0
                };
                C::Bend { deck, percent }
            }
            // Unkilled = flat; a Controller restores the gain it remembered instead.
            Target::EqKill(band) => C::Eq {
                deck,
                band,
                gain: if on { 0.0 } else { 1.0 },
            },
            Target::StemMute(stem) => C::StemMute {
                deck,
                stem,
                muted: on,
            },
            Target::JogTouch => C::Scratch { deck, on },
            Target::Jog => return None,
            Target::FxOn(unit) => C::FxOn { unit, on },
            Target::FxChain(unit) => C::FxMode {
                unit,
                mode: if on { FxMode::Chain } else { FxMode::Single },
            },
            Target::FxMaster(unit) => C::FxAssignMaster { unit, on },
            Target::FxAssign(unit) => C::FxAssign { unit, deck, on },
            Target::FxSlotOn(unit, slot) => C::FxSlotOn { unit, slot, on },
            // Triggers.
            _ if self.kind() == TargetKind::Trigger
                && !(fire || number.is_some() && self.trigger_takes_number()) =>
            {
                return None
            }
            Target::CueSet => C::SetCue {
                deck,
                at: match number {
                    Some(s) => Position::Seconds(s),
                    None => Position::Frames(d.position),
                },
            },
            Target::HotCueSet(index) => C::SetHotCue {
                deck,
                index,
                at: match number {
                    Some(s) => Position::Seconds(s),
                    None => Position::Frames(d.position),
                },
            },
            Target::CueReturn => C::CueReturn { deck },
            Target::BeatJump(beats) => C::Seek {
                deck,
                to: Position::Beats(d.beat + beats as f64),
            },
            // Loop in / out need the point a Controller remembers.
            Target::LoopIn | Target::LoopOut => return None,
            Target::Eject => C::Eject { deck },
            Target::Pause => C::Play { deck, on: false },
            Target::HotCue(index) => C::HotCue { deck, index },
            Target::HotCueClear(index) => C::ClearHotCue { deck, index },
            Target::FxBeatsHalve(unit, slot) | Target::FxBeatsDouble(unit, slot) => {
                let now = status
                    .fx
                    .get(unit as usize)?
                    .slots
                    .get(slot as usize)?
                    .beats;
                let f = if matches!(self, Target::FxBeatsHalve(..)) {
                    0.5
                } else {
                    2.0
                };
                // Before the engine reported anything: from one beat.
                let now = if now > 0.0 { now } else { 1.0 };
                C::FxBeats {
                    unit,
                    slot,
                    beats: (now * f).clamp(FX_BEATS.0, FX_BEATS.1),
                }
            }
            Target::LoopToggle if d.looping => C::LoopExit { deck },
            Target::LoopToggle => C::Reloop { deck },
            Target::LoopExit => C::LoopExit { deck },
            Target::Reloop => C::Reloop { deck },
            Target::LoopHalve | Target::LoopDouble => {
                let f = if self == Target::LoopHalve { 0.5 } else { 2.0 };
                let fpb = frames_per_beat(status, deck)?;
                let len = (d.loop_end - d.loop_start) / fpb;
                if !(d.looping && len.is_finite() && len > 0.0) {
                    return None;
                }
                C::BeatLoop {
                    deck,
                    beats: (len as f32 * f).clamp(1.0 / 32.0, 64.0),
                }
            }
            Target::TempoRangeCycle => C::TempoRange {
                deck,
                range: match number? {
                    8.0 => TempoRange::Narrow,
                    16.0 => TempoRange::Medium,
                    50.0 => TempoRange::Wide,
                    _ => return None,
                },
            },
            // Continuous and value targets: a number.
            Target::Volume => C::Volume { deck, level: x()? },
            Target::Tempo => C::Tempo {
                deck,
                percent: x()?,
            },
            Target::Eq(band) => C::Eq {
                deck,
                band,
                gain: x()?,
            },
            Target::Filter => C::Filter { deck, amount: x()? },
            Target::Trim => C::Trim { deck, db: x()? },
            Target::StemGain(stem) => C::StemGain {
                deck,
                stem,
                gain: x()?,
            },
            Target::StemFilter(stem) => C::StemFilter {
                deck,
                stem,
                amount: x()?,
            },
            Target::Bend => C::Bend {
                deck,
                percent: x()?,
            },
            Target::KeyShift => C::KeyShift {
                deck,
                semitones: x()?,
            },
            Target::Crossfader => C::Crossfader { position: x()? },
            Target::CrossfaderCurve => C::CrossfaderCurve { curve: x()? },
            Target::ChannelCurve => C::ChannelFaderCurve { curve: x()? },
            Target::MasterGain => C::MasterGain { gain: x()? },
            Target::HeadphoneGain => C::HeadphoneGain { gain: x()? },
            Target::CueMix => C::CueMix { mix: x()? },
            Target::Seek => C::Seek {
                deck,
                to: Position::Seconds(number?),
            },
            Target::SeekBeats => C::Seek {
                deck,
                to: Position::Beats(number?),
            },
            Target::Nudge => C::Nudge { deck, ms: x()? },
            Target::Loop => match x()? {
                b if b > 0.0 => C::BeatLoop { deck, beats: b },
                _ => C::LoopExit { deck },
            },
            Target::CrossfaderAssign => C::CrossfaderAssign {
                deck,
                side: match number? {
                    v if v < 0.0 => CrossfaderSide::A,
                    v if v > 0.0 => CrossfaderSide::B,
                    _ => CrossfaderSide::Thru,
                },
            },
            Target::FxMix(unit) => C::FxMix { unit, mix: x()? },
            Target::FxKnob(unit, slot, param) => C::FxParam {
                unit,
                slot,
                param,
                value: x()?,
            },
            Target::FxEffect(unit, slot) => C::FxSelect {
                unit,
                slot,
                effect: effect_of_number(number?)?,
            },
            Target::FxBeats(unit, slot) => match x()? {
                b if b > 0.0 && b.is_finite() => C::FxBeats {
                    unit,
                    slot,
                    beats: b,
                },
                _ => return None,
            },
            Target::SuggestionLoad(_)
            | Target::AutoDjToggle
            | Target::TransitionStart
            | Target::RecordToggle
            | Target::RecordStart
            | Target::RecordStop
            | Target::LinkToggle
            | Target::Browse
            | Target::BrowseNext
            | Target::BrowsePrev
            | Target::BrowseEnter
            | Target::BrowseBack
            | Target::BrowseSort
            | Target::LoadSelected => return None,
            Target::SyncLeader => {
                let n = number?;
                if n == 0.0 {
                    C::SyncLeader { deck: None }
                } else if n.fract() == 0.0 && n >= 1.0 && n <= status.deck_count.max(1) as f64 {
                    C::SyncLeader {
                        deck: Some(n as DeckId - 1),
                    }
                } else {
                    return None;
                }
            }
        })
    }

    /// Whether a number sent to this trigger is its value (`cue_set`, `hotcue_set_{k}`:
    /// seconds; `tempo_range`: 8, 16 or 50), not a press.
    pub fn trigger_takes_number(&self) -> bool {
        matches!(
            self,
            Target::CueSet | Target::HotCueSet(_) | Target::TempoRangeCycle
        )
    }

    /// OSC argument types this target takes (`f` number, `i` integer/flag, `[ ]` optional)
    /// and what it does: the `/segue/help` listing and the README's control reference.
    pub fn about(&self) -> (&'static str, &'static str) {
        use Target::*;
        match self {
            Play => ("[i]", "play (1, default) / pause (0)"),
            Cue => (
                "[i]",
                "CDJ cue button: 1 press, 0 release (no argument: a tap)",
            ),
            CueSet => (
                "[f]",
                "set the main cue point at seconds (no argument: the playhead)",
            ),
            CueReturn => ("", "jump to the main cue point"),
            Sync => ("[i]", "sync on (default) / 0 off"),
            KeyLock => ("[i]", "key lock on (default) / 0 off"),
            Quantize => ("[i]", "quantize on (default) / 0 off"),
            Pfl => ("[i]", "pre-fader listen on (default) / 0 off"),
            Eject => ("", "remove the track"),
            HotCue(_) => (
                "[i]",
                "hot cue pad k (1..8): jump, or set if empty; 0 = release (ignored)",
            ),
            HotCueClear(_) => ("", "clear hot cue k"),
            HotCueSet(_) => (
                "[f]",
                "set hot cue k at seconds (no argument: the playhead)",
            ),
            BeatLoop(_) => ("[i]", "beat loop of b beats (1/32..64) on / 0 exit"),
            LoopRoll(_) => ("[i]", "loop roll of b beats while held (1), release (0)"),
            LoopToggle => ("", "exit the loop if looping, else reloop"),
            LoopExit => ("", "leave the loop"),
            Reloop => ("", "re-enable the last loop"),
            LoopHalve => ("", "halve the loop"),
            LoopDouble => ("", "double the loop"),
            BendUp => ("[i]", "pitch bend up while held (1), release (0)"),
            BendDown => ("[i]", "pitch bend down while held (1), release (0)"),
            TempoRangeCycle => (
                "i",
                "tempo range: 8, 16 or 50 (%); a MIDI button cycles them",
            ),
            EqKill(_) => ("[i]", "kill the EQ band on (default) / 0 off"),
            StemMute(_) => ("[i]", "mute the stem (default) / 0 unmute"),
            Volume => ("f", "channel fader 0..1"),
            Tempo => ("f", "tempo fader, percent (clamped to the range)"),
            Eq(_) => ("f", "EQ band gain 0 (kill)..1 (flat)..2 (+6 dB)"),
            Filter => ("f", "one-knob filter -1 (low-pass)..0 (off)..1 (high-pass)"),
            Trim => ("f", "input trim, dB -24..12"),
            StemGain(_) => ("f", "stem gain 0..1"),
            StemFilter(_) => (
                "f",
                "the stem's one-knob filter -1 (low-pass)..0 (off)..1 (high-pass)",
            ),
            Bend => ("f", "pitch bend, percent -10..10 (0 = release)"),
            KeyShift => ("f", "key shift, semitones -12..12"),
            Jog => ("", "jog wheel (MIDI only: relative ticks)"),
            JogTouch => ("[i]", "jog wheel touched (scratch) 1 / released 0"),
            Crossfader => ("f", "crossfader -1 (A)..1 (B)"),
            CrossfaderCurve => ("f", "crossfader curve 0 (smooth)..1 (sharp)"),
            ChannelCurve => ("f", "channel fader curve 0 (slow)..0.5 (linear)..1 (fast)"),
            MasterGain => ("f", "master gain 0..2 (linear)"),
            HeadphoneGain => ("f", "headphone gain 0..2"),
            CueMix => ("f", "headphone blend 0 (cue)..1 (master)"),
            Pause => ("", "pause"),
            Seek => ("f", "jump to seconds"),
            SeekBeats => ("f", "jump to a beat index"),
            Nudge => ("f", "move the playhead by milliseconds"),
            Loop => ("f", "beat loop of f beats (1/32..64); 0 = exit"),
            CrossfaderAssign => ("f", "crossfader side: -1 A, 0 thru, 1 B"),
            SyncLeader => ("i", "sync leader deck (0 = automatic)"),
            SuggestionLoad(_) => ("", "load suggestion n (1..10) onto the free deck"),
            AutoDjToggle => ("", "Auto DJ on/off"),
            FxOn(_) => (
                "[i]",
                "FX unit u (1..2) on (default) / 0 off (echoes and reverb ring out)",
            ),
            FxChain(_) => (
                "[i]",
                "FX unit u: chain of slots 1 → 2 → 3 (default) / 0 one effect (slot 1)",
            ),
            FxMix(_) => ("f", "FX unit u dry/wet 0..1"),
            FxMaster(_) => ("[i]", "FX unit u on the master (default) / 0 on its decks"),
            FxAssign(_) => ("[i]", "the deck through FX unit u (default) / 0 not"),
            FxEffect(..) => (
                "i",
                "effect of slot s (1..3): 0 none, 1 echo, 2 ping_pong, 3 reverb, 4 flanger, \
                 5 phaser, 6 gate, 7 bitcrusher, 8 roll, 9 filter_sweep (or the name, s)",
            ),
            FxSlotOn(..) => ("[i]", "slot s on (default) / 0 off (chain mode)"),
            FxKnob(..) => ("f", "knob p (1..3) of slot s, 0..1 (meaning per effect)"),
            FxBeats(..) => (
                "f",
                "beat length of slot s, 1/16..32 (delay, gate/roll period, sweep)",
            ),
            FxBeatsHalve(..) => ("", "halve the beat length of slot s"),
            FxBeatsDouble(..) => ("", "double the beat length of slot s"),
            TransitionStart => (
                "",
                "perform the planned transition to the track waiting on a free deck",
            ),
            RecordToggle => (
                "",
                "start recording the set, or stop if recording (OSC: /segue/record/start|stop)",
            ),
            RecordStart => (
                "",
                "start recording the set (a new file in the record folder)",
            ),
            RecordStop => ("", "stop recording the set"),
            LinkToggle => ("", "Ableton Link on/off (segue serve; OSC: /segue/link)"),
            Browse => ("i", "scroll the library browser by i items"),
            BrowseNext => ("", "the next item of the library browser"),
            BrowsePrev => ("", "the previous item of the library browser"),
            BrowseEnter => ("", "open the browser's selected folder or view"),
            BrowseBack => ("", "back to the browser's parent folder or view"),
            BrowseSort => ("", "cycle the browser's sort: title, BPM, key, energy"),
            LoadSelected => ("", "load the browser's selected track onto the deck"),
            LoopIn => ("", "set the loop-in point at the playhead"),
            LoopOut => (
                "",
                "set the loop-out point at the playhead and loop from loop-in",
            ),
            BeatJump(_) => ("", "jump b beats forward or backward"),
        }
    }

    /// Every target once, parametrised ones as a pattern (`hotcue_{k}`, `beatloop_{b}`,
    /// `eq_{band}`, `stem_{stem}`, `fx{u}_slot_{s}_knob_{p}`…) with one representative
    /// target: the vocabulary as the docs and `/segue/help` list it.
    pub fn catalog() -> Vec<(String, Target)> {
        let mut v: Vec<(String, Target)> = Self::SIMPLE
            .iter()
            .map(|(n, t)| (n.to_string(), *t))
            .collect();
        v.extend([
            ("hotcue_{k}".to_string(), Target::HotCue(0)),
            ("hotcue_set_{k}".to_string(), Target::HotCueSet(0)),
            ("hotcue_clear_{k}".to_string(), Target::HotCueClear(0)),
            ("beatloop_{b}".to_string(), Target::BeatLoop(4.0)),
            ("loop_roll_{b}".to_string(), Target::LoopRoll(0.25)),
            ("eq_{band}".to_string(), Target::Eq(EqBand::Low)),
            ("eq_{band}_kill".to_string(), Target::EqKill(EqBand::Low)),
            ("stem_{stem}".to_string(), Target::StemGain(Stem::Drums)),
            (
                "stem_mute_{stem}".to_string(),
                Target::StemMute(Stem::Drums),
            ),
            (
                "stem_filter_{stem}".to_string(),
                Target::StemFilter(Stem::Drums),
            ),
        ]);
        v.extend(
            [
                Target::FxOn(0),
                Target::FxChain(0),
                Target::FxMix(0),
                Target::FxMaster(0),
                Target::FxAssign(0),
                Target::FxEffect(0, 0),
                Target::FxSlotOn(0, 0),
                Target::FxKnob(0, 0, 0),
                Target::FxBeats(0, 0),
                Target::FxBeatsHalve(0, 0),
                Target::FxBeatsDouble(0, 0),
            ]
            .map(|t| (t.pattern(), t)),
        );
        v
    }

    /// The name with its unit, slot and knob as `{u}`, `{s}`, `{p}` (FX targets; others:
    /// the name).
    fn pattern(&self) -> String {
        self.name()
            .replacen("fx1_", "fx{u}_", 1)
            .replacen("slot_1_", "slot_{s}_", 1)
            .replacen("knob_1", "knob_{p}", 1)
    }
}

/// Frames per beat on `deck` (120 BPM without a grid); `None` before the rate is known.
pub(crate) fn frames_per_beat(status: &Status, deck: u8) -> Option<f64> {
    let d = status.decks.get(deck as usize)?;
    let bpm = if d.native_bpm > 0.0 {
        d.native_bpm
    } else {
        120.0
    };
    let f = status.sample_rate as f64 * 60.0 / bpm;
    (f > 0.0).then_some(f)
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
    /// FX unit 0..=1 (written 1..=2) on.
    FxOn(u8),
    /// FX unit in chain mode.
    FxChain(u8),
    /// FX unit on the master.
    FxMaster(u8),
    /// This deck goes through FX unit 0..=1.
    FxAssign(u8),
    /// A slot's on switch (unit, slot 0..=2).
    FxSlotOn(u8, u8),
    /// A slot is audible now (engaged, fading or ringing out).
    FxActive(u8, u8),
    /// The set is being recorded (the shell tells the controller, [`LiveState`]).
    Recording,
    /// Auto DJ is on (the shell tells the controller, [`LiveState`]).
    AutoDj,
}

/// What the shell (not the engine) knows and LEDs show: recording and Auto DJ. The shell
/// passes it with [`crate::Controller::set_live_state`] before asking for feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveState {
    /// The set is being recorded.
    pub recording: bool,
    /// Auto DJ is on.
    pub autodj: bool,
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
        ("recording", Source::Recording),
        ("autodj", Source::AutoDj),
    ];

    /// Parse a mapping-file source name (`play`, `hotcue_2`, `vu`, `fx1_on`…).
    pub fn from_name(s: &str) -> Option<Source> {
        if let Some(&(_, t)) = Self::NAMES.iter().find(|(n, _)| *n == s) {
            return Some(t);
        }
        if s.starts_with("fx") {
            let (u, rest) = fx_unit(s)?;
            return Some(match rest {
                "on" => Source::FxOn(u),
                "chain" => Source::FxChain(u),
                "master" => Source::FxMaster(u),
                "assign" => Source::FxAssign(u),
                _ => match fx_slot(rest)? {
                    (slot, "on") => Source::FxSlotOn(u, slot),
                    (slot, "active") => Source::FxActive(u, slot),
                    _ => return None,
                },
            });
        }
        let i = s.strip_prefix("hotcue_")?.parse::<u8>().ok()?;
        (1..=8).contains(&i).then_some(Source::HotCue(i - 1))
    }

    /// The mapping-file name.
    pub fn name(&self) -> String {
        match self {
            Source::HotCue(i) => format!("hotcue_{}", i + 1),
            Source::FxOn(u) => format!("fx{}_on", u + 1),
            Source::FxChain(u) => format!("fx{}_chain", u + 1),
            Source::FxMaster(u) => format!("fx{}_master", u + 1),
            Source::FxAssign(u) => format!("fx{}_assign", u + 1),
            Source::FxSlotOn(u, s) => format!("fx{}_slot_{}_on", u + 1, s + 1),
            Source::FxActive(u, s) => format!("fx{}_slot_{}_active", u + 1, s + 1),
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
        for u in 0..FX_UNITS as u8 {
            v.extend(
                [
                    Source::FxOn(u),
                    Source::FxChain(u),
                    Source::FxMaster(u),
                    Source::FxAssign(u),
                ]
                .map(|s| s.name()),
            );
            for s in 0..FX_SLOTS as u8 {
                v.push(Source::FxSlotOn(u, s).name());
                v.push(Source::FxActive(u, s).name());
            }
        }
        v
    }

    /// Whether the source belongs to a deck.
    pub fn is_deck(&self) -> bool {
        !matches!(
            self,
            Source::VuMaster
                | Source::Recording
                | Source::AutoDj
                | Source::FxOn(_)
                | Source::FxChain(_)
                | Source::FxMaster(_)
                | Source::FxSlotOn(..)
                | Source::FxActive(..)
        )
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
    fn aliases_name_the_same_targets() {
        for &(alias, canonical) in TARGET_ALIASES {
            let t = Target::from_name(alias).unwrap_or_else(|| panic!("{alias}"));
            assert_eq!(Some(t), Target::from_name(canonical), "{alias}");
            // Names are written back canonical.
            assert_eq!(t.name(), canonical);
        }
        assert_eq!(Target::from_name("xfader"), Some(Target::Crossfader));
        assert_eq!(Target::from_name("master"), Some(Target::MasterGain));
        assert_eq!(Target::from_name("keyshift"), Some(Target::KeyShift));
    }

    #[test]
    fn command_follows_the_value_rules() {
        let st = Status {
            deck_count: 2,
            ..Status::default()
        };
        let cmd = |t: Target, v| t.command(1, v, &st);
        // Switches: a press or a number.
        assert_eq!(
            cmd(Target::Play, Value::Number(0.0)),
            Some(Command::Play { deck: 1, on: false })
        );
        // Triggers fire on a press, not on a release or 0…
        assert_eq!(cmd(Target::Eject, Value::Press(false)), None);
        assert_eq!(cmd(Target::Eject, Value::Number(0.0)), None);
        // …but a number is the value of those that take one (a cue at 0 s).
        assert_eq!(
            cmd(Target::CueSet, Value::Number(0.0)),
            Some(Command::SetCue {
                deck: 1,
                at: Position::Seconds(0.0)
            })
        );
        assert_eq!(cmd(Target::TempoRangeCycle, Value::Number(7.0)), None);
        // Faders need a number; value targets too.
        assert_eq!(cmd(Target::Volume, Value::Press(true)), None);
        assert_eq!(cmd(Target::Seek, Value::Press(true)), None);
        assert_eq!(
            cmd(Target::SyncLeader, Value::Number(2.0)),
            Some(Command::SyncLeader { deck: Some(1) })
        );
        assert_eq!(cmd(Target::SyncLeader, Value::Number(3.0)), None);
        assert_eq!(cmd(Target::Jog, Value::Number(1.0)), None);
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
