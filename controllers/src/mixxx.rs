//! Import of Mixxx `.midi.xml` controller mappings: the part expressible without Mixxx's
//! JavaScript (`<control>` and `<output>` entries on `[ChannelN]`, `[Master]`, `[Mixer]`,
//! `[EqualizerRack1_[ChannelN]_Effect1]` and `[QuickEffectRack1_[ChannelN]]` keys).
//! Everything else (script bindings, samplers, effects, library browsing…) is listed in
//! the [`ImportReport`] with its line and the reason.
//!
//! Value conventions: Mixxx's `rate` becomes the tempo fader over ±8 % (bottom = slower
//! unless the entry has `<invert/>`), `pregain` the trim over −12..+12 dB, EQ knobs 0..2
//! (centre = flat), `super1` of the quick-effect rack the one-knob filter, `[Master]`
//! `volume`/`gain` the master gain 0..2, `headMix` the cue/master blend.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use segue_engine::{EqBand, FX_SLOTS, FX_UNITS, MAX_DECKS};

use crate::mapping::{Control, ControlType, Mapping, Output};
use crate::message::{Address, Encoding, MidiKind};
use crate::target::{Source, Target, TargetKind};

/// Why a file could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not well-formed XML.
    #[error("{}line {line}, column {column}: {reason}", file.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Xml {
        /// The file, when imported from one.
        file: Option<PathBuf>,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The parser's message.
        reason: String,
    },
    /// Well-formed XML, but not a Mixxx MIDI mapping.
    #[error("not a Mixxx MIDI mapping: {0}")]
    NotMixxx(String),
}

/// One entry that was not imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// 1-based line of the `<control>` / `<output>` element.
    pub line: u32,
    /// `"control"` or `"output"`.
    pub element: &'static str,
    /// Its `<group>`.
    pub group: String,
    /// Its `<key>`.
    pub key: String,
    /// Why, in words.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// `<control>` entries in the file.
    pub controls_total: usize,
    /// Entries that became a control (a 14-bit MSB/LSB pair counts as two).
    pub controls_imported: usize,
    /// Entries folded into one already imported (a note-off twin of a note-on entry).
    pub controls_merged: usize,
    /// `<output>` entries in the file.
    pub outputs_total: usize,
    /// Entries that became an output.
    pub outputs_imported: usize,
    /// Everything not imported, in file order.
    pub skipped: Vec<Skipped>,
}

impl ImportReport {
    /// Skipped entries counted by reason, most frequent first.
    pub fn reasons(&self) -> Vec<(String, usize)> {
        let mut m: HashMap<&str, usize> = HashMap::new();
        for s in &self.skipped {
            *m.entry(s.reason.as_str()).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// Import a Mixxx mapping file.
pub fn import_file(path: impl AsRef<Path>) -> Result<(Mapping, ImportReport), ImportError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    import(&text).map_err(|e| match e {
        ImportError::Xml {
            line,
            column,
            reason,
            ..
        } => ImportError::Xml {
            file: Some(path.to_path_buf()),
            line,
            column,
            reason,
        },
        e => e,
    })
}

/// Import Mixxx mapping XML text.
pub fn import(xml: &str) -> Result<(Mapping, ImportReport), ImportError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, opts).map_err(|e| {
        let p = e.pos();
        ImportError::Xml {
            file: None,
            line: p.row,
            column: p.col,
            reason: e.to_string(),
        }
    })?;
    let root = doc.root_element();
    if !root.tag_name().name().starts_with("Mixxx") {
        return Err(ImportError::NotMixxx(format!(
            "root element is <{}>, expected <MixxxControllerPreset> or <MixxxMIDIPreset>",
            root.tag_name().name()
        )));
    }
    let name = root
        .descendants()
        .find(|n| n.has_tag_name("info"))
        .and_then(|i| child_text(i, "name"))
        .unwrap_or_default();
    let mut mapping = Mapping {
        name,
        ..Default::default()
    };
    let mut report = ImportReport::default();
    let mut msb_lsb: Vec<Fourteen> = Vec::new();

    for node in root.descendants().filter(|n| {
        n.has_tag_name("control") && n.parent().is_some_and(|p| p.has_tag_name("controls"))
    }) {
        report.controls_total += 1;
        let line = doc.text_pos_at(node.range().start).row;
        let group = child_text(node, "group").unwrap_or_default();
        let key = child_text(node, "key").unwrap_or_default();
        let skip = |report: &mut ImportReport, reason: &str| {
            report.skipped.push(Skipped {
                line,
                element: "control",
                group: group.clone(),
                key: key.clone(),
                reason: reason.to_string(),
            })
        };
        match control(node, &group, &key) {
            Ok(Parsed::Control(c)) => {
                if mapping.controls.contains(&c) {
                    report.controls_merged += 1;
                } else {
                    report.controls_imported += 1;
                    mapping.controls.push(c);
                }
            }
            Ok(Parsed::Fourteen(f)) => msb_lsb.push(Fourteen { line, ..f }),
            Err(reason) => skip(&mut report, &reason),
        }
    }
    pair_fourteen_bit(msb_lsb, &mut mapping, &mut report);

    for node in root.descendants().filter(|n| {
        n.has_tag_name("output") && n.parent().is_some_and(|p| p.has_tag_name("outputs"))
    }) {
        report.outputs_total += 1;
        let line = doc.text_pos_at(node.range().start).row;
        let group = child_text(node, "group").unwrap_or_default();
        let key = child_text(node, "key").unwrap_or_default();
        match output(node, &group, &key) {
            Ok(o) => {
                report.outputs_imported += 1;
                mapping.outputs.push(o);
            }
            Err(reason) => report.skipped.push(Skipped {
                line,
                element: "output",
                group,
                key,
                reason,
            }),
        }
    }
    Ok((mapping, report))
}

fn child_text(node: roxmltree::Node<'_, '_>, tag: &str) -> Option<String> {
    node.children()
        .find(|c| c.has_tag_name(tag))
        .map(|c| c.text().unwrap_or("").trim().to_string())
}

/// `0x90`, `0X90`, `144`.
fn parse_num(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

fn address(node: roxmltree::Node<'_, '_>) -> Result<Address, String> {
    let status = child_text(node, "status").ok_or("no <status>")?;
    let st = parse_num(&status)
        .filter(|s| (0x80..=0xEF).contains(s))
        .ok_or_else(|| format!("status `{status}` is not a channel message"))? as u8;
    let midino = match child_text(node, "midino") {
        Some(m) => parse_num(&m)
            .filter(|m| *m <= 0x7F)
            .ok_or_else(|| format!("midino `{m}` is not 0..=127"))? as u8,
        None if st & 0xF0 == 0xE0 => 0,
        None => return Err("no <midino>".into()),
    };
    let ch = st & 0x0F;
    match st & 0xF0 {
        0x80 | 0x90 => Ok(Address::note(ch, midino)),
        0xB0 => Ok(Address::cc(ch, midino)),
        0xE0 => Ok(Address::pitch_bend(ch)),
        k => Err(format!(
            "message type 0x{k:02X} (aftertouch/program change) is not supported"
        )),
    }
}

/// `[Channel3]` → deck 2; EQ and quick-effect racks of a channel → that deck.
enum Group {
    Deck(u8),
    EqRack(u8),
    QuickEffect(u8),
    Mixer,
    /// `[Library]` / `[Playlist]`: the browser.
    Library,
    /// `[EffectRack1_EffectUnitN]` (N = 1..2): an FX unit (0-based).
    FxUnit(u8),
    /// `[EffectRack1_EffectUnitN_EffectM]`: a slot of an FX unit (unit, slot; 0-based).
    FxSlot(u8, u8),
}

fn group(g: &str) -> Result<Group, String> {
    let deck = |n: &str| -> Result<u8, String> {
        match n.parse::<usize>() {
            Ok(n) if (1..=MAX_DECKS).contains(&n) => Ok((n - 1) as u8),
            _ => Err(format!("deck `{n}` is beyond Segue's {MAX_DECKS} decks")),
        }
    };
    if g == "[Master]" || g == "[Mixer]" {
        return Ok(Group::Mixer);
    }
    if g == "[Library]" || g == "[Playlist]" {
        return Ok(Group::Library);
    }
    if let Some(rest) = g
        .strip_prefix("[EffectRack1_EffectUnit")
        .and_then(|r| r.strip_suffix(']'))
    {
        let n = |s: &str, max: usize| {
            s.parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .map(|n| (n - 1) as u8)
        };
        let fx = format!("group {g} is beyond Segue's {FX_UNITS} FX units of {FX_SLOTS} slots");
        return match rest.split_once("_Effect") {
            None => n(rest, FX_UNITS).map(Group::FxUnit).ok_or(fx),
            Some((u, s)) => match (n(u, FX_UNITS), n(s, FX_SLOTS)) {
                (Some(u), Some(s)) => Ok(Group::FxSlot(u, s)),
                _ => Err(fx),
            },
        };
    }
    if let Some(n) = g.strip_prefix("[Channel").and_then(|r| r.strip_suffix(']')) {
        return deck(n).map(Group::Deck);
    }
    if let Some(n) = g
        .strip_prefix("[EqualizerRack1_[Channel")
        .and_then(|r| r.strip_suffix("]_Effect1]"))
    {
        return deck(n).map(Group::EqRack);
    }
    if let Some(n) = g
        .strip_prefix("[QuickEffectRack1_[Channel")
        .and_then(|r| r.strip_suffix("]]"))
    {
        return deck(n).map(Group::QuickEffect);
    }
    if g.is_empty() {
        return Err("no <group>".into());
    }
    let kind = g
        .trim_matches(|c| c == '[' || c == ']')
        .trim_end_matches(|c: char| c.is_ascii_digit());
    Err(format!("group [{kind}…] has no Segue equivalent"))
}

/// `group_[ChannelN]_enable` → deck N − 1.
fn fx_assign_deck(key: &str) -> Option<u8> {
    key.strip_prefix("group_[Channel")
        .and_then(|r| r.strip_suffix("]_enable"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=MAX_DECKS).contains(n))
        .map(|n| (n - 1) as u8)
}

/// Default control style of a Mixxx key for buttons: toggled on press, or held.
#[derive(Clone, Copy, PartialEq)]
enum Press {
    Toggle,
    Hold,
}

fn target(g: &Group, key: &str) -> Result<(Target, Press), String> {
    use Press::*;
    let band = |i: &str| match i {
        "1" => Some(EqBand::Low),
        "2" => Some(EqBand::Mid),
        "3" => Some(EqBand::High),
        _ => None,
    };
    let unknown = || Err(format!("key `{key}` has no Segue equivalent"));
    match g {
        Group::Mixer => Ok(match key {
            "crossfader" => (Target::Crossfader, Hold),
            "volume" | "gain" => (Target::MasterGain, Hold),
            "headVolume" | "headGain" => (Target::HeadphoneGain, Hold),
            "headMix" => (Target::CueMix, Hold),
            _ => return unknown(),
        }),
        Group::EqRack(_) => {
            if let Some(b) = key.strip_prefix("button_parameter").and_then(band) {
                Ok((Target::EqKill(b), Toggle))
            } else if let Some(b) = key.strip_prefix("parameter").and_then(band) {
                Ok((Target::Eq(b), Hold))
            } else {
                unknown()
            }
        }
        Group::Library => Ok(match key {
            "MoveVertical" | "SelectTrackKnob" => (Target::Browse, Hold),
            "MoveDown" | "SelectNextTrack" => (Target::BrowseNext, Hold),
            "MoveUp" | "SelectPrevTrack" => (Target::BrowsePrev, Hold),
            "GoToItem" | "MoveFocusForward" => (Target::BrowseEnter, Hold),
            "MoveFocusBackward" => (Target::BrowseBack, Hold),
            _ => return unknown(),
        }),
        Group::FxUnit(u) => {
            let u = *u;
            Ok(match key {
                "mix" => (Target::FxMix(u), Hold),
                "enabled" => (Target::FxOn(u), Toggle),
                "group_[Master]_enable" => (Target::FxMaster(u), Toggle),
                k if fx_assign_deck(k).is_some() => (Target::FxAssign(u), Toggle),
                _ => return unknown(),
            })
        }
        Group::FxSlot(u, s) => {
            let (u, s) = (*u, *s);
            Ok(match key {
                "enabled" => (Target::FxSlotOn(u, s), Toggle),
                "meta" => (Target::FxKnob(u, s, 0), Hold),
                "effect_selector" => (Target::FxEffect(u, s), Hold),
                _ => return unknown(),
            })
        }
        Group::QuickEffect(_) => match key {
            "super1" => Ok((Target::Filter, Hold)),
            _ => unknown(),
        },
        Group::Deck(_) => {
            let simple = match key {
                "play" => Some((Target::Play, Toggle)),
                "cue_default" => Some((Target::Cue, Hold)),
                "cue_set" => Some((Target::CueSet, Hold)),
                "cue_goto" | "cue_gotoandstop" => Some((Target::CueReturn, Hold)),
                "sync_enabled" => Some((Target::Sync, Toggle)),
                "keylock" => Some((Target::KeyLock, Toggle)),
                "quantize" => Some((Target::Quantize, Toggle)),
                "pfl" => Some((Target::Pfl, Toggle)),
                "eject" => Some((Target::Eject, Hold)),
                "reloop_exit" | "reloop_toggle" => Some((Target::LoopToggle, Hold)),
                "loop_halve" => Some((Target::LoopHalve, Hold)),
                "loop_double" => Some((Target::LoopDouble, Hold)),
                "rate_temp_up" | "rate_temp_up_small" => Some((Target::BendUp, Hold)),
                "rate_temp_down" | "rate_temp_down_small" => Some((Target::BendDown, Hold)),
                "volume" => Some((Target::Volume, Hold)),
                "rate" => Some((Target::Tempo, Hold)),
                "pregain" => Some((Target::Trim, Hold)),
                "filterLow" => Some((Target::Eq(EqBand::Low), Hold)),
                "filterMid" => Some((Target::Eq(EqBand::Mid), Hold)),
                "filterHigh" => Some((Target::Eq(EqBand::High), Hold)),
                "filterLowKill" => Some((Target::EqKill(EqBand::Low), Toggle)),
                "filterMidKill" => Some((Target::EqKill(EqBand::Mid), Toggle)),
                "filterHighKill" => Some((Target::EqKill(EqBand::High), Toggle)),
                "jog" => Some((Target::Jog, Hold)),
                "LoadSelectedTrack" => Some((Target::LoadSelected, Hold)),
                "loop_in" => Some((Target::LoopIn, Hold)),
                "loop_out" => Some((Target::LoopOut, Hold)),
                _ => None,
            };
            if let Some(t) = simple {
                return Ok(t);
            }
            let mid =
                |pre: &str, post: &str| key.strip_prefix(pre).and_then(|r| r.strip_suffix(post));
            let name = |t: String| Target::from_name(&t);
            let found = if let Some(n) = mid("hotcue_", "_activate") {
                name(format!("hotcue_{n}")).map(|t| (t, Hold))
            } else if let Some(n) = mid("hotcue_", "_clear") {
                name(format!("hotcue_clear_{n}")).map(|t| (t, Hold))
            } else if let Some(n) =
                mid("beatloop_", "_toggle").or_else(|| mid("beatloop_", "_activate"))
            {
                name(format!("beatloop_{n}")).map(|t| (t, Toggle))
            } else if let Some(n) = mid("beatlooproll_", "_activate") {
                name(format!("loop_roll_{n}")).map(|t| (t, Hold))
            } else if let Some(n) = mid("beatjump_", "_forward") {
                name(format!("beatjump_forward_{n}")).map(|t| (t, Hold))
            } else if let Some(n) = mid("beatjump_", "_backward") {
                name(format!("beatjump_backward_{n}")).map(|t| (t, Hold))
            } else {
                None
            };
            found.map_or_else(unknown, Ok)
        }
    }
}

enum Parsed {
    Control(Control),
    Fourteen(Fourteen),
}

#[derive(Clone)]
struct Fourteen {
    line: u32,
    lsb: bool,
    midi: Address,
    target: Target,
    deck: Option<u8>,
    invert: bool,
    soft: bool,
}

fn control(node: roxmltree::Node<'_, '_>, group_s: &str, key: &str) -> Result<Parsed, String> {
    let opts: Vec<String> = node
        .children()
        .filter(|c| c.has_tag_name("options"))
        .flat_map(|o| o.children().filter(|c| c.is_element()))
        .map(|c| c.tag_name().name().to_ascii_lowercase())
        .collect();
    let has = |o: &str| opts.iter().any(|x| x == o);
    // `Object.function` is a script; `beatloop_0.25_toggle` is a key with a number.
    let scripted = key
        .split('.')
        .skip(1)
        .any(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()));
    if has("script-binding") || scripted {
        return Err("script-bound (needs Mixxx's JavaScript)".into());
    }
    let g = group(group_s)?;
    let (target, press) = target(&g, key)?;
    let midi = address(node)?;
    let deck = match g {
        Group::Deck(d) | Group::EqRack(d) | Group::QuickEffect(d) => Some(d),
        Group::FxUnit(_) => fx_assign_deck(key),
        Group::Mixer | Group::Library | Group::FxSlot(..) => None,
    };
    let invert = has("invert");
    if has("fourteen-bit-msb") || has("fourteen-bit-lsb") {
        if !matches!(target.kind(), TargetKind::Continuous { .. }) || midi.kind != MidiKind::Cc {
            return Err("14-bit option on a non-fader or non-CC entry".into());
        }
        return Ok(Parsed::Fourteen(Fourteen {
            line: 0,
            lsb: has("fourteen-bit-lsb"),
            midi,
            target,
            deck,
            invert,
            soft: has("soft-takeover"),
        }));
    }
    for o in [
        "spread64",
        "hercjog",
        "hercjogfast",
        "herc-jog",
        "herc-jog-fast",
    ] {
        if has(o) && target != Target::Jog {
            return Err(format!("option <{o}> is not supported"));
        }
    }
    let kind = match target.kind() {
        TargetKind::Continuous { min, max } => {
            let rel = if has("rot64") || has("rot64inv") || has("rot64fast") {
                Some(Encoding::Offset)
            } else if has("diff") || has("selectknob") {
                Some(Encoding::TwosComplement)
            } else {
                None
            };
            match rel {
                Some(encoding) => {
                    let mut step = (max - min) / 128.0;
                    if has("rot64fast") {
                        step *= 4.0;
                    }
                    if invert ^ has("rot64inv") {
                        step = -step;
                    }
                    ControlType::Encoder { encoding, step }
                }
                None if invert => ControlType::Fader { min: max, max: min },
                None => ControlType::Fader { min, max },
            }
        }
        TargetKind::Jog => ControlType::Jog {
            encoding: if has("rot64") || has("normal") || opts.is_empty() {
                Encoding::Offset
            } else {
                Encoding::TwosComplement
            },
            ticks_per_rev: if invert { -128.0 } else { 128.0 },
            nudge_ms: 1.0,
            scratch: false,
        },
        TargetKind::Value => return Err(format!("target {target} has no MIDI form")),
        TargetKind::Relative => ControlType::Encoder {
            encoding: if has("rot64") || has("rot64inv") || has("rot64fast") {
                Encoding::Offset
            } else {
                Encoding::TwosComplement
            },
            step: if invert ^ has("rot64inv") { -1.0 } else { 1.0 },
        },
        TargetKind::Switch | TargetKind::Momentary | TargetKind::Trigger => {
            if midi.kind == MidiKind::PitchBend {
                return Err("a button on pitch bend is not supported".into());
            }
            if press == Press::Toggle && !has("switch") {
                ControlType::Toggle
            } else {
                ControlType::Button
            }
        }
    };
    let soft_takeover = has("soft-takeover") && matches!(kind, ControlType::Fader { .. });
    Ok(Parsed::Control(Control {
        midi,
        kind,
        target,
        deck,
        layer: None,
        soft_takeover,
    }))
}

fn pair_fourteen_bit(list: Vec<Fourteen>, mapping: &mut Mapping, report: &mut ImportReport) {
    let mut used = vec![false; list.len()];
    for i in 0..list.len() {
        if used[i] || list[i].lsb {
            continue;
        }
        let m = &list[i];
        let lsb = (0..list.len()).find(|&j| {
            !used[j]
                && list[j].lsb
                && list[j].target == m.target
                && list[j].deck == m.deck
                && list[j].midi.channel == m.midi.channel
        });
        let TargetKind::Continuous { min, max } = m.target.kind() else {
            continue;
        };
        let (min, max) = if m.invert { (max, min) } else { (min, max) };
        used[i] = true;
        let kind = match lsb {
            Some(j) => {
                used[j] = true;
                report.controls_imported += 2;
                ControlType::Fader14 {
                    lsb: list[j].midi.number,
                    min,
                    max,
                }
            }
            None => {
                report.controls_imported += 1;
                ControlType::Fader { min, max }
            }
        };
        mapping.controls.push(Control {
            midi: m.midi,
            kind,
            target: m.target,
            deck: m.deck,
            layer: None,
            soft_takeover: m.soft || lsb.is_some_and(|j| list[j].soft),
        });
    }
    for (f, _) in list.iter().zip(&used).filter(|(_, u)| !**u) {
        report.skipped.push(Skipped {
            line: f.line,
            element: "control",
            group: String::new(),
            key: f.target.name(),
            reason: "14-bit LSB without its MSB".into(),
        });
    }
}

fn output(node: roxmltree::Node<'_, '_>, group_s: &str, key: &str) -> Result<Output, String> {
    let g = group(group_s)?;
    let source = match (&g, key) {
        (Group::Mixer, "VuMeter" | "VuMeterL" | "VuMeterR") => Source::VuMaster,
        (Group::FxUnit(u), "enabled") => Source::FxOn(*u),
        (Group::FxUnit(u), "group_[Master]_enable") => Source::FxMaster(*u),
        (Group::FxUnit(u), k) if fx_assign_deck(k).is_some() => Source::FxAssign(*u),
        (Group::FxSlot(u, s), "enabled") => Source::FxSlotOn(*u, *s),
        (Group::Deck(_), k) => match k {
            "play" | "play_indicator" => Source::Play,
            "cue_default" | "cue_indicator" => Source::Cue,
            "sync_enabled" => Source::Sync,
            "keylock" => Source::KeyLock,
            "quantize" => Source::Quantize,
            "pfl" => Source::Pfl,
            "loop_enabled" => Source::Loop,
            "VuMeter" | "VuMeterL" | "VuMeterR" => Source::Vu,
            "beat_active" => Source::Beat,
            "track_loaded" => Source::Loaded,
            "sync_master" | "sync_leader" => Source::SyncLeader,
            k => {
                let hot = k
                    .strip_prefix("hotcue_")
                    .and_then(|r| r.strip_suffix("_enabled"))
                    .and_then(|n| Source::from_name(&format!("hotcue_{n}")));
                let looped = k.starts_with("beatloop_") && k.ends_with("_enabled");
                match (hot, looped) {
                    (Some(s), _) => s,
                    (None, true) => Source::Loop,
                    _ => return Err(format!("key `{key}` has no Segue equivalent")),
                }
            }
        },
        _ => return Err(format!("key `{key}` has no Segue equivalent")),
    };
    let midi = address(node)?;
    if midi.kind == MidiKind::PitchBend {
        return Err("output on pitch bend is not supported".into());
    }
    let byte = |tag: &str, default: u8| -> Result<u8, String> {
        match child_text(node, tag) {
            None => Ok(default),
            Some(t) => parse_num(&t)
                .filter(|v| *v <= 0x7F)
                .map(|v| v as u8)
                .ok_or_else(|| format!("<{tag}> `{t}` is not 0..=127")),
        }
    };
    let float = |tag: &str, default: f32| -> Result<f32, String> {
        match child_text(node, tag) {
            None => Ok(default),
            Some(t) => t
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("<{tag}> `{t}` is not a number")),
        }
    };
    let deck = match g {
        Group::Deck(d) => Some(d),
        Group::FxUnit(_) => fx_assign_deck(key),
        _ => None,
    };
    Ok(Output {
        midi,
        source,
        deck,
        on: byte("on", 0x7F)?,
        off: byte("off", 0x00)?,
        min: float("minimum", 0.5)?,
        max: float("maximum", 1.0)?,
        level: false,
    })
}
