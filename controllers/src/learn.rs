//! MIDI learn: from the burst of messages one moved control sent, guess what kind of
//! control it is ([`detect`]), which targets it can drive ([`Detected::fits`]), and the
//! mapping entry for the target the user picks ([`Detected::control`]). `segue midi learn`
//! is the interactive front end; everything it decides is here, without I/O.
//!
//! ```
//! use segue_controllers::learn::{self, Detected};
//! use segue_controllers::{Address, ControlType, MidiMessage, Target};
//!
//! // A fader moved from bottom to top on CC 0x13, channel 1.
//! let burst: Vec<MidiMessage> = (0..=127u8)
//!     .step_by(8)
//!     .filter_map(|v| MidiMessage::decode(&[0xB0, 0x13, v]))
//!     .collect();
//! let found = learn::detect(&burst).unwrap();
//! assert_eq!(found, Detected::Fader(Address::cc(0, 0x13)));
//! assert!(found.fits(&Target::Volume) && !found.fits(&Target::Play));
//! let c = found.control(Target::Volume, Some(0)).unwrap();
//! assert!(matches!(c.kind, ControlType::Fader { .. }));
//! ```

use crate::mapping::{Control, ControlType, Mapping};
use crate::message::{Address, Encoding, MidiKind, MidiMessage};
use crate::target::{Target, TargetKind};

/// What a burst of messages from one control looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// A note, or a CC that only sent 0 and 127.
    Button(Address),
    /// A 7-bit CC or pitch bend with values in between.
    Fader(Address),
    /// A CC below 32 whose LSB (number + 32) moved too: a 14-bit fader.
    Fader14 {
        /// The MSB address.
        msb: Address,
        /// The LSB controller number.
        lsb: u8,
    },
    /// A relative encoder: values around 64 (offset) or near 0 / 127 (two's complement).
    Encoder(Address, Encoding),
}

/// Guess the control from the messages it sent: the address that sent the most messages
/// is the control; its values tell buttons, faders and encoders apart. `None` when no
/// message carries an address.
pub fn detect(msgs: &[MidiMessage]) -> Option<Detected> {
    let addrs: Vec<(Address, u8)> = msgs.iter().filter_map(|m| m.address()).collect();
    let (first, _) = *addrs.first()?;
    let mut best = first;
    let mut best_n = 0;
    for &(a, _) in &addrs {
        let n = addrs.iter().filter(|(b, _)| *b == a).count();
        if n > best_n {
            best = a;
            best_n = n;
        }
    }
    let values: Vec<u8> = addrs
        .iter()
        .filter(|(a, _)| *a == best)
        .map(|(_, v)| *v)
        .collect();
    Some(match best.kind {
        MidiKind::Note => Detected::Button(best),
        MidiKind::PitchBend => Detected::Fader(best),
        MidiKind::Cc => {
            let lsb = best.number + 32;
            let lsb_seen = best.number < 32
                && addrs
                    .iter()
                    .any(|(a, _)| *a == Address::cc(best.channel, lsb));
            if lsb_seen {
                Detected::Fader14 { msb: best, lsb }
            } else if values.iter().all(|&v| v == 0 || v == 127) {
                Detected::Button(best)
            } else if values.iter().all(|&v| (60..=68).contains(&v)) && values.len() > 2 {
                Detected::Encoder(best, Encoding::Offset)
            } else if values
                .iter()
                .all(|&v| (1..=15).contains(&v) || (113..=127).contains(&v))
                && values.len() > 2
            {
                Detected::Encoder(best, Encoding::TwosComplement)
            } else {
                Detected::Fader(best)
            }
        }
    })
}

impl Detected {
    /// The address the mapping entry will listen on (the MSB of a 14-bit fader).
    pub fn address(&self) -> Address {
        match *self {
            Detected::Button(a) | Detected::Fader(a) | Detected::Encoder(a, _) => a,
            Detected::Fader14 { msb, .. } => msb,
        }
    }

    /// Whether this control can drive `target`: buttons drive switches, momentary and
    /// trigger targets; faders drive continuous ones; encoders continuous ones and jogs.
    pub fn fits(&self, target: &Target) -> bool {
        matches!(
            (self, target.kind()),
            (
                Detected::Button(_),
                TargetKind::Switch | TargetKind::Momentary | TargetKind::Trigger
            ) | (
                Detected::Fader(_) | Detected::Fader14 { .. },
                TargetKind::Continuous { .. }
            ) | (
                Detected::Encoder(..),
                TargetKind::Continuous { .. } | TargetKind::Jog | TargetKind::Relative
            )
        )
    }

    /// Every target (in [`Target::names`] order) this control [fits](Self::fits).
    pub fn targets(&self) -> Vec<Target> {
        Target::names()
            .iter()
            .filter_map(|n| Target::from_name(n))
            .filter(|t| self.fits(t))
            .collect()
    }

    /// The mapping entry binding this control to `target` (on `deck`, 0-based, for deck
    /// targets): a button on a switch toggles, other buttons are held; an encoder on a jog
    /// nudges and scratches, on a value steps 1/128 of its range; a fader spans the
    /// target's range. `None` when the control does not [fit](Self::fits) the target.
    pub fn control(&self, target: Target, deck: Option<u8>) -> Option<Control> {
        let (midi, kind) = match (*self, target.kind()) {
            (Detected::Button(a), TargetKind::Switch) => (a, ControlType::Toggle),
            (Detected::Button(a), TargetKind::Momentary | TargetKind::Trigger) => {
                (a, ControlType::Button)
            }
            (Detected::Encoder(a, encoding), TargetKind::Jog) => (
                a,
                ControlType::Jog {
                    encoding,
                    ticks_per_rev: 128.0,
                    nudge_ms: 1.0,
                    scratch: true,
                },
            ),
            (Detected::Encoder(a, encoding), TargetKind::Relative) => (
                a,
                ControlType::Encoder {
                    encoding,
                    step: 1.0,
                },
            ),
            (Detected::Encoder(a, encoding), TargetKind::Continuous { min, max }) => (
                a,
                ControlType::Encoder {
                    encoding,
                    step: (max - min) / 128.0,
                },
            ),
            (Detected::Fader(a), TargetKind::Continuous { min, max }) => {
                (a, ControlType::Fader { min, max })
            }
            (Detected::Fader14 { msb, lsb }, TargetKind::Continuous { min, max }) => {
                (msb, ControlType::Fader14 { lsb, min, max })
            }
            _ => return None,
        };
        Some(Control {
            midi,
            kind,
            target,
            deck: deck.filter(|_| target.is_deck()),
            layer: None,
            soft_takeover: false,
        })
    }
}

/// Add a learned entry to `mapping`; an entry for the same address and layer is replaced
/// (learning a control again rebinds it).
pub fn bind(mapping: &mut Mapping, control: Control) {
    mapping
        .controls
        .retain(|o| !(o.midi == control.midi && o.layer == control.layer));
    mapping.controls.push(control);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(n: u8, v: u8) -> MidiMessage {
        MidiMessage::decode(&[0xB0, n, v]).unwrap()
    }

    #[test]
    fn detects_control_kinds_from_their_messages() {
        let fader: Vec<_> = (0..40).map(|v| cc(0x13, v * 3)).collect();
        assert_eq!(detect(&fader), Some(Detected::Fader(Address::cc(0, 0x13))));
        let button = vec![cc(0x20, 127), cc(0x20, 0)];
        assert_eq!(
            detect(&button),
            Some(Detected::Button(Address::cc(0, 0x20)))
        );
        let note = [
            MidiMessage::decode(&[0x91, 0x0B, 0x7F]).unwrap(),
            MidiMessage::decode(&[0x81, 0x0B, 0x00]).unwrap(),
        ];
        assert_eq!(
            detect(&note),
            Some(Detected::Button(Address::note(1, 0x0B)))
        );
        let enc: Vec<_> = [1, 1, 2, 127, 126, 1]
            .iter()
            .map(|&v| cc(0x21, v))
            .collect();
        assert_eq!(
            detect(&enc),
            Some(Detected::Encoder(
                Address::cc(0, 0x21),
                Encoding::TwosComplement
            ))
        );
        let rot: Vec<_> = [65, 65, 63, 66].iter().map(|&v| cc(0x22, v)).collect();
        assert_eq!(
            detect(&rot),
            Some(Detected::Encoder(Address::cc(0, 0x22), Encoding::Offset))
        );
        let f14: Vec<_> = (0..20)
            .flat_map(|v| [cc(0x01, v), cc(0x21, v * 5)])
            .collect();
        assert_eq!(
            detect(&f14),
            Some(Detected::Fader14 {
                msb: Address::cc(0, 0x01),
                lsb: 0x21
            })
        );
        let bend = [MidiMessage::decode(&[0xE0, 0x00, 0x40]).unwrap()];
        assert_eq!(detect(&bend), Some(Detected::Fader(Address::pitch_bend(0))));
        assert_eq!(detect(&[]), None);
    }

    #[test]
    fn the_busiest_address_is_the_control() {
        // A stray note among a fader's messages does not make it a button.
        let mut msgs: Vec<_> = (0..10).map(|v| cc(0x07, v * 10)).collect();
        msgs.insert(3, MidiMessage::decode(&[0x90, 0x30, 0x7F]).unwrap());
        assert_eq!(detect(&msgs), Some(Detected::Fader(Address::cc(0, 0x07))));
    }

    #[test]
    fn controls_fit_targets_of_their_kind_only() {
        let button = Detected::Button(Address::note(0, 1));
        let fader = Detected::Fader(Address::cc(0, 1));
        let jog = Detected::Encoder(Address::cc(0, 2), Encoding::Offset);
        assert!(button.fits(&Target::Play) && button.fits(&Target::HotCue(0)));
        assert!(!button.fits(&Target::Volume));
        assert!(fader.fits(&Target::Volume) && !fader.fits(&Target::Jog));
        assert!(jog.fits(&Target::Jog) && jog.fits(&Target::Volume));
        assert!(!jog.fits(&Target::Cue));
        let t = fader.targets();
        assert!(t.contains(&Target::Volume) && t.contains(&Target::Crossfader));
        assert!(t
            .iter()
            .all(|t| matches!(t.kind(), TargetKind::Continuous { .. })));
    }

    #[test]
    fn learned_entries_take_the_targets_range_and_rebind() {
        let fader = Detected::Fader14 {
            msb: Address::cc(2, 0x01),
            lsb: 0x21,
        };
        let c = fader.control(Target::Volume, Some(1)).unwrap();
        assert_eq!(c.midi, Address::cc(2, 0x01));
        assert_eq!(c.deck, Some(1));
        let TargetKind::Continuous { min, max } = Target::Volume.kind() else {
            panic!("volume is continuous")
        };
        assert_eq!(
            c.kind,
            ControlType::Fader14 {
                lsb: 0x21,
                min,
                max
            }
        );
        // A button toggles a switch and is held for a momentary target.
        let b = Detected::Button(Address::note(0, 0x0B));
        assert_eq!(
            b.control(Target::Play, Some(0)).unwrap().kind,
            ControlType::Toggle
        );
        assert_eq!(
            b.control(Target::Cue, Some(0)).unwrap().kind,
            ControlType::Button
        );
        // Mixer targets carry no deck; a misfit gives nothing.
        assert_eq!(
            fader.control(Target::Crossfader, Some(1)).unwrap().deck,
            None
        );
        assert_eq!(b.control(Target::Volume, Some(0)), None);
        // Learning the same address again replaces the first entry.
        let mut m = Mapping::default();
        bind(&mut m, b.control(Target::Play, Some(0)).unwrap());
        bind(&mut m, fader.control(Target::Volume, Some(0)).unwrap());
        bind(&mut m, b.control(Target::Cue, Some(0)).unwrap());
        assert_eq!(m.controls.len(), 2);
        assert_eq!(m.controls[1].target, Target::Cue);
    }
}
