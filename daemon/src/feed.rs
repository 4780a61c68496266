//! The lighting / VJ feed and the MIDI clock: both follow the on-air deck.
//!
//! The feed thread predicts when the on-air deck's next beat will be *heard* (engine status
//! → engine frame of the beat → monotonic time through the audio clock, output latency
//! included), sleeps until that moment (coarse sleep, then a short spin) and sends
//! `/segue/beat i:beat_in_bar i:bar f:bpm` (beat 1..N of the bar, bar number of the grid),
//! plus `/segue/downbeat` and `/segue/phrase i:bar_in_phrase i:phrase_bars` on the first
//! beat of a bar. `/segue/onair i`, `/segue/track s:title s:key`, `/segue/section s` and
//! `/segue/energy i` are sent when they change. Every target gets every message.
//!
//! The same thread keeps the MIDI clock's tempo and beat anchor (read by the JACK callback)
//! on the on-air deck, and starts / stops it with playback.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rosc::{OscMessage, OscPacket, OscType};
use segue_analysis::{Analysis, Section, SectionLabel};

use crate::audio::{now_ns, sleep_until, CLOCK_START, CLOCK_STOP};
use crate::state::Shared;

/// Bars in a phrase for `/segue/phrase`.
pub const PHRASE_BARS: i64 = 16;

/// Resolve a `host:port` feed target.
pub fn resolve(target: &str) -> Result<SocketAddr, String> {
    target
        .to_socket_addrs()
        .map_err(|e| format!("feed target {target:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("feed target {target:?}: no address"))
}

/// The section of `a` playing at `secs`.
pub fn section_at(a: &Analysis, secs: f64) -> Option<&Section> {
    a.sections.iter().find(|s| secs >= s.start && secs < s.end)
}

#[derive(Default, PartialEq, Clone)]
struct Seen {
    on_air: Option<u8>,
    track: Option<(String, String)>,
    section: Option<SectionLabel>,
    energy: Option<u8>,
}

pub(crate) struct Feed {
    socket: UdpSocket,
    targets: Vec<SocketAddr>,
    shared: Arc<Shared>,
    seen: Seen,
    /// (deck, generation, beat index) of the last beat sent.
    last_beat: Option<(usize, u64, i64)>,
    clock_running: bool,
}

impl Feed {
    pub(crate) fn new(targets: &[String], shared: Arc<Shared>) -> Result<Self, String> {
        let targets = targets
            .iter()
            .map(|t| resolve(t))
            .collect::<Result<Vec<_>, _>>()?;
        let socket = UdpSocket::bind(("0.0.0.0", 0)).map_err(|e| format!("feed socket: {e}"))?;
        Ok(Self {
            socket,
            targets,
            shared,
            seen: Seen::default(),
            last_beat: None,
            clock_running: false,
        })
    }

    fn send(&self, addr: &str, args: Vec<OscType>) {
        if self.targets.is_empty() {
            return;
        }
        let p = OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        });
        if let Ok(bytes) = rosc::encoder::encode(&p) {
            for t in &self.targets {
                if self.socket.send_to(&bytes, t).is_ok() {
                    self.shared
                        .counters
                        .feed_sent
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    pub(crate) fn run(mut self, stop: &AtomicBool) {
        // Beats leave on time only if this thread wakes on time: ask for the lowest
        // real-time priority (above ordinary threads, below any audio thread, JACK's
        // included); without the right it stays a normal thread.
        crate::audio::try_realtime_priority(1);
        while !stop.load(Ordering::Acquire) {
            let wait_ns = self.step();
            let now = now_ns();
            sleep_until(now + wait_ns.clamp(200_000, 5_000_000));
        }
        self.clock(None);
    }

    /// One look at the engine; returns how long to wait before the next look (ns).
    fn step(&mut self) -> u64 {
        let status = self.shared.status();
        let on_air = status.on_air.map(|d| d as usize);
        let deck = on_air.and_then(|d| status.decks.get(d).copied().map(|s| (d, s)));
        let info = on_air.map(|d| self.shared.deck(d));
        // Changes.
        let mut seen = Seen {
            on_air: status.on_air,
            ..Seen::default()
        };
        if let (Some((_, ds)), Some(info)) = (deck, &info) {
            seen.track = Some((info.title.clone(), info.key()));
            if let Some(a) = &info.analysis {
                let sec = section_at(a, ds.position_secs);
                seen.section = sec.map(|s| s.label);
                seen.energy = Some(sec.map(|s| s.energy).unwrap_or(a.energy));
            }
        }
        if seen.on_air != self.seen.on_air {
            self.send(
                "/segue/onair",
                vec![OscType::Int(seen.on_air.map(|d| d as i32 + 1).unwrap_or(0))],
            );
        }
        if seen.track != self.seen.track {
            if let Some((title, key)) = &seen.track {
                self.send(
                    "/segue/track",
                    vec![OscType::String(title.clone()), OscType::String(key.clone())],
                );
            }
        }
        if seen.section != self.seen.section {
            if let Some(s) = &seen.section {
                self.send("/segue/section", vec![OscType::String(s.name().into())]);
            }
        }
        if seen.energy != self.seen.energy {
            if let Some(e) = seen.energy {
                self.send("/segue/energy", vec![OscType::Int(e as i32)]);
            }
        }
        self.seen = seen;

        // The next beat of the on-air deck.
        let (Some((d, ds)), Some(info)) = (deck, info) else {
            self.clock(None);
            return 5_000_000;
        };
        if !(ds.playing && ds.has_grid && ds.bpm > 1.0) {
            self.clock(None);
            return 5_000_000;
        }
        let clock = self.shared.audio.clock();
        if clock.rate == 0 {
            return 5_000_000;
        }
        let rate = clock.rate as f64;
        let frames_per_beat = 60.0 / ds.bpm * rate;
        // The status runs ahead of what is heard by the output latency: find the beat being
        // heard now, and aim at the one after it.
        let heard_frame = clock.frame_heard_at(now_ns() as f64);
        let beat_heard = ds.beat - (status.frame as f64 - heard_frame) / frames_per_beat;
        let next = beat_heard.floor() as i64 + 1;
        let beat_frame = status.frame as f64 + (next as f64 - ds.beat) * frames_per_beat;
        let last_beat_frame = beat_frame - frames_per_beat;
        self.clock(Some((ds.bpm, last_beat_frame.max(0.0) as u64)));
        let heard = clock.heard_ns(beat_frame);
        let now = now_ns() as f64;
        tracing::trace!(
            "deck {} beat {:.3} bpm {:.2}: next beat heard in {:.2} ms",
            d + 1,
            ds.beat,
            ds.bpm,
            (heard - now) / 1e6
        );
        let key = (d, info.generation, next);
        if self.last_beat == Some(key) {
            return ((heard - now).max(0.0) as u64).max(1_000_000);
        }
        if heard - now > 3_000_000.0 {
            return (heard - now - 2_000_000.0) as u64;
        }
        // Within 3 ms: wait for the exact moment, then send.
        let target = heard.max(0.0) as u64;
        if target > now_ns() + 300_000 {
            sleep_until(target - 300_000);
        }
        while now_ns() < target {
            std::hint::spin_loop();
        }
        let bpb = info
            .analysis
            .as_ref()
            .map(|a| a.beats_per_bar.max(1))
            .unwrap_or(4) as i64;
        let total = ds.bar * bpb + ds.beat_in_bar as i64 + (next - ds.beat.floor() as i64);
        let (in_bar, bar) = (total.rem_euclid(bpb), total.div_euclid(bpb));
        self.send(
            "/segue/beat",
            vec![
                OscType::Int(in_bar as i32 + 1),
                OscType::Int(bar as i32),
                OscType::Float(ds.bpm as f32),
            ],
        );
        if in_bar == 0 {
            self.send("/segue/downbeat", vec![]);
            self.send(
                "/segue/phrase",
                vec![
                    OscType::Int(bar.rem_euclid(PHRASE_BARS) as i32 + 1),
                    OscType::Int(PHRASE_BARS as i32),
                ],
            );
        }
        self.last_beat = Some(key);
        1_000_000
    }

    /// Keep the MIDI clock on `(bpm, frame of a beat)`, or stop it.
    fn clock(&mut self, tempo: Option<(f64, u64)>) {
        let a = &self.shared.audio;
        match tempo {
            Some((bpm, anchor)) => {
                a.clock_bpm.store(bpm.to_bits(), Ordering::Relaxed);
                a.clock_anchor.store(anchor, Ordering::Relaxed);
                if !self.clock_running {
                    a.clock_request.store(CLOCK_START, Ordering::Release);
                    self.clock_running = true;
                }
            }
            None => {
                if self.clock_running {
                    a.clock_request.store(CLOCK_STOP, Ordering::Release);
                    self.clock_running = false;
                }
            }
        }
    }
}
