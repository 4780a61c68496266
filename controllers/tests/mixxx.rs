//! Import of real Mixxx mappings from Debian's `mixxx-data` package
//! (`/usr/share/mixxx/controllers/`, installed by `scripts/setup.sh`).

use std::path::{Path, PathBuf};

use segue_controllers::mixxx::{self, ImportError};
use segue_controllers::{Address, ControlType, Controller, Encoding, Mapping, Source, Target};
use segue_engine::{Command, EqBand, Status};

const DIR: &str = "/usr/share/mixxx/controllers";

fn mixxx_dir() -> Option<PathBuf> {
    let d = Path::new(DIR);
    if d.is_dir() {
        Some(d.to_path_buf())
    } else {
        eprintln!("SKIPPED: {DIR} is missing (install Debian's mixxx-data: scripts/setup.sh)");
        None
    }
}

fn import(name: &str) -> Option<(Mapping, mixxx::ImportReport)> {
    let dir = mixxx_dir()?;
    Some(mixxx::import_file(dir.join(name)).unwrap())
}

fn find(m: &Mapping, target: Target, deck: Option<u8>) -> Vec<&segue_controllers::Control> {
    m.controls
        .iter()
        .filter(|c| c.target == target && c.deck == deck)
        .collect()
}

#[test]
fn every_mixxx_midi_mapping_imports_and_round_trips() {
    let Some(dir) = mixxx_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".midi.xml"))
        .collect();
    files.sort();
    assert!(files.len() >= 100, "only {} mapping files", files.len());
    let (mut imported, mut total, mut outs, mut outs_total, mut merged) = (0, 0, 0, 0, 0);
    let (mut with_controls, mut scripted) = (0, 0);
    for f in &files {
        let (m, r) = mixxx::import_file(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(
            r.controls_imported
                + r.controls_merged
                + r.skipped.iter().filter(|s| s.element == "control").count(),
            r.controls_total,
            "{}: every control is imported, merged or reported",
            f.display()
        );
        assert_eq!(
            r.outputs_imported + r.skipped.iter().filter(|s| s.element == "output").count(),
            r.outputs_total
        );
        // What was imported is a valid Segue mapping: written out and read back unchanged.
        let again = Mapping::from_str(&m.to_toml())
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", f.display(), m.to_toml()));
        assert_eq!(again, m, "{}", f.display());
        // And a controller built from it survives every message.
        let mut c = Controller::new(m, 4);
        let mut out = Vec::new();
        for s in [0x80u8, 0x90, 0xB0, 0xE0] {
            for ch in 0..16u8 {
                for n in (0..128u8).step_by(3) {
                    c.handle(&[s | ch, n, 127], &Status::default(), &mut out);
                    c.handle(&[s | ch, n, 0], &Status::default(), &mut out);
                }
            }
        }
        c.feedback(&Status::default(), &mut Vec::new());
        with_controls += usize::from(r.controls_imported > 0);
        scripted += r
            .skipped
            .iter()
            .filter(|s| s.reason.contains("script"))
            .count();
        imported += r.controls_imported;
        merged += r.controls_merged;
        total += r.controls_total;
        outs += r.outputs_imported;
        outs_total += r.outputs_total;
    }
    eprintln!(
        "{} files; {with_controls} with at least one control imported; controls: {imported} imported, {merged} merged, {} skipped ({scripted} script-bound) of {total}; outputs: {outs} of {outs_total}",
        files.len(),
        total - imported - merged
    );
    assert!(
        with_controls * 10 >= files.len() * 8,
        "{with_controls} of {}",
        files.len()
    );
    // Script-bound entries need Mixxx's JavaScript; of the rest, most must come across.
    let plain = total - scripted;
    assert!(
        (imported + merged) * 2 >= plain,
        "{imported} + {merged} of {plain}"
    );
    assert!(outs * 2 >= outs_total, "{outs} of {outs_total}");
}

#[test]
fn pioneer_ddj_400_play_cue_and_fourteen_bit_faders() {
    let Some((m, r)) = import("Pioneer-DDJ-400.midi.xml") else {
        return;
    };
    assert_eq!(m.name, "Pioneer DDJ-400");
    // <group>[Channel1]</group><key>play</key><status>0x90</status><midino>0x0B</midino>
    let play = find(&m, Target::Play, Some(0));
    assert!(play
        .iter()
        .any(|c| c.midi == Address::note(0, 0x0B) && c.kind == ControlType::Toggle));
    let cue = find(&m, Target::Cue, Some(0));
    assert!(cue
        .iter()
        .any(|c| c.midi == Address::note(0, 0x0C) && c.kind == ControlType::Button));
    // volume: MSB 0xB0/0x13 + LSB 0xB0/0x33 → one 14-bit fader.
    let vol = find(&m, Target::Volume, Some(0));
    assert_eq!(vol.len(), 1);
    assert_eq!(vol[0].midi, Address::cc(0, 0x13));
    assert_eq!(
        vol[0].kind,
        ControlType::Fader14 {
            lsb: 0x33,
            min: 0.0,
            max: 1.0
        }
    );
    // crossfader on channel 7 (0xB6), MSB 0x1F, LSB 0x3F.
    let xf = find(&m, Target::Crossfader, None);
    assert_eq!(xf[0].midi, Address::cc(6, 0x1F));
    assert!(matches!(xf[0].kind, ControlType::Fader14 { lsb: 0x3F, .. }));
    // EQ rack parameter3 = high (0xB0/0x07), quick effect super1 = filter (0xB6/0x17).
    assert_eq!(
        find(&m, Target::Eq(EqBand::High), Some(0))[0].midi,
        Address::cc(0, 0x07)
    );
    assert_eq!(
        find(&m, Target::Filter, Some(0))[0].midi,
        Address::cc(6, 0x17)
    );
    // Hot cue pads: 0x97 note 0x00 → hot cue 1 of deck 1.
    assert_eq!(
        find(&m, Target::HotCue(0), Some(0))[0].midi,
        Address::note(7, 0x00)
    );
    // Outputs: play_indicator → play LED on 0x90/0x0B.
    assert!(m.outputs.iter().any(|o| o.source == Source::Play
        && o.deck == Some(0)
        && o.midi == Address::note(0, 0x0B)
        && o.on == 0x7F));
    // The jog wheels are script-bound: reported, with their lines.
    assert!(r
        .skipped
        .iter()
        .any(|s| s.reason.contains("script") && s.line > 0));

    // Drive it: fader at the top, crossfader in the middle, play pressed.
    let mut c = Controller::new(m, 2);
    let mut out = Vec::new();
    let st = Status::default();
    for msg in [
        [0xB0, 0x13, 0x7F],
        [0xB0, 0x33, 0x7F],
        [0xB6, 0x1F, 0x40],
        [0xB6, 0x3F, 0],
        [0x90, 0x0B, 0x7F],
    ] {
        c.handle(&msg, &st, &mut out);
    }
    assert!(out.contains(&Command::Volume {
        deck: 0,
        level: 1.0
    }));
    assert!(out.contains(&Command::Crossfader { position: 0.0 }));
    assert_eq!(out.last(), Some(&Command::Play { deck: 0, on: true }));
}

#[test]
fn hercules_rmx_play_and_cue_on_cc_buttons() {
    let Some((m, r)) = import("Hercules DJ Console RMX.midi.xml") else {
        return;
    };
    // [Channel2] play: 0xB0 0x23 <Button/>; cue_default: 0xB0 0x24.
    assert!(find(&m, Target::Play, Some(1))
        .iter()
        .any(|c| c.midi == Address::cc(0, 0x23)));
    assert!(find(&m, Target::Cue, Some(1))
        .iter()
        .any(|c| c.midi == Address::cc(0, 0x24)));
    assert!(find(&m, Target::Play, Some(0))
        .iter()
        .any(|c| c.midi == Address::cc(0, 0x0B)));
    // Output: [Channel1] play → 0xB0 0x0B, minimum 0.5.
    assert!(m
        .outputs
        .iter()
        .any(|o| o.source == Source::Play && o.midi == Address::cc(0, 0x0B) && o.min == 0.5));
    // HerculesRMX.jog_wheel etc. are script functions.
    assert!(r.skipped.iter().any(|s| s.key == "HerculesRMX.jog_wheel"));
}

#[test]
fn numark_mixtrack_pro_volume_crossfader_eq_and_relative_gain() {
    let Some((m, _)) = import("Numark Mixtrack Pro.midi.xml") else {
        return;
    };
    // [Channel1] volume 0xb0 0x8 <normal/>.
    let v = find(&m, Target::Volume, Some(0));
    assert_eq!(v[0].midi, Address::cc(0, 0x08));
    assert_eq!(v[0].kind, ControlType::Fader { min: 0.0, max: 1.0 });
    // [Master] crossfader 0xb0 0x0a <invert/>.
    let xf = find(&m, Target::Crossfader, None);
    assert_eq!(
        xf[0].kind,
        ControlType::Fader {
            min: 1.0,
            max: -1.0
        }
    );
    // [Channel1] filterLow 0xb0 0x14 → EQ low; pregain <diff/> → relative encoder.
    assert_eq!(
        find(&m, Target::Eq(EqBand::Low), Some(0))[0].midi,
        Address::cc(0, 0x14)
    );
    let trim = find(&m, Target::Trim, Some(0));
    assert!(matches!(
        trim[0].kind,
        ControlType::Encoder {
            encoding: Encoding::TwosComplement,
            ..
        }
    ));
    // [Master] volume 0xb0 0x17 → master gain.
    assert_eq!(
        find(&m, Target::MasterGain, None)[0].midi,
        Address::cc(0, 0x17)
    );
}

#[test]
fn malformed_xml_names_line_and_non_mixxx_xml_is_refused() {
    let e = mixxx::import("<?xml version=\"1.0\"?>\n<MixxxControllerPreset>\n<controller>\n<controls>\n<control><group>[Channel1]</grop>\n").unwrap_err();
    match &e {
        ImportError::Xml { line, .. } => assert_eq!(*line, 5, "{e}"),
        e => panic!("{e}"),
    }
    assert!(e.to_string().starts_with("line 5"), "{e}");
    let e = mixxx::import("<svg></svg>").unwrap_err();
    assert!(matches!(e, ImportError::NotMixxx(_)), "{e}");
    assert!(matches!(
        mixxx::import_file("/nonexistent.midi.xml"),
        Err(ImportError::Io { .. })
    ));
}

#[test]
fn entries_out_of_reach_are_reported_not_dropped() {
    let xml = r#"<MixxxControllerPreset><controller><controls>
<control><group>[Channel9]</group><key>play</key><status>0x90</status><midino>1</midino></control>
<control><group>[Sampler1]</group><key>play</key><status>0x90</status><midino>2</midino></control>
<control><group>[Channel1]</group><key>play</key><status>0xA0</status><midino>3</midino></control>
<control><group>[Channel1]</group><key>play</key><status>0x90</status><midino>300</midino></control>
<control><group>[Channel1]</group><key>play</key><status>0x90</status><midino>4</midino></control>
<control><group>[Channel1]</group><key>play</key><status>0x80</status><midino>4</midino></control>
</controls><outputs>
<output><group>[Channel1]</group><key>waveform_zoom</key><status>0x90</status><midino>5</midino></output>
</outputs></controller></MixxxControllerPreset>"#;
    let (m, r) = mixxx::import(xml).unwrap();
    assert_eq!(
        (r.controls_total, r.controls_imported, r.controls_merged),
        (6, 1, 1)
    );
    assert_eq!(m.controls.len(), 1);
    let reasons: Vec<(u32, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.line, s.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(reasons[0].1.contains("beyond Segue's 8 decks") && reasons[0].0 == 2);
    assert!(reasons[1].1.contains("[Sampler") && reasons[1].0 == 3);
    assert!(reasons[2].1.contains("0xA0"));
    assert!(reasons[3].1.contains("midino `300`"));
    assert!(reasons[4].1.contains("waveform_zoom") && r.skipped[4].element == "output");
}
