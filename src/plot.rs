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
