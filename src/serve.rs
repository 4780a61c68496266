//! `segue serve`: flags → [`segue_daemon::Config`] (over the TOML file), logging, run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use segue_daemon::{BackendKind, Config, DeckTapKind, LinkMode, RecordBus, ServeOptions};

/// The `segue serve` flags; each overrides the config file's key of the same name.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// TOML file with the same keys as these flags (plus [jack] settings).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Audio backend: jack, alsa, null (timer-clocked, no device) or file (WAV).
    #[arg(long, value_parser = |s: &str| s.parse::<BackendKind>())]
    backend: Option<BackendKind>,
    /// Sample rate (JACK uses the server's).
    #[arg(long)]
    rate: Option<u32>,
    /// Block size in frames (null, file, alsa).
    #[arg(long)]
    buffer: Option<usize>,
    /// OSC UDP address [default: 127.0.0.1:9000]; non-loopback needs --allow.
    #[arg(long)]
    osc_bind: Option<SocketAddr>,
    /// OSC sources allowed beyond loopback (IP or CIDR; repeatable).
    #[arg(long)]
    allow: Vec<String>,
    /// Folder `/load` may read from (repeatable).
    #[arg(long)]
    music_root: Vec<PathBuf>,
    /// Lighting/VJ feed target host:port (repeatable).
    #[arg(long)]
    feed: Vec<String>,
    /// WAV file for the file backend.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Record the master output from startup into this file (.wav or .flac; config key
    /// record), finalised with a cue sheet when the daemon stops.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Folder for recordings started over OSC or MIDI (config key record-dir) [default:
    /// ./recordings].
    #[arg(long)]
    record_dir: Option<PathBuf>,
    /// Do not separate stems of loaded tracks in the background (config key auto-stems =
    /// false; default: separate with the DSP separator and switch decks to stems).
    #[arg(long)]
    no_auto_stems: bool,
    /// An htdemucs ONNX model (file, or a folder with one .onnx) for the stems of live decks
    /// instead of the DSP separator (config key stem-model).
    #[arg(long, value_name = "FILE.onnx|DIR")]
    stem_model: Option<PathBuf>,
    /// Where the stem separator runs: auto, cpu or cuda (config key stem-device) [default:
    /// auto].
    #[arg(long)]
    stem_device: Option<String>,
    /// What recordings take: master or cue (the headphone bus) (config key record-bus)
    /// [default: master].
    #[arg(long, value_parser = |s: &str| s.parse::<RecordBus>())]
    record_bus: Option<RecordBus>,
    /// Number of decks (1-8).
    #[arg(long)]
    decks: Option<usize>,
    /// Library file [default: $SEGUE_LIBRARY or ~/.local/share/segue/library.sqlite].
    #[arg(long)]
    library: Option<PathBuf>,
    /// Session file (config key session): the decks are saved to it while serving and put
    /// back from it at startup (track, position, cues, tempo, key lock, play state).
    #[arg(long, value_name = "FILE.json")]
    session: Option<PathBuf>,
    /// JACK: connect master_L/R to the first physical playback ports.
    #[arg(long)]
    auto_connect: bool,
    /// JACK: register one stereo output per deck (deck1_L/R, deck2_L/R, …).
    #[arg(long)]
    deck_outputs: bool,
    /// JACK: where the deck outputs tap each deck: pre (before the channel fader and the
    /// crossfader) or post [default: pre].
    #[arg(long, value_parser = |s: &str| s.parse::<DeckTapKind>())]
    deck_tap: Option<DeckTapKind>,
    /// JACK client name.
    #[arg(long)]
    client_name: Option<String>,
    /// MIDI controller mapping (TOML, see controllers/mappings/example.toml), or
    /// builtin:NAME for a shipped one (pioneer-ddj-400, hercules-inpulse-300,
    /// numark-mixtrack-pro-fx, denon-mc7000); config key `mapping` or midi.mapping. Unset:
    /// picked from the name of the port connected to segue:midi_in. JACK backend: connect
    /// your controller to segue:midi_in (and segue:midi_out for LEDs).
    #[arg(long, value_name = "MAPPING.toml")]
    mapping: Option<PathBuf>,
    /// Join the Ableton Link session at startup (config key link.enabled): the master deck
    /// follows the session's tempo and bar phase (or leads it, --link-mode lead).
    #[arg(long)]
    link: bool,
    /// Ableton Link: follow the session or lead it (config key link.mode) [default: follow].
    #[arg(long, value_parser = |s: &str| s.parse::<LinkMode>())]
    link_mode: Option<LinkMode>,
    /// Ableton Link start/stop sync: session start/stop ↔ the master deck's play/pause
    /// (config key link.start-stop-sync).
    #[arg(long)]
    link_start_stop: bool,
    /// Print the effective configuration (TOML) and exit.
    #[arg(long)]
    print_config: bool,
}

fn effective(a: ServeArgs) -> anyhow::Result<(Config, bool)> {
    let mut c = match &a.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    if let Some(v) = a.backend {
        c.backend = v;
    }
    if let Some(v) = a.rate {
        c.rate = v;
    }
    if let Some(v) = a.buffer {
        c.buffer = v;
    }
    if let Some(v) = a.osc_bind {
        c.osc_bind = v;
    }
    if !a.allow.is_empty() {
        c.allow = a.allow;
    }
    if !a.music_root.is_empty() {
        c.music_root = a.music_root;
    }
    if !a.feed.is_empty() {
        c.feed = a.feed;
    }
    if a.out.is_some() {
        c.out = a.out;
    }
    if a.record.is_some() {
        c.record = a.record;
    }
    if a.record_dir.is_some() {
        c.record_dir = a.record_dir;
    }
    if a.session.is_some() {
        c.session = a.session;
    }
    if let Some(b) = a.record_bus {
        c.record_bus = b;
    }
    if let Some(v) = a.decks {
        c.decks = v;
    }
    if a.no_auto_stems {
        c.auto_stems = false;
    }
    if a.stem_model.is_some() {
        c.stem_model = a.stem_model;
    }
    if let Some(d) = a.stem_device {
        c.stem_device = d;
    }
    if a.library.is_some() {
        c.library = a.library;
    }
    if c.library.is_none() {
        c.library = Some(crate::library::default_db());
    }
    if a.auto_connect {
        c.jack.auto_connect = true;
    }
    if a.deck_outputs {
        c.jack.deck_outputs = true;
    }
    if let Some(t) = a.deck_tap {
        c.jack.deck_tap = t;
    }
    if let Some(n) = a.client_name {
        c.jack.client_name = n;
    }
    if a.mapping.is_some() {
        c.midi.mapping = a.mapping;
    }
    if a.link {
        c.link.enabled = true;
    }
    if let Some(m) = a.link_mode {
        c.link.mode = m;
    }
    if a.link_start_stop {
        c.link.start_stop_sync = true;
    }
    Ok((c, a.print_config))
}

/// Run `segue serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (config, print) = effective(args)?;
    if print {
        print!("{}", config.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEGUE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    segue_daemon::serve(ServeOptions { config, stop: None }).context("segue serve")?;
    Ok(ExitCode::SUCCESS)
}
