//! The Symphonia side of decoding: open the container, pick the audio track, decode every
//! packet and fold it to stereo at the file's own rate.
//!
//! Timing is kept even when data is damaged: a packet that fails to decode, or a run of packets
//! the demuxer skipped (its timestamps jump ahead), is replaced by silence of the same length,
//! so everything after it stays where the beatgrid expects it.

use std::fs::File;
use std::io;
use std::path::Path;

use segue_engine::Frame;
use symphonia::core::codecs::audio::well_known::CODEC_ID_PCM_S16LE;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::TimeBase;

use super::downmix::Downmix;
use super::{mp4_gapless, MAX_DURATION_SECS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use crate::{FrameSink, SegueError};

/// The most frames of silence one damaged packet may stand for (no codec Segue reads has
/// packets this long; a larger claimed duration is itself damage and is ignored).
const MAX_SILENCE_PER_PACKET: u64 = 1 << 16;

/// The longest run of skipped audio (seconds) that is filled with silence. A longer jump in
/// timestamps is a discontinuity of the stream, not lost packets, and is not filled.
const MAX_GAP_SECS: u64 = 10;

/// Below this many damaged packets a stream is never rejected as a whole.
const DAMAGED_PACKETS_TOLERATED: usize = 8;

/// Above this share of damaged packets (and [`DAMAGED_PACKETS_TOLERATED`]) the stream is
/// garbage rather than a good stream with a few bad spots.
const DAMAGED_SHARE_TOLERATED: f64 = 0.1;

/// At most this many frames are reserved up front from what the container claims (20 min at
/// 48 kHz); beyond it the buffer grows as audio actually arrives.
const MAX_RESERVE_FRAMES: u64 = 20 * 60 * 48_000;

/// Nor more than this many frames per byte of file, so a tiny file with a lying header
/// reserves next to nothing (real files stay under it: 128 kbit/s MP3 is under 3 frames a
/// byte).
const MAX_RESERVE_FRAMES_PER_BYTE: u64 = 8;

/// Stereo audio at the file's own rate, with what was learnt while decoding it.
pub(super) struct Decoded {
    /// The frames, unless they went to a sink as they decoded (then empty).
    pub mix: Vec<Frame>,
    /// How many frames decoded (`mix.len()` when they were kept).
    pub frames: usize,
    /// The frames went to the sink, not into `mix`.
    pub streamed: bool,
    pub rate: u32,
    pub channels: usize,
    pub container: &'static str,
    pub codec: &'static str,
    pub truncated: bool,
    /// The length the container or stream header states, frames at `rate` (before gapless
    /// trimming), when it states one.
    pub declared_frames: Option<u64>,
    pub damaged_packets: usize,
}

/// Where the frames of a file at the wanted rate go as they decode, instead of into
/// [`Decoded::mix`]: a sink and that rate.
pub(super) type StreamTo<'s> = Option<(&'s mut dyn FrameSink, u32)>;

/// Decode all of `file` (opened from `path`, `file_len` bytes long) to stereo at its own
/// sample rate. A file at the rate `stream_to` names, and that needs no trimming after
/// decoding (not MP4), is handed to its sink as it decodes.
pub(super) fn read_stereo(
    path: &Path,
    file: File,
    file_len: u64,
    mut stream_to: StreamTo<'_>,
) -> Result<Decoded, SegueError> {
    let reserve_limit =
        MAX_RESERVE_FRAMES.min(file_len.saturating_mul(MAX_RESERVE_FRAMES_PER_BYTE));
    let (format, opened_as_stream) = open_container(path, file)?;
    let first = decode_track(
        path,
        format,
        opened_as_stream,
        reserve_limit,
        reborrow(&mut stream_to),
    );
    if opened_as_stream || !matches!(first, Err(SegueError::Corrupt { .. })) {
        return first;
    }
    // Some demuxers that can seek trip over a file cut short before its first packet (isomp4
    // looks past the cut for the end of `mdat`); read as a plain stream they deliver what is
    // there. Otherwise the first verdict stands.
    File::open(path)
        .ok()
        .and_then(|file| open_stream(path, file).ok())
        .and_then(|format| {
            decode_track(path, format, true, reserve_limit, reborrow(&mut stream_to)).ok()
        })
        .map_or(first, Ok)
}

/// `stream_to` lent out again.
fn reborrow<'a>(stream_to: &'a mut StreamTo<'_>) -> StreamTo<'a> {
    match stream_to {
        Some((sink, rate)) => Some((&mut **sink, *rate)),
        None => None,
    }
}

/// Where [`decode_track`] puts the frames.
enum Out<'s> {
    /// Kept, all of them.
    Whole(Vec<Frame>),
    /// Handed to a sink as they decode; only their count is kept.
    Sink {
        sink: &'s mut dyn FrameSink,
        frames: usize,
    },
}

impl Out<'_> {
    /// Frames so far.
    fn len(&self) -> usize {
        match self {
            Out::Whole(mix) => mix.len(),
            Out::Sink { frames, .. } => *frames,
        }
    }

    /// `n` more frames, zeroed, for the caller to write.
    fn append(&mut self, n: usize) -> &mut [Frame] {
        match self {
            Out::Whole(mix) => {
                let start = mix.len();
                mix.resize(start + n, [0.0; 2]);
                &mut mix[start..]
            }
            Out::Sink { sink, frames } => {
                *frames += n;
                sink.append(n)
            }
        }
    }
}

/// Decode the audio track of an opened container. `cut` says the file already looked cut
/// short when it was opened; at most `reserve_limit` frames are reserved before decoding.
/// The frames go to `stream_to`'s sink (started afresh) when the track is at its rate and
/// is not MP4 (whose gapless trim is applied to the whole decoded track).
fn decode_track(
    path: &Path,
    mut format: Box<dyn FormatReader>,
    cut: bool,
    reserve_limit: u64,
    stream_to: StreamTo<'_>,
) -> Result<Decoded, SegueError> {
    let mut truncated = cut;
    let unsupported = |reason: String| SegueError::Unsupported {
        path: path.to_path_buf(),
        reason,
    };
    let corrupt = |reason: String| SegueError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };

    let container = format.format_info().short_name;

    let track = format
        .default_track(TrackType::Audio)
        .or_else(|| format.first_track(TrackType::Audio))
        .ok_or_else(|| unsupported(format!("the {container} file has no audio track")))?;
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let params: AudioCodecParameters = match &track.codec_params {
        Some(CodecParameters::Audio(p)) => p.clone(),
        _ => {
            return Err(unsupported(format!(
                "the {container} audio track has no codec parameters"
            )))
        }
    };
    let rate = params
        .sample_rate
        .ok_or_else(|| unsupported(format!("the {container} audio track has no sample rate")))?;
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        return Err(unsupported(format!(
            "sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz"
        )));
    }
    let ticks = Ticks::new(track.time_base, rate);
    let max_packet = params
        .max_frames_per_packet
        .map_or(MAX_SILENCE_PER_PACKET, |m| m.min(MAX_SILENCE_PER_PACKET));
    let max_frames = u64::from(MAX_DURATION_SECS) * u64::from(rate);
    let max_gap = MAX_GAP_SECS * u64::from(rate);
    let reserve = declared_frames.unwrap_or(0).min(reserve_limit);

    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default().gapless(true))
        .map_err(|e| match e {
            SymphoniaError::Unsupported(what) => {
                unsupported(format!("codec not supported ({what})"))
            }
            other => corrupt(format!("the codec setup is damaged: {other}")),
        })?;
    let codec = decoder.codec_info().short_name;
    // 16-bit little-endian stereo PCM (the common WAV) is converted straight from the packet
    // bytes into frames, as Symphonia's PCM decoder would (`s / 32768`, whole frames only),
    // without its planar buffer and the copies in and out of it.
    let pcm16_stereo = params.codec == CODEC_ID_PCM_S16LE
        && params.channels.as_ref().map(|c| c.count()) == Some(2)
        && params.bits_per_sample.unwrap_or(16) == 16
        && params.bits_per_coded_sample.unwrap_or(16) == 16;

    let mut mix = match stream_to {
        Some((sink, to)) => {
            sink.reset();
            if to == rate && container != "isomp4" {
                sink.reserve(reserve as usize);
                Out::Sink { sink, frames: 0 }
            } else {
                Out::Whole(Vec::with_capacity(reserve as usize))
            }
        }
        None => Out::Whole(Vec::with_capacity(reserve as usize)),
    };
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut downmix = Downmix::default();
    let mut channels = params.channels.as_ref().map_or(0, |c| c.count());
    let mut good_packets = 0usize;
    let mut damaged_packets = 0usize;
    // Timestamp (in time-base ticks) where the next packet should start.
    let mut next_pts: Option<i64> = None;

    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A chained stream (e.g. a new OGG link) changes the track list: the track Segue
            // was decoding has ended.
            Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::IoError(e)) if e.kind() != io::ErrorKind::UnexpectedEof => {
                return Err(SegueError::io(path, e));
            }
            // Cut short (EOF) or framing broken part-way: keep what decoded so far.
            Err(_) => {
                truncated = true;
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }

        // Packets the demuxer skipped over (resynchronising after damage) leave a jump in the
        // timestamps: fill it with silence so the rest of the track keeps its time.
        let pts = packet.pts.get();
        if let Some(expected) = next_pts {
            let gap = ticks.to_frames(pts.saturating_sub(expected).max(0) as u64);
            if gap > 0 && gap <= max_gap {
                damaged_packets += 1;
                mix.append(gap as usize);
            }
        }
        // Demuxers disagree on whether `dur` includes the gapless trim (MP3: yes, OGG: no), so
        // the next packet is expected no earlier than the end of both readings; only the first
        // and last packets carry trims.
        let span = packet
            .dur
            .get()
            .saturating_add(packet.trim_start.get())
            .saturating_add(packet.trim_end.get());
        next_pts = Some(pts.saturating_add(span.min(i64::MAX as u64) as i64));

        if pcm16_stereo {
            good_packets += 1;
            channels = 2;
            let sample = |b: &[u8]| i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0;
            let out = mix.append(packet.data.len() / 4).as_flattened_mut();
            let bytes = &packet.data[..out.len() * 2];
            // Eight samples at a time, so that the conversion vectorises.
            let (mut o, mut b) = (out.chunks_exact_mut(8), bytes.chunks_exact(16));
            for (o, b) in (&mut o).zip(&mut b) {
                for i in 0..8 {
                    o[i] = sample(&b[2 * i..]);
                }
            }
            for (o, b) in o
                .into_remainder()
                .iter_mut()
                .zip(b.remainder().chunks_exact(2))
            {
                *o = sample(b);
            }
            if mix.len() as u64 > max_frames {
                return Err(SegueError::TooLong {
                    path: path.to_path_buf(),
                    limit_secs: MAX_DURATION_SECS,
                });
            }
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                if buf.spec().rate() != rate {
                    // A stream that changes rate part-way is not one track; keep the first part.
                    truncated = true;
                    break;
                }
                good_packets += 1;
                channels = buf.spec().channels().count();
                downmix.update(buf.spec().channels());
                if downmix.is_stereo() && channels == 2 {
                    // Left and right as they are: converted and interleaved in one pass.
                    let out = mix.append(buf.frames()).as_flattened_mut();
                    buf.copy_to_slice_interleaved::<f32, _>(out);
                } else {
                    buf.copy_to_vecs_planar::<f32>(&mut planes);
                    downmix.mix_into(&planes, mix.append(buf.frames()));
                }
            }
            Err(SymphoniaError::DecodeError(_)) | Err(SymphoniaError::IoError(_)) => {
                damaged_packets += 1;
                let playable = packet
                    .dur
                    .get()
                    .saturating_sub(packet.trim_start.get())
                    .saturating_sub(packet.trim_end.get());
                let silence = ticks.to_frames(playable).min(max_packet);
                mix.append(silence as usize);
            }
            Err(SymphoniaError::Unsupported(what)) => {
                return Err(unsupported(format!(
                    "{codec} stream uses an unsupported feature ({what})"
                )));
            }
            Err(SymphoniaError::ResetRequired) => {
                // The decoder would need new parameters: the stream changed shape; keep what
                // decoded so far.
                truncated = true;
                break;
            }
            Err(other) => return Err(corrupt(format!("{codec} decoding failed: {other}"))),
        }
        if mix.len() as u64 > max_frames {
            return Err(SegueError::TooLong {
                path: path.to_path_buf(),
                limit_secs: MAX_DURATION_SECS,
            });
        }
    }

    let total_packets = good_packets + damaged_packets;
    if good_packets == 0 {
        return if damaged_packets > 0 || truncated {
            Err(corrupt(format!(
                "no {codec} audio could be decoded ({damaged_packets} damaged packets{})",
                if truncated { ", stream cut short" } else { "" }
            )))
        } else {
            Err(SegueError::Empty {
                path: path.to_path_buf(),
            })
        };
    }
    if damaged_packets > DAMAGED_PACKETS_TOLERATED
        && damaged_packets as f64 > DAMAGED_SHARE_TOLERATED * total_packets as f64
    {
        return Err(corrupt(format!(
            "{damaged_packets} of {total_packets} {codec} packets are damaged"
        )));
    }

    if let Some(declared) = declared_frames {
        // Ending well short of what the container declares (more than 1 % and a packet) means
        // the file was cut, even where the demuxer ended quietly.
        let missing = declared.saturating_sub(mix.len() as u64);
        truncated |= missing > declared / 100 + max_packet;
    }
    let (mix, frames, streamed) = match mix {
        Out::Whole(mut mix) => {
            if container == "isomp4" {
                trim_mp4(path, track_id, &ticks, declared_frames, &mut mix);
            }
            let frames = mix.len();
            (mix, frames, false)
        }
        Out::Sink { frames, .. } => (Vec::new(), frames, true),
    };
    if frames == 0 {
        return Err(SegueError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(Decoded {
        mix,
        frames,
        streamed,
        rate,
        channels,
        container,
        codec,
        truncated,
        declared_frames,
        damaged_packets,
    })
}

/// Probe `file` for its container. Returns the reader and whether it had to be opened as a
/// plain stream (which happens to files cut short, see below).
fn open_container(path: &Path, file: File) -> Result<(Box<dyn FormatReader>, bool), SegueError> {
    let first = match probe(path, Box::new(file)) {
        Ok(reader) => return Ok((reader, false)),
        Err(e) => probe_error(path, e),
    };
    // Some readers look at the end of a seekable file while opening it (OGG reads its last
    // page for the duration) and fail on a file that was cut short. Opened as a plain stream
    // they read from the start only, so the part that is there can still be decoded.
    if matches!(first, SegueError::Corrupt { .. }) {
        if let Some(reader) = File::open(path)
            .ok()
            .and_then(|file| open_stream(path, file).ok())
        {
            return Ok((reader, true));
        }
    }
    Err(first)
}

/// Probe `file` as a stream that cannot seek.
fn open_stream(path: &Path, file: File) -> Result<Box<dyn FormatReader>, SymphoniaError> {
    probe(path, Box::new(ReadOnlySource::new(file)))
}

/// Find the container of `source`, with the file's extension as a hint.
fn probe(
    path: &Path,
    source: Box<dyn MediaSource>,
) -> Result<Box<dyn FormatReader>, SymphoniaError> {
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mss = MediaSourceStream::new(source, Default::default());
    symphonia::default::get_probe().probe(
        &hint,
        mss,
        FormatOptions::default(),
        MetadataOptions::default(),
    )
}

/// The [`SegueError`] for a failure to open the container.
fn probe_error(path: &Path, e: SymphoniaError) -> SegueError {
    match e {
        // A container was recognised but a part it cannot do without is absent (MP4 cut
        // before its `moov` index, WAV without `data`): damage, not an unknown format. Symphonia
        // reports these as "unsupported ... missing ..."; a missing *marker* means the file is
        // something else under a familiar signature (an AVI is RIFF without WAVE).
        SymphoniaError::Unsupported(what)
            if what.contains("missing") && !what.contains("marker") =>
        {
            SegueError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("the container is incomplete ({what})"),
            }
        }
        SymphoniaError::Unsupported(what) if what.starts_with("core (probe)") => {
            SegueError::Unsupported {
                path: path.to_path_buf(),
                reason: "not audio, or in a container Segue does not read".to_owned(),
            }
        }
        SymphoniaError::Unsupported(what) => SegueError::Unsupported {
            path: path.to_path_buf(),
            reason: format!("the container uses a feature Segue does not read ({what})"),
        },
        SymphoniaError::IoError(e) if e.kind() != io::ErrorKind::UnexpectedEof => {
            SegueError::io(path, e)
        }
        other => SegueError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("the container header cannot be read: {other}"),
        },
    }
}

/// MP4 gapless: drop the encoder priming named by the edit list and keep at most the media
/// duration (see `mp4_gapless.rs`). A file the edit list cannot be read from is left as is.
fn trim_mp4(
    path: &Path,
    track_id: u32,
    ticks: &Ticks,
    declared_frames: Option<u64>,
    mix: &mut Vec<Frame>,
) {
    let priming = File::open(path)
        .ok()
        .and_then(|mut f| mp4_gapless::leading_trim(&mut f, track_id))
        .map_or(0, |t| ticks.to_frames(t));
    if let Some(declared) = declared_frames {
        mix.truncate(declared.min(usize::MAX as u64) as usize);
    }
    mix.drain(..(priming.min(mix.len() as u64) as usize));
}

/// Conversion from a track's time-base ticks to frames at its sample rate.
struct Ticks {
    /// Frames per tick as `numer / denom`; `None` when the track has no time base.
    ratio: Option<(u128, u128)>,
}

impl Ticks {
    fn new(time_base: Option<TimeBase>, rate: u32) -> Self {
        Self {
            ratio: time_base.map(|tb| {
                (
                    u128::from(tb.numer.get()) * u128::from(rate),
                    u128::from(tb.denom.get()),
                )
            }),
        }
    }

    /// `ticks` in frames (rounded down, saturating); zero without a time base.
    fn to_frames(&self, ticks: u64) -> u64 {
        self.ratio.map_or(0, |(numer, denom)| {
            (u128::from(ticks) * numer / denom).min(u128::from(u64::MAX)) as u64
        })
    }
}
