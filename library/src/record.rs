//! Set recording for both shells: a writer thread drains the engine's
//! [`RecordTap`](segue_engine::record::RecordTap) ring to a WAV file and writes a cue sheet of
//! what was played beside it.
//!
//! * **Never in the audio thread's way**: the tap only copies into a preallocated ring; this
//!   thread does all file I/O. A slow or full disk fills the ring and the tap leaves blocks
//!   out (counted, [`RecordReport::dropped_frames`]); a write error ends the take with what
//!   was written kept.
//! * **Crash-safe**: the WAV header is rewritten every [`FLUSH_EVERY`] (hound's checkpoint
//!   `flush`), so after a crash or `kill -9` the file is valid up to the last flush. The cue
//!   sheet is rewritten at every track change.
//! * **Formats**: `.wav` (32-bit float: exactly the engine's master output) or `.flac`
//!   (16-bit; recorded to `NAME.flac.wav` first, encoded at stop, the WAV then removed).
//! * **Cue sheet** (`NAME.cue`): a `TRACK` per track that went on air (title, file, BPM,
//!   Camelot key, start time in the recording), from a `now_playing` function the shell
//!   passes (e.g. [`DeckService::now_playing`](crate::decks::DeckService::now_playing)).
//!
//! Must never: run on the audio thread, or block a shell's control path for long (start
//! and stop wait for the writer thread at most a few hundred milliseconds).

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use segue_engine::record::{RecordReader, RecordShared, NO_END};

use crate::SegueError;

/// How often the WAV header is checkpointed (what a crash can lose at most).
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// How long [`Recorder::stop`] waits for the audio thread to close the take.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The track on air, as a cue sheet entry needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct NowPlaying {
    /// Engine deck.
    pub deck: usize,
    /// The deck's load generation (a reload of the same file is a new entry).
    pub generation: u64,
    /// Display title.
    pub title: String,
    /// The file.
    pub path: Option<PathBuf>,
    /// Analysed tempo.
    pub bpm: Option<f64>,
    /// Camelot key.
    pub key: Option<String>,
}

/// One entry of a recording's cue sheet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CueEntry {
    /// Seconds into the recording.
    pub at: f64,
    /// Display title.
    pub title: String,
    /// The file.
    pub path: Option<PathBuf>,
    /// Analysed tempo.
    pub bpm: Option<f64>,
    /// Camelot key.
    pub key: Option<String>,
}

/// What a finished (or failed) take left on disk.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordReport {
    /// The audio file.
    pub path: PathBuf,
    /// The cue sheet beside it.
    pub cue: PathBuf,
    /// Engine frame of the first recorded frame.
    pub started_at: u64,
    /// Frames written.
    pub frames: u64,
    /// Sample rate.
    pub rate: u32,
    /// Frames the audio thread left out because the ring was full (slow disk).
    pub dropped_frames: u64,
    /// What was played.
    pub tracks: Vec<CueEntry>,
    /// Why the take ended early (a write error), if it did.
    pub error: Option<String>,
}

/// Where the recorder stands, for status queries.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct RecordState {
    /// A take is being written.
    pub recording: bool,
    /// Its file.
    pub path: Option<PathBuf>,
    /// Seconds written so far.
    pub seconds: f64,
    /// The last finished take.
    pub last: Option<RecordReport>,
}

/// A new take's file in `dir`: `segue-<unix time>.wav`, with `-2`, `-3`… when a file of
/// that name exists (two takes in one second never overwrite each other).
pub fn new_take_path(dir: &Path) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut path = dir.join(format!("segue-{secs}.wav"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("segue-{secs}-{n}.wav"));
        n += 1;
    }
    path
}

type NowFn = Box<dyn Fn() -> Option<NowPlaying> + Send>;

enum Ctl {
    Start(PathBuf, Sender<Result<(), SegueError>>),
    Stop(Sender<Result<RecordReport, SegueError>>),
}

/// The control side: start and stop takes; the writer thread does the rest.
pub struct Recorder {
    ctl: Sender<Ctl>,
    shared: Arc<RecordShared>,
    state: Arc<Mutex<RecordState>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Recorder {
    /// A recorder draining `reader` (engine rate `rate`), naming tracks with
    /// `now_playing`. Starts its writer thread.
    pub fn new(
        reader: RecordReader,
        rate: u32,
        now_playing: impl Fn() -> Option<NowPlaying> + Send + 'static,
    ) -> Result<Recorder, SegueError> {
        let (tx, rx) = bounded(4);
        let shared = reader.shared.clone();
        let state = Arc::new(Mutex::new(RecordState::default()));
        let st = state.clone();
        let now: NowFn = Box::new(now_playing);
        let thread = std::thread::Builder::new()
            .name("segue-record".into())
            .spawn(move || writer_loop(reader, rate, &rx, &st, &now))
            .map_err(|e| SegueError::io("segue-record thread", e))?;
        Ok(Recorder {
            ctl: tx,
            shared,
            state,
            thread: Some(thread),
        })
    }

    /// Start a take into `path` (`.wav` or `.flac`; its folder is created). Errors when a
    /// take runs already or the file cannot be created.
    pub fn start(&self, path: &Path) -> Result<(), SegueError> {
        let (tx, rx) = bounded(1);
        self.ctl
            .send(Ctl::Start(path.to_path_buf(), tx))
            .map_err(|_| gone(path))?;
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| gone(path))?
    }

    /// End the take: the file is finalised and the cue sheet written. Errors when no take
    /// runs.
    pub fn stop(&self) -> Result<RecordReport, SegueError> {
        let (tx, rx) = bounded(1);
        let p = Path::new("recording");
        self.ctl.send(Ctl::Stop(tx)).map_err(|_| gone(p))?;
        rx.recv_timeout(STOP_WAIT + Duration::from_secs(60))
            .map_err(|_| gone(p))?
    }

    /// Where it stands.
    pub fn state(&self) -> RecordState {
        lock(&self.state).clone()
    }

    /// A take is asked for (from [`start`](Self::start) until [`stop`](Self::stop) or a
    /// write error): one atomic load, allocation-free (for LEDs and the audio side).
    pub fn armed(&self) -> bool {
        self.shared.armed()
    }

    /// Frames the audio thread left out so far (ring full).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.state().recording {
            let _ = self.stop();
        }
        // Closing the channel ends the writer loop.
        let (tx, _) = bounded(1);
        drop(std::mem::replace(&mut self.ctl, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn gone(path: &Path) -> SegueError {
    SegueError::WavWrite {
        path: path.to_path_buf(),
        reason: "the recorder's writer thread is not running".into(),
    }
}

/// A take being written.
struct Take {
    /// What the user asked for (`.wav` or `.flac`).
    target: PathBuf,
    /// The WAV being written (the target, or `target.wav` for FLAC).
    wav_path: PathBuf,
    cue_path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<std::fs::File>>>,
    /// Take number the tap gives it (known once the audio thread started it).
    take: u64,
    started_at: Option<u64>,
    frames: u64,
    dropped_before: u64,
    last_flush: Instant,
    tracks: Vec<CueEntry>,
    on_air: Option<(usize, u64)>,
    error: Option<String>,
}

fn writer_loop(
    mut reader: RecordReader,
    rate: u32,
    rx: &Receiver<Ctl>,
    state: &Mutex<RecordState>,
    now: &NowFn,
) {
    let mut take: Option<Take> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(Ctl::Start(path, reply)) => {
                if take.is_some() {
                    let _ = reply.send(Err(SegueError::WavWrite {
                        path,
                        reason: "a recording is running already".into(),
                    }));
                    continue;
                }
                // Anything left from an earlier take that never closed.
                let stale = reader.ring.slots();
                if let Ok(c) = reader.ring.read_chunk(stale) {
                    c.commit_all();
                }
                match open_take(&path, rate, &reader.shared) {
                    Ok(t) => {
                        let mut s = lock(state);
                        s.recording = true;
                        s.path = Some(path);
                        s.seconds = 0.0;
                        drop(s);
                        take = Some(t);
                        reader.shared.arm(true);
                        let _ = reply.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Ok(Ctl::Stop(reply)) => {
                let Some(mut t) = take.take() else {
                    let _ = reply.send(Err(SegueError::WavWrite {
                        path: "recording".into(),
                        reason: "no recording is running".into(),
                    }));
                    continue;
                };
                reader.shared.arm(false);
                // Drain until the audio thread closed the take (or it is not running).
                let deadline = Instant::now() + STOP_WAIT;
                loop {
                    drain(&mut reader, &mut t, rate, now);
                    let closed = t.started_at.is_some() && reader.shared.take_end() != NO_END;
                    if (closed && t.frames >= reader.shared.take_end()) || t.writer.is_none() {
                        break;
                    }
                    if Instant::now() > deadline {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                let report = finish(t, rate, &reader.shared);
                let mut s = lock(state);
                s.recording = false;
                s.path = None;
                if let Ok(r) = &report {
                    s.last = Some(r.clone());
                }
                let _ = reply.send(report);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if let Some(t) = take.as_mut() {
            drain(&mut reader, t, rate, now);
            lock(state).seconds = t.frames as f64 / rate.max(1) as f64;
        }
    }
}

fn open_take(path: &Path, rate: u32, shared: &RecordShared) -> Result<Take, SegueError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let wav_path = match ext.as_deref() {
        Some("wav") => path.to_path_buf(),
        Some("flac") => PathBuf::from(format!("{}.wav", path.display())),
        _ => {
            return Err(SegueError::WavWrite {
                path: path.to_path_buf(),
                reason: "record to a .wav or .flac file".into(),
            })
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| SegueError::io(dir, e))?;
    }
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let writer = hound::WavWriter::create(&wav_path, spec).map_err(|e| SegueError::WavWrite {
        path: wav_path.clone(),
        reason: e.to_string(),
    })?;
    Ok(Take {
        target: path.to_path_buf(),
        cue_path: path.with_extension("cue"),
        wav_path,
        writer: Some(writer),
        take: shared.take() + 1,
        started_at: None,
        frames: 0,
        dropped_before: shared.dropped(),
        last_flush: Instant::now(),
        tracks: Vec::new(),
        on_air: None,
        error: None,
    })
}

/// Write what the ring holds, checkpoint the header, note a track change.
fn drain(reader: &mut RecordReader, t: &mut Take, rate: u32, now: &NowFn) {
    if t.started_at.is_none() && reader.shared.take() >= t.take {
        t.started_at = Some(reader.shared.started_at());
    }
    let n = reader.ring.slots();
    if n > 0 {
        let chunk = match reader.ring.read_chunk(n) {
            Ok(c) => c,
            Err(_) => return,
        };
        if let Some(w) = t.writer.as_mut() {
            let (a, b) = chunk.as_slices();
            let res = a
                .iter()
                .chain(b)
                .try_for_each(|f| w.write_sample(f[0]).and_then(|()| w.write_sample(f[1])));
            match res {
                Ok(()) => t.frames += n as u64,
                Err(e) => fail(t, e.to_string(), &reader.shared),
            }
        }
        chunk.commit_all();
    }
    if t.last_flush.elapsed() >= FLUSH_EVERY {
        t.last_flush = Instant::now();
        if let Some(w) = t.writer.as_mut() {
            if let Err(e) = w.flush() {
                fail(t, e.to_string(), &reader.shared);
            }
        }
    }
    if let Some(np) = now() {
        if t.on_air != Some((np.deck, np.generation)) {
            t.on_air = Some((np.deck, np.generation));
            t.tracks.push(CueEntry {
                at: t.frames as f64 / rate.max(1) as f64,
                title: np.title,
                path: np.path,
                bpm: np.bpm,
                key: np.key,
            });
            if let Err(e) = write_cue(t) {
                tracing::warn!("recording: {e}");
            }
        }
    }
}

/// A write failed (full disk, removed drive): keep what is on disk, stop writing, disarm.
fn fail(t: &mut Take, reason: String, shared: &RecordShared) {
    tracing::warn!("recording {}: {reason}", t.wav_path.display());
    shared.arm(false);
    if let Some(mut w) = t.writer.take() {
        // Best effort: the header as far as it got; the last checkpoint holds otherwise.
        let _ = w.flush();
        drop(w);
    }
    t.error = Some(reason);
}

fn finish(mut t: Take, rate: u32, shared: &RecordShared) -> Result<RecordReport, SegueError> {
    if let Some(w) = t.writer.take() {
        if let Err(e) = w.finalize() {
            t.error = Some(e.to_string());
        }
    }
    write_cue(&t)?;
    if t.target != t.wav_path && t.error.is_none() {
        let audio = segue_decode::decode_file(&t.wav_path, rate)?;
        segue_decode::wav::write_flac(&t.target, rate, &audio.mix)?;
        std::fs::remove_file(&t.wav_path).map_err(|e| SegueError::io(&t.wav_path, e))?;
    }
    Ok(RecordReport {
        path: if t.error.is_none() {
            t.target.clone()
        } else {
            t.wav_path.clone()
        },
        cue: t.cue_path.clone(),
        started_at: t.started_at.unwrap_or(0),
        frames: t.frames,
        rate,
        dropped_frames: shared.dropped() - t.dropped_before,
        tracks: t.tracks,
        error: t.error,
    })
}

/// The cue sheet: one `TRACK` per track that went on air, at its time in the recording.
fn write_cue(t: &Take) -> Result<(), SegueError> {
    let file = t
        .target
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let kind = if t.target == t.wav_path {
        "WAVE"
    } else {
        "FLAC"
    };
    let mut s = format!("REM COMMENT \"Recorded by Segue\"\nFILE \"{file}\" {kind}\n");
    for (i, e) in t.tracks.iter().enumerate() {
        let frames = (e.at * 75.0).round() as u64;
        s.push_str(&format!(
            "  TRACK {:02} AUDIO\n    TITLE \"{}\"\n    PERFORMER \"Segue\"\n",
            i + 1,
            e.title.replace('"', "'")
        ));
        if let Some(p) = &e.path {
            s.push_str(&format!(
                "    REM FILE \"{}\"\n",
                p.display().to_string().replace('"', "'")
            ));
        }
        if let Some(b) = e.bpm {
            s.push_str(&format!("    REM BPM {b:.2}\n"));
        }
        if let Some(k) = &e.key {
            s.push_str(&format!("    REM KEY {k}\n"));
        }
        s.push_str(&format!(
            "    INDEX 01 {:02}:{:02}:{:02}\n",
            frames / 75 / 60,
            frames / 75 % 60,
            frames % 75
        ));
    }
    std::fs::write(&t.cue_path, s).map_err(|e| SegueError::io(&t.cue_path, e))
}
