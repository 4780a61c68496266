//! The daemon's configuration: one struct, read from TOML (`segue.toml`) with the same keys as
//! the `segue serve` flags, then overridden by the flags that were given. `--print-config`
//! prints [`Config::to_toml`] of the result.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DaemonError;

/// Which audio backend drives the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A JACK client (ports master_L/R, cue_L/R, MIDI in, MIDI clock out).
    Jack,
    /// ALSA through cpal.
    Alsa,
    /// No audio device: a timer thread clocks the engine in real time (headless tests).
    #[default]
    Null,
    /// Like `null`, and the master bus is written to a WAV file (`out`).
    File,
}

impl BackendKind {
    /// The name used in flags and the config file.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Jack => "jack",
            BackendKind::Alsa => "alsa",
            BackendKind::Null => "null",
            BackendKind::File => "file",
        }
    }
}

impl FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jack" => Ok(BackendKind::Jack),
            "alsa" => Ok(BackendKind::Alsa),
            "null" => Ok(BackendKind::Null),
            "file" => Ok(BackendKind::File),
            other => Err(format!(
                "unknown backend {other:?} (use jack, alsa, null or file)"
            )),
        }
    }
}

/// Where the per-deck JACK outputs tap a deck (`jack.deck-tap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeckTapKind {
    /// Before the channel fader and the crossfader (for an external mixer).
    #[default]
    Pre,
    /// After the channel fader and the crossfader (the deck's share of the master bus).
    Post,
}

impl DeckTapKind {
    /// The name used in flags and the config file.
    pub fn name(self) -> &'static str {
        match self {
            DeckTapKind::Pre => "pre",
            DeckTapKind::Post => "post",
        }
    }

    /// The engine's tap point.
    pub fn engine(self) -> segue_engine::DeckTap {
        match self {
            DeckTapKind::Pre => segue_engine::DeckTap::PreFader,
            DeckTapKind::Post => segue_engine::DeckTap::PostFader,
        }
    }
}

impl FromStr for DeckTapKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pre" => Ok(DeckTapKind::Pre),
            "post" => Ok(DeckTapKind::Post),
            other => Err(format!("unknown deck tap {other:?} (use pre or post)")),
        }
    }
}

/// What a set recording takes (`record-bus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RecordBus {
    /// The master output (what the audience hears, after the limiter).
    #[default]
    Master,
    /// The cue (headphone) bus.
    Cue,
}

impl FromStr for RecordBus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "master" => Ok(RecordBus::Master),
            "cue" => Ok(RecordBus::Cue),
            other => Err(format!("unknown record bus {other:?} (use master or cue)")),
        }
    }
}

/// JACK settings (`[jack]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct JackConfig {
    /// Client name (ports appear as `NAME:master_L`…).
    pub client_name: String,
    /// Connect master_L/R to the first two physical playback ports.
    pub auto_connect: bool,
    /// Explicit connections for master_L and master_R (overrides `auto-connect`).
    pub connect_master: Vec<String>,
    /// Explicit connections for cue_L and cue_R.
    pub connect_cue: Vec<String>,
    /// Register a MIDI clock output port (`midi_clock_out`).
    pub midi_clock: bool,
    /// Register a MIDI input port (`midi_in`) for controllers.
    pub midi_in: bool,
    /// Seconds between reconnection attempts after the server went away.
    pub reconnect_secs: f64,
    /// Register one stereo output per deck (`deck1_L`, `deck1_R`, …).
    pub deck_outputs: bool,
    /// Where the deck outputs tap each deck: `pre` or `post` fader.
    pub deck_tap: DeckTapKind,
    /// Explicit connections for the deck outputs, in port order (`deck1_L`, `deck1_R`,
    /// `deck2_L`, …).
    pub connect_decks: Vec<String>,
}

impl Default for JackConfig {
    fn default() -> Self {
        Self {
            client_name: "segue".into(),
            auto_connect: false,
            connect_master: Vec::new(),
            connect_cue: Vec::new(),
            midi_clock: true,
            midi_in: true,
            reconnect_secs: 0.5,
            deck_outputs: false,
            deck_tap: DeckTapKind::Pre,
            connect_decks: Vec::new(),
        }
    }
}

/// Ableton Link settings (`[link]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct LinkConfig {
    /// Join the Link session at startup (`--link`); OSC `/segue/link` and the MIDI target
    /// `link_toggle` switch it at run time.
    pub enabled: bool,
    /// `follow`: the master deck follows the session's tempo and phase; `lead`: the session
    /// follows the master deck.
    pub mode: crate::link::LinkMode,
    /// Start/stop sync: session start/stop ↔ the master deck's play/pause.
    pub start_stop_sync: bool,
    /// Beats per phase cycle (Link's quantum), 1..=16.
    pub quantum: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            mode: crate::link::LinkMode::Follow,
            start_stop_sync: false,
            quantum: crate::link::DEFAULT_QUANTUM,
        }
    }
}

/// MIDI controller settings (`[midi]` table).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct MidiConfig {
    /// Controller mapping file (TOML, see `controllers/mappings/example.toml`) applied to
    /// the JACK backend's `midi_in`, or `builtin:NAME` for a shipped one
    /// (`builtin:pioneer-ddj-400`…); `--mapping` overrides it. A relative path is read
    /// from the working directory. Unset: a shipped mapping is picked by the name of the
    /// MIDI port connected to `midi_in` (`segue_controllers::builtin::for_port`).
    pub mapping: Option<PathBuf>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Audio backend.
    pub backend: BackendKind,
    /// Engine sample rate, 22050..=384000 Hz. The JACK backend uses the server's.
    pub rate: u32,
    /// Block size in frames for the null, file and ALSA backends (JACK uses its period).
    pub buffer: usize,
    /// Number of decks, 1..=8.
    pub decks: usize,
    /// OSC UDP address. Anything but loopback needs a non-empty `allow` list.
    pub osc_bind: SocketAddr,
    /// Sources (IP or CIDR, e.g. `192.168.1.0/24`) allowed when bound beyond loopback.
    pub allow: Vec<String>,
    /// Folders `/load` may read from (symlinks resolved; nothing outside).
    pub music_root: Vec<PathBuf>,
    /// Lighting/VJ feed targets (`host:port`).
    pub feed: Vec<String>,
    /// WAV file the `file` backend writes.
    pub out: Option<PathBuf>,
    /// Library file (default: `$SEGUE_LIBRARY` or `~/.local/share/segue/library.sqlite`).
    pub library: Option<PathBuf>,
    /// Session file: the decks (tracks, positions, cues, tempo, play state) are written to
    /// it while the daemon runs and put back from it when it starts, so a crashed or killed
    /// daemon comes back where it was. Unset: no session is kept.
    pub session: Option<PathBuf>,
    /// Interval of state pushes to `/segue/subscribe`rs, milliseconds.
    pub push_ms: u64,
    /// Threads of the analysis worker (0 = all cores but one).
    pub worker_threads: usize,
    /// Separate stems (DSP separator) in the background for every track loaded without
    /// stem files, and switch its deck to stem playback when they are ready.
    pub auto_stems: bool,
    /// An htdemucs ONNX model for those stems instead of the DSP separator: a file, or a
    /// folder holding exactly one `.onnx` file (needs ONNX Runtime, see the README).
    pub stem_model: Option<PathBuf>,
    /// Where the stem separator runs: `auto` (the GPU when usable, else the CPU), `cpu` or
    /// `cuda`.
    pub stem_device: String,
    /// JACK settings.
    pub jack: JackConfig,
    /// Ableton Link (`[link]`).
    pub link: LinkConfig,
    /// ALSA device name for the `alsa` backend (`default` = cpal's default device).
    pub alsa_device: String,
    /// MIDI controller settings.
    pub midi: MidiConfig,
    /// The controller mapping, as the top-level key `mapping` (the same as
    /// `midi.mapping`; read into it, an error when both are set and differ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<PathBuf>,
    /// Folder set recordings go to (`/segue/record/start NAME` writes `NAME` there; without
    /// a name, `segue-<unix time>.wav`). Default: `recordings` in the working directory.
    pub record_dir: Option<PathBuf>,
    /// Record the master output from startup into this file (`.wav` 32-bit float or
    /// `.flac`), with a cue sheet beside it; stopped and finalised when the daemon stops.
    pub record: Option<PathBuf>,
    /// What recordings take: `master` (default) or `cue` (the headphone bus).
    pub record_bus: RecordBus,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            backend: BackendKind::Null,
            rate: 48_000,
            buffer: 256,
            decks: 4,
            osc_bind: SocketAddr::from(([127, 0, 0, 1], 9000)),
            allow: Vec::new(),
            music_root: Vec::new(),
            feed: Vec::new(),
            out: None,
            library: None,
            session: None,
            push_ms: 100,
            worker_threads: 0,
            auto_stems: true,
            stem_model: None,
            stem_device: "auto".into(),
            jack: JackConfig::default(),
            link: LinkConfig::default(),
            alsa_device: "default".into(),
            midi: MidiConfig::default(),
            mapping: None,
            record_dir: None,
            record: None,
            record_bus: RecordBus::Master,
        }
    }
}

impl Config {
    /// Read a TOML file (keys as in [`Config`], kebab-case; unknown keys are an error).
    pub fn from_file(path: &Path) -> Result<Config, DaemonError> {
        let text = std::fs::read_to_string(path).map_err(|source| DaemonError::ConfigIo {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text).map_err(|reason| DaemonError::ConfigSyntax {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parse TOML text.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        let mut c: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(m) = c.mapping.take() {
            match &c.midi.mapping {
                Some(other) if *other != m => {
                    return Err(format!(
                        "`mapping = {:?}` and `[midi] mapping = {:?}` disagree: set one",
                        m.display().to_string(),
                        other.display().to_string()
                    ))
                }
                _ => c.midi.mapping = Some(m),
            }
        }
        Ok(c)
    }

    /// The configuration as TOML (what `--print-config` prints; reads back the same).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
    }

    /// The folder set recordings go to ([`Config::record_dir`] or `./recordings`).
    pub fn record_folder(&self) -> PathBuf {
        self.record_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("recordings"))
    }

    /// Check every value; the error says which key and why.
    pub fn validate(&self) -> Result<(), DaemonError> {
        let bad = |s: String| Err(DaemonError::Config(s));
        if let Some(r) = &self.record {
            let ext = r
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            if !matches!(ext.as_deref(), Some("wav" | "flac")) {
                return bad(format!(
                    "record {}: record to a .wav or .flac file",
                    r.display()
                ));
            }
        }
        if !segue_engine::SAMPLE_RATES.contains(&self.rate) {
            return bad(format!(
                "rate {} Hz: the engine runs at 22050 to 384000 Hz",
                self.rate
            ));
        }
        if !(16..=8192).contains(&self.buffer) {
            return bad(format!(
                "buffer {} is outside 16..=8192 frames",
                self.buffer
            ));
        }
        if !(1..=segue_engine::MAX_DECKS).contains(&self.decks) {
            return bad(format!("decks {}: use 1 to 8", self.decks));
        }
        let allow = self.allow_list()?;
        if !self.osc_bind.ip().is_loopback() && allow.is_empty() {
            return bad(format!(
                "osc-bind {} is not a loopback address: give the sources allowed to control \
                 Segue with --allow (IP or CIDR, repeatable)",
                self.osc_bind
            ));
        }
        for f in &self.feed {
            crate::feed::resolve(f).map_err(DaemonError::Config)?;
        }
        if self.backend == BackendKind::File && self.out.is_none() {
            return bad("the file backend needs --out FILE.wav".into());
        }
        if !(self.push_ms >= 5 && self.push_ms <= 60_000) {
            return bad(format!("push-ms {} is outside 5..=60000", self.push_ms));
        }
        if !(self.link.quantum >= 1.0 && self.link.quantum <= 16.0) {
            return bad(format!(
                "link.quantum {} is outside 1..=16 beats",
                self.link.quantum
            ));
        }
        if !(self.jack.reconnect_secs > 0.0 && self.jack.reconnect_secs <= 60.0) {
            return bad(format!(
                "jack.reconnect-secs {} is outside (0, 60]",
                self.jack.reconnect_secs
            ));
        }
        Ok(())
    }

    /// The parsed allow-list.
    pub fn allow_list(&self) -> Result<Vec<AllowRule>, DaemonError> {
        self.allow
            .iter()
            .map(|a| a.parse().map_err(DaemonError::Config))
            .collect()
    }
}

/// One entry of the OSC source allow-list: an address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowRule {
    net: IpAddr,
    prefix: u8,
}

impl FromStr for AllowRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("allow {s:?}: expected an IP address or CIDR block (10.0.0.0/8)");
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let net: IpAddr = ip.trim().parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(AllowRule { net, prefix })
    }
}

impl AllowRule {
    /// Whether `ip` is inside this rule.
    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Whether a packet from `src` may control the daemon: loopback always, others only when
/// they match the allow-list.
pub fn source_allowed(src: IpAddr, allow: &[AllowRule]) -> bool {
    let src = match src {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(src),
        v4 => v4,
    };
    src.is_loopback() || allow.iter().any(|r| r.matches(src))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_config_reads_back_the_same() {
        let mut c = Config {
            backend: BackendKind::Jack,
            music_root: vec!["/music".into()],
            feed: vec!["127.0.0.1:7000".into()],
            allow: vec!["10.0.0.0/8".into()],
            ..Config::default()
        };
        c.jack.auto_connect = true;
        c.jack.deck_outputs = true;
        c.jack.deck_tap = DeckTapKind::Post;
        c.jack.connect_decks = vec!["system:playback_3".into()];
        c.midi.mapping = Some("/maps/ddj-400.toml".into());
        let back = Config::from_toml(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn mapping_is_also_a_top_level_key() {
        let c = Config::from_toml("mapping = \"builtin:pioneer-ddj-400\"\n").unwrap();
        assert_eq!(c.midi.mapping, Some("builtin:pioneer-ddj-400".into()));
        assert_eq!(c.mapping, None);
        let same = "mapping = \"a.toml\"\n[midi]\nmapping = \"a.toml\"\n";
        assert_eq!(
            Config::from_toml(same).unwrap().midi.mapping,
            Some("a.toml".into())
        );
        let err =
            Config::from_toml("mapping = \"a.toml\"\n[midi]\nmapping = \"b.toml\"\n").unwrap_err();
        assert!(err.contains("disagree"), "{err}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors_with_a_line() {
        let e = Config::from_toml("backend = \"jack\"\nbufer = 64\n").unwrap_err();
        assert!(e.contains("bufer"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = Config::from_toml("rate = \"fast\"\n").unwrap_err();
        assert!(e.contains("rate"), "{e}");
        let e = Config::from_toml("[jack]\ndeck-tap = \"middle\"\n").unwrap_err();
        assert!(e.contains("middle") && e.contains("line 2"), "{e}");
        let e = Config::from_toml("backend = \"pulse\"\n").unwrap_err();
        assert!(e.contains("pulse"), "{e}");
    }

    #[test]
    fn non_loopback_bind_needs_an_allow_list() {
        let mut c = Config {
            osc_bind: "0.0.0.0:9000".parse().unwrap(),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("--allow"));
        c.allow = vec!["192.168.1.0/24".into()];
        c.validate().unwrap();
        c.allow = vec!["192.168.1.0/33".into()];
        assert!(c.validate().is_err());
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn allow_rules_match_addresses_and_blocks() {
        let rules: Vec<AllowRule> = ["192.168.1.0/24", "10.1.2.3", "fd00::/8"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        let ok = |s: &str| source_allowed(s.parse().unwrap(), &rules);
        assert!(ok("127.0.0.1"));
        assert!(ok("::1"));
        assert!(ok("192.168.1.77"));
        assert!(ok("::ffff:192.168.1.5"));
        assert!(ok("10.1.2.3"));
        assert!(ok("fd12::1"));
        assert!(!ok("192.168.2.1"));
        assert!(!ok("10.1.2.4"));
        assert!(!ok("8.8.8.8"));
        assert!(!source_allowed("10.0.0.1".parse().unwrap(), &[]));
    }
}
