//! What a demo track is made of: tempo, key, style, section layout; and the built-in set.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::dsp::fnv1a;
use segue_analysis::music::{Key, Mode};
pub use segue_analysis::SectionLabel;

/// Drum pattern family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// House / techno: kick on every beat, clap on 2 and 4, off-beat hats, off-beat bass.
    FourOnFloor,
    /// Drum & bass (170-175 BPM): two-step kick on 1 and the "and" of 3, snare on 2 and 4,
    /// long sub/reese bass notes.
    Breakbeat,
    /// Trap / hip-hop (70-95 BPM): half-time feel, kick on 1 and the "and" of 2, snare on 3,
    /// 808-style sub bass.
    HalfTime,
}

impl Style {
    /// Snake-case name, as in JSON (`"four_on_floor"`...).
    pub fn name(self) -> &'static str {
        match self {
            Style::FourOnFloor => "four_on_floor",
            Style::Breakbeat => "breakbeat",
            Style::HalfTime => "half_time",
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parameters of one synthetic track. Everything about the audio follows from these (and
/// the sample rate): the same spec always renders the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSpec {
    /// File-friendly name (`[a-z0-9-]`), used for `<name>.wav`.
    pub name: String,
    /// Tempo; may be fractional (124.5).
    pub bpm: f64,
    /// Key of the harmony, bass and melody.
    pub key: Key,
    /// Meter: beats per bar (4 for every built-in track).
    pub beats_per_bar: u32,
    /// Section layout in order: label and length in bars.
    pub sections: Vec<(SectionLabel, u32)>,
    /// Drum pattern family.
    pub style: Style,
    /// Digital silence before the first beat, in seconds.
    pub lead_in_silence_secs: f64,
    /// Beats of anacrusis before the first downbeat (a melodic run up to the tonic, plus a
    /// snare fill unless the intro is drum-less). They are beats, not downbeats.
    pub pickup_beats: u32,
    /// No drums in the intro sections (nor in the pickup).
    pub drumless_intro: bool,
    /// Seed of every random choice (melody, noise). [`DemoSpec::new`] derives it from the
    /// name.
    pub seed: u64,
}

/// Why a [`DemoSpec`] cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSpec {
    /// The spec's name.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "demo spec {:?}: {}", self.name, self.reason)
    }
}

impl std::error::Error for InvalidSpec {}

/// Longest track a spec may describe, in seconds (keeps a typo from allocating gigabytes).
pub const MAX_DURATION_SECS: f64 = 20.0 * 60.0;

impl DemoSpec {
    /// A spec with an 8-bar intro, 8-bar drop and 4-bar outro in 4/4, no lead-in, no pickup,
    /// and a seed derived from `name`. Adjust with the builder methods.
    pub fn new(name: &str, bpm: f64, key: Key, style: Style) -> DemoSpec {
        DemoSpec {
            name: name.to_string(),
            bpm,
            key,
            beats_per_bar: 4,
            sections: vec![
                (SectionLabel::Intro, 8),
                (SectionLabel::Drop, 8),
                (SectionLabel::Outro, 4),
            ],
            style,
            lead_in_silence_secs: 0.0,
            pickup_beats: 0,
            drumless_intro: false,
            seed: fnv1a(name),
        }
    }

    /// Replace the section layout.
    pub fn sections(mut self, sections: &[(SectionLabel, u32)]) -> DemoSpec {
        self.sections = sections.to_vec();
        self
    }

    /// Silence before the first beat.
    pub fn lead_in(mut self, secs: f64) -> DemoSpec {
        self.lead_in_silence_secs = secs;
        self
    }

    /// Beats of anacrusis before the first downbeat.
    pub fn pickup(mut self, beats: u32) -> DemoSpec {
        self.pickup_beats = beats;
        self
    }

    /// No drums in the intro.
    pub fn drumless_intro(mut self) -> DemoSpec {
        self.drumless_intro = true;
        self
    }

    /// Override the seed.
    pub fn seed(mut self, seed: u64) -> DemoSpec {
        self.seed = seed;
        self
    }

    /// Seconds per beat.
    pub fn beat_secs(&self) -> f64 {
        60.0 / self.bpm
    }

    /// Total bars over all sections.
    pub fn bars(&self) -> u32 {
        self.sections.iter().map(|s| s.1).sum()
    }

    /// Seconds from the start of the file to the end of the last bar (lead-in, pickup and
    /// all bars; the release tail comes after).
    pub fn music_secs(&self) -> f64 {
        let beats = self.pickup_beats as f64 + (self.bars() * self.beats_per_bar) as f64;
        self.lead_in_silence_secs + beats * self.beat_secs()
    }

    /// Check that the spec describes something renderable.
    pub fn validate(&self) -> Result<(), InvalidSpec> {
        let fail = |reason: String| {
            Err(InvalidSpec {
                name: self.name.clone(),
                reason,
            })
        };
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return fail("the name must be non-empty and use only a-z, 0-9 and '-'".into());
        }
        if !(self.bpm.is_finite() && (40.0..=300.0).contains(&self.bpm)) {
            return fail(format!("tempo {} BPM is outside 40..=300", self.bpm));
        }
        if !(1..=16).contains(&self.beats_per_bar) {
            return fail(format!(
                "{} beats per bar is outside 1..=16",
                self.beats_per_bar
            ));
        }
        if self.sections.is_empty() || self.sections.iter().any(|s| s.1 == 0) {
            return fail("there must be at least one section and none may be 0 bars".into());
        }
        if !(self.lead_in_silence_secs.is_finite() && self.lead_in_silence_secs >= 0.0) {
            return fail(format!(
                "lead-in {} s must be finite and >= 0",
                self.lead_in_silence_secs
            ));
        }
        if self.pickup_beats > 16 {
            return fail(format!(
                "a {}-beat pickup is longer than 16 beats",
                self.pickup_beats
            ));
        }
        if self.music_secs() > MAX_DURATION_SECS {
            return fail(format!(
                "{:.0} s is longer than the {MAX_DURATION_SECS} s limit",
                self.music_secs()
            ));
        }
        Ok(())
    }
}

/// The 4-minute track the analysis is benchmarked and profiled on (`benches/analysis.rs`,
/// `analysis/examples/profile_analysis.rs`): 126 BPM in F minor, four on the floor, intro,
/// verse, builds, drops, break and outro; `seed` varies the arrangement's random details.
pub fn bench_track(seed: u64) -> DemoSpec {
    use SectionLabel::*;
    DemoSpec::new(
        "bench-126",
        126.0,
        Key::new(5, Mode::Minor),
        Style::FourOnFloor,
    )
    .sections(&[
        (Intro, 16),
        (Verse, 16),
        (Build, 8),
        (Drop, 32),
        (Break, 16),
        (Build, 8),
        (Drop, 16),
        (Outro, 16),
    ])
    .seed(seed)
}

/// The built-in demo set: six short tracks (about 60-70 s each) over 90-174 BPM, majors and
/// minors, varied layouts; one starts after silence, one with a pickup, one drum-less.
pub fn demo_set() -> Vec<DemoSpec> {
    use SectionLabel::*;
    let key = |tonic, mode| Key::new(tonic, mode);
    vec![
        DemoSpec::new("trap-090", 90.0, key(0, Mode::Minor), Style::HalfTime).sections(&[
            (Intro, 4),
            (Verse, 8),
            (Drop, 8),
            (Outro, 4),
        ]),
        DemoSpec::new("house-122", 122.0, key(7, Mode::Major), Style::FourOnFloor)
            .sections(&[(Intro, 8), (Verse, 8), (Build, 4), (Drop, 8), (Outro, 4)])
            .lead_in(1.5),
        DemoSpec::new(
            "deep-house-124-5",
            124.5,
            key(2, Mode::Major),
            Style::FourOnFloor,
        )
        .sections(&[
            (Intro, 4),
            (Verse, 8),
            (Break, 4),
            (Build, 4),
            (Drop, 8),
            (Outro, 4),
        ]),
        DemoSpec::new(
            "techno-128",
            128.0,
            key(10, Mode::Minor),
            Style::FourOnFloor,
        )
        .sections(&[
            (Intro, 8),
            (Build, 4),
            (Drop, 8),
            (Break, 4),
            (Drop, 8),
            (Outro, 4),
        ])
        .drumless_intro(),
        DemoSpec::new("trance-140", 140.0, key(1, Mode::Major), Style::FourOnFloor)
            .sections(&[
                (Intro, 8),
                (Build, 4),
                (Drop, 8),
                (Break, 4),
                (Build, 4),
                (Drop, 8),
                (Outro, 4),
            ])
            .pickup(3),
        DemoSpec::new("dnb-174", 174.0, key(9, Mode::Minor), Style::Breakbeat).sections(&[
            (Intro, 8),
            (Drop, 16),
            (Break, 4),
            (Build, 4),
            (Drop, 8),
            (Outro, 4),
        ]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_set_is_valid_and_varied() {
        let set = demo_set();
        assert_eq!(set.len(), 6);
        for s in &set {
            s.validate().unwrap();
            let secs = s.music_secs();
            assert!((45.0..=75.0).contains(&secs), "{}: {secs} s", s.name);
        }
        let mut names: Vec<_> = set.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), set.len(), "names are unique");
        assert!(set.iter().any(|s| s.lead_in_silence_secs > 0.0));
        assert!(set.iter().any(|s| s.pickup_beats > 0));
        assert!(set.iter().any(|s| s.drumless_intro));
        assert!(set.iter().any(|s| s.bpm.fract() != 0.0));
        assert!(set.iter().any(|s| s.key.mode == Mode::Major));
        assert!(set.iter().any(|s| s.key.mode == Mode::Minor));
        let bpms: Vec<f64> = set.iter().map(|s| s.bpm).collect();
        assert!(bpms.iter().any(|&b| b <= 95.0) && bpms.iter().any(|&b| b >= 170.0));
    }

    #[test]
    fn bad_specs_are_rejected_with_a_reason() {
        let ok = DemoSpec::new("x", 120.0, Key::new(0, Mode::Major), Style::FourOnFloor);
        ok.validate().unwrap();
        let cases = [
            ok.clone().sections(&[]),
            ok.clone().sections(&[(SectionLabel::Drop, 0)]),
            ok.clone().lead_in(-1.0),
            ok.clone().pickup(40),
            DemoSpec {
                bpm: f64::NAN,
                ..ok.clone()
            },
            DemoSpec {
                bpm: 0.0,
                ..ok.clone()
            },
            DemoSpec {
                beats_per_bar: 0,
                ..ok.clone()
            },
            DemoSpec {
                name: "Bad Name".into(),
                ..ok.clone()
            },
            ok.clone().sections(&[(SectionLabel::Drop, 100_000)]),
        ];
        for spec in cases {
            let err = spec.validate().unwrap_err();
            assert!(!err.reason.is_empty());
        }
    }

    #[test]
    fn labels_and_styles_have_stable_names() {
        let names: Vec<_> = SectionLabel::ALL.iter().map(|l| l.name()).collect();
        assert_eq!(names, ["intro", "verse", "build", "drop", "break", "outro"]);
        for l in SectionLabel::ALL {
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{l}\""));
        }
        for s in [Style::FourOnFloor, Style::Breakbeat, Style::HalfTime] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
    }
}
