//! `cargo xtask <command>`: project chores that are code, not shell scripts.
//!
//! Commands:
//! * `demo [--out DIR] [--rate HZ]` — render the built-in demo set (mix, stems, ground-truth
//!   JSON) into `DIR` (default `demo/tracks`) at `HZ` (default 44100).
//!
//! * `eval [--dir DIR] [--no-compressed]` — synthesise the ground-truth fixture set
//!   (`segue_models::eval::fixture_set`) into `DIR` (default `target/eval`), also as MP3 and
//!   OGG copies made with Debian's `lame` and `oggenc`, analyse every file and print the MIR
//!   scores (tempo Acc1/Acc2, beat and downbeat F at ±70 ms, MIREX weighted key score,
//!   section boundary F at 0.5 s and 3 s) with seconds per track.
//!
//! * `bundle <package> [--release] [cargo build options]` — build a plugin and bundle it
//!   with nice-plug-xtask: `cargo xtask bundle segue-plugin --release` writes
//!   `target/bundled/Segue.clap` and `target/bundled/Segue.vst3` (names from `bundler.toml`).
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

const COMMANDS: &[Command] = &[
    Command {
        name: "demo",
        usage: "demo [--out DIR] [--rate HZ]   render the demo set (WAV mix + stems + truth JSON)",
        run: demo_cmd,
    },
    Command {
        name: "eval",
        usage:
            "eval [--dir DIR] [--no-compressed]   score the analysis on the 32-track fixture set",
        run: eval_cmd,
    },
    Command {
        name: "bundle",
        usage: "bundle <package> [--release]   build and bundle a plugin (target/bundled/*.clap, *.vst3)",
        run: bundle_cmd,
    },
];

/// `bundle`: delegate to nice-plug-xtask (it builds with cargo and lays out the bundles).
fn bundle_cmd(args: &[String]) -> anyhow::Result<()> {
    if args.is_empty() {
        bail!(UsageError(
            "bundle needs a package name, e.g. `bundle segue-plugin`".into()
        ));
    }
    let args = std::iter::once("bundle".to_string()).chain(args.iter().cloned());
    nice_plug_xtask::main_with_args("cargo xtask", args)
}

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

/// Scores of one analysed file.
struct Score {
    acc1: bool,
    acc2: bool,
    beat_f: f64,
    down_f: f64,
    key: f64,
    bound_05: f64,
    bound_3: f64,
    secs: f64,
}

fn eval_cmd(args: &[String]) -> anyhow::Result<()> {
    use segue_models::analysis::analyze_file;
    use segue_models::eval::{f_measure, fixture_set, key_score, tempo_acc1, tempo_acc2};
    use segue_models::music::Key;

    let mut dir = PathBuf::from("target/eval");
    let mut compressed = true;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--dir" => dir = PathBuf::from(value(&mut it, arg)?),
            "--no-compressed" => compressed = false,
            other => return Err(UsageError(format!("eval: unknown option {other:?}")).into()),
        }
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rows: Vec<(String, String, Score)> = Vec::new();
    println!(
        "{:<24} {:<4} {:>7} {:>8} {:>6} {:>6} {:>9} {:>5} {:>5} {:>6}",
        "track", "fmt", "bpm", "est", "beatF", "downF", "key", "B@.5", "B@3", "secs"
    );
    for spec in fixture_set() {
        let track = demo::synthesize(&spec, 44_100);
        let truth = &track.truth;
        let wav = dir.join(format!("{}.wav", spec.name));
        if !wav.exists() {
            segue_models::wav::write_wav(
                &wav,
                44_100,
                &track.audio.mix,
                segue_models::wav::WavFormat::Pcm16,
            )?;
        }
        let mut files = vec![("wav", wav.clone())];
        if compressed {
            let mp3 = dir.join(format!("{}.mp3", spec.name));
            let ogg = dir.join(format!("{}.ogg", spec.name));
            if !mp3.exists() {
                run_tool(
                    "lame",
                    &[
                        "--quiet",
                        "-b",
                        "192",
                        wav.to_str().unwrap_or_default(),
                        mp3.to_str().unwrap_or_default(),
                    ],
                )?;
            }
            if !ogg.exists() {
                run_tool(
                    "oggenc",
                    &[
                        "--quiet",
                        "-q",
                        "5",
                        "-o",
                        ogg.to_str().unwrap_or_default(),
                        wav.to_str().unwrap_or_default(),
                    ],
                )?;
            }
            files.push(("mp3", mp3));
            files.push(("ogg", ogg));
        }
        let true_key: Key = truth
            .key
            .parse()
            .map_err(|_| anyhow::anyhow!("bad truth key {}", truth.key))?;
        let true_bounds: Vec<f64> = truth.sections.iter().skip(1).map(|s| s.start).collect();
        for (fmt, path) in files {
            let t = Instant::now();
            let a = analyze_file(&path)?;
            let secs = t.elapsed().as_secs_f64();
            let est_key: Option<Key> = a.key.parse().ok();
            let bounds: Vec<f64> = a.sections.iter().skip(1).map(|s| s.start).collect();
            let score = Score {
                acc1: tempo_acc1(a.bpm, truth.bpm),
                acc2: tempo_acc2(a.bpm, truth.bpm),
                beat_f: f_measure(&a.beats, &truth.beats, 0.07),
                down_f: f_measure(&a.downbeats, &truth.downbeats, 0.07),
                key: est_key.map_or(0.0, |k| key_score(k, true_key)),
                bound_05: f_measure(&bounds, &true_bounds, 0.5),
                bound_3: f_measure(&bounds, &true_bounds, 3.0),
                secs,
            };
            println!(
                "{:<24} {:<4} {:>7.2} {:>8.3} {:>6.3} {:>6.3} {:>9} {:>5.2} {:>5.2} {:>6.2}",
                spec.name,
                fmt,
                truth.bpm,
                a.bpm,
                score.beat_f,
                score.down_f,
                a.camelot,
                score.bound_05,
                score.bound_3,
                secs
            );
            rows.push((spec.name.clone(), fmt.to_string(), score));
        }
    }
    let n = rows.len() as f64;
    let mean = |f: &dyn Fn(&Score) -> f64| rows.iter().map(|(_, _, s)| f(s)).sum::<f64>() / n;
    println!();
    println!(
        "Segue on {} files ({} tracks):",
        rows.len(),
        fixture_set().len()
    );
    println!(
        "  tempo Acc1 {:.3}  Acc2 {:.3}",
        mean(&|s| s.acc1 as u8 as f64),
        mean(&|s| s.acc2 as u8 as f64)
    );
    println!(
        "  beat F {:.3}  downbeat F {:.3}  (±70 ms)",
        mean(&|s| s.beat_f),
        mean(&|s| s.down_f)
    );
    println!("  key (MIREX weighted) {:.3}", mean(&|s| s.key));
    println!(
        "  boundaries F@0.5 s {:.3}  F@3 s {:.3}",
        mean(&|s| s.bound_05),
        mean(&|s| s.bound_3)
    );
    println!("  {:.2} s per track (decode included)", mean(&|s| s.secs));
    println!("  (librosa / essentia / madmom comparison: not wired yet)");
    Ok(())
}

fn run_tool(tool: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = std::process::Command::new(tool)
        .args(args)
        .status()
        .with_context(|| {
            format!("running {tool} (apt-get install lame vorbis-tools; or pass --no-compressed)")
        })?;
    if !status.success() {
        bail!("{tool} failed ({status})");
    }
    Ok(())
}
