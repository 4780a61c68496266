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
//!
//! MIDI learn ([`Learn`]): the editor arms a target (a fader: the next CC; a button: the next
//! note-on), the audio thread reports the first matching message it receives through two
//! atomics (no allocation, no lock) and the control thread writes the binding into the
//! session's mapping ([`MidiMapping::bind`], marked `learned`) and sends the new table.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Mutex;

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
    /// Made with MIDI learn (session version 2; false in migrated version-1 documents).
    pub learned: bool,
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
    /// Made with MIDI learn (session version 2; false in migrated version-1 documents).
    pub learned: bool,
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
                    learned: false,
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
                    learned: false,
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
                    learned: false,
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
                learned: false,
            });
        }
        ccs.push(CcBinding {
            channel: 15,
            cc: 7,
            deck: 0,
            control: Control::Master,
            learned: false,
        });
        ccs.push(CcBinding {
            channel: 15,
            cc: 8,
            deck: 0,
            control: Control::Crossfader,
            learned: false,
        });
        Self { notes, ccs }
    }
}

impl MidiMapping {
    /// Bind `source` to `target` (a learned binding): it replaces whatever that CC or note
    /// did before on that channel; the target's other bindings stay. A CC source for a
    /// button target or a note for a fader is refused (`false`).
    pub fn bind(&mut self, target: LearnTarget, source: Heard) -> bool {
        match (target, source) {
            (LearnTarget::Control { deck, control }, Heard::Cc { channel, cc }) => {
                self.ccs.retain(|b| !(b.channel == channel && b.cc == cc));
                self.ccs.push(CcBinding {
                    channel,
                    cc,
                    // Global controls are saved with deck 0, like the defaults.
                    deck: if control.deck_slot().is_some() {
                        deck
                    } else {
                        0
                    },
                    control,
                    learned: true,
                });
                true
            }
            (LearnTarget::Note { deck, action }, Heard::Note { channel, note }) => {
                self.notes
                    .retain(|b| !(b.channel == channel && b.note == note));
                self.notes.push(NoteBinding {
                    channel,
                    note,
                    deck,
                    action,
                    learned: true,
                });
                true
            }
            _ => false,
        }
    }

    /// How many bindings were learned.
    pub fn learned(&self) -> usize {
        self.ccs.iter().filter(|b| b.learned).count()
            + self.notes.iter().filter(|b| b.learned).count()
    }

    /// The learned bindings of `target`, as text ("ch 3 CC 50").
    pub fn sources_of(&self, target: LearnTarget) -> Vec<String> {
        match target {
            LearnTarget::Control { deck, control } => self
                .ccs
                .iter()
                .filter(|b| {
                    b.learned
                        && b.control == control
                        && (b.deck == deck || control.deck_slot().is_none())
                })
                .map(|b| format!("ch {} CC {}", b.channel + 1, b.cc))
                .collect(),
            LearnTarget::Note { deck, action } => self
                .notes
                .iter()
                .filter(|b| b.learned && b.action == action && b.deck == deck)
                .map(|b| format!("ch {} note {}", b.channel + 1, b.note))
                .collect(),
        }
    }
}

/// What MIDI learn can bind: a continuous control (to a CC) or a deck button (to a note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnTarget {
    /// A fader or knob of `deck` (ignored for the global crossfader and master).
    Control {
        /// Deck index, 0-based.
        deck: u8,
        /// The control.
        control: Control,
    },
    /// A button of `deck`.
    Note {
        /// Deck index, 0-based.
        deck: u8,
        /// What the button does.
        action: NoteAction,
    },
}

/// A MIDI message heard while learning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// A control change.
    Cc {
        /// Channel, 0-based.
        channel: u8,
        /// Controller number.
        cc: u8,
    },
    /// A note-on.
    Note {
        /// Channel, 0-based.
        channel: u8,
        /// Note number.
        note: u8,
    },
}

const WANT_NONE: u8 = 0;
const WANT_CC: u8 = 1;
const WANT_NOTE: u8 = 2;

/// MIDI learn between the editor, the audio thread and the control thread.
#[derive(Debug, Default)]
pub struct Learn {
    /// What the audio thread listens for: nothing, a CC or a note-on.
    want: AtomicU8,
    /// The message heard: 0 = none, else `1 << 24 | kind << 16 | channel << 8 | number`.
    heard: AtomicU32,
    /// The armed target (editor and control thread only).
    target: Mutex<Option<LearnTarget>>,
    /// What the last learn did, for the editor.
    pub last: Mutex<Option<String>>,
}

impl Learn {
    /// Arm `target` (or disarm with `None`): the next matching message binds to it.
    pub fn arm(&self, target: Option<LearnTarget>) {
        let mut t = self.target.lock().unwrap_or_else(|e| e.into_inner());
        *t = target;
        self.heard.store(0, Ordering::SeqCst);
        self.want.store(
            match target {
                None => WANT_NONE,
                Some(LearnTarget::Control { .. }) => WANT_CC,
                Some(LearnTarget::Note { .. }) => WANT_NOTE,
            },
            Ordering::SeqCst,
        );
    }

    /// The armed target.
    pub fn armed(&self) -> Option<LearnTarget> {
        *self.target.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Audio thread, once per event: true when the message was taken by MIDI learn (it
    /// then does nothing else). Two atomic operations; no allocation, no lock.
    pub fn hear(&self, m: Heard) -> bool {
        let (kind, channel, number) = match m {
            Heard::Cc { channel, cc } => (WANT_CC, channel, cc),
            Heard::Note { channel, note } => (WANT_NOTE, channel, note),
        };
        if self.want.load(Ordering::Relaxed) != kind
            || self
                .want
                .compare_exchange(kind, WANT_NONE, Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        let packed =
            1 << 24 | (kind as u32) << 16 | ((channel & 15) as u32) << 8 | (number & 127) as u32;
        self.heard.store(packed, Ordering::SeqCst);
        true
    }

    /// Control thread: the armed target and the message heard for it, once.
    pub fn take(&self) -> Option<(LearnTarget, Heard)> {
        let packed = self.heard.swap(0, Ordering::SeqCst);
        if packed == 0 {
            return None;
        }
        let target = self
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        let (channel, number) = ((packed >> 8 & 0xff) as u8, (packed & 0xff) as u8);
        let heard = if (packed >> 16 & 0xff) as u8 == WANT_CC {
            Heard::Cc {
                channel,
                cc: number,
            }
        } else {
            Heard::Note {
                channel,
                note: number,
            }
        };
        Some((target, heard))
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

    #[test]
    fn learn_binds_the_first_matching_message_once() {
        let l = Learn::default();
        assert!(!l.hear(Heard::Cc { channel: 2, cc: 50 }), "not armed");
        let vol_b = LearnTarget::Control {
            deck: 1,
            control: Control::Volume,
        };
        l.arm(Some(vol_b));
        assert!(
            !l.hear(Heard::Note {
                channel: 0,
                note: 1
            }),
            "a fader wants a CC"
        );
        assert!(l.hear(Heard::Cc { channel: 2, cc: 50 }));
        assert!(!l.hear(Heard::Cc { channel: 2, cc: 51 }), "only the first");
        let (target, heard) = l.take().unwrap();
        assert_eq!((target, heard), (vol_b, Heard::Cc { channel: 2, cc: 50 }));
        assert!(l.take().is_none());
        let mut m = MidiMapping::default();
        // CC 7 on channel 1 was deck A's volume: learning it for deck B's volume replaces it.
        assert!(m.bind(vol_b, Heard::Cc { channel: 0, cc: 7 }));
        assert!(m.bind(vol_b, heard));
        let t = MidiTable::new(&m);
        assert_eq!(t.cc(0, 7), Some((1, Control::Volume)));
        assert_eq!(t.cc(2, 50), Some((1, Control::Volume)));
        assert_eq!(t.cc(1, 7), Some((1, Control::Volume)), "the default stays");
        assert_eq!(m.learned(), 2);
        assert_eq!(m.sources_of(vol_b), ["ch 1 CC 7", "ch 3 CC 50"]);
        let play_a = LearnTarget::Note {
            deck: 0,
            action: NoteAction::Play,
        };
        assert!(!m.bind(play_a, heard), "a button wants a note");
        assert!(m.bind(
            play_a,
            Heard::Note {
                channel: 9,
                note: 60
            }
        ));
        assert_eq!(MidiTable::new(&m).note(9, 60), Some((0, NoteAction::Play)));
    }
}
