//! **Segue patch** (not in upstream egui-baseview 0.9.0): baseview's drag & drop events
//! (`MouseEvent::DragEntered/DragMoved/DragLeft/DragDropped`, X11 XDND, Windows OLE and
//! macOS dragging in baseview 0.4) become egui input: `RawInput::hovered_files` while files
//! are dragged over the window, `RawInput::dropped_files` for the frame after the drop, and
//! a pointer move to the drag position (the pointer is grabbed by the drag source, so the
//! window sees no other motion). Upstream ignores these events, so a plugin editor never
//! learns of a drop.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use baseview::dpi::LogicalPosition;
use baseview::{DropData, DropEffect, EventStatus, MouseEvent};
use egui::{HoveredFile, Pos2, RawInput};

/// A file dropped on the window, by path (what baseview gives on every platform).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathDroppedFile(pub PathBuf);

impl egui::DroppedFile for PathDroppedFile {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| format!("{}: {e}", self.0.display()))
    }
}

fn files(data: &DropData) -> &[PathBuf] {
    match data {
        DropData::Files(f) => f,
        _ => &[],
    }
}

/// Apply a drag & drop event to `input`. `pixels_per_point` turns baseview's physical
/// position into egui points (system scale factor × egui zoom). Returns `None` for any
/// other event; else the new pointer position (`None` once the drag left) and what the
/// window handler must return: `AcceptDrop(Copy)` while the drag carries files (so the
/// source shows a copy cursor and completes the drop), `Ignored` (rejected) otherwise.
pub fn apply_drag_event(
    event: &MouseEvent,
    pixels_per_point: f64,
    input: &mut RawInput,
) -> Option<(Option<Pos2>, EventStatus)> {
    let to_pos = |p: &baseview::dpi::PhysicalPosition<f64>| {
        let l: LogicalPosition<f32> = p.to_logical(pixels_per_point);
        Pos2::new(l.x, l.y)
    };
    let status = |data: &DropData| {
        if files(data).is_empty() {
            EventStatus::Ignored
        } else {
            EventStatus::AcceptDrop(DropEffect::Copy)
        }
    };
    match event {
        MouseEvent::DragEntered { position, data, .. }
        | MouseEvent::DragMoved { position, data, .. } => {
            let pos = to_pos(position);
            input.events.push(egui::Event::PointerMoved(pos));
            input.hovered_files = files(data)
                .iter()
                .map(|p| HoveredFile {
                    path: Some(p.clone()),
                    mime: String::new(),
                })
                .collect();
            Some((Some(pos), status(data)))
        }
        MouseEvent::DragLeft => {
            input.hovered_files.clear();
            input.events.push(egui::Event::PointerGone);
            Some((None, EventStatus::Captured))
        }
        MouseEvent::DragDropped { position, data, .. } => {
            let pos = to_pos(position);
            input.events.push(egui::Event::PointerMoved(pos));
            input.hovered_files.clear();
            input.dropped_files.extend(
                files(data)
                    .iter()
                    .map(|p| Arc::new(PathDroppedFile(p.clone())) as egui::DroppedFileHandle),
            );
            Some((Some(pos), status(data)))
        }
        _ => None,
    }
}

// Tested from segue-plugin (`plugin/src/editor.rs`), which runs in the workspace's CI; this
// vendored crate is outside the workspace.
