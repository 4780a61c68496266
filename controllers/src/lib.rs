//! # segue-controllers
//!
//! Segue's **control vocabulary** and its hardware control surfaces. A [`Target`] (what a
//! control drives, by a stable name) and a [`Value`] (a press or a number) become an engine
//! [`segue_engine::Command`] in one place, [`Target::command`]; the daemon's OSC addresses,
//! MIDI mappings and the plugin's parameters all use it, with one set of names (older
//! spellings are [`TARGET_ALIASES`]).
//!
//! On top of it: **MIDI controller mappings** (a documented TOML
//! format, and an importer for Mixxx `.midi.xml` mappings), the [`Controller`] that turns
//! MIDI bytes into [`segue_engine::Command`]s and engine status back into LED/meter
//! messages, the MIDI-learn heuristics ([`learn`]: which kind of control sent a burst of
//! messages, and its mapping entry), a [`MidiClock`] generator, and MIDI port I/O through
//! `midir` (`io`, the default feature; JACK MIDI on Linux). The daemon (`segue-daemon`) runs these against its
//! JACK MIDI ports; `segue midi …` uses them for list / monitor / learn / import.
//!
//! **Guarantees.** [`Controller::handle`] and [`Controller::feedback`] are pure (no I/O, no
//! threads) and allocate nothing besides growing the output `Vec` they are given, so the
//! daemon can call them from its MIDI dispatch thread. Only [`MidiClock`] runs on the
//! audio thread (the daemon's JACK callback), through the allocation-free
//! [`MidiClock::advance_with`]. Nothing here panics on input: malformed MIDI is ignored; a malformed mapping file is a
//! [`MappingError`] with the line, column and reason.
//!
//! ```
//! use segue_controllers::{Controller, Mapping};
//! use segue_engine::{Command, Status};
//!
//! let mapping = Mapping::from_str(r#"
//!     name = "two faders"
//!     [[control]]
//!     cc = 0x13
//!     channel = 1
//!     type = "fader"
//!     target = "volume"
//!     deck = 1
//!
//!     [[control]]
//!     cc = 0x14
//!     type = "fader"
//!     target = "crossfader"
//! "#).unwrap();
//! let mut controller = Controller::new(mapping, 2);
//! let mut commands = Vec::new();
//! controller.handle(&[0xB0, 0x13, 127], &Status::default(), &mut commands);
//! controller.handle(&[0xB0, 0x14, 64], &Status::default(), &mut commands);
//! assert_eq!(commands, vec![
//!     Command::Volume { deck: 0, level: 1.0 },
//!     Command::Crossfader { position: 0.0 },
//! ]);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod builtin;
mod clock;
mod controller;
#[cfg(feature = "io")]
pub mod io;
pub mod learn;
mod mapping;
mod message;
pub mod mixxx;
mod target;

pub use clock::{ClockEvent, MidiClock};
pub use controller::{Controller, BEND_BUTTON_PERCENT, SECONDS_PER_REV};
pub use mapping::{Control, ControlType, Mapping, MappingError, Output, Shift};
pub use message::{Address, Encoding, MidiKind, MidiMessage};
pub use target::{
    effect_number, effect_of_number, LiveAction, LiveState, Source, Target, TargetKind, Value,
    SUGGESTION_TARGETS, TARGET_ALIASES,
};
