//! The two FX units (Traktor/rekordbox style). Each unit is either one effect with three
//! knobs ([`FxMode::Single`], slot 0) or a chain of three slots in series
//! ([`FxMode::Chain`]), has a smoothed dry/wet and an on switch, and is assigned to any set
//! of decks and/or the master. Time-based effects follow the unit's clock: the tempo and
//! beat phase of the first assigned deck that plays with a beatgrid, else the sync leader,
//! else any deck playing with a grid, else a free-running clock at the last tempo seen.
//!
//! **Real time.** Every slot owns one instance of every effect, all buffers sized in
//! [`FxRack::new`] for the longest delay (4 beats at [`FX_MIN_BPM`]) at the engine's rate,
//! so choosing an effect, changing the chain or the assignment never allocates. Send-type
//! effects (echo, ping-pong, reverb) have their *input* muted when switched off and ring
//! out; insert-type effects fade out over 10 ms. An effect that is off and silent costs
//! nothing.
//!
//! **Routing.** Per block: decks assigned to a unit are summed (post fader) into the unit's
//! group and run through it; the rest go straight to the master sum. Unit 1 runs before
//! unit 2; when the two units share a deck, unit 1's whole group then feeds unit 2 (one
//! series chain). A unit assigned to the master processes the master sum instead (its deck
//! assignments are then ignored), after the deck-level units. Every routing change is
//! ramped.

mod beat;
mod crush;
mod delay;
mod modulation;
mod reverb;
mod roll;

use crate::dsp::{sane, Smoothed};
use crate::status::MAX_DECKS;
use crate::track::Frame;

/// FX units in the engine.
pub const FX_UNITS: usize = 2;
/// Slots in a unit's chain.
pub const FX_SLOTS: usize = 3;
/// Knobs per slot (their meaning depends on the effect, see [`Effect`]).
pub const FX_PARAMS: usize = 3;
/// The slowest tempo the delay buffers are sized for: 4 beats at 40 BPM = 6 s.
pub const FX_MIN_BPM: f64 = 40.0;
/// Longest delay, roll or gate period, in beats.
pub const FX_MAX_BEATS: f32 = 4.0;
/// Echo and ping-pong feedback with the feedback knob at 1 (each repeat is this times the
/// one before it, before the tone filter): 0.2 dB quieter, so tails always end.
pub const ECHO_MAX_FEEDBACK: f32 = 0.97;

/// One effect a slot can run. Knobs are 0..=1; `beats` is the slot's beat length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Tempo echo. `beats` 1/16..=4: delay time. Knobs: feedback, tone of the repeats
    /// (0 dark … 0.5 flat … 1 thin), unused.
    Echo,
    /// Echo whose repeats bounce left/right. Same knobs as [`Effect::Echo`].
    PingPong,
    /// Room/hall reverb (8-line FDN). Knobs: decay (0.3 … 12 s), damping, pre-delay
    /// (0 … 100 ms). `beats` unused.
    Reverb,
    /// Flanger, one sweep every `beats` (1/4..=32), locked to the grid. Knobs: depth,
    /// feedback, manual (shortest delay).
    Flanger,
    /// Six-stage phaser, one sweep every `beats` (1/4..=32). Knobs: depth, feedback,
    /// centre frequency.
    Phaser,
    /// Gate / trans: open at the start of every `beats` (1/16..=4) of the grid. Knobs:
    /// open length (10 … 90 %), depth (how far it closes), unused.
    Gate,
    /// Bitcrusher. Knobs: bit depth (16 … 2 bits), rate reduction, drive. `beats` unused.
    Bitcrusher,
    /// Roll / stutter: captures `beats` (1/16..=4) from the next grid boundary and repeats
    /// it while on. Knobs unused.
    Roll,
    /// Filter sweep, up and down once every `beats` (1/4..=32). Knobs: range, resonance,
    /// mode (below 0.5 low-pass, above high-pass).
    FilterSweep,
}

impl Effect {
    /// Every effect.
    pub const ALL: [Effect; 9] = [
        Effect::Echo,
        Effect::PingPong,
        Effect::Reverb,
        Effect::Flanger,
        Effect::Phaser,
        Effect::Gate,
        Effect::Bitcrusher,
        Effect::Roll,
        Effect::FilterSweep,
    ];

    /// Stable name (`echo`, `ping_pong`, `reverb`…).
    pub fn name(self) -> &'static str {
        match self {
            Effect::Echo => "echo",
            Effect::PingPong => "ping_pong",
            Effect::Reverb => "reverb",
            Effect::Flanger => "flanger",
            Effect::Phaser => "phaser",
            Effect::Gate => "gate",
            Effect::Bitcrusher => "bitcrusher",
            Effect::Roll => "roll",
            Effect::FilterSweep => "filter_sweep",
        }
    }

    /// The effect of a [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Effect> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The beats and knobs a slot gets when this effect is selected.
    pub fn defaults(self) -> (f32, [f32; FX_PARAMS]) {
        match self {
            Effect::Echo | Effect::PingPong => (0.5, [0.5, 0.5, 0.0]),
            Effect::Reverb => (1.0, [0.5, 0.4, 0.1]),
            Effect::Flanger => (4.0, [0.6, 0.5, 0.2]),
            Effect::Phaser => (4.0, [0.6, 0.4, 0.3]),
            Effect::Gate => (0.25, [0.5, 1.0, 0.0]),
            Effect::Bitcrusher => (1.0, [0.6, 0.3, 0.0]),
            Effect::Roll => (0.25, [0.0; FX_PARAMS]),
            Effect::FilterSweep => (4.0, [0.7, 0.3, 0.0]),
        }
    }

    /// The beat lengths this effect uses.
    fn beat_range(self) -> (f32, f32) {
        match self {
            Effect::Flanger | Effect::Phaser | Effect::FilterSweep => (0.25, 32.0),
            _ => (1.0 / 16.0, FX_MAX_BEATS),
        }
    }

    fn instance(self) -> usize {
        match self {
            Effect::Echo | Effect::PingPong => DELAY,
            Effect::Reverb => REVERB,
            Effect::Flanger => FLANGER,
            Effect::Phaser => PHASER,
            Effect::Gate => GATE,
            Effect::Bitcrusher => CRUSHER,
            Effect::Roll => ROLL,
            Effect::FilterSweep => SWEEP,
        }
    }
}

/// One effect or a chain of three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FxMode {
    /// Slot 0 only, with its three knobs.
    #[default]
    Single,
    /// Slots 0 → 1 → 2 in series, each with its own on switch.
    Chain,
}

/// One slot's state in [`FxUnitStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FxSlotStatus {
    /// The selected effect.
    pub effect: Option<Effect>,
    /// The slot's on switch (used in [`FxMode::Chain`]).
    pub on: bool,
    /// Beat length.
    pub beats: f32,
    /// Knobs.
    pub params: [f32; FX_PARAMS],
    /// Audible now (engaged, fading or ringing out).
    pub active: bool,
}

/// One FX unit's state, in [`crate::Status::fx`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FxUnitStatus {
    /// The unit's on switch.
    pub on: bool,
    /// Single effect or chain.
    pub mode: FxMode,
    /// Dry/wet, 0..=1.
    pub mix: f32,
    /// Assigned to the master.
    pub master: bool,
    /// Assigned decks.
    pub decks: [bool; MAX_DECKS],
    /// The tempo the unit follows (BPM).
    pub bpm: f64,
    /// The slots.
    pub slots: [FxSlotStatus; FX_SLOTS],
}

// Instances every slot holds.
const DELAY: usize = 0;
const REVERB: usize = 1;
const FLANGER: usize = 2;
const PHASER: usize = 3;
const GATE: usize = 4;
const CRUSHER: usize = 5;
const ROLL: usize = 6;
const SWEEP: usize = 7;
const INSTANCES: usize = 8;

/// Output below this (−100 dBFS) counts as silence for a ringing tail.
const SILENCE: f32 = 1e-5;
/// On/off, wet/dry and routing ramps.
const RAMP_SECS: f64 = 0.01;

/// A tiny value flushed to zero (no denormals in feedback loops).
#[inline]
pub(crate) fn flush(v: f32) -> f32 {
    if v.abs() < 1e-20 {
        0.0
    } else {
        v
    }
}

/// Triangle 0 → 1 → 0 over one cycle of `phase`.
#[inline]
pub(crate) fn triangle(phase: f64) -> f64 {
    let p = phase.rem_euclid(1.0);
    if p < 0.5 {
        2.0 * p
    } else {
        2.0 - 2.0 * p
    }
}

/// One-pole low-pass (y += a·(x − y)).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OnePole {
    a: f32,
    y: f32,
}

impl OnePole {
    pub fn set_lowpass(&mut self, hz: f64, rate: f64) {
        self.a = (1.0 - (-std::f64::consts::TAU * hz / rate).exp()) as f32;
    }
    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        self.y = flush(self.y + self.a * (x - self.y));
        self.y
    }
}

/// A unit's beat clock for one piece of audio.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Tempo (BPM, ≥ [`FX_MIN_BPM`] for time arithmetic).
    pub bpm: f64,
    /// Beat index at the piece's first frame.
    pub beat: f64,
    /// Beats per frame.
    pub per_frame: f64,
    pub rate: f64,
}

impl Clock {
    /// Frames per beat (at least the slowest tempo's, so delays fit their buffers).
    pub fn frames_per_beat(&self) -> f64 {
        60.0 * self.rate / self.bpm.max(FX_MIN_BPM)
    }
    /// Beat index `j` frames into the piece.
    #[inline]
    pub fn beat_at(&self, j: usize) -> f64 {
        self.beat + j as f64 * self.per_frame
    }
}

/// What an effect reads for one piece.
pub(crate) struct Ctx<'a> {
    pub clock: &'a Clock,
    pub beats: f32,
    pub params: [f32; FX_PARAMS],
}

impl Ctx<'_> {
    /// The LFO period in beats.
    pub fn lfo_beats(&self) -> f64 {
        self.beats as f64
    }
}

/// What the engine tells the rack about one deck.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DeckClock {
    pub playing: bool,
    pub has_grid: bool,
    pub bpm: f64,
    pub beat: f64,
}

struct Effects {
    delay: delay::Delay,
    reverb: reverb::Reverb,
    flanger: modulation::Flanger,
    phaser: modulation::Phaser,
    gate: beat::Gate,
    crusher: crush::Crusher,
    roll: roll::Roll,
    sweep: beat::Sweep,
}

struct Slot {
    effect: Option<Effect>,
    on: bool,
    beats: f32,
    params: [f32; FX_PARAMS],
    fx: Effects,
    /// Per instance: engagement weight, whether it runs, frames of silence, the settings
    /// it runs with (kept while a replaced effect rings out), echo or ping-pong.
    w: [Smoothed; INSTANCES],
    alive: [bool; INSTANCES],
    quiet: [usize; INSTANCES],
    settings: [(f32, [f32; FX_PARAMS]); INSTANCES],
    ping_pong: bool,
}

impl Slot {
    fn new(rate: f64, max_frames: usize, effect: Option<Effect>) -> Self {
        let ramp = ((rate * RAMP_SECS) as u32).max(1);
        let (beats, params) = effect.map_or((0.5, [0.5; FX_PARAMS]), Effect::defaults);
        Self {
            effect,
            on: true,
            beats,
            params,
            fx: Effects {
                delay: delay::Delay::new(max_frames, rate),
                reverb: reverb::Reverb::new(rate),
                flanger: modulation::Flanger::new(rate),
                phaser: modulation::Phaser::new(rate),
                gate: beat::Gate::new(rate),
                crusher: crush::Crusher::new(rate),
                roll: roll::Roll::new(max_frames, rate),
                sweep: beat::Sweep::new(rate),
            },
            w: [Smoothed::new(0.0, ramp); INSTANCES],
            alive: [false; INSTANCES],
            quiet: [0; INSTANCES],
            settings: [(beats, params); INSTANCES],
            ping_pong: false,
        }
    }

    fn select(&mut self, effect: Option<Effect>) {
        self.effect = effect;
        if let Some(e) = effect {
            (self.beats, self.params) = e.defaults();
        }
    }

    fn alive(&self) -> bool {
        self.alive.iter().any(|&a| a)
    }

    /// Process `input` into `acc` (which holds a copy of `input`); `tmp` is scratch.
    fn process(
        &mut self,
        engaged: bool,
        input: &[Frame],
        acc: &mut [Frame],
        tmp: &mut [Frame],
        clock: &Clock,
    ) {
        let current = self.effect.filter(|_| engaged);
        if let Some(e) = self.effect {
            let (lo, hi) = e.beat_range();
            self.settings[e.instance()] = (self.beats.clamp(lo, hi), self.params);
            if e.instance() == DELAY {
                self.ping_pong = e == Effect::PingPong;
            }
        }
        let n = input.len();
        for k in 0..INSTANCES {
            let want = current.is_some_and(|e| e.instance() == k);
            self.w[k].set(if want { 1.0 } else { 0.0 });
            let ramping = !(self.w[k].is_settled() && self.w[k].value() == 0.0);
            let send = k == DELAY || k == REVERB;
            if !(ramping || send && self.alive[k]) {
                self.alive[k] = false;
                continue;
            }
            if !self.alive[k] {
                self.restart(k);
                self.alive[k] = true;
                self.quiet[k] = 0;
            }
            let w = &mut self.w[k];
            let (beats, params) = self.settings[k];
            let ctx = Ctx {
                clock,
                beats,
                params,
            };
            let fx = &mut self.fx;
            if send {
                let (peak, memory) = if k == DELAY {
                    let p = fx.delay.render(input, acc, w, &ctx, self.ping_pong);
                    (p, fx.delay.memory())
                } else {
                    (fx.reverb.render(input, acc, w, &ctx), fx.reverb.memory())
                };
                self.quiet[k] = if peak > SILENCE {
                    0
                } else {
                    self.quiet[k].saturating_add(n)
                };
                let engaged_now = !(w.is_settled() && w.value() == 0.0);
                if !engaged_now && self.quiet[k] > memory {
                    self.alive[k] = false;
                }
            } else {
                let out = &mut tmp[..n];
                match k {
                    FLANGER => fx.flanger.render(input, out, &ctx),
                    PHASER => fx.phaser.render(input, out, &ctx),
                    GATE => fx.gate.render(input, out, &ctx),
                    CRUSHER => fx.crusher.render(input, out, &ctx),
                    ROLL => fx.roll.render(input, out, &ctx),
                    _ => fx.sweep.render(input, out, &ctx),
                }
                for ((a, y), x) in acc.iter_mut().zip(out.iter()).zip(input) {
                    let g = w.next();
                    a[0] += g * (y[0] - x[0]);
                    a[1] += g * (y[1] - x[1]);
                }
                if w.is_settled() && w.value() == 0.0 {
                    self.alive[k] = false;
                }
            }
        }
    }

    fn restart(&mut self, k: usize) {
        let fx = &mut self.fx;
        match k {
            DELAY => fx.delay.restart(),
            REVERB => fx.reverb.restart(),
            FLANGER => fx.flanger.restart(),
            PHASER => fx.phaser.restart(),
            GATE => fx.gate.restart(),
            CRUSHER => fx.crusher.restart(),
            ROLL => fx.roll.restart(),
            _ => fx.sweep.restart(),
        }
    }

    fn status(&self) -> FxSlotStatus {
        FxSlotStatus {
            effect: self.effect,
            on: self.on,
            beats: self.beats,
            params: self.params,
            active: self.alive(),
        }
    }
}

struct Unit {
    on: bool,
    mode: FxMode,
    mix: Smoothed,
    slots: [Slot; FX_SLOTS],
    decks: [bool; MAX_DECKS],
    master: bool,
    deck_w: [Smoothed; MAX_DECKS],
    master_w: Smoothed,
    /// Free-running beat (used when no deck gives the clock) and the last tempo seen.
    free_beat: f64,
    bpm: f64,
    clock: Clock,
}

impl Unit {
    fn new(rate: f64, max_frames: usize, effects: [Option<Effect>; FX_SLOTS]) -> Self {
        let ramp = ((rate * RAMP_SECS) as u32).max(1);
        Self {
            on: false,
            mode: FxMode::Single,
            mix: Smoothed::new(0.5, ramp),
            slots: effects.map(|e| Slot::new(rate, max_frames, e)),
            decks: [false; MAX_DECKS],
            master: false,
            deck_w: [Smoothed::new(0.0, ramp); MAX_DECKS],
            master_w: Smoothed::new(0.0, ramp),
            free_beat: 0.0,
            bpm: 120.0,
            clock: Clock {
                bpm: 120.0,
                beat: 0.0,
                per_frame: 120.0 / 60.0 / rate,
                rate,
            },
        }
    }

    fn engaged(&self, s: usize) -> bool {
        self.on
            && self.slots[s].effect.is_some()
            && match self.mode {
                FxMode::Single => s == 0,
                FxMode::Chain => self.slots[s].on,
            }
    }

    /// Something to compute: an effect engaged, fading or ringing out.
    fn busy(&self) -> bool {
        (0..FX_SLOTS).any(|s| self.engaged(s) || self.slots[s].alive())
    }

    /// At the master stage (assigned, or still fading from it).
    fn at_master(&self) -> bool {
        self.master || self.master_w.value() > 0.0
    }

    /// Choose the clock for the next `n` frames (see the module doc).
    fn update_clock(&mut self, decks: &[DeckClock], leader: Option<usize>, rate: f64, n: usize) {
        let playing = |i: usize| decks[i].playing && decks[i].has_grid && decks[i].bpm > 0.0;
        let own = (0..decks.len()).find(|&i| !self.master && self.decks[i] && playing(i));
        let src = own
            .or(leader.filter(|&l| l < decks.len() && playing(l)))
            .or((0..decks.len()).find(|&i| playing(i)));
        if let Some(i) = src {
            self.bpm = decks[i].bpm;
            self.free_beat = decks[i].beat;
        }
        let bpm = if self.bpm.is_finite() && self.bpm > 1.0 {
            self.bpm.min(1000.0)
        } else {
            120.0
        };
        let per_frame = bpm / 60.0 / rate;
        self.clock = Clock {
            bpm,
            beat: self.free_beat,
            per_frame,
            rate,
        };
        self.free_beat += n as f64 * per_frame;
    }

    /// Run the unit over `buf` in place; `a`, `b`, `tmp` are scratch of at least its length.
    fn process(&mut self, buf: &mut [Frame], a: &mut [Frame], b: &mut [Frame], tmp: &mut [Frame]) {
        let n = buf.len();
        if !self.busy() {
            self.mix.reset(self.mix.target());
            return;
        }
        let orig = &mut a[..n];
        orig.copy_from_slice(buf);
        for s in 0..FX_SLOTS {
            let engaged = self.engaged(s);
            let slot = &mut self.slots[s];
            if !engaged && !slot.alive() {
                // Nothing running here: its weights rest at zero.
                continue;
            }
            let acc = &mut b[..n];
            acc.copy_from_slice(buf);
            slot.process(engaged, buf, acc, tmp, &self.clock);
            buf.copy_from_slice(acc);
        }
        for (y, x) in buf.iter_mut().zip(orig.iter()) {
            let m = self.mix.next();
            y[0] = x[0] + m * (y[0] - x[0]);
            y[1] = x[1] + m * (y[1] - x[1]);
        }
    }

    fn status(&self) -> FxUnitStatus {
        FxUnitStatus {
            on: self.on,
            mode: self.mode,
            mix: self.mix.target(),
            master: self.master,
            decks: self.decks,
            bpm: self.clock.bpm,
            slots: std::array::from_fn(|s| self.slots[s].status()),
        }
    }
}

/// An FX command, decoded (see the `Fx*` variants of [`crate::Command`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum FxControl {
    On(bool),
    Mode(FxMode),
    Select(u8, Option<Effect>),
    SlotOn(u8, bool),
    Mix(f32),
    Param(u8, u8, f32),
    Beats(u8, f32),
    Assign(u8, bool),
    AssignMaster(bool),
}

/// Both units, their routing and the scratch buffers they work in.
pub(crate) struct FxRack {
    units: [Unit; FX_UNITS],
    rate: f64,
    pub(crate) clocks: [DeckClock; MAX_DECKS],
    merge: Smoothed,
    /// Master sum, the two groups, the cue sum (filled by the engine), and scratch.
    pub(crate) bus: Vec<Frame>,
    pub(crate) groups: [Vec<Frame>; FX_UNITS],
    pub(crate) cue: Vec<Frame>,
    a: Vec<Frame>,
    b: Vec<Frame>,
    tmp: Vec<Frame>,
}

impl FxRack {
    /// Everything allocated here: the delay and roll buffers of every slot hold 4 beats at
    /// [`FX_MIN_BPM`] at `rate`.
    pub fn new(rate: u32, max_block: usize) -> Self {
        let r = rate as f64;
        let max_frames = (FX_MAX_BEATS as f64 * 60.0 / FX_MIN_BPM * r).ceil() as usize;
        let ramp = ((r * RAMP_SECS) as u32).max(1);
        let buf = || vec![[0.0f32; 2]; max_block];
        Self {
            units: [
                Unit::new(
                    r,
                    max_frames,
                    [
                        Some(Effect::Echo),
                        Some(Effect::Reverb),
                        Some(Effect::Flanger),
                    ],
                ),
                Unit::new(
                    r,
                    max_frames,
                    [
                        Some(Effect::Reverb),
                        Some(Effect::Gate),
                        Some(Effect::FilterSweep),
                    ],
                ),
            ],
            rate: r,
            clocks: [DeckClock::default(); MAX_DECKS],
            merge: Smoothed::new(0.0, ramp),
            bus: buf(),
            groups: [buf(), buf()],
            cue: buf(),
            a: buf(),
            b: buf(),
            tmp: buf(),
        }
    }

    /// Apply one control to `unit`; false when the unit, slot or knob does not exist.
    pub fn apply(&mut self, unit: u8, control: FxControl) -> bool {
        let Some(u) = self.units.get_mut(unit as usize) else {
            return false;
        };
        let slot_ok = |s: u8| (s as usize) < FX_SLOTS;
        match control {
            FxControl::On(on) => u.on = on,
            FxControl::Mode(m) => u.mode = m,
            FxControl::Select(s, e) if slot_ok(s) => u.slots[s as usize].select(e),
            FxControl::SlotOn(s, on) if slot_ok(s) => u.slots[s as usize].on = on,
            FxControl::Mix(m) => u.mix.set(sane(m, 0.0, 1.0, u.mix.target())),
            FxControl::Param(s, p, v) if slot_ok(s) && (p as usize) < FX_PARAMS => {
                let slot = &mut u.slots[s as usize];
                slot.params[p as usize] = sane(v, 0.0, 1.0, slot.params[p as usize]);
            }
            FxControl::Beats(s, b) if slot_ok(s) => {
                let slot = &mut u.slots[s as usize];
                slot.beats = sane(b, 1.0 / 16.0, 32.0, slot.beats);
            }
            FxControl::Assign(d, on) if (d as usize) < MAX_DECKS => u.decks[d as usize] = on,
            FxControl::AssignMaster(on) => u.master = on,
            _ => return false,
        }
        true
    }

    /// Nothing to compute: every unit is off and silent (routing is then the identity).
    pub fn idle(&self) -> bool {
        !self.units.iter().any(Unit::busy)
    }

    /// While idle: routing ramps jump to their targets (inaudible, nothing is processed).
    pub fn settle(&mut self) {
        for u in &mut self.units {
            let master = u.master;
            for (w, &on) in u.deck_w.iter_mut().zip(&u.decks) {
                w.reset(if on && !master { 1.0 } else { 0.0 });
            }
            u.master_w.reset(if master { 1.0 } else { 0.0 });
        }
        self.merge.reset(self.merge_target());
    }

    fn merge_target(&self) -> f32 {
        let [u0, u1] = &self.units;
        let shared =
            !u0.master && !u1.master && u0.decks.iter().zip(&u1.decks).any(|(&a, &b)| a && b);
        if shared {
            1.0
        } else {
            0.0
        }
    }

    /// Start of a piece of `n` frames: set the routing targets and each unit's clock from
    /// `self.clocks` (the first `decks` are meaningful).
    pub fn begin(&mut self, decks: usize, leader: Option<usize>, n: usize) {
        let t = self.merge_target();
        self.merge.set(t);
        for u in &mut self.units {
            let master = u.master;
            for (w, &on) in u.deck_w.iter_mut().zip(&u.decks) {
                w.set(if on && !master { 1.0 } else { 0.0 });
            }
            u.master_w.set(if master { 1.0 } else { 0.0 });
            u.update_clock(&self.clocks[..decks], leader, self.rate, n);
        }
    }

    /// This frame's send weights of deck `i` into unit 0 and unit 1.
    #[inline]
    pub fn deck_weights(&mut self, i: usize) -> (f32, f32) {
        let [u0, u1] = &mut self.units;
        (u0.deck_w[i].next(), u1.deck_w[i].next())
    }

    /// Run the units over the groups and the master sum (`bus`) for `n` frames; the result
    /// is left in `bus`.
    pub fn process(&mut self, n: usize) {
        let [g0, g1] = &mut self.groups;
        let (g0, g1) = (&mut g0[..n], &mut g1[..n]);
        let bus = &mut self.bus[..n];
        let (a, b, tmp) = (&mut self.a[..n], &mut self.b[..n], &mut self.tmp[..n]);
        let [u0, u1] = &mut self.units;
        let (m0, m1) = (u0.at_master(), u1.at_master());
        // Deck stage.
        if !m0 {
            u0.process(g0, a, b, tmp);
            for ((x, y), o) in g0.iter().zip(g1.iter_mut()).zip(bus.iter_mut()) {
                let m = self.merge.next();
                y[0] += m * x[0];
                y[1] += m * x[1];
                o[0] += (1.0 - m) * x[0];
                o[1] += (1.0 - m) * x[1];
            }
        }
        if !m1 {
            u1.process(g1, a, b, tmp);
            for (x, o) in g1.iter().zip(bus.iter_mut()) {
                o[0] += x[0];
                o[1] += x[1];
            }
        }
        // Master stage.
        for (u, g, at) in [(u0, g0, m0), (u1, g1, m1)] {
            if !at {
                continue;
            }
            for (x, o) in g.iter_mut().zip(bus.iter_mut()) {
                let w = u.master_w.next();
                x[0] += w * o[0];
                x[1] += w * o[1];
                o[0] *= 1.0 - w;
                o[1] *= 1.0 - w;
            }
            u.process(g, a, b, tmp);
            for (x, o) in g.iter().zip(bus.iter_mut()) {
                o[0] += x[0];
                o[1] += x[1];
            }
        }
    }

    /// Per-unit status.
    pub fn status(&self) -> [FxUnitStatus; FX_UNITS] {
        std::array::from_fn(|u| self.units[u].status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effect_names_round_trip_and_defaults_are_in_range() {
        for e in Effect::ALL {
            assert_eq!(Effect::from_name(e.name()), Some(e));
            let (beats, params) = e.defaults();
            let (lo, hi) = e.beat_range();
            assert!((lo..=hi).contains(&beats), "{e:?}");
            assert!(params.iter().all(|p| (0.0..=1.0).contains(p)));
        }
        assert_eq!(Effect::from_name("chorus"), None);
    }

    #[test]
    fn buffers_hold_four_beats_at_the_slowest_tempo() {
        let rack = FxRack::new(96_000, 64);
        let delay = &rack.units[0].slots[0].fx.delay;
        assert!(delay.max_delay() >= 4.0 * 60.0 / FX_MIN_BPM * 96_000.0);
    }

    #[test]
    fn triangle_is_zero_at_the_beat_and_one_half_way() {
        assert_eq!(triangle(0.0), 0.0);
        assert_eq!(triangle(0.5), 1.0);
        assert_eq!(triangle(3.25), 0.5);
        assert_eq!(triangle(-0.25), 0.5);
    }
}
