//! Following the host: tempo, transport start/stop and beat position.
//!
//! Active when the "Follow host" parameter is on and the host reports a tempo (a host with
//! no transport reports none: the decks then run on their own tempo faders and play
//! buttons). While active:
//!
//! * each deck with a beatgrid plays at the host tempo (tempo range ±50 %; key lock, on by
//!   default, keeps the pitch); a deck synced to another deck follows that deck instead;
//! * a deck's play button is gated by the transport: decks start and stop with it;
//! * when a deck starts under a running transport, when the transport starts, and when the
//!   host position jumps (a loop, a locate), playing decks with a grid seek so that their
//!   phase inside the bar matches the host's.

use nice_plug::prelude::Transport;
use segue_engine::{Command, Position, Schedule, Status, TempoRange};

use crate::params::DECKS;

/// What the plugin reads from the host's transport for one block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HostTransport {
    /// Tempo, BPM (None: the host has no transport).
    pub tempo: Option<f64>,
    /// Transport running.
    pub playing: bool,
    /// Position in quarter notes.
    pub beats: Option<f64>,
    /// Beats per bar.
    pub bar: Option<i32>,
}

impl HostTransport {
    /// Copy the fields Segue uses out of nice-plug's transport.
    pub fn read(t: &Transport) -> Self {
        Self {
            tempo: t.tempo,
            playing: t.playing,
            beats: t.pos_beats(),
            bar: t.time_sig_numerator,
        }
    }
}

/// Host-sync state kept across blocks (audio thread only).
#[derive(Debug, Default)]
pub struct HostSync {
    /// Whether the last block followed the host.
    following: bool,
    /// Host transport playing in the last block.
    was_playing: bool,
    /// Host beat position expected at the start of this block.
    expected_beats: Option<f64>,
    /// Tempo percent last sent per deck while following.
    sent_tempo: [Option<f32>; DECKS],
}

impl HostSync {
    /// Update tempo and alignment for this block; returns whether decks may play (the
    /// transport gate).
    /// `tempo`: each deck's tempo fader (percent; NaN before it was read), sent back when
    /// the decks stop following the host.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        handle: &mut impl Schedule,
        status: &Status,
        t: &HostTransport,
        follow: bool,
        tempo: [f32; DECKS],
        frames: usize,
        rate: u32,
    ) -> bool {
        if follow != self.following {
            self.following = follow;
            self.sent_tempo = [None; DECKS];
            let range = if follow {
                TempoRange::Wide
            } else {
                TempoRange::Narrow
            };
            for d in 0..DECKS as u8 {
                let _ = handle.send(Command::TempoRange { deck: d, range });
                if !follow {
                    let percent = tempo[d as usize];
                    if percent.is_finite() {
                        let _ = handle.send(Command::Tempo { deck: d, percent });
                    }
                }
            }
        }
        if !follow {
            self.was_playing = false;
            self.expected_beats = None;
            return true;
        }
        let host_bpm = t.tempo.unwrap_or(120.0);
        for d in 0..DECKS {
            let ds = &status.decks[d];
            if !ds.loaded || !ds.has_grid || ds.native_bpm <= 0.0 {
                continue;
            }
            let percent = ((host_bpm / ds.native_bpm - 1.0) * 100.0) as f32;
            if self.sent_tempo[d].is_none_or(|p| (p - percent).abs() > 1e-4) {
                self.sent_tempo[d] = Some(percent);
                let _ = handle.send(Command::Tempo {
                    deck: d as u8,
                    percent,
                });
            }
        }
        let pos = t.beats;
        let jumped = match (pos, self.expected_beats) {
            (Some(p), Some(e)) => (p - e).abs() > 0.01,
            _ => false,
        };
        let started = t.playing && !self.was_playing;
        if t.playing && (started || jumped) {
            for d in 0..DECKS {
                if status.decks[d].playing || started {
                    self.align_deck(handle, status, t, d);
                }
            }
        }
        self.was_playing = t.playing;
        self.expected_beats = match (pos, t.playing) {
            (Some(p), true) => Some(p + frames as f64 * host_bpm / 60.0 / rate as f64),
            (Some(p), false) => Some(p),
            _ => None,
        };
        t.playing
    }

    /// Seek `deck` so its phase inside the bar matches the host's beat position.
    pub fn align_deck(
        &mut self,
        handle: &mut impl Schedule,
        status: &Status,
        t: &HostTransport,
        deck: usize,
    ) {
        let ds = &status.decks[deck];
        let Some(host_beats) = t.beats else {
            return;
        };
        if !ds.loaded || !ds.has_grid {
            return;
        }
        let bar = t.bar.filter(|n| *n > 0).unwrap_or(4) as f64;
        let host_phase = host_beats.rem_euclid(bar);
        let deck_phase = ds.beat_in_bar as f64 + ds.beat.rem_euclid(1.0);
        let mut delta = host_phase - deck_phase;
        if delta >= bar / 2.0 {
            delta -= bar;
        } else if delta < -bar / 2.0 {
            delta += bar;
        }
        let mut target = ds.beat + delta;
        if target < 0.0 {
            target += bar;
        }
        if (target - ds.beat).abs() > 1e-3 {
            let _ = handle.send(Command::Seek {
                deck: deck as u8,
                to: Position::Beats(target),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use segue_engine::{Beatgrid, Engine, EngineConfig, EngineParts, Outputs, TrackAudio};

    use super::*;

    const RATE: u32 = 48_000;

    /// Deck A: 20 s of a quiet tone with a constant 120 BPM grid, playing.
    fn setup() -> EngineParts {
        let mut parts = Engine::new(EngineConfig {
            sample_rate: RATE,
            ..EngineConfig::default()
        })
        .unwrap();
        let n = RATE as usize * 20;
        let mix = (0..n)
            .map(|i| {
                let s = (i as f32 * 0.05).sin() * 0.1;
                [s, s]
            })
            .collect();
        let h = &mut parts.handle;
        h.send(Command::Load {
            deck: 0,
            audio: Arc::new(TrackAudio::new(RATE, mix)),
        })
        .unwrap();
        let grid = Beatgrid::constant(120.0, 0.0, RATE, n).unwrap();
        h.send(Command::SetBeatgrid {
            deck: 0,
            grid: Some(Arc::new(grid)),
        })
        .unwrap();
        h.send(Command::Play { deck: 0, on: true }).unwrap();
        render(&mut parts, 512);
        parts
    }

    fn render(parts: &mut EngineParts, frames: usize) {
        let mut b = vec![vec![0.0f32; frames]; 4];
        let [l, r, cl, cr] = &mut b[..] else {
            unreachable!()
        };
        parts.engine.process(
            &mut Outputs {
                master: [l, r],
                cue: [cl, cr],
            },
            frames,
        );
        parts.collector.collect();
    }

    fn transport(bpm: f64, playing: bool, beats: f64) -> HostTransport {
        let mut t = Transport::new(RATE as f32);
        t.tempo = Some(bpm);
        t.playing = playing;
        t.pos_beats = Some(beats);
        t.time_sig_numerator = Some(4);
        HostTransport::read(&t)
    }

    #[test]
    fn decks_take_the_host_tempo_and_the_transport_gates_them() {
        let mut parts = setup();
        let mut sync = HostSync::default();
        let faders = [0.0; DECKS];
        let status = parts.handle.status();
        let gate = sync.update(
            &mut parts.handle,
            &status,
            &transport(126.0, false, 0.0),
            true,
            faders,
            512,
            RATE,
        );
        assert!(!gate, "a stopped transport closes the gate");
        render(&mut parts, 512);
        let s = parts.handle.status().decks[0];
        assert!((s.bpm - 126.0).abs() < 1e-3, "deck at {} BPM", s.bpm);
        let status = parts.handle.status();
        let gate = sync.update(
            &mut parts.handle,
            &status,
            &transport(126.0, true, 0.0),
            true,
            faders,
            512,
            RATE,
        );
        assert!(gate);
        // Leaving host sync gives the tempo back to the fader.
        let gate = sync.update(
            &mut parts.handle,
            &status,
            &HostTransport::default(),
            false,
            faders,
            512,
            RATE,
        );
        assert!(gate, "without host sync decks play on their own");
        render(&mut parts, 512);
        assert!((parts.handle.status().decks[0].bpm - 120.0).abs() < 1e-3);
    }

    #[test]
    fn starting_the_transport_aligns_the_bar_phase() {
        let mut parts = setup();
        render(&mut parts, 4800); // somewhere inside the first bar
        let mut sync = HostSync::default();
        let faders = [0.0; DECKS];
        let status = parts.handle.status();
        // The host starts at beat 6.5: phase 2.5 inside its bar.
        sync.update(
            &mut parts.engine, // the audio thread's own way in, as in `process`
            &status,
            &transport(120.0, true, 6.5),
            true,
            faders,
            64,
            RATE,
        );
        render(&mut parts, 64);
        let d = parts.handle.status().decks[0];
        let phase = d.beat_in_bar as f64 + d.beat.rem_euclid(1.0);
        // 64 frames at 120 BPM = 0.0027 beats later (+ the seek crossfade's 3 ms).
        assert!((phase - 2.5).abs() < 0.02, "deck phase {phase}");
    }
}
