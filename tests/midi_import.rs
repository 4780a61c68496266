//! `segue midi import-mixxx` end to end on a real Mixxx mapping from Debian's `mixxx-data`
//! (installed by `scripts/setup.sh`), and on a malformed file.

use std::process::Command;

use segue_controllers::{Mapping, Target};

fn segue() -> Command {
    Command::new(env!("CARGO_BIN_EXE_segue"))
}

#[test]
fn import_mixxx_cli_writes_a_loadable_mapping_and_reports() {
    let src = std::path::Path::new("/usr/share/mixxx/controllers/Pioneer-DDJ-400.midi.xml");
    if !src.exists() {
        eprintln!(
            "SKIPPED: {} missing (install mixxx-data: scripts/setup.sh)",
            src.display()
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("segue-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("ddj400.toml");
    let out = segue()
        .args(["midi", "import-mixxx"])
        .arg(src)
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Pioneer DDJ-400"), "{text}");
    assert!(
        text.contains("script-bound (needs Mixxx's JavaScript)"),
        "{text}"
    );
    let m = Mapping::load(&out_file).unwrap();
    assert!(m
        .controls
        .iter()
        .any(|c| c.target == Target::Play && c.deck == Some(0)));
    // A malformed file: clear error, non-zero exit, no panic.
    let bad = dir.join("bad.midi.xml");
    std::fs::write(&bad, "<MixxxControllerPreset>\n<controller>\n</oops>").unwrap();
    let out = segue()
        .args(["midi", "import-mixxx"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.join("x.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("bad.midi.xml: line 3"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
