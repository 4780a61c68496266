//! The MIDI controller hook. A MIDI input source (the JACK backend's `midi_in` port today)
//! delivers short messages stamped with the engine frame they arrived at; a
//! [`MidiController`] (the mapping layer of `segue-controllers`) turns them into engine
//! commands and turns engine status into LED feedback for `midi_out`.
//!
//! Without a controller the messages are counted (`midi_in` in `/segue/query/stats`) and
//! logged at debug level.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use segue_engine::{Status, TimedCommand};

use crate::audio::jack::MidiRings;
use crate::state::Shared;

/// Turns MIDI into engine commands and engine state into MIDI feedback.
pub trait MidiController: Send {
    /// One short message (1-3 bytes) that arrived at engine frame `frame`; push what it
    /// means onto `out` (commands may carry `at: Some(frame)` for sample-accurate cues).
    fn handle(&mut self, msg: &[u8], frame: u64, status: &Status, out: &mut Vec<TimedCommand>);

    /// Messages for the controller's LEDs and displays, called about 30 times a second.
    fn feedback(&mut self, _status: &Status, _out: &mut Vec<[u8; 3]>) {}
}

/// The MIDI dispatch thread: owns the controller, drains the rings of the current JACK
/// connection (a new pair arrives after a reconnect).
pub(crate) fn run(
    rings: &Receiver<MidiRings>,
    mut controller: Option<Box<dyn MidiController>>,
    shared: &Arc<Shared>,
    stop: &AtomicBool,
) {
    let mut current: Option<MidiRings> = None;
    let mut out = Vec::with_capacity(64);
    let mut fb = Vec::with_capacity(64);
    let mut last_fb = Instant::now();
    while !stop.load(Ordering::Acquire) {
        while let Ok(r) = rings.try_recv() {
            current = Some(r);
        }
        let Some(r) = current.as_mut() else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let mut any = false;
        let mut status = None;
        while let Ok(ev) = r.events.pop() {
            any = true;
            let msg = &ev.bytes[..ev.len as usize];
            match controller.as_mut() {
                Some(c) => {
                    let st = *status.get_or_insert_with(|| shared.status());
                    out.clear();
                    c.handle(msg, ev.frame, &st, &mut out);
                    for cmd in out.drain(..) {
                        shared.send(cmd);
                    }
                    shared.counters.midi_handled.fetch_add(1, Ordering::Relaxed);
                }
                None => tracing::debug!("MIDI in {msg:02x?} (no controller mapping loaded)"),
            }
        }
        if let Some(c) = controller.as_mut() {
            if last_fb.elapsed() >= Duration::from_millis(33) {
                last_fb = Instant::now();
                fb.clear();
                c.feedback(&shared.status(), &mut fb);
                for m in fb.drain(..) {
                    let _ = r.feedback.push(m);
                }
            }
        }
        if !any {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
