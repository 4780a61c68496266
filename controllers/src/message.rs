//! MIDI short messages: decoding what a controller sends, encoding what Segue sends back.

use std::fmt;

/// The kinds of MIDI message a mapping can bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MidiKind {
    /// Note on / note off (a note off, or a note on with velocity 0, is a release).
    Note,
    /// Control change.
    Cc,
    /// Pitch bend: one 14-bit value per channel (number is always 0).
    PitchBend,
}

impl MidiKind {
    /// Name used in mapping files and the monitor.
    pub fn name(self) -> &'static str {
        match self {
            MidiKind::Note => "note",
            MidiKind::Cc => "cc",
            MidiKind::PitchBend => "pitch_bend",
        }
    }
}

/// Where a message comes from or goes to: kind, channel (0-based) and note/CC number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address {
    /// Message kind.
    pub kind: MidiKind,
    /// MIDI channel, 0..=15 (mapping files write it 1-based).
    pub channel: u8,
    /// Note or CC number 0..=127 (0 for pitch bend).
    pub number: u8,
}

impl Address {
    /// A note on `channel` (0-based).
    pub const fn note(channel: u8, number: u8) -> Self {
        Self {
            kind: MidiKind::Note,
            channel,
            number,
        }
    }

    /// A control change on `channel` (0-based).
    pub const fn cc(channel: u8, number: u8) -> Self {
        Self {
            kind: MidiKind::Cc,
            channel,
            number,
        }
    }

    /// Pitch bend on `channel` (0-based).
    pub const fn pitch_bend(channel: u8) -> Self {
        Self {
            kind: MidiKind::PitchBend,
            channel,
            number: 0,
        }
    }

    /// The 3-byte message that sets this address to `value` (note on with velocity
    /// `value`, or CC value; pitch bend sends `value` as the MSB).
    pub fn message(self, value: u8) -> [u8; 3] {
        let ch = self.channel & 0x0F;
        let v = value & 0x7F;
        match self.kind {
            MidiKind::Note => [0x90 | ch, self.number & 0x7F, v],
            MidiKind::Cc => [0xB0 | ch, self.number & 0x7F, v],
            MidiKind::PitchBend => [0xE0 | ch, 0, v],
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            MidiKind::PitchBend => write!(f, "pitch_bend ch{}", self.channel + 1),
            k => write!(
                f,
                "{} ch{} 0x{:02X}",
                k.name(),
                self.channel + 1,
                self.number
            ),
        }
    }
}

/// One decoded MIDI message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidiMessage {
    /// Note on with velocity > 0.
    NoteOn {
        /// Channel 0..=15.
        channel: u8,
        /// Note number.
        note: u8,
        /// Velocity 1..=127.
        velocity: u8,
    },
    /// Note off (or note on with velocity 0).
    NoteOff {
        /// Channel 0..=15.
        channel: u8,
        /// Note number.
        note: u8,
        /// Release velocity.
        velocity: u8,
    },
    /// Control change.
    Cc {
        /// Channel 0..=15.
        channel: u8,
        /// Controller number.
        number: u8,
        /// Value 0..=127.
        value: u8,
    },
    /// Pitch bend, 0..=16383 (8192 = centre).
    PitchBend {
        /// Channel 0..=15.
        channel: u8,
        /// 14-bit value.
        value: u16,
    },
    /// Anything else with a status byte (program change, aftertouch, clock, sysex...).
    Other {
        /// The status byte.
        status: u8,
    },
}

impl MidiMessage {
    /// Decode one message; `None` for an empty or truncated message (never panics).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let &status = bytes.first()?;
        let ch = status & 0x0F;
        let d = |i: usize| bytes.get(i).map(|b| b & 0x7F);
        Some(match status & 0xF0 {
            0x80 => MidiMessage::NoteOff {
                channel: ch,
                note: d(1)?,
                velocity: d(2)?,
            },
            0x90 => {
                let (note, velocity) = (d(1)?, d(2)?);
                if velocity == 0 {
                    MidiMessage::NoteOff {
                        channel: ch,
                        note,
                        velocity: 0,
                    }
                } else {
                    MidiMessage::NoteOn {
                        channel: ch,
                        note,
                        velocity,
                    }
                }
            }
            0xB0 => MidiMessage::Cc {
                channel: ch,
                number: d(1)?,
                value: d(2)?,
            },
            0xE0 => MidiMessage::PitchBend {
                channel: ch,
                value: d(1)? as u16 | (d(2)? as u16) << 7,
            },
            _ if status < 0x80 => return None,
            _ => MidiMessage::Other { status },
        })
    }

    /// The address a mapping binds for this message, and its 7-bit value (pitch bend: the
    /// 14-bit value is returned separately by [`MidiMessage::value14`]).
    pub fn address(&self) -> Option<(Address, u8)> {
        match *self {
            MidiMessage::NoteOn {
                channel,
                note,
                velocity,
            } => Some((Address::note(channel, note), velocity)),
            MidiMessage::NoteOff { channel, note, .. } => Some((Address::note(channel, note), 0)),
            MidiMessage::Cc {
                channel,
                number,
                value,
            } => Some((Address::cc(channel, number), value)),
            MidiMessage::PitchBend { channel, value } => {
                Some((Address::pitch_bend(channel), (value >> 7) as u8))
            }
            MidiMessage::Other { .. } => None,
        }
    }

    /// The 14-bit value of a pitch bend.
    pub fn value14(&self) -> Option<u16> {
        match *self {
            MidiMessage::PitchBend { value, .. } => Some(value),
            _ => None,
        }
    }
}

impl fmt::Display for MidiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MidiMessage::NoteOn {
                channel,
                note,
                velocity,
            } => write!(
                f,
                "note on  ch{} note 0x{note:02X} ({note}) velocity {velocity}",
                channel + 1
            ),
            MidiMessage::NoteOff {
                channel,
                note,
                velocity,
            } => write!(
                f,
                "note off ch{} note 0x{note:02X} ({note}) velocity {velocity}",
                channel + 1
            ),
            MidiMessage::Cc {
                channel,
                number,
                value,
            } => write!(
                f,
                "cc       ch{} cc   0x{number:02X} ({number}) value {value}",
                channel + 1
            ),
            MidiMessage::PitchBend { channel, value } => {
                write!(f, "pitch bend ch{} value {value}", channel + 1)
            }
            MidiMessage::Other { status } => match status {
                0xF8 => write!(f, "clock"),
                0xFA => write!(f, "start"),
                0xFB => write!(f, "continue"),
                0xFC => write!(f, "stop"),
                s => write!(f, "other status 0x{s:02X}"),
            },
        }
    }
}

/// How a relative encoder or jog wheel encodes a movement in a 7-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// 1..=63 forward, 127..=65 backward (−1..=−63): `value − 128` when ≥ 64.
    #[default]
    TwosComplement,
    /// Bit 6 is the sign: 1..=63 forward, 65..=127 backward (65 = −1).
    SignBit,
    /// Binary offset around 64: 65 = +1, 63 = −1 (Mixxx's `rot64`).
    Offset,
}

impl Encoding {
    /// Name used in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::TwosComplement => "twos_complement",
            Encoding::SignBit => "sign_bit",
            Encoding::Offset => "offset",
        }
    }

    /// Parse a mapping-file name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "twos_complement" => Encoding::TwosComplement,
            "sign_bit" => Encoding::SignBit,
            "offset" => Encoding::Offset,
            _ => return None,
        })
    }

    /// Signed ticks of one message.
    pub fn ticks(self, value: u8) -> i32 {
        let v = (value & 0x7F) as i32;
        match self {
            Encoding::TwosComplement => {
                if v >= 64 {
                    v - 128
                } else {
                    v
                }
            }
            Encoding::SignBit => {
                if v & 0x40 != 0 {
                    -(v & 0x3F)
                } else {
                    v
                }
            }
            Encoding::Offset => v - 64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_note_on_velocity_zero_as_note_off() {
        assert_eq!(
            MidiMessage::decode(&[0x91, 60, 0]),
            Some(MidiMessage::NoteOff {
                channel: 1,
                note: 60,
                velocity: 0
            })
        );
        assert_eq!(MidiMessage::decode(&[0x90, 60]), None);
        assert_eq!(MidiMessage::decode(&[]), None);
        assert_eq!(MidiMessage::decode(&[0x40, 1, 2]), None);
    }

    #[test]
    fn pitch_bend_is_fourteen_bit() {
        let m = MidiMessage::decode(&[0xE2, 0x7F, 0x7F]).unwrap();
        assert_eq!(m.value14(), Some(16383));
        let m = MidiMessage::decode(&[0xE0, 0x00, 0x40]).unwrap();
        assert_eq!(m.value14(), Some(8192));
    }

    #[test]
    fn relative_encodings() {
        use Encoding::*;
        assert_eq!(TwosComplement.ticks(1), 1);
        assert_eq!(TwosComplement.ticks(63), 63);
        assert_eq!(TwosComplement.ticks(127), -1);
        assert_eq!(TwosComplement.ticks(65), -63);
        assert_eq!(SignBit.ticks(1), 1);
        assert_eq!(SignBit.ticks(65), -1);
        assert_eq!(SignBit.ticks(127), -63);
        assert_eq!(SignBit.ticks(64), 0);
        assert_eq!(Offset.ticks(65), 1);
        assert_eq!(Offset.ticks(63), -1);
        assert_eq!(Offset.ticks(64), 0);
        assert_eq!(Offset.ticks(0), -64);
    }

    #[test]
    fn feedback_messages() {
        assert_eq!(Address::note(0, 0x0B).message(127), [0x90, 0x0B, 127]);
        assert_eq!(Address::cc(3, 0x10).message(200), [0xB3, 0x10, 72]);
    }
}
