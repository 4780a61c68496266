//! `segue`: the one command-line program. Argument parsing and output formatting only; the
//! work is done by the library crates.

mod demo;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Segue: a real-time DJ mixing engine.
#[derive(Parser)]
#[command(name = "segue", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Render a beat-matched two-deck mix of two demo tracks to a WAV file (synthesising
    /// the demo tracks first if they are not there).
    Demo {
        /// Synthesise the demo tracks again even if they exist.
        #[arg(long)]
        generate: bool,
        /// Only synthesise the demo tracks; do not render the mix.
        #[arg(long)]
        generate_only: bool,
        /// Where the demo tracks live.
        #[arg(long, default_value = "demo/tracks")]
        tracks: PathBuf,
        /// The mix file to write.
        #[arg(long, default_value = "demo/out/mix.wav")]
        out: PathBuf,
        /// Engine sample rate (44100, 48000, 88200 or 96000).
        #[arg(long, default_value_t = 48_000)]
        rate: u32,
    },
    /// Decode audio files and print what they contain (format check).
    Decode {
        /// Files to decode.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Resample to this rate.
        #[arg(long, default_value_t = 48_000)]
        rate: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Demo {
            generate,
            generate_only,
            tracks,
            out,
            rate,
        } => demo::run(&demo::Options {
            generate: generate || generate_only,
            generate_only,
            tracks,
            out,
            rate,
        }),
        Cmd::Decode { files, rate } => decode(&files, rate),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("segue: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Decode each file; a bad file is reported and the others still decoded.
fn decode(files: &[PathBuf], rate: u32) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for f in files {
        match segue_models::decode::decode_file_with_info(f, rate) {
            Ok((audio, info)) => println!(
                "{}: {} in {}, {} ch, {:.2} s, {} Hz → {} Hz, {} frames{}",
                f.display(),
                info.codec,
                info.container,
                info.source_channels,
                audio.duration_secs(),
                info.source_rate,
                audio.sample_rate,
                audio.frames(),
                if info.truncated {
                    format!(" (truncated; {} damaged packets)", info.damaged_packets)
                } else {
                    String::new()
                }
            ),
            Err(e) => {
                eprintln!("segue: {e}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
