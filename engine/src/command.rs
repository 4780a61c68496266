//! The protocol from the control side to the audio thread: plain data, `Copy` fields plus
//! at most one `Arc`. Every value is sanitised by the engine (NaN, out of range, unknown
//! deck): a nonsense command is ignored or clamped, never a crash.

use std::sync::Arc;

use crate::deck::EqBand;
use crate::fx::{Effect, FxMode};
use crate::track::{Beatgrid, Stem, StemAudio, TrackAudio, TrackRef};

/// Index of a deck, `0..EngineConfig::decks`.
pub type DeckId = u8;
/// Index of an FX unit, `0..FX_UNITS` (unit 1 is 0).
pub type FxUnitId = u8;

/// A position on a track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// Frames of the track's audio (fractional allowed).
    Frames(f64),
    /// Seconds from the start of the track.
    Seconds(f64),
    /// Fractional beat index on the track's beatgrid (0 = first beat); without a grid,
    /// 120 BPM from the start of the track is assumed.
    Beats(f64),
}

/// Tempo fader range, as on a CDJ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TempoRange {
    /// ±8 %.
    #[default]
    Narrow,
    /// ±16 %.
    Medium,
    /// ±50 %.
    Wide,
}

impl TempoRange {
    /// The range in percent.
    pub fn percent(self) -> f32 {
        match self {
            TempoRange::Narrow => 8.0,
            TempoRange::Medium => 16.0,
            TempoRange::Wide => 50.0,
        }
    }
}

/// Which side of the crossfader a deck is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrossfaderSide {
    /// Left side: full at crossfader −1.
    A,
    /// Right side: full at crossfader +1.
    B,
    /// Not affected by the crossfader.
    #[default]
    Thru,
}

/// An outside beat timeline (Ableton Link): `beat` at engine frame `anchor_frame`, going
/// on at `bpm`. The engine extrapolates it frame by frame until the next one arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExternalClock {
    /// The engine frame `beat` belongs to (the frame whose audio is heard at that beat).
    pub anchor_frame: u64,
    /// Fractional beat of the timeline at `anchor_frame`.
    pub beat: f64,
    /// Tempo of the timeline, BPM (1..=999).
    pub bpm: f64,
    /// Beats per phase cycle (Link's quantum; 4 = a bar), 1..=16: the leader's phase within
    /// the bar (from its grid's downbeat) is matched to the timeline's `beat % quantum`.
    pub quantum: f64,
}

impl ExternalClock {
    /// Valid: finite, tempo 1..=999 BPM, quantum 1..=16.
    pub fn is_sane(&self) -> bool {
        self.beat.is_finite()
            && self.bpm.is_finite()
            && (1.0..=999.0).contains(&self.bpm)
            && (1.0..=16.0).contains(&self.quantum)
    }

    /// The timeline's beat at engine frame `frame` at `rate` Hz.
    pub fn beat_at(&self, frame: u64, rate: u32) -> f64 {
        self.beat
            + (frame as f64 - self.anchor_frame as f64) * self.bpm / (60.0 * rate.max(1) as f64)
    }
}

/// One instruction to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Put a track on a deck (stops it, position 0, loops and cues cleared, grid removed).
    Load {
        /// Target deck.
        deck: DeckId,
        /// The decoded audio (built off the audio thread).
        audio: Arc<TrackAudio>,
    },
    /// Remove the track from a deck.
    Eject {
        /// Target deck.
        deck: DeckId,
    },
    /// Give the deck's track a beatgrid (or remove it with `None`). Frames are the track's.
    SetBeatgrid {
        /// Target deck.
        deck: DeckId,
        /// The grid.
        grid: Option<Arc<Beatgrid>>,
    },
    /// Start (`true`) or pause (`false`) playback. Playing during a cue preview keeps it
    /// playing after the cue button is released.
    Play {
        /// Target deck.
        deck: DeckId,
        /// Play or pause.
        on: bool,
    },
    /// The CDJ cue button. Pressed while playing: return to the cue point and pause.
    /// Pressed while paused on the cue point: preview while held. Pressed while paused
    /// elsewhere: set the cue point there.
    Cue {
        /// Target deck.
        deck: DeckId,
        /// Button down (`true`) or up (`false`).
        pressed: bool,
    },
    /// Set the main cue point explicitly.
    SetCue {
        /// Target deck.
        deck: DeckId,
        /// Where.
        at: Position,
    },
    /// Jump to the main cue point (and keep playing or paused as before).
    CueReturn {
        /// Target deck.
        deck: DeckId,
    },
    /// Jump to a position (playing state unchanged).
    Seek {
        /// Target deck.
        deck: DeckId,
        /// Where.
        to: Position,
    },
    /// Tempo fader, in percent; clamped to the deck's [`TempoRange`].
    Tempo {
        /// Target deck.
        deck: DeckId,
        /// −range..=range.
        percent: f32,
    },
    /// Tempo fader range.
    TempoRange {
        /// Target deck.
        deck: DeckId,
        /// The range.
        range: TempoRange,
    },
    /// Temporary pitch bend (jog wheel / bend buttons) in percent, −10..=10, held until set
    /// back to 0.
    Bend {
        /// Target deck.
        deck: DeckId,
        /// Percent.
        percent: f32,
    },
    /// Move the playhead by a few milliseconds (beat nudge), −500..=500.
    Nudge {
        /// Target deck.
        deck: DeckId,
        /// Milliseconds, positive = later in the track.
        ms: f32,
    },
    /// Jog wheel platter touched (`true`) or released: while touched the deck follows
    /// [`Command::ScratchMove`] (forwards or backwards, stopped when held still), key lock
    /// bypassed; released, the deck continues playing or paused as before.
    Scratch {
        /// Target deck.
        deck: DeckId,
        /// Touched or released.
        on: bool,
    },
    /// Move the touched platter by this much audio, in seconds (negative = backwards,
    /// −60..=60); ignored unless [`Command::Scratch`] is on.
    ScratchMove {
        /// Target deck.
        deck: DeckId,
        /// Seconds of the track.
        seconds: f32,
    },
    /// Key lock: tempo changes keep the pitch.
    KeyLock {
        /// Target deck.
        deck: DeckId,
        /// On or off.
        on: bool,
    },
    /// Key shift in semitones, −12..=12 (uses the time-stretcher).
    KeyShift {
        /// Target deck.
        deck: DeckId,
        /// Semitones.
        semitones: f32,
    },
    /// Sync this deck's tempo and beat phase to the sync leader.
    Sync {
        /// Target deck.
        deck: DeckId,
        /// On or off.
        on: bool,
    },
    /// Choose the sync leader explicitly (`None`: automatic — the first playing deck with a
    /// beatgrid that is not itself synced).
    SyncLeader {
        /// The leader.
        deck: Option<DeckId>,
    },
    /// Follow an outside timeline (Ableton Link): the sync leader (or, with no leader, every
    /// synced deck) matches its tempo and its phase within the quantum, as a synced deck
    /// follows its leader (snapped when it engages or the leader starts, then held by rate),
    /// whatever the leader's own sync switch; decks synced to the leader follow as before.
    /// `None` lets the leader run free again. An insane clock is rejected.
    External {
        /// The timeline, or `None`.
        clock: Option<ExternalClock>,
    },
    /// Snap cue points and loop starts to the beatgrid.
    Quantize {
        /// Target deck.
        deck: DeckId,
        /// On or off.
        on: bool,
    },
    /// Start a beat loop of `beats` (1/32..=64) at the playhead (snapped to the grid when
    /// quantize is on); a loop already active is resized keeping its start.
    BeatLoop {
        /// Target deck.
        deck: DeckId,
        /// Loop length in beats.
        beats: f32,
    },
    /// Loop between two positions.
    SetLoop {
        /// Target deck.
        deck: DeckId,
        /// Loop in.
        start: Position,
        /// Loop out (must be after `start`).
        end: Position,
    },
    /// Leave the loop (the track plays on); the loop is remembered for [`Command::Reloop`].
    LoopExit {
        /// Target deck.
        deck: DeckId,
    },
    /// Re-enable the last loop (jumps to its start if the playhead is past it).
    Reloop {
        /// Target deck.
        deck: DeckId,
    },
    /// Loop roll: loop `beats` while held; on release playback continues where it would
    /// have been without the roll (slip).
    LoopRoll {
        /// Target deck.
        deck: DeckId,
        /// Roll length in beats (1/32..=64).
        beats: f32,
        /// Held (`true`) or released.
        on: bool,
    },
    /// Hot cue pad: jumps to hot cue `index` (0..8), or sets it at the playhead if empty.
    HotCue {
        /// Target deck.
        deck: DeckId,
        /// 0..=7.
        index: u8,
    },
    /// Set hot cue `index` at a position.
    SetHotCue {
        /// Target deck.
        deck: DeckId,
        /// 0..=7.
        index: u8,
        /// Where.
        at: Position,
    },
    /// Clear hot cue `index`.
    ClearHotCue {
        /// Target deck.
        deck: DeckId,
        /// 0..=7.
        index: u8,
    },
    /// Input trim in dB, −24..=12.
    Trim {
        /// Target deck.
        deck: DeckId,
        /// dB.
        db: f32,
    },
    /// Isolator EQ band gain, 0 (kill) ..= 2 (+6 dB), 1 = flat.
    Eq {
        /// Target deck.
        deck: DeckId,
        /// Band.
        band: EqBand,
        /// Linear gain.
        gain: f32,
    },
    /// One-knob filter, −1 (low-pass) ..0 (off).. 1 (high-pass).
    Filter {
        /// Target deck.
        deck: DeckId,
        /// Knob position.
        amount: f32,
    },
    /// Stem gain 0..=1 (only audible when the track has stems).
    StemGain {
        /// Target deck.
        deck: DeckId,
        /// Which stem.
        stem: Stem,
        /// Linear gain.
        gain: f32,
    },
    /// Mute or unmute a stem (keeps its gain).
    StemMute {
        /// Target deck.
        deck: DeckId,
        /// Which stem.
        stem: Stem,
        /// Muted or not.
        muted: bool,
    },
    /// A stem's own one-knob filter, −1 (low-pass) ..0 (off).. 1 (high-pass), smoothed like
    /// the deck's filter (only audible when the track has stems).
    StemFilter {
        /// Target deck.
        deck: DeckId,
        /// Which stem.
        stem: Stem,
        /// Knob position.
        amount: f32,
    },
    /// Stem swap: `stem` of deck `from` fades out while `stem` of deck `to` fades in
    /// (unmuted, to full gain), both over `beats` beats of deck `to` as heard (its grid and
    /// rate; 120 BPM without a grid; at least 10 ms), starting at the command's frame —
    /// "bass of A out while bass of B comes in" as one scheduled command. Rejected when `to`
    /// does not exist or equals `from`.
    StemSwap {
        /// The deck whose stem goes out (the command's [`Command::deck`]).
        from: DeckId,
        /// The deck whose stem comes in.
        to: DeckId,
        /// Which stem.
        stem: Stem,
        /// Fade length in beats, 0..=64.
        beats: f32,
    },
    /// Give the track on a deck the stems separated from it (by the background worker),
    /// while it plays: taken only if the deck still holds `track` (see [`TrackRef`]), the
    /// track has no stems and every stem is as long as it; otherwise the stems are handed
    /// back to the collector. The switch is sample-continuous: the stems sum to the mix and
    /// start at unity gain, then ramp to the deck's stem settings.
    AttachStems {
        /// Target deck.
        deck: DeckId,
        /// The track the stems belong to.
        track: TrackRef,
        /// The stems (built off the audio thread).
        stems: Arc<StemAudio>,
    },
    /// Channel fader, 0..=1 (shaped by the channel fader curve).
    Volume {
        /// Target deck.
        deck: DeckId,
        /// Fader position.
        level: f32,
    },
    /// Pre-fader listen: send the deck to the cue (headphone) bus.
    Pfl {
        /// Target deck.
        deck: DeckId,
        /// On or off.
        on: bool,
    },
    /// Crossfader assignment.
    CrossfaderAssign {
        /// Target deck.
        deck: DeckId,
        /// Side.
        side: CrossfaderSide,
    },
    /// Crossfader position, −1 (A) ..= 1 (B).
    Crossfader {
        /// Position.
        position: f32,
    },
    /// Crossfader curve, 0 (smooth, constant power) ..= 1 (sharp cut for scratching).
    CrossfaderCurve {
        /// Curve.
        curve: f32,
    },
    /// Channel fader curve, 0 (slow start) .. 0.5 (linear) .. 1 (fast start).
    ChannelFaderCurve {
        /// Curve.
        curve: f32,
    },
    /// Master gain, linear 0..=2.
    MasterGain {
        /// Gain.
        gain: f32,
    },
    /// Headphone blend: 0 = cue bus only, 1 = master only.
    CueMix {
        /// Blend.
        mix: f32,
    },
    /// Headphone gain, linear 0..=2.
    HeadphoneGain {
        /// Gain.
        gain: f32,
    },
    /// FX unit on/off. Off mutes the effects' input: echoes and reverb ring out.
    FxOn {
        /// Unit, `0..FX_UNITS`.
        unit: FxUnitId,
        /// On or off.
        on: bool,
    },
    /// One effect (slot 0 with its three knobs) or a chain of the three slots.
    FxMode {
        /// Unit.
        unit: FxUnitId,
        /// Mode.
        mode: FxMode,
    },
    /// Choose a slot's effect (`None`: empty); resets the slot's beats and knobs to the
    /// effect's defaults. A replaced echo or reverb rings out. Never allocates.
    FxSelect {
        /// Unit.
        unit: FxUnitId,
        /// Slot, `0..FX_SLOTS`.
        slot: u8,
        /// The effect.
        effect: Option<Effect>,
    },
    /// A slot's own on switch (used in [`FxMode::Chain`]; slots start on).
    FxSlotOn {
        /// Unit.
        unit: FxUnitId,
        /// Slot.
        slot: u8,
        /// On or off.
        on: bool,
    },
    /// Dry/wet of a unit, 0 (dry) ..= 1 (wet); for echo and reverb the dry stays and the
    /// knob sets the effect's level.
    FxMix {
        /// Unit.
        unit: FxUnitId,
        /// Mix.
        mix: f32,
    },
    /// One of a slot's knobs, 0..=1 (meaning per [`Effect`]).
    FxParam {
        /// Unit.
        unit: FxUnitId,
        /// Slot.
        slot: u8,
        /// Knob, `0..FX_PARAMS`.
        param: u8,
        /// Value.
        value: f32,
    },
    /// A slot's beat length: delay time, gate/roll period, LFO period (1/16..=32, each
    /// effect clamps to its own range, see [`Effect`]).
    FxBeats {
        /// Unit.
        unit: FxUnitId,
        /// Slot.
        slot: u8,
        /// Beats.
        beats: f32,
    },
    /// Route a deck through a unit (or not).
    FxAssign {
        /// Unit.
        unit: FxUnitId,
        /// Deck.
        deck: DeckId,
        /// Assigned or not.
        on: bool,
    },
    /// Route the master through a unit (its deck assignments are then ignored).
    FxAssignMaster {
        /// Unit.
        unit: FxUnitId,
        /// Assigned or not.
        on: bool,
    },
}

impl Command {
    /// The deck the command addresses, if any.
    pub fn deck(&self) -> Option<DeckId> {
        use Command::*;
        match *self {
            Load { deck, .. }
            | Eject { deck }
            | SetBeatgrid { deck, .. }
            | Play { deck, .. }
            | Cue { deck, .. }
            | SetCue { deck, .. }
            | CueReturn { deck }
            | Seek { deck, .. }
            | Tempo { deck, .. }
            | TempoRange { deck, .. }
            | Bend { deck, .. }
            | Nudge { deck, .. }
            | Scratch { deck, .. }
            | ScratchMove { deck, .. }
            | KeyLock { deck, .. }
            | KeyShift { deck, .. }
            | Sync { deck, .. }
            | Quantize { deck, .. }
            | BeatLoop { deck, .. }
            | SetLoop { deck, .. }
            | LoopExit { deck }
            | Reloop { deck }
            | LoopRoll { deck, .. }
            | HotCue { deck, .. }
            | SetHotCue { deck, .. }
            | ClearHotCue { deck, .. }
            | Trim { deck, .. }
            | Eq { deck, .. }
            | Filter { deck, .. }
            | StemGain { deck, .. }
            | StemMute { deck, .. }
            | StemFilter { deck, .. }
            | StemSwap { from: deck, .. }
            | AttachStems { deck, .. }
            | Volume { deck, .. }
            | Pfl { deck, .. }
            | CrossfaderAssign { deck, .. }
            | FxAssign { deck, .. } => Some(deck),
            SyncLeader { .. }
            | External { .. }
            | Crossfader { .. }
            | CrossfaderCurve { .. }
            | ChannelFaderCurve { .. }
            | MasterGain { .. }
            | CueMix { .. }
            | HeadphoneGain { .. }
            | FxOn { .. }
            | FxMode { .. }
            | FxSelect { .. }
            | FxSlotOn { .. }
            | FxMix { .. }
            | FxParam { .. }
            | FxBeats { .. }
            | FxAssignMaster { .. } => None,
        }
    }
}

/// A command with the engine frame at which it takes effect.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedCommand {
    /// Absolute engine frame (see `Status::frame`); `None` = at the start of the next block.
    /// A frame already past is applied at the start of the next block.
    pub at: Option<u64>,
    /// The command.
    pub command: Command,
}
