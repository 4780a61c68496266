//! # segue-controllers
//!
//! Owns the translation between the outside world's control surfaces and the engine:
//! MIDI controllers (midir) and OSC (rosc) in, mapped onto [`segue_engine::Command`]s;
//! engine status out as LED feedback, the lighting/VJ OSC feed and MIDI clock.
//!
//! Must never: run on the audio thread, block the engine, or panic on any input (malformed
//! packets, unknown addresses and bad mappings are errors, not crashes).
//!
//! Status: the foundation lays the crate out; the MIDI/OSC layer is built by the daemon
//! issue (#5). Nothing here is presented as working yet.
