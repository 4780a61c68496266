//! The independent evaluation set (`cargo xtask eval --set indie`): General-MIDI
//! arrangements written by a seeded generator that shares nothing with Segue's demo
//! synthesiser, rendered with FluidSynth and a General-MIDI soundfont from Debian's packages
//! (`fluidsynth`, `fluid-soundfont-gm`, `timgm6mb-soundfont`), with reverb, and encoded as MP3
//! with `lame`. The ground truth (beats, downbeats, tempo, key, section boundaries) is exact:
//! it is the grid the MIDI notes were placed on.
//!
//! Each song is drawn from its seed: a style (house, techno, drum & bass, pop, hip-hop, trap,
//! dubstep/half-time, breakbeat, reggaeton/dembow, disco, 12/8 compound "6/8"), a tempo in the
//! style's range (70-180 BPM overall), a key (each part covers all 24), a chord progression
//! that does not start on the tonic (pop, minor and modal ones), a section layout, a soundfont,
//! a drum kit, a reverb, and sometimes a pickup (anacrusis), leading silence or a drum-less
//! intro. Notes are humanised: velocities vary, and every note is placed a few milliseconds
//! off the grid (the truth is the grid).
//!
//! Songs with an even seed form the TUNE part, odd seeds the HOLD-OUT part: the algorithms
//! are tuned on the first only, and `eval` prints no per-track rows for the second.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use segue_analysis::music::{Key, Mode};

/// Songs in the set (both parts together).
pub const SONGS: u64 = 48;

/// The soundfonts the set is rendered with, in Debian's packages.
const SOUNDFONTS: &[(&str, &str)] = &[
    ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
    ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"),
];

/// The two parts of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Even seeds: what the analysis may be tuned on.
    Tune,
    /// Odd seeds: never looked at per track while tuning.
    Holdout,
}

impl Part {
    pub fn of_seed(seed: u64) -> Part {
        if seed.is_multiple_of(2) {
            Part::Tune
        } else {
            Part::Holdout
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Part::Tune => "tune",
            Part::Holdout => "holdout",
        }
    }
}

/// Styles of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    House,
    Techno,
    DrumAndBass,
    Pop,
    HipHop,
    Trap,
    HalfTime,
    Breakbeat,
    Reggaeton,
    Disco,
    Compound,
}

const STYLES: [Style; 11] = [
    Style::House,
    Style::Trap,
    Style::DrumAndBass,
    Style::Pop,
    Style::HalfTime,
    Style::HipHop,
    Style::Techno,
    Style::Reggaeton,
    Style::Breakbeat,
    Style::Disco,
    Style::Compound,
];

impl Style {
    pub fn name(self) -> &'static str {
        match self {
            Style::House => "house",
            Style::Techno => "techno",
            Style::DrumAndBass => "dnb",
            Style::Pop => "pop",
            Style::HipHop => "hiphop",
            Style::Trap => "trap",
            Style::HalfTime => "halftime",
            Style::Breakbeat => "breakbeat",
            Style::Reggaeton => "dembow",
            Style::Disco => "disco",
            Style::Compound => "6-8",
        }
    }

    /// Tempo range (of the beat the truth counts), BPM.
    fn bpm_range(self) -> (f64, f64) {
        match self {
            Style::House => (118.0, 128.0),
            Style::Techno => (125.0, 140.0),
            Style::DrumAndBass => (160.0, 180.0),
            Style::Pop => (90.0, 130.0),
            Style::HipHop => (72.0, 98.0),
            Style::Trap => (85.0, 100.0),
            Style::HalfTime => (135.0, 150.0),
            Style::Breakbeat => (120.0, 140.0),
            Style::Reggaeton => (88.0, 100.0),
            Style::Disco => (110.0, 125.0),
            Style::Compound => (70.0, 96.0),
        }
    }

    /// Steps per beat of the drum grid: 4 sixteenths, or 3 eighths in 12/8.
    fn steps_per_beat(self) -> usize {
        if self == Style::Compound {
            3
        } else {
            4
        }
    }

    /// GM drum kits (bank 128 programs) that suit the style.
    fn kits(self) -> &'static [u8] {
        match self {
            Style::House | Style::Techno | Style::Disco => &[24, 25, 0, 16],
            Style::Trap | Style::Reggaeton => &[25, 24],
            Style::HalfTime | Style::DrumAndBass | Style::Breakbeat => &[16, 0, 24, 8],
            Style::Pop | Style::HipHop => &[0, 8, 16, 25],
            Style::Compound => &[0, 8, 32, 40],
        }
    }

    /// (bass, chords, pad, lead) GM programs to choose from.
    fn programs(self) -> [&'static [u8]; 4] {
        match self {
            Style::House => [&[38, 39, 33], &[4, 0, 16], &[89, 88, 91], &[80, 81, 62]],
            Style::Techno => [&[39, 38], &[81, 16, 4], &[90, 95, 89], &[81, 80, 84]],
            Style::DrumAndBass => [&[38, 39, 33], &[4, 5, 0], &[88, 89, 48], &[80, 73, 54]],
            Style::Pop => [
                &[33, 34, 32],
                &[0, 25, 24],
                &[48, 49, 89],
                &[73, 54, 65, 56],
            ],
            Style::HipHop => [&[33, 34, 38], &[4, 0, 11], &[48, 89], &[11, 73, 65]],
            Style::Trap => [&[38, 87, 39], &[10, 11, 0], &[89, 90, 52], &[10, 80, 75]],
            Style::HalfTime => [&[81, 38, 87], &[4, 81], &[90, 95, 88], &[80, 81, 84]],
            Style::Breakbeat => [&[38, 33], &[16, 4, 17], &[89, 48], &[81, 62, 80]],
            Style::Reggaeton => [&[38, 33, 39], &[24, 45, 4], &[89, 48], &[80, 73, 22]],
            Style::Disco => [&[33, 34], &[28, 0, 4], &[48, 49], &[61, 56, 62]],
            Style::Compound => [&[32, 33], &[0, 24, 46], &[49, 48, 89], &[73, 71, 40]],
        }
    }
}

/// The drum parts of one bar: (GM drum note, step pattern, base velocity); `x` a hit, `o` an
/// accent, `g` a ghost note, anything else a rest. One character per step.
type Groove = &'static [(u8, &'static str, u8)];

const KICK: u8 = 36;
const SNARE: u8 = 38;
const CLAP: u8 = 39;
const HAT: u8 = 42;
const PEDAL: u8 = 44;
const OPEN: u8 = 46;
const CRASH: u8 = 49;
const RIDE: u8 = 51;
const RIM: u8 = 37;
const TOM: u8 = 45;
const SHAKER: u8 = 70;

fn grooves(style: Style) -> &'static [Groove] {
    match style {
        Style::House => &[
            &[
                (KICK, "x...x...x...x...", 110),
                (CLAP, "....x.......x...", 95),
                (OPEN, "..x...x...x...x.", 80),
                (HAT, "x.x.x.x.x.x.x.x.", 55),
            ],
            &[
                (KICK, "x...x...x...x...", 110),
                (CLAP, "....x.......x...", 90),
                (HAT, "..x...x...x...x.", 85),
                (SHAKER, "xxxxxxxxxxxxxxxx", 45),
            ],
        ],
        Style::Techno => &[
            &[
                (KICK, "x...x...x...x...", 115),
                (HAT, "xxxxxxxxxxxxxxxx", 50),
                (OPEN, "..x...x...x...x.", 70),
                (RIM, "...x..x....x..x.", 60),
            ],
            &[
                (KICK, "x...x...x...x...", 115),
                (RIDE, "x.x.x.x.x.x.x.x.", 60),
                (CLAP, "....x.......x...", 80),
                (HAT, "..x...x...x...x.", 75),
            ],
        ],
        Style::DrumAndBass => &[
            &[
                (KICK, "x.........x.....", 110),
                (SNARE, "....x.......x...", 110),
                (HAT, "x.x.x.x.x.x.x.x.", 65),
            ],
            &[
                (KICK, "x.........x..x..", 110),
                (SNARE, "....x..g.g..x...", 105),
                (HAT, "x.xxx.x.x.xxx.x.", 60),
                (RIDE, "x...x...x...x...", 50),
            ],
        ],
        Style::Pop => &[
            &[
                (KICK, "x.......x.x.....", 105),
                (SNARE, "....x.......x...", 100),
                (HAT, "x.x.x.x.x.x.x.x.", 65),
            ],
            &[
                (KICK, "x......x..x.....", 105),
                (SNARE, "....x.......x...", 100),
                (HAT, "xxxxxxxxxxxxxxxx", 50),
            ],
        ],
        Style::HipHop => &[
            &[
                (KICK, "x......x..x.....", 110),
                (SNARE, "....x.......x...", 105),
                (HAT, "x.x.x.x.x.x.x.x.", 60),
            ],
            &[
                (KICK, "x..x.....xx.....", 110),
                (SNARE, "....x.......x..g", 105),
                (HAT, "x.x.x.x.x.x.xxx.", 60),
            ],
        ],
        Style::Trap => &[
            &[
                (KICK, "x.........x.....", 115),
                (CLAP, "....x.......x...", 105),
                (HAT, "xxxxxxxxxxxxxxxx", 55),
                (OPEN, "..............x.", 60),
            ],
            &[
                (KICK, "x......x......x.", 115),
                (CLAP, "....x.......x...", 105),
                (HAT, "xxxxxxxxxxxx.xxx", 55),
            ],
        ],
        Style::HalfTime => &[
            &[
                (KICK, "x.........x.....", 115),
                (SNARE, "........x.......", 115),
                (HAT, "x.x.x.x.x.x.x.x.", 60),
            ],
            &[
                (KICK, "x......x........", 115),
                (SNARE, "........x.......", 115),
                (HAT, "x.xxx.x.x.xxx.x.", 55),
                (TOM, "..............x.", 70),
            ],
        ],
        Style::Breakbeat => &[
            &[
                (KICK, "x.x.......xx....", 110),
                (SNARE, "....x..g.g..x..g", 105),
                (HAT, "x.x.x.x.x.x.x.x.", 60),
            ],
            &[
                (KICK, "x.....x...x.....", 110),
                (SNARE, "....x.......x.x.", 105),
                (RIDE, "x.x.x.x.x.x.x.x.", 55),
            ],
        ],
        Style::Reggaeton => &[
            &[
                (KICK, "x...x...x...x...", 110),
                (SNARE, "...x..x....x..x.", 95),
                (HAT, "x.x.x.x.x.x.x.x.", 50),
            ],
            &[
                (KICK, "x...x...x...x...", 110),
                (RIM, "...x..x....x..x.", 95),
                (SHAKER, "x.xxx.xxx.xxx.xx", 45),
            ],
        ],
        Style::Disco => &[
            &[
                (KICK, "x...x...x...x...", 105),
                (SNARE, "....x.......x...", 95),
                (OPEN, "..x...x...x...x.", 75),
                (HAT, "xxxxxxxxxxxxxxxx", 45),
            ],
            &[
                (KICK, "x...x...x...x...", 105),
                (CLAP, "....x.......x...", 95),
                (OPEN, "..x...x...x...x.", 80),
            ],
        ],
        Style::Compound => &[
            &[
                (KICK, "x.....x.x...", 100),
                (SNARE, "...x.....x..", 95),
                (HAT, "xxxxxxxxxxxx", 55),
            ],
            &[
                (KICK, "x.....x.....", 100),
                (RIM, "...x.....x..", 90),
                (RIDE, "x..x..x..x..", 60),
                (HAT, ".xx.xx.xx.xx", 45),
            ],
        ],
    }
}

/// Chord progressions, one chord per bar: scale degrees (0 = tonic) of the scale the song
/// is in; none starts on the tonic.
const MAJOR_PROGRESSIONS: &[&[usize]] = &[
    &[3, 0, 4, 5], // IV I V vi
    &[5, 3, 0, 4], // vi IV I V
    &[1, 4, 0, 0], // ii V I I
    &[4, 5, 3, 0], // V vi IV I
    &[3, 4, 0, 5], // IV V I vi
];
const MINOR_PROGRESSIONS: &[&[usize]] = &[
    &[5, 6, 0, 0], // VI VII i i
    &[5, 3, 0, 6], // VI iv i VII
    &[3, 0, 6, 5], // iv i VII VI
    &[6, 5, 3, 0], // VII VI iv i
    &[2, 6, 0, 3], // III VII i iv
];

/// A scale: the key the truth names, and the seven pitch intervals the music uses (natural
/// minor or major, or a mode of them).
#[derive(Debug, Clone, Copy)]
struct Scale {
    key: Key,
    intervals: [u8; 7],
    name: &'static str,
    progressions: &'static [&'static [usize]],
}

const DORIAN: [u8; 7] = [0, 2, 3, 5, 7, 9, 10];
const MIXOLYDIAN: [u8; 7] = [0, 2, 4, 5, 7, 9, 10];
const DORIAN_PROGRESSIONS: &[&[usize]] = &[&[3, 0, 3, 0], &[6, 3, 0, 0]]; // IV i, VII IV i
const MIXOLYDIAN_PROGRESSIONS: &[&[usize]] = &[&[6, 3, 0, 0], &[4, 6, 0, 0]]; // bVII IV I, v bVII I

impl Scale {
    fn pitch(&self, degree: i32) -> i32 {
        let d = degree.rem_euclid(7) as usize;
        let oct = degree.div_euclid(7);
        self.key.tonic as i32 + self.intervals[d] as i32 + 12 * oct
    }
}

/// One section of a song: label and length in bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Intro,
    Verse,
    Build,
    Drop,
    Break,
    Outro,
}

/// Everything the seed decides about a song.
#[derive(Debug, Clone)]
pub struct Song {
    pub seed: u64,
    pub name: String,
    pub style: Style,
    pub bpm: f64,
    pub key: Key,
    scale: Scale,
    progression: &'static [usize],
    sections: Vec<(Label, u32)>,
    pub pickup_beats: u32,
    pub lead_silence: f64,
    pub drumless_intro: bool,
    pub soundfont: &'static str,
    kit: u8,
    programs: [u8; 4],
    reverb: (f64, f64),
    groove: usize,
    swing: f64,
    pub vbr: u32,
}

impl Song {
    pub fn part(&self) -> Part {
        Part::of_seed(self.seed)
    }

    pub fn beats_per_bar(&self) -> u32 {
        4
    }
}

/// The ground truth of a rendered song, in seconds.
#[derive(Debug, Clone)]
pub struct SongTruth {
    pub bpm: f64,
    pub beats: Vec<f64>,
    pub downbeats: Vec<f64>,
    pub key: Key,
    pub bounds: Vec<f64>,
}

/// splitmix64: a small seeded generator (the set must not change when a crate does).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5E6E_0000_1D1E)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Roughly normal, mean 0, standard deviation 1 (sum of four uniforms).
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.unit()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// The whole set, both parts, in seed order.
pub fn songs() -> Vec<Song> {
    (0..SONGS).map(song).collect()
}

/// `n` more songs for the TUNE part beyond the set's [`SONGS`] (even seeds from [`SONGS`] on;
/// `eval --set indie --extra-tune N`): more material to tune on, drawn by the same generator,
/// while the hold-out part stays the odd seeds below [`SONGS`].
pub fn extra_tune_songs(n: u64) -> Vec<Song> {
    (0..n).map(|k| song(SONGS + 2 * k)).collect()
}

/// `n` more songs for the HOLD-OUT part beyond the set's [`SONGS`] (odd seeds from
/// [`SONGS`] + 1 on; `eval --set indie --extra-holdout N`): a second hold-out, drawn by the
/// same generator, that no round of tuning has seen.
pub fn extra_holdout_songs(n: u64) -> Vec<Song> {
    (0..n).map(|k| song(SONGS + 1 + 2 * k)).collect()
}

/// The song of `seed`. Within each part, the i-th song takes the i-th key of a fixed
/// permutation of the 24 keys, so each part covers all 24 keys.
pub fn song(seed: u64) -> Song {
    let mut rng = Rng::new(seed);
    let i = (seed / 2) as usize; // index within its part
    let style = STYLES[(i + (seed % 2) as usize * 5) % STYLES.len()];
    let (lo, hi) = style.bpm_range();
    // Whole or fractional tempos, as tracks have.
    let bpm = {
        let b = rng.range(lo, hi);
        if rng.chance(0.6) {
            b.round()
        } else {
            (b * 10.0).round() / 10.0
        }
    };
    let key = Key::ALL[(i * 7 + (seed % 2) as usize * 11) % 24];
    let modal = rng.chance(0.2);
    let scale = match (key.mode, modal) {
        (Mode::Major, false) => Scale {
            key,
            intervals: Mode::Major.intervals(),
            name: "major",
            progressions: MAJOR_PROGRESSIONS,
        },
        (Mode::Minor, false) => Scale {
            key,
            intervals: Mode::Minor.intervals(),
            name: "minor",
            progressions: MINOR_PROGRESSIONS,
        },
        (Mode::Major, true) => Scale {
            key,
            intervals: MIXOLYDIAN,
            name: "mixolydian",
            progressions: MIXOLYDIAN_PROGRESSIONS,
        },
        (Mode::Minor, true) => Scale {
            key,
            intervals: DORIAN,
            name: "dorian",
            progressions: DORIAN_PROGRESSIONS,
        },
    };
    let progression = rng.pick(scale.progressions);
    // Sections in bars: about 70 s whatever the tempo, in phrases of 4 or 8 bars.
    let bar_secs = 240.0 / bpm;
    let phrase = if bar_secs * 8.0 > 14.0 { 4 } else { 8 };
    use Label::*;
    let layouts: [&[(Label, u32)]; 4] = [
        &[(Intro, 1), (Drop, 2), (Break, 1), (Drop, 2), (Outro, 1)],
        &[(Intro, 1), (Verse, 2), (Build, 1), (Drop, 2), (Outro, 1)],
        &[
            (Intro, 1),
            (Verse, 1),
            (Drop, 1),
            (Break, 1),
            (Drop, 2),
            (Outro, 1),
        ],
        &[(Intro, 1), (Verse, 2), (Drop, 2), (Verse, 1), (Outro, 1)],
    ];
    let mut sections: Vec<(Label, u32)> = layouts[rng.below(4)]
        .iter()
        .map(|&(l, n)| (l, n * phrase))
        .collect();
    // Trim phrases from the middle until the song is at most ~95 s.
    while sections.iter().map(|s| s.1).sum::<u32>() as f64 * bar_secs > 95.0 {
        let longest = (1..sections.len() - 1)
            .max_by_key(|&j| sections[j].1)
            .unwrap_or(1);
        if sections[longest].1 <= 4 {
            break;
        }
        sections[longest].1 -= 4;
    }
    let pickup_beats = if rng.chance(0.3) {
        1 + rng.below(3) as u32
    } else {
        0
    };
    let lead_silence = if rng.chance(0.35) {
        rng.range(0.3, 3.0)
    } else {
        0.0
    };
    let drumless_intro = rng.chance(0.35);
    let (soundfont, _) = SOUNDFONTS[rng.below(SOUNDFONTS.len())];
    let kit = rng.pick(style.kits());
    let p = style.programs();
    let programs = [
        rng.pick(p[0]),
        rng.pick(p[1]),
        rng.pick(p[2]),
        rng.pick(p[3]),
    ];
    let reverb = (rng.range(0.2, 0.9), rng.range(0.3, 0.9));
    let groove = rng.below(grooves(style).len());
    let swing = match style {
        Style::HipHop => rng.range(0.0, 0.12),
        Style::House | Style::Pop => rng.range(0.0, 0.05),
        _ => 0.0,
    };
    let vbr = rng.pick(&[0, 2, 4]);
    let tempo = format!("{bpm}").replace('.', "-");
    let name = format!(
        "in{seed:02}-{}-{tempo}-{}",
        style.name(),
        key.camelot().to_lowercase()
    );
    Song {
        seed,
        name,
        style,
        bpm,
        key,
        scale,
        progression,
        sections,
        pickup_beats,
        lead_silence,
        drumless_intro,
        soundfont,
        kit,
        programs,
        reverb,
        groove,
        swing,
        vbr,
    }
}

/// MIDI channels.
const CH_BASS: u8 = 0;
const CH_CHORDS: u8 = 1;
const CH_PAD: u8 = 2;
const CH_LEAD: u8 = 3;
const CH_DRUMS: u8 = 9;

/// The MIDI events of a song as (seconds, order, bytes); order puts note-offs first.
struct Events {
    ev: Vec<(f64, u8, Vec<u8>)>,
    rng: Rng,
}

impl Events {
    fn note(&mut self, ch: u8, key: i32, vel: f64, start: f64, len: f64, jitter: f64) {
        let key = key.clamp(0, 127) as u8;
        let dt = jitter * self.rng.normal();
        let t = (start + dt).max(0.0);
        let v = (vel * (1.0 + 0.12 * self.rng.normal())).clamp(1.0, 127.0) as u8;
        self.ev.push((t, 1, vec![0x90 | ch, key, v]));
        self.ev.push((
            (t + len.max(0.01)).max(t + 0.005),
            0,
            vec![0x80 | ch, key, 0],
        ));
    }

    fn control(&mut self, t: f64, ch: u8, cc: u8, v: u8) {
        self.ev.push((t, 0, vec![0xB0 | ch, cc, v]));
    }
}

/// Write `song` as a Standard MIDI File (format 0) and return its ground truth.
pub fn compose(song: &Song) -> (Vec<u8>, SongTruth) {
    let (mut ev, truth) = compose_events(song);
    (smf(&mut ev), truth)
}

/// The song's parts as true stems for separation: Standard MIDI Files of the drums (channel
/// 10), the bass, and everything else (chords, pad, lead), in that order. Each keeps every
/// event of the song except the notes of the other parts, so each renders as long as the
/// song. There is no voice: the generator has no vocals.
pub fn compose_stems(song: &Song) -> [Vec<u8>; 3] {
    let (ev, _) = compose_events(song);
    let part = |ch: u8| match ch {
        CH_DRUMS => 0,
        CH_BASS => 1,
        _ => 2,
    };
    std::array::from_fn(|k| {
        let mut mine: Vec<_> = ev
            .iter()
            .filter(|(_, _, b)| {
                let note = matches!(b[0] & 0xF0, 0x80 | 0x90);
                !note || part(b[0] & 0x0F) == k
            })
            .cloned()
            .collect();
        smf(&mut mine)
    })
}

/// Render the song's three parts ([`compose_stems`]) with the same FluidSynth settings as
/// the mix into `dir` as 16-bit WAVs `<name>.{drums,bass,other}.wav` (kept and reused when
/// their MIDI has not changed); returns their paths.
pub fn render_stems(song: &Song, dir: &Path) -> anyhow::Result<[PathBuf; 3]> {
    let midis = compose_stems(song);
    let mut out = Vec::new();
    for (midi, part) in midis.iter().zip(["drums", "bass", "other"]) {
        let mid = dir.join(format!("{}.{part}.mid", song.name));
        let wav = dir.join(format!("{}.{part}.wav", song.name));
        let fresh = std::fs::read(&mid).ok().as_deref() != Some(&midi[..]);
        if fresh || !wav.exists() {
            std::fs::write(&mid, midi).with_context(|| format!("writing {}", mid.display()))?;
            fluidsynth(song, &mid, &wav)?;
        }
        out.push(wav);
    }
    Ok([out[0].clone(), out[1].clone(), out[2].clone()])
}

/// Render `mid` to the 16-bit WAV `wav` at 44.1 kHz with the song's soundfont and reverb.
fn fluidsynth(song: &Song, mid: &Path, wav: &Path) -> anyhow::Result<()> {
    let status = Command::new("fluidsynth")
        .args([
            "-n", "-i", "-q", "-r", "44100", "-g", "0.45", "-R", "1", "-C", "1",
        ])
        .arg("-o")
        .arg(format!("synth.reverb.room-size={:.2}", song.reverb.0))
        .arg("-o")
        .arg(format!("synth.reverb.level={:.2}", song.reverb.1))
        .arg("-o")
        .arg("synth.reverb.width=0.8")
        .arg("-F")
        .arg(wav)
        .arg(song.soundfont)
        .arg(mid)
        .stdin(std::process::Stdio::null())
        .status()
        .context("running fluidsynth (apt-get install fluidsynth fluid-soundfont-gm)")?;
    if !status.success() {
        bail!("fluidsynth failed on {} ({status})", mid.display());
    }
    Ok(())
}

fn compose_events(song: &Song) -> (Vec<(f64, u8, Vec<u8>)>, SongTruth) {
    let mut e = Events {
        ev: Vec::new(),
        rng: Rng::new(song.seed ^ 0xA5A5_5A5A),
    };
    let beat = 60.0 / song.bpm;
    let bpb = song.beats_per_bar() as usize;
    let bar = beat * bpb as f64;
    let spb = song.style.steps_per_beat();
    let step = beat / spb as f64;
    let steps_per_bar = spb * bpb;
    let t0 = song.lead_silence + song.pickup_beats as f64 * beat; // first downbeat
                                                                  // Set-up: programs, volumes, pans, reverb and chorus sends.
    for (ch, prog, vol, pan, rev) in [
        (CH_BASS, song.programs[0], 100u8, 64u8, 20u8),
        (CH_CHORDS, song.programs[1], 80, 44, 70),
        (CH_PAD, song.programs[2], 70, 84, 100),
        (CH_LEAD, song.programs[3], 85, 70, 80),
        (CH_DRUMS, song.kit, 110, 64, 40),
    ] {
        e.ev.push((0.0, 0, vec![0xC0 | ch, prog]));
        e.control(0.0, ch, 7, vol);
        e.control(0.0, ch, 10, pan);
        e.control(0.0, ch, 91, rev);
        e.control(0.0, ch, 93, if ch == CH_PAD { 60 } else { 10 });
    }
    let groove = grooves(song.style)[song.groove];
    let scale = song.scale;
    let total_bars: u32 = song.sections.iter().map(|s| s.1).sum();
    let mut bounds = Vec::new();
    let mut bar_no = 0u32;
    let mut prev_melody = 7i32; // scale degree of the last melody note (7 = tonic an octave up)
    for (si, &(label, bars)) in song.sections.iter().enumerate() {
        if si > 0 {
            bounds.push(t0 + bar_no as f64 * bar);
        }
        let drums = match label {
            Label::Intro => !song.drumless_intro,
            Label::Break => false,
            _ => true,
        };
        let bass = matches!(label, Label::Verse | Label::Drop | Label::Outro);
        let chords = !matches!(label, Label::Outro);
        let pad = matches!(
            label,
            Label::Intro | Label::Break | Label::Drop | Label::Build
        );
        let lead = matches!(label, Label::Drop | Label::Break);
        for b in 0..bars {
            let bt = t0 + (bar_no + b) as f64 * bar;
            let degree = song.progression[(bar_no + b) as usize % song.progression.len()] as i32;
            let root = scale.pitch(degree);
            let triad = [root, scale.pitch(degree + 2), scale.pitch(degree + 4)];
            let last_bar = b + 1 == bars;
            if drums {
                let full = !(label == Label::Intro && b < bars / 2);
                for &(note, pattern, vel) in groove {
                    // The first half of a drummed intro: kick and hats only.
                    if !full && !matches!(note, KICK | HAT | PEDAL | SHAKER) {
                        continue;
                    }
                    for (s, c) in pattern.chars().enumerate().take(steps_per_bar) {
                        let v = match c {
                            'x' => vel as f64,
                            'o' => (vel as f64 * 1.2).min(127.0),
                            'g' => vel as f64 * 0.45,
                            _ => continue,
                        };
                        // Swing: the off 16ths come late.
                        let sw = if spb == 4 && s % 2 == 1 {
                            song.swing * step * 2.0
                        } else {
                            0.0
                        };
                        // Accent the beat, humanise the rest.
                        let v = if s % spb == 0 { v * 1.05 } else { v * 0.92 };
                        e.note(
                            CH_DRUMS,
                            note as i32,
                            v,
                            bt + s as f64 * step + sw,
                            0.1,
                            0.004,
                        );
                    }
                }
                // A build's snare roll: eighths, then sixteenths in its last bar.
                if label == Label::Build {
                    let n = if last_bar {
                        steps_per_bar
                    } else {
                        steps_per_bar / 2
                    };
                    for s in 0..n {
                        let v = 50.0 + 50.0 * (b as f64 + s as f64 / n as f64) / bars as f64;
                        let at = bt + s as f64 * bar / n as f64;
                        e.note(CH_DRUMS, SNARE as i32, v, at, 0.08, 0.004);
                    }
                }
                // A crash on each section's first downbeat.
                if b == 0 && full {
                    e.note(CH_DRUMS, CRASH as i32, 100.0, bt, 1.0, 0.003);
                }
                // A tom fill in the last beat before the next section.
                if last_bar && si + 1 < song.sections.len() && label != Label::Build {
                    for k in 0..spb {
                        let at = bt + (3 * spb + k) as f64 * step;
                        e.note(CH_DRUMS, 50 - 3 * k as i32, 90.0, at, 0.1, 0.004);
                    }
                }
            }
            if bass {
                bass_bar(&mut e, song, root, bt, beat, step);
            }
            if chords {
                chords_bar(&mut e, song, triad, bt, beat, step, label);
            }
            if pad {
                let len = bar * 0.98;
                for (j, &p) in triad.iter().enumerate() {
                    let k = 48 + (p - 48).rem_euclid(12) + if j == 0 { 12 } else { 0 };
                    e.note(CH_PAD, k, 60.0, bt, len, 0.01);
                }
            }
            if lead {
                prev_melody = melody_bar(&mut e, song, degree, bt, beat, prev_melody, b);
            }
        }
        bar_no += bars;
    }
    // Pickup: the lead (or the chords) plays the beats before the first downbeat, with a
    // snare fill when the intro has drums.
    for k in 0..song.pickup_beats {
        let at = song.lead_silence + k as f64 * beat;
        let deg = 4 + k as i32 + 4 - song.pickup_beats as i32; // climbs to the tonic
        e.note(CH_LEAD, 60 + scale.pitch(deg), 90.0, at, beat * 0.9, 0.006);
        e.note(
            CH_CHORDS,
            60 + scale.pitch(deg).rem_euclid(12),
            70.0,
            at,
            beat * 0.9,
            0.006,
        );
        if !song.drumless_intro {
            e.note(
                CH_DRUMS,
                SNARE as i32,
                70.0 + 10.0 * k as f64,
                at,
                0.1,
                0.004,
            );
        }
    }
    // The ending: tonic chord, kick and crash on the downbeat after the last bar.
    let end = t0 + total_bars as f64 * bar;
    let tonic = [scale.pitch(0), scale.pitch(2), scale.pitch(4)];
    for &p in &tonic {
        e.note(CH_PAD, 48 + (p - 48).rem_euclid(12), 70.0, end, 2.5, 0.0);
    }
    e.note(CH_BASS, 36 + scale.key.tonic as i32, 100.0, end, 2.0, 0.0);
    e.note(CH_DRUMS, KICK as i32, 110.0, end, 0.2, 0.0);
    e.note(CH_DRUMS, CRASH as i32, 100.0, end, 2.0, 0.0);
    // A marker at the very end so the renderer lets the reverb ring.
    let tail = end + 3.0;
    e.control(tail, CH_PAD, 64, 0);

    let first_beat = song.lead_silence;
    let n_beats = song.pickup_beats as usize + total_bars as usize * bpb + 1;
    let beats: Vec<f64> = (0..n_beats).map(|k| first_beat + k as f64 * beat).collect();
    let downbeats: Vec<f64> = (0..=total_bars).map(|k| t0 + k as f64 * bar).collect();
    let truth = SongTruth {
        bpm: song.bpm,
        beats,
        downbeats,
        key: song.key,
        bounds,
    };
    (e.ev, truth)
}

fn bass_bar(e: &mut Events, song: &Song, root: i32, bt: f64, beat: f64, step: f64) {
    let low = 28 + (root - 28).rem_euclid(12); // E1..D#2
    let spb = song.style.steps_per_beat();
    let hits: Vec<(usize, f64, i32)> = match song.style {
        // (step, length in steps, octave offset)
        Style::House | Style::Techno => (0..4).map(|b| (b * 4 + 2, 1.6, 12)).collect(),
        Style::Disco => (0..8)
            .map(|k| (k * 2, 1.6, if k % 2 == 1 { 12 } else { 0 }))
            .collect(),
        Style::DrumAndBass => vec![(0, 6.0, 12), (10, 5.0, 12)],
        Style::Trap | Style::HalfTime => vec![(0, 9.0, 0), (10, 5.0, 0)],
        Style::Reggaeton => vec![(0, 3.0, 12), (4, 3.0, 12), (8, 3.0, 12), (12, 3.0, 12)],
        Style::Compound => vec![(0, 5.0, 12), (6, 5.0, 12)],
        Style::Pop | Style::HipHop | Style::Breakbeat => {
            vec![
                (0, 3.0, 12),
                (6, 1.5, 12),
                (8, 3.0, 12),
                (11, 1.0, 19),
                (14, 2.0, 12),
            ]
        }
    };
    for (s, len, oct) in hits {
        let at = bt + s as f64 * step;
        e.note(CH_BASS, low + oct, 100.0, at, len * step, 0.006);
    }
    let _ = (beat, spb);
}

#[allow(clippy::too_many_arguments)]
fn chords_bar(
    e: &mut Events,
    song: &Song,
    triad: [i32; 3],
    bt: f64,
    beat: f64,
    step: f64,
    label: Label,
) {
    let voice = |p: i32| 55 + (p - 55).rem_euclid(12); // G3..F#4
    let stabs: Vec<(usize, f64)> = match song.style {
        Style::House | Style::Techno | Style::Disco => {
            vec![(2, 1.5), (6, 1.5), (10, 1.5), (14, 1.5)]
        }
        Style::Reggaeton => vec![(0, 2.0), (3, 2.0), (6, 2.0), (8, 2.0), (11, 2.0), (14, 2.0)],
        Style::Compound => (0..12).map(|s| (s, 0.9)).collect(),
        Style::Trap | Style::HalfTime | Style::DrumAndBass => vec![(0, 7.0), (8, 7.0)],
        _ => vec![(0, 3.5), (4, 3.5), (8, 3.5), (12, 3.5)],
    };
    let vel = if label == Label::Intro { 60.0 } else { 72.0 };
    for (s, len) in stabs {
        let at = bt + s as f64 * step;
        for (j, &p) in triad.iter().enumerate() {
            // Broken chords in 12/8: one note per eighth.
            if song.style == Style::Compound && j != s % 3 {
                continue;
            }
            e.note(CH_CHORDS, voice(p), vel, at, len * step, 0.008);
        }
    }
    let _ = beat;
}

/// One bar of melody over chord `degree`; returns the last scale degree played.
fn melody_bar(
    e: &mut Events,
    song: &Song,
    degree: i32,
    bt: f64,
    beat: f64,
    prev: i32,
    bar_in_section: u32,
) -> i32 {
    let scale = song.scale;
    // Rhythms in beats: (onset, length).
    let rhythms: [&[(f64, f64)]; 4] = [
        &[(0.0, 1.0), (1.0, 0.5), (1.5, 0.5), (2.0, 1.5), (3.5, 0.5)],
        &[(0.0, 1.5), (1.5, 0.5), (2.0, 1.0), (3.0, 1.0)],
        &[(0.0, 0.5), (0.5, 0.5), (1.0, 1.0), (2.5, 0.5), (3.0, 1.0)],
        &[(0.0, 2.0), (2.0, 1.0), (3.0, 1.0)],
    ];
    let r = rhythms[(song.seed as usize + bar_in_section as usize) % 4];
    let chord_tones = [degree, degree + 2, degree + 4];
    let mut last = prev;
    let cycle_end = (bar_in_section as usize + 1).is_multiple_of(song.progression.len());
    for (j, &(on, len)) in r.iter().enumerate() {
        let strong = on.fract() == 0.0 && (on as i32) % 2 == 0;
        let final_note = cycle_end && j + 1 == r.len();
        let d = if final_note {
            7 // the tonic, an octave up
        } else if strong {
            // The chord tone nearest the last note.
            let mut best = chord_tones[0];
            for c in chord_tones {
                for oct in [0, 7, 14] {
                    let cand = c + oct - 7;
                    if (cand - last).abs() < (best - last).abs() {
                        best = cand;
                    }
                }
            }
            best
        } else {
            last + e.rng.pick(&[-1, 1, -2, 2, 1])
        };
        let d = d.clamp(0, 12);
        e.note(
            CH_LEAD,
            60 + scale.pitch(d),
            88.0,
            bt + on * beat,
            len * beat * 0.9,
            0.008,
        );
        last = d;
    }
    last
}

/// A Standard MIDI File (format 0, 1920 ticks per second: 960 per quarter at 120 BPM) of
/// `events` (seconds, order, bytes).
fn smf(events: &mut [(f64, u8, Vec<u8>)]) -> Vec<u8> {
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut track = Vec::new();
    // Tempo: 500000 µs per quarter.
    track.extend_from_slice(&[0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20]);
    let mut last = 0u64;
    for (t, _, bytes) in events.iter() {
        let tick = (t * 1920.0).round().max(0.0) as u64;
        vlq(&mut track, tick.saturating_sub(last));
        last = tick.max(last);
        track.extend_from_slice(bytes);
    }
    track.extend_from_slice(&[0x00, 0xFF, 0x2F, 0x00]);
    let mut out = Vec::with_capacity(track.len() + 22);
    out.extend_from_slice(b"MThd");
    out.extend_from_slice(&6u32.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // format 0
    out.extend_from_slice(&1u16.to_be_bytes()); // one track
    out.extend_from_slice(&960u16.to_be_bytes());
    out.extend_from_slice(b"MTrk");
    out.extend_from_slice(&(track.len() as u32).to_be_bytes());
    out.extend_from_slice(&track);
    out
}

fn vlq(out: &mut Vec<u8>, mut v: u64) {
    let mut bytes = vec![(v & 0x7F) as u8];
    v >>= 7;
    while v > 0 {
        bytes.push(0x80 | (v & 0x7F) as u8);
        v >>= 7;
    }
    bytes.reverse();
    out.extend_from_slice(&bytes);
}

/// Check that FluidSynth, the soundfonts and lame are installed; the error says which
/// Debian packages to install.
pub fn check_tools() -> anyhow::Result<()> {
    let mut missing: Vec<&str> = Vec::new();
    for (tool, package) in [("fluidsynth", "fluidsynth"), ("lame", "lame")] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
        if !found {
            missing.push(package);
        }
    }
    for (path, package) in SOUNDFONTS {
        if !Path::new(path).exists() {
            missing.push(package);
        }
    }
    if !missing.is_empty() {
        bail!(
            "the indie set is rendered with FluidSynth and General-MIDI soundfonts: \
             apt-get install {}",
            missing.join(" ")
        );
    }
    Ok(())
}

/// Render `song` into `dir` (MIDI, WAV, then MP3; each kept and reused when present) and
/// return the MP3's path with the truth. The truth is also written as JSON next to it.
pub fn render(song: &Song, dir: &Path) -> anyhow::Result<(PathBuf, SongTruth)> {
    let (midi, truth) = compose(song);
    let mid = dir.join(format!("{}.mid", song.name));
    let wav = dir.join(format!("{}.wav", song.name));
    let mp3 = dir.join(format!("{}.mp3", song.name));
    let fresh = std::fs::read(&mid).ok().as_deref() != Some(&midi[..]);
    if fresh {
        std::fs::write(&mid, &midi).with_context(|| format!("writing {}", mid.display()))?;
    }
    if fresh || !wav.exists() {
        fluidsynth(song, &mid, &wav)?;
        let _ = std::fs::remove_file(&mp3);
    }
    if !mp3.exists() {
        let mut cmd = Command::new("lame");
        cmd.arg("--quiet");
        if song.vbr == 0 {
            cmd.args(["-b", "192"]);
        } else {
            cmd.args(["-V", &song.vbr.to_string()]);
        }
        let status = cmd
            .arg(&wav)
            .arg(&mp3)
            .status()
            .context("running lame (apt-get install lame)")?;
        if !status.success() {
            bail!("lame failed on {} ({status})", wav.display());
        }
    }
    let json = serde_json::json!({
        "name": song.name,
        "seed": song.seed,
        "part": song.part().name(),
        "style": song.style.name(),
        "bpm": truth.bpm,
        "key": truth.key.name(),
        "scale": song.scale.name,
        "progression": song.progression,
        "soundfont": song.soundfont,
        "kit": song.kit,
        "programs": song.programs,
        "pickup_beats": song.pickup_beats,
        "lead_silence": song.lead_silence,
        "drumless_intro": song.drumless_intro,
        "beats": truth.beats,
        "downbeats": truth.downbeats,
        "boundaries": truth.bounds,
    });
    std::fs::write(
        dir.join(format!("{}.json", song.name)),
        serde_json::to_string_pretty(&json)?,
    )?;
    Ok((mp3, truth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_covers_every_key_and_style_and_the_promised_cases() {
        let set = songs();
        for part in [Part::Tune, Part::Holdout] {
            let p: Vec<&Song> = set.iter().filter(|s| s.part() == part).collect();
            let mut keys: Vec<Key> = p.iter().map(|s| s.key).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), 24, "{part:?}: all 24 keys");
            for style in STYLES {
                assert!(p.iter().any(|s| s.style == style), "{part:?}: {style:?}");
            }
            assert!(p.iter().any(|s| s.pickup_beats > 0));
            assert!(p.iter().any(|s| s.lead_silence > 0.0));
            assert!(p.iter().any(|s| s.drumless_intro));
        }
        assert!(set.iter().all(|s| (70.0..=180.0).contains(&s.bpm)));
        // No progression starts on the tonic.
        assert!(set.iter().all(|s| s.progression[0] != 0));
    }

    #[test]
    fn extra_tune_songs_are_new_tune_songs_and_leave_the_hold_out_alone() {
        let extra = extra_tune_songs(24);
        assert_eq!(extra.len(), 24);
        assert!(extra
            .iter()
            .all(|s| s.part() == Part::Tune && s.seed >= SONGS));
        let set = songs();
        assert!(extra
            .iter()
            .all(|e| set.iter().all(|s| s.seed != e.seed && s.name != e.name)));
        assert!(extra_tune_songs(0).is_empty());
    }

    #[test]
    fn extra_hold_out_songs_are_new_hold_out_songs() {
        let extra = extra_holdout_songs(24);
        assert_eq!(extra.len(), 24);
        assert!(extra
            .iter()
            .all(|s| s.part() == Part::Holdout && s.seed > SONGS));
        let tune = extra_tune_songs(24);
        let set = songs();
        assert!(extra.iter().all(|e| set
            .iter()
            .chain(&tune)
            .all(|s| s.seed != e.seed && s.name != e.name)));
        let mut keys: Vec<Key> = extra.iter().map(|s| s.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 24, "the second hold-out covers all 24 keys too");
    }

    #[test]
    fn the_midi_is_well_formed_and_the_truth_is_its_grid() {
        let s = song(3);
        let (midi, truth) = compose(&s);
        assert_eq!(&midi[..4], b"MThd");
        assert_eq!(&midi[14..18], b"MTrk");
        let len = u32::from_be_bytes(midi[18..22].try_into().unwrap()) as usize;
        assert_eq!(midi.len(), 22 + len);
        assert!(midi.ends_with(&[0x00, 0xFF, 0x2F, 0x00]));
        let period = 60.0 / s.bpm;
        for w in truth.beats.windows(2) {
            assert!((w[1] - w[0] - period).abs() < 1e-9);
        }
        assert!(truth
            .downbeats
            .iter()
            .all(|d| truth.beats.iter().any(|b| (b - d).abs() < 1e-9)));
        assert_eq!(truth.beats[0], s.lead_silence);
        // Deterministic.
        assert_eq!(compose(&s).0, midi);
        let mut v = Vec::new();
        vlq(&mut v, 0x0FFF_FFFF);
        assert_eq!(v, [0xFF, 0xFF, 0xFF, 0x7F]);
    }

    /// Note-ons per channel of a file `smf` wrote (no running status, meta events only).
    fn note_ons(midi: &[u8]) -> [usize; 16] {
        let mut n = [0; 16];
        let mut i = 22;
        let vlq = |i: &mut usize| {
            let mut v = 0usize;
            loop {
                let b = midi[*i];
                *i += 1;
                v = (v << 7) | (b & 0x7F) as usize;
                if b < 0x80 {
                    return v;
                }
            }
        };
        while i < midi.len() {
            vlq(&mut i);
            let status = midi[i];
            i += 1;
            match status & 0xF0 {
                0xF0 => {
                    i += 1; // meta type
                    let len = vlq(&mut i);
                    i += len;
                }
                0xC0 | 0xD0 => i += 1,
                kind => {
                    if kind == 0x90 && midi[i + 1] > 0 {
                        n[(status & 0x0F) as usize] += 1;
                    }
                    i += 2;
                }
            }
        }
        n
    }

    #[test]
    fn the_stem_midis_split_the_notes_by_part() {
        let s = song(5);
        let all = note_ons(&compose(&s).0);
        let [drums, bass, other] = compose_stems(&s).map(|m| note_ons(&m));
        assert!(drums[CH_DRUMS as usize] > 0 && bass[CH_BASS as usize] > 0);
        for ch in 0..16 {
            assert_eq!(drums[ch] + bass[ch] + other[ch], all[ch], "channel {ch}");
            let ch8 = ch as u8;
            assert!(drums[ch] == 0 || ch8 == CH_DRUMS);
            assert!(bass[ch] == 0 || ch8 == CH_BASS);
            assert!(other[ch] == 0 || (ch8 != CH_DRUMS && ch8 != CH_BASS));
        }
        assert!(other[CH_CHORDS as usize] + other[CH_LEAD as usize] > 0);
    }
}
