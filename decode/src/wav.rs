//! Writing stereo audio to WAV files (32-bit float or 16-bit PCM).

use std::path::Path;

use segue_engine::Frame;

use crate::SegueError;

/// Sample format of a written WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavFormat {
    /// 32-bit IEEE float: lossless for the engine's output.
    Float32,
    /// 16-bit PCM with plain rounding (no dither): what most players expect.
    Pcm16,
}

/// Write stereo frames to `path` at `sample_rate`. Samples are clamped to [-1, 1].
pub fn write_wav(
    path: &Path,
    sample_rate: u32,
    frames: &[Frame],
    format: WavFormat,
) -> Result<(), SegueError> {
    let err = |e: hound::Error| match e {
        hound::Error::IoError(io) => SegueError::io(path, io),
        other => SegueError::WavWrite {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    };
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate,
        bits_per_sample: match format {
            WavFormat::Float32 => 32,
            WavFormat::Pcm16 => 16,
        },
        sample_format: match format {
            WavFormat::Float32 => hound::SampleFormat::Float,
            WavFormat::Pcm16 => hound::SampleFormat::Int,
        },
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for f in frames {
        for &s in f {
            let s = if s.is_finite() {
                s.clamp(-1.0, 1.0)
            } else {
                0.0
            };
            match format {
                WavFormat::Float32 => w.write_sample(s).map_err(err)?,
                WavFormat::Pcm16 => w.write_sample((s * 32767.0).round() as i16).map_err(err)?,
            }
        }
    }
    w.finalize().map_err(err)
}
