//! The OSC UDP server thread.
//!
//! * Sources: loopback always; anything else only when it matches the allow-list (and the
//!   socket is only bound beyond loopback when the configuration says so explicitly).
//! * Every datagram goes through [`decode`]; what it rejects is counted and logged at most
//!   a few times per second per kind.
//! * Time-tagged bundles: the tag is when the change should be *heard*; it is mapped onto
//!   the engine frame heard at that time (output latency included) and sent with
//!   `send_at`. Tags in the past apply at once; more than 60 s ahead, or more than 512
//!   outstanding scheduled commands, are refused (the engine holds 1024).
//! * Replies (`/segue/deck/{n}/state`, `/segue/mixer/state`, `/segue/fx/{u}/state`,
//!   `/segue/stats`, `/segue/pong`, `/segue/error`) go to the sender's address;
//!   `/segue/subscribe`rs get deck, mixer and FX unit states pushed at their interval (at
//!   most 32 subscribers).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rosc::{OscMessage, OscPacket, OscTime, OscType};
use segue_controllers::{LiveAction, Target};
use segue_engine::{FxMode, Status, TimedCommand, FX_UNITS};

use super::decode::{decode, DecodeError, LinkRequest, Request};
use crate::audio::now_ns;
use crate::config::{source_allowed, AllowRule};
use crate::roots::MusicRoots;
use crate::state::Shared;

const MAX_SUBSCRIBERS: usize = 32;
const MAX_SCHEDULED: usize = 512;
const MAX_AHEAD_SECS: f64 = 60.0;

/// At most `per_sec` log lines per second for one kind of problem; the rest are summed up.
struct RateLimit {
    per_sec: u32,
    window: Instant,
    shown: u32,
    suppressed: u64,
}

impl RateLimit {
    fn new(per_sec: u32) -> Self {
        Self {
            per_sec,
            window: Instant::now(),
            shown: 0,
            suppressed: 0,
        }
    }
    fn log(&mut self, line: impl FnOnce() -> String) {
        if self.window.elapsed() >= Duration::from_secs(1) {
            if self.suppressed > 0 {
                tracing::warn!("({} more like this in the last second)", self.suppressed);
            }
            self.window = Instant::now();
            self.shown = 0;
            self.suppressed = 0;
        }
        if self.shown < self.per_sec {
            self.shown += 1;
            tracing::warn!("{}", line());
        } else {
            self.suppressed += 1;
        }
    }
}

pub(crate) struct OscServer {
    socket: UdpSocket,
    shared: Arc<Shared>,
    roots: MusicRoots,
    allow: Vec<AllowRule>,
    default_push: Duration,
    subscribers: HashMap<SocketAddr, (Duration, Instant)>,
    /// Generation of the suggestions last pushed.
    pushed_suggestions: u64,
    /// Generation of the browser's announcement last pushed.
    pushed_browse: u64,
    /// Generation of the performed transition last pushed.
    pushed_transition: u64,
    scheduled: Vec<u64>,
    limits: [RateLimit; 4],
}

impl OscServer {
    pub(crate) fn new(
        socket: UdpSocket,
        shared: Arc<Shared>,
        roots: MusicRoots,
        allow: Vec<AllowRule>,
        push_ms: u64,
    ) -> Self {
        Self {
            socket,
            shared,
            roots,
            allow,
            default_push: Duration::from_millis(push_ms),
            subscribers: HashMap::new(),
            pushed_suggestions: 0,
            pushed_browse: 0,
            pushed_transition: 0,
            scheduled: Vec::new(),
            limits: std::array::from_fn(|_| RateLimit::new(5)),
        }
    }

    /// Serve until `stop` is set.
    pub(crate) fn run(mut self, stop: &AtomicBool) {
        let _ = self.socket.set_read_timeout(Some(Duration::from_millis(5)));
        let mut buf = vec![0u8; 65_536];
        while !stop.load(Ordering::Acquire) {
            match self.socket.recv_from(&mut buf) {
                Ok((n, src)) => self.packet(&buf[..n], src),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    // e.g. ICMP "connection refused" from a subscriber that went away.
                    tracing::debug!("OSC socket: {e}");
                }
            }
            self.push();
        }
    }

    fn packet(&mut self, bytes: &[u8], src: SocketAddr) {
        let c = &self.shared.counters;
        c.osc_packets.fetch_add(1, Ordering::Relaxed);
        if !source_allowed(src.ip(), &self.allow) {
            c.osc_denied.fetch_add(1, Ordering::Relaxed);
            self.limits[0].log(|| format!("OSC from {src} refused: not in the allow-list"));
            return;
        }
        let decoded = decode(bytes, self.shared.deck_count);
        for e in &decoded.errors {
            let (counter, i) = match e {
                DecodeError::Malformed(_) => (&c.osc_malformed, 1),
                DecodeError::UnknownAddress(_) => (&c.osc_unknown, 2),
                DecodeError::BadArguments { .. } => (&c.osc_bad_args, 3),
            };
            counter.fetch_add(1, Ordering::Relaxed);
            self.limits[i].log(|| format!("OSC from {src} dropped: {e}"));
        }
        for t in decoded.requests {
            self.shared
                .counters
                .osc_messages
                .fetch_add(1, Ordering::Relaxed);
            self.request(t.request, t.at, src);
        }
    }

    /// The engine frame heard at OSC time `tag`; `None` = now.
    fn frame_for(&mut self, tag: OscTime) -> Result<Option<u64>, ()> {
        let target = SystemTime::from(tag);
        let now_sys = SystemTime::now();
        let now_mono = now_ns() as f64;
        let delta = match target.duration_since(now_sys) {
            Ok(ahead) => ahead.as_secs_f64(),
            Err(behind) => -behind.duration().as_secs_f64(),
        };
        if delta > MAX_AHEAD_SECS {
            return Err(());
        }
        let clock = self.shared.audio.clock();
        if clock.rate == 0 {
            return Ok(None);
        }
        let frame = clock.frame_heard_at(now_mono + delta * 1e9);
        if frame <= clock.frame as f64 {
            return Ok(None);
        }
        let frame = frame.round() as u64;
        self.scheduled.retain(|&f| f > clock.frame);
        if self.scheduled.len() >= MAX_SCHEDULED {
            return Err(());
        }
        self.scheduled.push(frame);
        Ok(Some(frame))
    }

    fn request(&mut self, r: Request, at: Option<OscTime>, src: SocketAddr) {
        match r {
            Request::Control {
                target,
                deck,
                value,
            } => {
                // A control that reads the engine's state (cue at the playhead, loop
                // toggle/halve/double): made now, from the latest status.
                match target.command(deck, value, &self.shared.status()) {
                    Some(command) => self.request(Request::Engine(command), at, src),
                    // No loop to halve or double (a tablet's button pressed with no loop
                    // on): nothing to do, not a bad argument.
                    None if matches!(target, Target::LoopHalve | Target::LoopDouble) => {}
                    None => {
                        self.shared
                            .counters
                            .osc_bad_args
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Request::Help => {
                let content = super::decode::addresses()
                    .into_iter()
                    .map(|a| {
                        OscPacket::Message(OscMessage {
                            addr: "/segue/help/address".into(),
                            args: vec![
                                OscType::String(a.address),
                                OscType::String(a.args.into()),
                                OscType::String(a.meaning.into()),
                                OscType::String(a.alias_of.unwrap_or_default()),
                            ],
                        })
                    })
                    .collect();
                self.send_packet(
                    src,
                    OscPacket::Bundle(rosc::OscBundle {
                        timetag: OscTime::from((0, 1)),
                        content,
                    }),
                );
            }
            Request::Engine(command) => {
                self.shared.live.autodj.touched(&command);
                let at = match at.map(|t| self.frame_for(t)) {
                    None => None,
                    Some(Ok(f)) => f,
                    Some(Err(())) => {
                        self.shared
                            .counters
                            .osc_late_or_far
                            .fetch_add(1, Ordering::Relaxed);
                        self.limits[3].log(|| {
                            format!(
                                "OSC from {src}: time tag more than {MAX_AHEAD_SECS} s ahead or \
                                 too many scheduled commands; dropped"
                            )
                        });
                        return;
                    }
                };
                self.shared.send(TimedCommand { at, command });
            }
            Request::Load { deck, path } => match self.roots.check(&path) {
                Ok(real) => {
                    self.shared.decks.load(deck as usize, real, None);
                }
                Err(e) => {
                    self.shared
                        .counters
                        .loads_refused
                        .fetch_add(1, Ordering::Relaxed);
                    self.limits[2].log(|| format!("/load from {src} refused: {e}"));
                    self.reply(
                        src,
                        "/segue/error",
                        vec![
                            OscType::String(format!("/segue/deck/{}/load", deck + 1)),
                            OscType::String(e.to_string()),
                        ],
                    );
                }
            },
            Request::QueryDeck(d) => {
                let status = self.shared.status();
                let msg = deck_state(&self.shared, &status, d as usize);
                self.send_packet(src, msg);
            }
            Request::QueryCues(d) => {
                let status = self.shared.status();
                self.send_packet(src, deck_cues(&status, d as usize));
            }
            Request::QueryMixer => {
                let status = self.shared.status();
                self.send_packet(src, mixer_state(&status));
            }
            Request::QueryFx => {
                let status = self.shared.status();
                let content = (0..FX_UNITS).map(|u| fx_state(&status, u)).collect();
                self.send_packet(
                    src,
                    OscPacket::Bundle(rosc::OscBundle {
                        timetag: OscTime::from((0, 1)),
                        content,
                    }),
                );
            }
            Request::QueryStats => {
                let msg = stats(&self.shared);
                self.send_packet(src, msg);
            }
            Request::Subscribe { interval_ms } => {
                let every = interval_ms
                    .map(|ms| Duration::from_millis(ms as u64))
                    .unwrap_or(self.default_push);
                if self.subscribers.len() < MAX_SUBSCRIBERS || self.subscribers.contains_key(&src) {
                    self.subscribers.insert(src, (every, Instant::now()));
                    tracing::info!("{src} subscribed (every {} ms)", every.as_millis());
                } else {
                    self.reply(
                        src,
                        "/segue/error",
                        vec![
                            OscType::String("/segue/subscribe".into()),
                            OscType::String(format!("at most {MAX_SUBSCRIBERS} subscribers")),
                        ],
                    );
                }
            }
            Request::Unsubscribe => {
                self.subscribers.remove(&src);
            }
            Request::Ping => self.reply(src, "/segue/pong", vec![]),
            Request::AutoDj(on) => {
                self.shared.live.autodj.enabled.store(on, Ordering::Relaxed);
                tracing::info!("Auto DJ {}", if on { "on" } else { "off" });
            }
            Request::TransitionStart => {
                let live = &self.shared.live;
                let _ = live.act(self.shared.live_deps(), LiveAction::StartTransition);
            }
            Request::RecordStart(name) => match self.shared.record_start(name) {
                Ok(_) => self.reply(src, "/segue/record", record_state(&self.shared)),
                Err(e) => self.error(src, "/segue/record/start", e),
            },
            Request::RecordStop => {
                let result = self.shared.recorder.get().map_or_else(
                    || Err("no recorder".to_string()),
                    |r| r.stop().map_err(|e| e.to_string()),
                );
                match result {
                    Ok(_) => self.reply(src, "/segue/record", record_state(&self.shared)),
                    Err(e) => self.error(src, "/segue/record/stop", e),
                }
            }
            Request::QueryRecord => self.reply(src, "/segue/record", record_state(&self.shared)),
            Request::Link(r) => {
                let link = &self.shared.link;
                match r {
                    LinkRequest::Enable(on) => link.set_enabled(on),
                    LinkRequest::Mode(m) => link.set_mode(m),
                    LinkRequest::StartStop(on) => link.set_start_stop(on),
                    LinkRequest::Quantum(q) => link.set_quantum(q),
                }
            }
            Request::QueryLink => self.send_packet(src, link_state(&self.shared)),
            Request::QueryBrowse => {
                let msg = browse_message(&self.shared);
                self.send_packet(src, msg);
            }
            Request::Browse(action) => {
                match self.shared.browse_action(action) {
                    Ok(_) => {}
                    Err(e) => self.error(src, "/segue/browse", e),
                }
                let msg = browse_message(&self.shared);
                self.send_packet(src, msg);
            }
            Request::QuerySuggest => {
                let msg = suggest_message(&self.shared);
                self.send_packet(src, msg);
            }
            Request::QueryTransition => {
                let msg = transition_message(&self.shared);
                self.send_packet(src, msg);
            }
            Request::LoadSuggestion { index, deck } => {
                let picked = self.shared.live.pick_suggestion(
                    self.shared.live_deps(),
                    index,
                    deck.map(|d| d as usize),
                );
                let error = match picked {
                    Err(e) => Some(e),
                    Ok((path, d)) => match self.roots.check(&path.to_string_lossy()) {
                        Ok(real) => {
                            self.shared.decks.load(d, real, None);
                            None
                        }
                        Err(e) => Some(e.to_string()),
                    },
                };
                if let Some(e) = error {
                    self.reply(
                        src,
                        "/segue/error",
                        vec![
                            OscType::String("/segue/suggest/load".into()),
                            OscType::String(e),
                        ],
                    );
                }
            }
        }
    }

    fn push(&mut self) {
        if self.subscribers.is_empty() {
            return;
        }
        let due: Vec<SocketAddr> = self
            .subscribers
            .iter()
            .filter(|(_, (every, last))| last.elapsed() >= *every)
            .map(|(a, _)| *a)
            .collect();
        if due.is_empty() {
            return;
        }
        let status = self.shared.status();
        let mut content: Vec<OscPacket> = (0..self.shared.deck_count)
            .map(|d| deck_state(&self.shared, &status, d))
            .collect();
        content.push(mixer_state(&status));
        content.extend((0..FX_UNITS).map(|u| fx_state(&status, u)));
        if self.shared.link.enabled() || self.shared.link.state().enabled {
            content.push(link_state(&self.shared));
        }
        // The suggestions, the transition Auto DJ performs and the browser's selection (a
        // controller's browse encoder), each when it changed since the last push.
        let live = &self.shared.live;
        if bumped(&live.suggestions.generation, &mut self.pushed_suggestions) {
            content.push(suggest_message(&self.shared));
        }
        if bumped(&live.transition.generation, &mut self.pushed_transition) {
            content.push(transition_message(&self.shared));
        }
        if bumped(&self.shared.browser.generation, &mut self.pushed_browse) {
            content.push(browse_message(&self.shared));
        }
        let bundle = OscPacket::Bundle(rosc::OscBundle {
            timetag: OscTime::from((0, 1)),
            content,
        });
        let Ok(bytes) = rosc::encoder::encode(&bundle) else {
            return;
        };
        for a in due {
            let _ = self.socket.send_to(&bytes, a);
            if let Some(s) = self.subscribers.get_mut(&a) {
                s.1 = Instant::now();
            }
        }
    }

    /// `/segue/error ADDRESS REASON` to `to`.
    fn error(&self, to: SocketAddr, address: &str, reason: String) {
        self.reply(
            to,
            "/segue/error",
            vec![OscType::String(address.into()), OscType::String(reason)],
        );
    }

    fn reply(&self, to: SocketAddr, addr: &str, args: Vec<OscType>) {
        self.send_packet(
            to,
            OscPacket::Message(OscMessage {
                addr: addr.into(),
                args,
            }),
        );
    }

    fn send_packet(&self, to: SocketAddr, p: OscPacket) {
        if let Ok(bytes) = rosc::encoder::encode(&p) {
            let _ = self.socket.send_to(&bytes, to);
        }
    }
}

/// `/segue/link/state` (see `/segue/query/link` in the address table).
pub(crate) fn link_state(shared: &Shared) -> OscPacket {
    let l = shared.link.state();
    let b = |v: bool| OscType::Int(v as i32);
    OscPacket::Message(OscMessage {
        addr: "/segue/link/state".into(),
        args: vec![
            b(l.enabled),
            OscType::String(l.mode.name().into()),
            b(l.start_stop),
            OscType::Int(l.peers.min(i32::MAX as u64) as i32),
            OscType::Double(l.tempo),
            b(l.playing),
            OscType::Double(l.quantum),
            OscType::Long(l.time_us),
            OscType::Double(l.beat),
            OscType::Double(l.phase),
            OscType::Int(l.master.map_or(0, |d| d as i32 + 1)),
            OscType::Double(l.master_phase),
            OscType::Double(l.master_bpm),
            b(l.master_playing),
        ],
    })
}

/// `/segue/browse`: location s, sort s, index i (1-based, 0 = empty), count i, label s,
/// detail s, track path s (empty for a folder or view) — [`crate::browse::Announce`].
pub(crate) fn browse_message(shared: &Shared) -> OscPacket {
    let a = shared
        .browser
        .announce(&|| crate::browse::Sources::read(shared));
    OscPacket::Message(OscMessage {
        addr: "/segue/browse".into(),
        args: vec![
            OscType::String(a.location),
            OscType::String(a.sort.name().into()),
            OscType::Int(a.index as i32),
            OscType::Int(a.count as i32),
            OscType::String(a.label),
            OscType::String(a.detail),
            OscType::String(a.path.map(|p| p.display().to_string()).unwrap_or_default()),
        ],
    })
}

/// `/segue/suggest`: the deck the list follows (1-based, 0 = none on air), then for each
/// suggestion, best first: path s, title s, score f (0..1), explanation s.
pub(crate) fn suggest_message(shared: &Shared) -> OscPacket {
    let list = shared.live.suggestions.get();
    let mut args = vec![OscType::Int(list.deck.map_or(0, |d| d as i32 + 1))];
    for s in list.items {
        args.push(OscType::String(s.path.display().to_string()));
        args.push(OscType::String(s.title));
        args.push(OscType::Float(s.compat.score as f32));
        args.push(OscType::String(s.compat.line));
    }
    OscPacket::Message(OscMessage {
        addr: "/segue/suggest".into(),
        args,
    })
}

/// Whether `generation` moved since `seen` (which then follows it).
fn bumped(generation: &std::sync::atomic::AtomicU64, seen: &mut u64) -> bool {
    let g = generation.load(Ordering::SeqCst);
    std::mem::replace(seen, g) != g
}

/// `/segue/transition`: active i (0 = none), out deck i, in deck i (1-based), from s, to s,
/// technique s, A's out beat f, bars i, reason s, plan JSON s.
pub(crate) fn transition_message(shared: &Shared) -> OscPacket {
    let args = match shared.live.transition.get() {
        None => vec![
            OscType::Int(0),
            OscType::Int(0),
            OscType::Int(0),
            OscType::String(String::new()),
            OscType::String(String::new()),
            OscType::String(String::new()),
            OscType::Float(0.0),
            OscType::Int(0),
            OscType::String(String::new()),
            OscType::String(String::new()),
        ],
        Some(t) => vec![
            OscType::Int(1),
            OscType::Int(t.out_deck as i32 + 1),
            OscType::Int(t.in_deck as i32 + 1),
            OscType::String(t.plan.from.clone()),
            OscType::String(t.plan.to.clone()),
            OscType::String(t.plan.technique.name().into()),
            OscType::Float(t.plan.out_beat as f32),
            OscType::Int(t.plan.bars as i32),
            OscType::String(t.plan.reason.clone()),
            OscType::String(t.plan.to_json()),
        ],
    };
    OscPacket::Message(OscMessage {
        addr: "/segue/transition".into(),
        args,
    })
}

/// `/segue/deck/{n}/state`: loaded i, playing i, position f (s), bpm f, key s, then
/// duration f (s), has_grid i, title s, volume f, tempo f (%), sync i, looping i,
/// on_air i, energy i (0 = unknown), section s, has_stems i (the deck plays from stems:
/// files beside the track, or separated in the background), separation f (fraction done
/// while the track's stems are being separated, -1 otherwise), load/analysis state s
/// ([`segue_library::decks::DeckView::state_text`]), then the stem gains f (drums, bass,
/// other, vocals; 0 when muted).
pub(crate) fn deck_state(shared: &Shared, status: &Status, deck: usize) -> OscPacket {
    let d = status.decks.get(deck).copied().unwrap_or_default();
    let info = shared.deck(deck);
    let (energy, section) = info
        .analysis
        .as_ref()
        .map(|a| {
            let s = crate::feed::section_at(a, d.position_secs);
            (
                s.map(|s| s.energy).unwrap_or(a.energy) as i32,
                s.map(|s| s.label.name().to_string()).unwrap_or_default(),
            )
        })
        .unwrap_or((0, String::new()));
    OscPacket::Message(OscMessage {
        addr: format!("/segue/deck/{}/state", deck + 1),
        args: vec![
            OscType::Int(d.loaded as i32),
            OscType::Int(d.playing as i32),
            OscType::Float(d.position_secs as f32),
            OscType::Float(d.bpm as f32),
            OscType::String(info.key()),
            OscType::Float(d.duration_secs as f32),
            OscType::Int(d.has_grid as i32),
            OscType::String(info.title.clone()),
            OscType::Float(d.volume),
            OscType::Float(d.tempo_percent),
            OscType::Int(d.sync as i32),
            OscType::Int(d.looping as i32),
            OscType::Int((status.on_air == Some(deck as u8)) as i32),
            OscType::Int(energy),
            OscType::String(section),
            // The deck service knows the stems are on their way to the engine a period or
            // two before the engine's status says it plays them.
            OscType::Int((d.has_stems || (d.loaded && info.has_stems)) as i32),
            OscType::Float(info.separation.unwrap_or(-1.0)),
            OscType::String(info.state_text()),
            OscType::Float(d.stems[0]),
            OscType::Float(d.stems[1]),
            OscType::Float(d.stems[2]),
            OscType::Float(d.stems[3]),
        ],
    })
}

/// `/segue/deck/{n}/cues`: the cue point, then hot cues 1-8, seconds (-1 = not set).
pub(crate) fn deck_cues(status: &Status, deck: usize) -> OscPacket {
    let d = status.decks.get(deck).copied().unwrap_or_default();
    let rate = status.sample_rate.max(1) as f64;
    let secs = |f: Option<f64>| OscType::Float(f.map_or(-1.0, |f| (f / rate) as f32));
    let cue = d.loaded.then_some(d.cue_point);
    OscPacket::Message(OscMessage {
        addr: format!("/segue/deck/{}/cues", deck + 1),
        args: std::iter::once(secs(cue))
            .chain(d.hot_cues.iter().map(|&h| secs(h)))
            .collect(),
    })
}

/// `/segue/fx/{u}/state`: on i, chain i, mix f, master i, decks i (bit 0 = deck 1), bpm f
/// (the tempo the unit follows), then per slot 1..3: effect s (`none` or its name), on i,
/// beats f, knob 1..3 f, active i (audible now).
pub(crate) fn fx_state(status: &Status, unit: usize) -> OscPacket {
    let u = status.fx.get(unit).copied().unwrap_or_default();
    let decks = u
        .decks
        .iter()
        .enumerate()
        .filter(|(_, &on)| on)
        .fold(0i32, |m, (d, _)| m | 1 << d);
    let mut args = vec![
        OscType::Int(u.on as i32),
        OscType::Int((u.mode == FxMode::Chain) as i32),
        OscType::Float(u.mix),
        OscType::Int(u.master as i32),
        OscType::Int(decks),
        OscType::Float(u.bpm as f32),
    ];
    for s in &u.slots {
        args.push(OscType::String(
            s.effect.map_or("none", |e| e.name()).to_string(),
        ));
        args.push(OscType::Int(s.on as i32));
        args.push(OscType::Float(s.beats));
        args.extend(s.params.iter().map(|&p| OscType::Float(p)));
        args.push(OscType::Int(s.active as i32));
    }
    OscPacket::Message(OscMessage {
        addr: format!("/segue/fx/{}/state", unit + 1),
        args,
    })
}

/// `/segue/mixer/state`: crossfader f, on-air deck i (0 = none), master peak f, master
/// RMS f, limiter reduction f (dB), engine frame h.
pub(crate) fn mixer_state(status: &Status) -> OscPacket {
    OscPacket::Message(OscMessage {
        addr: "/segue/mixer/state".into(),
        args: vec![
            OscType::Float(status.crossfader),
            OscType::Int(status.on_air.map(|d| d as i32 + 1).unwrap_or(0)),
            OscType::Float(status.master.peak),
            OscType::Float(status.master.rms),
            OscType::Float(status.limiter_reduction_db),
            OscType::Long(status.frame as i64),
        ],
    })
}

/// `/segue/stats`: pairs of name s and value h.
pub(crate) fn stats(shared: &Shared) -> OscPacket {
    let a = &shared.audio;
    let c = &shared.counters;
    let d = shared.decks.counters();
    let status = shared.status();
    let r = |x: &std::sync::atomic::AtomicU64| x.load(Ordering::Relaxed) as i64;
    let clock = a.clock();
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let pairs: Vec<(&str, i64)> = vec![
        ("frame", status.frame as i64),
        ("sample_rate", status.sample_rate as i64),
        ("running", a.running.load(Ordering::Relaxed) as i64),
        ("callbacks", r(&a.callbacks)),
        ("xruns", r(&a.xruns)),
        ("late_callbacks", r(&a.late_callbacks)),
        ("max_callback_us", r(&a.max_callback_ns) / 1000),
        ("alloc_violations", r(&a.alloc_violations)),
        ("alloc_checked", cfg!(debug_assertions) as i64),
        ("busy_skips", r(&a.busy_skips)),
        ("disconnects", r(&a.disconnects)),
        ("reconnects", r(&a.reconnects)),
        ("latency_frames", clock.latency_frames as i64),
        ("clock_frame", clock.frame as i64),
        ("clock_time_ns", clock.time_ns as i64),
        ("midi_in", r(&a.midi_in)),
        ("midi_in_dropped", r(&a.midi_in_dropped)),
        ("midi_clock_msgs", r(&a.clock_ticks)),
        ("file_dropped_frames", r(&a.file_dropped)),
        ("commands_applied", status.commands_applied as i64),
        ("commands_rejected", status.commands_rejected as i64),
        ("osc_packets", r(&c.osc_packets)),
        ("osc_messages", r(&c.osc_messages)),
        ("osc_malformed", r(&c.osc_malformed)),
        ("osc_unknown", r(&c.osc_unknown)),
        ("osc_bad_args", r(&c.osc_bad_args)),
        ("osc_denied", r(&c.osc_denied)),
        ("osc_late_or_far", r(&c.osc_late_or_far)),
        ("queue_full", shared.queue_full() as i64),
        ("loads", r(&d.loads)),
        ("loads_refused", r(&c.loads_refused)),
        ("loads_failed", r(&d.loads_failed)),
        ("analyses", r(&d.analyses)),
        ("analyses_from_library", r(&d.from_library)),
        ("separations", r(&d.separations)),
        ("stems_attached", r(&d.stems_attached)),
        (
            "autodj",
            shared.live.autodj.enabled.load(Ordering::Relaxed) as i64,
        ),
        ("autodj_transitions", r(&shared.live.autodj.transitions)),
        ("feed_sent", r(&c.feed_sent)),
        ("midi_handled", r(&c.midi_handled)),
        ("midi_late", r(&c.midi_late)),
        ("midi_alloc_violations", r(&c.midi_alloc_violations)),
        ("unix_ms", unix_ms),
    ];
    OscPacket::Message(OscMessage {
        addr: "/segue/stats".into(),
        args: pairs
            .into_iter()
            .flat_map(|(k, v)| [OscType::String(k.into()), OscType::Long(v)])
            .collect(),
    })
}

/// `/segue/record`'s arguments: recording 0/1, file, seconds, frames left out.
fn record_state(shared: &Shared) -> Vec<OscType> {
    let Some(rec) = shared.recorder.get() else {
        return vec![
            OscType::Int(0),
            OscType::String(String::new()),
            OscType::Float(0.0),
            OscType::Int(0),
        ];
    };
    let st = rec.state();
    let (path, seconds) = match (&st.path, &st.last) {
        (Some(p), _) if st.recording => (p.clone(), st.seconds),
        (_, Some(last)) => (
            last.path.clone(),
            last.frames as f64 / last.rate.max(1) as f64,
        ),
        _ => (Default::default(), 0.0),
    };
    vec![
        OscType::Int(i32::from(st.recording)),
        OscType::String(path.display().to_string()),
        OscType::Float(seconds as f32),
        OscType::Int(rec.dropped().min(i32::MAX as u64) as i32),
    ]
}
