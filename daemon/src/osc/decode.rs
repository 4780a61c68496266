//! OSC packet → requests: a pure function of the bytes (no I/O, no clock, no state), so a
//! fuzzer and property tests can drive it directly. The daemon's server applies the
//! results (security checks, path checks and time-tag mapping happen there).
//!
//! Decks are numbered from 1 in OSC (`/segue/deck/1/...` is engine deck 0), hot cues too.
//! Numeric arguments accept OSC `i`, `h`, `f`, `d` and `T`/`F` interchangeably (controllers
//! differ in what they send); a string where a number is expected, a missing argument or an
//! out-of-range deck is an error for that message only — the rest of a bundle still applies.

use rosc::{OscMessage, OscPacket, OscTime, OscType};
use segue_engine::{Command, CrossfaderSide, DeckId, EqBand, Position, Stem, TempoRange};

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
    /// Answer `/segue/mixer/state` to the sender.
    QueryMixer,
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
    /// Answer `/segue/suggest` (the next-track suggestions) to the sender.
    QuerySuggest,
    /// Load suggestion `index` (0-based) onto `deck`, or onto a free deck.
    LoadSuggestion {
        /// Which suggestion.
        index: usize,
        /// Engine deck, or `None` for the first deck that is neither playing nor on air.
        deck: Option<DeckId>,
    },
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
    /// Exactly one number.
    fn f(&self, expected: &'static str) -> Result<f32, DecodeError> {
        match self.args {
            [a] => num(a).map(|v| v as f32).ok_or_else(|| self.bad(expected)),
            _ => Err(self.bad(expected)),
        }
    }
    fn f64(&self, expected: &'static str) -> Result<f64, DecodeError> {
        match self.args {
            [a] => num(a).ok_or_else(|| self.bad(expected)),
            _ => Err(self.bad(expected)),
        }
    }
    /// An optional on/off flag (no argument = on).
    fn flag(&self, expected: &'static str) -> Result<bool, DecodeError> {
        match self.args {
            [] => Ok(true),
            [a] => num(a).map(|v| v != 0.0).ok_or_else(|| self.bad(expected)),
            _ => Err(self.bad(expected)),
        }
    }
}

const NUM01: &str = "one number 0..1";
const FLAG: &str = "nothing (on) or one number/bool (0 = off)";

fn message(m: &OscMessage, decks: usize) -> Result<Vec<Request>, DecodeError> {
    let unknown = || DecodeError::UnknownAddress(m.addr.clone());
    let a = Args {
        address: &m.addr,
        args: &m.args,
    };
    let mut parts = m.addr.split('/');
    if parts.next() != Some("") || parts.next() != Some("segue") {
        return Err(unknown());
    }
    let parts: Vec<&str> = parts.collect();
    let deck_no = |s: &str| -> Result<DeckId, DecodeError> {
        match s.parse::<usize>() {
            Ok(n) if (1..=decks).contains(&n) => Ok((n - 1) as DeckId),
            _ => Err(unknown()),
        }
    };
    use Command as C;
    let e = |c: Command| Ok(vec![Request::Engine(c)]);
    match parts.as_slice() {
        ["deck", n, rest @ ..] => {
            let deck = deck_no(n)?;
            deck_message(deck, rest, &a).ok_or_else(unknown)?
        }
        ["mixer", "crossfader"] => e(C::Crossfader {
            position: a.f("one number -1..1")?,
        }),
        ["mixer", "crossfader", "curve"] => e(C::CrossfaderCurve { curve: a.f(NUM01)? }),
        ["mixer", "channel_curve"] => e(C::ChannelFaderCurve { curve: a.f(NUM01)? }),
        ["master", "volume"] => e(C::MasterGain {
            gain: a.f("one number 0..2")?,
        }),
        ["headphone", "volume"] => e(C::HeadphoneGain {
            gain: a.f("one number 0..2")?,
        }),
        ["headphone", "mix"] => e(C::CueMix { mix: a.f(NUM01)? }),
        ["sync", "leader"] => {
            let v = a.f64("one deck number (0 = automatic)")?;
            let deck = if v == 0.0 {
                None
            } else {
                Some(deck_no(&format!("{}", v as i64))?)
            };
            e(C::SyncLeader { deck })
        }
        ["query", "deck", n] => {
            let deck = deck_no(n)?;
            a.none()?;
            Ok(vec![Request::QueryDeck(deck)])
        }
        ["query", "mixer"] => a.none().map(|_| vec![Request::QueryMixer]),
        ["query", "stats"] => a.none().map(|_| vec![Request::QueryStats]),
        ["subscribe"] => {
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
        ["unsubscribe"] => a.none().map(|_| vec![Request::Unsubscribe]),
        ["ping"] => Ok(vec![Request::Ping]),
        ["query", "suggest"] => a.none().map(|_| vec![Request::QuerySuggest]),
        ["suggest", "load"] => {
            const USAGE: &str = "suggestion number 1..10, then optionally a deck number";
            let n = |x: &OscType| num(x).filter(|v| v.fract() == 0.0 && *v >= 1.0);
            match m.args.as_slice() {
                [x] | [x, _] if n(x).is_some_and(|v| v <= 10.0) => {
                    let deck = match m.args.get(1) {
                        None => None,
                        Some(d) => Some(
                            n(d).and_then(|v| deck_no(&format!("{}", v as i64)).ok())
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
        _ => Err(unknown()),
    }
}

/// `/segue/deck/{n}/<rest>`; `None` = unknown address.
fn deck_message(
    deck: DeckId,
    rest: &[&str],
    a: &Args<'_>,
) -> Option<Result<Vec<Request>, DecodeError>> {
    use Command as C;
    let one = |c: Result<Command, DecodeError>| Some(c.map(|c| vec![Request::Engine(c)]));
    let r = match rest {
        ["load"] => match a.args {
            [OscType::String(path)] => Ok(vec![Request::Load {
                deck,
                path: path.clone(),
            }]),
            _ => Err(a.bad("one string (a path under a music root)")),
        },
        ["eject"] => return one(a.none().map(|_| C::Eject { deck })),
        ["play"] => return one(a.flag(FLAG).map(|on| C::Play { deck, on })),
        ["pause"] => return one(a.none().map(|_| C::Play { deck, on: false })),
        ["cue"] => match a.args {
            // A tap: press and release.
            [] => Ok(vec![
                Request::Engine(C::Cue {
                    deck,
                    pressed: true,
                }),
                Request::Engine(C::Cue {
                    deck,
                    pressed: false,
                }),
            ]),
            _ => a
                .flag("nothing (tap) or 1 = press, 0 = release")
                .map(|pressed| vec![Request::Engine(C::Cue { deck, pressed })]),
        },
        ["cue", "set"] => {
            return one(a.f64("one number (seconds)").map(|s| C::SetCue {
                deck,
                at: Position::Seconds(s),
            }))
        }
        ["cue", "return"] => return one(a.none().map(|_| C::CueReturn { deck })),
        ["seek"] => {
            return one(a.f64("one number (seconds)").map(|s| C::Seek {
                deck,
                to: Position::Seconds(s),
            }))
        }
        ["seek", "beats"] => {
            return one(a.f64("one number (beats)").map(|b| C::Seek {
                deck,
                to: Position::Beats(b),
            }))
        }
        ["tempo"] => {
            return one(a
                .f("one number (percent)")
                .map(|percent| C::Tempo { deck, percent }))
        }
        ["tempo", "range"] => {
            let range = match a.f64("8, 16 or 50") {
                Ok(8.0) => TempoRange::Narrow,
                Ok(16.0) => TempoRange::Medium,
                Ok(50.0) => TempoRange::Wide,
                _ => return Some(Err(a.bad("8, 16 or 50"))),
            };
            return one(Ok(C::TempoRange { deck, range }));
        }
        ["bend"] => {
            return one(a
                .f("one number (percent, -10..10)")
                .map(|percent| C::Bend { deck, percent }))
        }
        ["nudge"] => return one(a.f("one number (ms)").map(|ms| C::Nudge { deck, ms })),
        ["keylock"] => return one(a.flag(FLAG).map(|on| C::KeyLock { deck, on })),
        ["keyshift"] => {
            return one(a
                .f("one number (semitones)")
                .map(|semitones| C::KeyShift { deck, semitones }))
        }
        ["sync"] => return one(a.flag(FLAG).map(|on| C::Sync { deck, on })),
        ["quantize"] => return one(a.flag(FLAG).map(|on| C::Quantize { deck, on })),
        ["loop"] => {
            return one(a.f("one number (beats; 0 = exit)").map(|beats| {
                if beats > 0.0 {
                    C::BeatLoop { deck, beats }
                } else {
                    C::LoopExit { deck }
                }
            }))
        }
        ["loop", "exit"] => return one(a.none().map(|_| C::LoopExit { deck })),
        ["loop", "set"] => match a.args {
            [s, t] => match (num(s), num(t)) {
                (Some(s), Some(t)) => Ok(vec![Request::Engine(C::SetLoop {
                    deck,
                    start: Position::Seconds(s),
                    end: Position::Seconds(t),
                })]),
                _ => Err(a.bad("two numbers (start, end seconds)")),
            },
            _ => Err(a.bad("two numbers (start, end seconds)")),
        },
        ["reloop"] => return one(a.none().map(|_| C::Reloop { deck })),
        ["roll"] => match a.args {
            [b] | [b, _] => {
                let on = match a.args.get(1) {
                    None => Some(true),
                    Some(x) => num(x).map(|v| v != 0.0),
                };
                match (num(b), on) {
                    (Some(beats), Some(on)) => Ok(vec![Request::Engine(C::LoopRoll {
                        deck,
                        beats: beats as f32,
                        on,
                    })]),
                    _ => Err(a.bad("beats and optionally 1 = held, 0 = released")),
                }
            }
            _ => Err(a.bad("beats and optionally 1 = held, 0 = released")),
        },
        ["hotcue", k, tail @ ..] => {
            let index = match k.parse::<u8>() {
                Ok(k) if (1..=segue_engine::HOT_CUES as u8).contains(&k) => k - 1,
                _ => return None,
            };
            match tail {
                [] => match a.flag("nothing or 1 = pressed (0 = released, ignored)") {
                    Ok(true) => Ok(vec![Request::Engine(C::HotCue { deck, index })]),
                    Ok(false) => Ok(vec![]),
                    Err(e) => Err(e),
                },
                ["set"] => {
                    return one(a.f64("one number (seconds)").map(|s| C::SetHotCue {
                        deck,
                        index,
                        at: Position::Seconds(s),
                    }))
                }
                ["clear"] => return one(a.none().map(|_| C::ClearHotCue { deck, index })),
                _ => return None,
            }
        }
        ["trim"] => return one(a.f("one number (dB)").map(|db| C::Trim { deck, db })),
        ["volume"] => return one(a.f(NUM01).map(|level| C::Volume { deck, level })),
        ["eq", band] => {
            let band = match *band {
                "low" => EqBand::Low,
                "mid" => EqBand::Mid,
                "high" => EqBand::High,
                _ => return None,
            };
            return one(a
                .f("one number 0..2 (1 = flat)")
                .map(|gain| C::Eq { deck, band, gain }));
        }
        ["filter"] => {
            return one(a
                .f("one number -1..1")
                .map(|amount| C::Filter { deck, amount }))
        }
        ["stem", name, tail @ ..] => {
            let stem = Stem::from_name(name)?;
            match tail {
                [] => return one(a.f(NUM01).map(|gain| C::StemGain { deck, stem, gain })),
                ["mute"] => {
                    return one(a.flag(FLAG).map(|muted| C::StemMute { deck, stem, muted }))
                }
                _ => return None,
            }
        }
        ["pfl"] => return one(a.flag(FLAG).map(|on| C::Pfl { deck, on })),
        ["xfader"] => {
            let side = match a.args {
                [OscType::String(s)] => match s.to_ascii_lowercase().as_str() {
                    "a" => Some(CrossfaderSide::A),
                    "b" => Some(CrossfaderSide::B),
                    "thru" => Some(CrossfaderSide::Thru),
                    _ => None,
                },
                [x] => match num(x) {
                    Some(v) if v < 0.0 => Some(CrossfaderSide::A),
                    Some(v) if v > 0.0 => Some(CrossfaderSide::B),
                    Some(_) => Some(CrossfaderSide::Thru),
                    None => None,
                },
                _ => None,
            };
            return one(side
                .map(|side| C::CrossfaderAssign { deck, side })
                .ok_or_else(|| a.bad("a, b or thru (or -1, 1, 0)")));
        }
        _ => return None,
    };
    Some(r)
}

/// One row of the OSC address table (the README's table is checked against it).
#[derive(Debug, Clone, Copy)]
pub struct Address {
    /// Address pattern; `{n}` = deck 1..N, `{k}` = hot cue 1..8.
    pub address: &'static str,
    /// Argument types (`f` number, `i` integer/flag, `s` string; `[ ]` optional).
    pub args: &'static str,
    /// What it does.
    pub meaning: &'static str,
}

macro_rules! addr {
    ($a:expr, $t:expr, $m:expr) => {
        Address {
            address: $a,
            args: $t,
            meaning: $m,
        }
    };
}

/// Every address Segue accepts.
pub const ADDRESSES: &[Address] = &[
    addr!(
        "/segue/deck/{n}/load",
        "s",
        "load a file (must be under a music root); analysis follows"
    ),
    addr!("/segue/deck/{n}/eject", "", "remove the track"),
    addr!("/segue/deck/{n}/play", "[i]", "1 play (default), 0 pause"),
    addr!("/segue/deck/{n}/pause", "", "pause"),
    addr!(
        "/segue/deck/{n}/cue",
        "[i]",
        "CDJ cue button: no argument = tap, 1 press, 0 release"
    ),
    addr!(
        "/segue/deck/{n}/cue/set",
        "f",
        "set the main cue point (seconds)"
    ),
    addr!(
        "/segue/deck/{n}/cue/return",
        "",
        "jump to the main cue point"
    ),
    addr!("/segue/deck/{n}/seek", "f", "jump to seconds"),
    addr!("/segue/deck/{n}/seek/beats", "f", "jump to a beat index"),
    addr!(
        "/segue/deck/{n}/tempo",
        "f",
        "tempo fader, percent (clamped to the range)"
    ),
    addr!(
        "/segue/deck/{n}/tempo/range",
        "i",
        "tempo range: 8, 16 or 50 (%)"
    ),
    addr!(
        "/segue/deck/{n}/bend",
        "f",
        "pitch bend, percent -10..10 (0 = release)"
    ),
    addr!(
        "/segue/deck/{n}/nudge",
        "f",
        "move the playhead by milliseconds"
    ),
    addr!(
        "/segue/deck/{n}/keylock",
        "[i]",
        "key lock on (default) / 0 off"
    ),
    addr!(
        "/segue/deck/{n}/keyshift",
        "f",
        "key shift, semitones -12..12"
    ),
    addr!("/segue/deck/{n}/sync", "[i]", "sync on (default) / 0 off"),
    addr!(
        "/segue/deck/{n}/quantize",
        "[i]",
        "quantize on (default) / 0 off"
    ),
    addr!(
        "/segue/deck/{n}/loop",
        "f",
        "beat loop of f beats (1/32..64); 0 = exit"
    ),
    addr!("/segue/deck/{n}/loop/exit", "", "leave the loop"),
    addr!(
        "/segue/deck/{n}/loop/set",
        "f f",
        "manual loop, start and end seconds"
    ),
    addr!("/segue/deck/{n}/reloop", "", "re-enable the last loop"),
    addr!(
        "/segue/deck/{n}/roll",
        "f [i]",
        "loop roll of f beats while held (1), release (0)"
    ),
    addr!(
        "/segue/deck/{n}/hotcue/{k}",
        "[i]",
        "hot cue pad k (1..8): jump, or set if empty; 0 = release (ignored)"
    ),
    addr!(
        "/segue/deck/{n}/hotcue/{k}/set",
        "f",
        "set hot cue k at seconds"
    ),
    addr!("/segue/deck/{n}/hotcue/{k}/clear", "", "clear hot cue k"),
    addr!("/segue/deck/{n}/trim", "f", "input trim, dB -24..12"),
    addr!("/segue/deck/{n}/volume", "f", "channel fader 0..1"),
    addr!(
        "/segue/deck/{n}/eq/low",
        "f",
        "low band gain 0 (kill)..1 (flat)..2 (+6 dB)"
    ),
    addr!("/segue/deck/{n}/eq/mid", "f", "mid band gain 0..2"),
    addr!("/segue/deck/{n}/eq/high", "f", "high band gain 0..2"),
    addr!(
        "/segue/deck/{n}/filter",
        "f",
        "one-knob filter -1 (low-pass)..0 (off)..1 (high-pass)"
    ),
    addr!(
        "/segue/deck/{n}/stem/drums",
        "f",
        "stem gain 0..1 (also bass, other, vocals)"
    ),
    addr!("/segue/deck/{n}/stem/bass", "f", "bass stem gain 0..1"),
    addr!("/segue/deck/{n}/stem/other", "f", "other stem gain 0..1"),
    addr!("/segue/deck/{n}/stem/vocals", "f", "vocals stem gain 0..1"),
    addr!(
        "/segue/deck/{n}/stem/drums/mute",
        "[i]",
        "mute a stem (also bass, other, vocals); 0 = unmute"
    ),
    addr!(
        "/segue/deck/{n}/pfl",
        "[i]",
        "pre-fader listen on (default) / 0 off"
    ),
    addr!(
        "/segue/deck/{n}/xfader",
        "s",
        "crossfader side: a, b or thru (or -1, 1, 0)"
    ),
    addr!("/segue/mixer/crossfader", "f", "crossfader -1 (A)..1 (B)"),
    addr!(
        "/segue/mixer/crossfader/curve",
        "f",
        "crossfader curve 0 (smooth)..1 (sharp)"
    ),
    addr!(
        "/segue/mixer/channel_curve",
        "f",
        "channel fader curve 0 (slow)..0.5 (linear)..1 (fast)"
    ),
    addr!("/segue/master/volume", "f", "master gain 0..2 (linear)"),
    addr!("/segue/headphone/volume", "f", "headphone gain 0..2"),
    addr!(
        "/segue/headphone/mix",
        "f",
        "headphone blend 0 (cue)..1 (master)"
    ),
    addr!(
        "/segue/sync/leader",
        "i",
        "sync leader deck (0 = automatic)"
    ),
    addr!(
        "/segue/query/deck/{n}",
        "",
        "reply /segue/deck/{n}/state to the sender"
    ),
    addr!(
        "/segue/query/mixer",
        "",
        "reply /segue/mixer/state to the sender"
    ),
    addr!(
        "/segue/query/stats",
        "",
        "reply /segue/stats (counters) to the sender"
    ),
    addr!(
        "/segue/subscribe",
        "[i]",
        "push deck and mixer states to the sender every i ms"
    ),
    addr!("/segue/unsubscribe", "", "stop the pushes"),
    addr!("/segue/ping", "", "reply /segue/pong"),
];

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
        spec.split_whitespace()
            .filter(|t| !t.starts_with('['))
            .map(|t| match t {
                "f" => OscType::Float(0.5),
                "i" => OscType::Int(if addr.ends_with("tempo/range") { 8 } else { 1 }),
                _ => OscType::String("a".into()),
            })
            .collect()
    }

    #[test]
    fn every_documented_address_decodes() {
        for a in ADDRESSES {
            let addr = a.address.replace("{n}", "2").replace("{k}", "3");
            let d = decode(&msg(&addr, example_args(&addr, a.args)), 4);
            assert!(d.errors.is_empty(), "{addr}: {:?}", d.errors);
            assert!(!d.requests.is_empty(), "{addr}");
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
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let d = decode(&bytes, 4);
            // Every datagram is either understood or reported (an empty bundle is neither).
            proptest::prop_assert!(!d.requests.is_empty() || !d.errors.is_empty() || bytes.starts_with(b"#bundle\0"));
        }

        #[test]
        fn mutated_valid_packets_never_panic(idx in 0usize..64, flips in proptest::collection::vec((0usize..256, proptest::prelude::any::<u8>()), 1..8)) {
            let a = &ADDRESSES[idx % ADDRESSES.len()];
            let addr = a.address.replace("{n}", "1").replace("{k}", "1");
            let mut bytes = msg(&addr, example_args(&addr, a.args));
            for (i, b) in flips {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            let _ = decode(&bytes, 4);
        }
    }
}
