//! The editor (nice-plug-egui): per deck a waveform overview with playhead, beat and phrase
//! markers, coloured sections and hot cues; BPM, key and energy; load field; transport
//! buttons; stem faders and mixer controls. Clicking the overview seeks. Above them, the
//! next-track suggestions for the deck on air (from the library, with their explanation;
//! a click loads one on the free deck) and the Auto DJ switch.
//!
//! Tracks load three ways: the shared file browser (mouse: click a folder to open it, a
//! track to load it on the chosen deck or on A-D with the row's buttons; keyboard, once a
//! row was clicked: ↑/↓, Enter, Backspace for the parent folder, Escape to let go), a path typed into a deck's file field, or files
//! dragged from a file manager onto a deck (the vendored egui-baseview passes baseview's
//! drops to egui as `RawInput::dropped_files`; see `vendor/egui-baseview`).
//!
//! It reads the engine status and the deck views from [`Shared`] and changes parameters
//! through the host (`ParamSetter`), so every move is automatable and undoable in the DAW.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use egui::{Color32, Key, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{create_egui_editor, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use segue_analysis::SectionLabel;
use segue_engine::{Command, DeckStatus, Effect, Position, Status, FX_SLOTS};

use crate::browser::{self, Listing};
use crate::control::{deck_name, Shared};
use crate::params::{
    beats_label, beats_of_step, effect_label, step_of_beats, DeckParams, FxSlotParams, SegueParams,
    BEAT_STEPS, DECKS,
};
use segue_library::decks::{DeckState, DeckView};

/// The editor's own state.
pub struct SegueEditor {
    params: Arc<SegueParams>,
    shared: Arc<Shared>,
    gui: Option<GuiContext>,
    paths: [String; DECKS],
    /// The deck view's path when `paths` was last synced from it.
    shown: [Option<std::path::PathBuf>; DECKS],
    browser: Browser,
    /// A message per deck from the editor itself (a dropped file that is not a track).
    notes: [Option<String>; DECKS],
    /// Where each deck was drawn in the last frame (drop targets).
    deck_rects: [Option<Rect>; DECKS],
    /// Why the last click on a suggestion loaded nothing.
    suggest_note: Option<String>,
    /// The record folder as typed (committed to the session on Enter / focus loss).
    record_dir: Option<String>,
    /// Why the last Record click did nothing.
    record_note: Option<String>,
}

/// The file browser's state.
struct Browser {
    /// The directory shown (None: not listed yet).
    listing: Option<Listing>,
    /// Why the last directory change failed.
    error: Option<String>,
    /// Highlighted entry (keyboard), an index into `Listing::entries`.
    selected: usize,
    /// The deck a click or Enter loads on.
    target: usize,
}

/// What the user asked the browser for in this frame.
enum BrowserAction {
    Open(PathBuf),
    Load(usize, PathBuf),
}

/// Build the editor for a plugin instance.
pub fn create(
    params: Arc<SegueParams>,
    shared: Arc<Shared>,
) -> Option<nice_plug_egui::EguiEditor<SegueEditor>> {
    let paths = std::array::from_fn(|d| {
        params
            .session
            .read()
            .ok()
            .and_then(|s| s.decks[d].track.clone())
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    });
    create_egui_editor(
        params.editor_state.clone(),
        RepaintNotifier::new(),
        EguiNiceSettings::default().with_tile("Segue"),
        SegueEditor {
            params,
            shared,
            gui: None,
            paths,
            shown: Default::default(),
            browser: Browser {
                listing: None,
                error: None,
                selected: 0,
                target: 0,
            },
            notes: Default::default(),
            deck_rects: [None; DECKS],
            suggest_note: None,
            record_dir: None,
            record_note: None,
        },
    )
}

impl Browser {
    /// List `dir`; on failure keep the current listing and say why.
    fn open(&mut self, dir: &Path) -> bool {
        match browser::list_dir(dir) {
            Ok(l) => {
                // Coming back up: highlight the folder we came from.
                self.selected = self
                    .listing
                    .as_ref()
                    .and_then(|old| l.entries().position(|e| *e == old.dir))
                    .unwrap_or(0);
                self.listing = Some(l);
                self.error = None;
                true
            }
            Err(e) => {
                self.error = Some(format!("cannot open {}: {e}", dir.display()));
                false
            }
        }
    }

    /// The action for entry `i` (folder: open; file: load on the target deck).
    fn activate(&self, i: usize) -> Option<BrowserAction> {
        let l = self.listing.as_ref()?;
        let path = l.entries().nth(i)?.clone();
        Some(if i < l.len() - l.files.len() {
            BrowserAction::Open(path)
        } else {
            BrowserAction::Load(self.target, path)
        })
    }

    fn ui(&mut self, ui: &mut egui::Ui) -> Option<BrowserAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.strong("Browser");
            ui.label("load on");
            for d in 0..DECKS {
                if ui
                    .selectable_label(self.target == d, format!("{}", deck_name(d)))
                    .clicked()
                {
                    self.target = d;
                }
            }
            let parent = self.listing.as_ref().and_then(|l| l.parent.clone());
            if ui
                .add_enabled(parent.is_some(), egui::Button::new("Up"))
                .clicked()
            {
                action = parent.map(BrowserAction::Open);
            }
            if ui.button("Refresh").clicked() {
                action = self
                    .listing
                    .as_ref()
                    .map(|l| BrowserAction::Open(l.dir.clone()));
            }
            if let Some(l) = &self.listing {
                ui.label(l.dir.display().to_string());
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(Color32::LIGHT_RED, e);
        }
        let Some(l) = &self.listing else {
            return action;
        };
        let n = l.len();
        // Keyboard: only while the list has the focus (a click on a row gives it; Escape or a
        // click elsewhere takes it back). While it has it, egui-baseview keeps the keys from
        // the host, so e.g. Backspace does not also reach the DAW.
        let list_id = egui::Id::unique("segue-browser-list");
        let focused = ui.memory(|m| m.has_focus(list_id));
        if focused {
            ui.memory_mut(|m| {
                m.set_focus_lock_filter(
                    list_id,
                    egui::EventFilter {
                        vertical_arrows: true,
                        ..Default::default()
                    },
                )
            });
        }
        let mut keyboard_moved = false;
        if n > 0 && focused {
            let (down, up, enter, back) = ui.input(|i| {
                (
                    i.key_pressed(Key::ArrowDown),
                    i.key_pressed(Key::ArrowUp),
                    i.key_pressed(Key::Enter),
                    i.key_pressed(Key::Backspace),
                )
            });
            if down {
                self.selected = (self.selected + 1).min(n - 1);
            }
            if up {
                self.selected = self.selected.saturating_sub(1);
            }
            keyboard_moved = down || up;
            if enter {
                action = self.activate(self.selected);
            } else if back {
                action = l.parent.clone().map(BrowserAction::Open);
            }
        }
        self.selected = self.selected.min(n.saturating_sub(1));
        let folders = n - l.files.len();
        let mut clicked = false;
        let list = egui::ScrollArea::vertical()
            .id_salt("browser")
            .max_height(140.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for (i, path) in l.entries().enumerate() {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| path.display().to_string());
                    let label = if l.parent.as_ref() == Some(path) && i == 0 {
                        ".. (parent folder)".to_string()
                    } else if i < folders {
                        format!("{name}/")
                    } else {
                        name
                    };
                    ui.horizontal(|ui| {
                        let r = ui.selectable_label(self.selected == i, label);
                        if keyboard_moved && self.selected == i {
                            r.scroll_to_me(None);
                        }
                        if r.clicked() {
                            clicked = true;
                            self.selected = i;
                            action = Some(if i < folders {
                                BrowserAction::Open(path.clone())
                            } else {
                                BrowserAction::Load(self.target, path.clone())
                            });
                        }
                        if i >= folders {
                            for d in 0..DECKS {
                                if ui.small_button(format!("{}", deck_name(d))).clicked() {
                                    action = Some(BrowserAction::Load(d, path.clone()));
                                }
                            }
                        }
                    });
                }
                if l.dirs.is_empty() && l.files.is_empty() {
                    ui.weak("no folders or audio files here");
                }
            });
        // The list as one focusable widget (no click sense: the rows keep their clicks).
        ui.interact(list.inner_rect, list_id, Sense::focusable_noninteractive());
        if clicked {
            ui.memory_mut(|m| m.request_focus(list_id));
        }
        action
    }
}

/// The deck whose drawn rect contains `pos`.
fn deck_at(rects: &[Option<Rect>], pos: Pos2) -> Option<usize> {
    rects
        .iter()
        .position(|r| r.is_some_and(|r| r.contains(pos)))
}

impl NiceEguiApp for SegueEditor {
    fn build(
        &mut self,
        _ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(gui);
        // The editor is built when the plugin is created, before the host restores a state:
        // the browser's folder is read from the session each time the window opens.
        let saved = self
            .shared
            .session
            .read()
            .ok()
            .and_then(|s| s.browse_dir.clone());
        let home = std::env::var_os("HOME").map(PathBuf::from);
        self.browser.listing = None;
        self.browser
            .open(&browser::start_dir(saved.as_deref(), home.as_deref()));
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        ui.ctx().request_repaint_after(Duration::from_millis(33));
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        let status = self.shared.status();
        let views: Vec<DeckView> = self.shared.decks.decks();
        // Files being dragged over the editor, and files dropped on it in this frame.
        let (hovering, dropped, pointer) = ui.input(|i| {
            (
                !i.raw.hovered_files.is_empty(),
                i.raw
                    .dropped_files
                    .iter()
                    .map(|f| f.path().to_path_buf())
                    .collect::<Vec<_>>(),
                i.pointer.latest_pos(),
            )
        });
        let drop_deck = pointer.and_then(|p| deck_at(&self.deck_rects, p));
        let mut browser_action = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Segue");
                ui.label("Crossfader");
                ui.add(ParamSlider::for_param(&self.params.crossfader, &setter).with_width(160.0));
                ui.label("Master");
                ui.add(ParamSlider::for_param(&self.params.master, &setter).with_width(120.0));
                toggle(ui, &setter, &self.params.host_sync, "Follow host");
            });
            if let Some(e) = self
                .params
                .session
                .read()
                .ok()
                .and_then(|s| s.load_error.clone())
            {
                ui.colored_label(
                    Color32::LIGHT_RED,
                    format!("Saved session not restored: {e}"),
                );
            }
            ui.separator();
            browser_action = self.browser.ui(ui);
            ui.separator();
            self.suggestions_ui(ui);
            ui.separator();
            self.fx_ui(ui, &setter, &status);
            ui.separator();
            // Below the browser and the FX (the browser keeps its place under the title row).
            self.record_ui(ui);
            for (d, view) in views.iter().enumerate() {
                ui.separator();
                let r = ui
                    .vertical(|ui| self.deck_ui(ui, &setter, d, view, &status.decks[d]))
                    .response
                    .rect;
                self.deck_rects[d] = Some(r);
                if hovering && drop_deck == Some(d) {
                    ui.painter().rect_stroke(
                        r.expand(2.0),
                        3.0,
                        Stroke::new(2.0, Color32::from_rgb(255, 200, 60)),
                        StrokeKind::Outside,
                    );
                }
            }
        });
        if hovering {
            let target = drop_deck.unwrap_or(self.browser.target);
            egui::Area::new(egui::Id::unique("segue-drop-hint"))
                .fixed_pos(pointer.unwrap_or_default() + Vec2::new(12.0, 12.0))
                .show(ui.ctx(), |ui| {
                    ui.label(
                        egui::RichText::new(format!("Drop to load on deck {}", deck_name(target)))
                            .background_color(Color32::from_black_alpha(200))
                            .color(Color32::from_rgb(255, 200, 60)),
                    );
                });
        }
        if !dropped.is_empty() {
            // Not on a deck (the browser, the header): the browser's deck.
            let deck = drop_deck.unwrap_or(self.browser.target);
            for (d, what) in browser::plan_drop(deck, &dropped, DECKS) {
                match what {
                    Ok(path) => self.load(d, path),
                    Err(e) => self.notes[d] = Some(e),
                }
            }
        }
        match browser_action {
            Some(BrowserAction::Open(dir)) if self.browser.open(&dir) => self.remember_dir(&dir),
            Some(BrowserAction::Load(d, path)) => {
                if let Some(dir) = path.parent() {
                    self.remember_dir(dir);
                }
                self.load(d, path);
            }
            Some(BrowserAction::Open(_)) | None => {}
        }
    }
}

/// What the knobs of an effect do (hover text in the FX section).
fn knob_names(effect: Option<Effect>) -> [&'static str; 3] {
    match effect {
        Some(Effect::Echo | Effect::PingPong) => ["feedback", "tone", "-"],
        Some(Effect::Reverb) => ["decay", "damping", "pre-delay"],
        Some(Effect::Flanger) => ["depth", "feedback", "manual"],
        Some(Effect::Phaser) => ["depth", "feedback", "centre"],
        Some(Effect::Gate) => ["open length", "depth", "-"],
        Some(Effect::Bitcrusher) => ["bits", "rate", "drive"],
        Some(Effect::FilterSweep) => ["range", "resonance", "low/high-pass"],
        Some(Effect::Roll) | None => ["-", "-", "-"],
    }
}

/// Set a parameter from the editor (one undoable gesture).
fn set<P: Param>(setter: &ParamSetter, p: &P, v: P::Plain) {
    setter.begin_set_parameter(p);
    setter.set_parameter(p, v);
    setter.end_set_parameter(p);
}

fn toggle(ui: &mut egui::Ui, setter: &ParamSetter, p: &BoolParam, label: &str) {
    let on = p.value();
    if ui.selectable_label(on, label).clicked() {
        setter.begin_set_parameter(p);
        setter.set_parameter(p, !on);
        setter.end_set_parameter(p);
    }
}

impl SegueEditor {
    /// Load `path` on deck `d` (after checking it is an audio file).
    fn load(&mut self, d: usize, path: PathBuf) {
        match browser::check_track(&path) {
            Ok(()) => {
                self.notes[d] = None;
                self.paths[d] = path.display().to_string();
                self.shared.load(d, path, false);
            }
            Err(e) => self.notes[d] = Some(e),
        }
    }

    /// The Record button (the master output, as the host receives it, into a WAV in the
    /// record folder with a cue sheet beside it), the take's time, and the folder.
    fn record_ui(&mut self, ui: &mut egui::Ui) {
        let st = self.shared.record_state();
        ui.horizontal(|ui| {
            let b = ui.selectable_label(st.recording, "Record").on_hover_text(
                "Record the master output (32-bit float WAV) with a cue sheet of the \
                     tracks played; click again to stop",
            );
            if b.clicked() {
                self.record_note = self.shared.record_toggle().err();
            }
            match (&st.path, &st.last) {
                (Some(p), _) if st.recording => {
                    ui.colored_label(
                        Color32::from_rgb(255, 90, 90),
                        format!("REC {} {}", clock(st.seconds), file_name(p)),
                    );
                }
                (_, Some(last)) => {
                    ui.weak(format!(
                        "last take {} ({})",
                        file_name(&last.path),
                        clock(last.frames as f64 / last.rate.max(1) as f64)
                    ));
                }
                _ => {}
            }
            ui.label("Folder");
            let text = self
                .record_dir
                .get_or_insert_with(|| self.shared.record_dir().display().to_string());
            let r = ui.add(egui::TextEdit::singleline(text).desired_width(260.0));
            if r.lost_focus() && !text.trim().is_empty() {
                self.shared.set_record_dir(PathBuf::from(text.trim()));
            }
        });
        if let Some(e) = &self.record_note {
            ui.colored_label(Color32::LIGHT_RED, e);
        }
    }

    /// The next-track suggestions for the deck on air (best first, each with its
    /// explanation line; a click loads it on the free deck) and the Auto DJ switch.
    fn suggestions_ui(&mut self, ui: &mut egui::Ui) {
        let list = self.shared.live.suggestions.get();
        let autodj = &self.shared.live.autodj.enabled;
        ui.horizontal(|ui| {
            ui.strong("Next tracks");
            let on = autodj.load(Ordering::Relaxed);
            if ui
                .selectable_label(on, "Auto DJ")
                .on_hover_text(
                    "Loads the first suggestion onto the free deck and performs the planned \
                     transition; moving a control of a deck takes it over",
                )
                .clicked()
            {
                autodj.store(!on, Ordering::Relaxed);
            }
            match list.deck {
                Some(d) => ui.label(format!("after deck {}", deck_name(d))),
                None => ui.weak("play a track to get suggestions"),
            };
        });
        if list.items.is_empty() {
            let has_library = self.shared.decks.with_library(|_| ()).is_some();
            ui.weak(if has_library {
                "No analysed tracks to suggest yet: add folders with `segue library add DIR`, \
                 or load tracks (each one is analysed into the library)."
            } else {
                "No library (SEGUE_LIBRARY=off or it could not be opened): no suggestions."
            });
            return;
        }
        let mut load = None;
        for (i, s) in list.items.iter().take(5).enumerate() {
            ui.horizontal(|ui| {
                let b = ui
                    .button(format!("{}. {}", i + 1, s.title))
                    .on_hover_text(format!(
                        "{}\nClick: load on the free deck",
                        s.path.display()
                    ));
                if b.clicked() {
                    load = Some(i);
                }
                // The editor's font has no arrow glyph.
                ui.weak(s.compat.line.replace('→', "->"));
            });
        }
        if let Some(i) = load {
            match self
                .shared
                .live
                .pick_suggestion(self.shared.live_deps(), i, None)
            {
                Ok((path, d)) => {
                    self.suggest_note = None;
                    self.load(d, path);
                }
                Err(e) => self.suggest_note = Some(e),
            }
        }
        if let Some(e) = &self.suggest_note {
            ui.colored_label(Color32::LIGHT_RED, e);
        }
    }

    /// The two FX units side by side: on, chain, master, deck assignment and mix, then per
    /// slot its effect, on switch, three knobs and beat length (lit while audible).
    fn fx_ui(&self, ui: &mut egui::Ui, setter: &ParamSetter, status: &Status) {
        let params = self.params.clone();
        ui.columns(2, |cols| {
            for (u, (ui, unit)) in cols.iter_mut().zip(params.fx()).enumerate() {
                let st = &status.fx[u];
                ui.horizontal(|ui| {
                    ui.strong(format!("FX {}", u + 1));
                    toggle(ui, setter, &unit.on, "On");
                    toggle(ui, setter, &unit.chain, "Chain");
                    toggle(ui, setter, &unit.master, "Master");
                    for (d, dp) in params.decks.iter().enumerate() {
                        toggle(ui, setter, dp.fx_assign()[u], &deck_name(d).to_string());
                    }
                    ui.add(ParamSlider::for_param(&unit.mix, setter).with_width(56.0))
                        .on_hover_text("wet/dry mix");
                    if st.bpm > 0.0 {
                        ui.weak(format!("{:.0}", st.bpm))
                            .on_hover_text("the tempo the unit's beat lengths follow (BPM)");
                    }
                });
                let chain = unit.chain.value();
                for (s, slot) in unit.slots().into_iter().enumerate() {
                    let enabled = s == 0 || chain;
                    ui.add_enabled_ui(enabled, |ui| {
                        ui.horizontal(|ui| {
                            self.fx_slot_ui(ui, setter, u, s, slot, st.slots[s].active);
                        });
                    });
                }
            }
        });
    }

    fn fx_slot_ui(
        &self,
        ui: &mut egui::Ui,
        setter: &ParamSetter,
        u: usize,
        s: usize,
        slot: &FxSlotParams,
        active: bool,
    ) {
        debug_assert!(s < FX_SLOTS);
        let lit = if active {
            Color32::from_rgb(255, 170, 40)
        } else {
            Color32::from_gray(120)
        };
        ui.colored_label(lit, format!("{}", s + 1));
        let current = slot.effect.value();
        let mut chosen = None;
        egui::ComboBox::from_id_salt(("segue-fx-effect", u, s))
            .selected_text(effect_label(current))
            .width(92.0)
            .show_ui(ui, |ui| {
                for n in 0..=Effect::ALL.len() as i32 {
                    if ui.selectable_label(n == current, effect_label(n)).clicked() {
                        chosen = Some(n);
                    }
                }
            });
        if let Some(n) = chosen.filter(|&n| n != current) {
            set(setter, &slot.effect, n);
            // The engine resets the slot to the effect's defaults: so do its parameters.
            if let Some(Some(e)) = segue_controllers::effect_of_number(n as f64) {
                let (beats, knobs) = e.defaults();
                for (k, v) in slot.knobs().into_iter().zip(knobs) {
                    set(setter, k, v);
                }
                set(setter, &slot.beats, step_of_beats(beats));
            }
        }
        toggle(ui, setter, &slot.on, "On");
        let effect = segue_controllers::effect_of_number(current as f64).flatten();
        for (k, name) in slot.knobs().into_iter().zip(knob_names(effect)) {
            ui.add(
                ParamSlider::for_param(k, setter)
                    .with_width(46.0)
                    .without_value(),
            )
            .on_hover_text(format!("{name}: {:.2}", k.value()));
        }
        let step = slot.beats.value();
        egui::ComboBox::from_id_salt(("segue-fx-beats", u, s))
            .selected_text(beats_label(beats_of_step(step)))
            .width(48.0)
            .show_ui(ui, |ui| {
                for n in BEAT_STEPS.0..=BEAT_STEPS.1 {
                    if ui
                        .selectable_label(n == step, beats_label(beats_of_step(n)))
                        .clicked()
                        && n != step
                    {
                        set(setter, &slot.beats, n);
                    }
                }
            })
            .response
            .on_hover_text("beats");
    }

    /// Save the browser's directory in the session (it opens there next time).
    fn remember_dir(&self, dir: &Path) {
        if let Ok(mut s) = self.shared.session.write() {
            if s.browse_dir.as_deref() != Some(dir) {
                s.browse_dir = Some(dir.to_path_buf());
            }
        }
    }

    fn deck_ui(
        &mut self,
        ui: &mut egui::Ui,
        setter: &ParamSetter,
        d: usize,
        view: &DeckView,
        ds: &DeckStatus,
    ) {
        if self.shown[d] != view.path {
            // A track arrived from elsewhere (state restore): show its path.
            self.shown[d] = view.path.clone();
            if let Some(p) = &view.path {
                self.paths[d] = p.display().to_string();
            }
        }
        let dp: &DeckParams = &self.params.decks[d];
        ui.horizontal(|ui| {
            ui.strong(format!("Deck {}", deck_name(d)));
            let title = view
                .path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "empty".into());
            ui.label(title);
            match &view.state {
                DeckState::Decoding => {
                    ui.label("loading…");
                }
                DeckState::Analysing => {
                    ui.label("analysing…");
                }
                DeckState::Failed(e) | DeckState::AnalysisFailed(e) => {
                    ui.colored_label(Color32::LIGHT_RED, e);
                }
                _ => {}
            }
            if let Some(a) = &view.analysis {
                ui.label(format!(
                    "{:.2} BPM  {} ({})  energy {}",
                    a.bpm, a.key, a.camelot, a.energy
                ));
            }
            if ds.loaded {
                ui.label(format!(
                    "{:.2} BPM now  {:+.2} %  {}",
                    ds.bpm,
                    (ds.rate - 1.0) * 100.0,
                    clock(ds.position_secs)
                ));
            }
        });
        ui.horizontal(|ui| {
            ui.label("File");
            ui.add(egui::TextEdit::singleline(&mut self.paths[d]).desired_width(520.0));
            if ui.button("Load").clicked() && !self.paths[d].trim().is_empty() {
                let path = std::path::PathBuf::from(self.paths[d].trim());
                self.notes[d] = None;
                self.shared.load(d, path, false);
            }
            if let Some(n) = &self.notes[d] {
                ui.colored_label(Color32::LIGHT_RED, n);
            }
        });
        self.overview(ui, d, view, ds);
        ui.horizontal(|ui| {
            toggle(ui, setter, &dp.play, "Play");
            toggle(ui, setter, &dp.sync, "Sync");
            toggle(ui, setter, &dp.key_lock, "Key lock");
            for i in 0..segue_engine::HOT_CUES {
                let set = ds.hot_cues[i].is_some();
                let b = egui::Button::new(format!("{}", i + 1)).fill(if set {
                    cue_colour(i)
                } else {
                    Color32::from_gray(40)
                });
                if ui.add(b).clicked() {
                    self.shared.send([Command::HotCue {
                        deck: d as u8,
                        index: i as u8,
                    }]);
                }
            }
        });
        ui.horizontal(|ui| {
            for (label, p) in [
                ("Vol", &dp.volume),
                ("Trim", &dp.trim),
                ("Tempo", &dp.tempo),
                ("Low", &dp.eq_low),
                ("Mid", &dp.eq_mid),
                ("High", &dp.eq_high),
                ("Filter", &dp.filter),
            ] {
                ui.label(label);
                ui.add(ParamSlider::for_param(p, setter).with_width(58.0));
            }
        });
        ui.horizontal(|ui| {
            match (view.separation, &view.separation_error) {
                (Some(f), _) => {
                    ui.label("Stems");
                    ui.add(
                        egui::ProgressBar::new(f)
                            .desired_width(90.0)
                            .text(format!("separating {:.0} %", f * 100.0)),
                    );
                }
                _ if view.has_stems || ds.has_stems => {
                    ui.label("Stems");
                }
                (None, Some(e)) => {
                    ui.colored_label(Color32::LIGHT_RED, format!("Stems: {e}"));
                }
                (None, None) => {
                    ui.label("Stems (track has none)");
                }
            }
            for (label, p) in [
                ("Drums", &dp.drums),
                ("Bass", &dp.bass),
                ("Other", &dp.other),
                ("Vocals", &dp.vocals),
            ] {
                ui.label(label);
                ui.add(ParamSlider::for_param(p, setter).with_width(80.0));
            }
        });
    }

    /// Waveform overview: sections, waveform, beats, phrases, hot cues, playhead.
    fn overview(&self, ui: &mut egui::Ui, d: usize, view: &DeckView, ds: &DeckStatus) {
        let width = ui.available_width().min(980.0);
        let (rect, response) = ui.allocate_exact_size(Vec2::new(width, 64.0), Sense::click());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, Color32::from_gray(18));
        let dur = if view.duration > 0.0 {
            view.duration
        } else {
            ds.duration_secs
        };
        if dur <= 0.0 {
            return;
        }
        let x = |t: f64| rect.left() + (t / dur).clamp(0.0, 1.0) as f32 * rect.width();
        if let Some(a) = &view.analysis {
            for s in &a.sections {
                let r = Rect::from_x_y_ranges(x(s.start)..=x(s.end), rect.y_range());
                painter.rect_filled(r, 0.0, section_colour(s.label));
            }
        }
        let mid = rect.center().y;
        let n = view.overview.len().max(1);
        for (i, v) in view.overview.iter().enumerate() {
            let px = rect.left() + (i as f32 + 0.5) * rect.width() / n as f32;
            let h = v * rect.height() * 0.48;
            painter.line_segment(
                [Pos2::new(px, mid - h), Pos2::new(px, mid + h)],
                Stroke::new(1.0, Color32::from_rgb(90, 170, 230)),
            );
        }
        if let Some(a) = &view.analysis {
            let beat_px = rect.width() as f64 * 60.0 / a.bpm.max(1.0) / dur;
            if beat_px >= 3.0 {
                for &b in &a.beats {
                    let px = x(b);
                    painter.line_segment(
                        [
                            Pos2::new(px, rect.bottom() - 6.0),
                            Pos2::new(px, rect.bottom()),
                        ],
                        Stroke::new(1.0, Color32::from_gray(150)),
                    );
                }
            }
            for (i, &db) in a.downbeats.iter().enumerate() {
                let px = x(db);
                let phrase = i % 4 == 0;
                let (h, c) = if phrase {
                    (
                        rect.height(),
                        Color32::from_rgba_unmultiplied(255, 255, 255, 90),
                    )
                } else {
                    (10.0, Color32::from_gray(200))
                };
                painter.line_segment(
                    [Pos2::new(px, rect.top()), Pos2::new(px, rect.top() + h)],
                    Stroke::new(1.0, c),
                );
            }
        }
        let rate = 1.0
            / (self.shared.rate)
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(1) as f64;
        for (i, c) in ds.hot_cues.iter().enumerate() {
            if let Some(f) = c {
                let px = x(f * rate);
                painter.line_segment(
                    [Pos2::new(px, rect.top()), Pos2::new(px, rect.bottom())],
                    Stroke::new(2.0, cue_colour(i)),
                );
            }
        }
        let px = x(ds.position_secs);
        painter.line_segment(
            [Pos2::new(px, rect.top()), Pos2::new(px, rect.bottom())],
            Stroke::new(2.0, Color32::from_rgb(255, 60, 60)),
        );
        if let Some(pos) = response
            .interact_pointer_pos()
            .filter(|_| response.clicked())
        {
            let t = ((pos.x - rect.left()) / rect.width()).clamp(0.0, 1.0) as f64 * dur;
            self.shared.send([Command::Seek {
                deck: d as u8,
                to: Position::Seconds(t),
            }]);
        }
    }
}

/// The file name of a path, for a label.
fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}

fn clock(secs: f64) -> String {
    let s = secs.max(0.0);
    format!("{}:{:04.1}", (s / 60.0) as u32, s % 60.0)
}

fn section_colour(label: SectionLabel) -> Color32 {
    match label {
        SectionLabel::Intro | SectionLabel::Outro => Color32::from_rgb(30, 45, 60),
        SectionLabel::Verse => Color32::from_rgb(35, 60, 40),
        SectionLabel::Build => Color32::from_rgb(70, 60, 25),
        SectionLabel::Drop => Color32::from_rgb(80, 30, 30),
        SectionLabel::Break => Color32::from_rgb(45, 35, 70),
    }
}

fn cue_colour(i: usize) -> Color32 {
    const C: [Color32; 8] = [
        Color32::from_rgb(230, 80, 80),
        Color32::from_rgb(240, 150, 50),
        Color32::from_rgb(230, 220, 70),
        Color32::from_rgb(90, 200, 90),
        Color32::from_rgb(70, 200, 200),
        Color32::from_rgb(80, 120, 240),
        Color32::from_rgb(170, 90, 230),
        Color32::from_rgb(230, 90, 190),
    ];
    C[i % 8]
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug_egui::baseview::dpi::PhysicalPosition;
    use nice_plug_egui::baseview::{DropData, DropEffect, EventStatus, MouseEvent};
    use nice_plug_egui::drag_drop::apply_drag_event;

    /// One egui frame over `input`: (hovered file count, dropped paths, pointer position),
    /// read the way the editor reads them.
    fn frame(
        ctx: &egui::Context,
        input: &mut egui::RawInput,
    ) -> (usize, Vec<PathBuf>, Option<Pos2>) {
        let mut seen = (0, Vec::new(), None);
        let mut out = ctx.run_ui(input.take(), |ui| {
            seen = ui.input(|i| {
                (
                    i.raw.hovered_files.len(),
                    i.raw
                        .dropped_files
                        .iter()
                        .map(|f| f.path().to_path_buf())
                        .collect(),
                    i.pointer.latest_pos(),
                )
            });
        });
        // No renderer here: the font atlas upload is dropped on purpose.
        out.textures_delta.clear();
        seen
    }

    /// The vendored egui-baseview patch: baseview drag events become egui hovered and
    /// dropped files at the drag position (physical pixels / scale), files are accepted as a
    /// copy, a drag without files is rejected, and the dropped files last one frame.
    #[test]
    fn baseview_drags_reach_egui_as_hovered_then_dropped_files() {
        let ctx = egui::Context::default();
        let mut input = egui::RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(800.0, 600.0))),
            ..Default::default()
        };
        let files = DropData::Files(vec!["/m/a.wav".into(), "/m/b.flac".into()]);
        let entered = MouseEvent::DragEntered {
            position: PhysicalPosition::new(300.0, 200.0),
            modifiers: Default::default(),
            data: files.clone(),
        };
        let (pos, status) = apply_drag_event(&entered, 2.0, &mut input).unwrap();
        assert_eq!(pos, Some(Pos2::new(150.0, 100.0)));
        assert_eq!(status, EventStatus::AcceptDrop(DropEffect::Copy));
        assert_eq!(
            frame(&ctx, &mut input),
            (2, vec![], Some(Pos2::new(150.0, 100.0)))
        );
        // Hovering lasts across frames until the drop.
        assert_eq!(frame(&ctx, &mut input).0, 2);
        let dropped = MouseEvent::DragDropped {
            position: PhysicalPosition::new(100.0, 500.0),
            modifiers: Default::default(),
            data: files,
        };
        apply_drag_event(&dropped, 2.0, &mut input).unwrap();
        let (hovered, paths, pointer) = frame(&ctx, &mut input);
        assert_eq!(hovered, 0);
        assert_eq!(
            paths,
            [PathBuf::from("/m/a.wav"), PathBuf::from("/m/b.flac")]
        );
        assert_eq!(pointer, Some(Pos2::new(50.0, 250.0)));
        let rects = [
            Some(Rect::from_min_size(
                Pos2::new(0.0, 0.0),
                Vec2::new(800.0, 200.0),
            )),
            Some(Rect::from_min_size(
                Pos2::new(0.0, 200.0),
                Vec2::new(800.0, 200.0),
            )),
            None,
            None,
        ];
        assert_eq!(
            deck_at(&rects, pointer.unwrap()),
            Some(1),
            "dropped on deck B"
        );
        assert!(
            frame(&ctx, &mut input).1.is_empty(),
            "a drop lasts one frame"
        );
        // No files (e.g. dragged text): rejected; leaving clears the hover.
        let text = MouseEvent::DragMoved {
            position: PhysicalPosition::new(1.0, 1.0),
            modifiers: Default::default(),
            data: DropData::None,
        };
        assert_eq!(
            apply_drag_event(&text, 1.0, &mut input).unwrap().1,
            EventStatus::Ignored
        );
        input.hovered_files.push(egui::HoveredFile::default());
        assert_eq!(
            apply_drag_event(&MouseEvent::DragLeft, 1.0, &mut input)
                .unwrap()
                .0,
            None
        );
        assert!(input.hovered_files.is_empty());
        assert!(apply_drag_event(&MouseEvent::CursorLeft, 1.0, &mut input).is_none());
    }

    #[test]
    fn a_drop_goes_to_the_deck_under_the_pointer() {
        let r = |y: f32| {
            Some(Rect::from_min_size(
                Pos2::new(0.0, y),
                Vec2::new(100.0, 50.0),
            ))
        };
        let rects = [r(0.0), r(60.0), None, r(180.0)];
        assert_eq!(deck_at(&rects, Pos2::new(10.0, 10.0)), Some(0));
        assert_eq!(deck_at(&rects, Pos2::new(10.0, 70.0)), Some(1));
        assert_eq!(
            deck_at(&rects, Pos2::new(10.0, 130.0)),
            None,
            "deck C not drawn"
        );
        assert_eq!(deck_at(&rects, Pos2::new(10.0, 200.0)), Some(3));
        assert_eq!(
            deck_at(&rects, Pos2::new(150.0, 10.0)),
            None,
            "right of the decks"
        );
    }
}
