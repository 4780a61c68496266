//! # segue-daemon
//!
//! The headless performance host behind `segue serve`: it runs the engine on an audio
//! backend (JACK, ALSA through cpal, a timer-clocked null device, or a WAV file), takes
//! control over OSC (UDP, loopback by default), loads tracks through a loader thread and
//! the background analysis worker (results go to the library and to the decks), sends a
//! lighting/VJ feed timed to when beats are heard, and a MIDI clock. MIDI controllers are
//! its own too ([`midi`]): the JACK backend's `midi_in` runs through a `segue-controllers`
//! mapping (`midi.mapping`), commands timed to the frame each event arrived at.
//!
//! Must never: put its own logic on the audio path (the callback renders the engine, moves
//! MIDI bytes through preallocated rings and publishes the clock; it never allocates,
//! frees, locks, blocks, logs or panics — checked with `assert_no_alloc` in debug builds
//! and counted in `/segue/query/stats`), or crash on input from the network or a
//! controller (malformed OSC is counted, logged rate-limited and dropped).
//!
//! ```no_run
//! use segue_daemon::{serve, Config, ServeOptions};
//! let config = Config { music_root: vec!["/music".into()], ..Config::default() };
//! serve(ServeOptions { config, stop: None }).unwrap(); // until SIGINT/SIGTERM
//! ```
#![deny(missing_docs)]

// Unit tests check allocation-free paths (MIDI dispatch) with assert_no_alloc.
#[cfg(test)]
#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

pub mod audio;
pub mod browse;
pub mod config;
mod error;
pub mod feed;
pub mod link;
pub mod midi;
pub mod osc;
mod roots;
mod session;
mod state;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use segue_engine::{Engine, EngineConfig};

pub use config::{BackendKind, Config, DeckTapKind, JackConfig, LinkConfig, MidiConfig, RecordBus};
pub use error::DaemonError;
pub use link::LinkMode;
pub use roots::MusicRoots;

use audio::{AlsaBackend, AudioShared, Backend, EngineCell, FileBackend, JackBackend, NullBackend};

/// How to run [`serve`].
pub struct ServeOptions {
    /// The effective configuration (`library` should be set by the caller to its default).
    pub config: Config,
    /// Stop when this becomes true (in addition to SIGINT/SIGTERM); for embedding and tests.
    pub stop: Option<Arc<AtomicBool>>,
}

/// Run the daemon until SIGINT or SIGTERM (or `options.stop`): start the engine on the
/// backend, the worker, OSC, the feed and MIDI; on the signal stop the audio, finish the
/// WAV file, close the library, and return `Ok(())`.
pub fn serve(options: ServeOptions) -> Result<(), DaemonError> {
    let ServeOptions { config, stop } = options;
    config.validate()?;
    let controller = match &config.midi.mapping {
        Some(path) => {
            let mapping = midi::load_mapping(path)?;
            tracing::info!("MIDI mapping {} (\"{}\")", path.display(), mapping.name);
            Some(segue_controllers::Controller::new(mapping, config.decks))
        }
        None => {
            tracing::info!(
                "no MIDI mapping configured: one of the shipped mappings is picked by the name \
                 of the port connected to midi_in"
            );
            None
        }
    };
    let auto_mapping = config.midi.mapping.is_none();
    let roots = MusicRoots::new(&config.music_root)?;
    let allow = config.allow_list()?;
    let stop = stop.unwrap_or_default();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| DaemonError::Other(format!("cannot install a signal handler: {e}")))?;
    }

    // JACK decides the rate and block size.
    let jack_client = if config.backend == BackendKind::Jack {
        Some(audio::jack::probe(&config.jack.client_name)?)
    } else {
        None
    };
    let (rate, buffer) = match &jack_client {
        Some((_, rate, buffer)) => (*rate, *buffer),
        None => (config.rate, config.buffer),
    };
    let parts = Engine::new(EngineConfig {
        sample_rate: rate,
        max_block: buffer.clamp(16, 8192).max(1024),
        decks: config.decks,
        ..EngineConfig::default()
    })?;
    let collector = parts
        .collector
        .spawn()
        .map_err(|e| DaemonError::Other(format!("cannot start the collector: {e}")))?;
    // Eight seconds of master output between the audio thread and the recorder's disk.
    let (record_tap, record_reader) = segue_engine::record::record_tap(rate as usize * 8);
    let cell = Arc::new(EngineCell::new(
        parts.engine,
        Some(record_tap),
        config.record_bus == RecordBus::Cue,
    ));
    let audio_shared = Arc::new(AudioShared::default());
    audio_shared
        .rate
        .store(rate as u64, std::sync::atomic::Ordering::Relaxed);
    let shared = Arc::new(state::Shared::new(
        parts.handle,
        segue_library::decks::DeckServiceConfig {
            decks: config.decks,
            rate,
            worker_threads: config.worker_threads,
            library: state::open_library(config.library.as_deref()),
            auto_stems: config.auto_stems,
        },
        audio_shared.clone(),
        config.record_folder(),
    ));
    let stem_separator = segue_library::decks::StemSeparator {
        model: config.stem_model.clone(),
        device: config
            .stem_device
            .parse()
            .map_err(|e| DaemonError::Config(format!("stem-device: {e}")))?,
    };
    match shared.decks.set_stem_separator(stem_separator) {
        Ok(note) => {
            let what = match &config.stem_model {
                Some(m) => format!("the ONNX model {}", m.display()),
                None => "the DSP separator".into(),
            };
            tracing::info!("stems of live decks: {what} on {}", config.stem_device);
            if let Some(note) = note {
                tracing::info!("stems of live decks: {note}");
            }
        }
        Err(e) => return Err(DaemonError::Config(format!("stem separator: {e}"))),
    }
    {
        let weak = Arc::downgrade(&shared);
        let recorder = segue_library::record::Recorder::new(record_reader, rate, move || {
            weak.upgrade().and_then(|s| s.decks.now_playing())
        })
        .map_err(|e| DaemonError::Other(format!("cannot start the recorder: {e}")))?;
        let _ = shared.recorder.set(recorder);
    }
    let _ = shared.roots.set(roots.clone());
    shared.link.set_quantum(config.link.quantum);
    shared.link.set_mode(config.link.mode);
    shared.link.set_start_stop(config.link.start_stop_sync);
    shared.link.set_enabled(config.link.enabled);

    let socket = UdpSocket::bind(config.osc_bind).map_err(|source| DaemonError::Net {
        what: "OSC bind",
        addr: config.osc_bind.to_string(),
        source,
    })?;
    enlarge_receive_buffer(&socket);
    let feed = feed::Feed::new(&config.feed, shared.clone()).map_err(DaemonError::Config)?;

    let (rings_tx, rings_rx) = crossbeam_channel::unbounded();
    let mut backend: Box<dyn Backend> = match config.backend {
        BackendKind::Jack => {
            let (client, _, _) = jack_client.expect("probed above");
            Box::new(JackBackend::start(
                client,
                config.jack.clone(),
                config.decks,
                cell.clone(),
                audio_shared.clone(),
                rings_tx,
            )?)
        }
        BackendKind::Null => Box::new(NullBackend::start(
            cell.clone(),
            audio_shared.clone(),
            rate,
            buffer,
        )?),
        BackendKind::File => Box::new(FileBackend::start(
            cell.clone(),
            audio_shared.clone(),
            rate,
            buffer,
            config.out.as_deref().expect("validated"),
        )?),
        BackendKind::Alsa => Box::new(AlsaBackend::start(
            cell.clone(),
            audio_shared.clone(),
            rate,
            buffer,
            &config.alsa_device,
        )?),
    };
    tracing::info!("{}", backend.describe());
    if let (Some(path), Some(rec)) = (&config.record, shared.recorder.get()) {
        rec.start(path)
            .map_err(|e| DaemonError::Other(format!("cannot record: {e}")))?;
        tracing::info!("recording to {}", path.display());
    }

    let threads_stop = Arc::new(AtomicBool::new(false));
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .stack_size(8 << 20)
            .spawn(f)
            .map_err(|e| DaemonError::Other(format!("cannot start {name}: {e}")))
    };
    let mut threads = Vec::new();
    {
        let server = osc::server::OscServer::new(
            socket,
            shared.clone(),
            roots.clone(),
            allow,
            config.push_ms,
        );
        let s = threads_stop.clone();
        threads.push(spawn("segue-osc", Box::new(move || server.run(&s)))?);
    }
    {
        let s = threads_stop.clone();
        threads.push(spawn("segue-feed", Box::new(move || feed.run(&s)))?);
    }
    {
        let (s, link) = (threads_stop.clone(), link::LinkThread::new(shared.clone()));
        threads.push(spawn("segue-link", Box::new(move || link.run(&s)))?);
    }
    {
        let (s, sh) = (threads_stop.clone(), shared.clone());
        threads.push(spawn(
            "segue-suggest",
            Box::new(move || sh.live.run_suggestions(sh.live_deps(), &s)),
        )?);
    }
    {
        let (s, sh) = (threads_stop.clone(), shared.clone());
        threads.push(spawn(
            "segue-autodj",
            Box::new(move || sh.live.run_autodj(sh.live_deps(), &s)),
        )?);
    }
    {
        let (s, sh) = (threads_stop.clone(), shared.clone());
        threads.push(spawn(
            "segue-midi",
            Box::new(move || midi::run(&rings_rx, controller, auto_mapping, &sh, &s)),
        )?);
    }
    if let Some(path) = &config.session {
        // Put the decks back first (a restart after a crash), then keep the file current.
        let doc = match session::load(path) {
            Ok(doc) => doc,
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        };
        let (s, sh, p, r) = (
            threads_stop.clone(),
            shared.clone(),
            path.clone(),
            roots.clone(),
        );
        threads.push(spawn(
            "segue-session",
            Box::new(move || {
                if let Some(doc) = doc {
                    tracing::info!("session: restoring the decks from {}", p.display());
                    session::restore(&sh, &r, &doc, &s);
                }
                session::run(&sh, &p, &s);
            }),
        )?);
    }
    tracing::info!(
        "listening for OSC on {} ({} decks; music roots: {})",
        config.osc_bind,
        config.decks,
        if roots.roots().is_empty() {
            "none, /load disabled".to_string()
        } else {
            roots
                .roots()
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if !config.feed.is_empty() {
        tracing::info!("lighting feed to {}", config.feed.join(", "));
    }
    if config.link.enabled {
        tracing::info!(
            "Ableton Link on: {} the session, quantum {}, start/stop sync {}",
            config.link.mode.name(),
            config.link.quantum,
            if config.link.start_stop_sync {
                "on"
            } else {
                "off"
            }
        );
    }

    let mut xruns = 0;
    let mut last_report = Instant::now();
    while !stop.load(Ordering::Acquire) {
        backend.poll();
        if last_report.elapsed() > Duration::from_secs(1) {
            last_report = Instant::now();
            let x = audio_shared.xruns.load(Ordering::Relaxed);
            if x != xruns {
                tracing::warn!("{} xrun(s) so far", x);
                xruns = x;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    tracing::info!("stopping");
    threads_stop.store(true, Ordering::Release);
    for t in threads {
        let _ = t.join();
    }
    // Finish a running recording while the audio still runs (the take closes on a block).
    if let Some(rec) = shared.recorder.get().filter(|r| r.state().recording) {
        match rec.stop() {
            Ok(r) => tracing::info!(
                "recording {}: {:.1} s, cue sheet {}",
                r.path.display(),
                r.frames as f64 / r.rate.max(1) as f64,
                r.cue.display()
            ),
            Err(e) => tracing::warn!("recording: {e}"),
        }
    }
    backend.stop();
    // Stop loading and analysing, then close the library (SQLite checkpoints its WAL).
    shared.decks.shutdown();
    tracing::info!("library closed");
    drop(shared);
    drop(cell);
    let _ = collector.join();
    tracing::info!("stopped");
    Ok(())
}

/// Ask for a 4 MiB receive buffer on the OSC socket, so that a burst of control messages
/// (a controller storm, a lighting desk replaying a cue list) waits in the kernel while the
/// OSC thread is preempted instead of being dropped. The kernel may grant less
/// (`net.core.rmem_max`); failure only keeps the default.
fn enlarge_receive_buffer(socket: &UdpSocket) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let size: libc::c_int = 4 << 20;
        // SAFETY: setsockopt(2) on a socket we own, with a pointer to a live c_int and its
        // size; it does not keep the pointer.
        let _ = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
}
