//! What the audio thread reports back after every block: a plain `Copy` snapshot, published
//! lock-free (triple buffer) and read by the control side whenever it likes.

use crate::fx::{FxUnitStatus, FX_UNITS};

/// The most decks an engine can have.
pub const MAX_DECKS: usize = 8;
/// Hot cues per deck.
pub const HOT_CUES: usize = 8;

/// Level meter of a stereo signal over the last block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Meter {
    /// Peak absolute sample value.
    pub peak: f32,
    /// RMS over both channels.
    pub rms: f32,
}

/// One deck's state.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DeckStatus {
    /// A track is loaded.
    pub loaded: bool,
    /// Loads and ejects applied to this deck so far (wrapping): a change means the deck's
    /// transport was reset (stopped, at the start of a new track or empty).
    pub loads: u32,
    /// The track plays from stems: its own (files beside it) or stems separated after it
    /// was loaded ([`crate::Command::AttachStems`]).
    pub has_stems: bool,
    /// The track has a beatgrid.
    pub has_grid: bool,
    /// Playing (including a cue or hot cue preview).
    pub playing: bool,
    /// The cue button is held in preview.
    pub previewing: bool,
    /// Position heard now, in track frames.
    pub position: f64,
    /// Position in seconds.
    pub position_secs: f64,
    /// Track length in seconds.
    pub duration_secs: f64,
    /// Fractional beat index at the position (grid, or 120 BPM without one).
    pub beat: f64,
    /// Beat inside the bar, 0-based (0 = downbeat).
    pub beat_in_bar: u32,
    /// Bar number (0 = the grid's reference bar; negative before it).
    pub bar: i64,
    /// The track's own tempo at the position (BPM, 0 without a grid).
    pub native_bpm: f64,
    /// Tempo heard: native BPM × playback rate.
    pub bpm: f64,
    /// Playback rate (1.0 = original speed).
    pub rate: f64,
    /// Tempo fader in percent.
    pub tempo_percent: f32,
    /// Key lock on.
    pub key_lock: bool,
    /// Key shift in semitones.
    pub key_shift: f32,
    /// The time-stretcher is running (key lock engaged at a rate ≠ 1, or a key shift).
    pub stretching: bool,
    /// Sync on.
    pub sync: bool,
    /// This deck is the sync leader.
    pub sync_leader: bool,
    /// A loop (or roll) is active.
    pub looping: bool,
    /// A loop roll is held.
    pub rolling: bool,
    /// Loop in, frames (meaningful when `looping`, or the remembered loop).
    pub loop_start: f64,
    /// Loop out, frames.
    pub loop_end: f64,
    /// Main cue point, frames.
    pub cue_point: f64,
    /// Hot cues, frames.
    pub hot_cues: [Option<f64>; HOT_CUES],
    /// Channel fader position, 0..1.
    pub volume: f32,
    /// EQ band gains (low, mid, high), 0 = kill, 1 = flat.
    pub eq: [f32; 3],
    /// One-knob filter position, −1..1.
    pub filter: f32,
    /// Stem gains (drums, bass, other, vocals), 0 when muted.
    pub stems: [f32; 4],
    /// Stem filter knobs (drums, bass, other, vocals), −1 (low-pass) ..0 (off).. 1 (high-pass).
    pub stem_filters: [f32; 4],
    /// Pre-fader listen.
    pub pfl: bool,
    /// Channel level (post trim and EQ, pre fader).
    pub meter: Meter,
    /// Playback reached the end of the track and stopped.
    pub at_end: bool,
    /// The platter is touched (jog-wheel scratch).
    pub scratching: bool,
}

/// The whole engine's state after a block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Status {
    /// Engine frames rendered so far (the timestamp of the next block's first frame).
    pub frame: u64,
    /// Engine sample rate.
    pub sample_rate: u32,
    /// Number of decks in use.
    pub deck_count: usize,
    /// Deck states (`deck_count` of them are meaningful).
    pub decks: [DeckStatus; MAX_DECKS],
    /// Master level after the limiter.
    pub master: Meter,
    /// Limiter gain reduction at the end of the block, dB (0 = none).
    pub limiter_reduction_db: f32,
    /// The deck the audience hears most (playing, loudest through faders), if any.
    pub on_air: Option<u8>,
    /// The sync leader now, if any.
    pub sync_leader: Option<u8>,
    /// Crossfader position.
    pub crossfader: f32,
    /// Commands received so far.
    pub commands_applied: u64,
    /// Commands that addressed a deck that does not exist, or made no sense, and were dropped.
    pub commands_rejected: u64,
    /// The FX units.
    pub fx: [FxUnitStatus; FX_UNITS],
}

impl Default for Status {
    fn default() -> Self {
        Self {
            frame: 0,
            sample_rate: 0,
            deck_count: 0,
            decks: [DeckStatus::default(); MAX_DECKS],
            master: Meter::default(),
            limiter_reduction_db: 0.0,
            on_air: None,
            sync_leader: None,
            crossfader: 0.0,
            commands_applied: 0,
            commands_rejected: 0,
            fx: [FxUnitStatus::default(); FX_UNITS],
        }
    }
}
