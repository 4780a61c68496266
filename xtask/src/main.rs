//! `cargo xtask <command>`: project chores that are code, not shell scripts.
//!
//! Commands:
//! * `demo [--out DIR] [--rate HZ]` — render the built-in demo set (mix, stems, ground-truth
//!   JSON) into `DIR` (default `demo/tracks`) at `HZ` (default 44100).
//!
//! Each command is one function taking its own arguments; add new ones to [`COMMANDS`].
//! Unknown commands or options print the usage and exit with status 2.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use segue_models::demo;

/// A subcommand: name, one-line usage, and the function that runs it with the remaining
/// arguments.
struct Command {
    name: &'static str,
    usage: &'static str,
    run: fn(&[String]) -> anyhow::Result<()>,
}

const COMMANDS: &[Command] = &[Command {
    name: "demo",
    usage: "demo [--out DIR] [--rate HZ]   render the demo set (WAV mix + stems + truth JSON)",
    run: demo_cmd,
}];

/// A command-line mistake: print the usage and exit 2.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage() -> String {
    let mut s = String::from("usage: cargo xtask <command> [options]\n\ncommands:\n");
    for c in COMMANDS {
        s += &format!("  {}\n", c.usage);
    }
    s
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        eprint!("{}", usage());
        return ExitCode::from(2);
    };
    if matches!(name.as_str(), "help" | "-h" | "--help") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        eprintln!("error: unknown command {name:?}\n");
        eprint!("{}", usage());
        return ExitCode::from(2);
    };
    match (command.run)(&args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<UsageError>() => {
            eprintln!("error: {e}\n");
            eprint!("{}", usage());
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Pull the value following option `opt` out of `args`.
fn value<'a>(args: &mut std::slice::Iter<'a, String>, opt: &str) -> anyhow::Result<&'a str> {
    match args.next() {
        Some(v) => Ok(v),
        None => Err(UsageError(format!("{opt} needs a value")).into()),
    }
}

fn demo_cmd(args: &[String]) -> anyhow::Result<()> {
    let mut out = PathBuf::from("demo/tracks");
    let mut rate = demo::DEFAULT_SAMPLE_RATE;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out" => out = PathBuf::from(value(&mut it, arg)?),
            "--rate" => {
                let v = value(&mut it, arg)?;
                rate = match v.parse() {
                    Ok(r) if (8_000..=384_000).contains(&r) => r,
                    _ => {
                        let msg =
                            format!("--rate {v:?}: expected a sample rate in Hz, 8000..=384000");
                        return Err(UsageError(msg).into());
                    }
                };
            }
            other => return Err(UsageError(format!("demo: unknown option {other:?}")).into()),
        }
    }
    if out.is_file() {
        bail!("{} is a file, not a directory", out.display());
    }
    let started = Instant::now();
    let mut synth_secs = 0.0;
    let set = demo::demo_set();
    for spec in &set {
        let t = Instant::now();
        let track = demo::synthesize(spec, rate);
        synth_secs += t.elapsed().as_secs_f64();
        let path = demo::write_track(&out, &track)
            .with_context(|| format!("writing demo track {}", spec.name))?;
        println!(
            "{:<18} {:>6.2} BPM  {:<9} {:>3}  {:<13} {:>5.1} s  {}",
            spec.name,
            spec.bpm,
            track.truth.key,
            track.truth.camelot,
            spec.style.name(),
            track.truth.duration,
            path.display()
        );
    }
    println!(
        "{} tracks at {rate} Hz in {}: synthesis {synth_secs:.2} s, total {:.2} s",
        set.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
