//! `segue`: the one command-line program. Argument parsing and output formatting only; the
//! work is done by the library crates.

mod analyze;
mod demo;
mod library;
mod midi;
mod mix;
mod plot;
mod separate;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Debug builds check that the audio callback never allocates (counted in
// `/segue/query/stats` as alloc_violations).
#[cfg(debug_assertions)]
#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

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
        /// Engine sample rate (22050 to 384000 Hz).
        #[arg(long, default_value_t = 48_000)]
        rate: u32,
    },
    /// Analyse audio files: tempo, beats, downbeats, key, loudness, energy, sections, cues.
    Analyze {
        /// Files to analyse (a bad file is reported; the others are still analysed).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print one JSON object per file (an array when several).
        #[arg(long)]
        json: bool,
        /// Draw a picture of the track to OUT.png or OUT.svg (numbered when several files).
        #[arg(long, value_name = "OUT")]
        plot: Option<PathBuf>,
        /// Report the tempo in this range, BPM (e.g. 70-140 or 85-170): the detected tempo
        /// is moved by octaves (×2, ÷2) into it, with the beats thinned or doubled to match
        /// and the downbeats kept. Without it the tempo is the one the groove is written in.
        #[arg(long, value_name = "LO-HI", value_parser = |s: &str| s.parse::<segue_analysis::BpmRange>())]
        bpm_range: Option<segue_analysis::BpmRange>,
    },
    /// The track library (one SQLite file).
    Library {
        /// Library file [default: $SEGUE_LIBRARY or ~/.local/share/segue/library.sqlite].
        #[arg(long, global = true)]
        db: Option<PathBuf>,
        #[command(subcommand)]
        command: LibraryCmd,
    },
    /// Run the headless daemon: audio backend, OSC control, lighting feed, MIDI clock.
    /// Render an automixed set: order, analyse, plan and mix tracks into one file.
    Mix(mix::MixArgs),
    /// The vocals of A over the instrumental of B, tempo- and key-matched.
    Mashup(mix::MashupArgs),
    Serve(Box<serve::ServeArgs>),
    /// Decode audio files and print what they contain (format check).
    Decode {
        /// Files to decode.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Resample to this rate.
        #[arg(long, default_value_t = 48_000)]
        rate: u32,
    },
    /// Separate tracks into stems (drums, bass, other, vocals) beside each track.
    Separate(separate::SeparateArgs),
    /// MIDI controllers: list ports, monitor, learn a mapping, import a Mixxx mapping.
    Midi {
        #[command(subcommand)]
        command: midi::MidiCmd,
    },
}

#[derive(Subcommand)]
enum LibraryCmd {
    /// Scan folders (recursively) and analyse what is new; resumable.
    Add {
        /// Folders to scan.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Analysis threads [default: all cores but one].
        #[arg(long)]
        jobs: Option<usize>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Also separate stems (DSP) for every track under DIR without registered stems,
        /// after the analysis, and register them.
        #[arg(long)]
        stems: bool,
        /// Where `--stems` writes: DIR/<track name>-<hash>/ [default: `stems/` beside the
        /// library file].
        #[arg(long, value_name = "DIR", requires = "stems")]
        stems_dir: Option<PathBuf>,
        /// Stem files of `--stems`: flac (24-bit, the default) or wav (32-bit float).
        #[arg(long, value_enum, default_value = "flac", requires = "stems")]
        stems_format: separate::StemFormat,
    },
    /// List every track.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one track by id, path or content hash.
    Show {
        /// Id, path or content hash.
        track: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Search by tempo, key (with compatible keys), energy and text.
    Search {
        /// Text in the title or path.
        text: Option<String>,
        /// Tempo range, e.g. 120-130.
        #[arg(long, value_parser = library::parse_range::<f64>)]
        bpm: Option<(f64, f64)>,
        /// Key (Camelot, Open Key or name); compatible keys match too.
        #[arg(long, value_parser = library::parse_key)]
        key: Option<segue_analysis::music::Key>,
        /// Energy range, e.g. 6-8.
        #[arg(long, value_parser = library::parse_range::<u8>)]
        energy: Option<(u8, u8)>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Tracks that sound like one in the library (id, path or hash) or like any audio file
    /// (analysed first), from the similarity index; optional tempo/key/energy filters.
    Similar {
        /// Id, path or content hash of a library track, or an audio file.
        track: String,
        /// How many.
        #[arg(short, default_value_t = 10)]
        n: usize,
        /// Tempo range, e.g. 120-130 (half and double tempo match too).
        #[arg(long, value_parser = library::parse_range::<f64>)]
        bpm: Option<(f64, f64)>,
        /// Key (Camelot, Open Key or name): compatible keys (same, ±1, relative).
        #[arg(long, value_parser = library::parse_key)]
        key: Option<segue_analysis::music::Key>,
        /// Energy range, e.g. 6-8.
        #[arg(long, value_parser = library::parse_range::<u8>)]
        energy: Option<(u8, u8)>,
        /// Only tracks that mix with it: tempo within ±8 % (or half/double) and a
        /// compatible key.
        #[arg(long)]
        mixable: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// What to play after a track: play history (transition graph) blended with DNA
    /// similarity.
    Recommend {
        /// Id, path or content hash of a library track.
        track: String,
        /// How many.
        #[arg(short, default_value_t = 10)]
        n: usize,
        /// 0 = DNA similarity only, 1 = play history only.
        #[arg(long, default_value_t = segue_library::graph::DEFAULT_BLEND)]
        blend: f32,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Import playlists as play history: M3U/M3U8, or a rekordbox XML export (all its
    /// playlists and histories). Only tracks already in the library count.
    Import {
        /// Playlist files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
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
        Cmd::Analyze {
            files,
            json,
            plot,
            bpm_range,
        } => analyze::run(&files, json, plot.as_deref(), bpm_range),
        Cmd::Library { db, command } => {
            let db = db.unwrap_or_else(library::default_db);
            match command {
                LibraryCmd::Add {
                    dirs,
                    jobs,
                    quiet,
                    stems,
                    stems_dir,
                    stems_format,
                } => library::add(
                    &db,
                    &dirs,
                    jobs,
                    quiet,
                    stems.then_some(library::StemsTo {
                        dir: stems_dir,
                        format: stems_format,
                    }),
                ),
                LibraryCmd::List { json } => library::list(&db, None, json),
                LibraryCmd::Show { track, json } => library::show(&db, &track, json),
                LibraryCmd::Search {
                    text,
                    bpm,
                    key,
                    energy,
                    json,
                } => library::list(
                    &db,
                    Some(segue_library::Query {
                        bpm,
                        key,
                        energy,
                        text,
                    }),
                    json,
                ),
                LibraryCmd::Similar {
                    track,
                    n,
                    bpm,
                    key,
                    energy,
                    mixable,
                    json,
                } => library::similar(
                    &db,
                    &track,
                    n,
                    &library::SimilarFilter {
                        bpm,
                        key,
                        energy,
                        mixable,
                    },
                    json,
                ),
                LibraryCmd::Recommend {
                    track,
                    n,
                    blend,
                    json,
                } => library::recommend(&db, &track, n, blend, json),
                LibraryCmd::Import { files, json } => library::import(&db, &files, json),
            }
        }
        Cmd::Decode { files, rate } => decode(&files, rate),
        Cmd::Mix(args) => mix::run(&args),
        Cmd::Mashup(args) => mix::mashup(&args),
        Cmd::Serve(args) => serve::run(*args),
        Cmd::Midi { command } => midi::run(command),
        Cmd::Separate(args) => separate::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("segue: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Run `one` on each file and print what it reports; a bad file is reported (its error
/// already formatted by `one`) and the others still done. Fails if any file failed.
pub(crate) fn each_file<'a>(
    files: impl IntoIterator<Item = &'a PathBuf>,
    mut one: impl FnMut(&Path) -> Result<String, String>,
) -> ExitCode {
    let mut failed = false;
    for f in files {
        match one(f) {
            Ok(msg) => println!("{msg}"),
            Err(e) => {
                eprintln!("segue: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Decode each file; a bad file is reported and the others still decoded.
fn decode(files: &[PathBuf], rate: u32) -> anyhow::Result<ExitCode> {
    Ok(each_file(files, |f| {
        let (audio, info) =
            segue_decode::decode_file_with_info(f, rate).map_err(|e| e.to_string())?;
        Ok(format!(
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
        ))
    }))
}
