//! Cue points: named, on downbeats, where a DJ wants them — the first downbeat, the mix-in
//! point (start of the intro), each drop, each break, the mix-out point (start of the
//! outro).

use super::{Cue, Section, SectionLabel};

/// Cues for a track from its first downbeat and sections (seconds), in time order, at most
/// one per time (names joined with " / " when two fall together).
pub fn place_cues(first_downbeat: Option<f64>, sections: &[Section]) -> Vec<Cue> {
    let mut cues: Vec<Cue> = Vec::new();
    let mut push = |time: f64, name: String| {
        if let Some(c) = cues.iter_mut().find(|c| (c.time - time).abs() < 1e-3) {
            c.name = format!("{} / {}", c.name, name);
        } else {
            cues.push(Cue { time, name });
        }
    };
    if let Some(t) = first_downbeat {
        push(t, "first downbeat".into());
    }
    if let Some(intro) = sections.iter().find(|s| s.label == SectionLabel::Intro) {
        push(intro.start, "mix in".into());
    }
    let (mut drops, mut breaks) = (0, 0);
    for s in sections {
        match s.label {
            SectionLabel::Drop => {
                drops += 1;
                push(s.start, format!("drop {drops}"));
            }
            SectionLabel::Break => {
                breaks += 1;
                push(s.start, format!("break {breaks}"));
            }
            _ => {}
        }
    }
    if let Some(outro) = sections
        .iter()
        .rev()
        .find(|s| s.label == SectionLabel::Outro)
    {
        push(outro.start, "mix out".into());
    }
    cues.sort_by(|a, b| a.time.total_cmp(&b.time));
    cues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(start: f64, end: f64, label: SectionLabel) -> Section {
        Section {
            start,
            end,
            label,
            energy: 5,
        }
    }

    #[test]
    fn cues_name_the_useful_places() {
        let s = [
            sec(1.0, 16.0, SectionLabel::Intro),
            sec(16.0, 32.0, SectionLabel::Drop),
            sec(32.0, 40.0, SectionLabel::Break),
            sec(40.0, 56.0, SectionLabel::Drop),
            sec(56.0, 64.0, SectionLabel::Outro),
        ];
        let c = place_cues(Some(1.0), &s);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "first downbeat / mix in",
                "drop 1",
                "break 1",
                "drop 2",
                "mix out"
            ]
        );
        assert_eq!(c[4].time, 56.0);
    }
}
