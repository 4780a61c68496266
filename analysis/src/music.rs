//! Musical keys the way DJ software names them: key names ("A minor"), the Camelot wheel
//! ("8A") and Open Key notation ("1m"), with parsing from any of the three and harmonic-mixing
//! compatibility.
//!
//! Pitch classes are spelled one way each, as Mixed In Key does: C, C#, D, Eb, E, F, F#, G,
//! Ab, A, Bb, B. Parsing accepts either enharmonic spelling ("Db major" and "C# major" are the
//! same key).
//!
//! ```
//! use segue_analysis::music::{Key, Mode};
//!
//! let key: Key = "A minor".parse().unwrap();
//! assert_eq!(key, Key::new(9, Mode::Minor));
//! assert_eq!(key.camelot(), "8A");
//! assert_eq!(key.open_key(), "1m");
//! assert_eq!("8B".parse::<Key>().unwrap().name(), "C major");
//! assert!(key.compatible().contains(&"C major".parse().unwrap()));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Major or (natural) minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Ionian: Camelot letter B, Open Key letter d.
    Major,
    /// Aeolian (natural minor): Camelot letter A, Open Key letter m.
    Minor,
}

impl Mode {
    /// Lower-case name: `"major"` or `"minor"`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
        }
    }

    /// Semitones above the tonic of the seven scale degrees.
    pub fn intervals(self) -> [u8; 7] {
        match self {
            Mode::Major => [0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => [0, 2, 3, 5, 7, 8, 10],
        }
    }
}

/// Name of each pitch class, 0 = C, one spelling each (sharps and flats as DJ software
/// spells them).
pub const PITCH_CLASS_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// A musical key: a tonic pitch class and a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Key {
    /// Pitch class of the tonic, 0 = C ... 11 = B.
    pub tonic: u8,
    /// Major or minor.
    pub mode: Mode,
}

/// Tonic of the major key at Camelot number `n` (1..=12): 8B is C, each step a fifth up.
const fn camelot_major_tonic(n: u8) -> u8 {
    // n = (7 * tonic + 7) mod 12 + 1, and 7 is its own inverse mod 12.
    ((7 * (n as u32 + 12 - 8)) % 12) as u8
}

const fn camelot_order() -> [Key; 24] {
    let mut keys = [Key {
        tonic: 0,
        mode: Mode::Major,
    }; 24];
    let mut n = 1;
    while n <= 12 {
        let major = camelot_major_tonic(n);
        keys[2 * (n as usize - 1)] = Key {
            tonic: (major + 9) % 12,
            mode: Mode::Minor,
        };
        keys[2 * (n as usize - 1) + 1] = Key {
            tonic: major,
            mode: Mode::Major,
        };
        n += 1;
    }
    keys
}

impl Key {
    /// All 24 keys in Camelot order: 1A, 1B, 2A, 2B ... 12A, 12B.
    pub const ALL: [Key; 24] = camelot_order();

    /// The key with tonic pitch class `tonic` (taken modulo 12) and `mode`.
    pub const fn new(tonic: u8, mode: Mode) -> Key {
        Key {
            tonic: tonic % 12,
            mode,
        }
    }

    /// The key at a Camelot position: `number` 1..=12, `minor` for the A ring.
    /// `None` when `number` is out of range.
    pub fn from_camelot(number: u8, mode: Mode) -> Option<Key> {
        if !(1..=12).contains(&number) {
            return None;
        }
        let major = camelot_major_tonic(number);
        Some(match mode {
            Mode::Major => Key::new(major, Mode::Major),
            Mode::Minor => Key::new(major + 9, Mode::Minor),
        })
    }

    /// Conventional name, e.g. `"A minor"`, `"F# major"`, `"Bb minor"`.
    pub fn name(self) -> String {
        format!("{} {}", self.tonic_name(), self.mode.name())
    }

    /// Name of the tonic alone, e.g. `"F#"`.
    pub fn tonic_name(self) -> &'static str {
        PITCH_CLASS_NAMES[(self.tonic % 12) as usize]
    }

    /// Camelot wheel number, 1..=12.
    pub fn camelot_number(self) -> u8 {
        let major = match self.mode {
            Mode::Major => self.tonic % 12,
            Mode::Minor => (self.tonic + 3) % 12,
        };
        (7 * major + 7) % 12 + 1
    }

    /// Camelot code: `"8A"` for A minor, `"8B"` for C major.
    pub fn camelot(self) -> String {
        let letter = match self.mode {
            Mode::Major => 'B',
            Mode::Minor => 'A',
        };
        format!("{}{}", self.camelot_number(), letter)
    }

    /// Open Key code: `"1m"` for A minor, `"1d"` for C major (Camelot number minus 7).
    pub fn open_key(self) -> String {
        let number = (self.camelot_number() + 4) % 12 + 1;
        let letter = match self.mode {
            Mode::Major => 'd',
            Mode::Minor => 'm',
        };
        format!("{number}{letter}")
    }

    /// The relative key (same notes, other mode): A minor ↔ C major.
    pub fn relative(self) -> Key {
        match self.mode {
            Mode::Major => Key::new(self.tonic + 9, Mode::Minor),
            Mode::Minor => Key::new(self.tonic + 3, Mode::Major),
        }
    }

    /// Keys that mix harmonically with this one on the Camelot wheel, in this order: the
    /// same key, one step clockwise (+1, a fifth up), one step anticlockwise (-1, a fifth
    /// down), and the relative major/minor (same number, other letter).
    pub fn compatible(self) -> [Key; 4] {
        [
            self,
            Key::new(self.tonic + 7, self.mode),
            Key::new(self.tonic + 5, self.mode),
            self.relative(),
        ]
    }

    /// Pitch classes of the seven scale degrees, starting on the tonic.
    pub fn scale(self) -> [u8; 7] {
        self.mode.intervals().map(|i| (self.tonic + i) % 12)
    }

    /// Pitch classes (root, third, fifth) of the diatonic triad on scale degree `degree`
    /// (0 = tonic; taken modulo 7).
    pub fn triad(self, degree: usize) -> [u8; 3] {
        let s = self.scale();
        [s[degree % 7], s[(degree + 2) % 7], s[(degree + 4) % 7]]
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl From<Key> for String {
    fn from(key: Key) -> String {
        key.name()
    }
}

impl TryFrom<String> for Key {
    type Error = ParseKeyError;

    fn try_from(s: String) -> Result<Key, ParseKeyError> {
        s.parse()
    }
}

/// A string that is not a key name, Camelot code or Open Key code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseKeyError {
    /// The text that was given.
    pub input: String,
}

impl fmt::Display for ParseKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a key (expected a name like \"A minor\", \"F#m\" or \"Db major\", \
             a Camelot code like \"8A\", or an Open Key code like \"1m\")",
            self.input
        )
    }
}

impl std::error::Error for ParseKeyError {}

impl FromStr for Key {
    type Err = ParseKeyError;

    /// Parses a key name (`"A minor"`, `"Am"`, `"A min"`, `"F#m"`, `"Db major"`, `"C"`,
    /// `"CM"`; `♯`/`♭` accepted), a Camelot code (`"8A"`, `"12b"`) or an Open Key code
    /// (`"1m"`, `"6d"`).
    fn from_str(s: &str) -> Result<Key, ParseKeyError> {
        let t = s.trim();
        let parsed = if t.starts_with(|c: char| c.is_ascii_digit()) {
            parse_code(t)
        } else {
            parse_name(t)
        };
        parsed.ok_or_else(|| ParseKeyError {
            input: s.to_string(),
        })
    }
}

/// Camelot (`8A`) or Open Key (`1m`).
fn parse_code(t: &str) -> Option<Key> {
    let digits = t.find(|c: char| !c.is_ascii_digit())?;
    let number: u8 = t[..digits].parse().ok()?;
    match &t[digits..] {
        "A" | "a" => Key::from_camelot(number, Mode::Minor),
        "B" | "b" => Key::from_camelot(number, Mode::Major),
        letter @ ("m" | "M" | "d" | "D") => {
            if !(1..=12).contains(&number) {
                return None;
            }
            // Open Key n is Camelot n + 7.
            let camelot = (number + 6) % 12 + 1;
            let mode = if letter.eq_ignore_ascii_case("m") {
                Mode::Minor
            } else {
                Mode::Major
            };
            Key::from_camelot(camelot, mode)
        }
        _ => None,
    }
}

/// `C`, `C#m`, `Db major`, `F# min`, `Bbm`, `A minor`.
fn parse_name(t: &str) -> Option<Key> {
    let mut chars = t.chars();
    let letter = chars.next()?.to_ascii_uppercase();
    let natural: i32 = match letter {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let rest = chars.as_str();
    let (shift, rest) = match rest.chars().next() {
        Some(c @ ('#' | '♯')) => (1, &rest[c.len_utf8()..]),
        Some(c @ ('b' | '♭')) => (-1, &rest[c.len_utf8()..]),
        _ => (0, rest),
    };
    let mode = match rest.trim() {
        "" | "M" => Mode::Major,
        "m" => Mode::Minor,
        word => match word.to_ascii_lowercase().as_str() {
            "maj" | "major" => Mode::Major,
            "min" | "minor" => Mode::Minor,
            _ => return None,
        },
    };
    Some(Key::new((natural + shift).rem_euclid(12) as u8, mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn well_known_keys_sit_where_the_wheel_puts_them() {
        let cases = [
            ("C major", "8B", "1d"),
            ("A minor", "8A", "1m"),
            ("G major", "9B", "2d"),
            ("E minor", "9A", "2m"),
            ("F# minor", "11A", "4m"),
            ("Db major", "3B", "8d"),
            ("Bb minor", "3A", "8m"),
            ("B major", "1B", "6d"),
            ("Ab minor", "1A", "6m"),
            ("F major", "7B", "12d"),
            ("D minor", "7A", "12m"),
            ("E major", "12B", "5d"),
            ("C# minor", "12A", "5m"),
        ];
        for (name, camelot, open) in cases {
            let k = key(name);
            assert_eq!(k.camelot(), camelot, "{name}");
            assert_eq!(k.open_key(), open, "{name}");
            assert_eq!(key(camelot), k, "{camelot}");
            assert_eq!(key(open), k, "{open}");
        }
    }

    #[test]
    fn the_full_wheel_is_a_circle_of_fifths_with_relatives_across() {
        assert_eq!(Key::ALL.len(), 24);
        for (i, k) in Key::ALL.iter().enumerate() {
            let number = i / 2 + 1;
            let letter = if i % 2 == 0 { "A" } else { "B" };
            assert_eq!(k.camelot(), format!("{number}{letter}"));
            // Open Key is Camelot shifted by 7.
            let open_number = (number + 4) % 12 + 1;
            let open_letter = if i % 2 == 0 { "m" } else { "d" };
            assert_eq!(k.open_key(), format!("{open_number}{open_letter}"));
            // Every code and name parses back to the same key.
            assert_eq!(key(&k.camelot()), *k);
            assert_eq!(key(&k.open_key()), *k);
            assert_eq!(key(&k.name()), *k);
            // A and B at the same number are relatives.
            if i % 2 == 0 {
                assert_eq!(k.relative(), Key::ALL[i + 1]);
                assert_eq!(Key::ALL[i + 1].relative(), *k);
            }
            // The next number is a fifth up.
            let next = Key::ALL[(i + 2) % 24];
            assert_eq!(next.tonic, (k.tonic + 7) % 12);
        }
        let mut all = Key::ALL.to_vec();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 24, "every key appears once");
    }

    #[test]
    fn names_use_one_spelling_per_pitch_class() {
        assert_eq!(Key::new(1, Mode::Major).name(), "C# major");
        assert_eq!(Key::new(3, Mode::Minor).name(), "Eb minor");
        assert_eq!(Key::new(6, Mode::Major).name(), "F# major");
        assert_eq!(Key::new(8, Mode::Minor).name(), "Ab minor");
        assert_eq!(Key::new(10, Mode::Minor).name(), "Bb minor");
        assert_eq!(Key::new(9, Mode::Minor).to_string(), "A minor");
    }

    #[test]
    fn names_parse_in_the_usual_spellings() {
        let a_minor = Key::new(9, Mode::Minor);
        for s in ["A minor", "Am", "a min", "A Minor", " Am ", "Amin"] {
            assert_eq!(key(s), a_minor, "{s}");
        }
        let db = Key::new(1, Mode::Major);
        for s in ["Db major", "C# major", "C♯", "D♭ maj", "Db", "C#M"] {
            assert_eq!(key(s), db, "{s}");
        }
        assert_eq!(key("Bbm"), Key::new(10, Mode::Minor));
        assert_eq!(key("Cb major"), Key::new(11, Mode::Major));
        assert_eq!(key("E# minor"), Key::new(5, Mode::Minor));
        assert_eq!(key("12b"), Key::new(4, Mode::Major));
        for bad in [
            "", "H minor", "13A", "0B", "8C", "13m", "A dorian", "8", "minor",
        ] {
            let err = bad.parse::<Key>().unwrap_err();
            assert_eq!(err.input, bad);
            assert!(err.to_string().contains("not a key"));
        }
    }

    #[test]
    fn compatible_keys_are_neighbours_and_the_relative() {
        let codes = |k: Key| k.compatible().map(|c| c.camelot());
        assert_eq!(codes(key("8A")), ["8A", "9A", "7A", "8B"]);
        assert_eq!(codes(key("12B")), ["12B", "1B", "11B", "12A"]);
        assert_eq!(codes(key("1A")), ["1A", "2A", "12A", "1B"]);
        for k in Key::ALL {
            let c = k.compatible();
            assert_eq!(c[0], k);
            for other in &c[1..] {
                assert!(
                    other.compatible().contains(&k),
                    "compatibility is symmetric"
                );
            }
        }
    }

    #[test]
    fn scales_and_triads_are_diatonic() {
        assert_eq!(key("A minor").scale(), [9, 11, 0, 2, 4, 5, 7]);
        assert_eq!(key("C major").scale(), [0, 2, 4, 5, 7, 9, 11]);
        assert_eq!(key("C major").triad(4), [7, 11, 2]);
        assert_eq!(key("A minor").triad(5), [5, 9, 0]);
        // Relative keys share their notes.
        for k in Key::ALL {
            let mut a = k.scale();
            let mut b = k.relative().scale();
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn keys_serialize_as_their_names() {
        let k = key("F# minor");
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, "\"F# minor\"");
        assert_eq!(serde_json::from_str::<Key>(&json).unwrap(), k);
        assert_eq!(serde_json::from_str::<Key>("\"11A\"").unwrap(), k);
        assert!(serde_json::from_str::<Key>("\"X\"").is_err());
    }
}
