//! # segue-engine
mod track;
pub use track::{Beatgrid, BeatgridError, Frame, Stem, StemLengthMismatch, TrackAudio};
