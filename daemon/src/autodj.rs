//! Auto DJ: with a track playing, it loads the first suggestion onto the free deck, plans
//! the transition from both analyses (`segue_mix::plan`) and performs it with a
//! `PlanRunner`, stamping every step with the engine frame of its beat; then again from the
//! new track. Touching a control of a deck (OSC or MIDI) during a transition cancels the
//! automation of that control only, as Mixxx and rekordbox users expect.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use segue_engine::{Command, TimedCommand};
use segue_library::decks::DeckState;
use segue_mix::plan::{plan_transition, PlanOptions, PlanTrack, Role};
use segue_mix::runner::{Control, PlanRunner};

use crate::state::Shared;

/// Auto DJ's switch and what the DJ touched.
#[derive(Debug, Default)]
pub struct AutoDj {
    /// On.
    pub enabled: AtomicBool,
    /// Transitions performed.
    pub transitions: AtomicU64,
    touched: Mutex<Vec<(u8, Control)>>,
}

/// The control a command moves, if Auto DJ automates it.
fn control_of(c: &Command) -> Option<Control> {
    Some(match c {
        Command::Play { .. } | Command::Cue { .. } => Control::Transport,
        Command::Volume { .. } => Control::Volume,
        Command::Eq { .. } => Control::Eq,
        Command::Filter { .. } => Control::Filter,
        Command::StemGain { .. } | Command::StemMute { .. } => Control::Stems,
        Command::Tempo { .. } | Command::Sync { .. } | Command::Bend { .. } => Control::Tempo,
        Command::BeatLoop { .. } | Command::LoopExit { .. } | Command::LoopRoll { .. } => {
            Control::Loop
        }
        _ => return None,
    })
}

impl AutoDj {
    /// The DJ sent `c` (not Auto DJ): its control is theirs for the rest of the transition.
    pub fn touched(&self, c: &Command) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        if let (Some(deck), Some(control)) = (c.deck(), control_of(c)) {
            self.touched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((deck, control));
        }
    }
}

/// How far ahead steps are sent to the engine (they carry their frame), seconds.
const HORIZON_SECS: f64 = 0.1;

struct Active {
    runner: PlanRunner,
    out: u8,
    inn: u8,
}

/// Run until `stop`.
pub fn run(shared: &Shared, stop: &AtomicBool) {
    let dj = &shared.autodj;
    let mut active: Option<Active> = None;
    // Runners past their handover (A stopped) still bringing B's tempo back; the next
    // transition does not wait for them.
    let mut tails: Vec<PlanRunner> = Vec::new();
    let mut pending: Option<(usize, usize)> = None; // (deck loading B, deck of A)
    let mut cmds = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
        let touched: Vec<(u8, Control)> =
            std::mem::take(&mut *dj.touched.lock().unwrap_or_else(|e| e.into_inner()));
        if !dj.enabled.load(Ordering::Relaxed) {
            active = None;
            pending = None;
            tails.clear();
            continue;
        }
        let status = shared.status();
        let horizon = (HORIZON_SECS * status.sample_rate as f64) as u64;
        for t in &mut tails {
            cmds.clear();
            t.poll(&status, horizon, &mut cmds);
            for (at, command) in cmds.drain(..) {
                shared.send(TimedCommand {
                    at: Some(at),
                    command,
                });
            }
        }
        tails.retain(|t| !t.done());
        if let Some(a) = active.as_mut() {
            for (deck, control) in touched {
                let role = if deck == a.out {
                    Role::Out
                } else if deck == a.inn {
                    Role::In
                } else {
                    continue;
                };
                a.runner.cancel(role, control);
            }
            cmds.clear();
            a.runner.poll(&status, horizon, &mut cmds);
            for (at, command) in cmds.drain(..) {
                shared.send(TimedCommand {
                    at: Some(at),
                    command,
                });
            }
            if a.runner.done() || a.runner.handed_over() {
                dj.transitions.fetch_add(1, Ordering::Relaxed);
                if let Some(a) = active.take().filter(|a| !a.runner.done()) {
                    tails.push(a.runner);
                }
            }
            continue;
        }
        let Some(on_air) = status.on_air.map(|d| d as usize) else {
            continue;
        };
        match pending {
            None => {
                let list = shared.suggestions.get();
                if list.deck != Some(on_air) {
                    continue;
                }
                let free =
                    (0..shared.deck_count).find(|d| *d != on_air && !status.decks[*d].playing);
                if let (Some(free), Some(next)) = (free, list.items.first()) {
                    tracing::info!("Auto DJ: {} next, on deck {}", next.title, free + 1);
                    if shared.decks.load(free, next.path.clone(), None) {
                        pending = Some((free, on_air));
                    }
                }
            }
            Some((free, a_deck)) => {
                if a_deck != on_air || !status.decks[a_deck].playing {
                    pending = None; // the DJ changed the deck on air
                    continue;
                }
                let (va, vb) = (shared.decks.deck(a_deck), shared.decks.deck(free));
                if matches!(
                    vb.state,
                    DeckState::Failed(_) | DeckState::AnalysisFailed(_)
                ) {
                    pending = None;
                    continue;
                }
                let (Some(aa), Some(ab)) = (va.analysis.as_ref(), vb.analysis.as_ref()) else {
                    continue;
                };
                if !status.decks[free].has_grid || !status.decks[a_deck].has_grid {
                    continue;
                }
                let bpb = aa.beats_per_bar.max(1) as f64;
                let plan = plan_transition(
                    &PlanTrack {
                        name: &va.title,
                        analysis: aa,
                        vocals: None,
                    },
                    &PlanTrack {
                        name: &vb.title,
                        analysis: ab,
                        vocals: None,
                    },
                    &PlanOptions {
                        earliest_out_beat: status.decks[a_deck].beat + 2.0 * bpb,
                        ..PlanOptions::default()
                    },
                );
                tracing::info!(
                    "Auto DJ: {} → {} at A's beat {} ({})",
                    plan.from,
                    plan.to,
                    plan.out_beat,
                    plan.reason
                );
                active = Some(Active {
                    runner: PlanRunner::new(&plan, a_deck as u8, free as u8, status.sample_rate),
                    out: a_deck as u8,
                    inn: free as u8,
                });
                pending = None;
            }
        }
    }
}
