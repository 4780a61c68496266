//! Mapping files: the TOML format, its validation (errors with line and reason) and a
//! writer (used by `segue midi learn` and the Mixxx import).
//!
//! The format is documented in the README ("Controller mappings") and by the commented
//! example `controllers/mappings/example.toml`.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::message::{Address, Encoding, MidiKind};
use crate::target::{Source, Target, TargetKind};

/// Why a mapping could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The file could not be read.
    #[error("cannot read mapping {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or an entry is not a valid mapping entry.
    #[error("{}line {line}, column {column}: {reason}", file.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Invalid {
        /// The file, when loaded from one.
        file: Option<PathBuf>,
        /// 1-based line of the offending entry.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, in words.
        reason: String,
    },
}

impl MappingError {
    fn at(text: &str, span: Option<Range<usize>>, reason: impl Into<String>) -> Self {
        let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
        MappingError::Invalid {
            file: None,
            line,
            column,
            reason: reason.into(),
        }
    }

    /// The 1-based line an `Invalid` error points at.
    pub fn line(&self) -> Option<usize> {
        match self {
            MappingError::Invalid { line, .. } => Some(*line),
            MappingError::Io { .. } => None,
        }
    }

    pub(crate) fn with_file(self, path: &Path) -> Self {
        match self {
            MappingError::Invalid {
                line,
                column,
                reason,
                ..
            } => MappingError::Invalid {
                file: Some(path.to_path_buf()),
                line,
                column,
                reason,
            },
            e => e,
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, col)
}

/// How a control turns its messages into values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ControlType {
    /// Pressed while the value is > 0 (note on, CC ≥ 1); released at 0 / note off.
    Button,
    /// Each press flips the target's state; releases are ignored.
    Toggle,
    /// Absolute 7-bit fader or knob (pitch bend: 14-bit). 0 → `min`, centre → the middle,
    /// top → `max`.
    Fader {
        /// Value at the bottom.
        min: f32,
        /// Value at the top.
        max: f32,
    },
    /// 14-bit fader sent as two CCs: the address is the MSB, `lsb` the LSB controller.
    Fader14 {
        /// CC number of the LSB (usually MSB + 32).
        lsb: u8,
        /// Value at the bottom.
        min: f32,
        /// Value at the top.
        max: f32,
    },
    /// Relative encoder: each message adds `ticks × step` to the target's value.
    Encoder {
        /// How ticks are encoded.
        encoding: Encoding,
        /// Change per tick, in the target's units.
        step: f32,
    },
    /// Jog wheel: nudges the playhead by `nudge_ms` per tick; while the deck's
    /// `jog_touch` is held (and `scratch` is on) it scratches: `ticks_per_rev` ticks move
    /// the record by one revolution at 33⅓ rpm (1.8 s).
    Jog {
        /// How ticks are encoded.
        encoding: Encoding,
        /// Ticks per revolution of the platter.
        ticks_per_rev: f32,
        /// Milliseconds of nudge per tick when not scratching.
        nudge_ms: f32,
        /// Scratch while touched.
        scratch: bool,
    },
}

impl ControlType {
    fn name(&self) -> &'static str {
        match self {
            ControlType::Button => "button",
            ControlType::Toggle => "toggle",
            ControlType::Fader { .. } => "fader",
            ControlType::Fader14 { .. } => "fader14",
            ControlType::Encoder { .. } => "encoder",
            ControlType::Jog { .. } => "jog",
        }
    }
}

/// One input binding: a MIDI address, how to read it, and what it drives.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// The MIDI address (for `Fader14`, the MSB controller).
    pub midi: Address,
    /// How messages become values.
    pub kind: ControlType,
    /// What it drives.
    pub target: Target,
    /// Deck, 0-based (mapping files write 1-based); `None` for mixer targets.
    pub deck: Option<u8>,
    /// The shift layer this binding belongs to (`None`: the base layer).
    pub layer: Option<String>,
    /// Faders: after the target was changed elsewhere (another control, OSC, another
    /// layer), ignore the fader until it comes within 3/128 of the range of the target's
    /// value or crosses it (no jumps). While the fader is being moved it is followed.
    pub soft_takeover: bool,
}

/// One feedback binding: an LED or meter on the controller.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Where to send (note → note on with the value as velocity; cc → control change).
    pub midi: Address,
    /// What it shows.
    pub source: Source,
    /// Deck, 0-based.
    pub deck: Option<u8>,
    /// Value sent when lit.
    pub on: u8,
    /// Value sent when dark.
    pub off: u8,
    /// Lit while the source's value (0..1) is within `min..=max`.
    pub min: f32,
    /// See `min`.
    pub max: f32,
    /// Send the value scaled between `off` and `on` instead of on/off (meters).
    pub level: bool,
}

/// A shift button: while held (or after a press, for `toggle`), controls of its layer
/// replace the base controls on the same MIDI address.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// Its MIDI address.
    pub midi: Address,
    /// The layer name controls refer to with `layer = "…"`.
    pub layer: String,
    /// Latching (each press flips the layer) instead of held.
    pub toggle: bool,
    /// A pad-mode group (`mode = "pads"`): a press selects this layer and leaves the other
    /// layers of the group (the mode buttons of one pad section); pressing it again keeps
    /// it. A mode button with no controls on its layer selects the base layer.
    pub mode: Option<String>,
}

/// A controller mapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping {
    /// Controller name.
    pub name: String,
    /// MIDI port names this mapping is for: `segue serve` picks it automatically when a
    /// port whose name (or JACK alias) contains one of these (case-insensitive) is
    /// connected to its `midi_in` ([`crate::builtin`]).
    pub ports: Vec<String>,
    /// Shift buttons.
    pub shifts: Vec<Shift>,
    /// Input bindings.
    pub controls: Vec<Control>,
    /// Feedback bindings.
    pub outputs: Vec<Output>,
}

// ----- the TOML form -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    shift: Vec<Spanned<RawShift>>,
    #[serde(default)]
    control: Vec<Spanned<RawControl>>,
    #[serde(default)]
    output: Vec<Spanned<RawOutput>>,
}

/// The MIDI address fields every entry has (serde's `flatten` does not combine with
/// `deny_unknown_fields` or spans, so each entry repeats them).
struct RawAddress<'a> {
    note: &'a Option<Spanned<i64>>,
    cc: &'a Option<Spanned<i64>>,
    pitch_bend: Option<bool>,
    channel: &'a Option<Spanned<i64>>,
}

macro_rules! raw_address {
    ($e:expr) => {
        RawAddress {
            note: &$e.note,
            cc: &$e.cc,
            pitch_bend: $e.pitch_bend,
            channel: &$e.channel,
        }
    };
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    #[serde(default)]
    note: Option<Spanned<i64>>,
    #[serde(default)]
    cc: Option<Spanned<i64>>,
    #[serde(default)]
    pitch_bend: Option<bool>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    layer: Spanned<String>,
    #[serde(default)]
    toggle: bool,
    #[serde(default)]
    mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    #[serde(default)]
    note: Option<Spanned<i64>>,
    #[serde(default)]
    cc: Option<Spanned<i64>>,
    #[serde(default)]
    pitch_bend: Option<bool>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    target: Spanned<String>,
    #[serde(default)]
    deck: Option<Spanned<i64>>,
    #[serde(default)]
    layer: Option<Spanned<String>>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    invert: bool,
    #[serde(default)]
    lsb: Option<Spanned<i64>>,
    #[serde(default)]
    encoding: Option<Spanned<String>>,
    #[serde(default)]
    step: Option<Spanned<f64>>,
    #[serde(default)]
    ticks_per_rev: Option<Spanned<f64>>,
    #[serde(default)]
    nudge_ms: Option<Spanned<f64>>,
    #[serde(default)]
    scratch: Option<bool>,
    #[serde(default)]
    soft_takeover: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    #[serde(default)]
    note: Option<Spanned<i64>>,
    #[serde(default)]
    cc: Option<Spanned<i64>>,
    #[serde(default)]
    pitch_bend: Option<bool>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    source: Spanned<String>,
    #[serde(default)]
    deck: Option<Spanned<i64>>,
    #[serde(default)]
    on: Option<Spanned<i64>>,
    #[serde(default)]
    off: Option<Spanned<i64>>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    level: bool,
}

struct Ctx<'a> {
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, reason: impl Into<String>) -> MappingError {
        MappingError::at(self.text, Some(span), reason)
    }

    fn byte(&self, v: &Spanned<i64>, what: &str, lo: i64, hi: i64) -> Result<u8, MappingError> {
        let x = *v.get_ref();
        if (lo..=hi).contains(&x) {
            Ok(x as u8)
        } else {
            Err(self.err(v.span(), format!("{what} {x} is out of range {lo}..={hi}")))
        }
    }

    fn address(&self, a: RawAddress<'_>, entry: Range<usize>) -> Result<Address, MappingError> {
        let channel = match a.channel {
            Some(c) => self.byte(c, "channel", 1, 16)? - 1,
            None => 0,
        };
        match (a.note, a.cc, a.pitch_bend.unwrap_or(false)) {
            (Some(n), None, false) => Ok(Address::note(channel, self.byte(n, "note", 0, 127)?)),
            (None, Some(n), false) => Ok(Address::cc(channel, self.byte(n, "cc", 0, 127)?)),
            (None, None, true) => Ok(Address::pitch_bend(channel)),
            (None, None, false) => Err(self.err(
                entry,
                "no MIDI address: give one of `note = N`, `cc = N` or `pitch_bend = true`",
            )),
            _ => Err(self.err(
                entry,
                "more than one MIDI address: give only one of `note`, `cc`, `pitch_bend`",
            )),
        }
    }

    fn deck(
        &self,
        deck: &Option<Spanned<i64>>,
        deck_target: bool,
        name: &str,
        entry: Range<usize>,
    ) -> Result<Option<u8>, MappingError> {
        match (deck, deck_target) {
            (Some(d), true) => Ok(Some(
                self.byte(d, "deck", 1, segue_engine::MAX_DECKS as i64)? - 1,
            )),
            (None, true) => Err(self.err(
                entry,
                format!(
                    "`{name}` is a deck control: add `deck = N` (1-{})",
                    segue_engine::MAX_DECKS
                ),
            )),
            (Some(d), false) => Err(self.err(
                d.span(),
                format!("`{name}` is a mixer control: remove `deck`"),
            )),
            (None, false) => Ok(None),
        }
    }
}

fn encoding(ctx: &Ctx<'_>, e: &Option<Spanned<String>>) -> Result<Encoding, MappingError> {
    match e {
        None => Ok(Encoding::default()),
        Some(s) => Encoding::from_name(s.get_ref()).ok_or_else(|| {
            ctx.err(
                s.span(),
                format!(
                    "unknown encoding `{}` (expected twos_complement, sign_bit or offset)",
                    s.get_ref()
                ),
            )
        }),
    }
}

fn positive(
    ctx: &Ctx<'_>,
    v: &Option<Spanned<f64>>,
    what: &str,
    default: f32,
) -> Result<f32, MappingError> {
    match v {
        None => Ok(default),
        Some(x) if x.get_ref().is_finite() && *x.get_ref() != 0.0 => Ok(*x.get_ref() as f32),
        Some(x) => Err(ctx.err(
            x.span(),
            format!("{what} must be a finite, non-zero number"),
        )),
    }
}

impl Mapping {
    /// Read and validate a mapping file.
    pub fn load(path: impl AsRef<Path>) -> Result<Mapping, MappingError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Mapping::from_str(&text).map_err(|e| e.with_file(path))
    }

    /// Parse and validate mapping text.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<Mapping, MappingError> {
        let raw: RawMapping = toml::from_str(text)
            .map_err(|e| MappingError::at(text, e.span(), e.message().trim_end().to_string()))?;
        let ctx = Ctx { text };
        let mut m = Mapping {
            name: raw.name.unwrap_or_default(),
            ports: raw.ports,
            ..Default::default()
        };
        for s in &raw.shift {
            let span = s.span();
            let s = s.get_ref();
            if s.layer.get_ref().is_empty() {
                return Err(ctx.err(s.layer.span(), "empty layer name"));
            }
            m.shifts.push(Shift {
                midi: ctx.address(raw_address!(s), span)?,
                layer: s.layer.get_ref().clone(),
                toggle: s.toggle,
                mode: s.mode.clone(),
            });
        }
        for c in &raw.control {
            let span = c.span();
            m.controls
                .push(control(&ctx, c.get_ref(), span, &m.shifts)?);
        }
        for o in &raw.output {
            let span = o.span();
            let o = o.get_ref();
            let midi = ctx.address(raw_address!(o), span.clone())?;
            let name = o.source.get_ref();
            let source = Source::from_name(name).ok_or_else(|| {
                ctx.err(
                    o.source.span(),
                    format!(
                        "unknown source `{name}` (one of: {})",
                        Source::names().join(", ")
                    ),
                )
            })?;
            let deck = ctx.deck(&o.deck, source.is_deck(), name, span)?;
            let on = match &o.on {
                Some(v) => ctx.byte(v, "on", 0, 127)?,
                None => 127,
            };
            let off = match &o.off {
                Some(v) => ctx.byte(v, "off", 0, 127)?,
                None => 0,
            };
            m.outputs.push(Output {
                midi,
                source,
                deck,
                on,
                off,
                min: o.min.unwrap_or(0.5) as f32,
                max: o.max.unwrap_or(f64::INFINITY) as f32,
                level: o.level,
            });
        }
        Ok(m)
    }

    /// The mapping as TOML text that [`Mapping::from_str`] reads back to the same mapping.
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "name = {}", toml_str(&self.name));
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(|p| toml_str(p)).collect();
            let _ = writeln!(s, "ports = [{}]", ports.join(", "));
        }
        for sh in &self.shifts {
            let _ = writeln!(s, "\n[[shift]]\n{}", address_toml(sh.midi));
            let _ = writeln!(s, "layer = {}", toml_str(&sh.layer));
            if sh.toggle {
                let _ = writeln!(s, "toggle = true");
            }
            if let Some(m) = &sh.mode {
                let _ = writeln!(s, "mode = {}", toml_str(m));
            }
        }
        for c in &self.controls {
            let _ = writeln!(s, "\n[[control]]\n{}", address_toml(c.midi));
            let _ = writeln!(s, "type = \"{}\"", c.kind.name());
            let _ = writeln!(s, "target = {}", toml_str(&c.target.name()));
            if let Some(d) = c.deck {
                let _ = writeln!(s, "deck = {}", d + 1);
            }
            if let Some(l) = &c.layer {
                let _ = writeln!(s, "layer = {}", toml_str(l));
            }
            if c.soft_takeover {
                let _ = writeln!(s, "soft_takeover = true");
            }
            let range = |s: &mut String, min: f32, max: f32| {
                if let TargetKind::Continuous { min: a, max: b } = c.target.kind() {
                    if (min, max) != (a, b) {
                        let _ = writeln!(s, "min = {}\nmax = {}", num(min), num(max));
                    }
                }
            };
            match c.kind {
                ControlType::Button | ControlType::Toggle => {}
                ControlType::Fader { min, max } => range(&mut s, min, max),
                ControlType::Fader14 { lsb, min, max } => {
                    let _ = writeln!(s, "lsb = 0x{lsb:02X}");
                    range(&mut s, min, max);
                }
                ControlType::Encoder { encoding, step } => {
                    let _ = writeln!(
                        s,
                        "encoding = \"{}\"\nstep = {}",
                        encoding.name(),
                        num(step)
                    );
                }
                ControlType::Jog {
                    encoding,
                    ticks_per_rev,
                    nudge_ms,
                    scratch,
                } => {
                    let _ = writeln!(
                        s,
                        "encoding = \"{}\"\nticks_per_rev = {}\nnudge_ms = {}\nscratch = {scratch}",
                        encoding.name(),
                        num(ticks_per_rev),
                        num(nudge_ms)
                    );
                }
            }
        }
        for o in &self.outputs {
            let _ = writeln!(s, "\n[[output]]\n{}", address_toml(o.midi));
            let _ = writeln!(s, "source = {}", toml_str(&o.source.name()));
            if let Some(d) = o.deck {
                let _ = writeln!(s, "deck = {}", d + 1);
            }
            let _ = writeln!(s, "on = 0x{:02X}\noff = 0x{:02X}", o.on, o.off);
            if o.min != 0.5 {
                let _ = writeln!(s, "min = {}", num(o.min));
            }
            if o.max.is_finite() {
                let _ = writeln!(s, "max = {}", num(o.max));
            }
            if o.level {
                let _ = writeln!(s, "level = true");
            }
        }
        s
    }
}

fn control(
    ctx: &Ctx<'_>,
    c: &RawControl,
    span: Range<usize>,
    shifts: &[Shift],
) -> Result<Control, MappingError> {
    let midi = ctx.address(raw_address!(c), span.clone())?;
    let tname = c.target.get_ref();
    let target = Target::from_name(tname).ok_or_else(|| {
        ctx.err(
            c.target.span(),
            format!("unknown target `{tname}` (see `segue midi learn` or the README for the list)"),
        )
    })?;
    let deck = ctx.deck(&c.deck, target.is_deck(), tname, span.clone())?;
    let layer = match &c.layer {
        None => None,
        Some(l) if shifts.iter().any(|s| s.layer == *l.get_ref()) => Some(l.get_ref().clone()),
        Some(l) => {
            return Err(ctx.err(
                l.span(),
                format!("layer `{}` has no [[shift]] button (define the [[shift]] entries before the controls that use them)", l.get_ref()),
            ))
        }
    };
    let tk = target.kind();
    let kname = c.kind.get_ref().as_str();
    let range = |min: f32, max: f32| -> Result<(f32, f32), MappingError> {
        let (mut a, mut b) = (
            c.min.map_or(min, |v| v as f32),
            c.max.map_or(max, |v| v as f32),
        );
        if !a.is_finite() || !b.is_finite() {
            return Err(ctx.err(span.clone(), "min and max must be finite"));
        }
        if c.invert {
            std::mem::swap(&mut a, &mut b);
        }
        Ok((a, b))
    };
    let mismatch = |expected: &str| {
        ctx.err(
            c.kind.span(),
            format!("type `{kname}` cannot drive `{tname}` (use {expected})"),
        )
    };
    let kind = match (kname, tk) {
        ("button", TargetKind::Switch | TargetKind::Momentary | TargetKind::Trigger) => {
            ControlType::Button
        }
        ("toggle", TargetKind::Switch | TargetKind::Momentary | TargetKind::Trigger) => {
            ControlType::Toggle
        }
        ("button" | "toggle", TargetKind::Continuous { .. }) => {
            return Err(mismatch("fader, fader14 or encoder"))
        }
        ("button" | "toggle", TargetKind::Jog) => return Err(mismatch("jog")),
        ("button" | "toggle", TargetKind::Relative) => {
            return Err(mismatch("encoder (buttons: browse_next / browse_prev)"))
        }
        ("encoder", TargetKind::Relative) => ControlType::Encoder {
            encoding: encoding(ctx, &c.encoding)?,
            step: positive(ctx, &c.step, "step", 1.0)? * if c.invert { -1.0 } else { 1.0 },
        },
        (_, TargetKind::Value) => {
            return Err(ctx.err(
                c.target.span(),
                format!(
                    "target `{tname}` takes a number in its own units (seconds, beats, ms, a \
                     deck): an OSC control, not one for a MIDI mapping"
                ),
            ))
        }
        ("fader", TargetKind::Continuous { min, max }) => {
            let (min, max) = range(min, max)?;
            ControlType::Fader { min, max }
        }
        ("fader14", TargetKind::Continuous { min, max }) => {
            if midi.kind != MidiKind::Cc {
                return Err(ctx.err(span, "fader14 needs `cc = MSB` (and `lsb`, default MSB + 32); a 14-bit pitch bend is a plain `fader`"));
            }
            let lsb = match &c.lsb {
                Some(l) => ctx.byte(l, "lsb", 0, 127)?,
                None if midi.number < 32 => midi.number + 32,
                None => return Err(ctx.err(span, "fader14 with an MSB ≥ 32 needs `lsb = N`")),
            };
            let (min, max) = range(min, max)?;
            ControlType::Fader14 { lsb, min, max }
        }
        ("encoder", TargetKind::Continuous { min, max }) => ControlType::Encoder {
            encoding: encoding(ctx, &c.encoding)?,
            step: positive(ctx, &c.step, "step", (max - min) / 128.0)?
                * if c.invert { -1.0 } else { 1.0 },
        },
        ("fader" | "fader14" | "encoder", _) => return Err(mismatch("button or toggle")),
        ("jog", TargetKind::Jog) => ControlType::Jog {
            encoding: encoding(ctx, &c.encoding)?,
            ticks_per_rev: positive(ctx, &c.ticks_per_rev, "ticks_per_rev", 128.0)?
                * if c.invert { -1.0 } else { 1.0 },
            nudge_ms: positive(ctx, &c.nudge_ms, "nudge_ms", 1.0)?,
            scratch: c.scratch.unwrap_or(true),
        },
        ("jog", _) => {
            return Err(ctx.err(
                c.kind.span(),
                format!("type `jog` drives target `jog`, not `{tname}`"),
            ))
        }
        (other, _) => {
            return Err(ctx.err(
                c.kind.span(),
                format!(
                "unknown type `{other}` (expected button, toggle, fader, fader14, encoder or jog)"
            ),
            ))
        }
    };
    let soft_takeover = match &c.soft_takeover {
        Some(v)
            if *v.get_ref()
                && !matches!(
                    kind,
                    ControlType::Fader { .. } | ControlType::Fader14 { .. }
                ) =>
        {
            return Err(ctx.err(
                v.span(),
                "soft_takeover applies to faders (fader, fader14) only",
            ))
        }
        Some(v) => *v.get_ref(),
        None => false,
    };
    if matches!(kind, ControlType::Button | ControlType::Toggle) && midi.kind == MidiKind::PitchBend
    {
        return Err(ctx.err(span, "a button cannot be bound to pitch bend"));
    }
    Ok(Control {
        midi,
        kind,
        target,
        deck,
        layer,
        soft_takeover,
    })
}

fn address_toml(a: Address) -> String {
    match a.kind {
        MidiKind::Note => format!("note = 0x{:02X}\nchannel = {}", a.number, a.channel + 1),
        MidiKind::Cc => format!("cc = 0x{:02X}\nchannel = {}", a.number, a.channel + 1),
        MidiKind::PitchBend => format!("pitch_bend = true\nchannel = {}", a.channel + 1),
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn num(v: f32) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e9 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}
