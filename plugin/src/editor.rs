//! The editor (nice-plug-egui): per deck a waveform overview with playhead, beat and phrase
//! markers, coloured sections and hot cues; BPM, key and energy; load field; transport
//! buttons; stem faders and mixer controls. Clicking the overview seeks.
//!
//! It reads the engine status and the deck views from [`Shared`] and changes parameters
//! through the host (`ParamSetter`), so every move is automatable and undoable in the DAW.

use std::sync::Arc;
use std::time::Duration;

use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{create_egui_editor, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use segue_engine::{Command, DeckStatus, Position};

use crate::control::{deck_name, DeckState, DeckView, Shared};
use crate::params::{DeckParams, SegueParams, DECKS};

/// The editor's own state.
pub struct SegueEditor {
    params: Arc<SegueParams>,
    shared: Arc<Shared>,
    gui: Option<GuiContext>,
    paths: [String; DECKS],
    /// The deck view's path when `paths` was last synced from it.
    shown: [Option<std::path::PathBuf>; DECKS],
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
        },
    )
}

impl NiceEguiApp for SegueEditor {
    fn build(
        &mut self,
        _ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(gui);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        ui.ctx().request_repaint_after(Duration::from_millis(33));
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        let status = self.shared.status();
        let views: Vec<DeckView> = self
            .shared
            .decks
            .lock()
            .map(|v| v.to_vec())
            .unwrap_or_default();
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
            for (d, view) in views.iter().enumerate() {
                ui.separator();
                self.deck_ui(ui, &setter, d, view, &status.decks[d]);
            }
            ui.separator();
            ui.label(
                "Suggested next tracks: none yet — the suggestion engine (similarity + mix \
                 plans) is not built; this list fills when it is.",
            );
        });
    }
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
                self.shared.load(d, path, false);
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
            ui.label(if view.has_stems {
                "Stems"
            } else {
                "Stems (track has none)"
            });
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
                painter.rect_filled(r, 0.0, section_colour(&s.label));
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

fn clock(secs: f64) -> String {
    let s = secs.max(0.0);
    format!("{}:{:04.1}", (s / 60.0) as u32, s % 60.0)
}

fn section_colour(label: &str) -> Color32 {
    match label {
        "intro" | "outro" => Color32::from_rgb(30, 45, 60),
        "verse" => Color32::from_rgb(35, 60, 40),
        "build" => Color32::from_rgb(70, 60, 25),
        "drop" => Color32::from_rgb(80, 30, 30),
        "break" => Color32::from_rgb(45, 35, 70),
        _ => Color32::from_gray(35),
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
