//! The arrangement: walks the bars of a spec, decides what plays in each section, and
//! schedules instrument events (see `voices`) into the four stems.
//!
//! Every event due on a beat position `b` (beats since the first beat, fractional for
//! subdivisions) starts at frame `round((lead_in + b · 60/bpm) · sample_rate)`.

use segue_engine::Frame;

use super::dsp::{Rng, Wavetable};
use super::spec::{DemoSpec, SectionLabel, Style};
use super::voices::{self, BassTone, Out};
use segue_analysis::music::{Key, Mode};

/// Seconds of release tail after the last bar.
pub const TAIL_SECS: f64 = 1.5;

/// The mix is scaled (all stems by one gain) so its peak sample is this (about -3.1 dBFS).
pub const PEAK: f32 = 0.7;

/// Independent random streams, so one instrument drawing more numbers leaves the others
/// unchanged.
mod stream {
    pub const HATS: u64 = 1;
    pub const SNARES: u64 = 2;
    pub const FX: u64 = 3;
    pub const MELODY: u64 = 4;
    pub const BREATH: u64 = 5;
    pub const ARP: u64 = 6;
}

/// Beat positions to frames.
struct Clock {
    sr: f64,
    t0: f64,
    period: f64,
}

impl Clock {
    /// Frame of beat position `beat` (beats since the first beat).
    fn frame(&self, beat: f64) -> usize {
        ((self.t0 + beat * self.period) * self.sr).round() as usize
    }

    /// Length in frames of `beats` beats.
    fn len(&self, beats: f64) -> usize {
        (beats * self.period * self.sr).round() as usize
    }
}

/// One bar of the arrangement.
#[derive(Debug, Clone, Copy)]
struct Bar {
    /// Beat position of its downbeat.
    beat: f64,
    label: SectionLabel,
    /// Index of the bar inside its section, and the section's length in bars.
    pos: usize,
    of: usize,
    /// Scale degree (0-based) of the chord root.
    chord: usize,
}

impl Bar {
    /// Progress through the section at `beat` beats into this bar, 0..1.
    fn progress(&self, beat: f64, bpb: usize) -> f64 {
        (self.pos as f64 + beat / bpb as f64) / self.of as f64
    }

    fn is_last(&self) -> bool {
        self.pos + 1 == self.of
    }
}

/// Chord roots (scale degrees), one chord per bar: minor i–VI–III–VII, major I–V–vi–IV.
fn progression(mode: Mode) -> [usize; 4] {
    match mode {
        Mode::Minor => [0, 5, 2, 6],
        Mode::Major => [0, 4, 5, 3],
    }
}

fn layout(spec: &DemoSpec) -> Vec<Bar> {
    let bpb = spec.beats_per_bar as usize;
    let prog = progression(spec.key.mode);
    let mut bars = Vec::with_capacity(spec.bars() as usize);
    for &(label, n) in &spec.sections {
        for pos in 0..n as usize {
            let i = bars.len();
            bars.push(Bar {
                beat: (spec.pickup_beats as usize + i * bpb) as f64,
                label,
                pos,
                of: n as usize,
                chord: prog[i % prog.len()],
            });
        }
    }
    bars
}

/// Overall level of a section (every event's velocity is scaled by it).
fn energy(label: SectionLabel, progress: f64) -> f64 {
    match label {
        SectionLabel::Intro => 0.7,
        SectionLabel::Verse => 0.85,
        SectionLabel::Build => 0.75 + 0.25 * progress,
        SectionLabel::Drop => 1.0,
        SectionLabel::Break => 0.6,
        SectionLabel::Outro => 0.8 - 0.35 * progress,
    }
}

/// What plays in a section.
#[derive(Debug, Clone, Copy, Default)]
struct Layers {
    kick: bool,
    backbeat: bool,
    /// 0: none, 1: the basic pattern, 2: with extra 16ths.
    hats: u8,
    open_hats: bool,
    roll: bool,
    riser: bool,
    crash: bool,
    bass: bool,
    duck: bool,
    arp: bool,
    vocals: bool,
}

fn layers(label: SectionLabel, drums: bool) -> Layers {
    use SectionLabel::*;
    let mut l = match label {
        Intro => Layers {
            kick: true,
            hats: 1,
            ..Layers::default()
        },
        Verse => Layers {
            kick: true,
            backbeat: true,
            hats: 2,
            bass: true,
            vocals: true,
            ..Layers::default()
        },
        Build => Layers {
            kick: true,
            hats: 2,
            roll: true,
            riser: true,
            bass: true,
            arp: true,
            ..Layers::default()
        },
        Drop => Layers {
            kick: true,
            backbeat: true,
            hats: 2,
            open_hats: true,
            crash: true,
            bass: true,
            duck: true,
            arp: true,
            vocals: true,
            ..Layers::default()
        },
        Break => Layers::default(),
        Outro => Layers {
            kick: true,
            hats: 1,
            bass: true,
            ..Layers::default()
        },
    };
    if !drums {
        l = Layers {
            kick: false,
            backbeat: false,
            hats: 0,
            open_hats: false,
            roll: false,
            riser: false,
            crash: false,
            ..l
        };
    }
    l
}

fn bar_layers(spec: &DemoSpec, bar: &Bar) -> Layers {
    layers(
        bar.label,
        !(spec.drumless_intro && bar.label == SectionLabel::Intro),
    )
}

/// Kick offsets (beats) within beat `b` of a bar.
fn kick_offsets(style: Style, b: usize) -> &'static [f64] {
    match (style, b % 4) {
        (Style::FourOnFloor, _) => &[0.0],
        (Style::Breakbeat, 0) => &[0.0],
        (Style::Breakbeat, 2) => &[0.5],
        (Style::HalfTime, 0) => &[0.0],
        (Style::HalfTime, 1 | 3) => &[0.5],
        _ => &[],
    }
}

/// Backbeat hits (offset, velocity) within beat `b`: clap/snare on 2 and 4, or on 3 for
/// half-time; a ghost note in breakbeats.
fn backbeat(style: Style, b: usize) -> &'static [(f64, f64)] {
    match (style, b % 4) {
        (Style::FourOnFloor, 1 | 3) => &[(0.0, 1.0)],
        (Style::Breakbeat, 1) => &[(0.0, 1.0), (0.75, 0.2)],
        (Style::Breakbeat, 3) => &[(0.0, 1.0)],
        (Style::HalfTime, 2) => &[(0.0, 1.0)],
        _ => &[],
    }
}

/// Hat hits (offset, velocity, open) within beat `b`.
fn hats(style: Style, b: usize, layers: &Layers, mut hit: impl FnMut(f64, f64, bool)) {
    match style {
        Style::FourOnFloor => {
            hit(0.5, 1.0, layers.open_hats);
            if layers.hats >= 2 {
                hit(0.25, 0.35, false);
                hit(0.75, 0.35, false);
            }
        }
        Style::Breakbeat => {
            hit(0.0, 0.6, false);
            hit(0.5, 1.0, layers.open_hats && b % 4 == 3);
            if layers.hats >= 2 {
                hit(0.25, 0.3, false);
                hit(0.75, 0.3, false);
            }
        }
        Style::HalfTime => {
            hit(0.0, 0.8, false);
            hit(0.5, 0.8, false);
            if layers.hats >= 2 && b % 4 == 3 {
                hit(0.25, 0.5, false);
                hit(0.75, 0.5, false);
            }
        }
    }
}

/// Lowest MIDI note of pitch class `pc` at or above `lo`.
fn pc_at_or_above(pc: u8, lo: i32) -> i32 {
    lo + (pc as i32 - lo).rem_euclid(12)
}

/// MIDI note of scale degree `degree` (may be negative or above 6) counted from the tonic
/// at MIDI `tonic`.
fn degree_note(key: Key, tonic: i32, degree: i32) -> f64 {
    let iv = key.mode.intervals();
    (tonic + iv[degree.rem_euclid(7) as usize] as i32 + 12 * degree.div_euclid(7)) as f64
}

/// Render all four stems (drums, bass, other, vocals), scaled so the mix peaks at [`PEAK`].
pub fn render(spec: &DemoSpec, sample_rate: u32) -> [Vec<Frame>; 4] {
    let sr = sample_rate as f64;
    let frames = ((spec.music_secs() + TAIL_SECS) * sr).ceil() as usize;
    let clock = Clock {
        sr,
        t0: spec.lead_in_silence_secs,
        period: spec.beat_secs(),
    };
    let bars = layout(spec);
    let mut stems: [Vec<Frame>; 4] = std::array::from_fn(|_| vec![[0.0; 2]; frames]);
    let [d, b, o, v] = &mut stems;
    let ducks = drums(&mut Out { buf: d, sr }, spec, &clock, &bars);
    bass(&mut Out { buf: b, sr }, spec, &clock, &bars);
    for &at in &ducks {
        voices::duck(b, at, clock.len(0.6), 0.7);
    }
    harmony(&mut Out { buf: o, sr }, spec, &clock, &bars);
    vocals(&mut Out { buf: v, sr }, spec, &clock, &bars);
    normalise(&mut stems);
    stems
}

/// The mix: per sample and channel, `drums + bass + other + vocals` in f32, in that order.
pub fn mix(stems: &[Vec<Frame>; 4]) -> Vec<Frame> {
    let [d, b, o, v] = stems;
    (0..d.len())
        .map(|i| {
            [
                d[i][0] + b[i][0] + o[i][0] + v[i][0],
                d[i][1] + b[i][1] + o[i][1] + v[i][1],
            ]
        })
        .collect()
}

/// Scale every stem by the one gain that puts the mix's peak at [`PEAK`].
fn normalise(stems: &mut [Vec<Frame>; 4]) {
    let [d, b, o, v] = &*stems;
    let mut peak = 0.0f32;
    for i in 0..d.len() {
        for c in 0..2 {
            peak = peak.max((d[i][c] + b[i][c] + o[i][c] + v[i][c]).abs());
        }
    }
    if peak > 0.0 {
        let g = PEAK / peak;
        for stem in stems.iter_mut() {
            for f in stem.iter_mut() {
                f[0] *= g;
                f[1] *= g;
            }
        }
    }
}

/// The drums stem. Returns the frames of the kicks that duck the bass (those in drops).
fn drums(out: &mut Out, spec: &DemoSpec, clock: &Clock, bars: &[Bar]) -> Vec<usize> {
    let bpb = spec.beats_per_bar as usize;
    let style = spec.style;
    let mut hat_rng = Rng::new(spec.seed, stream::HATS);
    let mut snare_rng = Rng::new(spec.seed, stream::SNARES);
    let mut fx_rng = Rng::new(spec.seed, stream::FX);
    let mut ducks = Vec::new();
    let (kick_hi, kick_lo, kick_tau) = match style {
        Style::HalfTime => (150.0, 45.0, 0.16),
        _ => (160.0, 48.0, 0.11),
    };

    // Pickup: a snare fill rising into the first downbeat.
    if !spec.drumless_intro {
        let p = spec.pickup_beats as usize;
        for i in 0..p {
            let vel = 0.2 + 0.35 * (i + 1) as f64 / p as f64;
            voices::snare(out, &mut snare_rng, clock.frame(i as f64), vel, 0.0);
        }
    }

    for bar in bars {
        let lay = bar_layers(spec, bar);
        let g = energy(bar.label, bar.progress(0.0, bpb));
        if lay.crash && bar.pos == 0 {
            let at = clock.frame(bar.beat);
            voices::hat(out, &mut fx_rng, at, 0.25 * g, 0.7, 2.5, 0.0);
        }
        if lay.riser && bar.pos == 0 {
            let len = clock.len((bar.of * bpb) as f64);
            voices::riser(out, &mut fx_rng, clock.frame(bar.beat), len, 0.3);
        }
        for b in 0..bpb {
            let beat = bar.beat + b as f64;
            let kick_here = lay.kick && !(bar.label == SectionLabel::Build && bar.is_last());
            if kick_here {
                for &off in kick_offsets(style, b) {
                    let at = clock.frame(beat + off);
                    voices::kick(out, at, 0.9 * g, kick_hi, kick_lo, kick_tau);
                    if lay.duck {
                        ducks.push(at);
                    }
                }
            }
            if lay.backbeat {
                for &(off, v) in backbeat(style, b) {
                    let at = clock.frame(beat + off);
                    match style {
                        Style::FourOnFloor => voices::clap(out, &mut snare_rng, at, 0.35 * v * g),
                        _ => voices::snare(out, &mut snare_rng, at, 0.45 * v * g, 0.0),
                    }
                }
            }
            if lay.hats > 0 {
                hats(style, b, &lay, |off, v, open| {
                    let at = clock.frame(beat + off);
                    let p = if off == 0.5 { 0.25 } else { -0.2 };
                    if open {
                        voices::hat(out, &mut hat_rng, at, 0.13 * v * g, 0.15, 0.45, p);
                    } else {
                        voices::hat(out, &mut hat_rng, at, 0.16 * v * g, 0.022, 0.1, p);
                    }
                });
            }
            if lay.roll {
                // Quarters, then eighths, sixteenths, and thirty-seconds at the very end.
                let p = bar.progress(b as f64, bpb);
                let subdiv = match p {
                    p if p < 0.25 => 1,
                    p if p < 0.5 => 2,
                    p if p < 0.875 => 4,
                    _ => 8,
                };
                for k in 0..subdiv {
                    let off = k as f64 / subdiv as f64;
                    let vel = (0.12 + 0.4 * bar.progress(b as f64 + off, bpb)) * g;
                    voices::snare(out, &mut snare_rng, clock.frame(beat + off), vel, 0.0);
                }
            }
        }
    }
    ducks
}

/// The bass stem: chord roots, one chord per bar.
fn bass(out: &mut Out, spec: &DemoSpec, clock: &Clock, bars: &[Bar]) {
    let bpb = spec.beats_per_bar as usize;
    let (tone, lowest, vel) = match spec.style {
        Style::FourOnFloor => (
            BassTone {
                sub: 0.5,
                saw: 0.5,
                detune: 0.0,
                cutoff: 700.0,
                decay: None,
                drive: false,
            },
            40,
            0.5,
        ),
        Style::Breakbeat => (
            BassTone {
                sub: 0.6,
                saw: 0.45,
                detune: 0.004,
                cutoff: 450.0,
                decay: None,
                drive: true,
            },
            28,
            0.55,
        ),
        Style::HalfTime => (
            BassTone {
                sub: 1.0,
                saw: 0.0,
                detune: 0.0,
                cutoff: 200.0,
                decay: Some(0.7),
                drive: true,
            },
            28,
            0.65,
        ),
    };
    for bar in bars {
        let half_only = matches!(bar.label, SectionLabel::Build | SectionLabel::Outro);
        if !bar_layers(spec, bar).bass || (half_only && 2 * bar.pos >= bar.of) {
            continue;
        }
        let g = energy(bar.label, bar.progress(0.0, bpb));
        let note = pc_at_or_above(spec.key.scale()[bar.chord], lowest) as f64;
        // (offset, length) in beats.
        let mut notes: Vec<(f64, f64)> = Vec::new();
        match spec.style {
            Style::FourOnFloor => notes.extend((0..bpb).map(|b| (b as f64 + 0.5, 0.42))),
            _ => {
                // Follow the kick: each note lasts until the next kick (or the bar's end).
                let kicks: Vec<f64> = (0..bpb)
                    .flat_map(|b| {
                        kick_offsets(spec.style, b)
                            .iter()
                            .map(move |o| b as f64 + o)
                    })
                    .collect();
                for (i, &k) in kicks.iter().enumerate() {
                    let end = kicks.get(i + 1).copied().unwrap_or(bpb as f64);
                    notes.push((k, end - k - 0.1));
                }
            }
        }
        for (off, len) in notes {
            let at = clock.frame(bar.beat + off);
            voices::bass(out, at, clock.len(len), note, vel * g, tone);
        }
    }
}

/// The "other" stem: a tonic pedal, pad triads on the progression, 16th-note arpeggios in
/// builds and drops, and the pickup's run up to the tonic.
fn harmony(out: &mut Out, spec: &DemoSpec, clock: &Clock, bars: &[Bar]) {
    let bpb = spec.beats_per_bar as usize;
    let key = spec.key;
    let warm = Wavetable::harmonics(&[1.0, 0.4, 0.2, 0.1, 0.05]);
    // The warm timbre plus half of it an octave up, in one table.
    let pedal_table = Wavetable::harmonics(&[1.0, 0.9, 0.2, 0.3, 0.05, 0.1, 0.0, 0.05, 0.0, 0.025]);
    let bright = Wavetable::harmonics(&[1.0, 0.5, 0.33, 0.25, 0.2, 0.16, 0.14, 0.12]);
    let pedal = pc_at_or_above(key.tonic, 48) as f64;
    let lead_tonic = pc_at_or_above(key.tonic, 69);
    let release = 0.3;
    let release_frames = (release * clock.sr) as usize;
    let mut rng = Rng::new(spec.seed, stream::ARP);
    const ARPS: [&[i32]; 4] = [
        &[0, 2, 4, 7],
        &[0, 4, 2, 7, 4, 2],
        &[0, 2, 4, 2],
        &[7, 4, 2, 0],
    ];
    let arp = ARPS[rng.below(ARPS.len())];

    // Pickup: walk up the scale to the tonic on the first downbeat.
    let p = spec.pickup_beats as i32;
    for i in 0..p {
        let note = degree_note(key, lead_tonic, i - p);
        let at = clock.frame(i as f64);
        voices::pluck(out, &bright, at, clock.len(0.9), note, 0.12, 0.0);
    }

    for bar in bars {
        let lay = bar_layers(spec, bar);
        let g = energy(bar.label, bar.progress(0.0, bpb));
        let at = clock.frame(bar.beat);
        // Tonic pedal (two octaves in one table), one long note per section.
        if bar.pos == 0 {
            let len = clock.len((bar.of * bpb) as f64) + release_frames;
            voices::pad(
                out,
                &pedal_table,
                at,
                len,
                &[(pedal, 0.07 * g, 0.0)],
                0.2,
                release,
            );
        }
        // Triad, the tonic chord a little louder.
        let len = clock.len(bpb as f64) + release_frames;
        let vel = if bar.chord == 0 { 0.06 } else { 0.05 } * g;
        let pans = [0.0, -0.45, 0.45];
        let mut notes = [(0.0, vel, 0.0); 3];
        for ((n, pc), p) in notes.iter_mut().zip(key.triad(bar.chord)).zip(pans) {
            *n = (pc_at_or_above(pc, 55) as f64, vel, p);
        }
        voices::pad(out, &warm, at, len, &notes, 0.08, release);
        if lay.arp {
            for step in 0..4 * bpb {
                let mut degree = bar.chord as i32 + arp[step % arp.len()];
                if degree > 8 {
                    degree -= 7;
                }
                let note = degree_note(key, lead_tonic, degree);
                let at = clock.frame(bar.beat + step as f64 * 0.25);
                let p = if step % 2 == 0 { -0.3 } else { 0.3 };
                let vel = 0.07 * energy(bar.label, bar.progress(step as f64 * 0.25, bpb));
                voices::pluck(out, &bright, at, clock.len(0.4), note, vel, p);
            }
        }
    }
}

/// One note of the vocal motif: 16th-note step in a two-bar window, length in steps, tone
/// in scale steps above the chord root, vowel index.
#[derive(Debug, Clone, Copy)]
struct MotifNote {
    step: usize,
    len: usize,
    tone: i32,
    vowel: usize,
}

/// Rhythms (start, length in 16ths) of two-bar phrases in 4/4.
const RHYTHMS: [&[(usize, usize)]; 4] = [
    &[(0, 6), (6, 2), (8, 4), (12, 4), (16, 6), (22, 2), (24, 8)],
    &[(0, 4), (4, 4), (8, 8), (18, 2), (20, 4), (24, 4), (28, 4)],
    &[(2, 2), (4, 4), (8, 4), (12, 2), (14, 6), (20, 4), (24, 8)],
    &[(0, 8), (8, 2), (10, 2), (12, 4), (16, 8), (26, 2), (28, 4)],
];

/// The track's two-bar vocal motif: chord tones on strong 16ths, steps between them.
fn motif(spec: &DemoSpec) -> Vec<MotifNote> {
    let mut rng = Rng::new(spec.seed, stream::MELODY);
    let window = 8 * spec.beats_per_bar as usize;
    let rhythm = RHYTHMS[rng.below(RHYTHMS.len())];
    let mut tone = 0;
    let mut notes = Vec::new();
    for &(step, len) in rhythm {
        if step >= window {
            break;
        }
        tone = if step % 8 == 0 {
            [0, 2, 4][rng.below(3)]
        } else {
            (tone + if rng.below(2) == 0 { -1 } else { 1 }).clamp(-1, 7)
        };
        notes.push(MotifNote {
            step,
            len: len.min(window - step),
            tone,
            vowel: rng.below(voices::VOWELS.len()),
        });
    }
    notes
}

/// The vocals stem: the motif sung over verses and drops, following the chords; every
/// fourth bar of a section ends its phrase on the tonic.
fn vocals(out: &mut Out, spec: &DemoSpec, clock: &Clock, bars: &[Bar]) {
    let bpb = spec.beats_per_bar as usize;
    let steps_per_bar = 4 * bpb;
    let key = spec.key;
    let tonic = pc_at_or_above(key.tonic, 57);
    let notes = motif(spec);
    let mut breath = Rng::new(spec.seed, stream::BREATH);
    for bar in bars {
        if !bar_layers(spec, bar).vocals {
            continue;
        }
        let g = energy(bar.label, bar.progress(0.0, bpb));
        let half = bar.pos % 2;
        let in_bar: Vec<&MotifNote> = notes
            .iter()
            .filter(|n| n.step / steps_per_bar == half)
            .collect();
        let mut prev = 0;
        for (i, n) in in_bar.iter().enumerate() {
            let mut degree = bar.chord as i32 + n.tone;
            while degree > 8 {
                degree -= 7;
            }
            if bar.pos % 4 == 3 && i + 1 == in_bar.len() {
                degree = if prev >= 4 { 7 } else { 0 };
            }
            prev = degree;
            let off = (n.step - half * steps_per_bar) as f64 * 0.25;
            let at = clock.frame(bar.beat + off);
            let len = clock.len(n.len as f64 * 0.25 * 0.92);
            let note = degree_note(key, tonic, degree);
            let vowel = voices::VOWELS[n.vowel];
            voices::voice(out, &mut breath, at, len, note, 1.0 * g, vowel);
        }
    }
}
