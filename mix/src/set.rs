//! A whole set: plan every transition of an ordered list of analysed tracks, perform the
//! plans through the real engine offline (two decks, the same code as live), and measure
//! what came out: beat alignment of the two decks inside each blend (from the engine's
//! deck positions, block by block), true peak, loudness steps at the transitions, silent
//! gaps, vocals over vocals, the share of harmonic transitions.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use segue_analysis::Analysis;
use segue_engine::{
    Beatgrid, Command, DeckTap, Engine, EngineConfig, Outputs, Position, Stem, TrackAudio,
};

use segue_library::vocals::VocalEnvelope;

use crate::plan::{plan_transition, trim_db, PlanOptions, PlanTrack, Technique, TransitionPlan};
use crate::runner::PlanRunner;
use crate::SegueError;

/// A track ready for the set: its analysis and its audio at the set's rate.
#[derive(Debug, Clone)]
pub struct SetTrack {
    /// Display name.
    pub name: String,
    /// What the analyser found (never ground truth).
    pub analysis: Analysis,
    /// Decoded audio at the set's sample rate (stems included when the track has them).
    pub audio: Arc<TrackAudio>,
    /// The analysis' beatgrid in frames of `audio`.
    pub grid: Arc<Beatgrid>,
}

impl SetTrack {
    /// Put an analysed, decoded track together (the grid from the analysis' beats).
    pub fn new(
        name: impl Into<String>,
        analysis: Analysis,
        audio: Arc<TrackAudio>,
    ) -> Result<SetTrack, SegueError> {
        let name = name.into();
        let grid = analysis
            .beatgrid(audio.sample_rate)
            .ok_or_else(|| SegueError::Mix {
                reason: format!("{name}: the analysis found no beats to mix on"),
            })?;
        Ok(SetTrack {
            name,
            analysis,
            audio,
            grid: Arc::new(grid),
        })
    }
}

/// RMS of the vocal stem over each beat of the grid (None without stems): the same
/// [`VocalEnvelope`] a live deck keeps, so offline and live plans read vocals alike.
pub fn vocal_levels(audio: &TrackAudio, grid: &Beatgrid) -> Option<Vec<f32>> {
    let stems = audio.stems.as_ref()?;
    let env = VocalEnvelope::of(&stems[Stem::Vocals as usize], audio.sample_rate);
    Some(env.per_beat(grid.beats()))
}

/// Version of the set plan format: 2 since its transitions may be version-2 plans (the
/// echo-out and FX steps, see [`crate::plan`]); version-1 set plans read unchanged.
pub const SET_PLAN_VERSION: u32 = 2;

/// One track of a set plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetEntry {
    /// Name.
    pub name: String,
    /// Tempo.
    pub bpm: f64,
    /// Key name.
    pub key: String,
    /// Camelot code.
    pub camelot: String,
    /// Energy 1..=10.
    pub energy: u8,
    /// Integrated loudness, LUFS.
    pub lufs: f64,
    /// Trim that matches it to the set's loudness, dB.
    pub trim_db: f32,
}

/// The whole set as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetPlan {
    /// [`SET_PLAN_VERSION`].
    pub version: u32,
    /// Loudness every track is matched to.
    pub target_lufs: f64,
    /// Tracks in play order.
    pub tracks: Vec<SetEntry>,
    /// `transitions[i]` goes from `tracks[i]` to `tracks[i + 1]`.
    pub transitions: Vec<TransitionPlan>,
}

impl SetPlan {
    /// Read a set plan written by this or an earlier version; a newer version or malformed
    /// JSON is an error that says so.
    pub fn from_json(text: &str) -> Result<SetPlan, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a set plan: {e}"))?;
        crate::plan::check_version(&v, SET_PLAN_VERSION, "set plan")?;
        serde_json::from_value(v).map_err(|e| format!("not a set plan: {e}"))
    }
}

/// Plan the transitions of `tracks` in the given order.
pub fn plan_set(tracks: &[SetTrack], o: &PlanOptions) -> SetPlan {
    let vocals: Vec<Option<Vec<f32>>> = tracks
        .iter()
        .map(|t| vocal_levels(&t.audio, &t.grid))
        .collect();
    let mut transitions: Vec<TransitionPlan> = Vec::new();
    for i in 0..tracks.len().saturating_sub(1) {
        let (a, b) = (&tracks[i], &tracks[i + 1]);
        // A came in on the previous transition: it may start leaving 8 bars after that
        // blend ended (in A's own beats).
        let earliest = transitions.last().map_or(0.0, |p: &TransitionPlan| {
            let (_, k) = crate::compat::fold_tempo(p.compat.from_bpm, a.analysis.bpm);
            let blend_a_beats = (p.end_beat - p.in_start_beat).max(0.0) / k;
            p.in_beat + blend_a_beats + 8.0 * a.analysis.beats_per_bar.max(1) as f64
        });
        let plan = plan_transition(
            &PlanTrack {
                name: &a.name,
                analysis: &a.analysis,
                vocals: vocals[i].as_deref(),
            },
            &PlanTrack {
                name: &b.name,
                analysis: &b.analysis,
                vocals: vocals[i + 1].as_deref(),
            },
            &PlanOptions {
                earliest_out_beat: earliest,
                ..*o
            },
        );
        transitions.push(plan);
    }
    SetPlan {
        version: SET_PLAN_VERSION,
        target_lufs: o.target_lufs,
        tracks: tracks
            .iter()
            .map(|t| SetEntry {
                name: t.name.clone(),
                bpm: t.analysis.bpm,
                key: t.analysis.key.clone(),
                camelot: t.analysis.camelot.clone(),
                energy: t.analysis.energy,
                lufs: t.analysis.lufs,
                trim_db: trim_db(t.analysis.lufs, o.target_lufs),
            })
            .collect(),
        transitions,
    }
}

/// Where a track and a transition sit in the rendered set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Start, seconds into the set.
    pub start: f64,
    /// End, seconds into the set.
    pub end: f64,
}

/// What one transition measured in the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionQuality {
    /// From → to.
    pub name: String,
    /// Technique.
    pub technique: Technique,
    /// When B started and A stopped.
    pub span: Span,
    /// Beat-matched (sync) blend.
    pub synced: bool,
    /// Median and worst beat offset between the two decks while both played, ms (synced
    /// blends only).
    pub beat_offset_ms: Option<(f64, f64)>,
    /// The two decks' downbeats fell together (bar phase within a tenth of a beat) while
    /// both played.
    pub bars_aligned: Option<bool>,
    /// Loudness deviation of the transition: the set's short-term loudness against an
    /// ideal equal-power crossfade of the two decks' own (pre-fader) short-term loudness,
    /// worst over the blend and the 3 s after it, LU.
    pub loudness_step_lu: Option<f64>,
    /// Harmonically compatible keys (after key shift).
    pub harmonic: bool,
    /// Gain match: A's and B's integrated loudness as they played (trimmed, pre-fader)
    /// differ by this much, LU.
    pub level_match_lu: Option<f64>,
}

/// What the whole set measured in the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetQuality {
    /// Length, seconds.
    pub duration: f64,
    /// Per transition.
    pub transitions: Vec<TransitionQuality>,
    /// Median beat offset over every synced blend, ms.
    pub beat_offset_median_ms: Option<f64>,
    /// Worst beat offset over every synced blend, ms.
    pub beat_offset_worst_ms: Option<f64>,
    /// True peak of the set, dBTP.
    pub true_peak_db: f64,
    /// Gain applied to the whole set so its true peak stays at or below −1 dBTP, dB (0 when
    /// not needed).
    pub peak_gain_db: f64,
    /// Integrated loudness of the set, LUFS.
    pub lufs: f64,
    /// Largest short-term loudness step at a transition, LU.
    pub worst_loudness_step_lu: Option<f64>,
    /// Longest stretch of silence (below −60 dBFS) before the set's end, seconds.
    pub longest_gap_secs: f64,
    /// Seconds during which two decks played vocals at once (tracks with stems).
    pub vocal_overlap_secs: f64,
    /// Share of transitions between compatible keys.
    pub harmonic_share: f64,
}

impl SetQuality {
    /// The targets: beat offset median ≤ 5 ms and worst ≤ 20 ms, true peak ≤ −1 dBTP, every
    /// loudness step ≤ 2 LU, no gap over 1 s, no vocals over vocals. Returns what failed.
    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(m) = self.beat_offset_median_ms.filter(|m| *m > 5.0) {
            f.push(format!("median beat offset {m:.2} ms > 5 ms"));
        }
        if let Some(w) = self.beat_offset_worst_ms.filter(|w| *w > 20.0) {
            f.push(format!("worst beat offset {w:.2} ms > 20 ms"));
        }
        if self.true_peak_db > -1.0 + 1e-3 {
            f.push(format!("true peak {:.2} dBTP > -1", self.true_peak_db));
        }
        if let Some(s) = self.worst_loudness_step_lu.filter(|s| *s > 2.0) {
            f.push(format!("loudness step {s:.2} LU > 2 LU"));
        }
        for t in &self.transitions {
            if let Some(m) = t.level_match_lu.filter(|m| *m > 2.0) {
                f.push(format!(
                    "{}: the tracks' levels differ by {m:.2} LU > 2 LU",
                    t.name
                ));
            }
        }
        if self.longest_gap_secs > 1.0 {
            f.push(format!("silent gap {:.2} s > 1 s", self.longest_gap_secs));
        }
        if self.vocal_overlap_secs > 0.0 {
            f.push(format!(
                "two vocals at once for {:.2} s",
                self.vocal_overlap_secs
            ));
        }
        f
    }

    /// A few lines for a terminal.
    pub fn summary(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2} ms"));
        let mut s = format!(
            "beat offset in blends: median {}, worst {}\n\
             true peak {:.2} dBTP (set gain {:+.2} dB), loudness {:.1} LUFS, \
             worst loudness step at a transition {}\n\
             longest silent gap {:.2} s, vocals over vocals {:.2} s, harmonic transitions {:.0} %",
            ms(self.beat_offset_median_ms),
            ms(self.beat_offset_worst_ms),
            self.true_peak_db,
            self.peak_gain_db,
            self.lufs,
            self.worst_loudness_step_lu
                .map_or("–".to_string(), |v| format!("{v:.2} LU")),
            self.longest_gap_secs,
            self.vocal_overlap_secs,
            self.harmonic_share * 100.0
        );
        for t in &self.transitions {
            s.push_str(&format!(
                "\n  {:>6} {:<40} {:<12} beat offset {:>16}  loudness step {}  level match {}",
                mmss(t.span.start),
                t.name,
                t.technique.name(),
                match t.beat_offset_ms {
                    Some((m, w)) => format!("{m:.2}/{w:.2} ms"),
                    None => "not synced".into(),
                },
                t.loudness_step_lu
                    .map_or("–".to_string(), |v| format!("{v:.2} LU")),
                t.level_match_lu
                    .map_or("–".to_string(), |v| format!("{v:.2} LU"))
            ));
        }
        s
    }
}

/// `m:ss.s`.
pub fn mmss(secs: f64) -> String {
    format!("{}:{:04.1}", (secs / 60.0).floor() as u64, secs % 60.0)
}

/// A rendered set.
#[derive(Debug, Clone)]
pub struct SetRender {
    /// Stereo master at the set's rate.
    pub master: Vec<[f32; 2]>,
    /// Sample rate.
    pub sample_rate: u32,
    /// When each track is heard (from its start to when it stops).
    pub tracks: Vec<Span>,
    /// Measured quality.
    pub quality: SetQuality,
    /// Wall-clock seconds of the render.
    pub render_secs: f64,
}

/// A transition's loudness is followed this long after its end, seconds.
const STEP_WINDOW_SECS: f64 = 3.0;

/// Frames per engine block of the offline render.
const BLOCK: usize = 512;

/// One block's deck state, for the measurements.
#[derive(Debug, Clone, Copy, Default)]
struct DeckSnap {
    playing: bool,
    audible: bool,
    beat: f64,
    bpm: f64,
    vocals: bool,
}

/// Perform `plan` on `tracks` (the plan's order) through the engine at the tracks' rate.
pub fn render_set(tracks: &[SetTrack], plan: &SetPlan) -> Result<SetRender, SegueError> {
    let err = |reason: String| SegueError::Mix { reason };
    let first = tracks
        .first()
        .ok_or_else(|| err("a set needs at least one track".into()))?;
    let rate = first.audio.sample_rate;
    if let Some(t) = tracks.iter().find(|t| t.audio.sample_rate != rate) {
        return Err(err(format!(
            "{} is at {} Hz, the set at {rate} Hz",
            t.name, t.audio.sample_rate
        )));
    }
    if plan.transitions.len() + 1 != tracks.len() {
        return Err(err(format!(
            "the plan has {} transitions for {} tracks",
            plan.transitions.len(),
            tracks.len()
        )));
    }
    let mut parts = Engine::new(EngineConfig {
        sample_rate: rate,
        max_block: BLOCK,
        decks: 2,
        command_capacity: 4096,
        ..EngineConfig::default()
    })
    .map_err(|e| err(e.to_string()))?;
    let send = |parts: &mut segue_engine::EngineParts, at: Option<u64>, c: Command| {
        crate::send(&mut parts.handle, at, c)
    };
    let load = |parts: &mut segue_engine::EngineParts, deck: u8, t: &SetTrack| {
        send(
            parts,
            None,
            Command::Load {
                deck,
                audio: t.audio.clone(),
            },
        )?;
        send(
            parts,
            None,
            Command::SetBeatgrid {
                deck,
                grid: Some(t.grid.clone()),
            },
        )
    };
    // The first track from its first beat, at its own tempo, loudness-matched.
    load(&mut parts, 0, first)?;
    for c in [
        Command::Trim {
            deck: 0,
            db: trim_db(first.analysis.lufs, plan.target_lufs),
        },
        Command::KeyLock { deck: 0, on: true },
        Command::SyncLeader { deck: Some(0) },
        Command::Seek {
            deck: 0,
            to: Position::Beats(0.0),
        },
        Command::Play { deck: 0, on: true },
    ] {
        send(&mut parts, None, c)?;
    }

    let has_stems: Vec<bool> = tracks.iter().map(|t| t.audio.stems.is_some()).collect();
    let mut deck_track = [Some(0usize), None];
    let mut runner: Option<PlanRunner> = None;
    // Runners whose blend is over (A stopped) but which still bring B's tempo back: the
    // next transition does not wait for them.
    let mut tails: Vec<PlanRunner> = Vec::new();
    let mut current = 0usize; // next transition
    let mut starts = vec![0u64; tracks.len()];
    let mut ends = vec![None::<u64>; tracks.len()];
    let mut blend = vec![(None::<u64>, None::<u64>); plan.transitions.len()];
    let mut snaps: Vec<(u64, [DeckSnap; 2])> = Vec::new();
    let mut master: Vec<[f32; 2]> = Vec::new();
    let mut cmds = Vec::new();
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let (mut cl, mut cr) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    // The reference the set's loudness is judged against: each deck's own (pre-fader)
    // signal, crossed over with an ideal equal-power fade from B's start to A's planned
    // stop, metered like the master (short-term loudness after every block).
    let mut taps = [
        [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]],
        [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]],
    ];
    let mut ref_meter = ebur128::EbuR128::new(2, rate, ebur128::Mode::S).ok();
    let mut ref_st: Vec<(u64, f64)> = Vec::new();
    let mut interleaved = vec![0.0f32; 2 * BLOCK];
    // (B's start frame, A's planned stop frame, A's deck) of the blend under way.
    let mut xfade: Option<(u64, u64, usize)> = None;
    let mut on_air = 0usize;
    // Each track's integrated loudness as it played (pre-fader, trimmed): the gain match.
    let mut track_meters: Vec<Option<ebur128::EbuR128>> = tracks
        .iter()
        .map(|_| ebur128::EbuR128::new(2, rate, ebur128::Mode::I).ok())
        .collect();
    let mut deck_buf = vec![0.0f32; 2 * BLOCK];
    // Longest possible set: every track at its full length and half speed, plus a minute.
    let cap = (tracks
        .iter()
        .map(|t| t.audio.frames() as f64 * 2.0)
        .sum::<f64>()
        + 60.0 * rate as f64) as u64;
    let clock = Instant::now();
    let mut started = false;
    loop {
        let status = parts.handle.status();
        let frame = status.frame;
        if started {
            let mut snap = [DeckSnap::default(); 2];
            for (d, s) in snap.iter_mut().enumerate() {
                let ds = &status.decks[d];
                *s = DeckSnap {
                    playing: ds.playing,
                    audible: ds.playing && ds.volume > 0.01,
                    beat: ds.beat,
                    bpm: ds.bpm,
                    vocals: deck_track[d].is_some_and(|t| has_stems[t]) && ds.stems[3] > 0.01,
                };
            }
            snaps.push((frame, snap));
        }
        if current < plan.transitions.len() {
            let out_deck = (current % 2) as u8;
            let in_deck = 1 - out_deck;
            if runner.is_none() {
                load(&mut parts, in_deck, &tracks[current + 1])?;
                deck_track[in_deck as usize] = Some(current + 1);
                runner = Some(PlanRunner::new(
                    &plan.transitions[current],
                    out_deck,
                    in_deck,
                    rate,
                ));
            }
            let run = runner.as_mut().expect("set above");
            if started {
                cmds.clear();
                run.poll(&status, BLOCK as u64, &mut cmds);
                for (at, c) in cmds.drain(..) {
                    if let Command::Play { deck, on } = c {
                        if deck == in_deck && on {
                            blend[current].0 = Some(at);
                            starts[current + 1] = at;
                            let stop = run
                                .frame_of_beat(plan.transitions[current].end_beat)
                                .map_or(at, |f| f.max(at as f64) as u64);
                            xfade = Some((at, stop, out_deck as usize));
                        } else if deck == out_deck && !on {
                            blend[current].1 = Some(at);
                            ends[current] = Some(at);
                        }
                    }
                    send(&mut parts, Some(at), c)?;
                }
                if run.done() || run.handed_over() {
                    if let Some(r) = runner.take().filter(|r| !r.done()) {
                        tails.push(r);
                    }
                    current += 1;
                }
            }
        } else if started {
            let last = plan.transitions.len() % 2;
            if !status.decks[last].playing {
                break;
            }
        }
        if started {
            for t in &mut tails {
                cmds.clear();
                t.poll(&status, BLOCK as u64, &mut cmds);
                for (at, c) in cmds.drain(..) {
                    send(&mut parts, Some(at), c)?;
                }
            }
            tails.retain(|t| !t.done());
        }
        if frame > cap {
            return Err(err(
                "the set did not end (the render ran past every track's length)".into(),
            ));
        }
        let mut outputs = Outputs {
            master: [&mut l[..], &mut r[..]],
            cue: [&mut cl[..], &mut cr[..]],
        };
        {
            let [[a0, a1], [b0, b1]] = &mut taps;
            parts.engine.process_with_decks(
                &mut outputs,
                &mut [[&mut a0[..], &mut a1[..]], [&mut b0[..], &mut b1[..]]],
                DeckTap::PreFader,
                BLOCK,
            );
        }
        master.extend(l.iter().zip(&r).map(|(a, b)| [*a, *b]));
        for d in 0..2 {
            if let Some(t) = deck_track[d].filter(|_| status.decks[d].playing) {
                if let Some(m) = track_meters[t].as_mut() {
                    for i in 0..BLOCK {
                        deck_buf[2 * i] = taps[d][0][i];
                        deck_buf[2 * i + 1] = taps[d][1][i];
                    }
                    let _ = m.add_frames_f32(&deck_buf);
                }
            }
        }
        if let Some(m) = ref_meter.as_mut() {
            for i in 0..BLOCK {
                let f = frame + i as u64;
                let (ga, gb, a) = match xfade {
                    Some((s0, s1, a)) if f >= s0 => {
                        let t = if s1 > s0 {
                            ((f - s0) as f64 / (s1 - s0) as f64).min(1.0)
                        } else {
                            1.0
                        };
                        let x = t * std::f64::consts::FRAC_PI_2;
                        (x.cos() as f32, x.sin() as f32, a)
                    }
                    _ => (1.0, 0.0, on_air),
                };
                for ch in 0..2 {
                    interleaved[2 * i + ch] = ga * taps[a][ch][i] + gb * taps[1 - a][ch][i];
                }
            }
            if m.add_frames_f32(&interleaved).is_ok() {
                ref_st.push((
                    frame + BLOCK as u64,
                    m.loudness_shortterm().unwrap_or(f64::NEG_INFINITY),
                ));
            }
        }
        if let Some((_, s1, a)) = xfade {
            if frame + BLOCK as u64 > s1 && !status.decks[a].playing {
                on_air = 1 - a;
                xfade = None;
            }
        }
        parts.collector.collect();
        started = true;
    }
    let render_secs = clock.elapsed().as_secs_f64();
    // The end of the set: the last track's quiet tail (a fade or reverb under −60 dBFS) and
    // the silence after it stopped are cut, keeping a quarter second faded to zero.
    let win = (rate / 20) as usize;
    let last_loud = master
        .chunks(win)
        .rposition(|c| !silent(c))
        .map_or(0, |i| ((i + 1) * win).min(master.len()));
    let last_end = (last_loud + rate as usize / 4).min(master.len());
    master.truncate(last_end);
    let tail = last_end - last_loud;
    for (k, f) in master[last_loud..].iter_mut().enumerate() {
        let g = 1.0 - (k + 1) as f32 / tail as f32;
        f[0] *= g;
        f[1] *= g;
    }
    let n = tracks.len();
    ends[n - 1] = Some(master.len() as u64);

    let secs = |f: u64| f as f64 / rate as f64;
    let spans: Vec<Span> = (0..n)
        .map(|i| Span {
            start: secs(starts[i]),
            end: secs(ends[i].unwrap_or(master.len() as u64)),
        })
        .collect();
    let played_lufs: Vec<Option<f64>> = track_meters
        .iter()
        .map(|m| {
            m.as_ref()
                .and_then(|m| m.loudness_global().ok())
                .filter(|l| l.is_finite())
        })
        .collect();
    let quality = measure(
        &mut master,
        rate,
        plan,
        &blend,
        &snaps,
        &ref_st,
        &played_lufs,
    );
    Ok(SetRender {
        master,
        sample_rate: rate,
        tracks: spans,
        quality,
        render_secs,
    })
}

/// Whether a window of the set is silent: its mean square under −60 dBFS.
fn silent(chunk: &[[f32; 2]]) -> bool {
    let ms = chunk
        .iter()
        .map(|f| (f[0] * f[0] + f[1] * f[1]) as f64 / 2.0)
        .sum::<f64>()
        / chunk.len().max(1) as f64;
    ms < 1e-6
}

/// B's beat phase against A's, in A's beats (−0.5..0.5), B's beats counted in A's at tempo
/// ratio `m` (0.5 when B plays at double time). Both are counted from the beats the plan
/// lines up, A's `out_beat` and B's `in_beat`: at double time B's in beat may be an odd one,
/// and it is that beat, not B's beat 0, that lands on A's beat.
fn phase_error(a_beat: f64, out_beat: f64, b_beat: f64, in_beat: f64, m: f64) -> f64 {
    let d = (b_beat - in_beat) * m - (a_beat - out_beat);
    d - d.round()
}

/// The measurements (and the final −1 dBTP safety gain, applied to `master`).
fn measure(
    master: &mut [[f32; 2]],
    rate: u32,
    plan: &SetPlan,
    blend: &[(Option<u64>, Option<u64>)],
    snaps: &[(u64, [DeckSnap; 2])],
    ref_st: &[(u64, f64)],
    played_lufs: &[Option<f64>],
) -> SetQuality {
    let secs = |f: u64| f as f64 / rate as f64;
    // True peak, and a gain that brings it to −1 dBTP if the limiter left it above.
    let tp = segue_analysis::loudness::true_peak(master, rate).max(1e-9);
    let tp_db = 20.0 * (tp as f64).log10();
    let target = -1.05;
    let peak_gain_db = if tp_db > target { target - tp_db } else { 0.0 };
    if peak_gain_db < 0.0 {
        let g = 10f32.powf(peak_gain_db as f32 / 20.0);
        for f in master.iter_mut() {
            f[0] *= g;
            f[1] *= g;
        }
    }
    let true_peak_db =
        20.0 * (segue_analysis::loudness::true_peak(master, rate).max(1e-9) as f64).log10();

    // Short-term loudness every 100 ms.
    let hop = (rate / 10) as usize;
    let mut st = Vec::new();
    let mut lufs = f64::NEG_INFINITY;
    if let Ok(mut meter) = ebur128::EbuR128::new(2, rate, ebur128::Mode::S | ebur128::Mode::I) {
        let mut buf = Vec::with_capacity(hop * 2);
        for chunk in master.chunks(hop) {
            buf.clear();
            buf.extend(chunk.iter().flat_map(|f| [f[0], f[1]]));
            if meter.add_frames_f32(&buf).is_ok() {
                st.push(meter.loudness_shortterm().unwrap_or(f64::NEG_INFINITY));
            }
        }
        lufs = meter.loudness_global().unwrap_or(f64::NEG_INFINITY);
    }
    // The loudness of a transition: the set's short-term loudness against the reference's
    // (the decks' own signals under an ideal equal-power crossfade), every 100 ms from the
    // start of the blend to 3 s after its end. A blend that dips or bumps shows; the
    // tracks' own sections (a break, a drop) are in both and cancel.
    let deviation = |from: u64, to: u64| {
        let mut worst: Option<f64> = None;
        let hop = rate as u64 / 10;
        let mut f = from.div_ceil(hop) * hop;
        while f <= to {
            let k = (f / hop) as usize;
            let idx = ref_st.partition_point(|(e, _)| *e < f);
            if let (Some(m), Some((_, r))) = (st.get(k.wrapping_sub(1)), ref_st.get(idx)) {
                let reference = r + peak_gain_db;
                if m.is_finite() && reference.is_finite() && reference > -50.0 {
                    let dev = (m - reference).abs();
                    worst = Some(worst.map_or(dev, |w: f64| w.max(dev)));
                }
            }
            f += hop;
        }
        worst
    };

    // Silence: 50 ms windows under −60 dBFS.
    let win = (rate / 20) as usize;
    let mut gap = 0usize;
    let mut longest = 0usize;
    for chunk in master.chunks(win) {
        if silent(chunk) {
            gap += chunk.len();
            longest = longest.max(gap);
        } else {
            gap = 0;
        }
    }

    // Vocals over vocals, block by block.
    let mut vocal_overlap = 0.0;
    for w in snaps.windows(2) {
        let [a, b] = w[0].1;
        if a.audible && b.audible && a.vocals && b.vocals {
            vocal_overlap += secs(w[1].0 - w[0].0);
        }
    }

    let mut all_offsets = Vec::new();
    let mut transitions = Vec::new();
    for (i, p) in plan.transitions.iter().enumerate() {
        let (start, end) = (blend[i].0.unwrap_or(0), blend[i].1.unwrap_or(0));
        let out_deck = i % 2;
        let mut offsets = Vec::new();
        let mut bars_ok = true;
        if p.synced {
            for (f, s) in snaps {
                // Both decks heard, past the first block of B.
                if *f <= start + BLOCK as u64 || *f >= end {
                    continue;
                }
                let (a, b) = (s[out_deck], s[1 - out_deck]);
                if !(a.playing && b.playing && a.bpm > 0.0 && b.bpm > 0.0) {
                    continue;
                }
                // B's beats counted in A's beats (half/double time allowed).
                let m = [0.5, 1.0, 2.0]
                    .into_iter()
                    .min_by(|x, y| {
                        ((a.bpm / b.bpm) - x)
                            .abs()
                            .total_cmp(&((a.bpm / b.bpm) - y).abs())
                    })
                    .unwrap_or(1.0);
                let pa = a.beat - p.out_beat;
                let pb = (b.beat - p.in_beat) * m;
                let err = phase_error(a.beat, p.out_beat, b.beat, p.in_beat, m);
                offsets.push(err.abs() * 60_000.0 / a.bpm);
                // Bar phase: B's bar start against A's (both grids count bars from their
                // first downbeat; in_beat and out_beat are downbeats).
                let bpb = p.beats_per_bar.max(1) as f64;
                let ba = pa.rem_euclid(bpb);
                let bb = pb.rem_euclid(bpb);
                let bd = (ba - bb).abs();
                if bd.min(bpb - bd) > 0.1 {
                    bars_ok = false;
                }
            }
        }
        let stats = (!offsets.is_empty()).then(|| {
            let mut v = offsets.clone();
            v.sort_by(f64::total_cmp);
            (v[v.len() / 2], v[v.len() - 1])
        });
        all_offsets.extend(offsets);
        // Past the first 3 s of the set (a short-term window must be full).
        let step = deviation(
            start.max(3 * rate as u64),
            end + STEP_WINDOW_SECS as u64 * rate as u64,
        );
        transitions.push(TransitionQuality {
            name: format!("{} → {}", p.from, p.to),
            technique: p.technique,
            span: Span {
                start: secs(start),
                end: secs(end),
            },
            synced: p.synced,
            beat_offset_ms: stats,
            bars_aligned: stats.map(|_| bars_ok),
            loudness_step_lu: step,
            level_match_lu: played_lufs[i]
                .zip(played_lufs[i + 1])
                .map(|(a, b)| (a - b).abs()),
            harmonic: p.compat.harmony.compatible(),
        });
    }
    all_offsets.sort_by(f64::total_cmp);
    let worst_step = transitions
        .iter()
        .filter_map(|t| t.loudness_step_lu)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    SetQuality {
        duration: secs(master.len() as u64),
        beat_offset_median_ms: all_offsets.get(all_offsets.len() / 2).copied(),
        beat_offset_worst_ms: all_offsets.last().copied(),
        harmonic_share: if transitions.is_empty() {
            1.0
        } else {
            transitions.iter().filter(|t| t.harmonic).count() as f64 / transitions.len() as f64
        },
        transitions,
        true_peak_db,
        peak_gain_db,
        lufs,
        worst_loudness_step_lu: worst_step,
        longest_gap_secs: secs(longest as u64),
        vocal_overlap_secs: vocal_overlap,
    }
}

#[cfg(test)]
mod tests {
    use super::phase_error;

    #[test]
    fn beat_phase_is_counted_from_the_beats_the_plan_lines_up() {
        // Same tempo: B's in beat 4 on A's out beat 64; 3.25 beats later both are there.
        assert!(phase_error(67.25, 64.0, 7.25, 4.0, 1.0).abs() < 1e-12);
        // B at double time entering on its beat 1 (a pickup before its first downbeat):
        // six of B's beats later A has moved three; in phase, not half a beat off.
        assert!(phase_error(67.0, 64.0, 7.0, 1.0, 0.5).abs() < 1e-12);
        // A quarter of A's beat late, at double time.
        assert!((phase_error(67.25, 64.0, 7.0, 1.0, 0.5) + 0.25).abs() < 1e-12);
        // B at half time (m = 2): one of B's beats is two of A's.
        assert!(phase_error(70.0, 64.0, 11.0, 8.0, 2.0).abs() < 1e-12);
    }
}
