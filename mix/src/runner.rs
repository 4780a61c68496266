//! Performing a plan: [`PlanRunner`] reads the engine's status (where A's playhead is and
//! how fast its beats go) and turns the steps due within the next stretch of time into
//! engine commands stamped with the engine frame of their beat, so the engine applies them
//! sample-accurately. The offline set renderer polls it before every block; Auto DJ polls
//! it from a control thread with a longer horizon. When A stops or loops, its beat clock
//! runs on from its last tempo, so steps after that still land where the plan says.

use segue_engine::{Command, DeckId, FxMode, Position, Status, TempoRange};

use crate::plan::{Action, Role, Step, TransitionPlan};

/// A's beats against engine frames.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BeatClock {
    frame: u64,
    beat: f64,
    frames_per_beat: f64,
}

impl BeatClock {
    fn frame_of(&self, beat: f64) -> f64 {
        self.frame as f64 + (beat - self.beat) * self.frames_per_beat
    }
}

/// Tempo-return steps per beat.
const TEMPO_STEPS_PER_BEAT: f64 = 1.0;

/// Performs one [`TransitionPlan`] on two decks.
#[derive(Debug, Clone)]
pub struct PlanRunner {
    steps: Vec<Step>,
    next: usize,
    out_deck: DeckId,
    in_deck: DeckId,
    synced: bool,
    clock: Option<BeatClock>,
    sample_rate: u32,
    /// Steps of a control the DJ took over are skipped: (role, control kind).
    cancelled: Vec<(Role, Control)>,
    /// A's stop has been sent: the blend is over (tempo-return steps may remain).
    handed_over: bool,
}

/// A control a step moves (for taking over one control of a deck).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Play/pause.
    Transport,
    /// Channel fader.
    Volume,
    /// EQ (any band).
    Eq,
    /// Filter knob.
    Filter,
    /// Stem gains.
    Stems,
    /// Tempo fader, sync and the tempo return.
    Tempo,
    /// Loops.
    Loop,
    /// The transition's FX unit (its effect, knobs, mix, on switch and the deck's
    /// assignment).
    Fx,
    /// Anything else (seek, key lock, trim).
    Setup,
}

impl Control {
    fn of(a: &Action) -> Control {
        match a {
            Action::Play { .. } => Control::Transport,
            Action::Volume { .. } => Control::Volume,
            Action::Eq { .. } => Control::Eq,
            Action::Filter { .. } => Control::Filter,
            Action::Stem { .. } => Control::Stems,
            Action::Tempo { .. }
            | Action::Sync { .. }
            | Action::TakeLead
            | Action::TempoReturn { .. }
            | Action::WideTempo => Control::Tempo,
            Action::BeatLoop { .. } | Action::LoopExit => Control::Loop,
            Action::FxSetup { .. }
            | Action::FxAssign { .. }
            | Action::FxOn { .. }
            | Action::FxMix { .. }
            | Action::FxKnob { .. } => Control::Fx,
            Action::SeekBeat { .. }
            | Action::KeyLock { .. }
            | Action::KeyShift { .. }
            | Action::Trim { .. } => Control::Setup,
        }
    }
}

impl PlanRunner {
    /// Run `plan` with A on `out_deck` and B on `in_deck`, at the engine's `sample_rate`.
    pub fn new(plan: &TransitionPlan, out_deck: DeckId, in_deck: DeckId, sample_rate: u32) -> Self {
        PlanRunner {
            steps: plan.steps.clone(),
            next: 0,
            out_deck,
            in_deck,
            synced: plan.synced,
            clock: None,
            sample_rate,
            cancelled: Vec::new(),
            handed_over: false,
        }
    }

    /// Every step has been sent.
    pub fn done(&self) -> bool {
        self.next >= self.steps.len()
    }

    /// A's stop has been sent: the next transition need not wait for the rest (B's tempo
    /// returning to 0 %), which [`poll`](Self::poll) keeps sending.
    pub fn handed_over(&self) -> bool {
        self.handed_over
    }

    /// The DJ took over `control` of `role`'s deck: its remaining steps are skipped.
    pub fn cancel(&mut self, role: Role, control: Control) {
        if !self.cancelled.contains(&(role, control)) {
            self.cancelled.push((role, control));
        }
    }

    /// Stop the whole plan (the remaining steps are dropped).
    pub fn abort(&mut self) {
        self.next = self.steps.len();
    }

    /// The deck of a role.
    pub fn deck(&self, role: Role) -> DeckId {
        match role {
            Role::Out => self.out_deck,
            Role::In => self.in_deck,
        }
    }

    /// The engine frame of A's beat `beat`, as far as the runner knows A's tempo.
    pub fn frame_of_beat(&self, beat: f64) -> Option<f64> {
        self.clock.map(|c| c.frame_of(beat))
    }

    /// Append to `out` the commands due before `status.frame + horizon`, each with the
    /// engine frame it is due at (never before `status.frame`).
    pub fn poll(&mut self, status: &Status, horizon: u64, out: &mut Vec<(u64, Command)>) {
        let a = &status.decks[self.out_deck as usize];
        // A's beats run on while it loops (a loop-out holds its playhead in one bar): the
        // clock then extrapolates, as it does once A has stopped.
        if a.loaded && a.playing && a.bpm > 0.0 && !(a.looping || a.rolling) {
            self.clock = Some(BeatClock {
                frame: status.frame,
                beat: a.beat,
                frames_per_beat: 60.0 * status.sample_rate as f64 / a.bpm,
            });
        }
        let now = status.frame;
        while let Some(step) = self.steps.get(self.next).copied() {
            let at = match step.beat {
                None => now,
                Some(beat) => {
                    let Some(clock) = self.clock else {
                        return; // A is not playing yet: nothing but prepare steps
                    };
                    let f = clock.frame_of(beat).round();
                    if f >= (now + horizon) as f64 {
                        return;
                    }
                    f.max(now as f64) as u64
                }
            };
            self.next += 1;
            if self
                .cancelled
                .contains(&(step.role, Control::of(&step.action)))
            {
                continue;
            }
            self.emit(&step, at, status, out);
        }
    }

    fn emit(&mut self, step: &Step, at: u64, status: &Status, out: &mut Vec<(u64, Command)>) {
        let deck = self.deck(step.role);
        if step.role == Role::Out && step.action == (Action::Play { on: false }) {
            self.handed_over = true;
        }
        let c = match step.action {
            Action::Play { on } => Command::Play { deck, on },
            Action::SeekBeat { to_beat } => Command::Seek {
                deck,
                to: Position::Beats(to_beat),
            },
            Action::Sync { on } => Command::Sync { deck, on },
            Action::KeyLock { on } => Command::KeyLock { deck, on },
            Action::KeyShift { semitones } => Command::KeyShift { deck, semitones },
            Action::WideTempo => Command::TempoRange {
                deck,
                range: TempoRange::Wide,
            },
            Action::Tempo { percent } => Command::Tempo { deck, percent },
            Action::Volume { level } => Command::Volume { deck, level },
            Action::Trim { db } => Command::Trim { deck, db },
            Action::Eq { band, gain } => Command::Eq {
                deck,
                band: band.into(),
                gain,
            },
            Action::Filter { amount } => Command::Filter { deck, amount },
            Action::Stem { stem, gain } => Command::StemGain {
                deck,
                stem: stem.into(),
                gain,
            },
            Action::BeatLoop { beats } => Command::BeatLoop { deck, beats },
            Action::LoopExit => Command::LoopExit { deck },
            Action::FxSetup {
                unit,
                effect,
                beats,
                knobs,
            } => {
                // Selecting the effect resets the slot's beats and knobs: those follow.
                out.push((at, Command::FxOn { unit, on: false }));
                out.push((
                    at,
                    Command::FxMode {
                        unit,
                        mode: FxMode::Single,
                    },
                ));
                out.push((at, Command::FxAssignMaster { unit, on: false }));
                out.push((
                    at,
                    Command::FxSelect {
                        unit,
                        slot: 0,
                        effect: Some(effect),
                    },
                ));
                out.push((
                    at,
                    Command::FxSlotOn {
                        unit,
                        slot: 0,
                        on: true,
                    },
                ));
                out.push((
                    at,
                    Command::FxBeats {
                        unit,
                        slot: 0,
                        beats,
                    },
                ));
                for (param, value) in (0u8..).zip(knobs) {
                    out.push((
                        at,
                        Command::FxParam {
                            unit,
                            slot: 0,
                            param,
                            value,
                        },
                    ));
                }
                return;
            }
            Action::FxAssign { unit, on } => Command::FxAssign { unit, deck, on },
            Action::FxOn { unit, on } => Command::FxOn { unit, on },
            Action::FxMix { unit, mix } => Command::FxMix { unit, mix },
            Action::FxKnob { unit, knob, value } => Command::FxParam {
                unit,
                slot: 0,
                param: knob,
                value,
            },
            Action::TakeLead => {
                // Keep the tempo B plays at now: its fader set to A's tempo (B's base rate
                // under sync, without the phase correction), then B leads.
                if self.synced {
                    if let Some(percent) = self.matched_percent(deck, status) {
                        out.push((at, Command::Tempo { deck, percent }));
                    }
                }
                Command::SyncLeader { deck: Some(deck) }
            }
            Action::TempoReturn { beats } => {
                let from = self
                    .matched_percent(deck, status)
                    .filter(|_| self.synced)
                    .unwrap_or(status.decks[deck as usize].tempo_percent);
                let beat0 = step.beat.unwrap_or(0.0);
                let n = (beats * TEMPO_STEPS_PER_BEAT).round().max(1.0) as usize;
                // Insert the ramp steps into the schedule, in beat order.
                let mut ramp: Vec<Step> = (1..=n)
                    .map(|k| Step {
                        beat: Some(beat0 + beats * k as f64 / n as f64),
                        role: step.role,
                        action: Action::Tempo {
                            percent: from * (1.0 - k as f32 / n as f32),
                        },
                    })
                    .collect();
                let rest = self.steps.split_off(self.next);
                ramp.extend(rest);
                ramp.sort_by(|x, y| {
                    x.beat
                        .unwrap_or(f64::NEG_INFINITY)
                        .total_cmp(&y.beat.unwrap_or(f64::NEG_INFINITY))
                });
                self.steps.extend(ramp);
                return;
            }
        };
        out.push((at, c));
    }

    /// The tempo fader percent at which B, unsynced, plays at A's tempo (folded to half or
    /// double time as sync does).
    fn matched_percent(&self, deck: DeckId, status: &Status) -> Option<f32> {
        let clock = self.clock?;
        let a_bpm = 60.0 * self.sample_rate as f64 / clock.frames_per_beat;
        let native = status.decks[deck as usize].native_bpm;
        if native <= 0.0 {
            return None;
        }
        let (folded, _) = crate::compat::fold_tempo(a_bpm, native);
        Some(((a_bpm / folded - 1.0) * 100.0) as f32)
    }
}
