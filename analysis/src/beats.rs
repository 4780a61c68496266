//! Beats, beatgrid and downbeats: [`analyse_rhythm`] turns a mono signal into a [`Rhythm`].
//!
//! Steps:
//! 1. Onset envelopes ([`super::onset`]) from a spectrogram of a 16-32 kHz copy (≈23 ms
//!    window, 10 ms hop); chroma from one of an 8-16 kHz copy (≈93 ms window, 50 ms hop).
//! 2. Tempo candidates ([`super::tempo`]): metrical families (a period and its octaves in
//!    55-215 BPM) from the strongest autocorrelation peaks.
//! 3. For each family's fastest level, dynamic-programming beat tracking (Ellis 2007),
//!    refined to the onset peaks, then the constant grid: a comb search over the onset
//!    envelope seeded by a least-squares fit, refined by weighted least squares on the beats
//!    near it (the comb also reaches the candidate's period, as a wandering tracker's fit can
//!    be 1 % off). When that grid carries the tracked beats ([`CONSTANT_RMS_SECS`],
//!    [`CONSTANT_INLIERS`]), or failing them the onset peaks nearest its points, the tempo
//!    is constant and the beats *are* the grid: fractional
//!    BPM, beat times finer than a frame. The family with a constant grid and the most
//!    onset strength (whole band plus kick band) on its beats wins: a period 3/2 or 4/3
//!    off the beat samples strong and weak positions alike.
//! 4. Octave, from the backbeat: folded over 8 beats of the fastest level, the snare band's
//!    strong positions repeat every 2, 4 or 8 beats; the tempo puts the backbeat every 2
//!    beats (house at 128, drum & bass at 174), or every 4 when that would be slower than
//!    70 BPM (half-time trap and hip-hop at 70-95). A slower octave keeps every 2nd (4th)
//!    beat of the fastest level, on the phase that carries the backbeat. Without a clear
//!    backbeat, the prior-weighted autocorrelation decides. Three readings, the slowest
//!    wins: the backbeat's spacing, the accents of the off-beats ([`OFFBEAT_SHARE`]), and
//!    the backbeat *pair*: a snare or clap on one of every 4 beats of the fastest level
//!    (one strong position of two alternate ones, see [`backbeat_pair_every_four`]) means
//!    the fastest level runs on the hats at double tempo (sparse kicks and busy hats at
//!    85-100 BPM, as in trap and hip-hop), so the tempo is at least one octave down; the
//!    pair is looked for in the snare band and, where a bright kick peaks there as high as
//!    the clap, in its hits that are not kicks ([`snare_pair_every_four`]). A beat divided
//!    in three (12/8) is never half-time, however slow. A DJ
//!    who counts such tracks at the double asks for it with a preferred range
//!    (`segue analyze --bpm-range 140-200`, [`crate::BpmRange`]). The slower octave keeps the
//!    phase of a steady kick when one phase carries a kick on every beat ([`STEADY_KICK`]:
//!    four on the floor under off-beat snares, as in dembow), else the backbeat's. At the
//!    fastest level, beats whose half-beat points carry twice their kick weight move there
//!    (a soft kick under an off-beat bass, [`OFF_BEAT_KICK_RATIO`]).
//! 5. Meter and bar phase: 4/4 or 3/4, and which beat is the "1": where chords change
//!    (log-compressed chroma of the two beats before against the two after) and the kick
//!    lands most, and the backbeat least; a wrong meter spreads these cues evenly.
//!
//! Beats are reported only where the music is: from the first onset (pickups included, lead-in
//! silence excluded) to the last hit on the grid (a ringing final chord or a reverb tail gets
//! none, [`LAST_HIT_SHARE`]). Every input is accepted: too short (< 2 s), silent,
//! non-finite or periodicity-free audio gives [`Rhythm::none`] (bpm 0, no beats).

use super::onset::{chroma, chroma_bins, chroma_distance, OnsetBuilder, OnsetEnvelopes};
use super::tempo::{self, TempoCandidate};
use super::Spectrogram;

/// Tracked beats (weighted by their onset strength, outliers dropped) within this RMS
/// distance (seconds) of one straight line are a constant tempo...
pub const CONSTANT_RMS_SECS: f64 = 0.02;

/// ... and at least this share of the onset weight on the tracked beats lies within 35 ms
/// of that line or of the points half a beat off it...
pub const CONSTANT_INLIERS: f64 = 0.80;

/// ... of which at least this share on the line itself, not half a beat off it.
const CONSTANT_ON_BEAT: f64 = 0.6;

/// Beats per bar when there is nothing to tell (too few beats): 4/4.
const BEATS_PER_BAR: usize = 4;

/// 3/4 is chosen only when its downbeat stands out this many times more than 4/4's.
const TRIPLE_METER_MARGIN: f64 = 1.5;

/// Fewest beats to tell 3/4 from 4/4 (six bars of 4/4).
const MIN_BEATS_FOR_METER: usize = 24;

/// Largest relative difference between a family's fastest tempo and the tempo its tracked
/// beats settle on.
const FAMILY_DRIFT: f64 = 0.04;

/// Shortest input analysed, seconds.
const MIN_SECS: f64 = 2.0;

/// Tightness of the DP beat tracker (penalty per squared log period deviation).
const TIGHTNESS: f64 = 100.0;

/// Tempo, beats and downbeats of a track.
#[derive(Debug, Clone, PartialEq)]
pub struct Rhythm {
    /// Tempo in BPM (fractional; the grid's when constant, else the median beat period's);
    /// 0 when no beat was found.
    pub bpm: f64,
    /// Beat times in seconds, increasing.
    pub beats: Vec<f64>,
    /// Downbeat times in seconds (a subset of `beats`).
    pub downbeats: Vec<f64>,
    /// Beats per bar: 4, or 3 for a clear triple meter.
    pub beats_per_bar: u32,
    /// True when the beats follow one constant tempo (then `beats` is an exact grid).
    pub constant_tempo: bool,
    /// How periodic the onsets are at the reported tempo, 0..1 (0 when none).
    pub confidence: f64,
    /// True when the groove is half-time at `bpm`: the backbeat falls once a bar (on 3),
    /// with the hats in sixteenths of half the tempo (dubstep, half-time drum & bass).
    pub half_time: bool,
}

impl Rhythm {
    /// No rhythm: bpm 0, no beats, 4/4, confidence 0.
    pub fn none() -> Rhythm {
        Rhythm {
            bpm: 0.0,
            beats: Vec::new(),
            downbeats: Vec::new(),
            beats_per_bar: BEATS_PER_BAR as u32,
            constant_tempo: false,
            confidence: 0.0,
            half_time: false,
        }
    }
}

/// Analyse the tempo, beats and downbeats of `mono` at `sample_rate`. Never panics; see the
/// module documentation for what comes back on unusable input.
pub fn analyse_rhythm(mono: &[f32], sample_rate: u32) -> Rhythm {
    if !(4_000..=768_000).contains(&sample_rate)
        || (mono.len() as f64) < MIN_SECS * sample_rate as f64
    {
        return Rhythm::none();
    }
    let clean = super::finite_samples(mono);
    let mono: &[f32] = &clean;
    // Onsets from a copy at 16-32 kHz (10 ms hop, 23 ms window), chroma from one at 8-16 kHz
    // (50 ms hop, 93 ms window): everything rhythm needs lies below 8 kHz and 1.5 kHz.
    let (onset_audio, onset_rate) = decimate(mono, sample_rate, 16_000);
    let rate = onset_rate as f64;
    let hop = (rate / 100.0).round() as usize;
    let fft = ((rate * 0.0232).round() as usize).next_power_of_two();
    // Each frame of the onset spectrogram goes straight into the envelopes (none is kept).
    let shape = Spectrogram::shape(onset_rate, fft, hop, usize::MAX);
    let mut onsets = OnsetBuilder::new(&shape);
    shape.each_frame(&onset_audio, |frame| onsets.push(frame));
    let env = onsets.finish();
    let (harm_audio, harm_rate) = decimate(&onset_audio, onset_rate, 8_000);
    drop(onset_audio);
    let rate = harm_rate as f64;
    let harm_fft = ((rate * 0.09).round() as usize).next_power_of_two();
    let harm_spec = Spectrogram::compute_lowest(
        &harm_audio,
        harm_rate,
        harm_fft,
        (rate / 20.0).round() as usize,
        chroma_bins(harm_rate, harm_fft),
    );
    let harm = Harmony {
        fps: harm_spec.frame_rate(),
        chroma: chroma(&harm_spec),
    };
    drop(harm_spec);
    let Some((start, end)) = music_extent(&env) else {
        return Rhythm::none();
    };
    let families = tempo::candidates(&env.full, env.fps);
    let norm = normalised(&env.full);
    // The metrical family: the one whose fastest level's beats land on the strongest onsets
    // (a period 3/2 or 4/3 off the beat samples strong and weak positions alike).
    let mut best: Option<(f64, &Vec<TempoCandidate>, Rhythm)> = None;
    for family in &families {
        let Some((rhythm, salience)) = track(&env, &norm, &harm, &family[0], start, end) else {
            continue;
        };
        // A tracker that drifted to another tempo belongs to another family (whose octaves
        // are the ones to choose from), not to this one.
        if (rhythm.bpm / family[0].bpm(env.fps) - 1.0).abs() > FAMILY_DRIFT {
            continue;
        }
        // A constant grid that holds is worth more than any free-running beat sequence.
        let rank = salience + if rhythm.constant_tempo { 1e3 } else { 0.0 };
        if best.as_ref().is_none_or(|b| rank > b.0) {
            best = Some((rank, family, rhythm));
        }
    }
    let Some((_, family, fastest)) = best else {
        return Rhythm::none();
    };
    end_at_last_hit(
        octave_and_meter(&env, &norm, &harm, family, fastest, (start, end)),
        &env,
        &norm,
    )
}

/// The tempo octave, meter and bar phase of the winning `family` (fastest first), from its
/// tracked `fastest` level: steps 4 and 5 of the module documentation. `music` is where
/// the music starts and ends (seconds, [`music_extent`]).
fn octave_and_meter(
    env: &OnsetEnvelopes,
    norm: &[f64],
    harm: &Harmony,
    family: &[TempoCandidate],
    fastest: Rhythm,
    music: (f64, f64),
) -> Rhythm {
    // Two readings of the octave: where the backbeat falls (the snare band folded over the
    // bar) and which level's off-beats are bare (kick and snare weight); the slower wins,
    // then the half-time convention may double it again.
    let (by_backbeat, snare_at, spacing, pair_at) = choose_octave(env, family, &fastest);
    let backbeat_step = (by_backbeat.period / family[0].period).round().max(1.0) as usize;
    let (accent_step, accent_offset) = octave_by_accents(env, norm, family, &fastest);
    let (step, offset) = if backbeat_step >= accent_step {
        (backbeat_step, snare_at.unwrap_or(accent_offset))
    } else {
        (accent_step, accent_offset)
    };
    // A third reading: the backbeat pair every 4 beats of the fastest level (sparse kicks
    // and busy hats at double tempo) puts the tempo at least one octave down; in the snare
    // band itself, or in its hits that are not kicks (a bright kick peaks there too).
    let pair_at = pair_at.or_else(|| snare_pair_every_four(env, family, &fastest));
    let (step, offset) = match pair_at {
        Some(r) if step < 2 => (2, r),
        _ => (step, offset),
    };
    // The backbeat already once a bar at that octave: half-time as it stands.
    let (step, offset, half_time) = if spacing.is_some_and(|k| k == 4 * step) {
        (step, offset, true)
    } else {
        half_time_octave(env, norm, &fastest, step, offset)
    };
    let offset = steady_kick_phase(env, &fastest, step).unwrap_or(offset);
    if step == 1 {
        let r = Rhythm {
            half_time,
            ..kick_on_the_beat(fastest, env, harm, music)
        };
        return compound_meter(r, env, norm, harm);
    }
    // A slower octave: every `step`-th beat of the fastest level, on the phase that carries
    // the accents.
    let beats: Vec<f64> = fastest
        .beats
        .iter()
        .skip(offset % step)
        .step_by(step)
        .copied()
        .collect();
    if beats.len() < 2 {
        return fastest;
    }
    let cand = family
        .iter()
        .min_by(|a, b| {
            let da = (a.period / family[0].period - step as f64).abs();
            let db = (b.period / family[0].period - step as f64).abs();
            da.total_cmp(&db)
        })
        .copied()
        .unwrap_or(family[0]);
    let (bpb, phase) = meter_and_phase(&beats, env, harm);
    let r = Rhythm {
        bpm: fastest.bpm / step as f64,
        downbeats: beats.iter().skip(phase).step_by(bpb).copied().collect(),
        beats,
        beats_per_bar: bpb as u32,
        constant_tempo: fastest.constant_tempo,
        confidence: cand.strength.clamp(0.0, 1.0),
        half_time,
    };
    compound_meter(r, env, norm, harm)
}

/// A kick on at least this share of one phase's beats at each of the 4 positions of the bar
/// (a kick on every beat, not on every other one)...
pub const STEADY_KICK: f64 = 0.6;
/// ... and on at most this fraction of that share at some bar position of every other
/// phase is a steady kick.
const OTHER_PHASE_KICK: f64 = 0.5;
/// A kick: a low-band onset of at least this share of the strong ones'.
const KICK_SHARE: f64 = 0.35;

/// The phase (0..`step`) of the slower level whose beats carry a steady kick, when one does:
/// a kick on nearly every beat of one phase of `fastest`'s beats, at every position of the
/// bar ([`STEADY_KICK`]), and much more rarely on the others (four on the floor: house,
/// techno, disco, dembow) is the beat, whatever the snare does between (dembow's snares on
/// the off-beats pull the backbeat reading half a beat off). A kick here means a low-band
/// onset of at least [`KICK_SHARE`] of the strong ones' (the 90th percentile on the fastest
/// level's beats) that outweighs the snare band's there (each in units of its standard
/// deviation), so a snare's body is not one. Sparse or syncopated kicks (trap and half-time:
/// on the 1 and off the beat, never on every beat) have no steady phase and leave the choice
/// to the backbeat.
fn steady_kick_phase(env: &OnsetEnvelopes, fastest: &Rhythm, step: usize) -> Option<usize> {
    if step < 2 || fastest.beats.len() < 8 * step {
        return None;
    }
    let low: Vec<f64> = fastest
        .beats
        .iter()
        .map(|&t| peak_near(&env.low, env.fps, t, 0.03))
        .collect();
    let mid: Vec<f64> = fastest
        .beats
        .iter()
        .map(|&t| peak_near(&env.mid, env.fps, t, 0.03))
        .collect();
    let (low_sd, mid_sd) = (std_dev(&env.low), std_dev(&env.mid));
    let mut sorted = low.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let strong = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];
    if strong.is_nan() || strong <= 0.0 || low_sd <= 0.0 || mid_sd <= 0.0 {
        return None;
    }
    // A kick: a strong low-band onset, stronger (each band in units of its standard
    // deviation) than the snare band's there, so a snare's body is not one.
    let kick: Vec<bool> = low
        .iter()
        .zip(&mid)
        .map(|(&l, &m)| l >= KICK_SHARE * strong && l / low_sd >= m / mid_sd)
        .collect();
    // Share of the beats with a kick, at each phase of the slower level, at the bar
    // position (of 4) where it has the fewest.
    let share = |ph: usize| {
        let mut n = [(0usize, 0usize); 4];
        for (j, &k) in kick.iter().skip(ph).step_by(step).enumerate() {
            n[j % 4].0 += k as usize;
            n[j % 4].1 += 1;
        }
        n.iter()
            .map(|&(k, c)| k as f64 / c.max(1) as f64)
            .fold(f64::INFINITY, f64::min)
    };
    let shares: Vec<f64> = (0..step).map(share).collect();
    let steady = (0..step).find(|&p| shares[p] >= STEADY_KICK)?;
    (0..step)
        .all(|p| p == steady || shares[p] <= OTHER_PHASE_KICK * shares[steady])
        .then_some(steady)
}

/// The points half a beat off the tracked beats carry at least this many times the kick
/// weight of the beats (below-200 Hz onsets on linear magnitudes, [`OnsetEnvelopes::low_linear`]):
/// the beats are on the off-beats.
const OFF_BEAT_KICK_RATIO: f64 = 2.0;

/// `r`, or its beats moved half a beat when the tracker followed the off-beats: a constant
/// grid whose half-beat points carry [`OFF_BEAT_KICK_RATIO`] times its beats' kick weight.
/// Four on the floor under an off-beat bass and open hats with a soft kick: the whole band
/// peaks as much or more on the off-beats, the kick says where the beat is. A breakbeat's or
/// drum & bass's syncopated kicks fall on and off the beat alike (on the 408 indie tune
/// songs every other constant grid at the fastest level has a ratio below 1.3; the off-beat
/// techno song's was 2.7). The moved beats stay within the music (`start`, `end`).
fn kick_on_the_beat(
    r: Rhythm,
    env: &OnsetEnvelopes,
    harm: &Harmony,
    (start, end): (f64, f64),
) -> Rhythm {
    if !r.constant_tempo || r.beats.len() < MIN_BEATS_FOR_METER || r.bpm <= 0.0 {
        return r;
    }
    let half = 30.0 / r.bpm;
    let mean = |x: &dyn Fn(f64) -> f64, shift: f64| {
        r.beats.iter().map(|&t| x(t + shift)).sum::<f64>() / r.beats.len() as f64
    };
    let kick = |t: f64| peak_near(&env.low_linear, env.fps, t, 0.03);
    let (kick_on, kick_off) = (mean(&kick, 0.0), mean(&kick, half));
    if !(kick_off > 0.0 && kick_off >= OFF_BEAT_KICK_RATIO * kick_on) {
        return r;
    }
    // Half a beat earlier (a pickup stays a beat), plus one after the last where it ends
    // within the music.
    let (lo, hi) = (start - 0.07, end + 0.07);
    let last = r.beats[r.beats.len() - 1] + half;
    let beats: Vec<f64> = r
        .beats
        .iter()
        .map(|&t| t - half)
        .chain(std::iter::once(last))
        .filter(|t| (lo..=hi).contains(t))
        .collect();
    let (bpb, phase) = meter_and_phase(&beats, env, harm);
    Rhythm {
        downbeats: beats.iter().skip(phase).step_by(bpb).copied().collect(),
        beats,
        beats_per_bar: bpb as u32,
        ..r
    }
}

/// A beat is still in the music when an onset at least this share of the strong beats' (the
/// 90th percentile of the onset strength on the track's beats) falls on it (±35 ms) or in the
/// span since the beat before it. On the indie tune set the beats in ringing final chords and
/// reverb tails stay below 0.18 of it (0.28 in one span), and the last hits reach 0.4 or more.
pub const LAST_HIT_SHARE: f64 = 0.3;

/// Fewest beats without a hit that make a tail: a single quiet beat closing the last bar
/// (a hat, a held note) stays.
const TAIL_BEATS: usize = 2;

/// `r` without the beats after its last hit: a final chord ringing out, a reverb or delay
/// tail, [`TAIL_BEATS`] or more beats with no onset in them ([`LAST_HIT_SHARE`]). Beat
/// annotations stop at the last musical event, and a grid running on through seconds of
/// decay would put the mix-out and the last bar where nothing plays. A fade-out keeps its
/// beats: the log-compressed onsets of a fading groove stay as strong as at full level until
/// the very end. The engine's beatgrid extrapolates past its last beat, so sync and quantize
/// still work in the tail.
fn end_at_last_hit(mut r: Rhythm, env: &OnsetEnvelopes, norm: &[f64]) -> Rhythm {
    if r.beats.len() < 2 {
        return r;
    }
    // The strongest onset on each beat or in the span since the one before it (from 15 %
    // of that span on, so the previous beat's own hit does not count).
    let hits: Vec<f64> = (0..r.beats.len())
        .map(|i| {
            let t = r.beats[i];
            let on = peak_near_f64(norm, env.fps, t, 0.035);
            let Some(&prev) = i.checked_sub(1).and_then(|j| r.beats.get(j)) else {
                return on;
            };
            let a = ((prev + 0.15 * (t - prev)) * env.fps).ceil().max(0.0) as usize;
            let b = ((t * env.fps).floor().max(0.0) as usize).min(norm.len());
            let span = norm
                .get(a..b)
                .map_or(0.0, |s| s.iter().copied().fold(0.0, f64::max));
            on.max(span)
        })
        .collect();
    let on_beat: Vec<f64> = {
        let mut v: Vec<f64> = r
            .beats
            .iter()
            .map(|&t| peak_near_f64(norm, env.fps, t, 0.035))
            .collect();
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let strong = on_beat[(on_beat.len() * 9 / 10).min(on_beat.len() - 1)];
    let Some(last) = hits.iter().rposition(|&v| v >= LAST_HIT_SHARE * strong) else {
        return r;
    };
    let end = r.beats[last] + 1e-6;
    // A grid needs two beats and a bar to count from.
    if r.beats.len() - 1 - last < TAIL_BEATS
        || last < 1
        || r.downbeats.first().is_none_or(|&d| d > end)
    {
        return r;
    }
    r.beats.truncate(last + 1);
    r.downbeats.retain(|&t| t <= end);
    r
}

/// A 3/2 grid must collect this many times the accent per beat of the tracked beats to
/// replace them.
const COMPOUND_MARGIN: f64 = 1.3;

/// Compound meter (12/8, 6/8): a steady eighth-note pulse grouped in threes is easily
/// tracked at two eighths (the quarter note, 3/2 of the dotted-quarter beat), whose grid
/// lands on the kicks and snares only every other beat. When a grid at 3/2 of `r`'s period
/// (on one of the three half-beat phases) collects [`COMPOUND_MARGIN`] times more accent
/// ([`Accents`]) per beat than `r`'s beats (or the points half a beat off them), it is the
/// beat: the tempo is 2/3 of `r`'s.
/// A duple or triple meter puts every other point of such a grid between two beats, so it
/// collects less than the beats do. `r` may be a half-time reading (a level below 70 BPM
/// backed up one octave): a compound beat whose snare spacing put the octave at 2/3 of
/// its tempo reaches this at 4/3 of it, and is compound meter, no half-time groove.
fn compound_meter(r: Rhythm, env: &OnsetEnvelopes, norm: &[f64], harm: &Harmony) -> Rhythm {
    if !r.constant_tempo || r.beats.len() < MIN_BEATS_FOR_METER || r.bpm <= 0.0 {
        return r;
    }
    let acc = Accents {
        env,
        norm,
        low_sd: std_dev(&env.low),
        mid_sd: std_dev(&env.mid),
    };
    let mean = |ts: &[f64]| ts.iter().map(|&t| acc.at(t)).sum::<f64>() / ts.len().max(1) as f64;
    let period = 60.0 / r.bpm;
    // The beats, or the grid half a beat off them when that collects more (beats tracked on
    // the off-beat must not make a syncopated 3-3-2 figure look like the beat).
    let off: Vec<f64> = r.beats.iter().map(|t| t + 0.5 * period).collect();
    let base = mean(&r.beats).max(mean(&off));
    let (first, last) = (r.beats[0], r.beats[r.beats.len() - 1]);
    let mut best: Option<(f64, Vec<f64>)> = None;
    for j in 0..3 {
        let start = first + j as f64 * 0.5 * period;
        let n = ((last - start) / (1.5 * period)).floor().max(0.0) as usize + 1;
        let grid: Vec<f64> = (0..n).map(|k| start + k as f64 * 1.5 * period).collect();
        let m = mean(&grid);
        if best.as_ref().is_none_or(|b| m > b.0) {
            best = Some((m, grid));
        }
    }
    let Some((m, beats)) = best else {
        return r;
    };
    if !(base > 0.0 && m > COMPOUND_MARGIN * base && beats.len() >= 2) {
        return r;
    }
    let (bpb, phase) = meter_and_phase(&beats, env, harm);
    Rhythm {
        bpm: r.bpm / 1.5,
        downbeats: beats.iter().skip(phase).step_by(bpb).copied().collect(),
        beats,
        beats_per_bar: bpb as u32,
        half_time: false,
        ..r
    }
}

/// Accent of a beat position: kick-and-snare weight there (whole-band onset plus the low
/// and snare bands, each in units of its standard deviation).
struct Accents<'a> {
    env: &'a OnsetEnvelopes,
    norm: &'a [f64],
    low_sd: f64,
    mid_sd: f64,
}

impl Accents<'_> {
    fn at(&self, t: f64) -> f64 {
        let e = self.env;
        let low = peak_near(&e.low, e.fps, t, 0.03);
        let mid = peak_near(&e.mid, e.fps, t, 0.03);
        peak_near_f64(self.norm, e.fps, t, 0.03)
            + (if self.low_sd > 0.0 {
                low / self.low_sd
            } else {
                0.0
            })
            + if self.mid_sd > 0.0 {
                mid / self.mid_sd
            } else {
                0.0
            }
    }
}

/// Every beat carries weight (a kick, a snare, a chord) while the off-beats between
/// beats carry less: the off-beats of a level whose mean accent is below this share of the
/// on-beats' are subdivisions, and the tempo is the next slower octave.
const OFFBEAT_SHARE: f64 = 0.55;

/// Below this tempo, a groove whose sixteenth notes are all played (hats in 1/16 against a
/// slow backbeat, as in dubstep and half-time drum & bass) is counted at double tempo with
/// the backbeat on 3: half-time.
pub const HALF_TIME_BELOW_BPM: f64 = 80.0;

/// The tempo octave of `family` (fastest first; `fastest` its tracked fastest level):
/// returns the step (1, 2, 4: keep every step-th beat of the fastest level) and the offset
/// of the first kept beat among the fastest level's beats.
///
/// From the fastest level down, a level is halved while its odd beats carry much less accent
/// ([`Accents`]) than its even ones ([`OFFBEAT_SHARE`]): at double tempo the off-beats hold
/// hats only, at the true tempo every beat has a kick, a snare or a chord.
fn octave_by_accents(
    env: &OnsetEnvelopes,
    norm: &[f64],
    family: &[TempoCandidate],
    fastest: &Rhythm,
) -> (usize, usize) {
    let acc = Accents {
        env,
        norm,
        low_sd: std_dev(&env.low),
        mid_sd: std_dev(&env.mid),
    };
    let mut step = 1usize;
    let mut offset = 0usize;
    let mut beats: Vec<f64> = fastest.beats.clone();
    while step * 2 <= 1 << (family.len() - 1) && beats.len() >= 16 {
        let s: Vec<f64> = beats.iter().map(|&t| acc.at(t)).collect();
        let mean = |ph: usize| {
            let v: Vec<f64> = s.iter().skip(ph).step_by(2).copied().collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let (even, odd) = (mean(0), mean(1));
        let (on, off, ph) = if even >= odd {
            (even, odd, 0)
        } else {
            (odd, even, 1)
        };
        if !(on > 0.0 && off < OFFBEAT_SHARE * on) {
            break;
        }
        offset += ph * step;
        step *= 2;
        beats = beats.iter().skip(ph).step_by(2).copied().collect();
    }
    (step, offset)
}

/// The half-time convention on the octave `step` (every step-th beat of `fastest` from
/// `offset`): slower than [`HALF_TIME_BELOW_BPM`] with its sixteenth-note off-beats played
/// as densely as its eighths (or slower than 70 BPM), the groove is counted at double tempo,
/// half-time; not when its beat is divided in three (12/8, 6/8: compound meter). Returns the
/// step, offset and half-time flag.
fn half_time_octave(
    env: &OnsetEnvelopes,
    norm: &[f64],
    fastest: &Rhythm,
    step: usize,
    offset: usize,
) -> (usize, usize, bool) {
    let bpm = fastest.bpm / step as f64;
    let beats: Vec<f64> = fastest
        .beats
        .iter()
        .skip(offset % step.max(1))
        .step_by(step.max(1))
        .copied()
        .collect();
    if step == 1 || bpm >= HALF_TIME_BELOW_BPM || beats.len() < 2 {
        return (step, offset, false);
    }
    // Density of the sixteenths against the eighths, on the whole-band onsets.
    let period = 60.0 / bpm;
    let mean_at = |fracs: &[f64]| {
        let mut sum = 0.0;
        for &t in &beats {
            for f in fracs {
                sum += peak_near_f64(norm, env.fps, t + f * period, 0.02);
            }
        }
        sum / (beats.len() * fracs.len()) as f64
    };
    let eighths = mean_at(&[0.5]);
    let sixteenths = mean_at(&[0.25, 0.75]);
    // A beat divided in three (its thirds played more than its halves and quarters: 12/8,
    // 6/8) is compound meter, counted in dotted quarters however slow: no half-time.
    if mean_at(&[1.0 / 3.0, 2.0 / 3.0]) > eighths.max(sixteenths) {
        return (step, offset, false);
    }
    if bpm < 70.0 || (eighths > 0.0 && sixteenths > 0.6 * eighths) {
        // Back up one octave: the on-beats of the level above.
        let up = step / 2;
        return (up, offset % up.max(1), true);
    }
    (step, offset, false)
}

/// Backbeats (snare/clap) fall every 2 beats; a track whose backbeat would come every 2
/// beats only below this tempo is half-time (backbeat every 4 beats, as in trap).
const BACKBEAT_SLOWEST_BPM: f64 = 70.0;

/// Pick the tempo among the octaves `family` (fastest first) from where the backbeat falls
/// on the `fastest` level's beats: folded over 24 beats, the snare band's strong positions
/// repeat every `k` beats (2, 4 or 8; 3 or 6 in triple meter); the tempo puts them every 2
/// beats (every 3 in triple meter), or every 4 (half-time) when that would be slower than
/// [`BACKBEAT_SLOWEST_BPM`]. Without a clear
/// backbeat, the prior-weighted autocorrelation decides. Also returns the index of the
/// strongest backbeat among the fastest level's first 24 (or 8) beats, when there is one, and
/// the backbeat's spacing in fastest-level beats.
fn choose_octave(
    env: &OnsetEnvelopes,
    family: &[TempoCandidate],
    fastest: &Rhythm,
) -> (TempoCandidate, Option<usize>, Option<usize>, Option<usize>) {
    let by_score = family
        .iter()
        .copied()
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .unwrap_or(family[0]);
    if family.len() == 1 || fastest.beats.len() < 16 {
        return (by_score, None, None, None);
    }
    // Fold over 24 beats (2, 3, 4, 6 and 8 all divide it) when there are enough beats to
    // fill every position twice, else over 8.
    let span = if fastest.beats.len() >= 48 { 24 } else { 8 };
    let mut fold = [0.0f64; 24];
    let mut count = [0usize; 24];
    for (i, &t) in fastest.beats.iter().enumerate() {
        fold[i % span] += peak_near(&env.mid, env.fps, t, 0.03);
        count[i % span] += 1;
    }
    let fold = &mut fold[..span];
    for (f, c) in fold.iter_mut().zip(count) {
        *f /= c.max(1) as f64;
    }
    let max = fold.iter().copied().fold(f64::MIN, f64::max);
    let min = fold.iter().copied().fold(f64::MAX, f64::min);
    if !(max > 0.0 && (max - min) > 0.3 * max) {
        return (by_score, None, None, None);
    }
    let pair_at = backbeat_pair_every_four(fold);
    let loudest = (0..span).max_by(|&a, &b| fold[a].total_cmp(&fold[b]));
    let strong: Vec<usize> = (0..span)
        .filter(|&i| fold[i] > min + 0.5 * (max - min))
        .collect();
    let k = strong
        .iter()
        .flat_map(|&a| strong.iter().map(move |&b| (b + span - a) % span))
        .filter(|&d| d > 0)
        .min()
        .unwrap_or(span);
    // Duple meters: a backbeat every 2 beats. Triple meters (a backbeat every 3 beats at the
    // beat level, 6 at double time): one per bar of three.
    let per_backbeat = if k % 3 == 0 { 3.0 } else { 2.0 };
    let mut target = 60.0 / fastest_period(fastest) * per_backbeat / k as f64;
    if target < BACKBEAT_SLOWEST_BPM {
        target *= 2.0;
    }
    let cand = family
        .iter()
        .copied()
        .min_by(|a, b| {
            let da = (a.bpm(env.fps) / target).log2().abs();
            let db = (b.bpm(env.fps) / target).log2().abs();
            da.total_cmp(&db)
        })
        .unwrap_or(by_score);
    (cand, loudest, Some(k), pair_at)
}

/// The backbeat pair must hold this share of the snare band's weight at most in the other
/// pair of positions (a clear backbeat phase)...
const PAIR_DOMINANCE: f64 = 0.8;
/// ... and the weaker of its two positions less than this share of the stronger: the
/// backbeat falls every 4 beats, not every 2.
const PAIR_IMBALANCE: f64 = 0.5;

/// Where the backbeat recurs every 4 beats of the fastest level, from the snare band `fold`
/// over the fastest level's beats (its length a multiple of 4): averaged over the four
/// positions of each 4 beats, the pair of alternate positions (0 and 2, or 1 and 3) holding
/// the backbeat must clearly outweigh the other pair ([`PAIR_DOMINANCE`]) and one of its two
/// positions must clearly outweigh the other ([`PAIR_IMBALANCE`]). Then snare or clap hits
/// fall on every 4th beat: at the true tempo, that is every other beat (2 and 4), and the
/// fastest level runs at double tempo on the hats (trap and hip-hop at 85-100 BPM, whose
/// sparse kicks and busy hats read as 170-200). A backbeat on every other beat of the
/// fastest level (house, drum & bass) has two equal positions and is left alone. Returns the
/// stronger position (0..4), the phase of the slower level's beats.
fn backbeat_pair_every_four(fold: &[f64]) -> Option<usize> {
    if fold.len() < 4 || fold.len() % 4 != 0 {
        return None;
    }
    let mut m = [0.0f64; 4];
    for (i, &v) in fold.iter().enumerate() {
        m[i % 4] += v;
    }
    let (hi, lo) = if m[0] + m[2] >= m[1] + m[3] {
        (0, 1)
    } else {
        (1, 0)
    };
    let (pair, other) = (m[hi] + m[hi + 2], m[lo] + m[lo + 2]);
    if !(pair > 0.0 && other <= PAIR_DOMINANCE * pair) {
        return None;
    }
    let (strong, weak) = if m[hi] >= m[hi + 2] {
        (hi, hi + 2)
    } else {
        (hi + 2, hi)
    };
    (m[weak] < PAIR_IMBALANCE * m[strong]).then_some(strong)
}

/// The hits at the backbeat pair found by [`snare_pair_every_four`] keep at least this share
/// of their snare-band onset once the low band's is taken off: claps and snares, not kicks.
const SNARE_NOT_KICK: f64 = 0.5;

/// [`backbeat_pair_every_four`] on the hits that are not kicks: on each beat of the `fastest`
/// level (folded over 24 beats, or 8), the snare band's onset minus the kick band's (the
/// linear-magnitude flux below 200 Hz, `OnsetEnvelopes::low_linear`; each in units of its
/// standard deviation), at least 0. A drum machine's bright kick (a beater click, an
/// 808-style kit's) peaks in the snare band as high as the clap does, which hides the
/// backbeat from the snare band alone; a clap or snare has far less linear low-band onset
/// than a kick, even one with a body at 150-200 Hz. The pair's hits must keep [`SNARE_NOT_KICK`] of their snare-band onset, and halving
/// the fastest level must leave [`BACKBEAT_SLOWEST_BPM`] or more (a backbeat on 2 and 4
/// slower than that is read as half-time anyway). Returns the stronger position, as
/// [`backbeat_pair_every_four`] does.
fn snare_pair_every_four(
    env: &OnsetEnvelopes,
    family: &[TempoCandidate],
    fastest: &Rhythm,
) -> Option<usize> {
    if family.len() < 2 || fastest.beats.len() < 16 || fastest.bpm / 2.0 < BACKBEAT_SLOWEST_BPM {
        return None;
    }
    let (low_sd, mid_sd) = (std_dev(&env.low_linear), std_dev(&env.mid));
    if !(low_sd > 0.0 && mid_sd > 0.0) {
        return None;
    }
    let span = if fastest.beats.len() >= 48 { 24 } else { 8 };
    let mut snare = [0.0f64; 24];
    let mut band = [0.0f64; 24];
    let mut count = [0usize; 24];
    for (i, &t) in fastest.beats.iter().enumerate() {
        let low = peak_near(&env.low_linear, env.fps, t, 0.03) / low_sd;
        let mid = peak_near(&env.mid, env.fps, t, 0.03) / mid_sd;
        snare[i % span] += (mid - low).max(0.0);
        band[i % span] += mid;
        count[i % span] += 1;
    }
    for i in 0..span {
        snare[i] /= count[i].max(1) as f64;
        band[i] /= count[i].max(1) as f64;
    }
    let at = backbeat_pair_every_four(&snare[..span])?;
    let kept: f64 = snare[..span].iter().skip(at).step_by(4).sum();
    let all: f64 = band[..span].iter().skip(at).step_by(4).sum();
    (all > 0.0 && kept >= SNARE_NOT_KICK * all).then_some(at)
}

/// Beat period of `r`, seconds.
fn fastest_period(r: &Rhythm) -> f64 {
    60.0 / r.bpm
}

/// `x` at `rate` halved (a [¼ ½ ¼] low-pass, then every other sample) until one more
/// halving would drop below `min_rate`; returns the signal and its rate.
fn decimate(x: &[f32], rate: u32, min_rate: u32) -> (Vec<f32>, u32) {
    // The first halving reads `x` itself (no copy of the full-rate signal).
    let mut out = std::borrow::Cow::Borrowed(x);
    let mut rate = rate;
    while rate / 2 >= min_rate && out.len() >= 4 {
        out = halve(&out).into();
        rate /= 2;
    }
    (out.into_owned(), rate)
}

/// Every second sample of `x` (at least 4 long) after a [1/4, 1/2, 1/4] smoothing: output
/// `i` is `x[2i-1] / 4 + x[2i] / 2 + x[2i+1] / 4`, the first sample standing in for `x[-1]`.
/// Written over pairs of samples, without bounds checks in the loop.
fn halve(x: &[f32]) -> Vec<f32> {
    let n = x.len() / 2;
    let mut out = Vec::with_capacity(n);
    out.push(0.25 * x[0] + 0.5 * x[0] + 0.25 * x[1]);
    out.extend(
        x[1..2 * n]
            .chunks_exact(2)
            .zip(x[3..2 * n].iter().step_by(2))
            .map(|(p, &r)| 0.25 * p[0] + 0.5 * p[1] + 0.25 * r),
    );
    out
}

/// Chroma per frame.
struct Harmony {
    fps: f64,
    chroma: Vec<[f32; 12]>,
}

impl Harmony {
    /// Harmonic change at each beat: chroma distance between the two beats before it and
    /// the two from it (long enough to average out melodies; 0 where a side is missing).
    fn change_at_beats(&self, beats: &[f64]) -> Vec<f64> {
        const SPAN: usize = 2;
        let n = self.chroma.len();
        let frame = |t: f64| ((t * self.fps).round().max(0.0) as usize).min(n);
        let last_len = match beats {
            [.., a, b] => b - a,
            _ => 0.5,
        };
        let segs: Vec<[f32; 12]> = (0..beats.len())
            .map(|i| {
                let a = frame(beats[i]);
                let b = frame(beats.get(i + 1).copied().unwrap_or(beats[i] + last_len));
                let mut c = [0.0f32; 12];
                for f in &self.chroma[a.min(b)..b] {
                    for p in 0..12 {
                        c[p] += f[p];
                    }
                }
                c
            })
            .collect();
        let sum = |r: std::ops::Range<usize>| {
            let mut c = [0.0f32; 12];
            for seg in &segs[r] {
                for p in 0..12 {
                    c[p] += seg[p];
                }
            }
            c
        };
        (0..beats.len())
            .map(|i| {
                if i < SPAN || i + SPAN > segs.len() {
                    0.0
                } else {
                    chroma_distance(&sum(i - SPAN..i), &sum(i..i + SPAN))
                }
            })
            .collect()
    }
}

/// Largest value of `x` (sampled at `fps`) within ±`win` seconds of `t` (0 outside).
fn peak_near(x: &[f32], fps: f64, t: f64, win: f64) -> f64 {
    let a = ((t - win) * fps).floor().max(0.0) as usize;
    let b = (((t + win) * fps).ceil().max(0.0) as usize + 1).min(x.len());
    x.get(a..b)
        .map_or(0.0, |s| s.iter().copied().fold(0.0f32, f32::max) as f64)
}

/// First and last onset (seconds) strong enough to be music, or `None` when there is none.
fn music_extent(env: &OnsetEnvelopes) -> Option<(f64, f64)> {
    let mut sorted: Vec<f32> = env.full.iter().copied().filter(|v| *v > 0.0).collect();
    if sorted.len() < 10 {
        return None;
    }
    sorted.sort_unstable_by(f32::total_cmp);
    let top = sorted[(sorted.len() as f64 * 0.99) as usize..]
        .first()
        .copied()
        .unwrap_or(0.0);
    let thr = 0.05 * top;
    if thr.is_nan() || thr <= 0.0 {
        return None;
    }
    let first = env.full.iter().position(|&v| v > thr)?;
    let last = env.full.iter().rposition(|&v| v > thr)?;
    Some((first as f64 / env.fps, last as f64 / env.fps))
}

/// `x` divided by its standard deviation (zeros when flat).
fn normalised(x: &[f32]) -> Vec<f64> {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let sd = var.sqrt();
    if sd > 0.0 {
        x.iter().map(|&v| v as f64 / sd).collect()
    } else {
        vec![0.0; x.len()]
    }
}

/// Beats and downbeats for one tempo candidate, with their [`salience`].
fn track(
    env: &OnsetEnvelopes,
    norm: &[f64],
    harm: &Harmony,
    cand: &TempoCandidate,
    start: f64,
    end: f64,
) -> Option<(Rhythm, f64)> {
    let frames = dp_beats(norm, cand.period);
    if frames.len() < 4 {
        return None;
    }
    let times: Vec<f64> = frames
        .iter()
        .map(|&f| refine_peak(norm, f) / env.fps)
        .collect();
    let period = cand.period / env.fps;
    let lo = start - 0.07;
    let hi = end + 0.07;
    let times: Vec<f64> = times
        .into_iter()
        .filter(|t| (lo..=hi).contains(t))
        .collect();
    let weights: Vec<f64> = times
        .iter()
        .map(|&t| peak_near_f64(norm, env.fps, t, 0.02))
        .collect();
    let (beats, bpm, constant) =
        match constant_grid(norm, env.fps, &times, &weights, period, lo, hi) {
            Some(g) => {
                let k0 = ((lo - g.t0) / g.period).ceil() as i64;
                let k1 = ((hi - g.t0) / g.period).floor() as i64;
                let beats: Vec<f64> = (k0..=k1).map(|k| g.t0 + k as f64 * g.period).collect();
                (beats, 60.0 / g.period, true)
            }
            _ => {
                let beats = times;
                let mut d: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
                d.sort_unstable_by(f64::total_cmp);
                let med = d.get(d.len() / 2).copied().unwrap_or(period);
                (beats, 60.0 / med, false)
            }
        };
    if beats.len() < 2 || !bpm.is_finite() {
        return None;
    }
    let (bpb, phase) = meter_and_phase(&beats, env, harm);
    let salience = salience(&beats, env, norm);
    let downbeats = beats.iter().skip(phase).step_by(bpb).copied().collect();
    let rhythm = Rhythm {
        bpm,
        beats,
        downbeats,
        beats_per_bar: bpb as u32,
        constant_tempo: constant,
        confidence: cand.strength.clamp(0.0, 1.0),
        half_time: false,
    };
    Some((rhythm, salience))
}

/// Mean normalised onset strength (whole spectrum plus low band) on `beats`.
fn salience(beats: &[f64], env: &OnsetEnvelopes, norm: &[f64]) -> f64 {
    let low_sd = std_dev(&env.low);
    let sum: f64 = beats
        .iter()
        .map(|&t| {
            let low = peak_near(&env.low, env.fps, t, 0.02);
            peak_near_f64(norm, env.fps, t, 0.02) + if low_sd > 0.0 { low / low_sd } else { 0.0 }
        })
        .sum();
    sum / beats.len().max(1) as f64
}

fn std_dev(x: &[f32]) -> f64 {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// Largest value of `x` (sampled at `fps`) within ±`win` seconds of `t` (0 outside).
fn peak_near_f64(x: &[f64], fps: f64, t: f64, win: f64) -> f64 {
    let a = ((t - win) * fps).floor().max(0.0) as usize;
    let b = (((t + win) * fps).ceil().max(0.0) as usize + 1).min(x.len());
    x.get(a..b)
        .map_or(0.0, |s| s.iter().copied().fold(0.0f64, f64::max))
}

/// Dynamic-programming beat tracking (Ellis 2007) on the normalised onset envelope `o` with
/// beat period `period` frames. Returns beat frames in order.
fn dp_beats(o: &[f64], period: f64) -> Vec<usize> {
    let n = o.len();
    let lo = (period / 2.0).round().max(1.0) as usize;
    let hi = (period * 2.0).round() as usize;
    if n <= hi || period.is_nan() || period <= 1.0 {
        return Vec::new();
    }
    let penalty: Vec<f64> = (0..=hi)
        .map(|d| {
            if d < lo {
                f64::NEG_INFINITY
            } else {
                let r = (d as f64 / period).ln();
                -TIGHTNESS * r * r
            }
        })
        .collect();
    let mut score = vec![0.0f64; n];
    let mut back = vec![usize::MAX; n];
    for t in 0..n {
        let (best, arg) = if t >= lo {
            best_predecessor(&score[..t], &penalty, lo, hi.min(t))
        } else {
            (f64::NEG_INFINITY, usize::MAX)
        };
        if best > 0.0 {
            score[t] = o[t] + best;
            back[t] = arg;
        } else {
            score[t] = o[t];
        }
    }
    // Last beat: the best score in the final period.
    let tail = n.saturating_sub(period.round() as usize).min(n - 1);
    let mut t = (tail..n)
        .max_by(|&a, &b| score[a].total_cmp(&score[b]))
        .unwrap_or(n - 1);
    let mut beats = vec![t];
    while back[t] != usize::MAX {
        t = back[t];
        beats.push(t);
    }
    beats.reverse();
    beats
}

/// Lanes of [`best_predecessor`].
const DP_LANES: usize = 4;

/// The largest `score[t - d] + penalty[d]` for `d` in `lo..=hi` (`t` = `score.len()`,
/// `1 ≤ lo ≤ hi ≤ t`, no NaN) and its frame `t - d`, the smallest `d` among equals: what a
/// scan over `d` keeping each strictly larger value finds, to the bit. Searched in
/// [`DP_LANES`] interleaved lanes (each keeping its first maximum), so the comparisons do
/// not wait on each other.
fn best_predecessor(score: &[f64], penalty: &[f64], lo: usize, hi: usize) -> (f64, usize) {
    let t = score.len();
    let count = hi + 1 - lo;
    let full = count / DP_LANES * DP_LANES;
    let mut best = [f64::NEG_INFINITY; DP_LANES];
    let mut arg = [usize::MAX; DP_LANES];
    for c in (0..full).step_by(DP_LANES) {
        for j in 0..DP_LANES {
            let d = lo + c + j;
            let v = score[t - d] + penalty[d];
            if v > best[j] {
                best[j] = v;
                arg[j] = d;
            }
        }
    }
    // The lanes' largest value, at the smallest d.
    let (mut b, mut bd) = (f64::NEG_INFINITY, usize::MAX);
    for j in 0..DP_LANES {
        if best[j] > b || (best[j] == b && arg[j] < bd) {
            b = best[j];
            bd = arg[j];
        }
    }
    // The last few lags: larger d than any lane's, so only a strictly larger value wins.
    for d in lo + full..=hi {
        let v = score[t - d] + penalty[d];
        if v > b {
            b = v;
            bd = d;
        }
    }
    (b, if bd == usize::MAX { usize::MAX } else { t - bd })
}

/// Fractional frame of the onset peak nearest to beat frame `f` (within ±2 frames).
fn refine_peak(o: &[f64], f: usize) -> f64 {
    let a = f.saturating_sub(2);
    let b = (f + 3).min(o.len());
    let Some(p) = (a..b).max_by(|&x, &y| o[x].total_cmp(&o[y])) else {
        return f as f64;
    };
    if p == 0 || p + 1 >= o.len() || o[p] <= 0.0 {
        return f as f64;
    }
    let (y0, y1, y2) = (o[p - 1], o[p], o[p + 1]);
    let den = y0 - 2.0 * y1 + y2;
    if den < 0.0 {
        p as f64 + (0.5 * (y0 - y2) / den).clamp(-0.5, 0.5)
    } else {
        p as f64
    }
}

/// The constant grid through the tracked beats `times` (onset strengths `weights`, period
/// near `period` seconds, music between `lo` and `hi` seconds), or `None` when the tempo is
/// not constant. A comb over the onset envelope `o` finds the grid that collects the most
/// onset strength (robust to stretches where the tracker slipped to off-beats); the beats
/// within 35 ms of it then refine it by weighted least squares. Constant means those beats
/// carry at least [`CONSTANT_INLIERS`] of the onset weight and sit within
/// [`CONSTANT_RMS_SECS`] RMS of the line; or, where the tracker wandered off a grid the
/// music keeps, that the onset peaks near the grid points do ([`onsets_on_grid`]).
fn constant_grid(
    o: &[f64],
    fps: f64,
    times: &[f64],
    weights: &[f64],
    period: f64,
    lo: f64,
    hi: f64,
) -> Option<Grid> {
    let seed = fit_grid(times, weights, period).map_or(period, |g| g.period);
    let (t0, p) = comb_grid(o, fps, seed, period, lo, hi)?;
    beats_on_grid(times, weights, t0, p).or_else(|| onsets_on_grid(o, fps, t0, p, lo, hi))
}

/// The least-squares grid through the tracked beats `times` (onset strengths `weights`)
/// within 35 ms of the comb's grid `t0 + k · p`, when they carry it ([`CONSTANT_INLIERS`],
/// [`CONSTANT_ON_BEAT`], [`CONSTANT_RMS_SECS`]).
fn beats_on_grid(times: &[f64], weights: &[f64], t0: f64, p: f64) -> Option<Grid> {
    let total: f64 = weights.iter().map(|w| w.max(0.0)).sum();
    let mut near_w = Vec::with_capacity(times.len());
    let mut near_t = Vec::with_capacity(times.len());
    let mut idx = Vec::with_capacity(times.len());
    // Beats half a period off the line: the tracker followed the off-beats for a while (a
    // section without kicks, hats on the "and"). Same period, so the tempo is still constant;
    // the line's own phase (the comb's) stays the beat.
    let mut shifted = 0.0;
    for (&t, &w) in times.iter().zip(weights) {
        let k = ((t - t0) / p).round();
        if (t - t0 - k * p).abs() <= 0.035 {
            near_t.push(t);
            near_w.push(w.max(0.0));
            idx.push(k as i64);
        } else if (t - t0 - (((t - t0) / p - 0.5).round() + 0.5) * p).abs() <= 0.035 {
            shifted += w.max(0.0);
        }
    }
    let on = near_w.iter().sum::<f64>();
    let (share, on_share) = if total > 0.0 {
        ((on + shifted) / total, on / total)
    } else {
        (0.0, 0.0)
    };
    if share < CONSTANT_INLIERS || on_share < CONSTANT_ON_BEAT {
        return None;
    }
    let g = least_squares(&near_t, &idx, &near_w)?;
    (g.rms < CONSTANT_RMS_SECS && (g.period / p - 1.0).abs() < 0.002).then_some(g)
}

/// The comb's grid `t0 + k · p` (seconds) checked against the onsets themselves rather than
/// the tracked beats: a tracker that wanders (its fitted tempo up to 1 % off over a long
/// four-on-the-floor track) leaves too few beats on a grid the music keeps exactly. The
/// strongest onset peak within a quarter period of each grid point stands in for the beat;
/// the grid holds when those peaks carry [`CONSTANT_INLIERS`] of their onset weight within
/// 35 ms of it and fit one line within [`CONSTANT_RMS_SECS`] RMS. A tempo that really drifts
/// moves its peaks off any straight grid, so this holds only where the music does.
fn onsets_on_grid(o: &[f64], fps: f64, t0: f64, p: f64, lo: f64, hi: f64) -> Option<Grid> {
    let k0 = ((lo - t0) / p).ceil() as i64;
    let k1 = ((hi - t0) / p).floor() as i64;
    let (mut times, mut weights, mut idx) = (Vec::new(), Vec::new(), Vec::new());
    let (mut total, mut on) = (0.0, 0.0);
    for k in k0..=k1 {
        let g = t0 + k as f64 * p;
        let a = ((g - 0.25 * p) * fps).ceil().max(0.0) as usize;
        let b = (((g + 0.25 * p) * fps).floor().max(0.0) as usize + 1).min(o.len());
        let Some(f) = (a..b).max_by(|&x, &y| o[x].total_cmp(&o[y])) else {
            continue;
        };
        let w = o[f].max(0.0);
        let t = refine_peak(o, f) / fps;
        total += w;
        if (t - g).abs() <= 0.035 {
            on += w;
            times.push(t);
            weights.push(w);
            idx.push(k);
        }
    }
    if total <= 0.0 || on / total < CONSTANT_INLIERS {
        return None;
    }
    let g = least_squares(&times, &idx, &weights)?;
    (g.rms < CONSTANT_RMS_SECS && (g.period / p - 1.0).abs() < 0.002).then_some(g)
}

/// The grid `t0 + k · period` (seconds) between `lo` and `hi` that collects the most of the
/// onset envelope `o` (at `fps`), for a period within 0.5 % of `seed` seconds or between it
/// and the tempo candidate's `cand` seconds (when within 2 % of it: a wandering tracker's
/// fitted period can be 1 % off the music's): a coarse search (drift of four frames over the
/// track, one-frame phases), then a fine one around the best.
fn comb_grid(o: &[f64], fps: f64, seed: f64, cand: f64, lo: f64, hi: f64) -> Option<(f64, f64)> {
    let p0 = seed * fps;
    let pc = cand * fps;
    let a = (lo * fps).max(0.0);
    let b = (hi * fps).min(o.len() as f64 - 2.0);
    if p0.is_nan() || p0 < 2.0 || b - a < 8.0 * p0 {
        return None;
    }
    // Lightly smoothed so a grid between two frames still collects its onsets.
    let sm: Vec<f64> = (0..o.len())
        .map(|i| {
            let l = o[i.saturating_sub(1)];
            let r = o[(i + 1).min(o.len() - 1)];
            0.25 * l + 0.5 * o[i] + 0.25 * r
        })
        .collect();
    let score = |p: f64, ph: f64| comb_score(&sm, a, b, p, ph);
    let beats = (b - a) / p0;
    // Coarse periods drift 4 frames apart over the track; the fine search covers ±1 step.
    let dp = 4.0 / beats;
    let steps = (0.005 * p0 / dp).ceil() as i64;
    let (mut below, mut above) = (steps, steps);
    if pc.is_finite() && (pc / p0 - 1.0).abs() < 0.02 {
        let extra = ((pc - p0).abs() / dp).ceil() as i64;
        if pc < p0 {
            below += extra;
        } else {
            above += extra;
        }
    }
    let mut best = (f64::MIN, p0, 0.0);
    for i in -below..=above {
        let p = p0 + i as f64 * dp;
        // Phases 0, 1, 2, ... below p, COMB_PHASES at a time.
        let mut ph0 = 0.0;
        while ph0 < p {
            let scores = comb_scores(&sm, a, b, p, ph0);
            for (j, &s) in scores.iter().enumerate() {
                let ph = ph0 + j as f64;
                if ph >= p {
                    break;
                }
                if s > best.0 {
                    best = (s, p, ph);
                }
            }
            ph0 += COMB_PHASES as f64;
        }
    }
    let (_, pc, phc) = best;
    for i in -16..=16 {
        let p = pc + i as f64 * dp / 16.0;
        for j in -4..=4 {
            let ph = phc + j as f64 * 0.25;
            if ph < 0.0 {
                continue;
            }
            let s = score(p, ph);
            if s > best.0 {
                best = (s, p, ph);
            }
        }
    }
    Some(((a + best.2) / fps, best.1 / fps))
}

/// `sm` (an onset envelope, ≥ 4 frames) at fractional frame `t` (below `sm.len() - 1`),
/// linearly interpolated.
#[inline(always)]
fn interpolated(sm: &[f64], t: f64) -> f64 {
    let i = t as usize;
    let f = t - i as f64;
    sm[i] * (1.0 - f) + sm[i + 1] * f
}

/// What the comb grid `a + ph + k · p` (frames; `p` > 0) collects of `sm` before frame `b`
/// (at most `sm.len() - 2`).
fn comb_score(sm: &[f64], a: f64, b: f64, p: f64, ph: f64) -> f64 {
    let mut s = 0.0;
    let mut t = a + ph;
    while t < b {
        s += interpolated(sm, t);
        t += p;
    }
    s
}

/// Phases scored together by [`comb_scores`].
const COMB_PHASES: usize = 8;

avx2_or_portable! {
    /// [`comb_score`] at the phases `ph0 + j` for j in 0..[`COMB_PHASES`], each to the bit:
    /// the same sums in the same order, side by side, so the CPU overlaps them. `a` ≥ 0, `ph0`
    /// ≥ 0 and `b` ≤ `sm.len() - 2`, as in [`comb_score`].
    fn comb_scores / comb_scores_avx2(sm: &[f64], a: f64, b: f64, p: f64, ph0: f64) -> [f64; COMB_PHASES] = comb_scores_portable
}

#[inline(always)]
fn comb_scores_portable(sm: &[f64], a: f64, b: f64, p: f64, ph0: f64) -> [f64; COMB_PHASES] {
    let mut s = [0.0f64; COMB_PHASES];
    let mut t: [f64; COMB_PHASES] = std::array::from_fn(|j| a + (ph0 + j as f64));
    // All phases together while every one is still before `b`...
    if a >= 0.0 && ph0 >= 0.0 && b <= sm.len() as f64 - 2.0 {
        while t.iter().fold(true, |ok, &t| ok & (t < b)) {
            for j in 0..COMB_PHASES {
                // 0 ≤ t < b ≤ sm.len() - 2, so its floor and the frame after it are in `sm`.
                let fl = t[j].floor();
                // SAFETY: 0 ≤ fl < sm.len() - 2 (checked above), a valid index that fits
                // an i64...
                let i = unsafe { fl.to_int_unchecked::<i64>() } as usize;
                let f = t[j] - fl;
                // SAFETY: ... as is the one after it.
                let (y0, y1) = unsafe { (*sm.get_unchecked(i), *sm.get_unchecked(i + 1)) };
                s[j] += y0 * (1.0 - f) + y1 * f;
                t[j] += p;
            }
        }
    }
    // ... then each one's last points.
    for j in 0..COMB_PHASES {
        while t[j] < b {
            s[j] += interpolated(sm, t[j]);
            t[j] += p;
        }
    }
    s
}

/// A constant beat grid `t0 + k · period`.
#[derive(Debug, Clone, Copy)]
struct Grid {
    t0: f64,
    period: f64,
    /// RMS residual of the beats the fit kept, seconds.
    rms: f64,
}

/// Weighted least-squares constant grid through `times` (beat period near `period`
/// seconds; `weights` ≥ 0, the onset strength on each beat, so beats tracked through
/// drum-less passages count little), with outliers (beyond 3× the RMS residual, at least
/// 35 ms) dropped.
fn fit_grid(times: &[f64], weights: &[f64], period: f64) -> Option<Grid> {
    if times.len() < 4 || weights.len() != times.len() || period.is_nan() || period <= 0.0 {
        return None;
    }
    // Beat index of each time, counting skipped beats.
    let mut idx = Vec::with_capacity(times.len());
    let mut k = 0i64;
    idx.push(0i64);
    for w in times.windows(2) {
        k += ((w[1] - w[0]) / period).round().max(1.0) as i64;
        idx.push(k);
    }
    let mut w: Vec<f64> = weights.iter().map(|&v| v.max(0.0)).collect();
    let mut grid = None;
    for _ in 0..3 {
        let g = least_squares(times, &idx, &w)?;
        let limit = (3.0 * g.rms).max(0.035);
        let mut changed = false;
        for i in 0..times.len() {
            let r = (times[i] - g.t0 - idx[i] as f64 * g.period).abs();
            if r > limit && w[i] > 0.0 {
                w[i] = 0.0;
                changed = true;
            }
        }
        grid = Some(g);
        if !changed {
            break;
        }
    }
    grid
}

fn least_squares(times: &[f64], idx: &[i64], w: &[f64]) -> Option<Grid> {
    let (mut n, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut count = 0;
    for i in 0..times.len() {
        if w[i] > 0.0 {
            let x = idx[i] as f64;
            count += 1;
            n += w[i];
            sx += w[i] * x;
            sy += w[i] * times[i];
            sxx += w[i] * x * x;
            sxy += w[i] * x * times[i];
        }
    }
    let den = n * sxx - sx * sx;
    if count < 4 || den <= 0.0 {
        return None;
    }
    let period = (n * sxy - sx * sy) / den;
    let t0 = (sy - period * sx) / n;
    if !(period > 0.0 && t0.is_finite()) {
        return None;
    }
    let rms = residual_rms(times, idx, w, t0, period);
    Some(Grid { t0, period, rms })
}

fn residual_rms(times: &[f64], idx: &[i64], w: &[f64], t0: f64, period: f64) -> f64 {
    let (mut n, mut s) = (0.0, 0.0);
    for i in 0..times.len() {
        if w[i] > 0.0 {
            let r = times[i] - t0 - idx[i] as f64 * period;
            n += w[i];
            s += w[i] * r * r;
        }
    }
    if n > 0.0 {
        (s / n).sqrt()
    } else {
        f64::INFINITY
    }
}

/// The meter and bar phase of `beats`: beats per bar (3 or 4) and which beat (0..bpb) is
/// the first downbeat. For each meter the beats are folded over the bar; the "1" is the
/// position where chords change and kicks land most, and the backbeat (snare band) least,
/// each relative to its mean over the bar. A wrong meter spreads those cues evenly over its
/// positions; 3/4 wins only when its "1" stands out [`TRIPLE_METER_MARGIN`] times more than
/// 4/4's does (4/4 is by far the most common meter in DJ music).
fn meter_and_phase(beats: &[f64], env: &OnsetEnvelopes, harm: &Harmony) -> (usize, usize) {
    let change = harm.change_at_beats(beats);
    let low: Vec<f64> = beats
        .iter()
        .map(|&t| peak_near(&env.low, env.fps, t, 0.03))
        .collect();
    let mid: Vec<f64> = beats
        .iter()
        .map(|&t| peak_near(&env.mid, env.fps, t, 0.03))
        .collect();
    // (how far the best position stands out, the best position) for `bpb` beats per bar.
    let fold = |bpb: usize| -> (f64, usize) {
        let mut h = vec![0.0f64; bpb];
        let mut l = vec![0.0f64; bpb];
        let mut m = vec![0.0f64; bpb];
        let mut n = vec![0usize; bpb];
        for i in 1..beats.len() {
            h[i % bpb] += change[i];
            l[i % bpb] += low[i];
            m[i % bpb] += mid[i];
            n[i % bpb] += 1;
        }
        // Relative deviation of the mean at each position from the mean over the bar (a
        // flat feature says nothing).
        let z = |x: &mut Vec<f64>| {
            for (v, &c) in x.iter_mut().zip(&n) {
                *v /= c.max(1) as f64;
            }
            let mean = x.iter().sum::<f64>() / bpb as f64;
            for v in x.iter_mut() {
                *v = if mean > 0.0 { (*v - mean) / mean } else { 0.0 };
            }
        };
        z(&mut h);
        z(&mut l);
        z(&mut m);
        // Chords change and kicks land on the "1"; the backbeat does not.
        let score = |p: usize| 2.0 * h[p] + l[p] - m[p];
        (0..bpb)
            .map(|p| (score(p), p))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or((0.0, 0))
    };
    let (four, phase4) = fold(4);
    if beats.len() >= MIN_BEATS_FOR_METER {
        let (three, phase3) = fold(3);
        if three > TRIPLE_METER_MARGIN * four.max(0.0) && three > 0.0 {
            return (3, phase3);
        }
    }
    (4, phase4)
}

#[cfg(test)]
mod tests {
    use super::{
        backbeat_pair_every_four, best_predecessor, comb_score, comb_scores, constant_grid, halve,
    };

    #[test]
    fn comb_scores_are_the_single_phase_sums_to_the_bit() {
        let sm: Vec<f64> = (0..700)
            .map(|i| ((i * 7919 % 113) as f64 * 0.41).sin().abs() * (1 + i % 7) as f64)
            .collect();
        for (a, b, p) in [
            (0.0, 698.0, 47.3),
            (13.5, 600.25, 2.0),
            (100.0, 120.0, 9.99),
        ] {
            for ph0 in [0.0, 8.0, 40.0] {
                let got = comb_scores(&sm, a, b, p, ph0);
                for (j, g) in got.iter().enumerate() {
                    let want = comb_score(&sm, a, b, p, ph0 + j as f64);
                    assert_eq!(g.to_bits(), want.to_bits(), "{a} {b} {p} {ph0} {j}");
                }
            }
        }
    }

    #[test]
    fn best_predecessor_is_the_first_strict_maximum() {
        // Ties included: the scan keeps the first (smallest d) of equal values.
        let score: Vec<f64> = (0..300).map(|i| ((i * 37 % 11) as f64).floor()).collect();
        let penalty: Vec<f64> = (0..120).map(|d| -((d % 5) as f64)).collect();
        for t in [1usize, 7, 50, 119, 300] {
            for (lo, hi) in [(1usize, 1usize), (1, 4), (2, 9), (3, 60), (5, 119)] {
                let hi = hi.min(t);
                if lo > hi {
                    continue;
                }
                let (mut best, mut arg) = (f64::NEG_INFINITY, usize::MAX);
                for d in lo..=hi {
                    let v = score[t - d] + penalty[d];
                    if v > best {
                        best = v;
                        arg = t - d;
                    }
                }
                let got = best_predecessor(&score[..t], &penalty, lo, hi);
                assert_eq!(
                    (got.0.to_bits(), got.1),
                    (best.to_bits(), arg),
                    "{t} {lo} {hi}"
                );
            }
        }
    }

    #[test]
    fn halving_is_the_smoothing_formula_to_the_bit() {
        for len in [4usize, 5, 6, 7, 33] {
            let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.7).sin() * 0.3).collect();
            let want: Vec<f32> = (0..len / 2)
                .map(|i| {
                    let c = x[2 * i];
                    let l = if i > 0 { x[2 * i - 1] } else { c };
                    0.25 * l + 0.5 * c + 0.25 * x[2 * i + 1]
                })
                .collect();
            let got = halve(&x);
            assert_eq!(got.len(), want.len());
            assert!(got
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    /// A wandering beat tracker over an exact pulse (four-on-the-floor techno at 136 BPM,
    /// 200 s): its beats run 0.8 % slow, so their least-squares period is 0.8 % off and few
    /// of them lie on the pulse. The comb must still reach the pulse's period (more than the
    /// 0.5 % it searches around the fitted one), and the grid must be accepted on the onsets
    /// the pulse leaves, not rejected for the tracked beats that stray from it.
    #[test]
    fn a_wandering_tracker_does_not_lose_an_exact_pulse() {
        let fps = 100.0f64;
        let period = 60.0f64 / 136.0;
        let secs = 200.0;
        let mut o = vec![0.0f64; (secs * fps) as usize + 2];
        let mut k = 0.0;
        while (k + 0.5) * period < secs {
            for (t, amp) in [(k * period, 1.0), ((k + 0.5) * period, 0.3)] {
                // A peak two frames wide at the exact (fractional) frame.
                let f = t * fps;
                let i = f.floor() as usize;
                let frac = f - i as f64;
                o[i] += amp * (1.0 - frac);
                o[i + 1] += amp * frac;
            }
            k += 1.0;
        }
        let times: Vec<f64> = (0..)
            .map(|j| 0.2 + j as f64 * period * 1.008)
            .take_while(|&t| t < secs - 0.5)
            .collect();
        let weights = vec![1.0; times.len()];
        let g = constant_grid(&o, fps, &times, &weights, period, 0.0, secs)
            .expect("the pulse's constant grid");
        assert!(
            (g.period / period - 1.0).abs() < 1e-4,
            "period {}",
            g.period
        );
        // On the pulse, not half a beat off it.
        let phase = (g.t0 / period).rem_euclid(1.0);
        assert!(phase.min(1.0 - phase) < 0.02, "phase {phase}");
    }

    #[test]
    fn a_backbeat_every_fourth_beat_is_found_and_every_second_is_not() {
        // Claps every 4 fast beats (positions 2, 6), hats everywhere: the slow level keeps
        // the even beats.
        let every_four = [5.0, 3.0, 60.0, 3.0, 5.0, 3.0, 58.0, 3.0];
        assert_eq!(backbeat_pair_every_four(&every_four), Some(2));
        // Snares every 2 fast beats (drum & bass on 2 and 4): left alone.
        let every_two = [5.0, 60.0, 5.0, 58.0, 5.0, 61.0, 5.0, 57.0];
        assert_eq!(backbeat_pair_every_four(&every_two), None);
        // No clear backbeat phase, or a fold of the wrong length: nothing.
        assert_eq!(backbeat_pair_every_four(&[10.0; 8]), None);
        assert_eq!(backbeat_pair_every_four(&[1.0, 2.0, 3.0]), None);
    }
}
