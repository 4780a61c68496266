//! The control side's end of the engine: send commands, read status, and collect what the
//! audio thread hands back for dropping.

use std::sync::Arc;

use crate::command::{Command, TimedCommand};
use crate::status::Status;
use crate::track::{Beatgrid, StemAudio, TrackAudio};

/// Something the audio thread no longer needs; dropped by the collector, never on the audio
/// thread.
#[derive(Debug)]
pub enum Garbage {
    /// A track replaced or ejected.
    Track(Arc<TrackAudio>),
    /// A beatgrid replaced or removed.
    Grid(Arc<Beatgrid>),
    /// Stems attached to a deck's track, replaced or refused.
    Stems(Arc<StemAudio>),
}

/// Why a command was not queued.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// The command ring is full (the audio thread is not running or far behind). The
    /// command is handed back.
    Full(TimedCommand),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the engine's command queue is full (is the audio thread running?)")
    }
}

impl std::error::Error for SendError {}

/// Something commands can be queued into: the control side's [`EngineHandle`] (through the
/// ring) or, on the audio thread, the [`Engine`](crate::Engine) itself (no ring). Code that
/// sends commands and may run on either side (a plugin's host sync, a test) takes this.
pub trait Schedule {
    /// Queue a timed command.
    fn send_timed(&mut self, command: TimedCommand) -> Result<(), SendError>;

    /// Queue a command for the start of the next block.
    fn send(&mut self, command: Command) -> Result<(), SendError> {
        self.send_timed(TimedCommand { at: None, command })
    }

    /// Queue a command for engine frame `frame` (sample-accurate).
    fn send_at(&mut self, frame: u64, command: Command) -> Result<(), SendError> {
        self.send_timed(TimedCommand {
            at: Some(frame),
            command,
        })
    }
}

impl Schedule for EngineHandle {
    fn send_timed(&mut self, command: TimedCommand) -> Result<(), SendError> {
        EngineHandle::send_timed(self, command)
    }
}

/// Control-side handle: one per engine, used from one control thread at a time.
pub struct EngineHandle {
    commands: rtrb::Producer<TimedCommand>,
    status: triple_buffer::Output<Status>,
}

impl EngineHandle {
    pub(crate) fn new(
        commands: rtrb::Producer<TimedCommand>,
        status: triple_buffer::Output<Status>,
    ) -> Self {
        Self { commands, status }
    }

    /// Queue a command for the start of the next block.
    pub fn send(&mut self, command: Command) -> Result<(), SendError> {
        self.send_timed(TimedCommand { at: None, command })
    }

    /// Queue a command for engine frame `frame` (sample-accurate).
    pub fn send_at(&mut self, frame: u64, command: Command) -> Result<(), SendError> {
        self.send_timed(TimedCommand {
            at: Some(frame),
            command,
        })
    }

    /// Queue a timed command.
    pub fn send_timed(&mut self, command: TimedCommand) -> Result<(), SendError> {
        self.commands
            .push(command)
            .map_err(|rtrb::PushError::Full(c)| SendError::Full(c))
    }

    /// Free slots in the command ring.
    pub fn free_slots(&self) -> usize {
        self.commands.slots()
    }

    /// The latest status the audio thread published.
    pub fn status(&mut self) -> Status {
        *self.status.read()
    }
}

/// Receives what the audio thread hands back and drops it. Call [`Collector::collect`]
/// regularly from a control thread, or [`Collector::spawn`] a thread that does.
pub struct Collector {
    garbage: rtrb::Consumer<Garbage>,
}

impl Collector {
    pub(crate) fn new(garbage: rtrb::Consumer<Garbage>) -> Self {
        Self { garbage }
    }

    /// Drop everything handed back so far; returns how many objects.
    pub fn collect(&mut self) -> usize {
        let mut n = 0;
        while let Ok(g) = self.garbage.pop() {
            drop(g);
            n += 1;
        }
        n
    }

    /// Run the collector on its own thread, polling every 20 ms until the engine is dropped.
    pub fn spawn(mut self) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("segue-collector".into())
            .spawn(move || loop {
                self.collect();
                if self.garbage.is_abandoned() {
                    self.collect();
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            })
    }
}
