//! Decoding audio files into [`TrackAudio`]: f32 stereo at the engine rate.
//!
//! [`decode_file`] reads WAV, FLAC, MP3, OGG Vorbis, AAC (M4A/MP4) and ALAC (M4A) with
//! Symphonia, folds any channel layout to stereo (mono is duplicated to both sides, 5.1-style
//! layouts use the ITU-R BS.775 downmix; see `downmix.rs`) and, when the file's rate differs from
//! the one asked for, resamples the whole file with rubato to exactly `round(len * to / from)`
//! frames with no added delay (see `resample.rs`).
//!
//! Decoding is gapless: encoder delay and padding are trimmed, so a decoded file lines up with
//! the audio that was encoded, to the sample. MP3 (LAME/Xing header), OGG Vorbis and FLAC are
//! trimmed by Symphonia; for MP4/M4A, which Symphonia 0.6 leaves untrimmed, the edit list and
//! media duration are applied here (see `mp4_gapless.rs`).
//!
//! Must never: panic on any input, or hold more than [`MAX_DURATION_SECS`] of audio for one
//! file. Bad files are an expected case and come back as a [`SegueError`] naming the file:
//!
//! | Input                                              | Result                                 |
//! |----------------------------------------------------|----------------------------------------|
//! | missing path, unreadable file, a directory         | [`SegueError::Io`]                    |
//! | 0-byte file, or a valid container with no frames   | [`SegueError::Empty`]                 |
//! | not audio, unknown container, unsupported codec    | [`SegueError::Unsupported`]           |
//! | container cut or damaged before any audio decodes  | [`SegueError::Corrupt`]               |
//! | (e.g. an M4A cut before its `moov` index)          |                                        |
//! | no packet decodes, or over 10 % of them are damaged | [`SegueError::Corrupt`]              |
//! | data cut short after some audio decoded            | `Ok`: the decoded prefix, `truncated`  |
//! | a few damaged or lost packets                      | `Ok`: silence in their place           |
//! | more than [`MAX_DURATION_SECS`] of audio           | [`SegueError::TooLong`]               |
//! | a sample rate outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] | [`SegueError::Unsupported`] |
//! | a target rate outside that range                   | [`SegueError::Resample`]              |
//! | the decoder panics (a bug in it)                   | [`SegueError::Corrupt`]               |
//!
//! *Truncated* ([`DecodedInfo::truncated`]) means the stream ended before the container said
//! it would (a WAV header claiming more data than the file holds, a download cut short), or its
//! framing broke part-way: everything decoded up to that point is returned. A file whose
//! container cannot be read at all is an error, not an empty prefix. *Damaged* packets
//! ([`DecodedInfo::damaged_packets`]) — ones that fail to decode, or that the demuxer skipped
//! while resynchronising — are replaced by silence of their length, so the rest of the track
//! keeps its timing and its beatgrid stays valid.
//!
//! ```no_run
//! use std::path::Path;
//! let track = segue_decode::decode_file(Path::new("set/track01.flac"), 48_000)?;
//! assert_eq!(track.sample_rate, 48_000);
//! # Ok::<(), segue_decode::SegueError>(())
//! ```

#![forbid(unsafe_code)]

mod downmix;
mod error;
mod mp4_gapless;
mod read;
mod resample;
pub mod wav;

use std::fs::File;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use segue_engine::{Frame, TrackAudio};

pub use error::{SegueError, Unanalysable};

/// The longest audio [`decode_file`] accepts, in seconds (3 hours). Longer files give
/// [`SegueError::TooLong`] instead of an allocation the machine may not survive.
pub const MAX_DURATION_SECS: u32 = 3 * 60 * 60;

/// The lowest sample rate (Hz) accepted, for files and for the target.
pub const MIN_SAMPLE_RATE: u32 = 1_000;

/// The highest sample rate (Hz) accepted, for files and for the target.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// What [`decode_file_with_info`] learnt about the file on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodedInfo {
    /// The file's own sample rate in Hz, before resampling.
    pub source_rate: u32,
    /// The file's channel count, before the stereo downmix.
    pub source_channels: usize,
    /// Length in frames at the file's own rate, after gapless trimming.
    pub source_frames: usize,
    /// Symphonia's short name of the container (`"wave"`, `"flac"`, `"isomp4"`...).
    pub container: &'static str,
    /// Symphonia's short name of the codec (`"mp3"`, `"aac"`, `"alac"`, `"vorbis"`...).
    pub codec: &'static str,
    /// The stream ended early or its framing broke: the audio is the prefix that decoded.
    pub truncated: bool,
    /// The length the file's header states, in frames at the file's own rate (before
    /// gapless trimming), when it states one (WAV data size, FLAC STREAMINFO, an MP3's
    /// Xing/LAME header, MP4 `mdhd`...).
    pub stated_frames: Option<u64>,
    /// Packets that failed to decode, and runs of packets the demuxer skipped over, each
    /// replaced by silence of its length.
    pub damaged_packets: usize,
}

impl DecodedInfo {
    /// Seconds of audio decoded, at the file's own rate.
    pub fn decoded_secs(&self) -> f64 {
        self.source_frames as f64 / self.source_rate.max(1) as f64
    }

    /// Seconds the file's header states, when it states a length.
    pub fn stated_secs(&self) -> Option<f64> {
        self.stated_frames
            .map(|f| f as f64 / self.source_rate.max(1) as f64)
    }

    /// A note for the user when the file ends before its header's stated length (or its
    /// stream breaks off): `None` for a whole file.
    pub fn truncation_note(&self) -> Option<String> {
        if !self.truncated {
            return None;
        }
        let got = self.decoded_secs();
        Some(match self.stated_secs() {
            Some(stated) if stated > got => format!(
                "the file ends after {got:.2} s of audio, before the {stated:.2} s its header states"
            ),
            _ => format!("the stream breaks off after {got:.2} s of audio"),
        })
    }
}

/// Decode the audio file at `path` to stereo f32 at `target_rate` Hz.
///
/// The format is found from the file's content (the extension is only a hint). Errors name the
/// file and the reason; see the [module docs](self) for which error each kind of bad input gives.
pub fn decode_file(path: &Path, target_rate: u32) -> Result<TrackAudio, SegueError> {
    decode_file_with_info(path, target_rate).map(|(audio, _)| audio)
}

/// [`decode_file`], also returning the file's own rate, channel count, codec and whether it was
/// truncated or damaged.
pub fn decode_file_with_info(
    path: &Path,
    target_rate: u32,
) -> Result<(TrackAudio, DecodedInfo), SegueError> {
    decode_to(path, Some(target_rate))
}

/// Where [`decode_file_streamed`] hands the frames of a file as they decode, so that a
/// caller that reads the audio once (the analysis) need not hold all of it in stereo.
pub trait FrameSink {
    /// Room for `n` more frames, zeroed, right after those appended so far: the decoder
    /// writes them there before it asks for more. Frames, once written, are final.
    fn append(&mut self, n: usize) -> &mut [Frame];
    /// About how many frames the file says it holds (a hint for reserving, possibly
    /// wrong, possibly 0 for unknown); given before the first [`append`](Self::append).
    fn reserve(&mut self, _frames: usize) {}
    /// Forget every frame appended: the decoding starts over from the first frame.
    fn reset(&mut self);
}

/// [`decode_file_with_info`] that hands the frames to `sink` as they decode instead of
/// keeping them, when it can: for a file at `target_rate` that needs no trimming once decoded
/// (every format but MP4/M4A, whose gapless trim is applied to the whole track), it returns
/// `None` and the file's frames are exactly those `sink` was given since its last
/// [`FrameSink::reset`] — the frames [`decode_file`] would return. Otherwise the
/// track comes back as [`decode_file_with_info`] gives it (resampled to `target_rate`) and
/// what `sink` was given means nothing. On an error, what `sink` was given means nothing.
pub fn decode_file_streamed(
    path: &Path,
    target_rate: u32,
    sink: &mut dyn FrameSink,
) -> Result<(Option<TrackAudio>, DecodedInfo), SegueError> {
    decode_with(path, Some(target_rate), Some((sink, target_rate)))
}

/// [`decode_file`] at the file's own rate (no resampling): what a caller decodes once when it
/// needs the track at two rates (a deck at the engine rate and the analysis at its own), each
/// then made with [`resample_track`] exactly as [`decode_file`] would.
pub fn decode_file_native(path: &Path) -> Result<(TrackAudio, DecodedInfo), SegueError> {
    decode_to(path, None)
}

/// The mix of `audio` resampled to `to` Hz (stems are not carried over), exactly as
/// [`decode_file`] resamples a file; `path` names the track in errors. A track already at
/// `to` Hz comes back as a copy.
pub fn resample_track(audio: &TrackAudio, to: u32, path: &Path) -> Result<TrackAudio, SegueError> {
    let err = |reason: String| SegueError::Resample {
        path: path.to_path_buf(),
        from: audio.sample_rate,
        to,
        reason,
    };
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&to) {
        return Err(err(format!(
            "the target rate must be {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz"
        )));
    }
    if audio.sample_rate == to {
        return Ok(TrackAudio::new(to, audio.mix.clone()));
    }
    let mix = resample::resample(&audio.mix, audio.sample_rate, to).map_err(err)?;
    if mix.is_empty() {
        return Err(SegueError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(TrackAudio::new(to, mix))
}

fn decode_to(path: &Path, target: Option<u32>) -> Result<(TrackAudio, DecodedInfo), SegueError> {
    decode_with(path, target, None)
        .map(|(audio, info)| (audio.expect("nothing is streamed without a sink"), info))
}

/// [`decode_to`], handing the frames to `stream_to`'s sink where it can (then `None`; see
/// [`decode_file_streamed`]).
fn decode_with(
    path: &Path,
    target: Option<u32>,
    stream_to: read::StreamTo<'_>,
) -> Result<(Option<TrackAudio>, DecodedInfo), SegueError> {
    if let Some(target_rate) = target.filter(|r| !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(r)) {
        return Err(SegueError::Resample {
            path: path.to_path_buf(),
            from: 0,
            to: target_rate,
            reason: format!("the target rate must be {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz"),
        });
    }
    let file = File::open(path).map_err(|e| SegueError::io(path, e))?;
    let meta = file.metadata().map_err(|e| SegueError::io(path, e))?;
    if !meta.is_file() {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
        return Err(SegueError::io(path, e));
    }
    if meta.len() == 0 {
        return Err(SegueError::Empty {
            path: path.to_path_buf(),
        });
    }

    // Last line of defence: a panic inside a decoder is a bug there, but for us it is just a
    // file we cannot read. Nothing from inside the closure survives a panic, so observing
    // broken state is impossible and `AssertUnwindSafe` is sound.
    let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
        read::read_stereo(path, file, meta.len(), stream_to)
    }))
    .unwrap_or_else(|payload| {
        Err(SegueError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("the decoder crashed: {}", panic_message(&*payload)),
        })
    })?;

    let info = DecodedInfo {
        source_rate: decoded.rate,
        source_channels: decoded.channels,
        source_frames: decoded.frames,
        container: decoded.container,
        codec: decoded.codec,
        truncated: decoded.truncated,
        stated_frames: decoded.declared_frames,
        damaged_packets: decoded.damaged_packets,
    };
    if decoded.streamed {
        return Ok((None, info));
    }
    let target_rate = target.unwrap_or(decoded.rate);
    let mix = if decoded.rate == target_rate {
        decoded.mix
    } else {
        resample::resample(&decoded.mix, decoded.rate, target_rate).map_err(|reason| {
            SegueError::Resample {
                path: path.to_path_buf(),
                from: decoded.rate,
                to: target_rate,
                reason,
            }
        })?
    };
    if mix.is_empty() {
        // A few frames can round to none at a much lower rate.
        return Err(SegueError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((Some(TrackAudio::new(target_rate, mix)), info))
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_recovered_from_the_payload() {
        let fixed = panic::catch_unwind(|| panic!("fixed text")).unwrap_err();
        let formatted = panic::catch_unwind(|| panic!("packet {}", 7)).unwrap_err();
        assert_eq!(panic_message(&*fixed), "fixed text");
        assert_eq!(panic_message(&*formatted), "packet 7");
    }
}
