//! # segue-engine
//!
//! The real-time core of Segue: decks (transport, CDJ cue, hot cues, loops and loop roll,
//! tempo, sync, key lock, stems, trim, isolator EQ, filter), the mixer (channel faders,
//! crossfader, PFL/cue bus, master gain, limiter), two beat-synced FX units (echo,
//! ping-pong, reverb, flanger, phaser, gate, bitcrusher, roll, filter sweep) and the
//! lock-free contract with the rest of the program.
//!
//! **Guarantees.** Everything the audio thread needs is allocated in [`Engine::new`], for
//! the configured `max_block` and deck count. After that, [`Engine::process`] never
//! allocates or frees memory, takes no lock, makes no system call, logs nothing and does not
//! panic on any command: nonsense values are clamped or ignored. Commands arrive over an
//! `rtrb` ring and are applied at the exact frame they carry; status goes back through a
//! triple buffer; tracks and grids that a command replaces are handed back over a second
//! ring to a [`Collector`] and dropped there. The engine does no I/O and starts no threads.
//!
//! ```
//! use std::sync::Arc;
//! use segue_engine::{Command, Engine, EngineConfig, TrackAudio};
//!
//! let mut parts = Engine::new(EngineConfig::default()).unwrap();
//! let tone: Vec<[f32; 2]> = (0..48_000).map(|i| {
//!     let s = (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5;
//!     [s, s]
//! }).collect();
//! parts.handle.send(Command::Load { deck: 0, audio: Arc::new(TrackAudio::new(48_000, tone)) }).unwrap();
//! // Start deck 0 exactly 100 frames into the render.
//! parts.handle.send_at(100, Command::Play { deck: 0, on: true }).unwrap();
//! let out = parts.render_offline(4_800, 256, |_, _| {});
//! assert!(out.master[..100].iter().all(|f| f[0] == 0.0));
//! assert!(out.master[100][0] != 0.0 || out.master[101][0] != 0.0);
//! assert_eq!(parts.handle.status().decks[0].playing, true);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod command;
mod deck;
mod dsp;
mod engine;
mod fx;
mod handle;
mod mixer;
pub mod record;
mod render;
mod status;
mod track;

pub use command::{
    Command, CrossfaderSide, DeckId, ExternalClock, FxUnitId, Position, TempoRange, TimedCommand,
};
pub use deck::{EqBand, KeylockQuality, EQ_MAX_GAIN};
pub use dsp::{db_to_gain, gain_to_db};
pub use engine::{
    ConfigError, DeckOut, DeckTap, Engine, EngineConfig, EngineParts, Outputs,
    EXTERNAL_RESNAP_SECS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, PENDING_CAPACITY, SAMPLE_RATES,
};
pub use fx::{
    Effect, FxMode, FxSlotStatus, FxUnitStatus, ECHO_MAX_FEEDBACK, FX_MAX_BEATS, FX_MIN_BPM,
    FX_PARAMS, FX_SLOTS, FX_UNITS,
};
pub use handle::{Collector, EngineHandle, Garbage, Schedule, SendError};
pub use mixer::{channel_fader_gain, crossfader_gain};
pub use render::Rendered;
pub use status::{DeckStatus, Meter, Status, HOT_CUES, MAX_DECKS};
pub use track::{
    append_mono_finite, Beatgrid, BeatgridError, Frame, Stem, StemAudio, StemLengthMismatch,
    TrackAudio, TrackRef,
};
