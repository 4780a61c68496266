//! The live side of the main job, shared by both shells (`segue serve` and the plugin):
//! next-track suggestions for the deck on air and Auto DJ, over the deck service
//! ([`segue_library::decks::DeckService`]) and the engine's control end
//! ([`segue_library::decks::EngineSink`]).
//!
//! * [`Live::run_suggestions`] follows the deck on air from a background thread: the
//!   library's analysed tracks scored by [`compat::suggest`](crate::compat::suggest),
//!   with the play history (how often each followed the track on air, from the library's
//!   transition graph: Segue's own sessions and imported playlists), recomputed when the track on air changes (and every 30 s, the library grows). The
//!   shells read [`Suggestions::get`] (OSC `/segue/query/suggest`, the editor's list) and
//!   load one with [`Live::load_suggestion`].
//! * [`Live::run_autodj`]: with a track playing and Auto DJ on, it loads the first
//!   suggestion onto the free deck, plans the transition from both analyses
//!   ([`plan`](crate::plan)) and performs it with a [`PlanRunner`], every step stamped with
//!   the engine frame of its beat; then again from the new track. A control the DJ touches
//!   during a transition ([`AutoDj::touched`], callable from any thread including the audio
//!   thread: it only sets a bit) is taken from the automation, that control only, as Mixxx
//!   and rekordbox users expect.
//!
//! Must never: run on the audio thread (except [`AutoDj::touched`]), or block a shell's
//! control path on planning (both loops run on their own threads).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use segue_analysis::Analysis;
use segue_controllers::LiveAction;
use segue_engine::{Command, Status, TimedCommand, MAX_DECKS};
use segue_library::decks::{CommandSink, DeckService, DeckState, DeckView, EngineSink};
use segue_library::graph::TransitionGraph;

use crate::compat::{suggest, Candidate, Prefs, Suggestion};
use crate::plan::{
    plan_transition, PlanOptions, PlanTrack, Role, TransitionPlan, TRANSITION_FX_UNIT,
};
use crate::runner::{Control, PlanRunner};

/// Suggestions kept.
pub const SUGGESTIONS: usize = 10;

/// How far ahead Auto DJ's steps are sent to the engine (they carry their frame), seconds.
const HORIZON_SECS: f64 = 0.1;

/// What the live loops work with: a shell's deck service and engine sink.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    /// The shell's deck service (tracks, analyses, the library).
    pub decks: &'a DeckService,
    /// The shell's engine control end.
    pub engine: &'a EngineSink,
    /// Decks in use.
    pub deck_count: usize,
}

/// The current list and what it was made for.
#[derive(Debug, Clone, Default)]
pub struct SuggestList {
    /// Engine deck the list follows (the one on air).
    pub deck: Option<usize>,
    /// Best first.
    pub items: Vec<Suggestion>,
}

/// The suggestion list, shared between its thread and the shell's readers.
#[derive(Debug, Default)]
pub struct Suggestions {
    list: Mutex<SuggestList>,
    /// Bumped on every change of the list.
    pub generation: AtomicU64,
}

impl Suggestions {
    /// A copy of the list.
    pub fn get(&self) -> SuggestList {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, l: SuggestList) {
        *self.list.lock().unwrap_or_else(|e| e.into_inner()) = l;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// The transition Auto DJ planned or performs now (or none), for whoever shows it: a tablet
/// over OSC, the editor.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTransition {
    /// A's deck (0-based).
    pub out_deck: usize,
    /// B's deck (0-based).
    pub in_deck: usize,
    /// The plan, as it is performed.
    pub plan: TransitionPlan,
}

/// The current [`PlannedTransition`], shared like [`Suggestions`].
#[derive(Debug, Default)]
pub struct TransitionSlot {
    current: Mutex<Option<PlannedTransition>>,
    /// Bumped on every change.
    pub generation: AtomicU64,
}

impl TransitionSlot {
    /// A copy of the transition being performed, if any.
    pub fn get(&self) -> Option<PlannedTransition> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set(&self, t: Option<PlannedTransition>) {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if *cur != t {
            *cur = t;
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Auto DJ's switch, its count, and the controls the DJ touched.
#[derive(Debug, Default)]
pub struct AutoDj {
    /// On.
    pub enabled: AtomicBool,
    /// Transitions performed.
    pub transitions: AtomicU64,
    /// Per deck, one bit per [`Control`] the DJ touched since the loop last looked.
    touched: [AtomicU32; MAX_DECKS],
    /// Per FX unit, one bit: the DJ touched it (any of its controls).
    fx_touched: AtomicU32,
    /// One transition asked for ([`LiveAction::StartTransition`]), Auto DJ on or not.
    requested: AtomicBool,
}

/// Every control Auto DJ automates, in bit order.
const CONTROLS: [Control; 9] = [
    Control::Transport,
    Control::Volume,
    Control::Eq,
    Control::Filter,
    Control::Stems,
    Control::Tempo,
    Control::Loop,
    Control::Fx,
    Control::Setup,
];

/// The FX unit a command moves, if it is an FX control.
fn fx_unit_of(c: &Command) -> Option<u8> {
    match *c {
        Command::FxOn { unit, .. }
        | Command::FxMode { unit, .. }
        | Command::FxSelect { unit, .. }
        | Command::FxSlotOn { unit, .. }
        | Command::FxMix { unit, .. }
        | Command::FxParam { unit, .. }
        | Command::FxBeats { unit, .. }
        | Command::FxAssign { unit, .. }
        | Command::FxAssignMaster { unit, .. } => Some(unit),
        _ => None,
    }
}

/// The control a command moves, if Auto DJ automates it.
fn control_of(c: &Command) -> Option<Control> {
    Some(match c {
        Command::Play { .. } | Command::Cue { .. } => Control::Transport,
        Command::Volume { .. } => Control::Volume,
        Command::Eq { .. } => Control::Eq,
        Command::Filter { .. } => Control::Filter,
        Command::StemGain { .. } | Command::StemMute { .. } | Command::StemFilter { .. } => {
            Control::Stems
        }
        Command::Tempo { .. } | Command::Sync { .. } | Command::Bend { .. } => Control::Tempo,
        Command::BeatLoop { .. } | Command::LoopExit { .. } | Command::LoopRoll { .. } => {
            Control::Loop
        }
        _ => return None,
    })
}

impl AutoDj {
    /// The DJ sent `c` (not Auto DJ): its control is theirs for the rest of the transition.
    /// Real-time safe (two atomic operations), so the plugin calls it from `process`.
    pub fn touched(&self, c: &Command) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        if let Some(unit) = fx_unit_of(c) {
            self.fx_touched
                .fetch_or(1 << (unit as u32).min(31), Ordering::Relaxed);
            return;
        }
        let (Some(deck), Some(control)) = (c.deck(), control_of(c)) else {
            return;
        };
        if let (Some(bits), Some(i)) = (
            self.touched.get(deck as usize),
            CONTROLS.iter().position(|&k| k == control),
        ) {
            bits.fetch_or(1 << i, Ordering::Relaxed);
        }
    }

    /// Take the touched controls of `deck`.
    fn take_touched(&self, deck: u8) -> impl Iterator<Item = Control> {
        let bits = self
            .touched
            .get(deck as usize)
            .map_or(0, |b| b.swap(0, Ordering::Relaxed));
        CONTROLS
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| bits & (1 << i) != 0)
            .map(|(_, c)| c)
    }

    /// Take the FX units the DJ touched (bit per unit).
    fn take_fx_touched(&self) -> u32 {
        self.fx_touched.swap(0, Ordering::Relaxed)
    }

    fn forget_touched(&self) {
        for b in &self.touched {
            b.store(0, Ordering::Relaxed);
        }
        self.fx_touched.store(0, Ordering::Relaxed);
    }
}

/// The live service of one shell: its suggestions and Auto DJ.
#[derive(Debug, Default)]
pub struct Live {
    /// The next-track suggestions for the deck on air.
    pub suggestions: Suggestions,
    /// Auto DJ's switch and the controls the DJ took over.
    pub autodj: AutoDj,
    /// The transition being performed.
    pub transition: TransitionSlot,
}

/// Two paths name the same file.
fn same_file(a: &PathBuf, b: &PathBuf) -> bool {
    a == b
        || a.canonicalize()
            .ok()
            .is_some_and(|x| Some(x) == b.canonicalize().ok())
}

/// A deck other than `on_air` with a track on it, stopped: the next track, waiting.
fn waiting_deck(deps: Deps<'_>, status: &Status, on_air: usize) -> Option<usize> {
    (0..deps.deck_count.min(MAX_DECKS)).find(|&d| {
        d != on_air
            && status.decks[d].loaded
            && !status.decks[d].playing
            && deps.decks.deck(d).loaded()
    })
}

/// The first deck that is neither `on_air` nor playing.
fn free_deck(status: &Status, deck_count: usize, on_air: usize) -> Option<usize> {
    (0..deck_count.min(MAX_DECKS)).find(|d| *d != on_air && !status.decks[*d].playing)
}

impl Live {
    /// Suggestion `n` (0-based) and the deck it goes to: `deck`, or the first free one
    /// (neither on air nor playing). Or why not.
    pub fn pick_suggestion(
        &self,
        deps: Deps<'_>,
        n: usize,
        deck: Option<usize>,
    ) -> Result<(PathBuf, usize), String> {
        let list = self.suggestions.get();
        let Some(item) = list.items.get(n) else {
            return Err(format!(
                "no suggestion {} (the list has {})",
                n + 1,
                list.items.len()
            ));
        };
        let status = deps.engine.status();
        let on_air = list.deck.unwrap_or(usize::MAX);
        let deck = match deck {
            Some(d) if d < deps.deck_count => d,
            Some(d) => return Err(format!("there is no deck {}", d + 1)),
            None => free_deck(&status, deps.deck_count, on_air)
                .ok_or_else(|| "no free deck (every deck is playing)".to_string())?,
        };
        Ok((item.path.clone(), deck))
    }

    /// Load suggestion `n` onto `deck` or the first free one (see
    /// [`pick_suggestion`](Self::pick_suggestion)); returns the deck.
    pub fn load_suggestion(
        &self,
        deps: Deps<'_>,
        n: usize,
        deck: Option<usize>,
    ) -> Result<usize, String> {
        let (path, deck) = self.pick_suggestion(deps, n, deck)?;
        if deps.decks.load(deck, path, None) {
            Ok(deck)
        } else {
            Err("the loader is busy".into())
        }
    }

    /// Do what a live control asked (a MIDI mapping's `suggestion_load_{n}`,
    /// `autodj_toggle`, `transition_start`, or the shell's own buttons).
    pub fn act(&self, deps: Deps<'_>, action: LiveAction) -> Result<(), String> {
        match action {
            LiveAction::LoadSuggestion(n) => self.load_suggestion(deps, n as usize, None).map(drop),
            LiveAction::AutoDjToggle => {
                let on = !self.autodj.enabled.load(Ordering::Relaxed);
                self.autodj.enabled.store(on, Ordering::Relaxed);
                tracing::info!("Auto DJ {}", if on { "on" } else { "off" });
                Ok(())
            }
            LiveAction::StartTransition => {
                self.autodj.requested.store(true, Ordering::Relaxed);
                Ok(())
            }
            LiveAction::RecordToggle | LiveAction::RecordStart | LiveAction::RecordStop => {
                Err("recording belongs to the shell's recorder, not to the live service".into())
            }
            LiveAction::LinkToggle => Err(
                "Ableton Link belongs to the daemon (segue serve), not to the live service".into(),
            ),
            LiveAction::Browse(_)
            | LiveAction::BrowseEnter
            | LiveAction::BrowseBack
            | LiveAction::BrowseSort
            | LiveAction::LoadSelected(_) => Err(
                "the library browser belongs to the shell (segue serve), not to the live \
                     service"
                    .into(),
            ),
        }
    }

    /// Follow the deck on air until `stop`.
    pub fn run_suggestions(&self, deps: Deps<'_>, stop: &AtomicBool) {
        segue_library::worker::background_priority();
        let mut made_for: Option<PathBuf> = None;
        let mut last = Instant::now() - Duration::from_secs(60);
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(200));
            let status = deps.engine.status();
            let Some(deck) = status.on_air.map(|d| d as usize) else {
                continue;
            };
            let view = deps.decks.deck(deck);
            let (Some(path), Some(analysis)) = (view.path.clone(), view.analysis.clone()) else {
                continue;
            };
            if made_for.as_ref() == Some(&path) && last.elapsed() < Duration::from_secs(30) {
                continue;
            }
            let loaded: Vec<PathBuf> = deps
                .decks
                .decks()
                .into_iter()
                .filter_map(|d| d.path)
                .collect();
            // The library's tracks and its play history (live sessions and imported
            // playlists): how often each followed the track on air.
            let Some(Ok((entries, graph))) = deps.decks.with_library(|l| {
                let entries = l.list()?;
                let graph = TransitionGraph::load(l)?;
                Ok::<_, segue_library::SegueError>((entries, graph))
            }) else {
                continue;
            };
            let on_air = entries
                .iter()
                .find(|e| e.track.path.as_ref().is_some_and(|p| same_file(p, &path)))
                .map(|e| e.track.id);
            let candidates: Vec<Candidate<'_>> = entries
                .iter()
                .filter_map(|e| {
                    let p = e.track.path.as_ref()?;
                    let a = e.analysis.as_ref()?;
                    (!loaded.iter().any(|l| same_file(l, p))).then_some(Candidate {
                        path: p,
                        title: &e.track.title,
                        analysis: a,
                        history: on_air.map_or(0, |from| graph.count(from, e.track.id)),
                    })
                })
                .collect();
            let items = suggest(&analysis, &candidates, SUGGESTIONS, &Prefs::default());
            self.suggestions.set(SuggestList {
                deck: Some(deck),
                items,
            });
            made_for = Some(path);
            last = Instant::now();
        }
    }

    /// Auto DJ's loop, until `stop` (it idles while Auto DJ is off).
    pub fn run_autodj(&self, deps: Deps<'_>, stop: &AtomicBool) {
        let mut dj = AutoDjLoop::default();
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
            dj.step(self, deps);
        }
    }
}

/// Auto DJ waits for a deck's stems still being separated while A has more than this
/// left to play (seconds): a plan with both tracks' vocals can keep them apart.
const STEM_WAIT_SECS: f64 = 45.0;

/// A deck's vocal level per beat of its analysed grid, when it plays from stems.
fn deck_vocals(view: &DeckView, analysis: &Analysis) -> Option<Vec<f32>> {
    let env = view.vocals.as_ref()?;
    Some(env.per_beat(analysis.beatgrid(env.rate())?.beats()))
}

/// A transition being performed.
struct Active {
    runner: PlanRunner,
    out: u8,
    inn: u8,
}

/// Auto DJ's state between rounds.
#[derive(Default)]
struct AutoDjLoop {
    active: Option<Active>,
    /// Runners past their handover (A stopped) still bringing B's tempo back; the next
    /// transition does not wait for them.
    tails: Vec<PlanRunner>,
    /// (deck loading B, deck of A).
    pending: Option<(usize, usize)>,
    cmds: Vec<(u64, Command)>,
}

impl AutoDjLoop {
    fn send(&mut self, deps: Deps<'_>) {
        for (at, command) in self.cmds.drain(..) {
            deps.engine.send_timed(TimedCommand {
                at: Some(at),
                command,
            });
        }
    }

    fn step(&mut self, live: &Live, deps: Deps<'_>) {
        let dj = &live.autodj;
        let enabled = dj.enabled.load(Ordering::Relaxed);
        let requested = dj.requested.load(Ordering::Relaxed);
        if !enabled && !requested {
            self.active = None;
            self.pending = None;
            self.tails.clear();
            dj.forget_touched();
            live.transition.set(None);
            return;
        }
        let status = deps.engine.status();
        let horizon = (HORIZON_SECS * status.sample_rate as f64) as u64;
        for i in 0..self.tails.len() {
            self.cmds.clear();
            self.tails[i].poll(&status, horizon, &mut self.cmds);
            self.send(deps);
        }
        self.tails.retain(|t| !t.done());
        if let Some(mut a) = self.active.take() {
            for (deck, role) in [(a.out, Role::Out), (a.inn, Role::In)] {
                for control in dj.take_touched(deck) {
                    a.runner.cancel(role, control);
                }
            }
            // The DJ took the transition's FX unit: its steps are theirs.
            if dj.take_fx_touched() & (1 << TRANSITION_FX_UNIT) != 0 {
                a.runner.cancel(Role::Out, Control::Fx);
                a.runner.cancel(Role::In, Control::Fx);
            }
            self.cmds.clear();
            a.runner.poll(&status, horizon, &mut self.cmds);
            self.send(deps);
            if a.runner.done() || a.runner.handed_over() {
                dj.transitions.fetch_add(1, Ordering::Relaxed);
                dj.requested.store(false, Ordering::Relaxed);
                live.transition.set(None);
                if !a.runner.done() {
                    self.tails.push(a.runner);
                }
            } else {
                self.active = Some(a);
            }
            return;
        }
        dj.forget_touched();
        let Some(on_air) = status.on_air.map(|d| d as usize) else {
            return;
        };
        match self.pending {
            // Asked for one transition: to the track already waiting on another deck.
            None if requested => match waiting_deck(deps, &status, on_air) {
                Some(b) => self.pending = Some((b, on_air)),
                None => {
                    tracing::info!("transition asked for, but no track waits on a free deck");
                    dj.requested.store(false, Ordering::Relaxed);
                }
            },
            None => {
                let list = live.suggestions.get();
                if list.deck != Some(on_air) {
                    return;
                }
                let free = free_deck(&status, deps.deck_count, on_air);
                if let (Some(free), Some(next)) = (free, list.items.first()) {
                    tracing::info!("Auto DJ: {} next, on deck {}", next.title, free + 1);
                    if deps.decks.load(free, next.path.clone(), None) {
                        self.pending = Some((free, on_air));
                    }
                }
            }
            Some((free, a_deck)) => self.plan(live, deps, &status, (free, a_deck, on_air)),
        }
    }

    /// B is loading on `free` while A plays on `a_deck` (`b`: free, A's deck, the deck on
    /// air): plan once both are analysed.
    fn plan(&mut self, live: &Live, deps: Deps<'_>, status: &Status, b: (usize, usize, usize)) {
        let dj = &live.autodj;
        let (free, a_deck, on_air) = b;
        if a_deck != on_air || !status.decks[a_deck].playing {
            self.pending = None; // the DJ changed the deck on air
            dj.requested.store(false, Ordering::Relaxed);
            return;
        }
        let (va, vb) = (deps.decks.deck(a_deck), deps.decks.deck(free));
        if matches!(
            vb.state,
            DeckState::Failed(_) | DeckState::AnalysisFailed(_)
        ) {
            self.pending = None;
            dj.requested.store(false, Ordering::Relaxed);
            return;
        }
        let (Some(aa), Some(ab)) = (va.analysis.as_ref(), vb.analysis.as_ref()) else {
            return;
        };
        if !status.decks[free].has_grid || !status.decks[a_deck].has_grid {
            return;
        }
        // Stems on their way (separated in the background): wait for them while A has
        // time left, so the plan can keep the vocals apart (a stem swap).
        let a_left = status.decks[a_deck].duration_secs - status.decks[a_deck].position_secs;
        if (va.separation.is_some() || vb.separation.is_some()) && a_left > STEM_WAIT_SECS {
            return;
        }
        let (vocals_a, vocals_b) = (deck_vocals(&va, aa), deck_vocals(&vb, ab));
        let bpb = aa.beats_per_bar.max(1) as f64;
        let plan = plan_transition(
            &PlanTrack {
                name: &va.title,
                analysis: aa,
                vocals: vocals_a.as_deref(),
            },
            &PlanTrack {
                name: &vb.title,
                analysis: ab,
                vocals: vocals_b.as_deref(),
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
        live.transition.set(Some(PlannedTransition {
            out_deck: a_deck,
            in_deck: free,
            plan: plan.clone(),
        }));
        self.active = Some(Active {
            runner: PlanRunner::new(&plan, a_deck as u8, free as u8, status.sample_rate),
            out: a_deck as u8,
            inn: free as u8,
        });
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touched_control_is_taken_once_and_only_while_auto_dj_is_on() {
        let dj = AutoDj::default();
        dj.touched(&Command::Volume {
            deck: 1,
            level: 0.5,
        });
        assert_eq!(
            dj.take_touched(1).count(),
            0,
            "Auto DJ off: nothing to take over"
        );
        dj.enabled.store(true, Ordering::Relaxed);
        dj.touched(&Command::Volume {
            deck: 1,
            level: 0.5,
        });
        dj.touched(&Command::Eq {
            deck: 1,
            band: segue_engine::EqBand::Low,
            gain: 0.0,
        });
        dj.touched(&Command::Crossfader { position: 0.0 }); // not a deck control
        dj.touched(&Command::Play { deck: 99, on: true }); // no such deck
        let got: Vec<Control> = dj.take_touched(1).collect();
        assert_eq!(got, vec![Control::Volume, Control::Eq]);
        assert_eq!(dj.take_touched(1).count(), 0, "taken once");
        assert_eq!(dj.take_touched(0).count(), 0, "other decks untouched");
    }

    #[test]
    fn every_automated_control_has_its_own_bit() {
        for (i, c) in CONTROLS.iter().enumerate() {
            assert_eq!(CONTROLS.iter().position(|k| k == c), Some(i));
        }
        assert!(CONTROLS.len() <= 32);
    }
}
