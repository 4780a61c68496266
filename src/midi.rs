//! `segue midi …`: list ports, monitor messages, learn a mapping interactively, import a
//! Mixxx mapping. Ports come from midir (JACK MIDI on Linux).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Subcommand;
use segue_controllers::io::{self, Input};
use segue_controllers::{learn, mixxx, Controller, Mapping, MidiMessage, Target};

/// `segue midi` subcommands.
#[derive(Subcommand)]
pub enum MidiCmd {
    /// List MIDI input and output ports.
    List,
    /// Print every message arriving on a port, decoded (and, with --mapping, the engine
    /// commands the mapping makes of it).
    Monitor {
        /// Input port: exact name or a unique part of it [default: the first port].
        port: Option<String>,
        /// Also show what this mapping does with each message.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Exit after this many messages.
        #[arg(long)]
        count: Option<usize>,
        /// Exit after this many seconds.
        #[arg(long)]
        timeout: Option<f64>,
    },
    /// Build a mapping interactively: move a control, pick its target, repeat. Prompts go
    /// to stderr, answers are read from stdin (one per line).
    Learn {
        /// Where to write the mapping.
        #[arg(long)]
        out: PathBuf,
        /// Input port [default: the first port].
        #[arg(long)]
        port: Option<String>,
        /// Controller name written into the mapping.
        #[arg(long, default_value = "Learned controller")]
        name: String,
        /// Decks offered for deck targets.
        #[arg(long, default_value_t = 4)]
        decks: u8,
    },
    /// Convert a Mixxx .midi.xml mapping (the parts that need no JavaScript) and report
    /// what could not be converted.
    ImportMixxx {
        /// The Mixxx mapping.
        file: PathBuf,
        /// Where to write the Segue mapping.
        #[arg(long)]
        out: PathBuf,
        /// List every skipped entry with its line (default: counts by reason).
        #[arg(long)]
        verbose: bool,
    },
}

/// Run a `segue midi` subcommand.
pub fn run(cmd: MidiCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        MidiCmd::List => list(),
        MidiCmd::Monitor {
            port,
            mapping,
            count,
            timeout,
        } => monitor(port.as_deref(), mapping.as_deref(), count, timeout),
        MidiCmd::Learn {
            out,
            port,
            name,
            decks,
        } => learn(&out, port.as_deref(), &name, decks),
        MidiCmd::ImportMixxx { file, out, verbose } => import_mixxx(&file, &out, verbose),
    }
}

fn list() -> anyhow::Result<ExitCode> {
    let ports = io::list("segue-list")?;
    println!("inputs (controllers Segue can read):");
    for p in &ports.inputs {
        println!("  {p}");
    }
    if ports.inputs.is_empty() {
        println!("  (none)");
    }
    println!("outputs (for LED feedback):");
    for p in &ports.outputs {
        println!("  {p}");
    }
    if ports.outputs.is_empty() {
        println!("  (none)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Open an input whose messages arrive on a channel.
fn open(client: &str, port: Option<&str>) -> anyhow::Result<(Input, mpsc::Receiver<Vec<u8>>)> {
    let (tx, rx) = mpsc::channel();
    let input = Input::open(client, port, move |_, m| {
        let _ = tx.send(m.to_vec());
    })?;
    Ok((input, rx))
}

fn monitor(
    port: Option<&str>,
    mapping: Option<&Path>,
    count: Option<usize>,
    timeout: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let mut controller = match mapping {
        Some(p) => Some(Controller::new(Mapping::load(p)?, segue_engine::MAX_DECKS)),
        None => None,
    };
    let (input, rx) = open("segue-monitor", port)?;
    eprintln!("listening on {} (Ctrl-C to stop)", input.port);
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    let status = segue_engine::Status::default();
    let mut commands = Vec::new();
    let mut seen = 0;
    let stdout = std::io::stdout();
    while count.is_none_or(|c| seen < c) {
        let wait = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(w) => w,
                None => break,
            },
            None => Duration::from_secs(3600),
        };
        let Ok(msg) = rx.recv_timeout(wait) else {
            continue;
        };
        seen += 1;
        let hex: Vec<String> = msg.iter().map(|b| format!("{b:02X}")).collect();
        let text = MidiMessage::decode(&msg).map_or("(malformed)".to_string(), |m| m.to_string());
        let mut line = format!("{:<10} {text}", hex.join(" "));
        if let Some(c) = controller.as_mut() {
            commands.clear();
            c.handle(&msg, &status, &mut commands);
            for cmd in &commands {
                line.push_str(&format!("  → {cmd:?}"));
            }
        }
        let mut out = stdout.lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

struct Prompter<R: BufRead> {
    lines: R,
}

impl<R: BufRead> Prompter<R> {
    /// Ask on stderr, read one line from stdin (`None` at end of input).
    fn ask(&mut self, q: &str) -> anyhow::Result<Option<String>> {
        eprint!("{q}");
        std::io::stderr().flush()?;
        let mut s = String::new();
        if self.lines.read_line(&mut s)? == 0 {
            eprintln!();
            return Ok(None);
        }
        Ok(Some(s.trim().to_string()))
    }
}

fn learn(out: &Path, port: Option<&str>, name: &str, decks: u8) -> anyhow::Result<ExitCode> {
    let decks = decks.clamp(1, segue_engine::MAX_DECKS as u8);
    let (input, rx) = open("segue-learn", port)?;
    eprintln!("listening on {}", input.port);
    let mut p = Prompter {
        lines: std::io::stdin().lock(),
    };
    let mut mapping = Mapping {
        name: name.to_string(),
        ..Default::default()
    };
    loop {
        // Drop what arrived while answering the last questions.
        while rx.try_recv().is_ok() {}
        let Some(answer) = p.ask("Move a control, then press Enter (q + Enter to finish): ")?
        else {
            break;
        };
        if answer == "q" {
            break;
        }
        // Let the last messages of the movement arrive.
        std::thread::sleep(Duration::from_millis(100));
        let msgs: Vec<MidiMessage> = rx
            .try_iter()
            .filter_map(|m| MidiMessage::decode(&m))
            .collect();
        let Some(found) = learn::detect(&msgs) else {
            eprintln!("nothing received from {}; try again", input.port);
            continue;
        };
        eprintln!("detected {found:?} ({} messages)", msgs.len());
        let choices = found.targets();
        for (i, t) in choices.iter().enumerate() {
            eprint!(
                "{:>3} {:<18}{}",
                i + 1,
                t.name(),
                if i % 4 == 3 { "\n" } else { "" }
            );
        }
        eprintln!();
        let target = loop {
            let Some(a) = p.ask("Target (number or name, empty to skip): ")? else {
                break None;
            };
            if a.is_empty() {
                break None;
            }
            let t = a
                .parse::<usize>()
                .ok()
                .and_then(|i| choices.get(i.wrapping_sub(1)).copied())
                .or_else(|| Target::from_name(&a).filter(|t| found.fits(t)));
            match t {
                Some(t) => break Some(t),
                None => eprintln!("`{a}` is not one of the targets listed"),
            }
        };
        let Some(target) = target else {
            continue;
        };
        let deck = if target.is_deck() {
            let d = loop {
                let Some(a) = p.ask(&format!("Deck (1-{decks}) [1]: "))? else {
                    break 1;
                };
                match a.parse::<u8>() {
                    _ if a.is_empty() => break 1,
                    Ok(d) if (1..=decks).contains(&d) => break d,
                    _ => eprintln!("a deck is 1-{decks}"),
                }
            };
            Some(d - 1)
        } else {
            None
        };
        let Some(c) = found.control(target, deck) else {
            continue;
        };
        eprintln!(
            "mapped {} → {}{}",
            c.midi,
            target.name(),
            deck.map(|d| format!(" (deck {})", d + 1))
                .unwrap_or_default()
        );
        learn::bind(&mut mapping, c);
    }
    if mapping.controls.is_empty() {
        bail!("nothing learned; {} not written", out.display());
    }
    let text = format!(
        "# Learned with `segue midi learn` from {}.\n{}",
        input.port,
        mapping.to_toml()
    );
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} controls to {}",
        mapping.controls.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn import_mixxx(file: &Path, out: &Path, verbose: bool) -> anyhow::Result<ExitCode> {
    let (mapping, r) = mixxx::import_file(file)?;
    let text = format!(
        "# Imported from the Mixxx mapping {} by `segue midi import-mixxx`.\n# {} of {} controls and {} of {} outputs converted; script-bound and\n# Mixxx-only entries were left out (see the import report).\n{}",
        file.display(),
        r.controls_imported + r.controls_merged,
        r.controls_total,
        r.outputs_imported,
        r.outputs_total,
        mapping.to_toml()
    );
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{}: {}",
        file.display(),
        if mapping.name.is_empty() {
            "(no name)"
        } else {
            &mapping.name
        }
    );
    println!(
        "controls: {} imported, {} merged into others, {} skipped (of {})",
        r.controls_imported,
        r.controls_merged,
        r.controls_total - r.controls_imported - r.controls_merged,
        r.controls_total
    );
    println!(
        "outputs:  {} imported, {} skipped (of {})",
        r.outputs_imported,
        r.outputs_total - r.outputs_imported,
        r.outputs_total
    );
    if verbose {
        for s in &r.skipped {
            println!(
                "  line {:>5}: {} {} {}: {}",
                s.line, s.element, s.group, s.key, s.reason
            );
        }
    } else if !r.skipped.is_empty() {
        println!("skipped, by reason (--verbose lists each with its line):");
        for (reason, n) in r.reasons() {
            println!("  {n:>5}  {reason}");
        }
    }
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
