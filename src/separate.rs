//! `segue separate FILE… [-o DIR] [--model M.onnx] [--device auto|cpu|cuda]`: stems beside
//! each track, named as the deck loader reads them (`<name>.{drums,bass,other,vocals}.wav`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use segue_decode::wav::{write_wav, WavFormat};
use segue_separate::{stem_paths, Device, DspSeparator, OnnxOptions, OnnxSeparator, Separator};

/// Arguments of `segue separate`.
#[derive(clap::Args)]
pub struct SeparateArgs {
    /// Tracks to separate (a bad file is reported; the others are still separated).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write the stems into this folder instead of beside each track.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
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
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    Ok(crate::each_file(&args.files, |f| {
        separate_one(sep.as_mut(), f, args.out.as_deref()).map_err(|e| format!("{e:#}"))
    }))
}

fn separate_one(
    sep: &mut dyn Separator,
    path: &Path,
    out: Option<&Path>,
) -> anyhow::Result<String> {
    let (audio, _) = segue_decode::decode_file_native(path)?;
    if audio.frames() == 0 {
        anyhow::bail!("{}: no audio in the file", path.display());
    }
    let t = Instant::now();
    let stems = sep.separate(&audio.mix, audio.sample_rate)?;
    let secs = t.elapsed().as_secs_f64();
    let paths = stem_paths(path, out);
    for (p, s) in paths.iter().zip(&stems) {
        write_wav(p, audio.sample_rate, s, WavFormat::Float32)?;
    }
    Ok(format!(
        "{}: {:.1} s separated ({}) in {secs:.2} s ({:.0}× real time) → {}",
        path.display(),
        audio.duration_secs(),
        sep.name(),
        audio.duration_secs() / secs.max(1e-9),
        paths[0].with_file_name("").display()
    ))
}
