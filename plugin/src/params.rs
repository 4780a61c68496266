//! The plugin's parameters. The string IDs are the contract with saved projects and host
//! automation: never change one (`tests/plugin_host.rs` checks the list). Per-deck IDs end in
//! `_1`..`_4` (deck A..D).
//!
//! Each parameter drives one [`Target`] of the controllers' vocabulary and becomes an
//! engine command through [`Target::command`], like an OSC address or a MIDI mapping. Its ID
//! is the target's name or a documented alias of it ([`segue_controllers::TARGET_ALIASES`]:
//! `xfader` = `crossfader`, `master` = `master_gain`, `vol` = `volume`, `eqlow` =
//! `eq_low`, `drums` = `stem_drums`…), so `Target::from_name(id)` gives the target
//! ([`PARAM_TARGETS`], tested).
//!
//! Values use the engine's conventions (README, "Conventions"), so a parameter maps 1:1 onto
//! an engine command. Every gain is smoothed inside the engine (5-20 ms ramps); the plugin
//! additionally asks the host for sample-accurate automation, so a change lands on its frame.

use std::sync::Arc;

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;
use segue_controllers::{effect_number, Target};
use segue_engine::{Effect, EqBand, Stem, FX_PARAMS, FX_SLOTS, FX_UNITS};

use crate::session::SessionField;

/// Decks the plugin runs.
pub const DECKS: usize = 4;

/// Every parameter, plus the persisted session (tracks, cues, MIDI mapping).
#[derive(Params)]
pub struct SegueParams {
    /// Editor window size (not saved: egui's state has no serde form here).
    pub editor_state: Arc<EguiEditorState>,
    /// Tracks, cue points and the MIDI mapping (versioned, see `session.rs`).
    #[persist = "session"]
    pub session: Arc<SessionField>,

    /// Crossfader, −1 (A) ..= 1 (B).
    #[id = "xfader"]
    pub crossfader: FloatParam,
    /// Master gain, linear 0..=2.
    #[id = "master"]
    pub master: FloatParam,
    /// Follow the host: decks take the host's tempo, start and stop with its transport and
    /// align their bar phase to its beat position.
    #[id = "hostsync"]
    pub host_sync: BoolParam,
    /// Bypass: the decks keep running, the outputs fade to silence (10 ms).
    #[id = "bypass"]
    pub bypass: BoolParam,

    /// Deck A..D.
    #[nested(array, group = "Deck")]
    pub decks: [DeckParams; DECKS],

    /// FX unit 1 (IDs `fx1_…`, the target names).
    #[nested(id_prefix = "fx1", group = "FX 1")]
    pub fx1: FxUnitParams,
    /// FX unit 2 (IDs `fx2_…`).
    #[nested(id_prefix = "fx2", group = "FX 2")]
    pub fx2: FxUnitParams,
}

/// One FX unit's parameters (IDs `fx{u}_on`, `fx{u}_chain`, `fx{u}_mix`, `fx{u}_master`,
/// `fx{u}_slot_{s}_…`; the deck assignments are deck parameters, `fx{u}_assign_{d}`).
#[derive(Params)]
pub struct FxUnitParams {
    /// On/off.
    #[id = "on"]
    pub on: BoolParam,
    /// Chain of the three slots (off: one effect, slot 1).
    #[id = "chain"]
    pub chain: BoolParam,
    /// Dry/wet 0..=1.
    #[id = "mix"]
    pub mix: FloatParam,
    /// On the master (its deck assignments are then ignored).
    #[id = "master"]
    pub master: BoolParam,
    /// Slot 1.
    #[nested(id_prefix = "slot_1", group = "Slot 1")]
    pub slot_1: FxSlotParams,
    /// Slot 2.
    #[nested(id_prefix = "slot_2", group = "Slot 2")]
    pub slot_2: FxSlotParams,
    /// Slot 3.
    #[nested(id_prefix = "slot_3", group = "Slot 3")]
    pub slot_3: FxSlotParams,
}

/// One FX slot's parameters.
#[derive(Params)]
pub struct FxSlotParams {
    /// The effect: 0 none, 1.. in [`Effect::ALL`] order (`fx{u}_slot_{s}_effect`'s value).
    #[id = "effect"]
    pub effect: IntParam,
    /// The slot's on switch (chain mode).
    #[id = "on"]
    pub on: BoolParam,
    /// Knob 1, 0..=1 (meaning per effect).
    #[id = "knob_1"]
    pub knob_1: FloatParam,
    /// Knob 2.
    #[id = "knob_2"]
    pub knob_2: FloatParam,
    /// Knob 3.
    #[id = "knob_3"]
    pub knob_3: FloatParam,
    /// Beat length as a power of two, -4 (1/16) ..= 5 (32); see [`beats_of_step`].
    #[id = "beats"]
    pub beats: IntParam,
}

/// The effects each unit's slots start with (the engine's own defaults).
pub const FX_DEFAULT_EFFECTS: [[Effect; FX_SLOTS]; FX_UNITS] = [
    [Effect::Echo, Effect::Reverb, Effect::Flanger],
    [Effect::Reverb, Effect::Gate, Effect::FilterSweep],
];

/// Lowest and highest beat step of [`FxSlotParams::beats`] (1/16 and 32 beats).
pub const BEAT_STEPS: (i32, i32) = (-4, 5);

/// Beats of a beat step (a power of two).
pub fn beats_of_step(step: i32) -> f32 {
    2f32.powi(step.clamp(BEAT_STEPS.0, BEAT_STEPS.1))
}

/// The beat step nearest to `beats`.
pub fn step_of_beats(beats: f32) -> i32 {
    (beats.max(1e-3).log2().round() as i32).clamp(BEAT_STEPS.0, BEAT_STEPS.1)
}

/// A beat length as the editor shows it (`1/4`, `2`).
pub fn beats_label(beats: f32) -> String {
    if beats >= 1.0 {
        format!("{beats}")
    } else {
        format!("1/{}", (1.0 / beats).round())
    }
}

/// The name of an effect number (`none`, `echo`…).
pub fn effect_label(n: i32) -> &'static str {
    match segue_controllers::effect_of_number(n as f64) {
        Some(Some(e)) => e.name(),
        _ => "none",
    }
}

impl FxSlotParams {
    fn new(unit: usize, slot: usize, effect: Effect) -> Self {
        let (beats, knobs) = effect.defaults();
        let name = |what: &str| format!("FX {} slot {} {what}", unit + 1, slot + 1);
        let knob = |p: usize| {
            FloatParam::new(
                name(&format!("knob {}", p + 1)),
                knobs[p],
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_step_size(0.001)
        };
        Self {
            effect: IntParam::new(
                name("effect"),
                effect_number(Some(effect)) as i32,
                IntRange::Linear {
                    min: 0,
                    max: Effect::ALL.len() as i32,
                },
            )
            .with_value_to_string(Arc::new(|n| effect_label(n).to_string()))
            .with_string_to_value(Arc::new(|s| {
                let s = s.trim();
                (0..=Effect::ALL.len() as i32).find(|&n| effect_label(n) == s)
            })),
            on: BoolParam::new(name("on"), true),
            knob_1: knob(0),
            knob_2: knob(1),
            knob_3: knob(2),
            beats: IntParam::new(
                name("beats"),
                step_of_beats(beats),
                IntRange::Linear {
                    min: BEAT_STEPS.0,
                    max: BEAT_STEPS.1,
                },
            )
            .with_value_to_string(Arc::new(|n| beats_label(beats_of_step(n))))
            .with_string_to_value(Arc::new(|s| {
                let s = s.trim();
                let v = match s.split_once('/') {
                    Some((a, b)) => a.parse::<f32>().ok()? / b.parse::<f32>().ok()?,
                    None => s.parse::<f32>().ok()?,
                };
                Some(step_of_beats(v))
            })),
        }
    }

    /// The knobs, in order.
    pub fn knobs(&self) -> [&FloatParam; FX_PARAMS] {
        [&self.knob_1, &self.knob_2, &self.knob_3]
    }
}

impl FxUnitParams {
    fn new(unit: usize) -> Self {
        let slot = |s: usize| FxSlotParams::new(unit, s, FX_DEFAULT_EFFECTS[unit][s]);
        Self {
            on: BoolParam::new(format!("FX {} on", unit + 1), false),
            chain: BoolParam::new(format!("FX {} chain", unit + 1), false),
            mix: FloatParam::new(
                format!("FX {} mix", unit + 1),
                0.5,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_step_size(0.001),
            master: BoolParam::new(format!("FX {} on master", unit + 1), false),
            slot_1: slot(0),
            slot_2: slot(1),
            slot_3: slot(2),
        }
    }

    /// The slots, in order.
    pub fn slots(&self) -> [&FxSlotParams; FX_SLOTS] {
        [&self.slot_1, &self.slot_2, &self.slot_3]
    }
}

/// FX values per unit: on, chain, mix, master, then per slot effect, on, three knobs, beats,
/// then the deck assignments.
pub const FX_UNIT_VALUES: usize = 4 + FX_SLOTS * (3 + FX_PARAMS) + DECKS;
/// Every FX value the plugin sends (see [`SegueParams::fx_values`]).
pub const FX_VALUES: usize = FX_UNITS * FX_UNIT_VALUES;

/// One deck's parameters.
#[derive(Params)]
pub struct DeckParams {
    /// Channel fader 0..=1.
    #[id = "vol"]
    pub volume: FloatParam,
    /// Trim, dB, −24..=12.
    #[id = "trim"]
    pub trim: FloatParam,
    /// Tempo fader, percent (±8 % range; ±50 % while following the host).
    #[id = "tempo"]
    pub tempo: FloatParam,
    /// EQ low, linear 0 (kill)..=2 (+6 dB).
    #[id = "eqlow"]
    pub eq_low: FloatParam,
    /// EQ mid.
    #[id = "eqmid"]
    pub eq_mid: FloatParam,
    /// EQ high.
    #[id = "eqhigh"]
    pub eq_high: FloatParam,
    /// One-knob filter, −1 (low-pass) .. 0 (off) .. 1 (high-pass).
    #[id = "filter"]
    pub filter: FloatParam,
    /// Drums stem gain 0..=1.
    #[id = "drums"]
    pub drums: FloatParam,
    /// Bass stem gain.
    #[id = "bass"]
    pub bass: FloatParam,
    /// Other stem gain.
    #[id = "other"]
    pub other: FloatParam,
    /// Vocals stem gain.
    #[id = "vocals"]
    pub vocals: FloatParam,
    /// Play (gated by the host transport when following the host).
    #[id = "play"]
    pub play: BoolParam,
    /// Sync to the leader deck.
    #[id = "sync"]
    pub sync: BoolParam,
    /// Key lock.
    #[id = "keylock"]
    pub key_lock: BoolParam,
    /// The deck through FX unit 1 (`fx1_assign_{d}`).
    #[id = "fx1_assign"]
    pub fx1_assign: BoolParam,
    /// The deck through FX unit 2.
    #[id = "fx2_assign"]
    pub fx2_assign: BoolParam,
}

fn gain(name: &str, default: f32, max: f32) -> FloatParam {
    FloatParam::new(name, default, FloatRange::Linear { min: 0.0, max })
        .with_smoother(SmoothingStyle::Linear(10.0))
        .with_step_size(0.001)
}

impl Default for DeckParams {
    fn default() -> Self {
        Self {
            volume: gain("Volume", 1.0, 1.0),
            trim: FloatParam::new(
                "Trim",
                0.0,
                FloatRange::Linear {
                    min: -24.0,
                    max: 12.0,
                },
            )
            .with_unit(" dB")
            .with_step_size(0.1),
            tempo: FloatParam::new(
                "Tempo",
                0.0,
                FloatRange::Linear {
                    min: -8.0,
                    max: 8.0,
                },
            )
            .with_unit(" %")
            .with_step_size(0.01),
            eq_low: gain("EQ low", 1.0, 2.0),
            eq_mid: gain("EQ mid", 1.0, 2.0),
            eq_high: gain("EQ high", 1.0, 2.0),
            filter: FloatParam::new(
                "Filter",
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_step_size(0.001),
            drums: gain("Drums", 1.0, 1.0),
            bass: gain("Bass", 1.0, 1.0),
            other: gain("Other", 1.0, 1.0),
            vocals: gain("Vocals", 1.0, 1.0),
            play: BoolParam::new("Play", false),
            sync: BoolParam::new("Sync", false),
            key_lock: BoolParam::new("Key lock", true),
            fx1_assign: BoolParam::new("FX 1", false),
            fx2_assign: BoolParam::new("FX 2", false),
        }
    }
}

impl DeckParams {
    /// The deck's FX assignment switches, by unit.
    pub fn fx_assign(&self) -> [&BoolParam; FX_UNITS] {
        [&self.fx1_assign, &self.fx2_assign]
    }
}

/// The editor's default size in points (resizable down to [`crate::editor::MIN_SIZE`]).
pub const EDITOR_SIZE: (f32, f32) = (1440.0, 860.0);

impl Default for SegueParams {
    fn default() -> Self {
        Self {
            editor_state: EguiEditorState::from_size(
                nice_plug::editor::dpi::LogicalSize::new(EDITOR_SIZE.0, EDITOR_SIZE.1),
                1.0,
            ),
            session: Arc::new(SessionField::default()),
            crossfader: FloatParam::new(
                "Crossfader",
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_smoother(SmoothingStyle::Linear(10.0))
            .with_step_size(0.001),
            master: gain("Master", 1.0, 2.0),
            host_sync: BoolParam::new("Follow host", true),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            decks: Default::default(),
            fx1: FxUnitParams::new(0),
            fx2: FxUnitParams::new(1),
        }
    }
}

impl SegueParams {
    /// The FX units' parameters, by unit.
    pub fn fx(&self) -> [&FxUnitParams; FX_UNITS] {
        [&self.fx1, &self.fx2]
    }

    /// Every FX parameter as (target, deck, value in the target's units): per unit on,
    /// chain, mix, master, per slot effect (before its knobs and beats: choosing an effect
    /// resets them in the engine), on, knobs, beats, then the deck assignments. Allocation-free.
    pub fn fx_values(&self) -> [(Target, u8, f32); FX_VALUES] {
        let b = |p: &BoolParam| if p.value() { 1.0 } else { 0.0 };
        let mut out = [(Target::FxOn(0), 0u8, 0.0f32); FX_VALUES];
        let mut i = 0;
        let mut push = |t: Target, deck: u8, v: f32| {
            out[i] = (t, deck, v);
            i += 1;
        };
        for (u, unit) in self.fx().into_iter().enumerate() {
            let u8_ = u as u8;
            push(Target::FxOn(u8_), 0, b(&unit.on));
            push(Target::FxChain(u8_), 0, b(&unit.chain));
            push(Target::FxMix(u8_), 0, unit.mix.value());
            push(Target::FxMaster(u8_), 0, b(&unit.master));
            for (s, slot) in unit.slots().into_iter().enumerate() {
                let s = s as u8;
                push(Target::FxEffect(u8_, s), 0, slot.effect.value() as f32);
                push(Target::FxSlotOn(u8_, s), 0, b(&slot.on));
                for (p, k) in slot.knobs().into_iter().enumerate() {
                    push(Target::FxKnob(u8_, s, p as u8), 0, k.value());
                }
                push(
                    Target::FxBeats(u8_, s),
                    0,
                    beats_of_step(slot.beats.value()),
                );
            }
            for (d, deck) in self.decks.iter().enumerate() {
                push(Target::FxAssign(u8_), d as u8, b(deck.fx_assign()[u]));
            }
        }
        out
    }
}

/// Parameter IDs (per-deck ones without their `_N` suffix) and the control each drives;
/// `hostsync` and `bypass` are the plugin's own (not engine controls).
pub const PARAM_TARGETS: &[(&str, Control)] = &[
    ("xfader", Control::Crossfader),
    ("master", Control::Master),
    ("vol", Control::Volume),
    ("trim", Control::Trim),
    ("tempo", Control::Tempo),
    ("eqlow", Control::EqLow),
    ("eqmid", Control::EqMid),
    ("eqhigh", Control::EqHigh),
    ("filter", Control::Filter),
    ("drums", Control::Drums),
    ("bass", Control::Bass),
    ("other", Control::Other),
    ("vocals", Control::Vocals),
];

/// A continuous control the plugin turns into an engine command: the parameters, and the
/// targets of MIDI CCs (see `midi.rs`). Saved (in the session's MIDI mapping) under the
/// snake_case names below, each a target name or an alias of one ([`Control::target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Crossfader (global).
    Crossfader,
    /// Master gain (global).
    Master,
    /// Channel fader.
    Volume,
    /// Trim.
    Trim,
    /// Tempo fader.
    Tempo,
    /// EQ low.
    EqLow,
    /// EQ mid.
    EqMid,
    /// EQ high.
    EqHigh,
    /// Filter.
    Filter,
    /// Drums stem.
    Drums,
    /// Bass stem.
    Bass,
    /// Other stem.
    Other,
    /// Vocals stem.
    Vocals,
}

/// Per-deck continuous controls, in slot order.
pub const DECK_CONTROLS: [Control; 11] = [
    Control::Volume,
    Control::Trim,
    Control::Tempo,
    Control::EqLow,
    Control::EqMid,
    Control::EqHigh,
    Control::Filter,
    Control::Drums,
    Control::Bass,
    Control::Other,
    Control::Vocals,
];

impl Control {
    /// The target this control drives (the one vocabulary; its command comes from
    /// [`Target::command`]).
    pub fn target(self) -> Target {
        match self {
            Control::Crossfader => Target::Crossfader,
            Control::Master => Target::MasterGain,
            Control::Volume => Target::Volume,
            Control::Trim => Target::Trim,
            Control::Tempo => Target::Tempo,
            Control::EqLow => Target::Eq(EqBand::Low),
            Control::EqMid => Target::Eq(EqBand::Mid),
            Control::EqHigh => Target::Eq(EqBand::High),
            Control::Filter => Target::Filter,
            Control::Drums => Target::StemGain(Stem::Drums),
            Control::Bass => Target::StemGain(Stem::Bass),
            Control::Other => Target::StemGain(Stem::Other),
            Control::Vocals => Target::StemGain(Stem::Vocals),
        }
    }

    /// Slot of a per-deck control in [`DECK_CONTROLS`] (None for global ones).
    pub fn deck_slot(self) -> Option<usize> {
        DECK_CONTROLS.iter().position(|&c| c == self)
    }

    /// Map a 0..=1 controller value onto the control's range.
    pub fn from_unit(self, v: f32) -> f32 {
        let v = v.clamp(0.0, 1.0);
        match self {
            Control::Crossfader | Control::Filter => v * 2.0 - 1.0,
            Control::Master | Control::EqLow | Control::EqMid | Control::EqHigh => v * 2.0,
            Control::Trim => -24.0 + v * 36.0,
            Control::Tempo => -8.0 + v * 16.0,
            Control::Volume | Control::Drums | Control::Bass | Control::Other | Control::Vocals => {
                v
            }
        }
    }
}

impl DeckParams {
    /// The current (smoothed) value of every per-deck control, in [`DECK_CONTROLS`] order.
    /// `frames` is how far the smoothers advance.
    pub fn values(&self, frames: u32) -> [f32; 11] {
        let s = |p: &FloatParam| {
            if p.smoothed.is_smoothing() {
                p.smoothed.next_step(frames)
            } else {
                p.value()
            }
        };
        [
            s(&self.volume),
            self.trim.value(),
            self.tempo.value(),
            s(&self.eq_low),
            s(&self.eq_mid),
            s(&self.eq_high),
            self.filter.value(),
            s(&self.drums),
            s(&self.bass),
            s(&self.other),
            s(&self.vocals),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_ids_and_saved_names_are_target_names_or_aliases() {
        for &(id, control) in PARAM_TARGETS {
            assert_eq!(Target::from_name(id), Some(control.target()), "param {id}");
            // The name the session's MIDI mapping saves the control under.
            let saved = serde_json::to_value(control).unwrap();
            let saved = saved.as_str().unwrap();
            assert_eq!(Target::from_name(saved), Some(control.target()), "{saved}");
        }
        // Every engine-control parameter is in the table (per-deck IDs end in `_N`); FX
        // parameter IDs are their target's name (deck assignments: `fx{u}_assign_N`).
        let params = SegueParams::default();
        for (id, _, _) in params.param_map() {
            let base = id.rsplit_once('_').map_or(id.as_str(), |(b, _)| b);
            if ["hostsync", "bypass", "play", "sync", "keylock"].contains(&base) {
                continue;
            }
            if id.starts_with("fx") {
                let t = Target::from_name(&id).or_else(|| Target::from_name(base));
                assert!(t.is_some(), "FX parameter {id} is not a target name");
                continue;
            }
            assert!(
                PARAM_TARGETS.iter().any(|(p, _)| *p == base),
                "parameter {id} has no target"
            );
        }
        for id in ["play", "sync", "keylock"] {
            assert!(Target::from_name(id).is_some(), "{id}");
        }
    }

    #[test]
    fn fx_parameters_cover_every_fx_target_and_start_at_the_engine_defaults() {
        let params = SegueParams::default();
        let ids: Vec<String> = params.param_map().into_iter().map(|(id, ..)| id).collect();
        for t in Target::fx_targets() {
            let name = t.name();
            let has = match t {
                // Triggers are not parameters; the deck switch is one per deck.
                Target::FxBeatsHalve(..) | Target::FxBeatsDouble(..) => continue,
                Target::FxAssign(_) => (1..=DECKS).all(|d| ids.contains(&format!("{name}_{d}"))),
                _ => ids.contains(&name),
            };
            assert!(has, "no parameter for {name}");
        }
        let values = params.fx_values();
        // Every value names its parameter's target (ID = target name).
        for (t, deck, _) in values {
            let id = match t {
                Target::FxAssign(_) => format!("{}_{}", t.name(), deck + 1),
                _ => t.name(),
            };
            assert!(ids.contains(&id), "{id}");
        }
        let st = segue_engine::Status::default();
        let value = |t: Target| values.iter().find(|v| v.0 == t).unwrap().2;
        for (u, effects) in FX_DEFAULT_EFFECTS.iter().enumerate() {
            for (s, &e) in effects.iter().enumerate() {
                let (u, s8) = (u as u8, s as u8);
                assert_eq!(
                    value(Target::FxEffect(u, s8)),
                    effect_number(Some(e)) as f32
                );
                let (beats, knobs) = e.defaults();
                assert_eq!(value(Target::FxBeats(u, s8)), beats);
                for (p, k) in knobs.into_iter().enumerate() {
                    assert_eq!(value(Target::FxKnob(u, s8, p as u8)), k);
                }
            }
            assert_eq!(value(Target::FxMix(u as u8)), 0.5);
        }
        // Each value is one engine command.
        for (t, deck, v) in values {
            let c = t.command(deck, segue_controllers::Value::Number(v as f64), &st);
            assert!(c.is_some(), "{t}: {v}");
        }
        assert_eq!(step_of_beats(0.0625), -4);
        assert_eq!(beats_of_step(5), 32.0);
        assert_eq!(beats_label(beats_of_step(-2)), "1/4");
    }
}
