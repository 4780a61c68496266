//! MIDI controllers: the JACK backend's `midi_in` delivers short messages stamped with the
//! engine frame they arrived at; the dispatch thread here runs them through the loaded
//! `segue-controllers` mapping ([`segue_controllers::Controller`], config key
//! `midi.mapping` / `--mapping`) and queues the commands for the engine, timed; engine
//! status goes back out as LED feedback on `midi_out`.
//!
//! **Timing policy.** A command made from an event stamped at engine frame `F`, in a block
//! of `P` frames, is applied at `F + P` ([`command_frame`]). The event arrived during a
//! block that was already rendered when the dispatch thread saw it, so the first block
//! that can still act on it is the next one; adding exactly one block keeps every event at
//! its offset within the block. The latency is a constant period, as plugin hosts do with
//! MIDI input, and the spacing between events (a scratch, a finger drum on a hot cue) is
//! kept to the sample. The callback wakes the dispatch thread when it queued events; if
//! the dispatch still misses that block (a loaded machine), the command is applied at the
//! start of the next block and counted as `midi_late` in `/segue/query/stats`.
//!
//! **Real time.** The callback only copies the bytes into a preallocated ring and wakes
//! this thread. Dispatch allocates nothing per message either: commands and feedback go
//! through vectors reserved at start; debug builds check it with `assert_no_alloc`
//! (`midi_alloc_violations` in the stats).
//!
//! Without a mapping the messages are only counted (`midi_in`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use segue_controllers::{Controller, LiveAction, LiveState};
use segue_engine::{Command, Status, TimedCommand};

use crate::audio::jack::MidiRings;
use crate::audio::MidiEvent;
use crate::state::Shared;

/// How often LED feedback is sent.
const FEEDBACK_EVERY: Duration = Duration::from_millis(33);

/// A mapping file, or `builtin:NAME` for one shipped with Segue
/// ([`segue_controllers::builtin`]).
pub fn load_mapping(
    path: &std::path::Path,
) -> Result<segue_controllers::Mapping, crate::DaemonError> {
    use segue_controllers::builtin;
    if let Some(name) = path.to_str().and_then(|p| p.strip_prefix("builtin:")) {
        let b = builtin::by_name(name).ok_or_else(|| {
            crate::DaemonError::Config(format!(
                "no shipped mapping called {name:?} (shipped: {})",
                builtin::BUILTIN
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        return Ok(b.mapping()?);
    }
    Ok(segue_controllers::Mapping::load(path)?)
}

/// Picks a shipped mapping by the name of what is connected to `midi_in` (when no mapping
/// is configured): on a change of the connected ports, the first shipped mapping whose
/// `ports` match one of the names (or aliases) replaces the controller, and says so.
struct AutoMapping {
    /// The port names last looked at.
    seen: String,
    last_check: Instant,
}

impl AutoMapping {
    /// A new controller when the connected ports changed and a shipped mapping fits them.
    fn check(&mut self, shared: &Shared) -> Option<Controller> {
        if self.last_check.elapsed() < Duration::from_millis(100) {
            return None;
        }
        self.last_check = Instant::now();
        let now = shared
            .audio
            .midi_in_sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if now == self.seen {
            return None;
        }
        self.seen = now.clone();
        if now.is_empty() {
            tracing::info!("MIDI: nothing connected to midi_in (the mapping stays)");
            return None;
        }
        let ports: Vec<&str> = now.lines().collect();
        let found = ports
            .iter()
            .find_map(|p| segue_controllers::builtin::for_port(p).map(|b| (p, b)));
        let Some((port, b)) = found else {
            tracing::warn!(
                "MIDI: no shipped mapping for {} (pass --mapping FILE, or `[midi] mapping`)",
                ports.join(" / ")
            );
            return None;
        };
        match b.mapping() {
            Ok(m) => {
                tracing::info!(
                    "MIDI controller on {port}: mapping \"{}\" (builtin:{}; --mapping or \
                     `mapping` in the config chooses another)",
                    m.name,
                    b.name
                );
                Some(Controller::new(m, shared.deck_count))
            }
            Err(e) => {
                tracing::warn!("MIDI: shipped mapping {} does not load: {e}", b.name);
                None
            }
        }
    }
}

/// The engine frame at which a command made from a MIDI event is applied: the event's
/// stamped frame plus the length of the block it arrived in (see the module's timing
/// policy).
pub fn command_frame(event: &MidiEvent) -> u64 {
    event.frame + event.block as u64
}

/// The controller layer of the dispatch thread, with its reusable buffers.
pub(crate) struct Dispatch {
    controller: Option<Controller>,
    commands: Vec<Command>,
    feedback: Vec<[u8; 3]>,
    last_feedback: Instant,
    /// Live actions (suggestions, Auto DJ) pressed, acted on outside the no-allocation
    /// section ([`Dispatch::act`]).
    live: Vec<LiveAction>,
}

/// What one [`Dispatch::drain`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Events taken from the ring.
    pub events: u64,
    /// Events given to the mapping.
    pub handled: u64,
    /// Commands whose frame had (probably) begun rendering when they were queued.
    pub late: u64,
}

impl Dispatch {
    pub(crate) fn new(controller: Option<Controller>) -> Self {
        Self {
            controller,
            commands: Vec::with_capacity(256),
            feedback: Vec::with_capacity(256),
            last_feedback: Instant::now(),
            live: Vec::with_capacity(64),
        }
    }

    /// Run every queued event through the mapping and queue its commands at
    /// [`command_frame`]. Allocation-free (the buffers were reserved in `new`).
    pub(crate) fn drain(&mut self, rings: &mut MidiRings, shared: &Shared) -> Drained {
        let mut done = Drained::default();
        let mut status: Option<Status> = None;
        while let Ok(ev) = rings.events.pop() {
            done.events += 1;
            let Some(c) = self.controller.as_mut() else {
                continue;
            };
            let st = status.get_or_insert_with(|| shared.status());
            self.commands.clear();
            c.handle(&ev.bytes[..ev.len as usize], st, &mut self.commands);
            done.handled += 1;
            for a in c.take_live() {
                if self.live.len() < self.live.capacity() {
                    self.live.push(a);
                }
            }
            if self.commands.is_empty() {
                continue;
            }
            let at = command_frame(&ev);
            // The block that starts at the last published clock frame may already have
            // taken its commands: a frame inside it is late.
            if at < shared.audio.clock().frame + ev.block as u64 {
                done.late += self.commands.len() as u64;
            }
            for command in self.commands.drain(..) {
                // The DJ's hand on a control takes it from Auto DJ.
                shared.live.autodj.touched(&command);
                shared.send(TimedCommand {
                    at: Some(at),
                    command,
                });
            }
        }
        done
    }

    /// Act on the live actions pressed (loading a suggestion decodes on the loader: not
    /// part of the allocation-free drain).
    pub(crate) fn act(&mut self, shared: &Shared) {
        for a in self.live.drain(..) {
            let done = match a {
                LiveAction::RecordToggle | LiveAction::RecordStart | LiveAction::RecordStop => {
                    shared.record_action(a)
                }
                LiveAction::LinkToggle => {
                    shared.link.toggle();
                    Ok(())
                }
                LiveAction::Browse(_)
                | LiveAction::BrowseEnter
                | LiveAction::BrowseBack
                | LiveAction::BrowseSort
                | LiveAction::LoadSelected(_) => shared.browse_action(a).map(drop),
                _ => shared.live.act(shared.live_deps(), a),
            };
            if let Err(e) = done {
                tracing::warn!("MIDI {a:?}: {e}");
            }
        }
    }

    /// LED feedback, at most every [`FEEDBACK_EVERY`]. Allocation-free.
    pub(crate) fn feedback(&mut self, rings: &mut MidiRings, shared: &Shared) {
        let Some(c) = self.controller.as_mut() else {
            return;
        };
        if self.last_feedback.elapsed() < FEEDBACK_EVERY {
            return;
        }
        self.last_feedback = Instant::now();
        self.feedback.clear();
        c.set_live_state(LiveState {
            recording: shared.recording(),
            autodj: shared.live.autodj.enabled.load(Ordering::Relaxed),
        });
        c.feedback(&shared.status(), &mut self.feedback);
        for &m in &self.feedback {
            let _ = rings.feedback.push(m);
        }
    }
}

/// Run `f` where debug builds check that it does not allocate; count what it did.
fn checked<R>(shared: &Shared, f: impl FnOnce() -> R) -> R {
    #[cfg(debug_assertions)]
    let before = assert_no_alloc::violation_count();
    let r = assert_no_alloc::assert_no_alloc(f);
    #[cfg(debug_assertions)]
    {
        let n = assert_no_alloc::violation_count().wrapping_sub(before);
        if n > 0 {
            shared
                .counters
                .midi_alloc_violations
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = shared;
    r
}

/// The MIDI dispatch thread: owns the controller, drains the rings of the current JACK
/// connection (a new pair arrives after a reconnect). Sleeps until the callback wakes it
/// (it unparks this thread after queuing events) or feedback is due.
pub(crate) fn run(
    rings: &Receiver<MidiRings>,
    controller: Option<Controller>,
    auto_mapping: bool,
    shared: &Arc<Shared>,
    stop: &AtomicBool,
) {
    let _ = shared.audio.midi_thread.set(std::thread::current());
    let mut dispatch = Dispatch::new(controller);
    let mut auto = auto_mapping.then(|| AutoMapping {
        seen: String::new(),
        last_check: Instant::now(),
    });
    let mut current: Option<MidiRings> = None;
    let mut warned = false;
    while !stop.load(Ordering::Acquire) {
        while let Ok(r) = rings.try_recv() {
            current = Some(r);
        }
        if let Some(c) = auto.as_mut().and_then(|a| a.check(shared)) {
            dispatch.controller = Some(c);
        }
        let Some(r) = current.as_mut() else {
            std::thread::park_timeout(Duration::from_millis(20));
            continue;
        };
        let done = checked(shared, || {
            let done = dispatch.drain(r, shared);
            dispatch.feedback(r, shared);
            done
        });
        dispatch.act(shared);
        let c = &shared.counters;
        c.midi_handled.fetch_add(done.handled, Ordering::Relaxed);
        c.midi_late.fetch_add(done.late, Ordering::Relaxed);
        if done.events > done.handled && !warned {
            warned = true;
            tracing::info!("MIDI arrives on midi_in but no mapping is loaded (--mapping)");
        }
        if done.events == 0 {
            std::thread::park_timeout(FEEDBACK_EVERY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::AudioShared;
    use segue_controllers::Mapping;
    use segue_engine::{Engine, EngineConfig};

    /// The real mapping layer and engine handle; events pushed as the JACK callback does.
    fn setup() -> (
        Dispatch,
        MidiRings,
        rtrb::Producer<MidiEvent>,
        Arc<Shared>,
        Engine,
    ) {
        let parts = Engine::new(EngineConfig {
            sample_rate: 48_000,
            decks: 2,
            ..EngineConfig::default()
        })
        .unwrap();
        let shared = Arc::new(Shared::new(
            parts.handle,
            segue_library::decks::DeckServiceConfig {
                decks: 2,
                rate: 48_000,
                worker_threads: 1,
                library: None,
                auto_stems: false,
            },
            Arc::new(AudioShared::default()),
            "recordings".into(),
        ));
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../controllers/mappings/example.toml"
        );
        let controller = Controller::new(Mapping::load(path).unwrap(), 2);
        let (tx, rx) = rtrb::RingBuffer::new(4096);
        let (fb_tx, _fb_rx) = rtrb::RingBuffer::new(1024);
        let rings = MidiRings {
            events: rx,
            feedback: fb_tx,
        };
        (
            Dispatch::new(Some(controller)),
            rings,
            tx,
            shared,
            parts.engine,
        )
    }

    fn ev(frame: u64, block: u32, bytes: [u8; 3]) -> MidiEvent {
        MidiEvent {
            frame,
            block,
            len: 3,
            bytes,
        }
    }

    /// Render `frames` frames (into scratch buffers).
    fn render(engine: &mut Engine, frames: usize) {
        let mut buf = vec![vec![0.0f32; frames]; 4];
        let [a, b, c, d] = &mut buf[..] else {
            unreachable!()
        };
        engine.process(
            &mut segue_engine::Outputs {
                master: [a, b],
                cue: [c, d],
            },
            frames,
        );
    }

    #[test]
    fn commands_are_timed_one_block_after_the_event() {
        assert_eq!(command_frame(&ev(1_000, 256, [0x90, 0x0B, 0x7F])), 1_256);
        let (mut d, mut rings, mut tx, shared, mut engine) = setup();
        // Deck 1's fader (CC 0x13, channel 1, in the example mapping) moved at frame 100 of
        // the block [0, 256): it must take effect at frame 356, not at a block start.
        tx.push(ev(100, 256, [0xB0, 0x13, 0x00])).unwrap();
        let done = d.drain(&mut rings, &shared);
        assert_eq!(
            done,
            Drained {
                events: 1,
                handled: 1,
                late: 0
            }
        );
        render(&mut engine, 256);
        render(&mut engine, 100); // [256, 356)
        assert_eq!(
            shared.status().decks[0].volume,
            1.0,
            "applied before frame 356"
        );
        render(&mut engine, 1); // frame 356
        assert_eq!(
            shared.status().decks[0].volume,
            0.0,
            "not applied at frame 356"
        );
    }

    #[test]
    fn a_command_for_a_block_already_started_is_counted_late() {
        let (mut d, mut rings, mut tx, shared, _engine) = setup();
        shared.audio.publish_clock(10_240, 0, 256);
        tx.push(ev(10_000, 256, [0xB0, 0x13, 0x40])).unwrap();
        assert_eq!(d.drain(&mut rings, &shared).late, 1);
        tx.push(ev(10_240, 256, [0xB0, 0x13, 0x41])).unwrap();
        assert_eq!(d.drain(&mut rings, &shared).late, 0);
    }

    #[test]
    fn dispatch_allocates_nothing_per_message() {
        let (mut d, mut rings, mut tx, shared, _engine) = setup();
        let before = assert_no_alloc::violation_count();
        for round in 0..8u64 {
            for n in 0..128u8 {
                for status in [0x90u8, 0x80, 0xB0, 0xB1, 0xE0] {
                    let _ = tx.push(ev(round * 1024 + n as u64, 256, [status, n, 0x40]));
                }
            }
            assert_no_alloc::assert_no_alloc(|| {
                d.drain(&mut rings, &shared);
                d.last_feedback = Instant::now() - FEEDBACK_EVERY;
                d.feedback(&mut rings, &shared);
            });
        }
        assert_eq!(
            assert_no_alloc::violation_count(),
            before,
            "the MIDI dispatch allocated"
        );
    }
}
