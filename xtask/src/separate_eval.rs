//! `cargo xtask eval --separate [--set demo|indie] [--every K] [--dir DIR] [--baselines]`:
//! stem separation scored against true stems: BSS Eval v3 SDR (512-tap distortion filter,
//! `segue_separate::sdr`) per stem and of "everything but drums" for the DSP separator, the
//! mix itself as the estimate of every stem (baseline), and with `--baselines` librosa's HPSS
//! (percussive = drums, harmonic = the rest; PyPI `librosa`, run in the venv
//! `target/mir-venv` that `cargo xtask eval --baselines` makes, else the system `python3`).
//!
//! * `demo` (default): `segue_demo::demo_set`, whose true stems are exact.
//! * `indie`: the independent FluidSynth set ([`crate::indie`]), every K-th song: each song's
//!   drums, bass and other parts (chords, pad, lead) rendered apart with the mix's FluidSynth
//!   settings into `target/eval-indie-stems`; the mix scored is their sum. These songs have
//!   no voice, so vocals have no truth (SDR "-") and the "vocals" estimate counts in "rest".

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use segue_separate::{sdr, DspSeparator, Frame, Separator, DEFAULT_FILTER_LEN};

use crate::indie;

fn sum(a: &[&Vec<Frame>]) -> Vec<Frame> {
    (0..a[0].len())
        .map(|i| std::array::from_fn(|c| a.iter().map(|s| s[i][c]).sum()))
        .collect()
}

fn db(x: Option<f64>) -> String {
    x.map_or("     -".into(), |v| format!("{v:6.2}"))
}

/// A track with its true stems (drums, bass, other, vocals; `None` where it has none).
struct Fixture {
    name: String,
    rate: u32,
    mix: Vec<Frame>,
    truth: [Option<Vec<Frame>>; 4],
}

fn demo_fixtures() -> anyhow::Result<Vec<Fixture>> {
    const RATE: u32 = 44_100;
    segue_demo::demo_set()
        .iter()
        .map(|spec| {
            let track = segue_demo::synthesize(spec, RATE);
            let truth = track.audio.stems.context("demo track without stems")?;
            Ok(Fixture {
                name: spec.name.clone(),
                rate: RATE,
                mix: track.audio.mix,
                truth: (*truth).map(Some),
            })
        })
        .collect()
}

fn indie_fixtures(every: usize) -> anyhow::Result<Vec<Fixture>> {
    indie::check_tools()?;
    let dir = PathBuf::from("target/eval-indie-stems");
    std::fs::create_dir_all(&dir)?;
    let t = Instant::now();
    let mut out = Vec::new();
    for song in indie::songs().into_iter().step_by(every) {
        let files = indie::render_stems(&song, &dir)
            .with_context(|| format!("rendering the parts of {}", song.name))?;
        let mut parts = Vec::new();
        let mut rate = 0;
        for f in &files {
            let (a, _) = segue_decode::decode_file_native(f)?;
            rate = a.sample_rate;
            parts.push(a.mix);
        }
        let len = parts.iter().map(Vec::len).max().unwrap_or(0);
        for p in &mut parts {
            p.resize(len, [0.0; 2]);
        }
        let mix = sum(&parts.iter().collect::<Vec<_>>());
        let mut it = parts.into_iter();
        let (d, b, o) = (it.next(), it.next(), it.next());
        out.push(Fixture {
            name: song.name.clone(),
            rate,
            mix,
            truth: [d, b, o, None],
        });
    }
    println!(
        "indie set: the parts of {} songs rendered in {} ({:.1} s)",
        out.len(),
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(out)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut dir = PathBuf::from("target/eval-separate");
    let mut baselines = false;
    let mut set = "demo".to_string();
    let mut every = 1usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--separate" => {}
            "--dir" => dir = PathBuf::from(it.next().context("--dir needs a value")?),
            "--baselines" => baselines = true,
            "--set" => set = it.next().context("--set needs demo or indie")?.clone(),
            "--every" => {
                every = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|k| *k >= 1)
                    .context("--every needs K >= 1")?
            }
            other => anyhow::bail!("eval --separate: unknown option {other:?}"),
        }
    }
    let fixtures = match set.as_str() {
        "demo" => demo_fixtures()?.into_iter().step_by(every).collect(),
        "indie" => indie_fixtures(every)?,
        other => anyhow::bail!("eval --separate: --set {other:?}: expected demo or indie"),
    };
    std::fs::create_dir_all(&dir)?;
    let names = ["drums", "bass", "other", "vocals", "rest"];
    println!(
        "{:<24} {:<6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7}",
        "track", "method", names[0], names[1], names[2], names[3], names[4], "secs"
    );
    let mut totals: Vec<(String, [Vec<f64>; 5], f64, f64)> = Vec::new();
    let mut add = |method: &str, v: [Option<f64>; 5], secs: f64, dur: f64| {
        let i = match totals.iter().position(|t| t.0 == method) {
            Some(i) => i,
            None => {
                totals.push((method.into(), Default::default(), 0.0, 0.0));
                totals.len() - 1
            }
        };
        for (k, x) in v.iter().enumerate() {
            if let Some(x) = x {
                totals[i].1[k].push(*x);
            }
        }
        totals[i].2 += secs;
        totals[i].3 += dur;
    };
    for fx in &fixtures {
        let mix = &fx.mix;
        let rest_parts: Vec<&Vec<Frame>> = fx.truth[1..].iter().flatten().collect();
        let rest_truth = sum(&rest_parts);
        let dur = mix.len() as f64 / f64::from(fx.rate);
        let score = |est: &[Vec<Frame>; 4], rest: &[Frame]| -> [Option<f64>; 5] {
            let mut v = [None; 5];
            for k in 0..4 {
                v[k] = fx.truth[k]
                    .as_ref()
                    .and_then(|t| sdr(t, &est[k], DEFAULT_FILTER_LEN));
            }
            v[4] = sdr(&rest_truth, rest, DEFAULT_FILTER_LEN);
            v
        };
        let row = |m: &str, v: &[Option<f64>; 5], secs: f64| {
            println!(
                "{:<24} {:<6} {} {} {} {} {} {:7.2}",
                fx.name,
                m,
                db(v[0]),
                db(v[1]),
                db(v[2]),
                db(v[3]),
                db(v[4]),
                secs
            )
        };
        let base = [mix.clone(), mix.clone(), mix.clone(), mix.clone()];
        let v = score(&base, mix);
        row("mix", &v, 0.0);
        add("mix", v, 0.0, dur);
        let t = Instant::now();
        let est = DspSeparator::default().separate(mix, fx.rate)?;
        let secs = t.elapsed().as_secs_f64();
        let v = score(&est, &sum(&est[1..].iter().collect::<Vec<_>>()));
        row("dsp", &v, secs);
        add("dsp", v, secs, dur);
        if baselines {
            let (drums, harm, secs) = librosa_hpss(&dir, &fx.name, fx.rate, mix)?;
            let est = [drums, harm.clone(), harm.clone(), harm.clone()];
            let mut v = score(&est, &harm);
            (v[1], v[2], v[3]) = (None, None, None);
            row("hpss", &v, secs);
            add("hpss", v, secs, dur);
        }
    }
    println!(
        "\nmean SDR (dB) over {} tracks of the {set} set, BSS Eval v3 (512 taps); rest = \
         everything but drums",
        fixtures.len()
    );
    for (m, v, secs, dur) in &totals {
        let mean = |x: &Vec<f64>| {
            if x.is_empty() {
                None
            } else {
                Some(x.iter().sum::<f64>() / x.len() as f64)
            }
        };
        println!(
            "{:<8} {} {} {} {} {}  {:.0}× real time, {:.2} s per track",
            m,
            db(mean(&v[0])),
            db(mean(&v[1])),
            db(mean(&v[2])),
            db(mean(&v[3])),
            db(mean(&v[4])),
            if *secs > 0.0 {
                dur / secs
            } else {
                f64::INFINITY
            },
            secs / fixtures.len().max(1) as f64
        );
    }
    Ok(())
}

/// The venv's Python (`target/mir-venv`, where `eval --baselines` installs librosa), else
/// the system's.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/mir-venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// librosa's `effects.hpss` (defaults: kernel 31, power 2, margin 1) per channel, through a
/// small Python script on one thread; returns (percussive, harmonic, seconds).
fn librosa_hpss(
    dir: &Path,
    name: &str,
    rate: u32,
    mix: &[Frame],
) -> anyhow::Result<(Vec<Frame>, Vec<Frame>, f64)> {
    use segue_decode::wav::{write_wav, WavFormat};
    let input = dir.join(format!("{name}.wav"));
    write_wav(&input, rate, mix, WavFormat::Float32)?;
    let (p, h) = (
        dir.join(format!("{name}.hpss-p.wav")),
        dir.join(format!("{name}.hpss-h.wav")),
    );
    let script = r#"
import sys, time, numpy as np, soundfile as sf, librosa
x, sr = sf.read(sys.argv[1], dtype='float32')
t = time.time()
P = []; H = []
for c in range(x.shape[1]):
    h, p = librosa.effects.hpss(x[:, c])
    H.append(h); P.append(p)
print(time.time() - t)
sf.write(sys.argv[2], np.stack(P, 1), sr, subtype='FLOAT')
sf.write(sys.argv[3], np.stack(H, 1), sr, subtype='FLOAT')
"#;
    let mut cmd = std::process::Command::new(python());
    cmd.arg("-c").arg(script).arg(&input).arg(&p).arg(&h);
    for var in [
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMBA_NUM_THREADS",
    ] {
        cmd.env(var, "1");
    }
    let out = cmd
        .output()
        .context("running python (cargo xtask eval --baselines makes target/mir-venv)")?;
    anyhow::ensure!(
        out.status.success(),
        "librosa HPSS failed (pip install librosa soundfile, or run `cargo xtask eval \
         --baselines` once for target/mir-venv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    let read = |f: &Path| -> anyhow::Result<Vec<Frame>> {
        let mut a = segue_decode::decode_file(f, rate)?.mix;
        a.resize(mix.len(), [0.0; 2]);
        Ok(a)
    };
    Ok((read(&p)?, read(&h)?, secs))
}
