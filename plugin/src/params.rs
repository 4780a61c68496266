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
use segue_controllers::Target;
use segue_engine::{EqBand, Stem};

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
}

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
        }
    }
}

impl Default for SegueParams {
    fn default() -> Self {
        Self {
            editor_state: EguiEditorState::from_size(
                nice_plug::editor::dpi::LogicalSize::new(1000.0, 880.0),
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
        }
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
        // Every engine-control parameter is in the table (per-deck IDs end in `_N`).
        let params = SegueParams::default();
        for (id, _, _) in params.param_map() {
            let base = id.rsplit_once('_').map_or(id.as_str(), |(b, _)| b);
            if ["hostsync", "bypass", "play", "sync", "keylock"].contains(&base) {
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
}
