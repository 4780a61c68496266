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
use crate::library_view::{sort, Filters, Row, Sort};
use crate::midi::{LearnTarget, MidiMapping, NoteAction};
use crate::params::{
    beats_label, beats_of_step, effect_label, step_of_beats, Control, DeckParams, FxSlotParams,
    SegueParams, BEAT_STEPS, DECKS,
};
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::ResizeHint;
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
    /// The pair of decks shown: 0 = A and B, 1 = C and D.
    pair: usize,
    /// MIDI learn mode (controls arm learning instead of moving).
    learning: bool,
    /// In learn mode, this frame's armed target and mapping.
    learning_now: Option<(Option<LearnTarget>, MidiMapping)>,
    /// The library list.
    library: LibraryList,
}

/// The library list's state.
#[derive(Default)]
struct LibraryList {
    filters: Filters,
    sort: Sort,
    descending: bool,
    rows: Vec<Row>,
    error: Option<String>,
    /// When the rows were last read from the library.
    fetched: Option<std::time::Instant>,
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

/// The smallest window (points) the layout fits without clipping: the editor test checks
/// it at the default size ([`crate::params::EDITOR_SIZE`]) and here.
pub const MIN_SIZE: (f32, f32) = (1280.0, 720.0);

/// Room a [`ParamSlider`] needs right of its bar for its value text ("-24.0 dB").
const VALUE_WIDTH: f32 = 76.0;

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
        EguiNiceSettings::default()
            .with_tile("Segue")
            .with_resize_hint(
                ResizeHint::RESIZABLE
                    .with_min_logical_size(LogicalSize::new(MIN_SIZE.0, MIN_SIZE.1)),
            ),
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
            pair: 0,
            learning: false,
            learning_now: None,
            library: LibraryList::default(),
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
                let n = deck_name(d);
                let r = ui.selectable_label(self.target == d, format!("{n}"));
                if rec(r, || format!("browser.target.{n}")).clicked() {
                    self.target = d;
                }
            }
            let parent = self.listing.as_ref().and_then(|l| l.parent.clone());
            let r = ui.add_enabled(parent.is_some(), egui::Button::new("Up"));
            if rec(r, || "browser.up".into()).clicked() {
                action = parent.map(BrowserAction::Open);
            }
            if rec(ui.button("Refresh"), || "browser.refresh".into()).clicked() {
                action = self
                    .listing
                    .as_ref()
                    .map(|l| BrowserAction::Open(l.dir.clone()));
            }
        });
        if let Some(l) = &self.listing {
            ui.add(egui::Label::new(l.dir.display().to_string()).truncate());
        }
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
            .auto_shrink([false, false])
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
                        let buttons = if i >= folders { 4.0 * 34.0 } else { 0.0 };
                        let w = (ui.available_width() - buttons).max(40.0);
                        let r = ui.add_sized(
                            [w, 18.0],
                            egui::Button::selectable(self.selected == i, label).truncate(),
                        );
                        let visible = ui.clip_rect().contains_rect(r.rect);
                        if visible {
                            rec_ref(&r, || format!("browser.row.{i}"));
                        }
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
                                let n = deck_name(d);
                                let b = ui.small_button(format!("{n}"));
                                if visible {
                                    rec_ref(&b, || format!("browser.row.{i}.{n}"));
                                }
                                if b.clicked() {
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
        self.library.fetched = None;
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        ui.ctx().request_repaint_after(Duration::from_millis(33));
        let Some(gui) = self.gui.clone() else {
            return;
        };
        rects::begin();
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
        self.learning_now = if self.learning {
            let armed = self.shared.learn.armed();
            let learned = self
                .params
                .session
                .read()
                .map(|s| s.midi.clone())
                .unwrap_or_default();
            Some((armed, learned))
        } else {
            None
        };
        let window = ui.ctx().content_rect();
        let shown = [self.pair * 2, self.pair * 2 + 1];
        self.deck_rects = [None; DECKS];
        let mut browser_action = None;
        egui::Panel::top("segue-header").show(ui, |ui| self.header_ui(ui, &setter));
        egui::Panel::top("segue-waveforms").show(ui, |ui| {
            ui.add_space(2.0);
            for d in shown {
                let r = self.overview(ui, d, &views[d], &status.decks[d]);
                self.deck_rects[d] = Some(r);
            }
            ui.add_space(2.0);
        });
        // The lists take what the decks, mixer and FX leave (at least 150 points).
        let lists = (ui.available_height() - 330.0).max(150.0);
        egui::Panel::bottom("segue-lists")
            .exact_size(lists)
            .show(ui, |ui| {
                ui.columns(3, |c| {
                    browser_action = self.browser.ui(&mut c[0]);
                    self.library_ui(&mut c[1]);
                    self.suggestions_ui(&mut c[2]);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let gap = ui.spacing().item_spacing.x;
            let w = ui.available_width();
            let mixer_w = (w * 0.3).clamp(300.0, 460.0);
            let deck_w = ((w - mixer_w) / 2.0 - 2.0 * gap).max(200.0);
            let h = 176.0;
            ui.horizontal_top(|ui| {
                let column = |ui: &mut egui::Ui, width: f32, f: &mut dyn FnMut(&mut egui::Ui)| {
                    ui.allocate_ui_with_layout(
                        Vec2::new(width, h),
                        egui::Layout::top_down(egui::Align::Min),
                        |ui| {
                            ui.set_width(width);
                            ui.set_min_height(h);
                            f(ui)
                        },
                    )
                    .response
                    .rect
                };
                let r = column(ui, deck_w, &mut |ui| {
                    self.deck_ui(
                        ui,
                        &setter,
                        shown[0],
                        &views[shown[0]],
                        &status.decks[shown[0]],
                    )
                });
                self.deck_rects[shown[0]] = self.deck_rects[shown[0]].map(|w| w.union(r));
                column(ui, mixer_w, &mut |ui| self.mixer_ui(ui, &setter, shown));
                let r = column(ui, deck_w, &mut |ui| {
                    self.deck_ui(
                        ui,
                        &setter,
                        shown[1],
                        &views[shown[1]],
                        &status.decks[shown[1]],
                    )
                });
                self.deck_rects[shown[1]] = self.deck_rects[shown[1]].map(|w| w.union(r));
            });
            ui.separator();
            self.fx_ui(ui, &setter, &status);
        });
        for d in shown {
            if let (true, Some(r), true) = (hovering, self.deck_rects[d], drop_deck == Some(d)) {
                ui.painter().rect_stroke(
                    r.expand(2.0),
                    3.0,
                    Stroke::new(2.0, Color32::from_rgb(255, 200, 60)),
                    StrokeKind::Outside,
                );
            }
        }
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
        rects::finish(window);
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

/// A switch for a bool parameter, recorded as `name`.
fn toggle(
    ui: &mut egui::Ui,
    setter: &ParamSetter,
    p: &BoolParam,
    label: &str,
    name: &str,
) -> egui::Response {
    let on = p.value();
    let r = rec(ui.selectable_label(on, label), || name.to_string());
    if r.clicked() {
        setter.begin_set_parameter(p);
        setter.set_parameter(p, !on);
        setter.end_set_parameter(p);
    }
    r
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
        let b = ui.selectable_label(st.recording, "Record").on_hover_text(
            "Record the master output (32-bit float WAV) with a cue sheet of the \
                 tracks played; click again to stop",
        );
        if rec(b, || "record".into()).clicked() {
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
        let w = ui.available_width().clamp(80.0, 260.0);
        let r = rec(
            ui.add(egui::TextEdit::singleline(text).desired_width(w)),
            || "record.folder".into(),
        );
        if r.lost_focus() && !text.trim().is_empty() {
            self.shared.set_record_dir(PathBuf::from(text.trim()));
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
            let r = ui.selectable_label(on, "Auto DJ").on_hover_text(
                "Loads the first suggestion onto the free deck and performs the planned \
                     transition; moving a control of a deck takes it over",
            );
            if rec(r, || "autodj".into()).clicked() {
                autodj.store(!on, Ordering::Relaxed);
            }
            match list.deck {
                Some(d) => ui.label(format!("after deck {}", deck_name(d))),
                None => ui.weak("play a track to get suggestions"),
            };
        });
        if let Some(e) = &self.suggest_note {
            ui.colored_label(Color32::LIGHT_RED, e);
        }
        if list.items.is_empty() {
            let has_library = self.shared.decks.with_library(|_| ()).is_some();
            ui.add(egui::Label::new(egui::RichText::new(if has_library {
                "No analysed tracks to suggest yet: add folders with `segue library add DIR`, \
                 or load tracks (each one is analysed into the library)."
            } else {
                "No library (SEGUE_LIBRARY=off or it could not be opened): no suggestions."
            }).weak()).wrap());
            return;
        }
        let mut load = None;
        egui::ScrollArea::vertical()
            .id_salt("segue-suggestions")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (i, s) in list.items.iter().take(5).enumerate() {
                    let b = ui
                        .add(egui::Button::new(format!("{}. {}", i + 1, s.title)).truncate())
                        .on_hover_text(format!(
                            "{}\nClick: load on the free deck",
                            s.path.display()
                        ));
                    if ui.clip_rect().contains_rect(b.rect) {
                        rec_ref(&b, || format!("suggest.{i}"));
                    }
                    if b.clicked() {
                        load = Some(i);
                    }
                    // The editor's font has no arrow glyph.
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(s.compat.line.replace('→', "->")).weak(),
                        )
                        .truncate(),
                    );
                }
            });
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
                    let f = u + 1;
                    toggle(ui, setter, &unit.on, "On", &format!("fx{f}.on"));
                    toggle(ui, setter, &unit.chain, "Chain", &format!("fx{f}.chain"));
                    toggle(ui, setter, &unit.master, "Master", &format!("fx{f}.master"));
                    for (d, dp) in params.decks.iter().enumerate() {
                        let n = deck_name(d);
                        toggle(
                            ui,
                            setter,
                            dp.fx_assign()[u],
                            &n.to_string(),
                            &format!("fx{f}.{n}"),
                        );
                    }
                    let r = ui
                        .scope(|ui| {
                            ui.add(ParamSlider::for_param(&unit.mix, setter).with_width(56.0))
                        })
                        .response
                        .on_hover_text("wet/dry mix");
                    rec(r, || format!("fx{f}.mix"));
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
        let name = format!("fx{}.slot{}", u + 1, s + 1);
        let r = egui::ComboBox::from_id_salt(("segue-fx-effect", u, s))
            .selected_text(effect_label(current))
            .width(92.0)
            .show_ui(ui, |ui| {
                for n in 0..=Effect::ALL.len() as i32 {
                    if ui.selectable_label(n == current, effect_label(n)).clicked() {
                        chosen = Some(n);
                    }
                }
            })
            .response;
        rec(r, || format!("{name}.effect"));
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
        toggle(ui, setter, &slot.on, "On", &format!("{name}.on"));
        let effect = segue_controllers::effect_of_number(current as f64).flatten();
        for (i, (k, knob)) in slot.knobs().into_iter().zip(knob_names(effect)).enumerate() {
            let r = ui
                .add(
                    ParamSlider::for_param(k, setter)
                        .with_width(46.0)
                        .without_value(),
                )
                .on_hover_text(format!("{knob}: {:.2}", k.value()));
            rec(r, || format!("{name}.knob{}", i + 1));
        }
        let step = slot.beats.value();
        let r = egui::ComboBox::from_id_salt(("segue-fx-beats", u, s))
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
        rec(r, || format!("{name}.beats"));
    }

    /// Save the browser's directory in the session (it opens there next time).
    fn remember_dir(&self, dir: &Path) {
        if let Ok(mut s) = self.shared.session.write() {
            if s.browse_dir.as_deref() != Some(dir) {
                s.browse_dir = Some(dir.to_path_buf());
            }
        }
    }

    /// The title row: decks shown, host sync, MIDI learn, the Record button.
    fn header_ui(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            ui.heading("Segue");
            ui.label("Decks");
            for (pair, label) in ["A/B", "C/D"].into_iter().enumerate() {
                let r = ui
                    .selectable_label(self.pair == pair, label)
                    .on_hover_text("which two decks the waveforms, deck panels and mixer show");
                if rec(r, || format!("pair.{label}")).clicked() {
                    self.pair = pair;
                }
            }
            ui.separator();
            toggle(
                ui,
                setter,
                &self.params.host_sync,
                "Follow host",
                "host_sync",
            );
            ui.separator();
            let r = ui
                .selectable_label(self.learning, "MIDI learn")
                .on_hover_text(
                    "Click a fader or button, then move a control or press a pad on your MIDI \
                 controller: the binding is saved with the session",
                );
            if rec(r, || "learn".into()).clicked() {
                self.learning = !self.learning;
                self.shared.learn.arm(None);
            }
            let learned = self
                .params
                .session
                .read()
                .map(|s| s.midi.learned())
                .unwrap_or(0);
            let r = ui
                .add_enabled(
                    learned > 0,
                    egui::Button::new(format!("Reset MIDI ({learned})")),
                )
                .on_hover_text("forget the learned bindings: back to the default MIDI layout");
            if rec(r, || "learn.reset".into()).clicked() {
                self.shared.reset_midi();
            }
            ui.separator();
            self.record_ui(ui);
        });
        if self.learning {
            let last = self.shared.learn.last.lock().ok().and_then(|l| l.clone());
            let text = match (self.shared.learn.armed(), last) {
                (Some(t), _) => format!("waiting for MIDI for {}", target_label(t)),
                (None, Some(l)) => l,
                (None, None) => "MIDI learn: click a control".into(),
            };
            ui.colored_label(Color32::from_rgb(255, 200, 60), text);
        }
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
        if let Some(e) = &self.record_note {
            ui.colored_label(Color32::LIGHT_RED, e);
        }
    }

    /// `add` draws a control; in MIDI learn mode the control is inert and a click on it arms
    /// learning for `target` (outlined: armed in amber, learned bindings in green).
    fn learnable(
        &self,
        ui: &mut egui::Ui,
        target: LearnTarget,
        add: impl FnOnce(&mut egui::Ui) -> egui::Response,
    ) -> egui::Response {
        let Some((armed, mapping)) = &self.learning_now else {
            return add(ui);
        };
        let r = ui.add_enabled_ui(false, add).inner;
        let sources = mapping.sources_of(target);
        let hover = if sources.is_empty() {
            format!(
                "{}: click, then move the MIDI control",
                target_label(target)
            )
        } else {
            format!("{}: learned {}", target_label(target), sources.join(", "))
        };
        let click = ui
            .interact(
                r.rect,
                egui::Id::unique(("segue-learn", r.id)),
                Sense::click(),
            )
            .on_hover_text(hover);
        if click.clicked() {
            self.shared.learn.arm(Some(target));
        }
        let stroke = if *armed == Some(target) {
            Some(Stroke::new(2.0, Color32::from_rgb(255, 170, 40)))
        } else if !sources.is_empty() {
            Some(Stroke::new(1.5, Color32::from_rgb(90, 200, 90)))
        } else {
            None
        };
        if let Some(stroke) = stroke {
            ui.painter()
                .rect_stroke(r.rect.expand(1.0), 2.0, stroke, StrokeKind::Outside);
        }
        click
    }

    /// A parameter slider (learnable as `control` of `deck`), recorded as `name`.
    #[allow(clippy::too_many_arguments)]
    fn slider(
        &self,
        ui: &mut egui::Ui,
        setter: &ParamSetter,
        p: &FloatParam,
        width: f32,
        deck: usize,
        control: Control,
        name: String,
    ) -> egui::Response {
        let target = LearnTarget::Control {
            deck: deck as u8,
            control,
        };
        // The slider draws its value to its right: `width` covers both.
        let r = self.learnable(ui, target, |ui| {
            let slider = (width - VALUE_WIDTH).max(30.0);
            ui.scope(|ui| ui.add(ParamSlider::for_param(p, setter).with_width(slider)))
                .response
        });
        rec(r, || name)
    }

    /// The mixer between the two decks shown: per deck trim, EQ, filter and channel fader
    /// (left deck's column left), then the crossfader and the master.
    fn mixer_ui(&self, ui: &mut egui::Ui, setter: &ParamSetter, shown: [usize; 2]) {
        let label_w = 44.0;
        let gap = ui.spacing().item_spacing.x;
        let w = ((ui.available_width() - label_w - 2.0 * gap) / 2.0 - 2.0).max(60.0);
        egui::Grid::new("segue-mixer")
            .num_columns(3)
            .min_col_width(label_w)
            .spacing([gap, 3.0])
            .show(ui, |ui| {
                ui.strong("Mixer");
                for d in shown {
                    ui.strong(format!("{}", deck_name(d)));
                }
                ui.end_row();
                for (label, control) in [
                    ("Trim", Control::Trim),
                    ("High", Control::EqHigh),
                    ("Mid", Control::EqMid),
                    ("Low", Control::EqLow),
                    ("Filter", Control::Filter),
                    ("Volume", Control::Volume),
                ] {
                    ui.label(label);
                    for d in shown {
                        let dp = &self.params.decks[d];
                        let p = match control {
                            Control::Trim => &dp.trim,
                            Control::EqHigh => &dp.eq_high,
                            Control::EqMid => &dp.eq_mid,
                            Control::EqLow => &dp.eq_low,
                            Control::Filter => &dp.filter,
                            _ => &dp.volume,
                        };
                        let name = format!("mixer.{}.{}", deck_name(d), label.to_lowercase());
                        self.slider(ui, setter, p, w, d, control, name);
                    }
                    ui.end_row();
                }
            });
        ui.horizontal(|ui| {
            let w = ((ui.available_width() - 100.0 - 4.0 * gap) / 2.0).max(60.0);
            ui.label("X-fader");
            let p = &self.params.crossfader;
            self.slider(
                ui,
                setter,
                p,
                w,
                0,
                Control::Crossfader,
                "mixer.xfader".into(),
            );
            ui.label("Master");
            let p = &self.params.master;
            self.slider(ui, setter, p, w, 0, Control::Master, "mixer.master".into());
        });
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
        let n = deck_name(d);
        let dp: &DeckParams = &self.params.decks[d];
        let width = ui.available_width();
        let gap = ui.spacing().item_spacing.x;
        ui.horizontal(|ui| {
            ui.strong(format!("Deck {n}"));
            let title = view
                .path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "empty".into());
            ui.add(egui::Label::new(title).truncate());
        });
        ui.horizontal(|ui| {
            match &view.state {
                DeckState::Decoding => {
                    ui.label("loading…");
                }
                DeckState::Analysing => {
                    ui.label("analysing…");
                }
                DeckState::Failed(e) | DeckState::AnalysisFailed(e) => {
                    ui.add(
                        egui::Label::new(egui::RichText::new(e).color(Color32::LIGHT_RED))
                            .truncate(),
                    );
                }
                _ => {}
            }
            if let Some(n) = &self.notes[d] {
                ui.add(
                    egui::Label::new(egui::RichText::new(n).color(Color32::LIGHT_RED)).truncate(),
                );
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
            let field = (width - 100.0).max(80.0);
            let r = ui.add(egui::TextEdit::singleline(&mut self.paths[d]).desired_width(field));
            rec(r, || format!("deck.{n}.file"));
            let r = rec(ui.button("Load"), || format!("deck.{n}.load"));
            if r.clicked() && !self.paths[d].trim().is_empty() {
                let path = std::path::PathBuf::from(self.paths[d].trim());
                self.notes[d] = None;
                self.shared.load(d, path, false);
            }
        });
        ui.horizontal(|ui| {
            let deck = d as u8;
            for (label, p, action) in [
                ("Play", &dp.play, NoteAction::Play),
                ("Sync", &dp.sync, NoteAction::Sync),
                ("Key lock", &dp.key_lock, NoteAction::KeyLock),
            ] {
                self.learnable(ui, LearnTarget::Note { deck, action }, |ui| {
                    toggle(
                        ui,
                        setter,
                        p,
                        label,
                        &format!("deck.{n}.{}", label.to_lowercase()),
                    )
                });
            }
            ui.label("Tempo");
            let w = ui.available_width() - 4.0;
            self.slider(
                ui,
                setter,
                &dp.tempo,
                w,
                d,
                Control::Tempo,
                format!("deck.{n}.tempo"),
            );
        });
        ui.horizontal(|ui| {
            ui.label("Cues");
            let pad = ((ui.available_width() - 9.0 * gap) / 8.0).clamp(18.0, 40.0);
            for i in 0..segue_engine::HOT_CUES {
                let set = ds.hot_cues[i].is_some();
                let target = LearnTarget::Note {
                    deck: d as u8,
                    action: NoteAction::HotCue(i as u8),
                };
                let r = self.learnable(ui, target, |ui| {
                    let b = egui::Button::new(format!("{}", i + 1))
                        .min_size(Vec2::new(pad, 0.0))
                        .fill(if set {
                            cue_colour(i)
                        } else {
                            Color32::from_gray(40)
                        });
                    ui.add(b)
                });
                if rec(r, || format!("deck.{n}.cue{}", i + 1)).clicked()
                    && self.learning_now.is_none()
                {
                    self.shared.send([Command::HotCue {
                        deck: d as u8,
                        index: i as u8,
                    }]);
                }
            }
        });
        ui.horizontal(|ui| match (view.separation, &view.separation_error) {
            (Some(f), _) => {
                ui.add(
                    egui::ProgressBar::new(f)
                        .desired_width(90.0)
                        .text(format!("stems {:.0} %", f * 100.0)),
                );
            }
            _ if view.has_stems || ds.has_stems => {
                ui.label("Stems");
            }
            (None, Some(e)) => {
                ui.colored_label(Color32::LIGHT_RED, "Stems: error")
                    .on_hover_text(e.as_str());
            }
            (None, None) => {
                ui.weak("No stems");
            }
        });
        let stem_w = ((width - 2.0 * 50.0 - 4.0 * gap) / 2.0).max(50.0);
        for pair in [
            [
                ("Drums", &dp.drums, Control::Drums),
                ("Bass", &dp.bass, Control::Bass),
            ],
            [
                ("Other", &dp.other, Control::Other),
                ("Vocals", &dp.vocals, Control::Vocals),
            ],
        ] {
            ui.horizontal(|ui| {
                for (label, p, control) in pair {
                    ui.add_sized([50.0, 18.0], egui::Label::new(label));
                    let name = format!("deck.{n}.{}", label.to_lowercase());
                    self.slider(ui, setter, p, stem_w, d, control, name);
                }
            });
        }
    }

    /// Waveform overview, full width: sections, waveform, beats, phrase markers (every
    /// fourth downbeat), hot cues (numbered), playhead; the deck, its analysed BPM, key and
    /// energy written on it. A click seeks. Returns its rect.
    fn overview(&self, ui: &mut egui::Ui, d: usize, view: &DeckView, ds: &DeckStatus) -> Rect {
        let width = ui.available_width();
        let (rect, response) = ui.allocate_exact_size(Vec2::new(width, 50.0), Sense::click());
        let response = rec(response, || format!("wave.{}", deck_name(d)));
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, Color32::from_gray(18));
        let dur = if view.duration > 0.0 {
            view.duration
        } else {
            ds.duration_secs
        };
        let font = egui::FontId::proportional(12.0);
        let title = view
            .path
            .as_ref()
            .map(|p| file_name(p))
            .unwrap_or_else(|| "empty".into());
        let mut caption = format!("{}  {title}", deck_name(d));
        if let Some(a) = &view.analysis {
            caption = format!(
                "{}  {:.2} BPM  {} {}  energy {}  {title}",
                deck_name(d),
                a.bpm,
                a.camelot,
                a.key,
                a.energy
            );
        }
        let caption_at = rect.left_top() + Vec2::new(4.0, 2.0);
        if dur > 0.0 {
            let x = |t: f64| rect.left() + (t / dur).clamp(0.0, 1.0) as f32 * rect.width();
            if let Some(a) = &view.analysis {
                for s in &a.sections {
                    let r = Rect::from_x_y_ranges(x(s.start)..=x(s.end), rect.y_range());
                    painter.rect_filled(r, 0.0, section_colour(s.label));
                }
            }
            let mid = rect.center().y + 6.0;
            let n = view.overview.len().max(1);
            for (i, v) in view.overview.iter().enumerate() {
                let px = rect.left() + (i as f32 + 0.5) * rect.width() / n as f32;
                let h = v * (rect.height() - 14.0) * 0.48;
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
                        (6.0, Color32::from_gray(200))
                    };
                    painter.line_segment(
                        [
                            Pos2::new(px, rect.bottom() - h),
                            Pos2::new(px, rect.bottom()),
                        ],
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
                        [
                            Pos2::new(px, rect.top() + 14.0),
                            Pos2::new(px, rect.bottom()),
                        ],
                        Stroke::new(2.0, cue_colour(i)),
                    );
                    let tag = Rect::from_min_size(
                        Pos2::new(px, rect.top() + 14.0),
                        Vec2::new(11.0, 12.0),
                    );
                    painter.rect_filled(tag, 1.0, cue_colour(i));
                    painter.text(
                        tag.center(),
                        egui::Align2::CENTER_CENTER,
                        format!("{}", i + 1),
                        egui::FontId::proportional(10.0),
                        Color32::BLACK,
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
        // The caption on a dark band so it stays readable over any section colour.
        let galley = painter.layout_no_wrap(caption, font, Color32::WHITE);
        painter.rect_filled(
            Rect::from_min_size(
                caption_at - Vec2::new(2.0, 1.0),
                galley.size() + Vec2::new(4.0, 1.0),
            ),
            2.0,
            Color32::from_black_alpha(170),
        );
        painter.galley(caption_at, galley, Color32::WHITE);
        rect
    }

    /// The library list: filters (BPM range, key with its compatible keys, energy range,
    /// text), a sort column and direction; a click on a row loads it on the browser's deck.
    fn library_ui(&mut self, ui: &mut egui::Ui) {
        let lib = &mut self.library;
        let mut changed = false;
        ui.horizontal(|ui| {
            ui.strong("Library");
            ui.label("sort");
            let before = (lib.sort, lib.descending);
            let r = egui::ComboBox::from_id_salt("segue-library-sort")
                .selected_text(lib.sort.label())
                .width(64.0)
                .show_ui(ui, |ui| {
                    for s in Sort::ALL {
                        ui.selectable_value(&mut lib.sort, s, s.label());
                    }
                })
                .response;
            rec(r, || "library.sort".into());
            let r = ui.selectable_label(lib.descending, "desc");
            if rec(r, || "library.desc".into()).clicked() {
                lib.descending = !lib.descending;
            }
            if before != (lib.sort, lib.descending) {
                sort(&mut lib.rows, lib.sort, lib.descending);
            }
            if rec(ui.button("Refresh"), || "library.refresh".into()).clicked() {
                changed = true;
            }
            ui.weak(format!("{} tracks", lib.rows.len()));
        });
        ui.horizontal(|ui| {
            let f = &mut lib.filters;
            let before = f.clone();
            ui.label("BPM");
            rec(
                ui.add(
                    egui::DragValue::new(&mut f.bpm_min)
                        .range(0.0..=300.0)
                        .speed(0.5),
                ),
                || "library.bpm_min".into(),
            )
            .on_hover_text("lowest BPM (0: any)");
            rec(
                ui.add(
                    egui::DragValue::new(&mut f.bpm_max)
                        .range(0.0..=300.0)
                        .speed(0.5),
                ),
                || "library.bpm_max".into(),
            )
            .on_hover_text("highest BPM (0: any)");
            ui.label("Key");
            rec(
                ui.add(egui::TextEdit::singleline(&mut f.key).desired_width(34.0)),
                || "library.key".into(),
            )
            .on_hover_text("8A, A minor ...: the key and the keys that mix with it");
            ui.label("Energy");
            rec(
                ui.add(egui::DragValue::new(&mut f.energy_min).range(0..=10)),
                || "library.energy_min".into(),
            )
            .on_hover_text("lowest energy 1-10 (0: any)");
            rec(
                ui.add(egui::DragValue::new(&mut f.energy_max).range(0..=10)),
                || "library.energy_max".into(),
            )
            .on_hover_text("highest energy 1-10 (0: any)");
            changed |= *f != before;
        });
        ui.horizontal(|ui| {
            ui.label("Find");
            let w = ui.available_width() - 4.0;
            let before = lib.filters.text.clone();
            rec(
                ui.add(egui::TextEdit::singleline(&mut lib.filters.text).desired_width(w)),
                || "library.text".into(),
            );
            changed |= lib.filters.text != before;
        });
        // Refresh on a change, and every few seconds (analyses arrive in the background).
        let stale = lib
            .fetched
            .is_none_or(|t| t.elapsed() > Duration::from_secs(5));
        if changed || stale {
            lib.fetched = Some(std::time::Instant::now());
            match lib.filters.query() {
                Ok(q) => match self.shared.decks.with_library(|l| l.search(&q)) {
                    Some(Ok(entries)) => {
                        lib.rows = entries.iter().filter_map(Row::of).collect();
                        sort(&mut lib.rows, lib.sort, lib.descending);
                        lib.error = None;
                    }
                    Some(Err(e)) => lib.error = Some(e.to_string()),
                    None => {
                        lib.rows.clear();
                        lib.error = Some("no library (SEGUE_LIBRARY=off or unreadable)".into());
                    }
                },
                Err(e) => lib.error = Some(e),
            }
        }
        if let Some(e) = &lib.error {
            ui.colored_label(Color32::LIGHT_RED, e);
        }
        let mut load = None;
        let target = self.browser.target;
        egui::ScrollArea::vertical()
            .id_salt("segue-library-list")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (i, row) in lib.rows.iter().enumerate() {
                    let text = format!(
                        "{}  {}  {}  {}",
                        row.bpm.map_or("-".into(), |b| format!("{b:.1}")),
                        row.camelot.as_deref().unwrap_or("-"),
                        row.energy.map_or("-".into(), |e| format!("E{e}")),
                        row.title
                    );
                    let r = ui
                        .add(egui::Button::selectable(false, text).truncate())
                        .on_hover_text(format!(
                            "{}\nClick: load on deck {}",
                            row.path.display(),
                            deck_name(target)
                        ));
                    if ui.clip_rect().contains_rect(r.rect) {
                        rec_ref(&r, || format!("library.row.{i}"));
                    }
                    if r.clicked() {
                        load = Some(row.path.clone());
                    }
                }
                if lib.rows.is_empty() && lib.error.is_none() {
                    ui.weak("no tracks match (add folders with `segue library add DIR`)");
                }
            });
        if let Some(path) = load {
            self.load(target, path);
        }
    }
}

/// A learn target in words ("A Volume", "B hot cue 3").
fn target_label(t: LearnTarget) -> String {
    match t {
        LearnTarget::Control { deck, control } if control.deck_slot().is_some() => {
            format!("{} {control:?}", deck_name(deck as usize))
        }
        LearnTarget::Control { control, .. } => format!("{control:?}"),
        LearnTarget::Note {
            deck,
            action: NoteAction::HotCue(i),
        } => format!("{} hot cue {}", deck_name(deck as usize), i + 1),
        LearnTarget::Note { deck, action } => format!("{} {action:?}", deck_name(deck as usize)),
    }
}

/// Where each interactive widget was laid out in the last frame, for the screenshot test:
/// in debug builds with `SEGUE_EDITOR_RECTS=FILE` set, each frame whose layout changed is
/// written to FILE (`window W H`, then `NAME X0 Y0 X1 Y1` per widget, in points). Release
/// builds record nothing.
mod rects {
    use egui::Rect;
    use std::cell::RefCell;

    thread_local! {
        static FRAME: RefCell<(Vec<(String, Rect)>, String)> = const { RefCell::new((Vec::new(), String::new())) };
    }

    fn target() -> Option<&'static std::path::Path> {
        static PATH: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
        PATH.get_or_init(|| {
            if cfg!(debug_assertions) {
                std::env::var_os("SEGUE_EDITOR_RECTS").map(Into::into)
            } else {
                None
            }
        })
        .as_deref()
    }

    /// Start a frame.
    pub fn begin() {
        if target().is_some() {
            FRAME.with(|f| f.borrow_mut().0.clear());
        }
    }

    /// Record a widget.
    pub fn add(name: impl FnOnce() -> String, r: Rect) {
        if target().is_some() {
            FRAME.with(|f| f.borrow_mut().0.push((name(), r)));
        }
    }

    /// End a frame in a window of `window`: write the file if the layout changed.
    pub fn finish(window: Rect) {
        let Some(path) = target() else {
            return;
        };
        FRAME.with(|f| {
            let mut f = f.borrow_mut();
            let mut text = format!("window {} {}\n", window.width(), window.height());
            for (name, r) in &f.0 {
                text += &format!("{name} {} {} {} {}\n", r.min.x, r.min.y, r.max.x, r.max.y);
            }
            if text != f.1 {
                let tmp = path.with_extension("tmp");
                if std::fs::write(&tmp, &text).is_ok() {
                    let _ = std::fs::rename(&tmp, path);
                }
                f.1 = text;
            }
        });
    }
}

/// Record an interactive widget's rect under `name` (see [`rects`]).
fn rec(r: egui::Response, name: impl FnOnce() -> String) -> egui::Response {
    rects::add(name, r.rect);
    r
}

fn rec_ref(r: &egui::Response, name: impl FnOnce() -> String) {
    rects::add(name, r.rect);
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
