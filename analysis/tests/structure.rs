//! Structure and cues on the demo set, with ground-truth downbeats (so this measures the
//! segmentation alone).

use segue_analysis::structure::segment;
use segue_analysis::Spectrogram;
use segue_demo::eval::f_measure;
use segue_demo::{demo_set, synthesize};

#[test]
fn demo_sections_are_found_on_bar_boundaries_and_labelled() {
    let mut f3_sum = 0.0;
    let mut f05_sum = 0.0;
    let mut label_hits = 0.0;
    let mut label_total = 0.0;
    let set = demo_set();
    for spec in &set {
        let t = synthesize(spec, 44_100);
        let mono = t.audio.mono();
        let s = Spectrogram::compute(&mono, 44_100, 2048, 1024);
        let truth = &t.truth;
        let segs = segment(&s, &truth.downbeats, truth.sections.last().unwrap().end);
        let est: Vec<f64> = segs[1..]
            .iter()
            .map(|g| truth.downbeats[g.start_bar])
            .collect();
        let tb: Vec<f64> = truth.sections[1..].iter().map(|x| x.start).collect();
        let (f3, f05) = (f_measure(&est, &tb, 3.0), f_measure(&est, &tb, 0.5));
        f3_sum += f3;
        f05_sum += f05;
        // Label accuracy per bar.
        for (b, &d) in truth.downbeats.iter().enumerate() {
            let want = truth
                .sections
                .iter()
                .find(|x| x.start <= d + 1e-6 && d < x.end - 1e-6)
                .map(|x| x.label);
            let got = segs
                .iter()
                .find(|g| g.start_bar <= b && b < g.end_bar)
                .map(|g| g.label);
            label_total += 1.0;
            if want == got {
                label_hits += 1.0;
            }
        }
        let labels: Vec<String> = segs
            .iter()
            .map(|g| format!("{}@{}", g.label, g.start_bar))
            .collect();
        let want: Vec<String> = truth
            .sections
            .iter()
            .map(|x| {
                format!(
                    "{}@{}",
                    x.label,
                    truth
                        .downbeats
                        .iter()
                        .position(|&d| (d - x.start).abs() < 1e-6)
                        .unwrap_or(999)
                )
            })
            .collect();
        eprintln!(
            "{:<20} F@3s {f3:.2} F@0.5s {f05:.2}\n   est {labels:?}\n  true {want:?}",
            truth.name
        );
    }
    let n = set.len() as f64;
    let (f3, f05, acc) = (f3_sum / n, f05_sum / n, label_hits / label_total);
    eprintln!("mean boundary F@3s {f3:.3}, F@0.5s {f05:.3}, bar label accuracy {acc:.3}");
    assert!(f3 >= 0.85, "boundary F@3s {f3:.3}");
    assert!(acc >= 0.7, "label accuracy {acc:.3}");
}
