//! `segue analyze --plot`: a picture of a track — waveform overview, beat and downbeat
//! ticks, coloured sections with labels, energy curve — as PNG or SVG (by extension).

use std::path::Path;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;
use segue_analysis::{Analysis, SectionLabel};

const WIDTH: u32 = 1600;
const HEIGHT: u32 = 420;
/// The font labels are drawn with (Debian package fonts-dejavu-core, installed by
/// scripts/setup.sh).
const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

fn register_font() -> anyhow::Result<()> {
    static ONCE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let bytes = FONT_PATHS
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .ok_or_else(|| {
                "no DejaVu Sans font found (apt-get install fonts-dejavu-core)".to_string()
            })?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| "the DejaVu Sans font could not be read".to_string())
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

fn section_colour(label: SectionLabel) -> RGBColor {
    match label {
        SectionLabel::Intro => RGBColor(120, 170, 230),
        SectionLabel::Verse => RGBColor(150, 200, 150),
        SectionLabel::Build => RGBColor(240, 190, 90),
        SectionLabel::Drop => RGBColor(230, 100, 90),
        SectionLabel::Break => RGBColor(180, 140, 220),
        SectionLabel::Outro => RGBColor(120, 190, 200),
    }
}

/// Draw `analysis` of the file at `audio_path` into `out` (.png or .svg).
pub fn draw(audio_path: &Path, analysis: &Analysis, out: &Path) -> anyhow::Result<()> {
    register_font()?;
    let audio = segue_decode::decode_file(audio_path, 22_050)?;
    let mono = audio.mono();
    let curve_hop = 0.5;
    let curve = segue_analysis::energy::energy_curve(&mono, 22_050, curve_hop);
    let is_svg = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if is_svg {
        let root = SVGBackend::new(out, (WIDTH, HEIGHT)).into_drawing_area();
        paint(&root, audio_path, analysis, &mono, &curve, curve_hop)?;
        root.present().context("writing the SVG")?;
    } else {
        let root = BitMapBackend::new(out, (WIDTH, HEIGHT)).into_drawing_area();
        paint(&root, audio_path, analysis, &mono, &curve, curve_hop)?;
        root.present().context("writing the PNG")?;
    }
    Ok(())
}

fn paint<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    path: &Path,
    a: &Analysis,
    mono: &[f32],
    curve: &[f32],
    curve_hop: f64,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("drawing failed: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let title = format!(
        "{} — {:.2} BPM, {} ({}), energy {}/10, {:.1} LUFS",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        a.bpm,
        a.key,
        a.camelot,
        a.energy,
        a.lufs
    );
    let duration = a.duration.max(1e-3);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0.0..duration, -1.05f64..1.05f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("seconds")
        .y_labels(5)
        .draw()
        .map_err(err)?;
    // Sections: coloured bands with their labels.
    for s in &a.sections {
        let c = section_colour(s.label);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(s.start, -1.05), (s.end, 1.05)],
                c.mix(0.25).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{} E{}", s.label, s.energy),
                (s.start + 0.3, 0.98),
                ("sans-serif", 14).into_font().color(&c.mix(0.9)),
            )))
            .map_err(err)?;
    }
    // Waveform overview: min/max per column.
    let cols = WIDTH as usize;
    let per = (mono.len() / cols).max(1);
    let rate = mono.len() as f64 / duration;
    let bars = mono.chunks(per).enumerate().map(|(i, ch)| {
        let (lo, hi) = ch
            .iter()
            .fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let t = (i * per) as f64 / rate;
        Rectangle::new(
            [(t, lo as f64), (t + per as f64 / rate, hi as f64)],
            RGBColor(70, 70, 80).filled(),
        )
    });
    chart.draw_series(bars).map_err(err)?;
    // Beat ticks along the bottom, downbeats taller.
    chart
        .draw_series(
            a.beats
                .iter()
                .map(|&b| PathElement::new(vec![(b, -1.05), (b, -0.95)], RGBColor(90, 90, 90))),
        )
        .map_err(err)?;
    chart
        .draw_series(
            a.downbeats
                .iter()
                .map(|&b| PathElement::new(vec![(b, -1.05), (b, -0.85)], BLACK.stroke_width(2))),
        )
        .map_err(err)?;
    // Energy curve, scaled to the upper half.
    chart
        .draw_series(LineSeries::new(
            curve
                .iter()
                .enumerate()
                .map(|(i, &e)| (i as f64 * curve_hop, e as f64 * 2.0 - 1.0)),
            RGBColor(220, 60, 30).stroke_width(2),
        ))
        .map_err(err)?
        .label("energy")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(220, 60, 30)));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// `segue mix`'s timeline: one lane per deck with each track (name, key, tempo, energy),
/// the transitions shaded with their technique, and the set's loudness curve.
pub fn draw_set(
    out: &Path,
    tracks: &[segue_mix::set::SetTrack],
    plan: &segue_mix::set::SetPlan,
    render: &segue_mix::set::SetRender,
) -> anyhow::Result<()> {
    register_font()?;
    // Wide enough that a track's label fits its span: 240 px per minute of the set.
    let width = (render.quality.duration / 60.0 * 240.0).clamp(WIDTH as f64, 12_000.0) as u32;
    let root = BitMapBackend::new(out, (width, HEIGHT)).into_drawing_area();
    paint_set(&root, tracks, plan, render)?;
    root.present().context("writing the PNG")?;
    Ok(())
}

fn paint_set<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    tracks: &[segue_mix::set::SetTrack],
    plan: &segue_mix::set::SetPlan,
    render: &segue_mix::set::SetRender,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("drawing failed: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let q = &render.quality;
    let duration = q.duration.max(1.0);
    // Labels are cut to the width of what they name (about 7 px a character).
    let px_per_sec = root.dim_in_pixel().0 as f64 / duration;
    let fit = |text: String, secs: f64| -> String {
        let chars = ((secs * px_per_sec) / 7.0).floor().max(1.0) as usize;
        if text.chars().count() <= chars {
            text
        } else {
            text.chars()
                .take(chars.saturating_sub(1))
                .chain(['…'])
                .collect()
        }
    };
    let title = format!(
        "Segue set — {} tracks, {:.0} min {:.0} s, {:.1} LUFS, true peak {:.1} dBTP, beat offset median {}",
        tracks.len(),
        (duration / 60.0).floor(),
        duration % 60.0,
        q.lufs,
        q.true_peak_db,
        q.beat_offset_median_ms
            .map_or("–".to_string(), |m| format!("{m:.2} ms"))
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0.0..duration, 0.0f64..3.0f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("seconds")
        .y_labels(0)
        .draw()
        .map_err(err)?;
    // Loudness (short-term RMS per second, dBFS from -40 to 0) in the top lane.
    let rate = render.sample_rate as usize;
    let curve: Vec<(f64, f64)> = render
        .master
        .chunks(rate.max(1))
        .enumerate()
        .map(|(i, c)| {
            let ms = c
                .iter()
                .map(|f| (f[0] * f[0] + f[1] * f[1]) as f64 / 2.0)
                .sum::<f64>()
                / c.len().max(1) as f64;
            let db = 10.0 * ms.max(1e-12).log10();
            (i as f64, 2.1 + ((db + 40.0) / 40.0).clamp(0.0, 1.0) * 0.85)
        })
        .collect();
    chart
        .draw_series(LineSeries::new(
            curve,
            RGBColor(220, 60, 30).stroke_width(2),
        ))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(Text::new(
            "loudness",
            (0.5, 2.95),
            ("sans-serif", 13).into_font().color(&RGBColor(220, 60, 30)),
        )))
        .map_err(err)?;
    // Transitions.
    for t in &q.transitions {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [
                    (t.span.start, 0.0),
                    (t.span.end.max(t.span.start + 0.5), 2.05),
                ],
                RGBColor(250, 220, 120).mix(0.5).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                fit(
                    t.technique.name().to_string(),
                    (t.span.end - t.span.start).max(0.5),
                ),
                (t.span.start, 1.02),
                ("sans-serif", 12).into_font(),
            )))
            .map_err(err)?;
    }
    // Tracks: deck 1 in the lower lane, deck 2 in the middle one.
    for (i, (t, span)) in tracks.iter().zip(&render.tracks).enumerate() {
        let lane = (i % 2) as f64;
        let e = t.analysis.energy as f64 / 10.0;
        let colour = RGBColor(
            (90.0 + 150.0 * e) as u8,
            (170.0 - 80.0 * e) as u8,
            (230.0 - 150.0 * e) as u8,
        );
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(span.start, lane + 0.1), (span.end, lane + 0.9)],
                colour.mix(0.6).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                fit(
                    format!(
                        "{} · {} · {:.0} BPM · E{}",
                        t.name, t.analysis.camelot, t.analysis.bpm, t.analysis.energy
                    ),
                    span.end - span.start - 0.5,
                ),
                (span.start + 0.5, lane + 0.6),
                ("sans-serif", 13).into_font(),
            )))
            .map_err(err)?;
    }
    let _ = plan;
    Ok(())
}
