//! # segue-daemon
//!
//! The headless performance host behind `segue serve`: audio backends (JACK, cpal/ALSA,
//! null, file), wiring of engine + controllers + background worker, configuration, signals
//! and logging.
//!
//! Must never: put its own logic on the audio path (the callback only calls
//! `Engine::process`), or crash on input from the network or a controller.
//!
//! Status: the foundation lays the crate out; the daemon is built by issue #5. Nothing here
//! is presented as working yet.
