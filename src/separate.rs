//! `segue separate FILE… [-o DIR] [--format wav|flac] [--model M.onnx] [--device …]`: stems
//! beside each track, named as the deck loader reads them (`<name>.{drums,bass,other,
//! vocals}.wav`), or in `DIR/<name>/`; registered in the library when the track is in it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use segue_decode::wav::{write_flac_pcm, write_wav, WavFormat};
use segue_library::{Library, StemFiles, TrackId, TrackRef};
use segue_separate::{
    stem_paths, stems_pcm24, Device, DspSeparator, Frame, OnnxOptions, OnnxSeparator, Separator,
    Stems,
};

/// The file format of written stems.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StemFormat {
    /// 32-bit float WAV: the stems sum to the mix exactly.
    Wav,
    /// 24-bit FLAC: the stems sum to the mix rounded to 24 bits (exactly for 16- and 24-bit
    /// sources).
    Flac,
}

impl StemFormat {
    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            StemFormat::Wav => "wav",
            StemFormat::Flac => "flac",
        }
    }
}

/// Arguments of `segue separate`.
#[derive(clap::Args)]
pub struct SeparateArgs {
    /// Tracks to separate (a bad file is reported; the others are still separated).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write the stems into DIR/<track name>/ instead of beside each track.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
    /// Stem files: wav (32-bit float, sum exactly to the mix) or flac (24-bit, lossless;
    /// sum exactly to the mix of a 16- or 24-bit source, else to it rounded to 24 bits).
    #[arg(long, value_enum, default_value = "wav")]
    format: StemFormat,
    /// An htdemucs ONNX model (input `mix` [1,2,343980], output `stems` [1,4,2,343980];
    /// see the README for exporting one). Needs the ONNX Runtime library: `ORT_DYLIB_PATH`,
    /// beside the binary, or `target/onnxruntime/` from scripts/setup.sh.
    #[arg(long, value_name = "FILE.onnx")]
    model: Option<PathBuf>,
    /// Where to run: auto (GPU when usable, else CPU), cpu or cuda. The DSP separator's GPU
    /// path needs the CUDA driver and NVRTC (`libnvrtc.so`); an ONNX model on cuda needs the
    /// onnxruntime-gpu build of ONNX Runtime.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Register the stems of tracks that are in this library [default: $SEGUE_LIBRARY or
    /// ~/.local/share/segue/library.sqlite, when that file exists].
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Do not register the stems in the library.
    #[arg(long, conflicts_with = "db")]
    no_library: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: &SeparateArgs) -> anyhow::Result<ExitCode> {
    let device: Device = args.device.parse()?;
    let mut sep: Box<dyn Separator> = match &args.model {
        Some(model) => {
            let options = OnnxOptions {
                device,
                ..OnnxOptions::default()
            };
            let sep = OnnxSeparator::new(model, &options)?;
            if let Some(note) = sep.note() {
                eprintln!("segue separate: {note}");
            }
            Box::new(sep)
        }
        None => {
            match (device, segue_separate::cuda_usable()) {
                (Device::Cuda, Err(why)) => anyhow::bail!("--device cuda: {why}"),
                (Device::Auto, Err(why)) => {
                    eprintln!("segue separate: DSP separator on the CPU ({why})")
                }
                (Device::Cpu, _) => {}
                (_, Ok(())) => eprintln!("segue separate: DSP separator on the GPU (CUDA)"),
            }
            Box::new(DspSeparator::default().on(device))
        }
    };
    let lib = match (&args.db, args.no_library) {
        (_, true) => None,
        (Some(db), _) if !db.exists() => {
            anyhow::bail!(
                "no library at {} (run `segue library add DIR` first)",
                db.display()
            )
        }
        (Some(db), _) => Some(Library::open(db)?),
        (None, _) => {
            let db = crate::library::default_db();
            db.exists().then(|| Library::open(&db)).transpose()?
        }
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    Ok(crate::each_file(&args.files, |f| {
        let paths = stem_paths(f, args.out.as_deref(), args.format.ext());
        let bar = progress_bar(args.quiet, f);
        let done = separate_to(sep.as_mut(), f, &paths, args.format, &bar);
        bar.finish_and_clear();
        let done = done.map_err(|e| format!("{e:#}"))?;
        let mut msg = format!(
            "{}: {:.1} s separated ({}) in {:.2} s ({:.0}× real time) → {}",
            f.display(),
            done.secs,
            sep.name(),
            done.took,
            done.secs / done.took.max(1e-9),
            paths[0].with_file_name("").display()
        );
        if let Some(lib) = &lib {
            match register(lib, f, &paths, sep.name(), &done) {
                Ok(Some(id)) => msg += &format!("; registered in the library (track {id})"),
                Ok(None) if args.db.is_some() => msg += "; not in the library, not registered",
                Ok(None) => {}
                Err(e) => {
                    return Err(format!(
                        "{}: stems written, not registered: {e:#}",
                        f.display()
                    ))
                }
            }
        }
        Ok(msg)
    }))
}

/// A progress bar for separating `file` (hidden when `quiet` or stderr is no terminal).
pub(crate) fn progress_bar(quiet: bool, file: &Path) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1000)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix}{bar:40} {percent:>3}% {elapsed_precise} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    bar
}

/// What one separation did.
pub(crate) struct Separated {
    /// The track's rate and length in frames (the stems').
    pub rate: u32,
    pub frames: usize,
    /// The track's length and the separation's time, seconds.
    pub secs: f64,
    pub took: f64,
}

/// Decode `path`, separate it with `sep` (progress on `bar`) and write the four stems to
/// `paths` (their folder made if needed) in `format`.
pub(crate) fn separate_to(
    sep: &mut dyn Separator,
    path: &Path,
    paths: &[PathBuf; 4],
    format: StemFormat,
    bar: &ProgressBar,
) -> anyhow::Result<Separated> {
    let (audio, _) = segue_decode::decode_file_native(path)?;
    if audio.frames() == 0 {
        anyhow::bail!("{}: no audio in the file", path.display());
    }
    let t = Instant::now();
    let stems = sep.separate_with(&audio.mix, audio.sample_rate, &mut |f| {
        bar.set_position((f.clamp(0.0, 1.0) * 1000.0) as u64);
        true
    })?;
    let took = t.elapsed().as_secs_f64();
    write_stems(paths, audio.sample_rate, &audio.mix, &stems, format)?;
    Ok(Separated {
        rate: audio.sample_rate,
        frames: audio.frames(),
        secs: audio.duration_secs(),
        took,
    })
}

/// Write `stems` of `mix` to `paths` in `format` (see [`StemFormat`]).
fn write_stems(
    paths: &[PathBuf; 4],
    rate: u32,
    mix: &[Frame],
    stems: &Stems,
    format: StemFormat,
) -> anyhow::Result<()> {
    if let Some(dir) = paths[0].parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    match format {
        StemFormat::Wav => {
            for (p, s) in paths.iter().zip(stems) {
                write_wav(p, rate, s, WavFormat::Float32)?;
            }
        }
        StemFormat::Flac => {
            for (p, s) in paths.iter().zip(&stems_pcm24(mix, stems)) {
                write_flac_pcm(p, rate, 24, s)?;
            }
        }
    }
    Ok(())
}

/// Register `paths` as the stems of the library's track for `track` (by path, else by
/// content); `None` when the library does not know the track.
pub(crate) fn register(
    lib: &Library,
    track: &Path,
    paths: &[PathBuf; 4],
    separator: &str,
    done: &Separated,
) -> anyhow::Result<Option<TrackId>> {
    let entry = match lib.get(track)? {
        Some(e) => Some(e),
        None => {
            let hash = segue_library::content_hash(track)?;
            lib.get(TrackRef::Hash(&hash))?
        }
    };
    let Some(entry) = entry else {
        return Ok(None);
    };
    let mut files = paths.clone();
    for f in &mut files {
        *f = std::path::absolute(&*f)?;
    }
    lib.set_stems(
        entry.track.id,
        &StemFiles {
            files,
            separator: separator.into(),
            sample_rate: done.rate,
            frames: done.frames as u64,
            separated_at: 0,
        },
    )?;
    Ok(Some(entry.track.id))
}
