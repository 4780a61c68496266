//! Ableton Link: tempo and beat-phase sync with the other Link peers on the network
//! (`rusty_link`, the official `abl_link` C wrapper).
//!
//! Link runs on its own control thread (`segue-link`), never in the audio callback: the
//! callback only renders the engine (the daemon keeps its own logic off the audio path),
//! so instead of capturing Link's audio-thread session state there, this thread steers the
//! engine with time-stamped commands, as the OSC server does for bundles. Every
//! [`TICK_MS`] it captures the app session state and
//!
//! * **follow** (the default): maps an engine frame to the Link clock through the audio
//!   clock point (the monotonic time the frame is *heard*, output latency included; Link's
//!   clock is `CLOCK_MONOTONIC_RAW`, whose offset to `CLOCK_MONOTONIC` is measured every
//!   tick) and sends [`Command::External`]: the session's beat at that frame and its tempo.
//!   The engine's sync leader — the master deck — follows that timeline like a synced deck
//!   follows its leader (tempo, and phase within the quantum counted from the track's
//!   downbeat: bars line up), snapped when it engages, then held by rate; decks synced to
//!   the master follow it as before. The lighting feed and the MIDI clock follow the deck
//!   on air, so with the master on air they run on the Link timeline too.
//! * **lead**: the master deck runs free and the session follows it: its tempo is
//!   committed to the session whenever it differs, and when the session's phase drifts
//!   from the deck's by more than [`LEAD_FORCE_MS`] the deck's bar phase is forced onto
//!   the session timeline (all peers move with it, as they do when any peer changes tempo;
//!   at most every 100 ms).
//!
//! Alone in the session (no peers), follow acts as lead: the session takes the master
//! deck's tempo instead of pulling the deck to Link's start tempo; it follows again as soon
//! as a peer joins.
//!
//! With start/stop sync on, a session start or stop starts or stops the master deck
//! (follow), and the master deck's play/pause starts or stops the session (lead).
//!
//! Requests (OSC `/segue/link…`, the MIDI target `link_toggle`, the config) go through
//! [`LinkShared`]'s atomics; the thread publishes [`LinkState`] for `/segue/link/state`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use rusty_link::{AblLink, SessionState};
use segue_engine::{Command, ExternalClock, Status, TimedCommand};

use crate::audio::{now_ns, sleep_until};
use crate::state::Shared;

/// How often the Link thread looks at the session and the engine.
pub const TICK_MS: u64 = 10;
/// In lead mode, a phase gap between the master deck and the session above this is
/// closed by forcing the session's beat.
pub const LEAD_FORCE_MS: f64 = 1.0;
/// The quantum (beats per phase cycle) unless configured: one 4/4 bar.
pub const DEFAULT_QUANTUM: f64 = 4.0;

/// Follow the session or lead it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    /// The master deck follows the session's tempo and phase.
    #[default]
    Follow,
    /// The session follows the master deck's tempo and phase.
    Lead,
}

impl LinkMode {
    /// The name used in flags, the config file and OSC.
    pub fn name(self) -> &'static str {
        match self {
            LinkMode::Follow => "follow",
            LinkMode::Lead => "lead",
        }
    }
}

impl std::str::FromStr for LinkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "follow" => Ok(LinkMode::Follow),
            "lead" => Ok(LinkMode::Lead),
            other => Err(format!("unknown Link mode {other:?} (use follow or lead)")),
        }
    }
}

/// What the Link thread last saw (for `/segue/link/state`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkState {
    /// Link is on (joined the network session).
    pub enabled: bool,
    /// Follow or lead.
    pub mode: LinkMode,
    /// Start/stop sync on.
    pub start_stop: bool,
    /// Other peers in the session.
    pub peers: u64,
    /// Session tempo, BPM.
    pub tempo: f64,
    /// The session's transport plays (start/stop sync).
    pub playing: bool,
    /// Beats per phase cycle.
    pub quantum: f64,
    /// Link clock time (µs) the beats below belong to: when the engine frame of the
    /// status the master deck's values come from is heard.
    pub time_us: i64,
    /// Session beat at `time_us`.
    pub beat: f64,
    /// Session phase at `time_us`, 0..quantum.
    pub phase: f64,
    /// The master deck (engine index), if any.
    pub master: Option<u8>,
    /// The master deck's phase (0..quantum, from its bar's downbeat) heard at `time_us`,
    /// from the engine's status — measured, not the command sent.
    pub master_phase: f64,
    /// The master deck's tempo as heard, BPM.
    pub master_bpm: f64,
    /// The master deck plays.
    pub master_playing: bool,
}

/// Requests to the Link thread and its published state.
pub struct LinkShared {
    enabled: AtomicBool,
    lead: AtomicBool,
    start_stop: AtomicBool,
    quantum: AtomicU64,
    /// Bumped on every request, so the thread applies it.
    requests: AtomicU64,
    state: Mutex<LinkState>,
}

impl Default for LinkShared {
    fn default() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            lead: AtomicBool::new(false),
            start_stop: AtomicBool::new(false),
            quantum: AtomicU64::new(DEFAULT_QUANTUM.to_bits()),
            requests: AtomicU64::new(0),
            state: Mutex::new(LinkState::default()),
        }
    }
}

impl LinkShared {
    /// Turn Link on or off.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Release);
    }

    /// Flip Link on/off (the MIDI target).
    pub fn toggle(&self) {
        self.enabled.fetch_xor(true, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Release);
    }

    /// Follow or lead.
    pub fn set_mode(&self, mode: LinkMode) {
        self.lead.store(mode == LinkMode::Lead, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Release);
    }

    /// Start/stop sync on or off.
    pub fn set_start_stop(&self, on: bool) {
        self.start_stop.store(on, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Release);
    }

    /// Beats per phase cycle, 1..=16.
    pub fn set_quantum(&self, q: f64) {
        if q.is_finite() && (1.0..=16.0).contains(&q) {
            self.quantum.store(q.to_bits(), Ordering::Relaxed);
            self.requests.fetch_add(1, Ordering::Release);
        }
    }

    /// Link is requested on.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// What the Link thread saw last.
    pub fn state(&self) -> LinkState {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mode(&self) -> LinkMode {
        if self.lead.load(Ordering::Relaxed) {
            LinkMode::Lead
        } else {
            LinkMode::Follow
        }
    }

    fn quantum(&self) -> f64 {
        f64::from_bits(self.quantum.load(Ordering::Relaxed))
    }
}

/// The deck Link steers: the engine's sync leader, else the first loaded deck with a grid.
fn master(status: &Status) -> Option<usize> {
    status.sync_leader.map(|d| d as usize).or_else(|| {
        status.decks[..status.deck_count]
            .iter()
            .position(|d| d.loaded && d.has_grid)
    })
}

/// A deck's phase in a cycle of `q` beats from its bar's downbeat (4/4 grids: the bar and
/// the quantum are both 4 beats).
fn deck_phase(d: &segue_engine::DeckStatus, q: f64) -> f64 {
    (d.beat_in_bar as f64 + d.beat.rem_euclid(1.0)).rem_euclid(q)
}

/// The signed gap `a − b` between two phases in a cycle of `q`, in −q/2..q/2.
pub fn phase_gap(a: f64, b: f64, q: f64) -> f64 {
    (a - b + 0.5 * q).rem_euclid(q) - 0.5 * q
}

/// The Link thread: owns the `AblLink` instance.
pub(crate) struct LinkThread {
    shared: std::sync::Arc<Shared>,
}

impl LinkThread {
    pub(crate) fn new(shared: std::sync::Arc<Shared>) -> Self {
        Self { shared }
    }

    pub(crate) fn run(self, stop: &AtomicBool) {
        crate::audio::try_realtime_priority(1);
        let sh = &self.shared;
        let ls = &sh.link;
        let link = AblLink::new(120.0);
        let mut ss = SessionState::new();
        let mut seen_requests = u64::MAX;
        let mut steering = false;
        let mut last_session_playing: Option<bool> = None;
        let mut last_deck_playing: Option<bool> = None;
        let mut last_force_us = i64::MIN;
        let mut last_acting = None;
        while !stop.load(Ordering::Acquire) {
            let tick_start = now_ns();
            let requests = ls.requests.load(Ordering::Acquire);
            if requests != seen_requests {
                seen_requests = requests;
                let on = ls.enabled();
                if link.is_enabled() != on {
                    link.enable(on);
                    tracing::info!("Link {}", if on { "on" } else { "off" });
                }
                let start_stop = ls.start_stop.load(Ordering::Relaxed);
                if link.is_start_stop_sync_enabled() != start_stop {
                    link.enable_start_stop_sync(start_stop);
                }
                last_session_playing = None;
                last_deck_playing = None;
            }
            let mode = ls.mode();
            let q = ls.quantum();
            let status = sh.status();
            let m = master(&status);
            let mut state = LinkState {
                enabled: link.is_enabled(),
                mode,
                start_stop: link.is_start_stop_sync_enabled(),
                quantum: q,
                master: m.map(|d| d as u8),
                ..LinkState::default()
            };
            // Alone in the session, follow would pull the master deck to Link's own tempo
            // (120 BPM at start): until a peer joins, the session follows the deck instead.
            let acting = if mode == LinkMode::Follow && state.enabled && link.num_peers() == 0 {
                LinkMode::Lead
            } else {
                mode
            };
            if last_acting != Some(acting) {
                last_acting = Some(acting);
                last_session_playing = None;
                last_deck_playing = None;
            }
            let follow = state.enabled && acting == LinkMode::Follow;
            if !follow && steering {
                steering = !sh.send(TimedCommand {
                    at: None,
                    command: Command::External { clock: None },
                });
            }
            if state.enabled {
                link.capture_app_session_state(&mut ss);
                // Link's clock (CLOCK_MONOTONIC_RAW) against the audio clock's monotonic
                // time: a Link reading between two monotonic ones, the tightest of a few
                // (a preemption between the readings would skew the offset).
                let offset_us = clock_offset(&link);
                let to_link = |mono_ns: f64| mono_ns / 1e3 + offset_us;
                let clock = sh.audio.clock();
                let tempo = ss.tempo();
                state.peers = link.num_peers();
                state.tempo = tempo;
                state.playing = ss.is_playing();
                // The master deck heard now: its status is at engine frame `status.frame`.
                let t_status = to_link(clock.heard_ns(status.frame as f64));
                state.time_us = t_status.round() as i64;
                state.beat = beat_at(&ss, state.time_us as f64, q);
                state.phase = state.beat.rem_euclid(q);
                if let Some(d) = m.map(|d| status.decks[d]) {
                    state.master_bpm = d.bpm;
                    state.master_playing = d.playing;
                    state.master_phase = deck_phase(&d, q);
                }
                if clock.rate > 0 {
                    match acting {
                        LinkMode::Follow => {
                            // The session's beat at the last block's first frame (past:
                            // the engine extrapolates from it at the session tempo).
                            let beat = beat_at(&ss, to_link(clock.heard_ns(clock.frame as f64)), q);
                            let c = ExternalClock {
                                anchor_frame: clock.frame,
                                beat,
                                bpm: tempo,
                                quantum: q,
                            };
                            steering = sh.send(TimedCommand {
                                at: None,
                                command: Command::External { clock: Some(c) },
                            }) || steering;
                            if state.start_stop {
                                let playing = ss.is_playing();
                                if last_session_playing.is_some_and(|p| p != playing) {
                                    if let Some(d) = m {
                                        sh.send(TimedCommand {
                                            at: None,
                                            command: Command::Play {
                                                deck: d as u8,
                                                on: playing,
                                            },
                                        });
                                    }
                                }
                                last_session_playing = Some(playing);
                            }
                        }
                        LinkMode::Lead => {
                            if let Some(d) = m.map(|d| status.decks[d]) {
                                let mut commit = false;
                                let t = t_status.round() as i64;
                                if d.bpm.is_finite()
                                    && (20.0..=999.0).contains(&d.bpm)
                                    && (d.bpm - tempo).abs() > 1e-4
                                {
                                    ss.set_tempo(d.bpm, t);
                                    commit = true;
                                }
                                if d.playing && d.has_grid && d.bpm > 0.0 {
                                    let session = ss.beat_at_time(t, q);
                                    let gap =
                                        phase_gap(deck_phase(&d, q), session.rem_euclid(q), q);
                                    let gap_ms = gap * 60_000.0 / d.bpm;
                                    if gap_ms.abs() > LEAD_FORCE_MS
                                        && t.saturating_sub(last_force_us) > 100_000
                                    {
                                        ss.force_beat_at_time(session + gap, t, q);
                                        last_force_us = t;
                                        commit = true;
                                    }
                                }
                                if state.start_stop {
                                    if last_deck_playing.is_some_and(|p| p != d.playing) {
                                        ss.set_is_playing(d.playing, t);
                                        commit = true;
                                    }
                                    last_deck_playing = Some(d.playing);
                                }
                                if commit {
                                    link.commit_app_session_state(&ss);
                                }
                            }
                        }
                    }
                }
            }
            *ls.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
            sleep_until(tick_start + TICK_MS * 1_000_000);
        }
        if steering {
            sh.send(TimedCommand {
                at: None,
                command: Command::External { clock: None },
            });
        }
        link.enable(false);
    }
}

/// The offset (µs) of Link's clock to `CLOCK_MONOTONIC`: of up to eight
/// readings bracketed by monotonic ones, the one with the tightest bracket (done at once
/// when under 20 µs).
fn clock_offset(link: &AblLink) -> f64 {
    let mut best = (i64::MAX, 0.0f64);
    for _ in 0..8 {
        let m0 = now_ns();
        let l = link.clock_micros();
        let m1 = now_ns();
        let spread = m1.saturating_sub(m0) as i64;
        if spread < best.0 {
            best = (spread, l as f64 - (m0 as f64 + m1 as f64) / 2e3);
        }
        if spread < 20_000 {
            break;
        }
    }
    best.1
}

/// The session's beat at Link time `t_us` (fractional microseconds kept).
fn beat_at(ss: &SessionState, t_us: f64, q: f64) -> f64 {
    let whole = t_us.floor();
    ss.beat_at_time(whole as i64, q) + (t_us - whole) * ss.tempo() / 60e6
}
