//! The runtime side of a mapping: MIDI bytes in → engine commands out, engine status in →
//! LED/meter messages out.

use std::collections::HashMap;

use segue_engine::{Command, FxMode, Position, Status, TempoRange, MAX_DECKS};

use crate::mapping::{Control, ControlType, Mapping, Output};
use crate::message::{Address, MidiMessage};
use crate::target::{
    effect_number, frames_per_beat, LiveAction, LiveState, Source, Target, TargetKind, Value,
};

/// Seconds of audio under one platter revolution at 33⅓ rpm.
pub const SECONDS_PER_REV: f32 = 1.8;
/// Bend applied by `bend_up` / `bend_down` while held, percent.
pub const BEND_BUTTON_PERCENT: f32 = 3.0;
/// An encoder continues from its own last value for this long after it sent one, then
/// picks up the engine's value again (so a value changed elsewhere is followed, and fast
/// ticks are not lost while the engine's status lags).
const ENCODER_HOLD_SECS: f64 = 0.25;

/// What the controller remembers per deck for targets the engine does not report.
#[derive(Debug, Clone, Copy)]
struct DeckMemory {
    trim: f32,
    bend: f32,
    quantize: bool,
    stem_muted: [bool; 4],
    eq_before_kill: [f32; 3],
    eq_killed: [bool; 3],
    tempo_range: TempoRange,
    jog_touched: bool,
    last_loop_beats: f32,
    /// The loop-in point set by `loop_in` (frames).
    loop_in: Option<f64>,
}

impl Default for DeckMemory {
    fn default() -> Self {
        Self {
            trim: 0.0,
            bend: 0.0,
            quantize: false,
            stem_muted: [false; 4],
            eq_before_kill: [1.0; 3],
            eq_killed: [false; 3],
            tempo_range: TempoRange::Narrow,
            jog_touched: false,
            last_loop_beats: 4.0,
            loop_in: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct BindingState {
    msb: u8,
    lsb: u8,
    latched: bool,
    /// Encoder / soft-takeover fader: last value sent and the engine frame it was sent at.
    sent: Option<(f32, u64)>,
    /// Soft takeover: the last position of the fader (sent or not).
    fader_at: Option<f32>,
}

/// Which bindings listen on one MIDI address.
#[derive(Debug, Default)]
struct Slot {
    /// (binding index, this address is the LSB of a 14-bit fader)
    bindings: Vec<(usize, bool)>,
    /// The layer that took the last press on this address (its release goes there too).
    pressed_layer: Option<Option<u8>>,
}

/// A mapping at work. Pure: it does no I/O; feed it MIDI messages and engine status.
///
/// ```
/// use segue_controllers::{Controller, Mapping};
/// use segue_engine::{Command, Status};
///
/// let m = Mapping::from_str(r#"
///     [[control]]
///     note = 0x0B
///     type = "toggle"
///     target = "play"
///     deck = 1
/// "#).unwrap();
/// let mut c = Controller::new(m, 2);
/// let mut out = Vec::new();
/// c.handle(&[0x90, 0x0B, 0x7F], &Status::default(), &mut out);
/// assert_eq!(out, vec![Command::Play { deck: 0, on: true }]);
/// ```
#[derive(Debug)]
pub struct Controller {
    mapping: Mapping,
    decks: usize,
    /// Per binding: its layer index.
    layers: Vec<Option<u8>>,
    state: Vec<BindingState>,
    slots: HashMap<Address, Slot>,
    /// Shift buttons by address: layer index.
    shift_keys: HashMap<Address, usize>,
    /// Mode buttons by address: the bits of every layer in their mode group.
    mode_masks: HashMap<Address, u32>,
    /// Bit set of layers held.
    held: u32,
    deck_mem: [DeckMemory; MAX_DECKS],
    master_gain: f32,
    headphone_gain: f32,
    cue_mix: f32,
    crossfader_curve: f32,
    /// Last value sent per output.
    sent: Vec<Option<u8>>,
    /// Live actions (suggestions, Auto DJ) waiting for the shell ([`Controller::take_live`]).
    live: Vec<LiveAction>,
    /// What the shell last said about recording and Auto DJ (for their LEDs).
    live_state: LiveState,
}

/// Live actions a controller keeps until the shell takes them (more are dropped).
const LIVE_QUEUE: usize = 16;

impl Controller {
    /// Prepare a mapping for `decks` decks (bindings to decks beyond are ignored).
    pub fn new(mapping: Mapping, decks: usize) -> Controller {
        let mut layer_names: Vec<String> = Vec::new();
        let mut shift_keys = HashMap::new();
        for s in &mapping.shifts {
            let i = match layer_names.iter().position(|l| *l == s.layer) {
                Some(i) => i,
                None => {
                    layer_names.push(s.layer.clone());
                    layer_names.len() - 1
                }
            };
            shift_keys.insert(s.midi, i.min(31));
        }
        let mut mode_masks = HashMap::new();
        for s in &mapping.shifts {
            let Some(group) = &s.mode else { continue };
            let mask = mapping
                .shifts
                .iter()
                .filter(|o| o.mode.as_ref() == Some(group))
                .filter_map(|o| shift_keys.get(&o.midi))
                .fold(0u32, |m, &i| m | 1 << i);
            mode_masks.insert(s.midi, mask);
        }
        let mut slots: HashMap<Address, Slot> = HashMap::new();
        let mut layers = Vec::with_capacity(mapping.controls.len());
        for (i, c) in mapping.controls.iter().enumerate() {
            let layer = c
                .layer
                .as_ref()
                .and_then(|l| layer_names.iter().position(|n| n == l))
                .map(|p| p.min(31) as u8);
            layers.push(layer);
            slots.entry(c.midi).or_default().bindings.push((i, false));
            if let ControlType::Fader14 { lsb, .. } = c.kind {
                slots
                    .entry(Address::cc(c.midi.channel, lsb))
                    .or_default()
                    .bindings
                    .push((i, true));
            }
        }
        Controller {
            state: vec![BindingState::default(); mapping.controls.len()],
            sent: vec![None; mapping.outputs.len()],
            live: Vec::with_capacity(LIVE_QUEUE),
            live_state: LiveState::default(),
            mapping,
            decks: decks.min(MAX_DECKS),
            layers,
            slots,
            shift_keys,
            mode_masks,
            held: 0,
            deck_mem: [DeckMemory::default(); MAX_DECKS],
            master_gain: 1.0,
            headphone_gain: 1.0,
            cue_mix: 0.0,
            crossfader_curve: 0.0,
        }
    }

    /// The mapping in use.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// Whether the shift layer `name` is active now.
    pub fn layer_active(&self, name: &str) -> bool {
        let mut names = Vec::new();
        for s in &self.mapping.shifts {
            if !names.contains(&&s.layer) {
                names.push(&s.layer);
            }
        }
        names
            .iter()
            .position(|n| *n == name)
            .is_some_and(|i| self.held & (1 << i.min(31)) != 0)
    }

    /// Translate one MIDI message into engine commands (appended to `out`). `status` is
    /// the engine's latest snapshot (toggles read the current state from it). Unbound or
    /// malformed messages produce nothing. Allocates nothing besides growing `out`.
    pub fn handle(&mut self, msg: &[u8], status: &Status, out: &mut Vec<Command>) {
        let Some(m) = MidiMessage::decode(msg) else {
            return;
        };
        let Some((addr, value)) = m.address() else {
            return;
        };
        if let Some(&layer) = self.shift_keys.get(&addr) {
            let bit = 1u32 << layer;
            let pressed = value > 0;
            if let Some(&mask) = self.mode_masks.get(&addr) {
                // A pad-mode button: this layer, none other of its group.
                if pressed {
                    self.held = (self.held & !mask) | bit;
                }
                return;
            }
            let toggle = self
                .mapping
                .shifts
                .iter()
                .any(|s| s.midi == addr && s.toggle);
            if toggle {
                if pressed {
                    self.held ^= bit;
                }
            } else if pressed {
                self.held |= bit;
            } else {
                self.held &= !bit;
            }
            return;
        }
        let Some(slot) = self.slots.get_mut(&addr) else {
            return;
        };
        // Choose the layer: a held layer with a binding here wins over the base layer.
        // A release goes to the layer that took the press.
        let held = self.held;
        let layers = &self.layers;
        let chosen = slot
            .bindings
            .iter()
            .filter_map(|&(i, _)| layers[i])
            .find(|&l| held & (1 << l) != 0);
        let is_button_like =
            |c: &Control| matches!(c.kind, ControlType::Button | ControlType::Toggle);
        let pressed = value > 0;
        let mut layer = chosen;
        let any_button = slot
            .bindings
            .iter()
            .any(|&(i, _)| is_button_like(&self.mapping.controls[i]));
        if any_button {
            if pressed {
                slot.pressed_layer = Some(chosen);
            } else if let Some(l) = slot.pressed_layer.take() {
                layer = l;
            }
        }
        let value14 = m.value14();
        for k in 0..slot.bindings.len() {
            let Some(slot) = self.slots.get(&addr) else {
                return;
            };
            let (i, is_lsb) = slot.bindings[k];
            if self.layers[i] != layer {
                continue;
            }
            self.apply(i, is_lsb, value, value14, status, out);
        }
    }

    fn apply(
        &mut self,
        i: usize,
        is_lsb: bool,
        value: u8,
        value14: Option<u16>,
        status: &Status,
        out: &mut Vec<Command>,
    ) {
        let c = &self.mapping.controls[i];
        let (target, kind, soft) = (c.target, c.kind, c.soft_takeover);
        let deck = c.deck.unwrap_or(0);
        if c.deck.is_some() && deck as usize >= self.decks {
            return;
        }
        match kind {
            ControlType::Button | ControlType::Toggle => {
                let pressed = value > 0;
                match target.kind() {
                    TargetKind::Trigger => {
                        if pressed {
                            self.trigger(target, deck, status, out);
                        }
                    }
                    TargetKind::Switch | TargetKind::Momentary => {
                        let on = if kind == ControlType::Button {
                            pressed
                        } else if !pressed {
                            return;
                        } else {
                            let current = if target.kind() == TargetKind::Switch {
                                self.switch_state(target, deck, status)
                            } else {
                                self.state[i].latched
                            };
                            !current
                        };
                        self.state[i].latched = on;
                        self.switch(target, deck, on, status, out);
                    }
                    TargetKind::Continuous { .. }
                    | TargetKind::Jog
                    | TargetKind::Value
                    | TargetKind::Relative => {}
                }
            }
            ControlType::Fader { min, max } => {
                let x = match value14 {
                    Some(v) => scale(v as f32, 8192.0, 16383.0, min, max),
                    None => scale(value as f32, 64.0, 127.0, min, max),
                };
                if soft && !self.take_over(i, target, deck, x, status) {
                    return;
                }
                self.set(target, deck, x, status, out);
            }
            ControlType::Fader14 { min, max, .. } => {
                let st = &mut self.state[i];
                if is_lsb {
                    st.lsb = value;
                } else {
                    st.msb = value;
                    st.lsb = 0;
                }
                let v = ((st.msb as u16) << 7 | st.lsb as u16) as f32;
                let x = scale(v, 8192.0, 16383.0, min, max);
                if soft && !self.take_over(i, target, deck, x, status) {
                    return;
                }
                self.set(target, deck, x, status, out);
            }
            ControlType::Encoder { encoding, step } => {
                if target.kind() == TargetKind::Relative {
                    let ticks = (encoding.ticks(value) as f32 * step).round();
                    if let Some(a) = target.live_action_on(deck, Value::Number(ticks as f64)) {
                        if self.live.len() < LIVE_QUEUE {
                            self.live.push(a);
                        }
                    }
                    return;
                }
                let TargetKind::Continuous { min, max } = target.kind() else {
                    return;
                };
                let ticks = encoding.ticks(value);
                if ticks == 0 {
                    return;
                }
                let hold = (ENCODER_HOLD_SECS * status.sample_rate as f64) as u64;
                let current = match self.state[i].sent {
                    Some((v, at)) if status.frame.saturating_sub(at) <= hold => v,
                    _ => self.current(target, deck, status),
                };
                let (lo, hi) = (min.min(max), min.max(max));
                let x = (current + ticks as f32 * step).clamp(lo, hi);
                self.state[i].sent = Some((x, status.frame));
                self.set(target, deck, x, status, out);
            }
            ControlType::Jog {
                encoding,
                ticks_per_rev,
                nudge_ms,
                scratch,
            } => {
                let ticks = encoding.ticks(value);
                if ticks == 0 {
                    return;
                }
                if scratch && self.deck_mem[deck as usize].jog_touched {
                    out.push(Command::ScratchMove {
                        deck,
                        seconds: ticks as f32 / ticks_per_rev * SECONDS_PER_REV,
                    });
                } else {
                    out.push(Command::Nudge {
                        deck,
                        ms: (ticks as f32 * nudge_ms).clamp(-500.0, 500.0),
                    });
                }
            }
        }
    }

    /// Soft takeover: whether fader binding `i` at `x` may set its target now. Followed
    /// while it is being moved (its last value was sent less than 0.25 s ago) and on its
    /// first move; otherwise only once it comes within 3/128 of the range of the target's
    /// value, or crosses it.
    fn take_over(&mut self, i: usize, target: Target, deck: u8, x: f32, status: &Status) -> bool {
        let TargetKind::Continuous { min, max } = target.kind() else {
            return true;
        };
        let tol = (max - min).abs() * 3.0 / 128.0;
        let hold = (ENCODER_HOLD_SECS * status.sample_rate as f64) as u64;
        let current = self.current(target, deck, status);
        let st = &mut self.state[i];
        let moving = st
            .sent
            .is_some_and(|(_, at)| status.frame.saturating_sub(at) <= hold);
        let first = st.sent.is_none() && st.fader_at.is_none();
        let near = (x - current).abs() <= tol;
        let crossed = st
            .fader_at
            .is_some_and(|p| (p - current) * (x - current) <= 0.0);
        st.fader_at = Some(x);
        let ok = moving || first || near || crossed;
        if ok {
            st.sent = Some((x, status.frame));
        }
        ok
    }

    /// The on/off state of a switch target now.
    fn switch_state(&self, target: Target, deck: u8, status: &Status) -> bool {
        let d = &status.decks[deck as usize];
        let mem = &self.deck_mem[deck as usize];
        match target {
            Target::Play => d.playing && !d.previewing,
            Target::Sync => d.sync,
            Target::KeyLock => d.key_lock,
            Target::Quantize => mem.quantize,
            Target::Pfl => d.pfl,
            Target::BeatLoop(_) => d.looping,
            Target::EqKill(b) => mem.eq_killed[b as usize],
            Target::StemMute(s) => mem.stem_muted[s as usize],
            Target::FxOn(u) => status.fx[u as usize].on,
            Target::FxChain(u) => status.fx[u as usize].mode == FxMode::Chain,
            Target::FxMaster(u) => status.fx[u as usize].master,
            Target::FxAssign(u) => status.fx[u as usize].decks[deck as usize],
            Target::FxSlotOn(u, s) => status.fx[u as usize].slots[s as usize].on,
            _ => false,
        }
    }

    fn switch(
        &mut self,
        target: Target,
        deck: u8,
        on: bool,
        status: &Status,
        out: &mut Vec<Command>,
    ) {
        // The controller's memory first (what the engine does not report), then the one
        // Target → Command conversion.
        let mem = &mut self.deck_mem[deck as usize];
        match target {
            Target::Quantize => mem.quantize = on,
            Target::BeatLoop(beats) if on => mem.last_loop_beats = beats,
            Target::BendUp | Target::BendDown => {
                let sign = if target == Target::BendUp { 1.0 } else { -1.0 };
                mem.bend = if on { sign * BEND_BUTTON_PERCENT } else { 0.0 };
            }
            Target::EqKill(band) => {
                let b = band as usize;
                if on && !mem.eq_killed[b] {
                    let now = status.decks[deck as usize].eq[b];
                    mem.eq_before_kill[b] = if status.sample_rate == 0 { 1.0 } else { now };
                }
                mem.eq_killed[b] = on;
                if !on {
                    // Unkilled: back to the gain before the kill, not flat.
                    out.push(Command::Eq {
                        deck,
                        band,
                        gain: mem.eq_before_kill[b],
                    });
                    return;
                }
            }
            Target::StemMute(stem) => mem.stem_muted[stem as usize] = on,
            Target::JogTouch => mem.jog_touched = on,
            _ => {}
        }
        out.extend(target.command(deck, Value::Press(on), status));
    }

    fn trigger(&mut self, target: Target, deck: u8, status: &Status, out: &mut Vec<Command>) {
        if let Some(a) = target.live_action_on(deck, Value::Press(true)) {
            // Within the reserved capacity: no allocation.
            if self.live.len() < LIVE_QUEUE {
                self.live.push(a);
            }
            return;
        }
        let d = &status.decks[deck as usize];
        let mem = &mut self.deck_mem[deck as usize];
        match target {
            // Cycling needs the range last set from here (the engine does not report it).
            Target::TempoRangeCycle => {
                mem.tempo_range = match mem.tempo_range {
                    TempoRange::Narrow => TempoRange::Medium,
                    TempoRange::Medium => TempoRange::Wide,
                    TempoRange::Wide => TempoRange::Narrow,
                };
                let percent = match mem.tempo_range {
                    TempoRange::Narrow => 8.0,
                    TempoRange::Medium => 16.0,
                    TempoRange::Wide => 50.0,
                };
                out.extend(target.command(deck, Value::Number(percent), status));
            }
            // Loop in / out: the in point is remembered here; a running loop is resized.
            Target::LoopIn => {
                mem.loop_in = Some(d.position);
                if d.looping && d.position < d.loop_end {
                    out.push(Command::SetLoop {
                        deck,
                        start: Position::Frames(d.position),
                        end: Position::Frames(d.loop_end),
                    });
                }
            }
            Target::LoopOut => {
                let start = if d.looping {
                    Some(d.loop_start)
                } else {
                    mem.loop_in
                };
                if let Some(start) = start.filter(|s| *s < d.position) {
                    out.push(Command::SetLoop {
                        deck,
                        start: Position::Frames(start),
                        end: Position::Frames(d.position),
                    });
                }
            }
            // Halve/double also the length remembered while not looping.
            Target::LoopHalve | Target::LoopDouble => {
                let now = frames_per_beat(status, deck)
                    .map(|fpb| (d.loop_end - d.loop_start) / fpb)
                    .filter(|len| d.looping && len.is_finite() && *len > 0.0)
                    .map_or(mem.last_loop_beats, |len| len as f32);
                let f = if target == Target::LoopHalve {
                    0.5
                } else {
                    2.0
                };
                mem.last_loop_beats = (now * f).clamp(1.0 / 32.0, 64.0);
                out.extend(target.command(deck, Value::Press(true), status));
            }
            _ => out.extend(target.command(deck, Value::Press(true), status)),
        }
    }

    /// The value a continuous target has now (engine status where it reports it).
    fn current(&self, target: Target, deck: u8, status: &Status) -> f32 {
        let d = &status.decks[deck as usize];
        let mem = &self.deck_mem[deck as usize];
        let known = status.sample_rate != 0;
        match target {
            Target::Volume if known => d.volume,
            Target::Volume => 1.0,
            Target::Tempo => d.tempo_percent,
            Target::Eq(b) if known => d.eq[b as usize],
            Target::Eq(_) => 1.0,
            Target::Filter => d.filter,
            Target::StemGain(s) if known => d.stems[s as usize],
            Target::StemGain(_) => 1.0,
            Target::StemFilter(s) => d.stem_filters[s as usize],
            Target::KeyShift => d.key_shift,
            Target::Trim => mem.trim,
            Target::Bend => mem.bend,
            Target::Crossfader => status.crossfader,
            Target::MasterGain => self.master_gain,
            Target::HeadphoneGain => self.headphone_gain,
            Target::CueMix => self.cue_mix,
            Target::CrossfaderCurve => self.crossfader_curve,
            Target::FxMix(u) => status.fx[u as usize].mix,
            Target::FxKnob(u, s, p) => status.fx[u as usize].slots[s as usize].params[p as usize],
            Target::FxEffect(u, s) => {
                effect_number(status.fx[u as usize].slots[s as usize].effect) as f32
            }
            _ => 0.0,
        }
    }

    fn set(&mut self, target: Target, deck: u8, x: f32, status: &Status, out: &mut Vec<Command>) {
        let mem = &mut self.deck_mem[deck as usize];
        match target {
            Target::Eq(band) => {
                mem.eq_before_kill[band as usize] = x;
                if mem.eq_killed[band as usize] {
                    return;
                }
            }
            Target::Trim => mem.trim = x,
            Target::Bend => mem.bend = x,
            Target::CrossfaderCurve => self.crossfader_curve = x,
            Target::MasterGain => self.master_gain = x,
            Target::HeadphoneGain => self.headphone_gain = x,
            Target::CueMix => self.cue_mix = x,
            _ => {}
        }
        out.extend(target.command(deck, Value::Number(x as f64), status));
    }

    /// The live actions (load a suggestion, Auto DJ, start the transition) pressed since
    /// the last call, oldest first. Allocation-free.
    pub fn take_live(&mut self) -> std::vec::Drain<'_, LiveAction> {
        self.live.drain(..)
    }

    /// Tell the controller what the shell knows (recording, Auto DJ): the `recording` and
    /// `autodj` LEDs show it from the next [`Controller::feedback`].
    pub fn set_live_state(&mut self, state: LiveState) {
        self.live_state = state;
    }

    /// LED and meter messages for what changed since the last call (every output on the
    /// first call, and after [`Controller::refresh_feedback`]).
    pub fn feedback(&mut self, status: &Status, out: &mut Vec<[u8; 3]>) {
        for (i, o) in self.mapping.outputs.iter().enumerate() {
            let deck = o.deck.unwrap_or(0) as usize;
            if o.deck.is_some() && deck >= self.decks {
                continue;
            }
            let v = output_value(
                o,
                source_value(
                    o.source,
                    deck,
                    status,
                    &self.deck_mem[deck],
                    self.live_state,
                ),
            );
            if self.sent[i] != Some(v) {
                self.sent[i] = Some(v);
                out.push(o.midi.message(v));
            }
        }
    }

    /// Forget what was sent, so the next [`Controller::feedback`] sends every output
    /// (after the controller was reconnected).
    pub fn refresh_feedback(&mut self) {
        self.sent.iter_mut().for_each(|s| *s = None);
    }
}

/// Map a raw value with a centre onto `min..max`, the centre landing exactly on the middle.
fn scale(v: f32, centre: f32, top: f32, min: f32, max: f32) -> f32 {
    let mid = 0.5 * (min + max);
    if v <= centre {
        min + (mid - min) * (v / centre)
    } else {
        mid + (max - mid) * ((v - centre) / (top - centre))
    }
}

fn source_value(s: Source, deck: usize, status: &Status, mem: &DeckMemory, live: LiveState) -> f32 {
    let d = &status.decks[deck];
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    let db = |peak: f32| {
        if peak <= 0.0 {
            0.0
        } else {
            ((20.0 * peak.log10() + 48.0) / 48.0).clamp(0.0, 1.0)
        }
    };
    match s {
        Source::Play => b(d.playing && !d.previewing),
        Source::Cue => {
            b(d.previewing || (d.loaded && !d.playing && (d.position - d.cue_point).abs() < 1.0))
        }
        Source::Sync => b(d.sync),
        Source::KeyLock => b(d.key_lock),
        Source::Quantize => b(mem.quantize),
        Source::Pfl => b(d.pfl),
        Source::Loop => b(d.looping),
        Source::Roll => b(d.rolling),
        Source::HotCue(i) => b(d.hot_cues.get(i as usize).is_some_and(|h| h.is_some())),
        Source::Loaded => b(d.loaded),
        Source::Beat => b(d.playing && d.beat.rem_euclid(1.0) < 0.25),
        Source::OnAir => b(status.on_air == Some(deck as u8)),
        Source::SyncLeader => b(d.sync_leader),
        Source::Vu => db(d.meter.peak),
        Source::VuMaster => db(status.master.peak),
        Source::FxOn(u) => b(status.fx[u as usize].on),
        Source::FxChain(u) => b(status.fx[u as usize].mode == FxMode::Chain),
        Source::FxMaster(u) => b(status.fx[u as usize].master),
        Source::FxAssign(u) => b(status.fx[u as usize].decks[deck]),
        Source::FxSlotOn(u, s) => b(status.fx[u as usize].slots[s as usize].on),
        Source::FxActive(u, s) => b(status.fx[u as usize].slots[s as usize].active),
        Source::Recording => b(live.recording),
        Source::AutoDj => b(live.autodj),
    }
}

fn output_value(o: &Output, x: f32) -> u8 {
    if o.level {
        let v = o.off as f32 + (o.on as f32 - o.off as f32) * x.clamp(0.0, 1.0);
        v.round().clamp(0.0, 127.0) as u8
    } else if x >= o.min && x <= o.max {
        o.on
    } else {
        o.off
    }
}
