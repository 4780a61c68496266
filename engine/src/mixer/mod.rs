//! The mixer after the decks: crossfader and channel-fader curves, master gain, the
//! limiter and the headphone (cue) blend.

mod crossfader;
mod limiter;

pub use crossfader::{channel_fader_gain, crossfader_gain};
pub(crate) use limiter::Limiter;
