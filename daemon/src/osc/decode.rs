//! OSC packet → requests: a pure function of the bytes (no I/O, no clock, no state), so a
//! fuzzer and property tests can drive it directly. The daemon's server applies the
//! results (security checks, path checks and time-tag mapping happen there).
//!
//! One route table is both the decoder and the listing ([`addresses`]: `/segue/help`
//! and the README's control reference). Controls are the controllers' vocabulary:
//! `/segue/deck/{n}/<target>` and `/segue/mixer/<target>` take every
//! [`segue_controllers::Target`] by its name (aliases included), and
//! [`Target::command`] makes the engine command — the same conversion a MIDI mapping uses.
//! The addresses of earlier releases (`/segue/deck/{n}/eq/low`, `/segue/master/volume`…)
//! are alias rows of the same table.
//!
//! Decks are numbered from 1 in OSC (`/segue/deck/1/...` is engine deck 0), hot cues too.
//! Numeric arguments accept OSC `i`, `h`, `f`, `d` and `T`/`F` interchangeably (controllers
//! differ in what they send); a string where a number is expected, a missing argument or an
//! out-of-range deck is an error for that message only — the rest of a bundle still applies.

use rosc::{OscMessage, OscPacket, OscTime, OscType};
use segue_controllers::{effect_number, LiveAction, Target, TargetKind, Value};
use segue_engine::{Command, DeckId, Effect, Position, Status, Stem};

/// Deepest bundle nesting accepted (the decoder recurses; hostile packets could nest
/// thousands deep inside one datagram).
pub const MAX_BUNDLE_DEPTH: usize = 8;
/// Most messages taken from one packet.
pub const MAX_MESSAGES: usize = 1024;

/// What a message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// An engine command (everything but loading).
    Engine(Command),
    /// Load a file on a deck (checked against the music roots by the server).
    Load {
        /// Engine deck index.
        deck: DeckId,
        /// The path as sent.
        path: String,
    },
    /// Answer `/segue/deck/{n}/state` to the sender.
    QueryDeck(DeckId),
    /// Answer `/segue/deck/{n}/cues` to the sender.
    QueryCues(DeckId),
    /// Answer `/segue/mixer/state` to the sender.
    QueryMixer,
    /// Answer `/segue/fx/{u}/state` (every FX unit) to the sender.
    QueryFx,
    /// Answer `/segue/stats` to the sender.
    QueryStats,
    /// Push state to the sender every `interval_ms` (default: the configured interval).
    Subscribe {
        /// Push interval in milliseconds.
        interval_ms: Option<u32>,
    },
    /// Stop pushes to the sender.
    Unsubscribe,
    /// Answer `/segue/pong`.
    Ping,
    /// A control whose command reads the engine's state (cue at the playhead, loop
    /// toggle/halve/double): the server makes it with [`Target::command`] and the latest
    /// status when it applies it.
    Control {
        /// The target.
        target: Target,
        /// Engine deck index.
        deck: DeckId,
        /// What was sent.
        value: Value,
    },
    /// Answer with the address listing (`/segue/help/address` messages).
    Help,
    /// Auto DJ on or off.
    AutoDj(bool),
    /// Perform the planned transition to the track waiting on a free deck, once.
    TransitionStart,
    /// Answer `/segue/suggest` (the next-track suggestions) to the sender.
    QuerySuggest,
    /// Answer `/segue/transition` (the transition being performed) to the sender.
    QueryTransition,
    /// Start recording the master output into the record folder: a file name (`.wav` or
    /// `.flac`, no folders), or `None` for `segue-<unix time>.wav`.
    RecordStart(Option<String>),
    /// Stop recording (the file is finalised, the cue sheet written).
    RecordStop,
    /// Answer `/segue/record` (the recorder's state) to the sender.
    QueryRecord,
    /// A library browser action (scroll, enter, back, sort, load the selected track).
    Browse(segue_controllers::LiveAction),
    /// Answer `/segue/browse` (the browser's selected item) to the sender.
    QueryBrowse,
    /// An Ableton Link setting.
    Link(LinkRequest),
    /// Answer `/segue/link/state` to the sender.
    QueryLink,
    /// Load suggestion `index` (0-based) onto `deck`, or onto a free deck.
    LoadSuggestion {
        /// Which suggestion.
        index: usize,
        /// Engine deck, or `None` for the first deck that is neither playing nor on air.
        deck: Option<DeckId>,
    },
}

/// What `/segue/link…` asks of Ableton Link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinkRequest {
    /// Join (`true`) or leave the session.
    Enable(bool),
    /// Follow or lead the session.
    Mode(crate::link::LinkMode),
    /// Start/stop sync on or off.
    StartStop(bool),
    /// Beats per phase cycle, 1..=16.
    Quantum(f64),
}

/// A request with the OSC time tag of its bundle (`None`: as soon as possible).
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    /// When it should be heard (the innermost bundle's time tag); `None` = now.
    pub at: Option<OscTime>,
    /// The request.
    pub request: Request,
}

/// Why (part of) a packet was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not OSC, truncated, or nested too deep.
    Malformed(String),
    /// No such address (or a deck / hot cue number out of range).
    UnknownAddress(String),
    /// The address exists but the arguments do not fit.
    BadArguments {
        /// The address.
        address: String,
        /// What it takes.
        expected: &'static str,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Malformed(r) => write!(f, "malformed packet: {r}"),
            DecodeError::UnknownAddress(a) => write!(f, "unknown address {a:?}"),
            DecodeError::BadArguments { address, expected } => {
                write!(f, "{address}: wrong arguments (expected {expected})")
            }
        }
    }
}

/// The result of decoding one datagram.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Decoded {
    /// What to do, in packet order.
    pub requests: Vec<Timed>,
    /// What was dropped and why.
    pub errors: Vec<DecodeError>,
}

/// Decode one UDP datagram for an engine with `decks` decks.
pub fn decode(bytes: &[u8], decks: usize) -> Decoded {
    let mut out = Decoded::default();
    if let Err(e) = check_depth(bytes, 0) {
        out.errors.push(e);
        return out;
    }
    match rosc::decoder::decode_udp(bytes) {
        Ok((rest, packet)) => {
            walk(&packet, None, decks, &mut out);
            if !rest.is_empty() {
                out.errors.push(DecodeError::Malformed(format!(
                    "{} bytes after the packet (broken bundle element?)",
                    rest.len()
                )));
            }
        }
        Err(e) => out.errors.push(DecodeError::Malformed(e.to_string())),
    }
    out
}

/// Reject bundles nested deeper than [`MAX_BUNDLE_DEPTH`] before rosc recurses into them.
fn check_depth(bytes: &[u8], depth: usize) -> Result<(), DecodeError> {
    if !bytes.starts_with(b"#bundle\0") {
        return Ok(());
    }
    if depth >= MAX_BUNDLE_DEPTH {
        return Err(DecodeError::Malformed(format!(
            "bundles nested deeper than {MAX_BUNDLE_DEPTH}"
        )));
    }
    let mut rest = bytes.get(16..).unwrap_or(&[]);
    while rest.len() >= 4 {
        let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let Some(elem) = rest.get(4..4usize.saturating_add(n)) else {
            return Ok(()); // rosc reports the truncation
        };
        check_depth(elem, depth + 1)?;
        rest = &rest[4 + n..];
    }
    Ok(())
}

fn walk(packet: &OscPacket, at: Option<OscTime>, decks: usize, out: &mut Decoded) {
    match packet {
        OscPacket::Message(m) => {
            if out.requests.len() >= MAX_MESSAGES {
                out.errors.push(DecodeError::Malformed(format!(
                    "more than {MAX_MESSAGES} messages in one packet"
                )));
                return;
            }
            match message(m, decks) {
                Ok(reqs) => out
                    .requests
                    .extend(reqs.into_iter().map(|request| Timed { at, request })),
                Err(e) => out.errors.push(e),
            }
        }
        OscPacket::Bundle(b) => {
            // (0, 1) means "immediately".
            let tag = (b.timetag != OscTime::from((0, 1))).then_some(b.timetag);
            for p in &b.content {
                walk(p, tag.or(at), decks, out);
            }
        }
    }
}

fn num(a: &OscType) -> Option<f64> {
    match *a {
        OscType::Int(i) => Some(i as f64),
        OscType::Long(i) => Some(i as f64),
        OscType::Float(f) => Some(f as f64),
        OscType::Double(d) => Some(d),
        OscType::Bool(b) => Some(b as u8 as f64),
        _ => None,
    }
}

struct Args<'a> {
    address: &'a str,
    args: &'a [OscType],
}

impl Args<'_> {
    fn bad(&self, expected: &'static str) -> DecodeError {
        DecodeError::BadArguments {
            address: self.address.to_string(),
            expected,
        }
    }
    fn none(&self) -> Result<(), DecodeError> {
        if self.args.is_empty() {
            Ok(())
        } else {
            Err(self.bad("no arguments"))
        }
    }
    /// An action: no argument, or a button's press (a number ≠ 0) fires it; its release
    /// (0) does nothing — what touch surfaces (TouchOSC, Open Stage Control) send.
    fn press(&self, r: Request) -> Result<Vec<Request>, DecodeError> {
        match self.args {
            [] => Ok(vec![r]),
            [x] => match num(x) {
                Some(v) if v != 0.0 => Ok(vec![r]),
                Some(_) => Ok(vec![]),
                None => Err(self.bad("nothing, or a button press (≠ 0; 0 is ignored)")),
            },
            _ => Err(self.bad("nothing, or a button press (≠ 0; 0 is ignored)")),
        }
    }
}

/// How the addresses of one [`Route`] are handled.
#[derive(Debug, Clone, Copy, PartialEq)]
enum To {
    /// `/segue/deck/{n}/<target>`: every deck target, by its name ([`Target::from_name`],
    /// aliases included).
    DeckTarget,
    /// `/segue/mixer/<target>`: every mixer target, by its name.
    MixerTarget,
    /// An older address of one target: its name, with `{k}`, `{band}`, `{stem}` filled in
    /// from the address.
    Alias(&'static str),
    /// `crossfader_assign`, also taking `a`, `b` or `thru` as a string.
    CrossfaderSide,
    /// A loop roll with its length as the first argument.
    Roll,
    /// A manual loop (start and end seconds).
    LoopSet,
    /// A stem swap between two decks.
    StemSwap,
    Load,
    QueryDeck,
    QueryCues,
    QueryMixer,
    QueryFx,
    QueryStats,
    Subscribe,
    Unsubscribe,
    Ping,
    Help,
    QuerySuggest,
    QueryTransition,
    LoadSuggestion,
    BrowseScroll,
    BrowseEnter,
    BrowseBack,
    BrowseSort,
    BrowseLoad,
    QueryBrowse,
    AutoDj,
    TransitionStart,
    RecordStart,
    RecordStop,
    QueryRecord,
    Link,
    LinkMode,
    LinkStartStop,
    LinkQuantum,
    QueryLink,
}

/// One row of the OSC address table: the single source of both the decoder and the
/// listing (`/segue/help`, the README's control reference).
struct Route {
    /// Address pattern: `{n}` deck 1..N, `{k}` hot cue 1..8, `{band}` low|mid|high,
    /// `{stem}` drums|bass|other|vocals, `{target}` a target name (last segment; FX
    /// targets name their unit, slot and knob in it: `fx{u}_slot_{s}_knob_{p}`).
    pattern: &'static str,
    to: To,
    /// Argument types for rows that are not a target (targets say theirs, [`Target::about`]).
    args: &'static str,
    /// What it does (rows that are not a target).
    meaning: &'static str,
    /// For an older address (rows that are not a target): the canonical one.
    alias_of: Option<&'static str>,
}

const fn route(pattern: &'static str, to: To) -> Route {
    Route {
        pattern,
        to,
        args: "",
        meaning: "",
        alias_of: None,
    }
}

const fn other(pattern: &'static str, to: To, args: &'static str, meaning: &'static str) -> Route {
    Route {
        pattern,
        to,
        args,
        meaning,
        alias_of: None,
    }
}

const fn alias(r: Route, of: &'static str) -> Route {
    Route {
        alias_of: Some(of),
        ..r
    }
}

/// Every address Segue accepts, most specific first. Canonical control addresses are
/// `/segue/deck/{n}/<target>` and `/segue/mixer/<target>` with the controllers' target
/// names; the `Alias` rows are the addresses of earlier releases, kept working.
const ROUTES: &[Route] = &[
    other(
        "/segue/deck/{n}/load",
        To::Load,
        "s",
        "load a file (must be under a music root); analysis follows",
    ),
    other(
        "/segue/deck/{n}/loop_set",
        To::LoopSet,
        "f f",
        "manual loop, start and end seconds",
    ),
    alias(
        other(
            "/segue/deck/{n}/loop/set",
            To::LoopSet,
            "f f",
            "manual loop, start and end seconds",
        ),
        "/segue/deck/{n}/loop_set",
    ),
    alias(
        other(
            "/segue/deck/{n}/roll",
            To::Roll,
            "f [i]",
            "loop roll of f beats while held (1), release (0)",
        ),
        "/segue/deck/{n}/loop_roll_{b}",
    ),
    alias(
        other(
            "/segue/deck/{n}/xfader",
            To::CrossfaderSide,
            "s",
            "crossfader side: a, b or thru (or -1, 1, 0)",
        ),
        "/segue/deck/{n}/crossfader_assign",
    ),
    other(
        "/segue/deck/{n}/crossfader_assign",
        To::CrossfaderSide,
        "s",
        "crossfader side: a, b or thru (or -1, 1, 0)",
    ),
    route("/segue/deck/{n}/cue/set", To::Alias("cue_set")),
    route("/segue/deck/{n}/cue/return", To::Alias("cue_return")),
    route("/segue/deck/{n}/seek/beats", To::Alias("seek_beats")),
    route("/segue/deck/{n}/tempo/range", To::Alias("tempo_range")),
    route("/segue/deck/{n}/loop/exit", To::Alias("loop_exit")),
    route("/segue/deck/{n}/hotcue/{k}", To::Alias("hotcue_{k}")),
    route(
        "/segue/deck/{n}/hotcue/{k}/set",
        To::Alias("hotcue_set_{k}"),
    ),
    route(
        "/segue/deck/{n}/hotcue/{k}/clear",
        To::Alias("hotcue_clear_{k}"),
    ),
    route("/segue/deck/{n}/eq/{band}", To::Alias("eq_{band}")),
    route("/segue/deck/{n}/stem/{stem}", To::Alias("stem_{stem}")),
    route(
        "/segue/deck/{n}/stem/{stem}/mute",
        To::Alias("stem_mute_{stem}"),
    ),
    route(
        "/segue/deck/{n}/stem/{stem}/filter",
        To::Alias("stem_filter_{stem}"),
    ),
    route("/segue/deck/{n}/keyshift", To::Alias("key_shift")),
    route("/segue/deck/{n}/{target}", To::DeckTarget),
    other(
        "/segue/stem_swap",
        To::StemSwap,
        "i i s [f]",
        "stem swap: the stem s (drums, bass, other, vocals) of deck i (1-based) fades out \
         while the same stem of the second deck fades in (unmuted, full gain), over f beats \
         of the incoming deck (default 4; 0 = a 10 ms cut); in a timed bundle it starts at \
         the bundle's time",
    ),
    route(
        "/segue/mixer/crossfader/curve",
        To::Alias("crossfader_curve"),
    ),
    route("/segue/master/volume", To::Alias("master_gain")),
    route("/segue/headphone/volume", To::Alias("headphone_gain")),
    route("/segue/headphone/mix", To::Alias("cue_mix")),
    route("/segue/sync/leader", To::Alias("sync_leader")),
    route("/segue/mixer/{target}", To::MixerTarget),
    other(
        "/segue/query/deck/{n}",
        To::QueryDeck,
        "",
        "reply /segue/deck/{n}/state to the sender",
    ),
    other(
        "/segue/query/cues/{n}",
        To::QueryCues,
        "",
        "reply /segue/deck/{n}/cues to the sender: the cue point, then hot cues 1-8, in \
         seconds (-1 = not set); pads on a tablet show these",
    ),
    other(
        "/segue/query/mixer",
        To::QueryMixer,
        "",
        "reply /segue/mixer/state to the sender",
    ),
    other(
        "/segue/query/fx",
        To::QueryFx,
        "",
        "reply /segue/fx/{u}/state for each FX unit to the sender",
    ),
    other(
        "/segue/query/stats",
        To::QueryStats,
        "",
        "reply /segue/stats (counters) to the sender",
    ),
    other(
        "/segue/query/suggest",
        To::QuerySuggest,
        "",
        "reply `/segue/suggest`: the deck on air (1-based, 0 = none), then per suggestion \
         (best first, up to 10): path s, title s, score f 0..1, explanation s (`5A → 6A · \
         124 → 126 BPM (+1.6 %) · energy 7 → 7 · timbre 0.77`). From the library, \
         recomputed when the track on air changes; pushed to subscribers when the list \
         changes",
    ),
    other(
        "/segue/query/transition",
        To::QueryTransition,
        "",
        "reply `/segue/transition`: active i (0 = none), out deck i, in deck i (1-based), \
         from s, to s, technique s (`bass swap`, `stem swap`…), A's out beat f, bars i, \
         reason s, the plan as JSON s (version 2, see segue mix); pushed to subscribers \
         when it changes",
    ),
    other(
        "/segue/autodj",
        To::AutoDj,
        "[0/1]",
        "Auto DJ on (default) or off: with a track on air it loads the first suggestion \
         onto the free deck and performs the planned transition; a command to a deck during \
         a transition takes that control from the automation; `autodj` and \
         `autodj_transitions` in /segue/stats",
    ),
    other(
        "/segue/transition/start",
        To::TransitionStart,
        "[i]",
        "perform the planned transition from the deck on air to the track waiting on another \
         deck, once (Auto DJ need not be on); MIDI target `transition_start`",
    ),
    other(
        "/segue/record/start",
        To::RecordStart,
        "[s]",
        "record the master output (what is heard, post-limiter) into the record folder \
         (`record-dir`): file name `.wav` (32-bit float) or `.flac`, default \
         `segue-<unix time>.wav`; a `.cue` sheet of the tracks played (title, BPM, key, \
         start time) is written beside it; the WAV header is checkpointed every 0.5 s, so \
         a crash keeps what was recorded; replies `/segue/record`",
    ),
    other(
        "/segue/record/stop",
        To::RecordStop,
        "[i]",
        "stop recording: the file is finalised (FLAC encoded) and the cue sheet written; \
         replies `/segue/record`",
    ),
    other(
        "/segue/query/record",
        To::QueryRecord,
        "",
        "reply `/segue/record`: recording 0/1, file s (the last take's when stopped, `` \
         before any), seconds f, frames left out because the disk was too slow i",
    ),
    other(
        "/segue/suggest/load",
        To::LoadSuggestion,
        "i [i]",
        "load suggestion N (1-based) onto DECK, or onto the first deck that is neither \
         playing nor on air",
    ),
    other(
        "/segue/browse/scroll",
        To::BrowseScroll,
        "i",
        "move the library browser's selection by i items (negative: up); MIDI target \
         `browse` (an encoder), `browse_next`, `browse_prev`",
    ),
    other(
        "/segue/browse/enter",
        To::BrowseEnter,
        "[i]",
        "open the selected view or folder (Tracks, Folders, Playlists, Suggestions); MIDI \
         target `browse_enter`",
    ),
    other(
        "/segue/browse/back",
        To::BrowseBack,
        "[i]",
        "back to the parent list; MIDI target `browse_back`",
    ),
    other(
        "/segue/browse/sort",
        To::BrowseSort,
        "[i]",
        "cycle the track lists' sort: title, BPM, key (Camelot), energy; MIDI target \
         `browse_sort`",
    ),
    other(
        "/segue/browse/load",
        To::BrowseLoad,
        "i",
        "load the selected track onto deck i (under a music root, as /load); MIDI deck \
         target `load_selected`",
    ),
    other(
        "/segue/query/browse",
        To::QueryBrowse,
        "",
        "reply `/segue/browse`: location s (`Tracks`, `Folders/house`, `` at the root), \
         sort s (title, bpm, key, energy), index i (1-based, 0 = empty list), count i, \
         label s, detail s (`124.0 BPM · 8A · energy 7`, `12 tracks`), track path s (`` for \
         a folder or view); pushed to subscribers when it changes, and replied to every \
         /segue/browse/… message",
    ),
    other(
        "/segue/link",
        To::Link,
        "[0/1]",
        "Ableton Link on (default) or off: join the session on the local network; MIDI target \
         `link_toggle`; the Link thread applies it within 10 ms (query `/segue/query/link`)",
    ),
    other(
        "/segue/link/mode",
        To::LinkMode,
        "s",
        "`follow`: the master deck (the sync leader) follows the session's tempo and bar \
         phase; `lead`: the session follows the master deck's tempo and phase; replies \
         `/segue/link/state`",
    ),
    other(
        "/segue/link/startstop",
        To::LinkStartStop,
        "[0/1]",
        "Link start/stop sync on (default) or off: follow — a session start/stop plays/pauses \
         the master deck; lead — the master deck's play/pause starts/stops the session",
    ),
    other(
        "/segue/link/quantum",
        To::LinkQuantum,
        "f",
        "Link quantum, beats per phase cycle 1..16 (default 4, a bar)",
    ),
    other(
        "/segue/query/link",
        To::QueryLink,
        "",
        "reply `/segue/link/state`: on i, mode s, start/stop sync i, peers i, tempo d, \
         session playing i, quantum d, Link time µs h, session beat d and phase d at that \
         time, master deck i (1-based, 0 = none), its phase d (0..quantum from its bar's \
         downbeat) and tempo d heard at that time, master playing i; pushed to subscribers",
    ),
    other(
        "/segue/subscribe",
        To::Subscribe,
        "[i]",
        "push deck, mixer and FX unit states to the sender every i ms",
    ),
    other("/segue/unsubscribe", To::Unsubscribe, "", "stop the pushes"),
    other("/segue/ping", To::Ping, "", "reply /segue/pong"),
    other(
        "/segue/help",
        To::Help,
        "",
        "reply /segue/help/address (s address, s arguments, s meaning, s canonical address) \
         for every row of this table",
    ),
];

/// One address as listed by `/segue/help` and the README, made from the route table.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    /// Address pattern (`{n}` deck 1..N, `{k}` hot cue 1..8, `{b}` beats, `{band}`,
    /// `{stem}`; in FX target names `{u}` unit 1..2, `{s}` slot 1..3, `{p}` knob 1..3).
    pub address: String,
    /// Argument types (`f` number, `i` integer/flag, `s` string; `[ ]` optional).
    pub args: &'static str,
    /// What it does.
    pub meaning: &'static str,
    /// For an older address kept working: the canonical one.
    pub alias_of: Option<String>,
}

/// Every address, expanded from the route table: each canonical target address (one per
/// target of [`Target::catalog`]), each alias with its canonical address, and the rest.
pub fn addresses() -> Vec<Address> {
    let catalog = Target::catalog();
    let mut out = Vec::new();
    for r in ROUTES {
        match r.to {
            To::DeckTarget | To::MixerTarget => {
                let deck = r.to == To::DeckTarget;
                for (name, t) in &catalog {
                    if t.is_deck() != deck || !over_osc(*t) {
                        continue;
                    }
                    // A target with its own row (it takes more than a target's value).
                    let address = r.pattern.replace("{target}", name);
                    if ROUTES.iter().any(|o| o.pattern == address) {
                        continue;
                    }
                    let (args, meaning) = t.about();
                    out.push(Address {
                        address,
                        args,
                        meaning,
                        alias_of: None,
                    });
                }
            }
            To::Alias(name) => {
                let t = Target::from_name(&example(name)).expect("alias rows name targets");
                let (args, meaning) = t.about();
                let prefix = if t.is_deck() {
                    "/segue/deck/{n}/"
                } else {
                    "/segue/mixer/"
                };
                out.push(Address {
                    address: r.pattern.to_string(),
                    args,
                    meaning,
                    alias_of: Some(format!("{prefix}{name}")),
                });
            }
            _ => out.push(Address {
                address: r.pattern.to_string(),
                args: r.args,
                meaning: r.meaning,
                alias_of: r.alias_of.map(str::to_string),
            }),
        }
    }
    out
}

/// The listing as a Markdown table (the README's control reference is this text).
pub fn addresses_markdown() -> String {
    let mut s = String::from("| address | arguments | what it does |\n|---|---|---|\n");
    for a in addresses() {
        let args = if a.args.is_empty() {
            "—".to_string()
        } else {
            format!("`{}`", a.args)
        };
        let meaning = match &a.alias_of {
            Some(c) => format!("{} (alias of `{c}`)", a.meaning),
            None => a.meaning.to_string(),
        };
        s.push_str(&format!("| `{}` | {args} | {meaning} |\n", a.address));
    }
    s
}

/// Targets that OSC reaches (the jog wheel's relative ticks need a mapping's jog control).
fn over_osc(t: Target) -> bool {
    // The browser has its own addresses (/segue/browse/…); loop in/out keep their point in
    // a mapping's memory and beat jumps are /seek_beats over OSC.
    t.kind() != TargetKind::Jog
        && !matches!(
            t,
            Target::Browse
                | Target::BrowseNext
                | Target::BrowsePrev
                | Target::BrowseEnter
                | Target::BrowseBack
                | Target::BrowseSort
                | Target::LoadSelected
                | Target::LoopIn
                | Target::LoopOut
                | Target::BeatJump(_)
        )
}

/// A representative name for a template (`hotcue_{k}` → `hotcue_1`,
/// `fx{u}_slot_{s}_knob_{p}` → `fx1_slot_1_knob_1`).
fn example(name: &str) -> String {
    name.replace("{k}", "1")
        .replace("{band}", "low")
        .replace("{stem}", "drums")
        .replace("{u}", "1")
        .replace("{s}", "1")
        .replace("{p}", "1")
}

/// What an address pattern captured.
#[derive(Default)]
struct Captures<'a> {
    deck: Option<DeckId>,
    k: Option<&'a str>,
    band: Option<&'a str>,
    stem: Option<&'a str>,
    target: Option<&'a str>,
}

fn matches<'a>(pattern: &str, addr: &'a str, decks: usize) -> Option<Captures<'a>> {
    let mut c = Captures::default();
    let mut p = pattern.split('/');
    let mut a = addr.split('/');
    loop {
        match (p.next(), a.next()) {
            (None, None) => return Some(c),
            (Some(ps), Some(seg)) => match ps {
                "{n}" => match seg.parse::<usize>() {
                    Ok(n) if (1..=decks).contains(&n) => c.deck = Some((n - 1) as DeckId),
                    _ => return None,
                },
                "{k}" => match seg.parse::<usize>() {
                    Ok(k) if (1..=segue_engine::HOT_CUES).contains(&k) => c.k = Some(seg),
                    _ => return None,
                },
                "{band}" if ["low", "mid", "high"].contains(&seg) => c.band = Some(seg),
                "{stem}" if Stem::from_name(seg).is_some() => c.stem = Some(seg),
                "{target}" if !seg.is_empty() => c.target = Some(seg),
                lit if lit == seg => {}
                _ => return None,
            },
            _ => return None,
        }
    }
}

/// Targets whose command reads the engine's state (the playhead, the loop, an FX slot's
/// beats): the server makes their command when it applies them.
fn needs_status(t: Target, v: Value) -> bool {
    matches!(
        (t, v),
        (Target::CueSet | Target::HotCueSet(_), Value::Press(_))
            | (
                Target::LoopToggle
                    | Target::LoopHalve
                    | Target::LoopDouble
                    | Target::FxBeatsHalve(..)
                    | Target::FxBeatsDouble(..),
                _
            )
    )
}

fn message(m: &OscMessage, decks: usize) -> Result<Vec<Request>, DecodeError> {
    let unknown = || DecodeError::UnknownAddress(m.addr.clone());
    let a = Args {
        address: &m.addr,
        args: &m.args,
    };
    let (route, c) = ROUTES
        .iter()
        .find_map(|r| matches(r.pattern, &m.addr, decks).map(|c| (r, c)))
        .ok_or_else(unknown)?;
    let deck = c.deck.unwrap_or(0);
    let target = |name: &str| -> Result<Vec<Request>, DecodeError> {
        let t = Target::from_name(name).ok_or_else(unknown)?;
        if !over_osc(t) {
            return Err(unknown());
        }
        target_request(t, deck, &a, decks)
    };
    match route.to {
        To::DeckTarget => {
            let name = c.target.unwrap_or("");
            match Target::from_name(name) {
                Some(t) if t.is_deck() => target(name),
                _ => Err(unknown()),
            }
        }
        To::MixerTarget => {
            let name = c.target.unwrap_or("");
            match Target::from_name(name) {
                Some(t) if !t.is_deck() => target(name),
                _ => Err(unknown()),
            }
        }
        To::Alias(name) => target(
            &name
                .replace("{k}", c.k.unwrap_or(""))
                .replace("{band}", c.band.unwrap_or(""))
                .replace("{stem}", c.stem.unwrap_or("")),
        ),
        To::CrossfaderSide => {
            let v = match a.args {
                [OscType::String(s)] => match s.to_ascii_lowercase().as_str() {
                    "a" => Some(-1.0),
                    "b" => Some(1.0),
                    "thru" => Some(0.0),
                    _ => None,
                },
                [x] => num(x),
                _ => None,
            };
            let v = v.ok_or_else(|| a.bad("a, b or thru (or -1, 1, 0)"))?;
            engine(Target::CrossfaderAssign, deck, Value::Number(v), decks, &a)
        }
        To::Roll => {
            const ROLL: &str = "beats and optionally 1 = held, 0 = released";
            let (beats, held) = match a.args {
                [b] => (num(b), Some(true)),
                [b, h] => (num(b), num(h).map(|v| v != 0.0)),
                _ => (None, None),
            };
            match (beats, held) {
                (Some(b), Some(held)) => engine(
                    Target::LoopRoll(b as f32),
                    deck,
                    Value::Press(held),
                    decks,
                    &a,
                ),
                _ => Err(a.bad(ROLL)),
            }
        }
        To::LoopSet => match a.args {
            [s, t] => match (num(s), num(t)) {
                (Some(s), Some(t)) => Ok(vec![Request::Engine(Command::SetLoop {
                    deck,
                    start: Position::Seconds(s),
                    end: Position::Seconds(t),
                })]),
                _ => Err(a.bad("two numbers (start, end seconds)")),
            },
            _ => Err(a.bad("two numbers (start, end seconds)")),
        },
        To::StemSwap => {
            const USAGE: &str = "two decks (1-based, different), a stem name, optionally beats";
            let (from, to, stem, beats) = match a.args {
                [f, t, OscType::String(s)] => (num(f), num(t), Stem::from_name(s), Some(4.0)),
                [f, t, OscType::String(s), b] => (num(f), num(t), Stem::from_name(s), num(b)),
                _ => return Err(a.bad(USAGE)),
            };
            let deck_of = |v: Option<f64>| {
                v.filter(|v| v.fract() == 0.0 && *v >= 1.0 && *v <= decks as f64)
                    .map(|v| v as DeckId - 1)
            };
            match (deck_of(from), deck_of(to), stem, beats) {
                (Some(from), Some(to), Some(stem), Some(beats))
                    if from != to && (0.0..=64.0).contains(&beats) =>
                {
                    Ok(vec![Request::Engine(Command::StemSwap {
                        from,
                        to,
                        stem,
                        beats: beats as f32,
                    })])
                }
                _ => Err(a.bad(USAGE)),
            }
        }
        To::Load => match a.args {
            [OscType::String(path)] => Ok(vec![Request::Load {
                deck,
                path: path.clone(),
            }]),
            _ => Err(a.bad("one string (a path under a music root)")),
        },
        To::QueryDeck => a.none().map(|_| vec![Request::QueryDeck(deck)]),
        To::QueryCues => a.none().map(|_| vec![Request::QueryCues(deck)]),
        To::QueryMixer => a.none().map(|_| vec![Request::QueryMixer]),
        To::QueryFx => a.none().map(|_| vec![Request::QueryFx]),
        To::QueryStats => a.none().map(|_| vec![Request::QueryStats]),
        To::Subscribe => {
            let interval_ms = match m.args.as_slice() {
                [] => None,
                [x] => match num(x) {
                    Some(v) if (5.0..=60_000.0).contains(&v) => Some(v as u32),
                    _ => return Err(a.bad("nothing or an interval 5..60000 ms")),
                },
                _ => return Err(a.bad("nothing or an interval 5..60000 ms")),
            };
            Ok(vec![Request::Subscribe { interval_ms }])
        }
        To::Unsubscribe => a.none().map(|_| vec![Request::Unsubscribe]),
        To::Ping => Ok(vec![Request::Ping]),
        To::Help => Ok(vec![Request::Help]),
        To::QuerySuggest => a.none().map(|_| vec![Request::QuerySuggest]),
        To::QueryTransition => a.none().map(|_| vec![Request::QueryTransition]),
        To::QueryBrowse => a.none().map(|_| vec![Request::QueryBrowse]),
        To::BrowseEnter => a.press(Request::Browse(LiveAction::BrowseEnter)),
        To::BrowseBack => a.press(Request::Browse(LiveAction::BrowseBack)),
        To::BrowseSort => a.press(Request::Browse(LiveAction::BrowseSort)),
        To::BrowseScroll => match a.args {
            [x] => match num(x) {
                Some(v) if v.fract() == 0.0 && v.abs() <= 1000.0 => {
                    Ok(vec![Request::Browse(LiveAction::Browse(v as i16))])
                }
                _ => Err(a.bad("one whole number of items, -1000..1000")),
            },
            _ => Err(a.bad("one whole number of items, -1000..1000")),
        },
        To::BrowseLoad => match a.args {
            [x] => match num(x) {
                Some(v) if v.fract() == 0.0 && v >= 1.0 && v <= decks as f64 => {
                    Ok(vec![Request::Browse(LiveAction::LoadSelected(v as u8 - 1))])
                }
                _ => Err(a.bad("a deck number")),
            },
            _ => Err(a.bad("a deck number")),
        },
        To::TransitionStart => a.press(Request::TransitionStart),
        To::QueryLink => a.none().map(|_| vec![Request::QueryLink]),
        To::Link | To::LinkStartStop => {
            const USAGE: &str = "nothing (on) or one number (0 = off)";
            let on = match m.args.as_slice() {
                [] => true,
                [x] => num(x).ok_or_else(|| a.bad(USAGE))? != 0.0,
                _ => return Err(a.bad(USAGE)),
            };
            Ok(vec![Request::Link(if route.to == To::Link {
                LinkRequest::Enable(on)
            } else {
                LinkRequest::StartStop(on)
            })])
        }
        To::LinkMode => match a.args {
            [OscType::String(name)] => match name.parse() {
                Ok(mode) => Ok(vec![Request::Link(LinkRequest::Mode(mode))]),
                Err(_) => Err(a.bad("`follow` or `lead`")),
            },
            _ => Err(a.bad("`follow` or `lead`")),
        },
        To::LinkQuantum => match a.args {
            [x] => match num(x) {
                Some(q) if (1.0..=16.0).contains(&q) => {
                    Ok(vec![Request::Link(LinkRequest::Quantum(q))])
                }
                _ => Err(a.bad("beats per cycle, 1..16")),
            },
            _ => Err(a.bad("beats per cycle, 1..16")),
        },
        To::RecordStop => a.press(Request::RecordStop),
        To::QueryRecord => a.none().map(|_| vec![Request::QueryRecord]),
        To::RecordStart => {
            const USAGE: &str = "nothing (or a button press), or a file name ending in .wav or \
                                 .flac (no folders)";
            match m.args.as_slice() {
                [] => Ok(vec![Request::RecordStart(None)]),
                [x] if num(x).is_some() => a.press(Request::RecordStart(None)),
                [OscType::String(name)] => {
                    let lower = name.to_ascii_lowercase();
                    let plain = !name.contains(['/', '\\'])
                        && !name.starts_with('.')
                        && (lower.ends_with(".wav") || lower.ends_with(".flac"));
                    if plain {
                        Ok(vec![Request::RecordStart(Some(name.clone()))])
                    } else {
                        Err(a.bad(USAGE))
                    }
                }
                _ => Err(a.bad(USAGE)),
            }
        }
        To::AutoDj => {
            const USAGE: &str = "nothing (on) or one number (0 = off)";
            let on = match m.args.as_slice() {
                [] => true,
                [x] => num(x).ok_or_else(|| a.bad(USAGE))? != 0.0,
                _ => return Err(a.bad(USAGE)),
            };
            Ok(vec![Request::AutoDj(on)])
        }
        To::LoadSuggestion => {
            const USAGE: &str = "suggestion number 1..10, then optionally a deck number";
            let n = |x: &OscType| num(x).filter(|v| v.fract() == 0.0 && *v >= 1.0);
            match m.args.as_slice() {
                [x] | [x, _] if n(x).is_some_and(|v| v <= 10.0) => {
                    let deck = match m.args.get(1) {
                        None => None,
                        Some(d) => Some(
                            n(d).filter(|v| *v <= decks as f64)
                                .map(|v| v as DeckId - 1)
                                .ok_or_else(|| a.bad(USAGE))?,
                        ),
                    };
                    Ok(vec![Request::LoadSuggestion {
                        index: n(x).unwrap_or(1.0) as usize - 1,
                        deck,
                    }])
                }
                _ => Err(a.bad(USAGE)),
            }
        }
    }
}

/// A target address's arguments → its value(s) → requests.
fn target_request(
    t: Target,
    deck: DeckId,
    a: &Args<'_>,
    decks: usize,
) -> Result<Vec<Request>, DecodeError> {
    let (_, spec) = t.about();
    let value = match (t.kind(), a.args) {
        // A momentary target without an argument is a tap: press and release.
        (TargetKind::Momentary, []) => {
            let mut v = engine(t, deck, Value::Press(true), decks, a)?;
            v.extend(engine(t, deck, Value::Press(false), decks, a)?);
            return Ok(v);
        }
        (TargetKind::Switch | TargetKind::Trigger, []) => Value::Press(true),
        // An effect by its name (`reverb`, `none`).
        (_, [OscType::String(name)]) if matches!(t, Target::FxEffect(..)) => {
            let effect = match name.as_str() {
                "none" | "" => None,
                n => Some(Effect::from_name(n).ok_or_else(|| a.bad(spec))?),
            };
            Value::Number(effect_number(effect) as f64)
        }
        (_, [x]) => Value::Number(num(x).ok_or_else(|| a.bad(spec))?),
        _ => return Err(a.bad(spec)),
    };
    // A trigger given 0 (a release) does nothing; that is not an error.
    if t.kind() == TargetKind::Trigger && !t.trigger_takes_number() && value == Value::Number(0.0) {
        return Ok(vec![]);
    }
    engine(t, deck, value, decks, a)
}

/// The request for `t` with `value`: the engine command, or for targets that read the
/// engine's state a [`Request::Control`] the server resolves.
fn engine(
    t: Target,
    deck: DeckId,
    value: Value,
    decks: usize,
    a: &Args<'_>,
) -> Result<Vec<Request>, DecodeError> {
    if needs_status(t, value) {
        return Ok(vec![Request::Control {
            target: t,
            deck,
            value,
        }]);
    }
    let status = Status {
        deck_count: decks,
        ..Status::default()
    };
    match t.command(deck, value, &status) {
        Some(c) => Ok(vec![Request::Engine(c)]),
        None => Err(a.bad(t.about().1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosc::{encoder, OscBundle};

    fn msg(addr: &str, args: Vec<OscType>) -> Vec<u8> {
        encoder::encode(&OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        }))
        .unwrap()
    }

    fn example_args(addr: &str, spec: &str) -> Vec<OscType> {
        if addr.ends_with("stem_swap") {
            return vec![
                OscType::Int(1),
                OscType::Int(2),
                OscType::String("bass".into()),
            ];
        }
        spec.split_whitespace()
            .filter(|t| !t.starts_with('['))
            .map(|t| match t {
                "f" if addr.ends_with("link/quantum") => OscType::Float(4.0),
                "f" => OscType::Float(0.5),
                "s" if addr.ends_with("link/mode") => OscType::String("lead".into()),
                "i" if addr.ends_with("tempo/range") || addr.ends_with("tempo_range") => {
                    OscType::Int(8)
                }
                "i" => OscType::Int(1),
                _ => OscType::String("a".into()),
            })
            .collect()
    }

    /// A listed address pattern with its placeholders filled in.
    fn concrete(pattern: &str) -> String {
        pattern
            .replace("{n}", "2")
            .replace("{k}", "3")
            .replace("{b}", "4")
            .replace("{band}", "mid")
            .replace("{stem}", "bass")
            .replace("{u}", "2")
            .replace("{s}", "3")
            .replace("{p}", "2")
    }

    #[test]
    fn every_listed_address_decodes() {
        let list = addresses();
        assert!(list.len() > 60, "{} addresses", list.len());
        for a in &list {
            let addr = concrete(&a.address);
            let d = decode(&msg(&addr, example_args(&addr, a.args)), 4);
            assert!(d.errors.is_empty(), "{addr}: {:?}", d.errors);
            assert!(!d.requests.is_empty(), "{addr}");
        }
        // Every target but the jog wheel has an address, under its own name.
        for (name, t) in Target::catalog() {
            let want = if t.is_deck() {
                format!("/segue/deck/{{n}}/{name}")
            } else {
                format!("/segue/mixer/{name}")
            };
            assert_eq!(
                list.iter().any(|a| a.address == want),
                t.kind() != TargetKind::Jog,
                "{want}"
            );
        }
    }

    /// Requests with the engine's state filled in (as the server does).
    fn resolved(d: &Decoded, status: &Status) -> Vec<Command> {
        d.requests
            .iter()
            .filter_map(|r| match &r.request {
                Request::Engine(c) => Some(c.clone()),
                Request::Control {
                    target,
                    deck,
                    value,
                } => target.command(*deck, *value, status),
                other => panic!("not a control: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn aliases_decode_to_what_their_canonical_address_does() {
        let status = Status::default();
        let mut checked = 0;
        for a in addresses() {
            let Some(canonical) = &a.alias_of else {
                continue;
            };
            let (old, new) = (concrete(&a.address), concrete(canonical));
            let args = example_args(&old, a.args);
            let new_args = match old.as_str() {
                // `/roll f [i]` carries the length that `loop_roll_{b}` names (held).
                "/segue/deck/2/roll" => vec![OscType::Int(1)],
                _ => args.clone(),
            };
            let old_args = match old.as_str() {
                "/segue/deck/2/roll" => vec![OscType::Float(4.0)],
                _ => args,
            };
            let (x, y) = (
                decode(&msg(&old, old_args), 4),
                decode(&msg(&new, new_args), 4),
            );
            assert!(
                x.errors.is_empty() && y.errors.is_empty(),
                "{old}: {x:?} {y:?}"
            );
            assert_eq!(
                resolved(&x, &status),
                resolved(&y, &status),
                "{old} vs {new}"
            );
            checked += 1;
        }
        assert!(checked >= 20, "{checked} aliases");
        // Target-name aliases work in every address that takes a target name.
        for (old, new, v) in [
            ("/segue/mixer/xfader", "/segue/mixer/crossfader", 0.25),
            ("/segue/mixer/master", "/segue/mixer/master_gain", 1.5),
            ("/segue/master/volume", "/segue/mixer/master_gain", 1.5),
            ("/segue/deck/1/keyshift", "/segue/deck/1/key_shift", -2.0),
            ("/segue/deck/1/vol", "/segue/deck/1/volume", 0.5),
            ("/segue/deck/1/eqlow", "/segue/deck/1/eq_low", 0.5),
            ("/segue/deck/1/drums", "/segue/deck/1/stem_drums", 0.5),
            ("/segue/deck/1/key_lock", "/segue/deck/1/keylock", 1.0),
        ] {
            let a = decode(&msg(old, vec![OscType::Float(v)]), 2);
            let b = decode(&msg(new, vec![OscType::Float(v)]), 2);
            assert!(a.errors.is_empty(), "{old}: {:?}", a.errors);
            assert_eq!(a.requests, b.requests, "{old}");
        }
        assert_eq!(
            decode(&msg("/segue/mixer/xfader", vec![OscType::Float(0.25)]), 2).requests[0].request,
            Request::Engine(Command::Crossfader { position: 0.25 })
        );
    }

    /// Each target makes the same command from OSC and from a MIDI mapping (both go through
    /// `Target::command`), on an engine state where every target has something to do.
    #[test]
    fn each_target_makes_the_same_command_from_osc_and_from_midi() {
        use segue_controllers::{Controller, Mapping};
        let mut status = Status {
            sample_rate: 48_000,
            deck_count: 2,
            ..Status::default()
        };
        let d = &mut status.decks[0];
        d.loaded = true;
        d.position = 96_000.0;
        d.native_bpm = 120.0;
        d.looping = true;
        d.loop_start = 48_000.0;
        d.loop_end = 48_000.0 + 4.0 * 24_000.0;
        status.fx[1].slots[2].beats = 2.0;
        let mut compared = 0;
        for (name, t) in Target::catalog() {
            let name = name
                .replace("{k}", "2")
                .replace("{b}", "4")
                .replace("{band}", "high")
                .replace("{stem}", "vocals")
                .replace("{u}", "2")
                .replace("{s}", "3")
                .replace("{p}", "2");
            let t = Target::from_name(&name).unwrap_or(t);
            let (kind, midi, osc_args) = match t.kind() {
                TargetKind::Switch | TargetKind::Momentary => {
                    ("button", [0x90, 0x10, 0x7F], vec![OscType::Int(1)])
                }
                TargetKind::Trigger if t == Target::TempoRangeCycle => {
                    // A button cycles ±8 → ±16; OSC names the range.
                    ("button", [0x90, 0x10, 0x7F], vec![OscType::Int(16)])
                }
                TargetKind::Trigger => ("button", [0x90, 0x10, 0x7F], vec![]),
                TargetKind::Continuous { max, .. } => {
                    ("fader", [0xB0, 0x10, 0x7F], vec![OscType::Float(max)])
                }
                TargetKind::Jog | TargetKind::Value | TargetKind::Relative => continue,
            };
            let addr = if t.is_deck() {
                format!("/segue/deck/1/{name}")
            } else {
                format!("/segue/mixer/{name}")
            };
            let midi_kind = if kind == "button" { "note" } else { "cc" };
            let deck = if t.is_deck() { "deck = 1\n" } else { "" };
            let mapping = Mapping::from_str(&format!(
                "[[control]]\n{midi_kind} = 0x10\ntype = \"{kind}\"\ntarget = \"{name}\"\n{deck}"
            ))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut c = Controller::new(mapping, 2);
            let mut from_midi = Vec::new();
            c.handle(&midi, &status, &mut from_midi);
            let d = decode(&msg(&addr, osc_args), 2);
            assert!(d.errors.is_empty(), "{addr}: {:?}", d.errors);
            let from_osc = resolved(&d, &status);
            assert!(!from_midi.is_empty(), "{name}: no command from MIDI");
            assert_eq!(from_midi, from_osc, "{name}");
            compared += 1;
        }
        // Every target but the jog wheel and the OSC-only value targets.
        assert_eq!(compared, 51, "{compared} targets compared");
    }

    #[test]
    fn stem_swap_takes_two_different_decks_a_stem_and_beats() {
        let d = decode(
            &msg(
                "/segue/stem_swap",
                vec![
                    OscType::Int(1),
                    OscType::Int(2),
                    OscType::String("bass".into()),
                    OscType::Float(8.0),
                ],
            ),
            2,
        );
        assert_eq!(
            d.requests,
            vec![Timed {
                at: None,
                request: Request::Engine(Command::StemSwap {
                    from: 0,
                    to: 1,
                    stem: Stem::Bass,
                    beats: 8.0,
                }),
            }]
        );
        let swap = |args: Vec<OscType>| decode(&msg("/segue/stem_swap", args), 2);
        for bad in [
            vec![
                OscType::Int(1),
                OscType::Int(1),
                OscType::String("bass".into()),
            ],
            vec![
                OscType::Int(1),
                OscType::Int(3),
                OscType::String("bass".into()),
            ],
            vec![
                OscType::Int(1),
                OscType::Int(2),
                OscType::String("horns".into()),
            ],
            vec![
                OscType::Int(1),
                OscType::Int(2),
                OscType::String("bass".into()),
                OscType::Float(-1.0),
            ],
            vec![OscType::Int(1), OscType::Int(2)],
        ] {
            let d = swap(bad.clone());
            assert!(d.requests.is_empty() && !d.errors.is_empty(), "{bad:?}");
        }
    }

    /// The README's OSC table is the route table's listing (regenerate with SEGUE_BLESS=1).
    #[test]
    fn readme_osc_table_is_the_route_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let (begin, end) = ("<!-- osc-table:begin -->\n", "<!-- osc-table:end -->");
        let a = readme
            .find(begin)
            .expect("README has the OSC table markers")
            + begin.len();
        let b = readme.find(end).expect("README has the OSC table markers");
        let table = addresses_markdown();
        if std::env::var_os("SEGUE_BLESS").is_some() {
            let new = format!("{}{table}{}", &readme[..a], &readme[b..]);
            std::fs::write(path, new).unwrap();
            return;
        }
        assert!(
            readme[a..b] == table,
            "README's OSC table is stale: SEGUE_BLESS=1 cargo test -p segue-daemon --lib readme"
        );
    }

    #[test]
    fn fx_addresses_decode_to_fx_commands() {
        use segue_engine::FxMode;
        let one = |addr: &str, args: Vec<OscType>| {
            let d = decode(&msg(addr, args), 4);
            assert!(d.errors.is_empty(), "{addr}: {:?}", d.errors);
            assert_eq!(d.requests.len(), 1, "{addr}");
            d.requests[0].request.clone()
        };
        let e = Request::Engine;
        assert_eq!(
            one("/segue/mixer/fx1_on", vec![]),
            e(Command::FxOn { unit: 0, on: true })
        );
        assert_eq!(
            one("/segue/mixer/fx2_on", vec![OscType::Int(0)]),
            e(Command::FxOn { unit: 1, on: false })
        );
        assert_eq!(
            one("/segue/mixer/fx1_chain", vec![OscType::Bool(true)]),
            e(Command::FxMode {
                unit: 0,
                mode: FxMode::Chain
            })
        );
        assert_eq!(
            one("/segue/mixer/fx2_mix", vec![OscType::Float(0.3)]),
            e(Command::FxMix { unit: 1, mix: 0.3 })
        );
        assert_eq!(
            one("/segue/mixer/fx1_master", vec![OscType::Int(1)]),
            e(Command::FxAssignMaster { unit: 0, on: true })
        );
        assert_eq!(
            one("/segue/deck/3/fx2_assign", vec![OscType::Int(1)]),
            e(Command::FxAssign {
                unit: 1,
                deck: 2,
                on: true
            })
        );
        assert_eq!(
            one(
                "/segue/mixer/fx1_slot_2_knob_3",
                vec![OscType::Double(0.75)]
            ),
            e(Command::FxParam {
                unit: 0,
                slot: 1,
                param: 2,
                value: 0.75
            })
        );
        assert_eq!(
            one("/segue/mixer/fx1_slot_3_on", vec![OscType::Int(0)]),
            e(Command::FxSlotOn {
                unit: 0,
                slot: 2,
                on: false
            })
        );
        assert_eq!(
            one("/segue/mixer/fx2_slot_1_beats", vec![OscType::Float(0.125)]),
            e(Command::FxBeats {
                unit: 1,
                slot: 0,
                beats: 0.125
            })
        );
        // Effects by number or by name.
        for (arg, effect) in [
            (OscType::Int(3), Some(Effect::Reverb)),
            (OscType::String("ping_pong".into()), Some(Effect::PingPong)),
            (OscType::String("none".into()), None),
            (OscType::Int(0), None),
        ] {
            assert_eq!(
                one("/segue/mixer/fx1_slot_1_effect", vec![arg]),
                e(Command::FxSelect {
                    unit: 0,
                    slot: 0,
                    effect
                })
            );
        }
        // Halving reads the slot's beats: resolved by the server from the latest status.
        let r = one("/segue/mixer/fx1_slot_1_beats_halve", vec![]);
        assert!(matches!(r, Request::Control { .. }), "{r:?}");
        let mut status = Status::default();
        status.fx[0].slots[0].beats = 1.0;
        assert_eq!(
            resolved(
                &decode(&msg("/segue/mixer/fx1_slot_1_beats_halve", vec![]), 4),
                &status
            ),
            vec![Command::FxBeats {
                unit: 0,
                slot: 0,
                beats: 0.5
            }]
        );
        assert_eq!(
            one("/segue/query/fx", vec![]),
            Request::QueryFx,
            "the FX state query"
        );
        // Out of range, wrong place or wrong arguments: reported.
        for (addr, args) in [
            ("/segue/mixer/fx3_on", vec![]),
            ("/segue/mixer/fx1_slot_4_on", vec![]),
            ("/segue/mixer/fx1_slot_1_knob_4", vec![OscType::Float(0.5)]),
            ("/segue/mixer/fx1_assign", vec![OscType::Int(1)]),
            ("/segue/deck/1/fx1_on", vec![]),
            ("/segue/deck/5/fx1_assign", vec![OscType::Int(1)]),
        ] {
            let d = decode(&msg(addr, args), 4);
            assert!(
                matches!(d.errors[..], [DecodeError::UnknownAddress(_)]),
                "{addr}: {d:?}"
            );
        }
        for (addr, args) in [
            (
                "/segue/mixer/fx1_slot_1_effect",
                vec![OscType::String("wah".into())],
            ),
            ("/segue/mixer/fx1_slot_1_effect", vec![OscType::Int(10)]),
            ("/segue/mixer/fx1_mix", vec![]),
            ("/segue/mixer/fx1_slot_1_beats", vec![OscType::Float(0.0)]),
        ] {
            let d = decode(&msg(addr, args), 4);
            assert!(
                matches!(d.errors[..], [DecodeError::BadArguments { .. }]),
                "{addr}: {d:?}"
            );
        }
    }

    #[test]
    fn decks_and_hot_cues_count_from_one() {
        let d = decode(&msg("/segue/deck/1/play", vec![OscType::Int(1)]), 2);
        assert_eq!(
            d.requests[0].request,
            Request::Engine(Command::Play { deck: 0, on: true })
        );
        let d = decode(&msg("/segue/deck/2/hotcue/8", vec![]), 2);
        assert_eq!(
            d.requests[0].request,
            Request::Engine(Command::HotCue { deck: 1, index: 7 })
        );
        for bad in [
            "/segue/deck/0/play",
            "/segue/deck/3/play",
            "/segue/deck/x/play",
        ] {
            let d = decode(&msg(bad, vec![]), 2);
            assert!(
                matches!(d.errors[0], DecodeError::UnknownAddress(_)),
                "{bad}"
            );
        }
        let d = decode(&msg("/segue/deck/1/hotcue/9", vec![]), 2);
        assert!(matches!(d.errors[0], DecodeError::UnknownAddress(_)));
    }

    #[test]
    fn wrong_argument_types_are_reported_not_applied() {
        let d = decode(
            &msg("/segue/deck/1/tempo", vec![OscType::String("fast".into())]),
            4,
        );
        assert!(d.requests.is_empty());
        assert!(matches!(d.errors[0], DecodeError::BadArguments { .. }));
        let d = decode(&msg("/segue/deck/1/load", vec![OscType::Int(3)]), 4);
        assert!(matches!(d.errors[0], DecodeError::BadArguments { .. }));
        let d = decode(&msg("/segue/mixer/crossfader", vec![]), 4);
        assert!(matches!(d.errors[0], DecodeError::BadArguments { .. }));
    }

    #[test]
    fn numbers_of_any_osc_type_are_accepted() {
        for v in [
            OscType::Int(1),
            OscType::Float(1.0),
            OscType::Double(1.0),
            OscType::Long(1),
            OscType::Bool(true),
        ] {
            let d = decode(&msg("/segue/mixer/crossfader", vec![v]), 4);
            assert_eq!(
                d.requests[0].request,
                Request::Engine(Command::Crossfader { position: 1.0 })
            );
        }
    }

    #[test]
    fn bundles_carry_their_time_tag_and_bad_parts_do_not_spoil_good_ones() {
        let tag = OscTime::from((3_900_000_000, 1 << 31));
        let packet = OscPacket::Bundle(OscBundle {
            timetag: tag,
            content: vec![
                OscPacket::Message(OscMessage {
                    addr: "/segue/deck/1/play".into(),
                    args: vec![OscType::Int(1)],
                }),
                OscPacket::Message(OscMessage {
                    addr: "/segue/nope".into(),
                    args: vec![],
                }),
                OscPacket::Bundle(OscBundle {
                    timetag: OscTime::from((0, 1)),
                    content: vec![OscPacket::Message(OscMessage {
                        addr: "/segue/mixer/crossfader".into(),
                        args: vec![OscType::Float(-1.0)],
                    })],
                }),
            ],
        });
        let d = decode(&encoder::encode(&packet).unwrap(), 4);
        assert_eq!(d.requests.len(), 2);
        assert_eq!(d.requests[0].at, Some(tag));
        // An "immediately" bundle inside a timed one inherits the outer time.
        assert_eq!(d.requests[1].at, Some(tag));
        assert_eq!(d.errors.len(), 1);
    }

    #[test]
    fn deeply_nested_bundles_are_refused_without_recursing() {
        let mut p = msg("/segue/ping", vec![]);
        for _ in 0..200 {
            let mut b = b"#bundle\0".to_vec();
            b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
            b.extend_from_slice(&(p.len() as u32).to_be_bytes());
            b.extend_from_slice(&p);
            p = b;
        }
        let d = decode(&p, 4);
        assert!(d.requests.is_empty());
        assert!(matches!(d.errors[0], DecodeError::Malformed(_)));
    }

    #[test]
    fn garbage_is_malformed() {
        for bytes in [
            &b""[..],
            b"hello",
            b"/segue\0\0",
            b"#bundle\0\0\0",
            &[0xff; 64],
        ] {
            let d = decode(bytes, 4);
            assert!(d.requests.is_empty());
            assert!(!d.errors.is_empty());
        }
    }

    proptest::proptest! {
        // Seeded and bounded: 10 000 cases per property and run (`SEGUE_FUZZ_CASES` for more).
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("SEGUE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000),
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x05c0_dec0),
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let d = decode(&bytes, 4);
            // Every datagram is either understood or reported (an empty bundle is neither).
            proptest::prop_assert!(!d.requests.is_empty() || !d.errors.is_empty() || bytes.starts_with(b"#bundle\0"));
        }

        #[test]
        fn mutated_valid_packets_never_panic(idx in 0usize..64, flips in proptest::collection::vec((0usize..256, proptest::prelude::any::<u8>()), 1..8)) {
            let list = addresses();
            let a = &list[idx % list.len()];
            let addr = concrete(&a.address);
            let mut bytes = msg(&addr, example_args(&addr, a.args));
            for (i, b) in flips {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            let _ = decode(&bytes, 4);
        }
    }
}
