//! Writing stereo audio: WAV (32-bit float or 16-bit PCM) and FLAC (16-bit, lossless, via
//! the pure-Rust `flacenc`), and [`write_audio`], which picks the format from the file's
//! extension.

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
                WavFormat::Pcm16 => w.write_sample(pcm16(s)).map_err(err)?,
            }
        }
    }
    w.finalize().map_err(err)
}

/// A sample as 16-bit PCM: clamped to [-1, 1] (non-finite = 0), plain rounding, no dither.
fn pcm16(s: f32) -> i16 {
    let s = if s.is_finite() {
        s.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    (s * 32767.0).round() as i16
}

/// Write stereo frames to `path` as 16-bit FLAC at `sample_rate` (the same samples as
/// [`WavFormat::Pcm16`], losslessly compressed).
pub fn write_flac(path: &Path, sample_rate: u32, frames: &[Frame]) -> Result<(), SegueError> {
    let samples: Vec<[i32; 2]> = frames
        .iter()
        .map(|f| f.map(|s| i32::from(pcm16(s))))
        .collect();
    write_flac_pcm(path, sample_rate, 16, &samples)
}

/// Write integer stereo samples of `bits` bits (16 or 24: each in `−2^(bits−1) ..
/// 2^(bits−1)`, which the caller ensures) to `path` as FLAC at `sample_rate`. Decoded, a
/// sample `s` reads back as exactly `s / 2^(bits−1)`.
pub fn write_flac_pcm(
    path: &Path,
    sample_rate: u32,
    bits: u32,
    frames: &[[i32; 2]],
) -> Result<(), SegueError> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let fail = |reason: String| SegueError::WavWrite {
        path: path.to_path_buf(),
        reason,
    };
    if bits != 16 && bits != 24 {
        return Err(fail(format!("FLAC at {bits} bits: 16 or 24 only")));
    }
    let lim = 1i32 << (bits - 1);
    let samples: Vec<i32> = frames
        .iter()
        .flat_map(|f| f.map(|s| s.clamp(-lim, lim - 1)))
        .collect();
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| fail(format!("FLAC encoder settings: {e:?}")))?;
    let source =
        flacenc::source::MemSource::from_samples(&samples, 2, bits as usize, sample_rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| fail(format!("FLAC encoding: {e:?}")))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| fail(format!("FLAC stream: {e:?}")))?;
    let mut bytes = sink.as_slice().to_vec();
    // STREAMINFO's minimum block size excludes the last block (FLAC spec); flacenc counts
    // a short last block, which Symphonia (and so Segue itself) then refuses. With fixed
    // blocking the minimum is the maximum: bytes 8-9 ("fLaC", block header, min, max).
    if bytes.len() > 12 && &bytes[..4] == b"fLaC" && bytes[4] & 0x7f == 0 {
        let max = [bytes[10], bytes[11]];
        bytes[8..10].copy_from_slice(&max);
    }
    std::fs::write(path, bytes).map_err(|e| SegueError::io(path, e))
}

/// Write stereo frames to `path` in the format its extension names: `.flac` (16-bit FLAC)
/// or `.wav` (16-bit PCM). Anything else is an error that names the two.
pub fn write_audio(path: &Path, sample_rate: u32, frames: &[Frame]) -> Result<(), SegueError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("flac") => write_flac(path, sample_rate, frames),
        Some("wav") => write_wav(path, sample_rate, frames, WavFormat::Pcm16),
        _ => Err(SegueError::WavWrite {
            path: path.to_path_buf(),
            reason: "write audio as .wav or .flac".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flac_holds_the_same_samples_as_the_16_bit_wav() {
        let dir = std::env::temp_dir().join(format!("segue-flac-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let frames: Vec<Frame> = (0..20_000)
            .map(|i| {
                let t = i as f32 / 44_100.0;
                [
                    (t * 440.0 * std::f32::consts::TAU).sin() * 0.5,
                    (t * 660.0 * std::f32::consts::TAU).sin() * 0.7,
                ]
            })
            .collect();
        let (w, f) = (dir.join("a.wav"), dir.join("a.flac"));
        write_audio(&w, 44_100, &frames).unwrap();
        write_audio(&f, 44_100, &frames).unwrap();
        let (a, _) = crate::decode_file_native(&w).unwrap();
        let (b, info) = crate::decode_file_native(&f).unwrap();
        assert_eq!(info.container, "flac");
        assert_eq!(a.mix, b.mix);
        assert!(write_audio(&dir.join("a.mp3"), 44_100, &frames).is_err());
    }

    #[test]
    fn flac_24_bit_reads_back_as_the_samples_over_2_to_the_23() {
        let dir = std::env::temp_dir().join(format!("segue-flac24-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lim = 1i32 << 23;
        let mut x = 12_345u32;
        let mut samples: Vec<[i32; 2]> = (0..10_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let a = (x >> 8) as i32 - lim;
                [a, (a / 7).wrapping_neg()]
            })
            .collect();
        samples[0] = [-lim, lim - 1];
        let f = dir.join("b.flac");
        write_flac_pcm(&f, 48_000, 24, &samples).unwrap();
        let (b, info) = crate::decode_file_native(&f).unwrap();
        assert_eq!(info.container, "flac");
        assert_eq!(b.sample_rate, 48_000);
        assert_eq!(b.mix.len(), samples.len());
        for (got, want) in b.mix.iter().zip(&samples) {
            assert_eq!(*got, want.map(|s| s as f32 / lim as f32));
        }
        assert!(write_flac_pcm(&f, 48_000, 20, &samples).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
