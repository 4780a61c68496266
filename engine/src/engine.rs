//! The engine: owns the decks and the mixer, applies commands at their frame, renders
//! blocks, publishes status. `process` reads as the list of its steps.

use crate::command::{Command, TimedCommand};
use crate::deck::{Deck, KeylockQuality, Released, SyncRef, MAX_RELEASED};
use crate::dsp::{sane, Smoothed};
use crate::fx::{DeckClock, FxControl, FxRack};
use crate::handle::{Collector, EngineHandle, Garbage, Schedule, SendError};
use crate::mixer::{channel_fader_gain, crossfader_gain, Limiter};
use crate::status::{Meter, Status, MAX_DECKS};
use crate::track::Frame;

/// The lowest sample rate (Hz) the engine runs at.
pub const MIN_SAMPLE_RATE: u32 = 22_050;
/// The highest sample rate (Hz) the engine runs at.
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// Sample rates the engine runs at: any whole rate from 22 050 to 384 000 Hz. Every filter,
/// smoother, limiter, effect and the stretcher is built from the rate (corner frequencies
/// and time constants in Hz and seconds, not in samples), and what is preallocated from
/// a duration (delay and roll lines, the stretcher's scratch) is sized at construction for
/// the rate in use.
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE;
/// Scheduled commands the engine holds at once (beyond that, the ring holds them back).
pub const PENDING_CAPACITY: usize = 1024;

/// How to build an engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    /// Any rate in [`SAMPLE_RATES`] (22 050..=384 000 Hz).
    pub sample_rate: u32,
    /// Largest block `process` renders in one go (bigger requests are split), 16..=8192.
    pub max_block: usize,
    /// Number of decks, 1..=8.
    pub decks: usize,
    /// Time-stretcher quality for key lock.
    pub keylock_quality: KeylockQuality,
    /// Capacity of the command ring.
    pub command_capacity: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            sample_rate: 48_000,
            max_block: 1024,
            decks: 4,
            keylock_quality: KeylockQuality::default(),
            command_capacity: 4096,
        }
    }
}

/// An [`EngineConfig`] the engine cannot run with.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// Outside [`SAMPLE_RATES`].
    SampleRate(u32),
    /// `max_block` outside 16..=8192.
    MaxBlock(usize),
    /// Deck count outside 1..=8.
    Decks(usize),
    /// Command capacity outside 16..=1 000 000.
    CommandCapacity(usize),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::SampleRate(r) => write!(
                f,
                "unsupported sample rate {r} Hz (the engine runs at {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)"
            ),
            ConfigError::MaxBlock(b) => write!(f, "block size {b} is outside 16..=8192 frames"),
            ConfigError::Decks(d) => write!(f, "{d} decks: the engine runs 1 to {MAX_DECKS}"),
            ConfigError::CommandCapacity(c) => {
                write!(f, "command queue capacity {c} is outside 16..=1000000")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Output buffers for one `process` call: planar stereo master and cue (headphone) buses.
pub struct Outputs<'a> {
    /// Master left and right.
    pub master: [&'a mut [f32]; 2],
    /// Cue/headphone left and right.
    pub cue: [&'a mut [f32]; 2],
}

/// Where the per-deck outputs of [`Engine::process_with_decks`] tap a deck's signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeckTap {
    /// After trim, EQ, filter and stems, before the channel fader and the crossfader: what an
    /// external (hardware or DAW) mixer expects on its channel inputs.
    #[default]
    PreFader,
    /// After the channel fader and the crossfader too: the deck's share of the master bus
    /// before the master gain and the limiter (multitrack recording of a mix).
    PostFader,
}

/// One deck's planar stereo output buffers (left, right).
pub type DeckOut<'a> = [&'a mut [f32]; 2];

/// The three ends of a new engine.
pub struct EngineParts {
    /// Goes to the audio thread.
    pub engine: Engine,
    /// Stays on the control side.
    pub handle: EngineHandle,
    /// Drops what the audio thread hands back (run it on its own thread or call it).
    pub collector: Collector,
}

/// The audio thread's own way in: [`Engine::schedule`].
impl Schedule for Engine {
    fn send_timed(&mut self, command: TimedCommand) -> Result<(), SendError> {
        self.schedule(command)
    }
}

/// The real-time mixing engine.
pub struct Engine {
    rate: u32,
    max_block: usize,
    decks: Vec<Deck>,
    commands: rtrb::Consumer<TimedCommand>,
    /// Commands waiting for their frame, sorted by frame (stable for equal frames).
    pending: Vec<(u64, Command)>,
    garbage: rtrb::Producer<Garbage>,
    status: triple_buffer::Input<Status>,
    /// The status published last (the audio thread's own copy).
    last: Status,
    clock: u64,

    leader_choice: Option<u8>,
    leader: Option<usize>,
    /// The outside timeline the leader follows (Ableton Link), if any.
    external: Option<crate::command::ExternalClock>,
    /// The deck that followed `external` in the last piece and whether it was playing:
    /// a new leader, or one that just started, snaps to the timeline's phase.
    external_follower: Option<(usize, bool)>,
    crossfader: f32,
    crossfader_curve: f32,
    channel_curve: f32,
    master_gain: Smoothed,
    cue_mix: Smoothed,
    headphone_gain: Smoothed,
    limiter: Limiter,
    fx: FxRack,

    master_peak: f32,
    master_sq: f64,
    master_frames: usize,
    applied: u64,
    rejected: u64,
}

/// A deck following an outside timeline ([`Command::External`]) jumps back onto it when it
/// is further off than this (1 ms, the tolerance Link promises between peers), instead of
/// closing the gap by rate: after an xrun or a late audio cycle (the engine's clock stood
/// still while the timeline went on) or a Link peer forcing the beat. Ordinary phase errors
/// stay far below (tens of µs).
pub const EXTERNAL_RESNAP_SECS: f64 = 0.001;

impl Engine {
    /// Build an engine; everything the audio thread will need is allocated here.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(config: EngineConfig) -> Result<EngineParts, ConfigError> {
        let c = config;
        if !SAMPLE_RATES.contains(&c.sample_rate) {
            return Err(ConfigError::SampleRate(c.sample_rate));
        }
        if !(16..=8192).contains(&c.max_block) {
            return Err(ConfigError::MaxBlock(c.max_block));
        }
        if !(1..=MAX_DECKS).contains(&c.decks) {
            return Err(ConfigError::Decks(c.decks));
        }
        if !(16..=1_000_000).contains(&c.command_capacity) {
            return Err(ConfigError::CommandCapacity(c.command_capacity));
        }
        let (cmd_tx, cmd_rx) = rtrb::RingBuffer::new(c.command_capacity);
        // Every command can release at most MAX_RELEASED objects (track, grid, stems).
        let (garbage_tx, garbage_rx) = rtrb::RingBuffer::new(256);
        let (status_in, status_out) = triple_buffer::triple_buffer(&Status::default());
        let ramp = |secs: f64| ((c.sample_rate as f64 * secs) as u32).max(1);
        let mut engine = Engine {
            rate: c.sample_rate,
            max_block: c.max_block,
            decks: (0..c.decks)
                .map(|_| Deck::new(c.sample_rate, c.max_block, c.keylock_quality))
                .collect(),
            commands: cmd_rx,
            pending: Vec::with_capacity(PENDING_CAPACITY),
            garbage: garbage_tx,
            status: status_in,
            last: Status::default(),
            clock: 0,
            leader_choice: None,
            leader: None,
            external: None,
            external_follower: None,
            crossfader: 0.0,
            crossfader_curve: 0.0,
            channel_curve: 0.5,
            master_gain: Smoothed::new(1.0, ramp(0.01)),
            cue_mix: Smoothed::new(0.0, ramp(0.01)),
            headphone_gain: Smoothed::new(1.0, ramp(0.01)),
            limiter: Limiter::new(c.sample_rate),
            fx: FxRack::new(c.sample_rate, c.max_block),
            master_peak: 0.0,
            master_sq: 0.0,
            master_frames: 0,
            applied: 0,
            rejected: 0,
        };
        engine.publish();
        Ok(EngineParts {
            engine,
            handle: EngineHandle::new(cmd_tx, status_out),
            collector: Collector::new(garbage_rx),
        })
    }

    /// Engine sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Frames rendered so far: the timestamp of the next block's first frame.
    pub fn frame(&self) -> u64 {
        self.clock
    }

    /// The status published after the last block, as the control side reads it: for code
    /// that runs on the audio thread beside `process` (a plugin's parameter handling).
    pub fn status(&self) -> &Status {
        &self.last
    }

    /// Queue a command from the audio thread itself, the thread that calls `process`: it
    /// goes straight into the engine's time-ordered list, not through the control side's
    /// ring, so a shell's own commands and the control side's share one queue. Real-time
    /// safe; hands the command back when the list is full.
    pub fn schedule(&mut self, command: TimedCommand) -> Result<(), SendError> {
        if self.pending.len() >= PENDING_CAPACITY {
            return Err(SendError::Full(command));
        }
        self.enqueue(command);
        Ok(())
    }

    /// Into the pending list, in frame order; the caller checked the capacity.
    fn enqueue(&mut self, TimedCommand { at, command }: TimedCommand) {
        let at = at.unwrap_or(self.clock).max(self.clock);
        let i = self.pending.partition_point(|&(t, _)| t <= at);
        // Within capacity: no allocation.
        self.pending.insert(i, (at, command));
    }

    /// Render `frames` frames into `out` (fewer if a buffer is shorter). Real-time safe:
    /// no allocation, locking, blocking or panicking, whatever the commands say.
    pub fn process(&mut self, out: &mut Outputs<'_>, frames: usize) {
        self.process_with_decks(out, &mut [], DeckTap::PreFader, frames);
    }

    /// [`process`](Self::process), and also write each deck's own signal, tapped at `tap`,
    /// into `decks[i]` (deck `i`; decks beyond the slice have no output, slices beyond the
    /// deck count are filled with silence). Deck outputs are finite and clamped to [-1, 1]
    /// (there is no limiter on them). Real-time safe like `process`.
    pub fn process_with_decks(
        &mut self,
        out: &mut Outputs<'_>,
        decks: &mut [DeckOut<'_>],
        tap: DeckTap,
        frames: usize,
    ) {
        let frames = out
            .master
            .iter()
            .chain(out.cue.iter())
            .chain(decks.iter().flatten())
            .fold(frames, |n, b| n.min(b.len()));
        for extra in decks.iter_mut().skip(self.decks.len()) {
            for ch in extra.iter_mut() {
                ch[..frames].fill(0.0);
            }
        }
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(self.max_block);
            self.process_chunk(out, decks, tap, done, n);
            done += n;
        }
        self.publish();
    }

    /// One chunk of at most `max_block` frames: split at command timestamps, apply the
    /// commands due at each split, render the piece in between.
    fn process_chunk(
        &mut self,
        out: &mut Outputs<'_>,
        decks: &mut [DeckOut<'_>],
        tap: DeckTap,
        offset: usize,
        n: usize,
    ) {
        self.fetch_commands();
        let mut s = 0;
        while s < n {
            let now = self.clock + s as u64;
            let deferred = self.apply_due(now);
            let e = match self.pending.first() {
                Some(&(t, _)) if !deferred && t > now => n.min(s + (t - now) as usize),
                _ => n,
            };
            self.update_rates(now);
            self.render(out, decks, tap, offset + s, e - s);
            s = e;
        }
        self.clock += n as u64;
    }

    /// Move commands from the ring into the time-ordered pending list.
    fn fetch_commands(&mut self) {
        while self.pending.len() < PENDING_CAPACITY {
            let Ok(command) = self.commands.pop() else {
                break;
            };
            self.enqueue(command);
        }
    }

    /// Apply every pending command due at or before `now`. Returns true if one had to wait
    /// (no room to hand back what it replaces); it and those after it wait for the next
    /// chunk.
    fn apply_due(&mut self, now: u64) -> bool {
        while let Some(&(t, _)) = self.pending.first() {
            if t > now {
                return false;
            }
            if may_release(&self.pending[0].1) && self.garbage.slots() < MAX_RELEASED {
                return true;
            }
            let (_, cmd) = self.pending.remove(0);
            self.apply(cmd);
        }
        false
    }

    fn apply(&mut self, cmd: Command) {
        if let Some(d) = cmd.deck() {
            if d as usize >= self.decks.len() {
                self.rejected += 1;
                self.discard(cmd);
                return;
            }
        }
        self.applied += 1;
        use Command::*;
        match cmd {
            Load { deck, audio } => {
                for r in self.decks[deck as usize].load(audio) {
                    self.release(r);
                }
            }
            Eject { deck } => {
                for r in self.decks[deck as usize].eject() {
                    self.release(r);
                }
            }
            AttachStems { deck, track, stems } => {
                let (r, taken) = self.decks[deck as usize].attach_stems(track, stems);
                self.release(r);
                if !taken {
                    self.applied -= 1;
                    self.rejected += 1;
                }
            }
            SetBeatgrid { deck, grid } => {
                let old = self.decks[deck as usize].set_grid(grid);
                self.release(old);
            }
            Play { deck, on } => self.decks[deck as usize].play(on),
            Cue { deck, pressed } => self.decks[deck as usize].cue_button(pressed),
            SetCue { deck, at } => self.decks[deck as usize].set_cue(at),
            CueReturn { deck } => self.decks[deck as usize].cue_return(),
            Seek { deck, to } => self.decks[deck as usize].seek(to),
            Tempo { deck, percent } => self.decks[deck as usize].set_tempo(percent),
            TempoRange { deck, range } => self.decks[deck as usize].set_tempo_range(range),
            Bend { deck, percent } => self.decks[deck as usize].set_bend(percent),
            Nudge { deck, ms } => self.decks[deck as usize].nudge(ms),
            Scratch { deck, on } => self.decks[deck as usize].scratch(on),
            ScratchMove { deck, seconds } => self.decks[deck as usize].scratch_move(seconds),
            KeyLock { deck, on } => self.decks[deck as usize].set_key_lock(on),
            KeyShift { deck, semitones } => self.decks[deck as usize].set_key_shift(semitones),
            Sync { deck, on } => self.decks[deck as usize].set_sync(on),
            SyncLeader { deck } => {
                self.leader_choice = deck.filter(|&d| (d as usize) < self.decks.len())
            }
            External { clock } => match clock {
                Some(c) if !c.is_sane() => {
                    self.applied -= 1;
                    self.rejected += 1;
                }
                c => {
                    if c.is_none() {
                        self.external_follower = None;
                    }
                    self.external = c;
                }
            },
            Quantize { deck, on } => self.decks[deck as usize].set_quantize(on),
            BeatLoop { deck, beats } => self.decks[deck as usize].beat_loop(beats),
            SetLoop { deck, start, end } => self.decks[deck as usize].set_loop(start, end),
            LoopExit { deck } => self.decks[deck as usize].loop_exit(),
            Reloop { deck } => self.decks[deck as usize].reloop(),
            LoopRoll { deck, beats, on } => self.decks[deck as usize].loop_roll(beats, on),
            HotCue { deck, index } => self.decks[deck as usize].hot_cue(index),
            SetHotCue { deck, index, at } => self.decks[deck as usize].set_hot_cue(index, at),
            ClearHotCue { deck, index } => self.decks[deck as usize].clear_hot_cue(index),
            Trim { deck, db } => self.decks[deck as usize].set_trim(db),
            Eq { deck, band, gain } => self.decks[deck as usize].set_eq(band, gain),
            Filter { deck, amount } => self.decks[deck as usize].set_filter(amount),
            StemGain { deck, stem, gain } => {
                self.decks[deck as usize].set_stem_gain(stem as usize, gain)
            }
            StemMute { deck, stem, muted } => {
                self.decks[deck as usize].set_stem_mute(stem as usize, muted)
            }
            StemFilter { deck, stem, amount } => {
                self.decks[deck as usize].set_stem_filter(stem as usize, amount)
            }
            StemSwap {
                from,
                to,
                stem,
                beats,
            } => self.stem_swap(from as usize, to as usize, stem as usize, beats),
            Volume { deck, level } => self.decks[deck as usize].set_volume(level),
            Pfl { deck, on } => self.decks[deck as usize].pfl = on,
            CrossfaderAssign { deck, side } => self.decks[deck as usize].side = side,
            Crossfader { position } => self.crossfader = sane(position, -1.0, 1.0, self.crossfader),
            CrossfaderCurve { curve } => {
                self.crossfader_curve = sane(curve, 0.0, 1.0, self.crossfader_curve)
            }
            ChannelFaderCurve { curve } => {
                self.channel_curve = sane(curve, 0.0, 1.0, self.channel_curve)
            }
            MasterGain { gain } => self.master_gain.set(sane(gain, 0.0, 2.0, 1.0)),
            CueMix { mix } => self.cue_mix.set(sane(mix, 0.0, 1.0, 0.0)),
            HeadphoneGain { gain } => self.headphone_gain.set(sane(gain, 0.0, 2.0, 1.0)),
            FxOn { unit, on } => self.fx_control(unit, FxControl::On(on)),
            FxMode { unit, mode } => self.fx_control(unit, FxControl::Mode(mode)),
            FxSelect { unit, slot, effect } => {
                self.fx_control(unit, FxControl::Select(slot, effect))
            }
            FxSlotOn { unit, slot, on } => self.fx_control(unit, FxControl::SlotOn(slot, on)),
            FxMix { unit, mix } => self.fx_control(unit, FxControl::Mix(mix)),
            FxParam {
                unit,
                slot,
                param,
                value,
            } => self.fx_control(unit, FxControl::Param(slot, param, value)),
            FxBeats { unit, slot, beats } => self.fx_control(unit, FxControl::Beats(slot, beats)),
            FxAssign { unit, deck, on } => self.fx_control(unit, FxControl::Assign(deck, on)),
            FxAssignMaster { unit, on } => self.fx_control(unit, FxControl::AssignMaster(on)),
        }
    }

    /// `stem` of deck `from` out, of deck `to` in, over `beats` beats of `to` as heard.
    fn stem_swap(&mut self, from: usize, to: usize, stem: usize, beats: f32) {
        if to >= self.decks.len() || to == from {
            self.applied -= 1;
            self.rejected += 1;
            return;
        }
        let beats = f64::from(sane(beats, 0.0, 64.0, 0.0));
        let frames = (beats * self.decks[to].heard_beat_frames()).min(f64::from(u32::MAX)) as u32;
        self.decks[from].stem_fade(stem, 0.0, frames);
        self.decks[to].stem_fade(stem, 1.0, frames);
    }

    /// An FX control; one for a unit, slot or knob that does not exist counts as rejected.
    fn fx_control(&mut self, unit: u8, control: FxControl) {
        if !self.fx.apply(unit, control) {
            self.applied -= 1;
            self.rejected += 1;
        }
    }

    /// A rejected command's `Arc` goes back like any other.
    fn discard(&mut self, cmd: Command) {
        match cmd {
            Command::Load { audio, .. } => self.release(Released::Track(audio)),
            Command::SetBeatgrid { grid: Some(g), .. } => self.release(Released::Grid(g)),
            Command::AttachStems { stems, .. } => self.release(Released::Stems(stems)),
            _ => {}
        }
    }

    /// Hand an object back to the collector; never drop it here.
    fn release(&mut self, r: Released) {
        let g = match r {
            Released::Nothing => return,
            Released::Track(t) => Garbage::Track(t),
            Released::Grid(g) => Garbage::Grid(g),
            Released::Stems(s) => Garbage::Stems(s),
        };
        if let Err(rtrb::PushError::Full(g)) = self.garbage.push(g) {
            // Unreachable while `apply_due` checks for room first; if it ever happens, a
            // leak is the lesser evil than freeing memory on the audio thread.
            std::mem::forget(g);
        }
    }

    /// Pick the sync leader and give every deck its rate for the next piece (starting at
    /// engine frame `now`).
    fn update_rates(&mut self, now: u64) {
        self.leader = self.pick_leader();
        let external = self.external.map(|c| SyncRef {
            bpm: c.bpm,
            beat: c.beat_at(now, self.rate),
            playing: true,
            quantum: c.quantum,
            resnap_secs: EXTERNAL_RESNAP_SECS,
        });
        let leader_ref = match (self.leader, external) {
            (Some(l), Some(x)) => {
                let playing = self.decks[l].is_playing();
                let snap = playing && self.external_follower != Some((l, true));
                self.external_follower = Some((l, playing));
                self.decks[l].follow_external(x, snap);
                self.decks[l].sync_ref()
            }
            (Some(l), None) => {
                self.decks[l].update_rate(None);
                self.decks[l].sync_ref()
            }
            (None, x) => {
                self.external_follower = None;
                x
            }
        };
        for (i, d) in self.decks.iter_mut().enumerate() {
            if Some(i) != self.leader {
                d.update_rate(leader_ref);
            }
        }
    }

    fn pick_leader(&self) -> Option<usize> {
        if let Some(l) = self.leader_choice {
            if self.decks[l as usize].has_grid() {
                return Some(l as usize);
            }
        }
        let playing = |d: &&Deck| d.has_grid() && d.is_playing();
        self.decks
            .iter()
            .position(|d| playing(&d) && !d.sync)
            .or_else(|| self.decks.iter().position(|d| playing(&d)))
    }

    /// Render decks and mix `n` frames into the outputs at `at`: decks → (FX groups) →
    /// master sum → (FX on the master) → master gain → limiter.
    fn render(
        &mut self,
        out: &mut Outputs<'_>,
        decks: &mut [DeckOut<'_>],
        tap: DeckTap,
        at: usize,
        n: usize,
    ) {
        if n == 0 {
            return;
        }
        // The FX clocks: each deck's tempo and beat at the piece's first frame.
        let fx_on = !self.fx.idle();
        if fx_on {
            for (c, d) in self.fx.clocks.iter_mut().zip(&self.decks) {
                let (bpm, beat) = d.tempo_and_beat();
                *c = DeckClock {
                    playing: d.is_playing(),
                    has_grid: d.has_grid(),
                    bpm,
                    beat,
                };
            }
            self.fx.begin(self.decks.len(), self.leader, n);
        } else {
            self.fx.settle();
        }
        // One stretcher engage per block (see `Deck::render`).
        let mut engages = 1;
        for d in &mut self.decks {
            d.render(n, &mut engages);
            let gain = channel_fader_gain(d.volume, self.channel_curve)
                * crossfader_gain(d.side, self.crossfader, self.crossfader_curve);
            d.out_gain.set(gain);
        }
        // Decks, post fader, into the master sum and the FX groups; deck taps; cue sum.
        for j in 0..n {
            let mut m = [0.0f32; 2];
            let mut g = [[0.0f32; 2]; 2];
            let mut c = [0.0f32; 2];
            for (i, d) in self.decks.iter_mut().enumerate() {
                let f: Frame = d.buf[j];
                let gain = d.out_gain.next();
                let v = [f[0] * gain, f[1] * gain];
                if fx_on {
                    let (w0, w1) = self.fx.deck_weights(i);
                    let s = [w0, (1.0 - w0) * w1];
                    let dry = 1.0 - s[0] - s[1];
                    for ch in 0..2 {
                        g[0][ch] += v[ch] * s[0];
                        g[1][ch] += v[ch] * s[1];
                        m[ch] += v[ch] * dry;
                    }
                } else {
                    m[0] += v[0];
                    m[1] += v[1];
                }
                if let Some(o) = decks.get_mut(i) {
                    let t = match tap {
                        DeckTap::PreFader => 1.0,
                        DeckTap::PostFader => gain,
                    };
                    for ch in 0..2 {
                        o[ch][at + j] = sane(f[ch] * t, -1.0, 1.0, 0.0);
                    }
                }
                if d.pfl {
                    c[0] += f[0];
                    c[1] += f[1];
                }
            }
            self.fx.bus[j] = m;
            self.fx.groups[0][j] = g[0];
            self.fx.groups[1][j] = g[1];
            self.fx.cue[j] = c;
        }
        if fx_on {
            self.fx.process(n);
        }
        for j in 0..n {
            let m = self.fx.bus[j];
            let c = self.fx.cue[j];
            let mg = self.master_gain.next();
            let o = self.limiter.process(m[0] * mg, m[1] * mg);
            out.master[0][at + j] = o[0];
            out.master[1][at + j] = o[1];
            let mix = self.cue_mix.next();
            let hg = self.headphone_gain.next();
            for ch in 0..2 {
                let h = (c[ch] + (o[ch] - c[ch]) * mix) * hg;
                out.cue[ch][at + j] = sane(h, -1.0, 1.0, 0.0);
            }
            self.master_peak = self.master_peak.max(o[0].abs()).max(o[1].abs());
            self.master_sq += 0.5 * (o[0] as f64 * o[0] as f64 + o[1] as f64 * o[1] as f64);
        }
        self.master_frames += n;
    }

    /// The deck heard most: playing, with the highest fader × crossfader gain.
    fn on_air(&self) -> Option<u8> {
        let mut best: Option<(usize, f32)> = None;
        for (i, d) in self.decks.iter().enumerate() {
            let g = d.out_gain.target();
            if d.is_playing() && g > 0.0 && best.is_none_or(|(_, b)| g > b) {
                best = Some((i, g));
            }
        }
        best.map(|(i, _)| i as u8)
    }

    fn publish(&mut self) {
        let mut st = Status {
            frame: self.clock,
            sample_rate: self.rate,
            deck_count: self.decks.len(),
            master: Meter {
                peak: self.master_peak,
                rms: if self.master_frames > 0 {
                    (self.master_sq / self.master_frames as f64).sqrt() as f32
                } else {
                    0.0
                },
            },
            limiter_reduction_db: self.limiter.reduction_db(),
            on_air: self.on_air(),
            sync_leader: self.leader.map(|l| l as u8),
            crossfader: self.crossfader,
            commands_applied: self.applied,
            commands_rejected: self.rejected,
            fx: self.fx.status(),
            ..Status::default()
        };
        for (i, d) in self.decks.iter_mut().enumerate() {
            st.decks[i] = d.status(self.leader == Some(i));
        }
        self.master_peak = 0.0;
        self.master_sq = 0.0;
        self.master_frames = 0;
        self.last = st;
        self.status.write(st);
    }
}

/// Commands that may hand objects back (up to [`MAX_RELEASED`]) to the collector.
fn may_release(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Load { .. }
            | Command::Eject { .. }
            | Command::SetBeatgrid { .. }
            | Command::AttachStems { .. }
    )
}
