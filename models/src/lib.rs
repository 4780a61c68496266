//! # segue-models
//!
//! Everything slow, off the audio thread: decoding audio files into [`TrackAudio`],
//! synthesising the demo material, writing WAV files, rendering offline transitions
//! ([`mixdown`]); later the Musical DNA analysis,
//! stem separation, the similarity index, mix plans, the library store and the background
//! worker.
//!
//! Must never: run on the audio thread or hold anything the audio thread waits for. Results
//! reach the engine only as data inside `segue_engine::Command`s.
//!
//! [`TrackAudio`]: segue_engine::TrackAudio

pub mod analysis;
pub mod decode;
pub mod demo;
mod error;
pub mod eval;
pub mod library;
pub mod mixdown;
pub mod music;
pub mod wav;
pub mod worker;

pub use error::ModelsError;
