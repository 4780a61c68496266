//! Behaviour of `segue_decode`: every supported format decodes to the engine rate with
//! the right length, channels and content; bad files give typed errors that name the file, and
//! nothing panics.
//!
//! The material is made here: a stereo test signal (0.25 s silence, 2.5 s of a 440 Hz sine on
//! the left and a 1000 Hz sine on the right, 0.25 s silence, at 44.1 kHz) written as WAV with
//! hound and encoded with the Debian tools `flac`, `lame`, `oggenc` (vorbis-tools) and `ffmpeg`.
//! A missing tool skips its test with a message, except under `CI`, where it fails and names the
//! package to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use segue_decode::SegueError;
use segue_decode::{
    decode_file, decode_file_streamed, decode_file_with_info, DecodedInfo, FrameSink,
    MAX_DURATION_SECS,
};
use segue_engine::Frame;

const RATE: u32 = 44_100;
/// Silence before and after the tone, in frames (0.25 s).
const LEAD: usize = 11_025;
/// Tone length in frames (2.5 s).
const TONE: usize = 110_250;
/// Whole signal in frames (3 s).
const LEN: usize = LEAD + TONE + LEAD;
const LEFT_HZ: f64 = 440.0;
const RIGHT_HZ: f64 = 1000.0;
const AMP: f64 = 0.5;

/// Gapless decoding gives the source length exactly for MP3 (LAME header), Vorbis and AAC in
/// M4A (edit list), and the tone starts and ends on the source's frames (measured: 0 frames
/// off for all three). A missing trim would be off by 1105 frames at the start of an MP3
/// (encoder + decoder delay) and 1024 for ffmpeg's AAC, and by hundreds at the end.
const GAPLESS_LEN_TOLERANCE: usize = 0;
/// Where the tone starts and ends in lossy gapless formats, in frames from the source's.
const GAPLESS_ONSET_TOLERANCE: usize = 2;

// --- scratch directories -------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("segue-decode-{}-{test}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// --- the test signal -------------------------------------------------------------------------

/// Quantise like a 16-bit file: what a lossless decode must give back.
fn q16(x: f64) -> f32 {
    (x * 32767.0).round() as i16 as f32 / 32768.0
}

fn tone(hz: f64, i: usize, rate: u32) -> f64 {
    AMP * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin()
}

/// The stereo reference, as 16-bit samples scaled to [-1, 1).
fn reference() -> Vec<Frame> {
    (0..LEN)
        .map(|i| {
            if (LEAD..LEAD + TONE).contains(&i) {
                let t = i - LEAD;
                [q16(tone(LEFT_HZ, t, RATE)), q16(tone(RIGHT_HZ, t, RATE))]
            } else {
                [0.0, 0.0]
            }
        })
        .collect()
}

/// Write interleaved 16-bit PCM from per-channel samples in [-1, 1).
fn write_wav16(path: &Path, rate: u32, channels: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..channels[0].len() {
        for ch in channels {
            w.write_sample((ch[i] * 32768.0) as i16)
                .expect("write sample");
        }
    }
    w.finalize().expect("finalize wav");
}

/// The reference as a 16-bit stereo WAV.
fn write_reference_wav(path: &Path) -> Vec<Frame> {
    let r = reference();
    let left = r.iter().map(|f| f[0]).collect::<Vec<_>>();
    let right = r.iter().map(|f| f[1]).collect::<Vec<_>>();
    write_wav16(path, RATE, &[left, right]);
    r
}

// --- encoders --------------------------------------------------------------------------------

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

/// Whether `tool` can be run; under `CI` a missing tool is a failure naming its package.
fn have(tool: &str, package: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("`{tool}` is not installed: install the Debian package `{package}` (apt-get install {package})");
    }
    eprintln!(
        "SKIPPED: `{tool}` not found; install the Debian package `{package}` to run this test"
    );
    false
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run encoder");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The lossy and lossless encodings of a WAV.
#[derive(Clone, Copy, Debug)]
enum Codec {
    Flac,
    Mp3,
    Vorbis,
    Aac,
    Alac,
    /// AAC in an M4A whose `moov` index comes before the audio (`-movflags +faststart`).
    AacFastStart,
    /// ALAC likewise.
    AlacFastStart,
}

impl Codec {
    /// Encode `wav` next to it; `None` (test skipped) if the encoder is missing.
    fn encode(self, wav: &Path) -> Option<PathBuf> {
        let (tool, package, ext) = match self {
            Codec::Flac => ("flac", "flac", "flac"),
            Codec::Mp3 => ("lame", "lame", "mp3"),
            Codec::Vorbis => ("oggenc", "vorbis-tools", "ogg"),
            Codec::Aac => ("ffmpeg", "ffmpeg", "aac.m4a"),
            Codec::Alac => ("ffmpeg", "ffmpeg", "alac.m4a"),
            Codec::AacFastStart => ("ffmpeg", "ffmpeg", "aac-faststart.m4a"),
            Codec::AlacFastStart => ("ffmpeg", "ffmpeg", "alac-faststart.m4a"),
        };
        if !have(tool, package) {
            return None;
        }
        let out = wav.with_extension(ext);
        let ffmpeg = |args: &[&str]| {
            let mut c = Command::new("ffmpeg");
            c.args(["-nostdin", "-loglevel", "error", "-y", "-i"])
                .arg(wav);
            c.args(args).arg(&out);
            c
        };
        const FASTSTART: [&str; 2] = ["-movflags", "+faststart"];
        match self {
            Codec::Flac => run(Command::new("flac")
                .args(["-s", "-f", "-o"])
                .arg(&out)
                .arg(wav)),
            Codec::Mp3 => run(Command::new("lame")
                .args(["--quiet", "-b", "192"])
                .arg(wav)
                .arg(&out)),
            Codec::Vorbis => run(Command::new("oggenc")
                .args(["-Q", "-q", "6", "-o"])
                .arg(&out)
                .arg(wav)),
            Codec::Aac => run(&mut ffmpeg(&["-c:a", "aac", "-b:a", "192k"])),
            Codec::Alac => run(&mut ffmpeg(&["-c:a", "alac"])),
            Codec::AacFastStart => run(&mut ffmpeg(&[
                "-c:a",
                "aac",
                "-b:a",
                "192k",
                FASTSTART[0],
                FASTSTART[1],
            ])),
            Codec::AlacFastStart => run(&mut ffmpeg(&["-c:a", "alac", FASTSTART[0], FASTSTART[1]])),
        }
        Some(out)
    }
}

// --- measurements ----------------------------------------------------------------------------

fn channel(audio: &[Frame], ch: usize) -> Vec<f32> {
    audio.iter().map(|f| f[ch]).collect()
}

/// Power of `x` at `hz` (Goertzel), normalised by length.
fn power_at(x: &[f32], hz: f64, rate: u32) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / rate as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = v as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (x.len() as f64 * x.len() as f64)
}

/// First and last frame where the channel reaches half the tone's amplitude.
fn tone_span(x: &[f32]) -> (usize, usize) {
    let loud = |v: &f32| v.abs() as f64 >= AMP / 2.0;
    let first = x.iter().position(loud).expect("the tone is there");
    let last = x.iter().rposition(loud).expect("the tone is there");
    (first, last)
}

/// The steady part of the tone at `rate` (ends trimmed to skip codec transients).
fn steady(x: &[f32], rate: u32) -> &[f32] {
    let scale = |n: usize| n * rate as usize / RATE as usize;
    &x[scale(LEAD) + rate as usize / 10..scale(LEAD + TONE) - rate as usize / 10]
}

/// Left carries 440 Hz and not 1000 Hz, right the opposite, each by at least 40 dB.
fn assert_channels_carry_their_tones(audio: &[Frame], rate: u32, what: &str) {
    for (ch, (own, other)) in [(LEFT_HZ, RIGHT_HZ), (RIGHT_HZ, LEFT_HZ)]
        .into_iter()
        .enumerate()
    {
        let x = channel(audio, ch);
        let x = steady(&x, rate);
        let (p_own, p_other) = (power_at(x, own, rate), power_at(x, other, rate));
        assert!(
            p_own > 1e4 * p_other,
            "{what}: channel {ch} has {p_own:e} at {own} Hz but {p_other:e} at {other} Hz"
        );
        // A full sine of amplitude A has Goertzel power A^2/4 by this normalisation. Lossy
        // encoders shift the level a little (LAME: -0.26 dB, i.e. -6 % in power).
        let expected = AMP * AMP / 4.0;
        assert!(
            (p_own / expected - 1.0).abs() < 0.1,
            "{what}: channel {ch} level is off: {p_own} vs {expected}"
        );
    }
}

/// The tone starts and ends where the reference's does, within `tol` frames (both channels).
fn assert_tone_aligned(audio: &[Frame], reference: &[Frame], tol: usize, what: &str) {
    for ch in 0..2 {
        let (got, want) = (
            tone_span(&channel(audio, ch)),
            tone_span(&channel(reference, ch)),
        );
        eprintln!(
            "{what}: channel {ch} tone starts {:+} and ends {:+} frames from the source's",
            got.0 as i64 - want.0 as i64,
            got.1 as i64 - want.1 as i64
        );
        assert!(
            got.0.abs_diff(want.0) <= tol && got.1.abs_diff(want.1) <= tol,
            "{what}: channel {ch} tone spans {got:?}, the source {want:?} (tolerance {tol})"
        );
    }
}

fn max_abs_diff(a: &[Frame], b: &[Frame]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x[0] - y[0]).abs().max((x[1] - y[1]).abs()))
        .fold(0.0, f32::max)
}

fn assert_names_file(err: &SegueError, path: &Path) {
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "error does not name the file: {text}"
    );
}

fn decode_info(path: &Path, rate: u32) -> (Vec<Frame>, DecodedInfo) {
    let (audio, info) =
        decode_file_with_info(path, rate).unwrap_or_else(|e| panic!("decode failed: {e}"));
    assert_eq!(audio.sample_rate, rate);
    assert!(audio.stems.is_none());
    check_streamed(path, rate, &audio.mix, &info);
    (audio.mix, info)
}

/// A [`FrameSink`] that keeps what it is given.
#[derive(Default)]
struct Collect {
    frames: Vec<Frame>,
    reserved: Option<usize>,
    resets: usize,
}

impl FrameSink for Collect {
    fn append(&mut self, n: usize) -> &mut [Frame] {
        let start = self.frames.len();
        self.frames.resize(start + n, [f32::NAN; 2]);
        // The decoder must be given zeros (it may leave silence unwritten).
        self.frames[start..].fill([0.0; 2]);
        &mut self.frames[start..]
    }

    fn reserve(&mut self, frames: usize) {
        self.reserved = Some(frames);
    }

    fn reset(&mut self) {
        self.frames.clear();
        self.reserved = None;
        self.resets += 1;
    }
}

/// `decode_file_streamed` of `path` gives `decode_file_with_info`'s frames (`mix`, to the
/// bit) and `info`: handed to the sink where the file is at `rate` and not MP4, else
/// returned whole.
fn check_streamed(path: &Path, rate: u32, mix: &[Frame], info: &DecodedInfo) {
    let mut sink = Collect::default();
    let (audio, streamed_info) = decode_file_streamed(path, rate, &mut sink)
        .unwrap_or_else(|e| panic!("streamed decode failed: {e}"));
    assert_eq!(&streamed_info, info, "{}", path.display());
    assert!(sink.resets >= 1, "the sink is started afresh");
    let bits = |m: &[Frame]| m.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
    let streams = info.source_rate == rate && info.container != "isomp4";
    match audio {
        None => {
            assert!(streams, "{}: streamed, {info:?}", path.display());
            assert_eq!(bits(&sink.frames), bits(mix), "{}", path.display());
            assert!(sink.reserved.is_some());
        }
        Some(audio) => {
            assert!(!streams, "{}: not streamed, {info:?}", path.display());
            assert_eq!(bits(&audio.mix), bits(mix), "{}", path.display());
        }
    }
}

/// A lossless encoding decodes back to the very samples of the source.
fn check_lossless(codec: Codec, container: &str, codec_name: &str) {
    let dir = Scratch::new(codec_name);
    let wav = dir.path("ref.wav");
    let reference = write_reference_wav(&wav);
    let Some(file) = codec.encode(&wav) else {
        return;
    };
    let (mix, info) = decode_info(&file, RATE);
    assert_eq!(mix.len(), LEN, "{codec:?} length");
    let diff = max_abs_diff(&mix, &reference);
    assert!(diff < 1e-4, "{codec:?} differs from the source by {diff}");
    assert_eq!((info.source_rate, info.source_channels), (RATE, 2));
    assert_eq!((info.container, info.codec), (container, codec_name));
    assert!(!info.truncated && info.damaged_packets == 0, "{info:?}");
}

/// A lossy encoding has the right channels, level and timing.
fn check_lossy(codec: Codec, len_tol: usize, onset_tol: usize) -> Option<(usize, DecodedInfo)> {
    let dir = Scratch::new(&format!("{codec:?}"));
    let wav = dir.path("ref.wav");
    let reference = write_reference_wav(&wav);
    let file = codec.encode(&wav)?;
    let (mix, info) = decode_info(&file, RATE);
    assert!(
        mix.len().abs_diff(LEN) <= len_tol,
        "{codec:?}: {} frames, the source has {LEN} (tolerance {len_tol})",
        mix.len()
    );
    assert_channels_carry_their_tones(&mix, RATE, &format!("{codec:?}"));
    assert_tone_aligned(&mix, &reference, onset_tol, &format!("{codec:?}"));
    assert!(!info.truncated && info.damaged_packets == 0, "{info:?}");
    Some((mix.len(), info))
}

// --- formats ---------------------------------------------------------------------------------

#[test]
fn wav_decodes_to_the_exact_source_samples() {
    let dir = Scratch::new("wav");
    let wav = dir.path("ref.wav");
    let reference = write_reference_wav(&wav);
    let (mix, info) = decode_info(&wav, RATE);
    assert_eq!(mix.len(), LEN);
    assert!(max_abs_diff(&mix, &reference) < 1e-4);
    assert_eq!(
        (info.container, info.codec, info.source_channels),
        ("wave", "pcm_s16le", 2)
    );
}

#[test]
fn float_wav_decodes_bit_exact() {
    let dir = Scratch::new("wav-float");
    let path = dir.path("float.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let frames: Vec<Frame> = (0..4410)
        .map(|i| {
            [
                tone(LEFT_HZ, i, RATE) as f32,
                -0.75 * tone(RIGHT_HZ, i, RATE) as f32,
            ]
        })
        .collect();
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    frames
        .iter()
        .flatten()
        .for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();
    let audio = decode_file(&path, RATE).unwrap();
    assert_eq!(audio.mix, frames);
}

#[test]
fn flac_decodes_to_the_exact_source_samples() {
    check_lossless(Codec::Flac, "flac", "flac");
}

#[test]
fn alac_in_m4a_decodes_to_the_exact_source_samples() {
    check_lossless(Codec::Alac, "isomp4", "alac");
}

#[test]
fn mp3_is_trimmed_gapless_to_the_source_length_and_timing() {
    if let Some((len, info)) =
        check_lossy(Codec::Mp3, GAPLESS_LEN_TOLERANCE, GAPLESS_ONSET_TOLERANCE)
    {
        assert_eq!((info.container, info.codec), ("mp3", "mp3"));
        eprintln!("mp3: {len} frames for a {LEN}-frame source");
    }
}

#[test]
fn ogg_vorbis_is_trimmed_gapless_to_the_source_length_and_timing() {
    if let Some((len, info)) = check_lossy(
        Codec::Vorbis,
        GAPLESS_LEN_TOLERANCE,
        GAPLESS_ONSET_TOLERANCE,
    ) {
        assert_eq!((info.container, info.codec), ("ogg", "vorbis"));
        eprintln!("vorbis: {len} frames for a {LEN}-frame source");
    }
}

#[test]
fn aac_in_m4a_is_trimmed_gapless_to_the_source_length_and_timing() {
    if let Some((len, info)) =
        check_lossy(Codec::Aac, GAPLESS_LEN_TOLERANCE, GAPLESS_ONSET_TOLERANCE)
    {
        assert_eq!((info.container, info.codec), ("isomp4", "aac"));
        eprintln!("aac: {len} frames for a {LEN}-frame source");
    }
}

#[test]
fn mono_files_are_duplicated_to_both_channels() {
    let dir = Scratch::new("mono");
    let wav = dir.path("mono.wav");
    let mono: Vec<f32> = (0..RATE as usize)
        .map(|i| q16(tone(LEFT_HZ, i, RATE)))
        .collect();
    write_wav16(&wav, RATE, std::slice::from_ref(&mono));
    let (mix, info) = decode_info(&wav, RATE);
    assert_eq!(info.source_channels, 1);
    assert_eq!(mix.len(), mono.len());
    assert!(mix
        .iter()
        .zip(&mono)
        .all(|(f, &m)| f[0] == f[1] && (f[0] - m).abs() < 1e-4));

    let mut encoded = vec![Codec::Flac.encode(&wav), Codec::Mp3.encode(&wav)];
    for file in encoded.drain(..).flatten() {
        let (mix, info) = decode_info(&file, RATE);
        assert_eq!(info.source_channels, 1, "{}", file.display());
        assert!(
            mix.iter().all(|f| f[0] == f[1]),
            "{} is not dual mono",
            file.display()
        );
        let p = power_at(&channel(&mix, 0)[4410..40_000], LEFT_HZ, RATE);
        assert!(
            (p / (AMP * AMP / 4.0) - 1.0).abs() < 0.1,
            "{}: level {p}",
            file.display()
        );
    }
}

#[test]
fn five_one_wav_is_downmixed_left_to_left_right_to_right_without_lfe() {
    let dir = Scratch::new("surround");
    let path = dir.path("surround.wav");
    let n = RATE as usize;
    let sine = |hz: f64| (0..n).map(|i| q16(tone(hz, i, RATE))).collect::<Vec<_>>();
    let silent = vec![0.0f32; n];
    // hound writes the WAVE_FORMAT_EXTENSIBLE mask FL FR FC LFE BL BR for six channels.
    let channels = [
        sine(LEFT_HZ),
        sine(RIGHT_HZ),
        silent.clone(),
        sine(60.0),
        silent.clone(),
        silent,
    ];
    write_wav16(&path, RATE, &channels);
    let (mix, info) = decode_info(&path, RATE);
    assert_eq!((info.source_channels, mix.len()), (6, n));
    let (left, right) = (channel(&mix, 0), channel(&mix, 1));
    let (left, right) = (&left[4410..n - 4410], &right[4410..n - 4410]);
    assert!(power_at(left, LEFT_HZ, RATE) > 1e4 * power_at(left, RIGHT_HZ, RATE));
    assert!(power_at(right, RIGHT_HZ, RATE) > 1e4 * power_at(right, LEFT_HZ, RATE));
    assert!(
        power_at(left, 60.0, RATE) < 1e-8,
        "LFE must not reach the stereo mix"
    );
    // The matrix is scaled so that nothing can clip: FL reaches L at 1 / (1 + 2 * 0.707).
    let peak = left.iter().fold(0.0f32, |m, &s| m.max(s.abs())) as f64;
    assert!(
        (peak - AMP / (1.0 + std::f64::consts::SQRT_2)).abs() < 1e-3,
        "peak {peak}"
    );
}

#[test]
fn resampling_44k1_to_48k_gives_the_rounded_length_and_keeps_pitch_and_timing() {
    let dir = Scratch::new("resample");
    let wav = dir.path("ref.wav");
    let reference = write_reference_wav(&wav);
    let (mix, info) = decode_info(&wav, 48_000);
    assert_eq!(info.source_rate, RATE);
    assert_eq!(
        mix.len(),
        (LEN * 48_000 + RATE as usize / 2) / RATE as usize
    ); // 144 000
    assert_channels_carry_their_tones(&mix, 48_000, "44.1 -> 48 kHz");
    // Pitch: the 440 Hz peak stays put (1 Hz either side has far less energy).
    let left = channel(&mix, 0);
    let left = steady(&left, 48_000);
    let p = |hz| power_at(left, hz, 48_000);
    assert!(p(440.0) > 20.0 * p(439.0) && p(440.0) > 20.0 * p(441.0));
    // Timing: the tone starts where it did, scaled to the new rate (no resampler delay).
    for ch in 0..2 {
        let (start, end) = tone_span(&channel(&mix, ch));
        let (ref_start, ref_end) = tone_span(&channel(&reference, ch));
        let scale = |i: usize| i as f64 * 48_000.0 / RATE as f64;
        assert!(
            (start as f64 - scale(ref_start)).abs() <= 2.0,
            "start {start}"
        );
        assert!((end as f64 - scale(ref_end)).abs() <= 2.0, "end {end}");
    }
}

#[test]
fn resampled_mp3_keeps_its_length_and_channels() {
    let dir = Scratch::new("resample-mp3");
    let wav = dir.path("ref.wav");
    write_reference_wav(&wav);
    let Some(mp3) = Codec::Mp3.encode(&wav) else {
        return;
    };
    let (mix, _) = decode_info(&mp3, 48_000);
    assert_eq!(mix.len(), 144_000);
    assert_channels_carry_their_tones(&mix, 48_000, "mp3 at 48 kHz");
}

#[test]
fn same_rate_is_not_resampled() {
    let dir = Scratch::new("same-rate");
    let path = dir.path("48k.wav");
    let x: Vec<f32> = (0..48_000).map(|i| q16(tone(LEFT_HZ, i, 48_000))).collect();
    write_wav16(&path, 48_000, &[x.clone(), x.clone()]);
    let audio = decode_file(&path, 48_000).unwrap();
    assert!(audio
        .mix
        .iter()
        .zip(&x)
        .all(|(f, &s)| f[0] == s && f[1] == s));
}

// --- bad input -------------------------------------------------------------------------------

/// A canonical 44-byte WAV header for 16-bit PCM claiming `data_len` bytes of data.
fn wav_header(channels: u16, rate: u32, bits: u16, data_len: u32) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    h.extend_from_slice(&block.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// Deterministic pseudo-random bytes (xorshift).
fn noise_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

fn expect_err(path: &Path) -> SegueError {
    let err = decode_file(path, RATE).expect_err("bad input must not decode");
    assert_names_file(&err, path);
    let streamed = decode_file_streamed(path, RATE, &mut Collect::default())
        .expect_err("bad input must not decode, streamed either");
    assert_eq!(streamed.to_string(), err.to_string());
    assert_eq!(
        std::mem::discriminant(&streamed),
        std::mem::discriminant(&err)
    );
    err
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = std::env::temp_dir().join("segue-decode-no-such-file.flac");
    match expect_err(&path) {
        SegueError::Io { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::NotFound),
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn directory_is_an_io_error() {
    let dir = Scratch::new("dir");
    assert!(matches!(expect_err(&dir.0), SegueError::Io { .. }));
}

#[test]
fn zero_byte_file_is_empty() {
    let dir = Scratch::new("zero");
    for name in ["empty.wav", "empty.mp3", "empty"] {
        let path = dir.path(name);
        std::fs::write(&path, b"").unwrap();
        assert!(
            matches!(expect_err(&path), SegueError::Empty { .. }),
            "{name}"
        );
    }
}

#[test]
fn wav_with_no_frames_is_empty() {
    let dir = Scratch::new("no-frames");
    let path = dir.path("silent.wav");
    std::fs::write(&path, wav_header(2, RATE, 16, 0)).unwrap();
    assert!(matches!(expect_err(&path), SegueError::Empty { .. }));
}

#[test]
fn wav_with_an_absurd_sample_rate_is_unsupported() {
    let dir = Scratch::new("odd-rate");
    for rate in [100, 5_000_000] {
        let path = dir.path(&format!("{rate}.wav"));
        let mut bytes = wav_header(2, rate, 16, 0xFFFF_FF00);
        bytes.extend(noise_bytes(4096, 3));
        std::fs::write(&path, bytes).unwrap();
        assert!(
            matches!(expect_err(&path), SegueError::Unsupported { .. }),
            "{rate} Hz"
        );
    }
}

#[test]
fn random_bytes_with_an_audio_name_are_unsupported() {
    let dir = Scratch::new("noise");
    for (i, name) in [
        "noise.mp3",
        "noise.wav",
        "noise.flac",
        "noise.m4a",
        "noise.ogg",
    ]
    .iter()
    .enumerate()
    {
        let path = dir.path(name);
        std::fs::write(
            &path,
            noise_bytes(64 * 1024, 0x9E37_79B9_7F4A_7C15 + i as u64),
        )
        .unwrap();
        assert!(
            matches!(expect_err(&path), SegueError::Unsupported { .. }),
            "{name}"
        );
    }
}

#[test]
fn text_file_is_unsupported() {
    let dir = Scratch::new("text");
    for name in ["notes.txt", "notes.mp3"] {
        let path = dir.path(name);
        std::fs::write(&path, "Track list\n1. Intro\n2. Outro\n".repeat(200)).unwrap();
        assert!(
            matches!(expect_err(&path), SegueError::Unsupported { .. }),
            "{name}"
        );
    }
}

#[test]
fn wav_cut_in_its_data_returns_the_decoded_prefix() {
    let dir = Scratch::new("cut-wav");
    let wav = dir.path("ref.wav");
    let reference = write_reference_wav(&wav);
    let bytes = std::fs::read(&wav).unwrap();
    let cut = dir.path("cut.wav");
    // Cut mid-frame: 44-byte header, then 50 000 whole frames and one stray byte.
    std::fs::write(&cut, &bytes[..44 + 50_000 * 4 + 1]).unwrap();
    let (mix, info) = decode_info(&cut, RATE);
    assert!(info.truncated);
    assert_eq!(mix.len(), 50_000);
    assert!(max_abs_diff(&mix, &reference[..50_000]) < 1e-4);
}

#[test]
fn wav_header_claiming_a_huge_size_returns_the_audio_really_there() {
    let dir = Scratch::new("huge-wav");
    let path = dir.path("huge.wav");
    let mut bytes = wav_header(2, RATE, 16, 0xFFFF_FF00);
    bytes.extend(noise_bytes(4 * RATE as usize, 7));
    std::fs::write(&path, bytes).unwrap();
    let (mix, info) = decode_info(&path, RATE);
    assert_eq!(mix.len(), RATE as usize);
    assert!(info.truncated);
}

#[test]
fn files_cut_inside_their_header_are_corrupt() {
    let dir = Scratch::new("cut-header");
    let wav = dir.path("ref.wav");
    write_reference_wav(&wav);
    let mut files = vec![(wav.clone(), 30)];
    if let Some(flac) = Codec::Flac.encode(&wav) {
        files.push((flac, 30));
    }
    if let Some(m4a) = Codec::Alac.encode(&wav) {
        files.push((m4a, 100));
    }
    for (file, keep) in files {
        let bytes = std::fs::read(&file).unwrap();
        let cut = dir.path(&format!(
            "cut-{}",
            file.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        match expect_err(&cut) {
            SegueError::Corrupt { .. } => {}
            other => panic!("{}: expected Corrupt, got {other:?}", cut.display()),
        }
    }
}

#[test]
fn files_cut_short_return_the_audio_before_the_cut() {
    let dir = Scratch::new("cut-short");
    let wav = dir.path("ref.wav");
    let reference = write_reference_wav(&wav);
    // Vorbis compresses the test tones so well that its headers are a third of the file: cut it
    // later so that audio pages remain.
    let cuts = [
        (Codec::Flac, 0.5),
        (Codec::Mp3, 0.5),
        (Codec::Vorbis, 0.75),
        (Codec::AlacFastStart, 0.5),
        (Codec::AacFastStart, 0.5),
    ];
    for (codec, keep) in cuts {
        let Some(file) = codec.encode(&wav) else {
            continue;
        };
        let bytes = std::fs::read(&file).unwrap();
        let cut = dir.path(&format!(
            "cut-{}",
            file.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&cut, &bytes[..(bytes.len() as f64 * keep) as usize]).unwrap();
        let (mix, info) = decode_info(&cut, RATE);
        let n = mix.len();
        assert!(info.truncated, "{codec:?}: {info:?}");
        assert!(n > LEN / 4 && n < LEN * 9 / 10, "{codec:?}: {n} frames");
        if matches!(codec, Codec::Flac | Codec::AlacFastStart) {
            assert!(
                max_abs_diff(&mix, &reference[..n]) < 1e-4,
                "{codec:?} prefix differs"
            );
        }
    }
}

#[test]
fn m4a_cut_before_its_index_is_corrupt() {
    // ffmpeg writes the `moov` index after the audio unless told otherwise: without it
    // nothing can be located, so there is no prefix to return.
    let dir = Scratch::new("cut-m4a");
    let wav = dir.path("ref.wav");
    write_reference_wav(&wav);
    for codec in [Codec::Alac, Codec::Aac] {
        let Some(file) = codec.encode(&wav) else {
            return;
        };
        let bytes = std::fs::read(&file).unwrap();
        let cut = dir.path(&format!(
            "cut-{}",
            file.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        assert!(
            matches!(expect_err(&cut), SegueError::Corrupt { .. }),
            "{codec:?}"
        );
    }
}

#[test]
fn damaged_flac_frame_becomes_silence_of_its_length() {
    let dir = Scratch::new("damaged-flac");
    let wav = dir.path("ref.wav");
    let reference = write_reference_wav(&wav);
    let Some(flac) = Codec::Flac.encode(&wav) else {
        return;
    };
    let mut bytes = std::fs::read(&flac).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 64].iter_mut().for_each(|b| *b ^= 0x5A);
    let damaged = dir.path("damaged.flac");
    std::fs::write(&damaged, &bytes).unwrap();
    let (mix, info) = decode_info(&damaged, RATE);
    assert_eq!(mix.len(), LEN);
    assert!(info.damaged_packets >= 1);
    // What follows the damage is where it was, sample for sample.
    let tail = LEN - 30_000;
    assert!(max_abs_diff(&mix[tail..], &reference[tail..]) < 1e-4);
}

#[test]
fn more_than_three_hours_is_refused() {
    let dir = Scratch::new("too-long");
    let path = dir.path("long.wav");
    // 8-bit mono at 1 kHz keeps the file small: 3 h + 1 s is 10.8 MB.
    let frames = (MAX_DURATION_SECS + 1) * 1000;
    let mut bytes = wav_header(1, 1000, 8, frames);
    bytes.resize(bytes.len() + frames as usize, 128);
    std::fs::write(&path, bytes).unwrap();
    match expect_err(&path) {
        SegueError::TooLong { limit_secs, .. } => assert_eq!(limit_secs, MAX_DURATION_SECS),
        other => panic!("expected TooLong, got {other:?}"),
    }
    // Streamed at its own rate, too.
    match decode_file_streamed(&path, 1000, &mut Collect::default()) {
        Err(SegueError::TooLong { limit_secs, .. }) => assert_eq!(limit_secs, MAX_DURATION_SECS),
        other => panic!("expected TooLong, got {:?}", other.map(|(_, info)| info)),
    }
}

#[test]
fn target_rate_out_of_range_is_a_resample_error() {
    let dir = Scratch::new("bad-target");
    let wav = dir.path("ref.wav");
    write_reference_wav(&wav);
    for rate in [0, 10, 10_000_000] {
        let err = decode_file(&wav, rate).expect_err("bad target rate");
        assert!(
            matches!(err, SegueError::Resample { to, .. } if to == rate),
            "{err:?}"
        );
        assert_names_file(&err, &wav);
    }
}

#[test]
fn mutated_files_never_panic_and_errors_name_the_file() {
    let dir = Scratch::new("fuzz");
    let wav = dir.path("ref.wav");
    write_reference_wav(&wav);
    let mut files = vec![wav.clone()];
    files.extend(
        [
            Codec::Flac,
            Codec::Mp3,
            Codec::Vorbis,
            Codec::Aac,
            Codec::Alac,
        ]
        .into_iter()
        .filter_map(|c| c.encode(&wav)),
    );
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    for file in files {
        let original = std::fs::read(&file).unwrap();
        let ext = file.extension().unwrap().to_string_lossy().into_owned();
        for round in 0..24 {
            let mut bytes = original.clone();
            let noise = noise_bytes(64, seed);
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // Early rounds hit the headers, later ones anywhere; every third also truncates.
            let span = if round < 12 {
                bytes.len().min(4096)
            } else {
                bytes.len()
            };
            for pair in noise.chunks(4) {
                let at = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]) as usize % span;
                bytes[at] = pair[0] ^ pair[3];
            }
            if round % 3 == 2 {
                bytes.truncate(noise[5] as usize * bytes.len() / 256);
            }
            let path = dir.path(&format!("mutant-{round}.{ext}"));
            std::fs::write(&path, &bytes).unwrap();
            if let Err(e) = decode_file(&path, 48_000) {
                assert_names_file(&e, &path);
            }
        }
    }
}
