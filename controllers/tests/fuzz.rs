//! Property and mutation fuzzing on stable Rust of the two mapping parsers that read
//! outside input: Segue's TOML mappings and the Mixxx `.midi.xml` import. Seeded proptest
//! runners, 10 000 cases each per run (`SEGUE_FUZZ_CASES=N` for more, `SEGUE_FUZZ_SEED=S`
//! for another seed): never a panic, always a mapping or a typed error with a position.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use segue_controllers::mixxx::{self, ImportError};
use segue_controllers::{Mapping, MappingError};

const EXAMPLE: &str = include_str!("../mappings/example.toml");

/// A small Mixxx mapping touching every kind of entry the importer reads.
const MIXXX: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<MixxxControllerPreset mixxxVersion="2.3" schemaVersion="1">
  <info><name>Fuzz seed</name></info>
  <controller id="SEED">
    <scriptfiles><file functionprefix="Seed" filename="Seed.js"/></scriptfiles>
    <controls>
      <control><group>[Channel1]</group><key>play</key><status>0x90</status><midino>0x0B</midino><options><normal/></options></control>
      <control><group>[Channel1]</group><key>play</key><status>0x80</status><midino>0x0B</midino></control>
      <control><group>[Channel2]</group><key>cue_default</key><status>0x91</status><midino>0x0C</midino></control>
      <control><group>[Channel1]</group><key>rate</key><status>0xB0</status><midino>0x00</midino><options><invert/></options></control>
      <control><group>[Channel1]</group><key>rate</key><status>0xB0</status><midino>0x20</midino><options><fourteen-bit-lsb/></options></control>
      <control><group>[Channel1]</group><key>volume</key><status>0xB0</status><midino>0x13</midino></control>
      <control><group>[EqualizerRack1_[Channel1]_Effect1]</group><key>parameter1</key><status>0xB0</status><midino>0x0F</midino></control>
      <control><group>[Master]</group><key>crossfader</key><status>0xB6</status><midino>0x1F</midino></control>
      <control><group>[Channel1]</group><key>jog</key><status>0xB0</status><midino>0x21</midino><options><selectknob/></options></control>
      <control><group>[Channel1]</group><key>hotcue_1_activate</key><status>0x97</status><midino>0x00</midino></control>
      <control><group>[Channel1]</group><key>Seed.wheelTurn</key><status>0xB0</status><midino>0x22</midino><options><script-binding/></options></control>
      <control><group>[QuickEffectRack1_[Channel1]]</group><key>super1</key><status>0xB6</status><midino>0x17</midino><options><soft-takeover/></options></control>
    </controls>
    <outputs>
      <output><group>[Channel1]</group><key>play_indicator</key><status>0x90</status><midino>0x0B</midino><on>0x7F</on><off>0x00</off><minimum>0.5</minimum></output>
      <output><group>[Channel1]</group><key>cue_indicator</key><status>0x90</status><midino>0x0C</midino></output>
    </outputs>
  </controller>
</MixxxControllerPreset>
"#;

fn runner() -> TestRunner {
    let cases = std::env::var("SEGUE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed = std::env::var("SEGUE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5e9e_c0de);
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 500,
        ..Config::default()
    })
}

/// Tokens that mean something to TOML, XML or the mapping vocabulary.
const TOKENS: &[&str] = &[
    "=",
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    ",",
    "\n",
    "#",
    "0x",
    "-1",
    "999999999999",
    "1e309",
    "nan",
    "inf",
    "true",
    "127",
    "16",
    "17",
    "0",
    "deck",
    "channel",
    "note",
    "cc",
    "target",
    "type",
    "layer",
    "shift",
    "toggle",
    "play",
    "\u{0}",
    "é",
    "<",
    ">",
    "</",
    "/>",
    "&amp;",
    "&#0;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<!DOCTYPE x [<!ENTITY e \"eee\">]>",
    "&e;",
    "[Channel9]",
    "[Channel1]",
    "0x90",
    "0xF8",
    "midino",
    "status",
    "<control>",
    "</control>",
    "<options>",
    "<fourteen-bit-msb/>",
    "<output>",
    "</output>",
];

/// One edit of a text document.
#[derive(Debug, Clone)]
enum Edit {
    /// Insert a token at a byte position (rounded to a char boundary).
    Insert(usize, usize),
    /// Remove a run of bytes (rounded to char boundaries).
    Remove(usize, usize),
    /// Overwrite a byte with any byte (the text is then read lossily as UTF-8).
    Byte(usize, u8),
    /// Duplicate a line.
    DupLine(usize),
    /// Delete a line.
    DelLine(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), any::<usize>()).prop_map(|(a, t)| Edit::Insert(a, t)),
        2 => (any::<usize>(), 1usize..40).prop_map(|(a, n)| Edit::Remove(a, n)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Edit::Byte(a, b)),
        1 => any::<usize>().prop_map(Edit::DupLine),
        1 => any::<usize>().prop_map(Edit::DelLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn boundary(s: &str, mut at: usize) -> usize {
    at %= s.len() + 1;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    for e in edits {
        match *e {
            Edit::Insert(at, t) => {
                let at = boundary(&s, at);
                s.insert_str(at, TOKENS[t % TOKENS.len()]);
            }
            Edit::Remove(at, n) => {
                let a = boundary(&s, at);
                let b = boundary(&s, (a + n).min(s.len()));
                s.replace_range(a..b.max(a), "");
            }
            Edit::Byte(at, b) => {
                let mut bytes = s.into_bytes();
                if !bytes.is_empty() {
                    let n = bytes.len();
                    bytes[at % n] = b;
                }
                s = String::from_utf8_lossy(&bytes).into_owned();
            }
            Edit::DupLine(i) | Edit::DelLine(i) | Edit::SwapLines(i, _) => {
                let mut lines: Vec<&str> = s.split('\n').collect();
                let n = lines.len();
                let i = i % n;
                match *e {
                    Edit::DupLine(_) => lines.insert(i, lines[i]),
                    Edit::DelLine(_) => {
                        lines.remove(i);
                    }
                    Edit::SwapLines(_, j) => lines.swap(i, j % n),
                    _ => unreachable!(),
                }
                s = lines.join("\n");
            }
        }
    }
    s
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(), 1..8)
}

fn run(
    name: &str,
    strategy: impl Strategy<Value = Vec<Edit>>,
    check: impl Fn(&str) -> Result<bool, TestCaseError>,
) {
    let mut runner = runner();
    let ok = std::cell::Cell::new(0usize);
    let total = std::cell::Cell::new(0usize);
    let result = runner.run(&strategy, |edits| {
        total.set(total.get() + 1);
        if check(&apply_for(name, &edits))? {
            ok.set(ok.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    // Some mutants still parse and some do not: the mutations reach both sides.
    let (ok, total) = (ok.get(), total.get());
    assert!(ok > 0 && ok < total, "{name}: {ok} of {total} parsed");
    eprintln!(
        "{name}: {total} cases, {ok} parsed, {} typed errors",
        total - ok
    );
}

fn apply_for(name: &str, edits: &[Edit]) -> String {
    apply(if name == "toml" { EXAMPLE } else { MIXXX }, edits)
}

/// Mutated TOML mappings: a mapping or `MappingError::Invalid` with a line inside the text;
/// a mapping that parses writes back out (`to_toml`) to text that parses to the same one.
#[test]
fn mutated_toml_mappings_parse_or_give_a_typed_error() {
    run("toml", edits(), |text| match Mapping::from_str(text) {
        Ok(m) => {
            let again = Mapping::from_str(&m.to_toml());
            prop_assert!(
                again.is_ok(),
                "to_toml of a parsed mapping does not parse: {again:?}"
            );
            prop_assert_eq!(again.unwrap(), m);
            Ok(true)
        }
        Err(MappingError::Invalid { line, column, .. }) => {
            let lines = text.split('\n').count().max(1);
            prop_assert!(line >= 1 && line <= lines + 1, "line {} of {}", line, lines);
            prop_assert!(column >= 1);
            Ok(false)
        }
        Err(e) => Err(TestCaseError::fail(format!("unexpected error kind: {e}"))),
    });
}

/// Mutated Mixxx XML: a mapping and a report whose counts add up, or a typed error.
#[test]
fn mutated_mixxx_xml_imports_or_gives_a_typed_error() {
    run("mixxx", edits(), |text| match mixxx::import(text) {
        Ok((m, r)) => {
            prop_assert!(r.controls_imported + r.controls_merged <= r.controls_total * 2);
            prop_assert!(r.outputs_imported <= r.outputs_total);
            prop_assert!(m.controls.len() <= r.controls_imported);
            Ok(true)
        }
        Err(ImportError::Xml { line, .. }) => {
            prop_assert!(line >= 1);
            Ok(false)
        }
        Err(ImportError::NotMixxx(_)) => Ok(false),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error kind: {e}"))),
    });
}
