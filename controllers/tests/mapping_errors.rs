//! Malformed mapping files: each error names the line (and column) and the reason.

use segue_controllers::{Mapping, MappingError};

fn err(text: &str) -> (usize, String) {
    match Mapping::from_str(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => (e.line().expect("a line"), e.to_string()),
    }
}

#[test]
fn toml_syntax_error_names_its_line() {
    let (line, msg) = err("name = \"x\"\n\n[[control]]\nnote = = 3\n");
    assert_eq!(line, 4, "{msg}");
    assert!(msg.starts_with("line 4, column"), "{msg}");
}

#[test]
fn unknown_target_names_the_target_line() {
    let (line, msg) =
        err("[[control]]\nnote = 1\ntype = \"button\"\ntarget = \"plya\"\ndeck = 1\n");
    assert_eq!(line, 4, "{msg}");
    assert!(msg.contains("unknown target `plya`"), "{msg}");
}

#[test]
fn unknown_field_is_reported() {
    let (line, msg) =
        err("[[control]]\nnote = 1\ntype = \"button\"\ntarget = \"play\"\ndeck = 1\ncolour = 3\n");
    assert!(line == 1 || line == 6, "{msg}");
    assert!(msg.contains("colour"), "{msg}");
}

#[test]
fn out_of_range_values_name_their_line() {
    let (line, msg) =
        err("[[control]]\nnote = 200\ntype = \"button\"\ntarget = \"play\"\ndeck = 1\n");
    assert_eq!(line, 2, "{msg}");
    assert!(msg.contains("note 200 is out of range 0..=127"), "{msg}");
    let (line, msg) = err(
        "[[control]]\nnote = 2\nchannel = 17\ntype = \"button\"\ntarget = \"play\"\ndeck = 1\n",
    );
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("channel 17"), "{msg}");
    let (line, msg) =
        err("[[control]]\nnote = 2\ntype = \"button\"\ntarget = \"play\"\ndeck = 9\n");
    assert_eq!(line, 5, "{msg}");
    assert!(msg.contains("deck 9"), "{msg}");
}

#[test]
fn missing_or_double_address() {
    let (line, msg) =
        err("name = \"a\"\n[[control]]\ntype = \"button\"\ntarget = \"play\"\ndeck = 1\n");
    // Entry-level problems point at the entry's `[[control]]` line.
    assert_eq!(line, 2, "{msg}");
    assert!(msg.contains("no MIDI address"), "{msg}");
    let (_, msg) =
        err("[[control]]\nnote = 1\ncc = 2\ntype = \"button\"\ntarget = \"play\"\ndeck = 1\n");
    assert!(msg.contains("more than one MIDI address"), "{msg}");
}

#[test]
fn type_and_target_must_fit() {
    let (line, msg) =
        err("[[control]]\ncc = 1\ntype = \"button\"\ntarget = \"volume\"\ndeck = 1\n");
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("type `button` cannot drive `volume`"), "{msg}");
    let (_, msg) = err("[[control]]\ncc = 1\ntype = \"fader\"\ntarget = \"play\"\ndeck = 1\n");
    assert!(msg.contains("type `fader` cannot drive `play`"), "{msg}");
    let (_, msg) = err("[[control]]\ncc = 1\ntype = \"slider\"\ntarget = \"volume\"\ndeck = 1\n");
    assert!(msg.contains("unknown type `slider`"), "{msg}");
}

#[test]
fn deck_is_required_for_deck_targets_and_refused_for_mixer_targets() {
    let (_, msg) = err("[[control]]\ncc = 1\ntype = \"fader\"\ntarget = \"volume\"\n");
    assert!(msg.contains("add `deck = N`"), "{msg}");
    let (line, msg) =
        err("[[control]]\ncc = 1\ntype = \"fader\"\ntarget = \"crossfader\"\ndeck = 2\n");
    assert_eq!(line, 5, "{msg}");
    assert!(msg.contains("mixer control"), "{msg}");
}

#[test]
fn layer_needs_a_shift_button_and_encoding_must_exist() {
    let (line, msg) = err("[[control]]\nnote = 1\ntype = \"button\"\ntarget = \"cue_set\"\ndeck = 1\nlayer = \"shift\"\n");
    assert_eq!(line, 6, "{msg}");
    assert!(
        msg.contains("layer `shift` has no [[shift]] button"),
        "{msg}"
    );
    let (line, msg) = err("[[control]]\ncc = 1\ntype = \"encoder\"\ntarget = \"filter\"\ndeck = 1\nencoding = \"gray\"\n");
    assert_eq!(line, 6, "{msg}");
    assert!(msg.contains("unknown encoding `gray`"), "{msg}");
}

#[test]
fn soft_takeover_only_on_faders() {
    let (line, msg) = err("[[control]]\nnote = 1\ntype = \"button\"\ntarget = \"play\"\ndeck = 1\nsoft_takeover = true\n");
    assert_eq!(line, 6, "{msg}");
    assert!(msg.contains("soft_takeover applies to faders"), "{msg}");
}

#[test]
fn load_reports_the_file_and_missing_files() {
    let dir = std::env::temp_dir().join(format!("segue-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.toml");
    std::fs::write(&p, "[[output]]\nnote = 1\nsource = \"blink\"\ndeck = 1\n").unwrap();
    let e = Mapping::load(&p).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("{}: line 3", p.display())),
        "{msg}"
    );
    assert!(msg.contains("unknown source `blink`"), "{msg}");
    let e = Mapping::load(dir.join("missing.toml")).unwrap_err();
    assert!(matches!(e, MappingError::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn example_mapping_loads_and_round_trips() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/example.toml");
    let m = Mapping::load(path).unwrap();
    assert!(m.controls.len() >= 30, "{}", m.controls.len());
    assert!(!m.outputs.is_empty() && !m.shifts.is_empty());
    let again = Mapping::from_str(&m.to_toml()).unwrap();
    assert_eq!(again, m);
}
