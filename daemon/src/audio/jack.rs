//! The JACK backend: a client with ports `master_L/R`, `cue_L/R`, optionally `deckN_L/R`
//! per deck (`jack.deck-outputs`, pre- or post-fader), `midi_in` (controllers), `midi_out`
//! (controller feedback) and `midi_clock_out` (24 ppq clock of the on-air deck).
//!
//! It survives the server going away: the shutdown notification sets a flag, the main
//! thread drops the dead client (the engine stays in its [`EngineCell`]), reports it, and
//! tries to connect again every `jack.reconnect-secs` until the server is back; then it
//! registers the ports again and restores the connections. Xruns are counted.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jack::{
    AudioOut, Client, ClientOptions, ClientStatus, Control, LatencyType, MidiIn, MidiOut,
    NotificationHandler, Port, PortFlags, ProcessHandler, ProcessScope, RawMidi,
};
use segue_engine::{DeckOut, DeckTap, Outputs, MAX_DECKS};

use super::{count_allocs, now_ns, AudioShared, Backend, Callback, ClockOut, EngineCell};
use crate::config::JackConfig;
use crate::DaemonError;

/// One short MIDI message received on `midi_in`, stamped with the engine frame it arrived at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MidiEvent {
    /// Engine frame: the block's first frame plus the event's offset JACK gave.
    pub frame: u64,
    /// Frames in the block it arrived in (the JACK period).
    pub block: u32,
    /// Bytes used in `bytes`.
    pub len: u8,
    /// The message.
    pub bytes: [u8; 3],
}

/// Rings to and from the MIDI controller thread; a fresh pair for every connection.
pub(crate) struct MidiRings {
    pub events: rtrb::Consumer<MidiEvent>,
    pub feedback: rtrb::Producer<[u8; 3]>,
}

struct Notify {
    shared: Arc<AudioShared>,
    dead: Arc<AtomicBool>,
}

impl NotificationHandler for Notify {
    unsafe fn shutdown(&mut self, _status: ClientStatus, _reason: &str) {
        // Async-signal-safe: two atomic stores.
        self.shared.running.store(false, Ordering::Release);
        self.dead.store(true, Ordering::Release);
    }

    fn xrun(&mut self, _: &Client) -> Control {
        self.shared.xruns.fetch_add(1, Ordering::Relaxed);
        Control::Continue
    }
}

struct Process {
    cb: Callback,
    master: [Port<AudioOut>; 2],
    cue: [Port<AudioOut>; 2],
    /// Per-deck outputs (empty unless `jack.deck-outputs`), at most `MAX_DECKS`.
    decks: Vec<[Port<AudioOut>; 2]>,
    tap: DeckTap,
    midi_in: Option<(Port<MidiIn>, rtrb::Producer<MidiEvent>)>,
    midi_out: Option<(Port<MidiOut>, rtrb::Consumer<[u8; 3]>)>,
    clock_out: Option<Port<MidiOut>>,
    clock: ClockOut,
    /// Monotonic ns minus JACK µs·1000 (JACK's clock to ours).
    offset_ns: Arc<AtomicI64>,
    latency: Arc<std::sync::atomic::AtomicU32>,
}

impl ProcessHandler for Process {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        let n = ps.n_frames() as usize;
        let shared = &self.cb.shared;
        let start_ns =
            match ps.cycle_times() {
                Ok(t) => (t.current_usecs as i64 * 1000 + self.offset_ns.load(Ordering::Relaxed))
                    .max(0) as u64,
                Err(_) => now_ns(),
            };
        // The engine frame of this block's first frame (what render() will publish).
        let f0 = self.cb.cell.try_with(|e| e.frame()).unwrap_or(0);
        // The MIDI side of the callback, checked like the engine's render: no allocation.
        count_allocs(&shared.alloc_violations, || {
            if let Some((port, tx)) = &mut self.midi_in {
                let mut queued = false;
                for ev in port.iter(ps) {
                    shared.midi_in.fetch_add(1, Ordering::Relaxed);
                    let len = ev.bytes.len();
                    if len == 0 || len > 3 {
                        shared.midi_in_dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let mut bytes = [0u8; 3];
                    bytes[..len].copy_from_slice(ev.bytes);
                    let e = MidiEvent {
                        frame: f0 + ev.time as u64,
                        block: n as u32,
                        len: len as u8,
                        bytes,
                    };
                    match tx.push(e) {
                        Ok(()) => queued = true,
                        Err(_) => {
                            shared.midi_in_dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                // Wake the dispatch thread so the commands make the next block (an atomic
                // swap, and a futex wake only if it sleeps: no lock, no allocation).
                if queued {
                    if let Some(t) = shared.midi_thread.get() {
                        t.unpark();
                    }
                }
            }
            if let Some((port, rx)) = &mut self.midi_out {
                let mut w = port.writer(ps);
                while let Ok(m) = rx.pop() {
                    let len = match m[0] {
                        0xC0..=0xDF => 2,
                        _ => 3,
                    };
                    let _ = w.write(&RawMidi {
                        time: 0,
                        bytes: &m[..len],
                    });
                }
            }
            if let Some(port) = &mut self.clock_out {
                let mut w = port.writer(ps);
                self.clock.block(shared, f0, n, |off, b| {
                    let _ = w.write(&RawMidi {
                        time: off as u32,
                        bytes: &[b],
                    });
                });
            }
        });
        let [ml, mr] = &mut self.master;
        let [cl, cr] = &mut self.cue;
        let mut out = Outputs {
            master: [ml.as_mut_slice(ps), mr.as_mut_slice(ps)],
            cue: [cl.as_mut_slice(ps), cr.as_mut_slice(ps)],
        };
        // The deck ports' buffers, in a fixed-size array on the stack (no allocation);
        // only the first `decks.len()` entries are handed to the engine.
        let k = self.decks.len().min(MAX_DECKS);
        let mut ports = self.decks.iter_mut();
        let mut deck_out: [DeckOut<'_>; MAX_DECKS] = std::array::from_fn(|_| match ports.next() {
            Some([l, r]) => [l.as_mut_slice(ps), r.as_mut_slice(ps)],
            None => [&mut [][..], &mut [][..]],
        });
        let latency = self.latency.load(Ordering::Relaxed);
        self.cb
            .render_with_decks(&mut out, &mut deck_out[..k], self.tap, n, start_ns, latency);
        Control::Continue
    }
}

type Active = jack::AsyncClient<Notify, Process>;

/// Connect to the server named by `$JACK_DEFAULT_SERVER` (or the default one) without
/// starting one. Returns the client and the server's sample rate and buffer size.
pub(crate) fn probe(name: &str) -> Result<(Client, u32, usize), DaemonError> {
    let (client, _) = Client::new(name, ClientOptions::NO_START_SERVER).map_err(|e| {
        DaemonError::backend(
            "jack",
            format!("cannot connect to the JACK server ({e}); is jackd running?"),
        )
    })?;
    let rate = client.sample_rate();
    let buffer = client.buffer_size() as usize;
    Ok((client, rate, buffer))
}

/// The JACK backend.
pub(crate) struct JackBackend {
    cfg: JackConfig,
    decks: usize,
    cell: Arc<EngineCell>,
    shared: Arc<AudioShared>,
    rate: u32,
    active: Option<Active>,
    dead: Arc<AtomicBool>,
    offset_ns: Arc<AtomicI64>,
    latency: Arc<std::sync::atomic::AtomicU32>,
    next_try: Instant,
    warned_down: bool,
    midi_rings: crossbeam_channel::Sender<MidiRings>,
    last_latency_check: Instant,
}

impl JackBackend {
    pub(crate) fn start(
        client: Client,
        cfg: JackConfig,
        decks: usize,
        cell: Arc<EngineCell>,
        shared: Arc<AudioShared>,
        midi_rings: crossbeam_channel::Sender<MidiRings>,
    ) -> Result<Self, DaemonError> {
        let rate = client.sample_rate();
        shared.rate.store(rate as u64, Ordering::Relaxed);
        let mut b = Self {
            cfg,
            decks: decks.min(MAX_DECKS),
            cell,
            shared,
            rate,
            active: None,
            dead: Arc::new(AtomicBool::new(false)),
            offset_ns: Arc::new(AtomicI64::new(0)),
            latency: Arc::new(std::sync::atomic::AtomicU32::new(0)),
            next_try: Instant::now(),
            warned_down: false,
            midi_rings,
            last_latency_check: Instant::now(),
        };
        b.activate(client)?;
        Ok(b)
    }

    fn activate(&mut self, client: Client) -> Result<(), DaemonError> {
        let err = |e: jack::Error| DaemonError::backend("jack", e);
        if client.sample_rate() != self.rate {
            return Err(DaemonError::backend(
                "jack",
                format!(
                    "the server now runs at {} Hz but the engine at {} Hz; restart segue",
                    client.sample_rate(),
                    self.rate
                ),
            ));
        }
        let reg = |name: &str| client.register_port(name, AudioOut::default()).map_err(err);
        let master = [reg("master_L")?, reg("master_R")?];
        let cue = [reg("cue_L")?, reg("cue_R")?];
        let mut decks = Vec::new();
        if self.cfg.deck_outputs {
            for d in 1..=self.decks {
                decks.push([reg(&format!("deck{d}_L"))?, reg(&format!("deck{d}_R"))?]);
            }
        }
        let (midi_in, midi_out) = if self.cfg.midi_in {
            let (ev_tx, ev_rx) = rtrb::RingBuffer::new(4096);
            let (fb_tx, fb_rx) = rtrb::RingBuffer::new(1024);
            let port_in = client
                .register_port("midi_in", MidiIn::default())
                .map_err(err)?;
            let port_out = client
                .register_port("midi_out", MidiOut::default())
                .map_err(err)?;
            let _ = self.midi_rings.send(MidiRings {
                events: ev_rx,
                feedback: fb_tx,
            });
            (Some((port_in, ev_tx)), Some((port_out, fb_rx)))
        } else {
            (None, None)
        };
        let clock_out = if self.cfg.midi_clock {
            Some(
                client
                    .register_port("midi_clock_out", MidiOut::default())
                    .map_err(err)?,
            )
        } else {
            None
        };
        self.offset_ns.store(
            now_ns() as i64 - client.time() as i64 * 1000,
            Ordering::Relaxed,
        );
        self.latency.store(client.buffer_size(), Ordering::Relaxed);
        self.dead.store(false, Ordering::Release);
        let process = Process {
            cb: Callback {
                cell: self.cell.clone(),
                shared: self.shared.clone(),
            },
            master,
            cue,
            decks,
            tap: self.cfg.deck_tap.engine(),
            midi_in,
            midi_out,
            clock_out,
            clock: ClockOut::new(self.rate),
            offset_ns: self.offset_ns.clone(),
            latency: self.latency.clone(),
        };
        let notify = Notify {
            shared: self.shared.clone(),
            dead: self.dead.clone(),
        };
        let active = client.activate_async(notify, process).map_err(err)?;
        self.shared.running.store(true, Ordering::Release);
        self.connect(&active);
        self.active = Some(active);
        self.update_latency();
        Ok(())
    }

    fn connect(&self, active: &Active) {
        let c = active.as_client();
        let me = c.name().to_string();
        let mut master = self.cfg.connect_master.clone();
        if master.is_empty() && self.cfg.auto_connect {
            master = c.ports(
                None,
                Some("32 bit float mono audio"),
                PortFlags::IS_INPUT | PortFlags::IS_PHYSICAL,
            );
            master.truncate(2);
        }
        for (src, dst) in ["master_L", "master_R"].iter().zip(&master) {
            if let Err(e) = c.connect_ports_by_name(&format!("{me}:{src}"), dst) {
                tracing::warn!("cannot connect {me}:{src} to {dst}: {e}");
            }
        }
        for (src, dst) in ["cue_L", "cue_R"].iter().zip(&self.cfg.connect_cue) {
            if let Err(e) = c.connect_ports_by_name(&format!("{me}:{src}"), dst) {
                tracing::warn!("cannot connect {me}:{src} to {dst}: {e}");
            }
        }
        if self.cfg.deck_outputs {
            let names = (1..=self.decks).flat_map(|d| [format!("deck{d}_L"), format!("deck{d}_R")]);
            for (src, dst) in names.zip(&self.cfg.connect_decks) {
                if let Err(e) = c.connect_ports_by_name(&format!("{me}:{src}"), dst) {
                    tracing::warn!("cannot connect {me}:{src} to {dst}: {e}");
                }
            }
        }
    }

    /// Publish what is connected to `midi_in` (names and aliases) for the MIDI dispatch.
    fn update_midi_sources(&self) {
        let Some(active) = &self.active else { return };
        let c = active.as_client();
        let Some(port) = c.port_by_name(&format!("{}:midi_in", c.name())) else {
            return;
        };
        let mut names: Vec<String> = Vec::new();
        for src in port.get_connections() {
            if let Some(p) = c.port_by_name(&src) {
                names.extend(p.aliases().unwrap_or_default());
            }
            names.push(src);
        }
        names.sort();
        let text = names.join("\n");
        let mut slot = self
            .shared
            .midi_in_sources
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if *slot != text {
            *slot = text;
        }
    }

    /// Output latency = the playback latency JACK reports for master_L (at least a period).
    fn update_latency(&mut self) {
        let Some(active) = &self.active else { return };
        let c = active.as_client();
        let name = format!("{}:master_L", c.name());
        let period = c.buffer_size();
        let lat = c
            .port_by_name(&name)
            .map(|p| p.get_latency_range(LatencyType::Playback).1)
            .unwrap_or(0)
            .max(period);
        self.latency.store(lat, Ordering::Relaxed);
    }
}

impl Backend for JackBackend {
    fn poll(&mut self) {
        if self.active.is_some() && self.dead.load(Ordering::Acquire) {
            tracing::warn!("the JACK server went away; reconnecting when it is back");
            self.shared.disconnects.fetch_add(1, Ordering::Relaxed);
            self.shared.running.store(false, Ordering::Release);
            // Dropping the dead client gives the engine back (its Arc stays in the cell).
            drop(self.active.take());
            self.next_try = Instant::now();
            self.warned_down = true;
        }
        if self.active.is_none() && Instant::now() >= self.next_try {
            self.next_try = Instant::now() + Duration::from_secs_f64(self.cfg.reconnect_secs);
            match probe(&self.cfg.client_name) {
                Ok((client, _, _)) => match self.activate(client) {
                    Ok(()) => {
                        self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
                        self.warned_down = false;
                        tracing::info!("reconnected to the JACK server: {}", self.describe());
                    }
                    Err(e) => tracing::warn!("JACK server is back but: {e}"),
                },
                Err(e) => {
                    if !self.warned_down {
                        tracing::warn!("{e}");
                        self.warned_down = true;
                    }
                }
            }
        }
        if self.last_latency_check.elapsed() > Duration::from_millis(500) {
            self.last_latency_check = Instant::now();
            self.update_latency();
            self.update_midi_sources();
        }
    }

    fn describe(&self) -> String {
        match &self.active {
            Some(a) => {
                let c = a.as_client();
                format!(
                    "JACK client {:?}: {} Hz, {} frames per period, output latency {} frames",
                    c.name(),
                    c.sample_rate(),
                    c.buffer_size(),
                    self.latency.load(Ordering::Relaxed)
                )
            }
            None => "JACK backend: waiting for the server".into(),
        }
    }

    fn stop(mut self: Box<Self>) {
        if let Some(a) = self.active.take() {
            if let Err(e) = a.deactivate() {
                tracing::debug!("JACK deactivate: {e}");
            }
        }
        self.shared.running.store(false, Ordering::Release);
    }
}
