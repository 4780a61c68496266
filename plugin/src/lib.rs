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
//! * MIDI (`midi.rs`): notes → hot cues / play / cue / sync / key lock, CCs → controls.
//! * Tracks (`control.rs`): decoded and analysed on background threads, restored from the
//!   saved session (`session.rs`, versioned with migrations).
//!
//! Must never: allocate, lock or block in `process` (checked with nice-plug's
//! `assert_process_allocs` in debug builds: the host-harness tests run the debug bundle).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::thread::JoinHandle;

use nice_plug::midi::{Channel, Key};
use nice_plug::prelude::*;
use segue_controllers::Value;
use segue_engine::{
    Command, DeckTap, Engine, EngineConfig, EngineHandle, Outputs, Status, SAMPLE_RATES,
};

mod browser;
mod control;
mod editor;
mod midi;
mod params;
mod session;
mod sync;

pub use browser::{list_dir, Listing, AUDIO_EXTENSIONS};
pub use control::Shared;
pub use midi::{MidiMapping, MidiTable, NoteAction};
pub use params::{Control, SegueParams, DECKS, PARAM_TARGETS};
pub use segue_library::decks::{DeckState, DeckView};
pub use session::{Session, SESSION_VERSION};

use params::DECK_CONTROLS;
use sync::HostSync;

/// The engine end, rebuilt when the sample rate changes.
struct Audio {
    engine: Engine,
    handle: EngineHandle,
    rate: u32,
}

/// The plugin.
pub struct Segue {
    params: Arc<SegueParams>,
    shared: Arc<Shared>,
    audio: Option<Audio>,
    ends: control::AudioEnds,
    control_thread: Option<JoinHandle<()>>,
    midi: Box<MidiTable>,
    /// Last parameter values turned into commands (NaN = send at the next block).
    sent: [[f32; DECK_CONTROLS.len()]; DECKS],
    sent_global: [f32; 2],
    /// Last values of the button parameters (None = not seen yet).
    buttons: [[Option<bool>; 3]; DECKS],
    /// What the DJ wants: play, sync, key lock (parameters and MIDI toggles).
    play: [bool; DECKS],
    sync_on: [bool; DECKS],
    key_lock: [bool; DECKS],
    /// The play state last sent to each deck (None: send again).
    sent_play: [Option<bool>; DECKS],
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
            control_thread: None,
            midi: MidiTable::new(&MidiMapping::default()),
            sent: [[f32::NAN; DECK_CONTROLS.len()]; DECKS],
            sent_global: [f32::NAN; 2],
            buttons: [[None; 3]; DECKS],
            play: [false; DECKS],
            sync_on: [false; DECKS],
            key_lock: [true; DECKS],
            sent_play: [None; DECKS],
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
        self.sent = [[f32::NAN; DECK_CONTROLS.len()]; DECKS];
        self.sent_global = [f32::NAN; 2];
        self.buttons = [[None; 3]; DECKS];
        self.sent_play = [None; DECKS];
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
        let rate = config.sample_rate.round() as u32;
        if !SAMPLE_RATES.contains(&rate) {
            eprintln!(
                "segue-plugin: {rate} Hz is not supported (use 44100, 48000, 88200 or 96000 Hz)"
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
            // The old engine (and the tracks on it) is dropped here, off the audio thread.
            self.audio = Some(Audio {
                engine: parts.engine,
                handle: parts.handle,
                rate,
            });
            *self
                .shared
                .collector
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(parts.collector);
            self.shared.set_rate(rate);
        }
        self.params.session.take_restored();
        if let Ok(s) = self.params.session.read() {
            self.midi = MidiTable::new(&s.midi);
        }
        self.shared.restore(new_engine);
        self.resend_all();
        self.bypass_step = 1.0 / (0.01 * rate as f32);
        if self.control_thread.is_none() {
            self.control_thread = self.shared.spawn_control().ok();
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
        let frames = buffer.samples();
        // Taken out for the call (no allocation: the Option just moves) so `self` stays free.
        let Some(mut audio) = self.audio.take() else {
            for ch in buffer.as_slice() {
                ch.fill(0.0);
            }
            return ProcessStatus::Normal;
        };
        let t0 = audio.engine.frame();
        let handle = &mut audio.handle;

        // 1. Commands from the control side (tracks, beatgrids, cues).
        while handle.free_slots() > 64 {
            let Ok(c) = self.ends.commands.pop() else {
                break;
            };
            if let Command::Load { deck, .. } | Command::Eject { deck } = c {
                if let Some(p) = self.sent_play.get_mut(deck as usize) {
                    *p = None;
                }
            }
            // Cannot fail: there are free slots.
            let _ = handle.send(c);
        }

        // A new MIDI mapping (after a state restore); the old table goes back to be dropped.
        if !self.ends.midi_back.is_full() {
            if let Ok(table) = self.ends.midi.pop() {
                let old = std::mem::replace(&mut self.midi, table);
                let _ = self.ends.midi_back.push(old);
            }
        }

        // 2. Parameters → commands, on change.
        // A reference count, not an allocation.
        let params = self.params.clone();
        let p = &*params;
        let status = handle.status();
        let transport = &sync::HostTransport::read(context.transport());
        let follow = p.host_sync.value() && transport.tempo.is_some();
        for (g, (control, param)) in [
            (Control::Crossfader, &p.crossfader),
            (Control::Master, &p.master),
        ]
        .into_iter()
        .enumerate()
        {
            let v = if param.smoothed.is_smoothing() {
                param.smoothed.next_step(frames as u32)
            } else {
                param.value()
            };
            if v.to_bits() != self.sent_global[g].to_bits() {
                self.sent_global[g] = v;
                if let Some(c) = control_command(control, 0, v, &status) {
                    let _ = handle.send(c);
                }
            }
        }
        for d in 0..DECKS {
            let dp = &p.decks[d];
            for (slot, v) in dp.values(frames as u32).into_iter().enumerate() {
                if v.to_bits() == self.sent[d][slot].to_bits() {
                    continue;
                }
                self.sent[d][slot] = v;
                let control = DECK_CONTROLS[slot];
                if control == Control::Tempo && follow {
                    continue;
                }
                if let Some(c) = control_command(control, d as u8, v, &status) {
                    let _ = handle.send(c);
                }
            }
            for (i, v) in [dp.play.value(), dp.sync.value(), dp.key_lock.value()]
                .into_iter()
                .enumerate()
            {
                if self.buttons[d][i] == Some(v) {
                    continue;
                }
                self.buttons[d][i] = Some(v);
                match i {
                    0 => self.play[d] = v,
                    1 => {
                        self.sync_on[d] = v;
                        let _ = handle.send(Command::Sync {
                            deck: d as u8,
                            on: v,
                        });
                    }
                    _ => {
                        self.key_lock[d] = v;
                        let _ = handle.send(Command::KeyLock {
                            deck: d as u8,
                            on: v,
                        });
                    }
                }
            }
        }

        // 3. Host sync: tempo, transport gate, beat alignment.
        let gate = self.host.update(
            handle, &status, transport, follow, &self.sent, frames, audio.rate,
        );

        // 4. MIDI, each at its own frame.
        while let Some(event) = context.next_event() {
            let at = t0 + event.timing() as u64;
            match event {
                NoteEvent::NoteOn {
                    channel: Channel::Number(channel),
                    key: Key::Number(note),
                    velocity,
                    ..
                } => {
                    if let Some((deck, action)) = self.midi.note(channel, note) {
                        let pressed = velocity > 0.0;
                        self.note(handle, deck, action, pressed, at, gate, &status);
                    }
                }
                NoteEvent::NoteOff {
                    channel: Channel::Number(channel),
                    key: Key::Number(note),
                    ..
                } => {
                    if let Some((deck, action)) = self.midi.note(channel, note) {
                        self.note(handle, deck, action, false, at, gate, &status);
                    }
                }
                NoteEvent::MidiCC {
                    channel, cc, value, ..
                } => {
                    if let Some((deck, control)) = self.midi.cc(channel, cc) {
                        if !(control == Control::Tempo && follow) {
                            let v = control.from_unit(value);
                            if let Some(c) = control_command(control, deck, v, &status) {
                                let _ = handle.send_at(at, c);
                            }
                        }
                    }
                }
                _ => {}
            }
        }

        // 5. Play state (the DJ's play button, gated by the host transport).
        for d in 0..DECKS {
            let on = self.play[d] && gate;
            if self.sent_play[d] != Some(on) {
                self.sent_play[d] = Some(on);
                let _ = handle.send(Command::Play { deck: d as u8, on });
                if on && follow {
                    self.host.align_deck(handle, &status, transport, d);
                }
            }
        }

        // 6. Render.
        render(
            &mut audio.engine,
            buffer.as_slice(),
            aux.outputs,
            frames,
            p.bypass.value(),
            &mut self.bypass_gain,
            self.bypass_step,
        );
        self.ends.status.write(audio.handle.status());
        self.audio = Some(audio);
        ProcessStatus::Normal
    }

    fn deactivate(&mut self) {}
}

impl Segue {
    // The block's context (time, transport gate, status) travels as plain arguments.
    #[allow(clippy::too_many_arguments)]
    fn note(
        &mut self,
        handle: &mut EngineHandle,
        deck: u8,
        action: NoteAction,
        pressed: bool,
        at: u64,
        gate: bool,
        status: &Status,
    ) {
        let d = deck as usize;
        // The plugin keeps the toggles (play is also gated by the host transport); the
        // command comes from the note's target, as from any other control.
        let value = match (action, pressed) {
            (NoteAction::HotCue(_), true) => Value::Press(true),
            (NoteAction::Cue, p) => Value::Press(p),
            (NoteAction::Play, true) => {
                self.play[d] = !self.play[d];
                let on = self.play[d] && gate;
                self.sent_play[d] = Some(on);
                Value::Press(on)
            }
            (NoteAction::Sync, true) => {
                self.sync_on[d] = !self.sync_on[d];
                Value::Press(self.sync_on[d])
            }
            (NoteAction::KeyLock, true) => {
                self.key_lock[d] = !self.key_lock[d];
                Value::Press(self.key_lock[d])
            }
            _ => return,
        };
        if let Some(cmd) = action.target().command(deck, value, status) {
            let _ = handle.send_at(at, cmd);
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
        if let Some(t) = self.control_thread.take() {
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
