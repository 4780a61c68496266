//! # segue-plugin
//!
//! The CLAP/VST3 shell (nice-plug, the maintained nih-plug fork) around `segue-engine` and
//! `segue-models`: parameters, host sync, MIDI, state, editor. A thin shell: no mixing or
//! analysis logic of its own.
//!
//! * Audio: four decks; main stereo out = the master bus, auxiliary stereo out "Cue" = the
//!   headphone bus. A second audio-port layout adds one stereo aux out per deck ("Deck A" ..
//!   "Deck D", pre-fader: after trim, EQ, filter and stems) for mixing in the DAW; the first
//!   layout stays the default so saved projects open as before.
//! * Parameters (`params.rs`): stable string IDs, sample-accurate automation; each change
//!   becomes one engine command at its frame.
//! * Host sync (`sync.rs`): with "Follow host" on and a host that reports a tempo, decks with
//!   a beatgrid play at the host tempo (key lock keeps the pitch), start and stop with the
//!   transport and align their bar phase to the host's beat position. Without a host
//!   transport the decks run on their own.
//! * MIDI (`midi.rs`): notes → hot cues / play / cue / sync / key lock, CCs → controls;
//!   MIDI learn from the editor (the binding is saved in the session).
//! * Tracks (`control.rs`): decoded and analysed on background threads, restored from the
//!   saved session (`session.rs`, versioned with migrations).
//!
//! Must never: allocate, lock or block in `process` (checked with nice-plug's
//! `assert_process_allocs` in debug builds: the host-harness tests run the debug bundle).

#![forbid(unsafe_code)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::thread::JoinHandle;

use nice_plug::midi::{Channel, Key};
use nice_plug::prelude::*;
use segue_controllers::Value;
use segue_engine::record::{record_tap, RecordTap};
use segue_engine::{
    Command, DeckTap, Engine, EngineConfig, Outputs, Schedule, Status, MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE, SAMPLE_RATES,
};

mod browser;
mod control;
mod editor;
mod library_view;
mod midi;
mod params;
/// The saved session document (public for the cargo-fuzz target that feeds it any bytes).
pub mod session;
mod sync;

pub use browser::{list_dir, Listing, AUDIO_EXTENSIONS};
pub use control::Shared;
pub use midi::{Heard, LearnTarget, MidiMapping, MidiTable, NoteAction};
pub use params::{Control, SegueParams, DECKS, PARAM_TARGETS};
pub use segue_library::decks::{DeckState, DeckView};
pub use session::{default_record_dir, Session, SESSION_VERSION};

use params::{DECK_CONTROLS, FX_VALUES};
use sync::HostSync;

/// The engine, rebuilt when the sample rate changes (its control end lives in
/// [`Shared`]'s deck service), and the tap that copies its master output (after the bypass
/// ramp: what the host receives) to the recorder.
struct Audio {
    engine: Engine,
    rate: u32,
    record: RecordTap,
}

/// Seconds of master output the record ring holds (the recorder's disk writer drains it).
const RECORD_RING_SECS: usize = 8;

/// What the audio thread remembers of one deck's controls between blocks.
#[derive(Debug, Clone, Copy)]
struct DeckControls {
    /// Last parameter values turned into commands (NaN = send at the next block).
    sent: [f32; DECK_CONTROLS.len()],
    /// Last values of the button parameters play, sync, key lock (None = not seen yet).
    buttons: [Option<bool>; 3],
    /// What the DJ wants (parameters and MIDI toggles): play, sync, key lock.
    play: bool,
    sync: bool,
    key_lock: bool,
    /// The play state last sent (None: send again).
    sent_play: Option<bool>,
    /// The deck's `DeckStatus::loads` seen last: a change means the engine reset its
    /// transport (a new track or an eject), so the play state is sent again.
    loads: u32,
}

impl Default for DeckControls {
    fn default() -> Self {
        Self {
            sent: [f32::NAN; DECK_CONTROLS.len()],
            buttons: [None; 3],
            play: false,
            sync: false,
            key_lock: true,
            sent_play: None,
            loads: 0,
        }
    }
}

impl DeckControls {
    /// Forget what was sent (the DJ's wishes stay).
    fn resend(&mut self) {
        self.sent = [f32::NAN; DECK_CONTROLS.len()];
        self.buttons = [None; 3];
        self.sent_play = None;
    }
}

/// One block's context, read once at its start.
struct Block {
    frames: usize,
    /// Engine frame of the block's first frame.
    t0: u64,
    status: Status,
    transport: sync::HostTransport,
    /// Host sync is on and the host reports a tempo: the decks follow it.
    follow: bool,
}

/// The plugin.
pub struct Segue {
    params: Arc<SegueParams>,
    shared: Arc<Shared>,
    audio: Option<Audio>,
    ends: control::AudioEnds,
    control_threads: Vec<JoinHandle<()>>,
    midi: Box<MidiTable>,
    decks: [DeckControls; DECKS],
    /// Last crossfader and master values sent (NaN = send at the next block).
    sent_global: [f32; 2],
    /// Last FX parameter values sent, in [`SegueParams::fx_values`] order (NaN = send).
    sent_fx: [f32; FX_VALUES],
    host: HostSync,
    /// Output gain of the bypass ramp, 0..=1.
    bypass_gain: f32,
    bypass_step: f32,
}

/// The library the plugin shares with the CLI and `segue serve`
/// ([`segue_library::default_path`]): analyses found there are used at once, new ones stored.
/// `SEGUE_LIBRARY=off` runs without one; a library that cannot be opened is reported and the
/// plugin analyses every track.
fn open_library() -> Option<segue_library::Library> {
    if std::env::var_os("SEGUE_LIBRARY").is_some_and(|v| v == "off") {
        return None;
    }
    let path = segue_library::default_path();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    match segue_library::Library::open(&path) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("segue-plugin: running without a library: {e}");
            None
        }
    }
}

impl Default for Segue {
    fn default() -> Self {
        let params = Arc::new(SegueParams::default());
        let (shared, ends) = Shared::new(params.session.clone(), open_library());
        Self {
            params,
            shared,
            audio: None,
            ends,
            control_threads: Vec::new(),
            midi: MidiTable::new(&MidiMapping::default()),
            decks: [DeckControls::default(); DECKS],
            sent_global: [f32::NAN; 2],
            sent_fx: [f32::NAN; FX_VALUES],
            host: HostSync::default(),
            bypass_gain: 1.0,
            bypass_step: 1.0 / 480.0,
        }
    }
}

/// The engine command for a continuous control on `deck` (deck ignored for global ones):
/// its target's, from the one vocabulary ([`segue_controllers::Target::command`]).
fn control_command(control: Control, deck: u8, v: f32, status: &Status) -> Option<Command> {
    control
        .target()
        .command(deck, Value::Number(v as f64), status)
}

impl Segue {
    /// Forget what was sent: every control goes to the engine again at the next block.
    fn resend_all(&mut self) {
        self.decks.iter_mut().for_each(DeckControls::resend);
        self.sent_global = [f32::NAN; 2];
        self.sent_fx = [f32::NAN; FX_VALUES];
        self.host = HostSync::default();
    }
}

impl Plugin for Segue {
    const NAME: &'static str = "Segue";
    const VENDOR: &'static str = "Segue";
    const URL: &'static str = "https://github.com/segue-dj/segue";
    const EMAIL: &'static str = "segue@invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        // The default (first): what existing sessions were saved with.
        AudioIOLayout {
            main_input_channels: None,
            main_output_channels: NonZeroU32::new(2),
            aux_input_ports: &[],
            aux_output_ports: &[new_nonzero_u32(2)],
            names: PortNames {
                layout: Some("Master + cue"),
                // nice-plug-core 0.4.2's `main_output_name` reads `main_input` (a bug): the
                // main output's name goes here. There is no main input to name.
                main_input: Some("Master"),
                main_output: Some("Master"),
                aux_inputs: &[],
                aux_outputs: &["Cue"],
            },
        },
        // Plus one stereo output per deck, pre-fader.
        AudioIOLayout {
            main_input_channels: None,
            main_output_channels: NonZeroU32::new(2),
            aux_input_ports: &[],
            aux_output_ports: &[new_nonzero_u32(2); 1 + DECKS],
            names: PortNames {
                layout: Some("Master + cue + decks"),
                // See above: the main output's name.
                main_input: Some("Master"),
                main_output: Some("Master"),
                aux_inputs: &[],
                aux_outputs: &["Cue", "Deck A", "Deck B", "Deck C", "Deck D"],
            },
        },
    ];

    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    type Editor = nice_plug_egui::EguiEditor<editor::SegueEditor>;

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.params.clone(), self.shared.clone())
    }

    fn activate(
        &mut self,
        _layout: &AudioIOLayout,
        config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // The engine runs at whole rates: a fractional host rate (45 678.9 Hz) runs at the
        // nearest one, a tempo error below 11 ppm at 22 050 Hz and less above.
        let rate = config.sample_rate.round() as u32;
        if !config.sample_rate.is_finite() || !SAMPLE_RATES.contains(&rate) {
            eprintln!(
                "segue-plugin: {} Hz is not supported (the engine runs at {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)",
                config.sample_rate
            );
            return false;
        }
        let new_engine = self.audio.as_ref().is_none_or(|a| a.rate != rate);
        if new_engine {
            let max_block = (config.max_buffer_size as usize).clamp(16, 8192);
            let parts = match Engine::new(EngineConfig {
                sample_rate: rate,
                max_block,
                decks: DECKS,
                ..EngineConfig::default()
            }) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("segue-plugin: cannot start the engine: {e}");
                    return false;
                }
            };
            let (record, reader) = record_tap(rate as usize * RECORD_RING_SECS);
            // The old engine (and the tracks on it) is dropped here, off the audio thread.
            self.audio = Some(Audio {
                engine: parts.engine,
                rate,
                record,
            });
            self.shared
                .attach(parts.handle, parts.collector, rate, reader);
        }
        self.params.session.take_restored();
        if let Ok(s) = self.params.session.read() {
            self.midi = MidiTable::new(&s.midi);
        }
        self.shared.restore(new_engine);
        self.resend_all();
        self.bypass_step = 1.0 / (0.01 * rate as f32);
        if self.control_threads.is_empty() {
            match self.shared.spawn_control() {
                Ok(t) => self.control_threads = t,
                Err(e) => eprintln!("segue-plugin: cannot start the control threads: {e}"),
            }
        }
        true
    }

    fn reset(&mut self) {
        self.resend_all();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // Taken out for the call (no allocation: the Option just moves) so `self` stays free.
        let Some(mut audio) = self.audio.take() else {
            for ch in buffer.as_slice() {
                ch.fill(0.0);
            }
            return ProcessStatus::Normal;
        };
        let engine = &mut audio.engine;
        let transport = sync::HostTransport::read(context.transport());
        let block = Block {
            frames: buffer.samples(),
            t0: engine.frame(),
            status: *engine.status(),
            follow: self.params.host_sync.value() && transport.tempo.is_some(),
            transport,
        };
        self.take_midi_table();
        self.note_loads(&block.status);
        self.send_mixer_params(engine, &block);
        self.send_deck_params(engine, &block);
        self.send_fx_params(engine, &block);
        let tempo = self.decks.map(|d| d.sent[TEMPO_SLOT]);
        let gate = self.host.update(
            engine,
            &block.status,
            &block.transport,
            block.follow,
            tempo,
            block.frames,
            audio.rate,
        );
        self.handle_midi(engine, context, &block, gate);
        self.send_play(engine, &block, gate);
        render(
            engine,
            buffer.as_slice(),
            aux.outputs,
            block.frames,
            self.params.bypass.value(),
            &mut self.bypass_gain,
            self.bypass_step,
        );
        if let [l, r, ..] = buffer.as_slice() {
            audio.record.block(block.t0, l, r);
        }
        let busy = engine.status().decks[..DECKS].iter().any(|d| d.playing)
            || (block.follow && block.transport.playing)
            || !silent(buffer.as_slice())
            || aux.outputs.iter_mut().any(|b| !silent(b.as_slice()));
        self.audio = Some(audio);
        // Idle (no deck plays, nothing rings out, the host's transport does not drive the
        // decks): `Normal` is CLAP's "continue if not quiet", so the host may put the plugin
        // to sleep until the next event arrives. While anything plays, keep it awake: a deck
        // in a silent intro must still advance.
        if busy {
            ProcessStatus::KeepAlive
        } else {
            ProcessStatus::Normal
        }
    }

    fn deactivate(&mut self) {}
}

/// The tempo fader's slot among a deck's continuous controls.
const TEMPO_SLOT: usize = {
    // A compile error (index out of bounds) if the tempo fader were not a deck control.
    let mut i = 0;
    while !matches!(DECK_CONTROLS[i], Control::Tempo) {
        i += 1;
    }
    i
};

/// The steps of `process`, in order. Each runs on the audio thread: no allocation, no lock.
impl Segue {
    /// A new MIDI mapping (after a state restore); the old table goes back to be dropped.
    fn take_midi_table(&mut self) {
        if self.ends.midi_back.is_full() {
            return;
        }
        if let Ok(table) = self.ends.midi.pop() {
            let old = std::mem::replace(&mut self.midi, table);
            let _ = self.ends.midi_back.push(old);
        }
    }

    /// A deck whose track changed (or was ejected) stopped: its play state is sent again.
    fn note_loads(&mut self, status: &Status) {
        for (d, dc) in self.decks.iter_mut().enumerate() {
            let loads = status.decks[d].loads;
            if loads != dc.loads {
                dc.loads = loads;
                dc.sent_play = None;
            }
        }
    }

    /// Crossfader and master, on change (smoothed parameters step once per block).
    fn send_mixer_params(&mut self, engine: &mut Engine, block: &Block) {
        let p = &*self.params;
        for (g, (control, param)) in [
            (Control::Crossfader, &p.crossfader),
            (Control::Master, &p.master),
        ]
        .into_iter()
        .enumerate()
        {
            let v = if param.smoothed.is_smoothing() {
                param.smoothed.next_step(block.frames as u32)
            } else {
                param.value()
            };
            if v.to_bits() != self.sent_global[g].to_bits() {
                self.sent_global[g] = v;
                if let Some(c) = control_command(control, 0, v, &block.status) {
                    let _ = engine.send(c);
                }
            }
        }
    }

    /// Each deck's continuous controls and buttons, on change. The tempo fader is left to
    /// the host while the decks follow it.
    fn send_deck_params(&mut self, engine: &mut Engine, block: &Block) {
        for (d, dc) in self.decks.iter_mut().enumerate() {
            let deck = d as u8;
            let dp = &self.params.decks[d];
            for (slot, v) in dp.values(block.frames as u32).into_iter().enumerate() {
                if v.to_bits() == dc.sent[slot].to_bits() {
                    continue;
                }
                // A change after the first send is the DJ's (or the host's automation).
                let touched = !dc.sent[slot].is_nan();
                dc.sent[slot] = v;
                let control = DECK_CONTROLS[slot];
                if control == Control::Tempo && block.follow {
                    continue;
                }
                if let Some(c) = control_command(control, deck, v, &block.status) {
                    if touched {
                        self.shared.live.autodj.touched(&c);
                    }
                    let _ = engine.send(c);
                }
            }
            let buttons = [dp.play.value(), dp.sync.value(), dp.key_lock.value()];
            for (i, v) in buttons.into_iter().enumerate() {
                if dc.buttons[i] == Some(v) {
                    continue;
                }
                let touched = dc.buttons[i].is_some();
                dc.buttons[i] = Some(v);
                let c = match i {
                    0 => {
                        dc.play = v;
                        Command::Play { deck, on: v }
                    }
                    1 => {
                        dc.sync = v;
                        Command::Sync { deck, on: v }
                    }
                    _ => {
                        dc.key_lock = v;
                        Command::KeyLock { deck, on: v }
                    }
                };
                if touched {
                    self.shared.live.autodj.touched(&c);
                }
                // Play goes out in `send_play`, gated by the host transport.
                if i > 0 {
                    let _ = engine.send(c);
                }
            }
        }
    }

    /// The FX units' parameters, on change, each through its target. Choosing an effect
    /// resets the slot's knobs and beats in the engine: the parameters' values are sent
    /// again after it (they come later in the list).
    fn send_fx_params(&mut self, engine: &mut Engine, block: &Block) {
        let values = self.params.fx_values();
        for i in 0..FX_VALUES {
            let (target, deck, v) = values[i];
            if v.to_bits() == self.sent_fx[i].to_bits() {
                continue;
            }
            let touched = !self.sent_fx[i].is_nan();
            self.sent_fx[i] = v;
            if let segue_controllers::Target::FxEffect(u, s) = target {
                for (j, &(t, ..)) in values.iter().enumerate().skip(i + 1) {
                    if matches!(t, segue_controllers::Target::FxKnob(tu, ts, _)
                        | segue_controllers::Target::FxBeats(tu, ts) if tu == u && ts == s)
                    {
                        self.sent_fx[j] = f32::NAN;
                    }
                }
            }
            if let Some(c) = target.command(deck, Value::Number(v as f64), &block.status) {
                if touched {
                    self.shared.live.autodj.touched(&c);
                }
                let _ = engine.send(c);
            }
        }
    }

    /// MIDI from the host, each event at its own frame.
    fn handle_midi(
        &mut self,
        engine: &mut Engine,
        context: &mut impl ProcessContext<Self>,
        block: &Block,
        gate: bool,
    ) {
        while let Some(event) = context.next_event() {
            let at = block.t0 + event.timing() as u64;
            match event {
                NoteEvent::NoteOn {
                    channel: Channel::Number(channel),
                    key: Key::Number(note),
                    velocity,
                    ..
                } => {
                    if velocity > 0.0 && self.shared.learn.hear(Heard::Note { channel, note }) {
                        continue;
                    }
                    if let Some((deck, action)) = self.midi.note(channel, note) {
                        self.note(engine, deck, action, velocity > 0.0, at, gate, block);
                    }
                }
                NoteEvent::NoteOff {
                    channel: Channel::Number(channel),
                    key: Key::Number(note),
                    ..
                } => {
                    if let Some((deck, action)) = self.midi.note(channel, note) {
                        self.note(engine, deck, action, false, at, gate, block);
                    }
                }
                NoteEvent::MidiCC {
                    channel, cc, value, ..
                } => {
                    if self.shared.learn.hear(Heard::Cc { channel, cc }) {
                        continue;
                    }
                    let Some((deck, control)) = self.midi.cc(channel, cc) else {
                        continue;
                    };
                    if control == Control::Tempo && block.follow {
                        continue;
                    }
                    let v = control.from_unit(value);
                    if let Some(c) = control_command(control, deck, v, &block.status) {
                        self.shared.live.autodj.touched(&c);
                        let _ = engine.send_at(at, c);
                    }
                }
                _ => {}
            }
        }
    }

    /// A note mapped to a deck action. The plugin keeps the toggles (play is also gated by
    /// the host transport); the command comes from the note's target, as from any other
    /// control.
    #[allow(clippy::too_many_arguments)]
    fn note(
        &mut self,
        engine: &mut Engine,
        deck: u8,
        action: NoteAction,
        pressed: bool,
        at: u64,
        gate: bool,
        block: &Block,
    ) {
        // Suggestions and Auto DJ: for the control thread (it loads, plans).
        if let Some(a) = action.target().live_action(Value::Press(pressed)) {
            let _ = self.ends.live.push(a);
            return;
        }
        let Some(dc) = self.decks.get_mut(deck as usize) else {
            return;
        };
        let value = match (action, pressed) {
            (NoteAction::HotCue(_), true) => Value::Press(true),
            (NoteAction::Cue, p) => Value::Press(p),
            (NoteAction::Play, true) => {
                dc.play = !dc.play;
                let on = dc.play && gate;
                dc.sent_play = Some(on);
                Value::Press(on)
            }
            (NoteAction::Sync, true) => {
                dc.sync = !dc.sync;
                Value::Press(dc.sync)
            }
            (NoteAction::KeyLock, true) => {
                dc.key_lock = !dc.key_lock;
                Value::Press(dc.key_lock)
            }
            _ => return,
        };
        if let Some(cmd) = action.target().command(deck, value, &block.status) {
            self.shared.live.autodj.touched(&cmd);
            let _ = engine.send_at(at, cmd);
        }
    }

    /// The DJ's play button gated by the host transport, on change; a deck that starts
    /// while following the host is aligned to its bar phase.
    fn send_play(&mut self, engine: &mut Engine, block: &Block, gate: bool) {
        for d in 0..DECKS {
            let on = self.decks[d].play && gate;
            if self.decks[d].sent_play == Some(on) {
                continue;
            }
            self.decks[d].sent_play = Some(on);
            let _ = engine.send(Command::Play { deck: d as u8, on });
            if on && block.follow {
                self.host
                    .align_deck(engine, &block.status, &block.transport, d);
            }
        }
    }
}

/// Render the block into the layout's outputs: master (main), cue (first aux) and, with
/// the per-deck layout, each deck pre-fader (aux 2..); then the bypass ramp over all of
/// them. No allocation: the buffers are borrowed into fixed arrays.
fn render(
    engine: &mut Engine,
    main: &mut [&mut [f32]],
    aux: &mut [Buffer],
    frames: usize,
    bypass: bool,
    gain: &mut f32,
    step: f32,
) {
    let (cue, decks) = match aux.split_first_mut() {
        Some((cue, decks)) => (cue.as_slice(), decks),
        None => (&mut [][..], &mut [][..]),
    };
    if main.len() < 2 || cue.len() < 2 {
        for ch in main.iter_mut() {
            ch.fill(0.0);
        }
        return;
    }
    let ([ml, mr, ..], [cl, cr, ..]) = (main, cue) else {
        return;
    };
    let mut out = Outputs {
        master: [&mut **ml, &mut **mr],
        cue: [&mut **cl, &mut **cr],
    };
    if let [a, b, c, d, ..] = decks {
        if let ([al, ar, ..], [bl, br, ..], [cl2, cr2, ..], [dl, dr, ..]) =
            (a.as_slice(), b.as_slice(), c.as_slice(), d.as_slice())
        {
            let mut outs = [
                [&mut **al, &mut **ar],
                [&mut **bl, &mut **br],
                [&mut **cl2, &mut **cr2],
                [&mut **dl, &mut **dr],
            ];
            engine.process_with_decks(&mut out, &mut outs, DeckTap::PreFader, frames);
            let [[al, ar], [bl, br], [cl2, cr2], [dl, dr]] = outs;
            let Outputs {
                master: [ml, mr],
                cue: [cl, cr],
            } = out;
            apply_bypass(
                bypass,
                gain,
                step,
                [ml, mr, cl, cr, al, ar, bl, br, cl2, cr2, dl, dr],
            );
            return;
        }
    }
    engine.process(&mut out, frames);
    let Outputs {
        master: [ml, mr],
        cue: [cl, cr],
    } = out;
    apply_bypass(bypass, gain, step, [ml, mr, cl, cr]);
}

/// Every sample of every channel is exactly zero.
fn silent(channels: &mut [&mut [f32]]) -> bool {
    channels.iter().all(|c| c.iter().all(|&s| s == 0.0))
}

/// Fade the outputs out (bypass on) or in over 10 ms.
fn apply_bypass<const N: usize>(
    bypass: bool,
    gain: &mut f32,
    step: f32,
    channels: [&mut [f32]; N],
) {
    let target = if bypass { 0.0 } else { 1.0 };
    if *gain == target && target == 1.0 {
        return;
    }
    let n = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    let mut channels = channels;
    for i in 0..n {
        *gain = if target > *gain {
            (*gain + step).min(1.0)
        } else {
            (*gain - step).max(0.0)
        };
        for ch in channels.iter_mut() {
            ch[i] *= *gain;
        }
    }
}

impl Drop for Segue {
    fn drop(&mut self) {
        self.shared.shutdown();
        for t in self.control_threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl ClapPlugin for Segue {
    const CLAP_ID: &'static str = "org.segue.segue";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Four-deck DJ mixer: host-synced decks, stems, hot cues, analysis");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::Instrument,
        ClapFeature::Sampler,
        ClapFeature::Stereo,
    ];
}

impl Vst3Plugin for Segue {
    const VST3_CLASS_ID: [u8; 16] = *b"SegueDJMixerEng1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Instrument, Vst3SubCategory::Sampler];
}

nice_export_clap!(Segue);
nice_export_vst3!(Segue);
