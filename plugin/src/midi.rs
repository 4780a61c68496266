//! MIDI from the host: notes → deck actions, CCs → controls. The mapping is data (saved in the
//! session); the audio thread reads a lookup table compiled from it off the audio thread.
//!
//! Default layout (channels 1-4 = decks A-D):
//!
//! | message (on the deck's channel) | action |
//! |---|---|
//! | notes 36-43 (C1-G1) | hot cues 1-8 (jump, or set when empty) |
//! | note 44 (G#1) | play / pause (toggle) |
//! | note 45 (A1) | CDJ cue (held: preview) |
//! | note 46 (A#1) | sync (toggle) |
//! | note 47 (B1) | key lock (toggle) |
//! | CC 7 | volume |
//! | CC 12 / 13 | trim / tempo |
//! | CC 14 / 15 / 16 | EQ low / mid / high |
//! | CC 17 | filter |
//! | CC 18 / 19 / 20 / 21 | drums / bass / other / vocals stem gains |
//!
//! Channel 16: CC 7 master volume, CC 8 crossfader; notes 36-40 load suggestion 1-5 onto
//! the free deck, note 41 starts the planned transition, note 42 flips Auto DJ, note 43
//! starts or stops recording the set.

use serde::{Deserialize, Serialize};

use crate::params::{Control, DECKS};

/// What a note does on its deck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteAction {
    /// Hot cue pad 0..8.
    HotCue(u8),
    /// Play/pause toggle (note on only).
    Play,
    /// CDJ cue button (note on = pressed, note off = released).
    Cue,
    /// Sync toggle.
    Sync,
    /// Key lock toggle.
    KeyLock,
    /// Load suggestion 0..10 onto the free deck (the note's deck is ignored).
    SuggestionLoad(u8),
    /// Start the planned transition to the track waiting on a free deck.
    TransitionStart,
    /// Flip Auto DJ.
    AutoDj,
    /// Start recording the set, or stop if recording.
    Record,
}

impl NoteAction {
    /// The target the note drives (the one vocabulary; saved as before: `hot_cue`, `play`,
    /// `cue`, `sync`, `key_lock` — `key_lock` is an alias of the target `keylock`).
    pub fn target(self) -> segue_controllers::Target {
        use segue_controllers::Target;
        match self {
            NoteAction::HotCue(i) => Target::HotCue(i),
            NoteAction::Play => Target::Play,
            NoteAction::Cue => Target::Cue,
            NoteAction::Sync => Target::Sync,
            NoteAction::KeyLock => Target::KeyLock,
            NoteAction::SuggestionLoad(i) => Target::SuggestionLoad(i),
            NoteAction::TransitionStart => Target::TransitionStart,
            NoteAction::AutoDj => Target::AutoDjToggle,
            NoteAction::Record => Target::RecordToggle,
        }
    }
}

/// A note binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteBinding {
    /// MIDI channel, 0-based (0 = channel 1).
    pub channel: u8,
    /// Note number.
    pub note: u8,
    /// Deck index, 0-based.
    pub deck: u8,
    /// What it does.
    pub action: NoteAction,
}

/// A CC binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CcBinding {
    /// MIDI channel, 0-based.
    pub channel: u8,
    /// Controller number.
    pub cc: u8,
    /// Deck index for per-deck controls (ignored for global ones).
    pub deck: u8,
    /// The control it moves (0..127 spans the control's range).
    pub control: Control,
}

/// The whole mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidiMapping {
    /// Note bindings.
    pub notes: Vec<NoteBinding>,
    /// CC bindings.
    pub ccs: Vec<CcBinding>,
}

/// First hot-cue note of the default layout.
pub const HOT_CUE_NOTE: u8 = 36;

impl Default for MidiMapping {
    fn default() -> Self {
        let mut notes = Vec::new();
        let mut ccs = Vec::new();
        for deck in 0..DECKS as u8 {
            let ch = deck;
            for i in 0..8u8 {
                notes.push(NoteBinding {
                    channel: ch,
                    note: HOT_CUE_NOTE + i,
                    deck,
                    action: NoteAction::HotCue(i),
                });
            }
            for (note, action) in [
                (44, NoteAction::Play),
                (45, NoteAction::Cue),
                (46, NoteAction::Sync),
                (47, NoteAction::KeyLock),
            ] {
                notes.push(NoteBinding {
                    channel: ch,
                    note,
                    deck,
                    action,
                });
            }
            for (cc, control) in [
                (7, Control::Volume),
                (12, Control::Trim),
                (13, Control::Tempo),
                (14, Control::EqLow),
                (15, Control::EqMid),
                (16, Control::EqHigh),
                (17, Control::Filter),
                (18, Control::Drums),
                (19, Control::Bass),
                (20, Control::Other),
                (21, Control::Vocals),
            ] {
                ccs.push(CcBinding {
                    channel: ch,
                    cc,
                    deck,
                    control,
                });
            }
        }
        for (note, action) in (0..5u8)
            .map(|i| (36 + i, NoteAction::SuggestionLoad(i)))
            .chain([
                (41, NoteAction::TransitionStart),
                (42, NoteAction::AutoDj),
                (43, NoteAction::Record),
            ])
        {
            notes.push(NoteBinding {
                channel: 15,
                note,
                deck: 0,
                action,
            });
        }
        ccs.push(CcBinding {
            channel: 15,
            cc: 7,
            deck: 0,
            control: Control::Master,
        });
        ccs.push(CcBinding {
            channel: 15,
            cc: 8,
            deck: 0,
            control: Control::Crossfader,
        });
        Self { notes, ccs }
    }
}

/// The mapping as fixed lookup tables for the audio thread (built off it).
pub struct MidiTable {
    notes: [[Option<(u8, NoteAction)>; 128]; 16],
    ccs: [[Option<(u8, Control)>; 128]; 16],
}

impl MidiTable {
    /// Compile a mapping; bindings with out-of-range channel, note, CC or deck are skipped.
    pub fn new(m: &MidiMapping) -> Box<Self> {
        let mut t = Box::new(MidiTable {
            notes: [[None; 128]; 16],
            ccs: [[None; 128]; 16],
        });
        for b in &m.notes {
            if b.channel < 16 && b.note < 128 && (b.deck as usize) < DECKS {
                t.notes[b.channel as usize][b.note as usize] = Some((b.deck, b.action));
            }
        }
        for b in &m.ccs {
            if b.channel < 16 && b.cc < 128 && (b.deck as usize) < DECKS {
                t.ccs[b.channel as usize][b.cc as usize] = Some((b.deck, b.control));
            }
        }
        t
    }

    /// The action of a note, if mapped.
    pub fn note(&self, channel: u8, note: u8) -> Option<(u8, NoteAction)> {
        *self.notes.get(channel as usize)?.get(note as usize)?
    }

    /// The control of a CC, if mapped.
    pub fn cc(&self, channel: u8, cc: u8) -> Option<(u8, Control)> {
        *self.ccs.get(channel as usize)?.get(cc as usize)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_matches_the_documented_table() {
        let t = MidiTable::new(&MidiMapping::default());
        assert_eq!(t.note(0, 36), Some((0, NoteAction::HotCue(0))));
        assert_eq!(t.note(3, 43), Some((3, NoteAction::HotCue(7))));
        assert_eq!(t.note(1, 44), Some((1, NoteAction::Play)));
        assert_eq!(t.note(2, 45), Some((2, NoteAction::Cue)));
        assert_eq!(t.note(0, 46), Some((0, NoteAction::Sync)));
        assert_eq!(t.note(0, 47), Some((0, NoteAction::KeyLock)));
        assert_eq!(t.note(4, 36), None);
        assert_eq!(t.cc(1, 7), Some((1, Control::Volume)));
        assert_eq!(t.cc(0, 17), Some((0, Control::Filter)));
        assert_eq!(t.cc(15, 8).map(|c| c.1), Some(Control::Crossfader));
        assert_eq!(t.cc(15, 7).map(|c| c.1), Some(Control::Master));
        assert_eq!(t.note(200, 36), None);
        assert_eq!(t.note(15, 36), Some((0, NoteAction::SuggestionLoad(0))));
        assert_eq!(t.note(15, 41), Some((0, NoteAction::TransitionStart)));
        assert_eq!(t.note(15, 42), Some((0, NoteAction::AutoDj)));
    }
}
