//! `cargo xtask eval --separate [--dir DIR] [--baselines]`: stem separation scored on the
//! demo set (`segue_demo::demo_set`, whose true stems are exact): BSS Eval v3 SDR (512-tap
//! distortion filter, `segue_separate::sdr`) per stem and of "everything but drums" for the
//! DSP separator, the mix itself as the estimate of every stem (baseline), and with
//! `--baselines` librosa's HPSS (percussive = drums, harmonic = the rest; PyPI `librosa`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use segue_separate::{sdr, DspSeparator, Frame, Separator, DEFAULT_FILTER_LEN};

const RATE: u32 = 44_100;

fn sum(a: &[Vec<Frame>]) -> Vec<Frame> {
    (0..a[0].len())
        .map(|i| std::array::from_fn(|c| a.iter().map(|s| s[i][c]).sum()))
        .collect()
}

fn db(x: Option<f64>) -> String {
    x.map_or("   -".into(), |v| format!("{v:6.2}"))
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut dir = PathBuf::from("target/eval-separate");
    let mut baselines = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--separate" => {}
            "--dir" => dir = PathBuf::from(it.next().context("--dir needs a value")?),
            "--baselines" => baselines = true,
            other => anyhow::bail!("eval --separate: unknown option {other:?}"),
        }
    }
    std::fs::create_dir_all(&dir)?;
    let names = ["drums", "bass", "other", "vocals", "rest"];
    println!(
        "{:<20} {:<8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
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
    for spec in segue_demo::demo_set() {
        let track = segue_demo::synthesize(&spec, RATE);
        let mix = track.audio.mix.clone();
        let truth = track
            .audio
            .stems
            .clone()
            .context("demo track without stems")?;
        let rest_truth = sum(&truth[1..]);
        let dur = mix.len() as f64 / f64::from(RATE);
        let score = |est: &[Vec<Frame>; 4], rest: &[Frame]| -> [Option<f64>; 5] {
            let mut v = [None; 5];
            for k in 0..4 {
                v[k] = sdr(&truth[k], &est[k], DEFAULT_FILTER_LEN);
            }
            v[4] = sdr(&rest_truth, rest, DEFAULT_FILTER_LEN);
            v
        };
        let row = |m: &str, v: &[Option<f64>; 5], secs: f64| {
            println!(
                "{:<20} {:<8} {} {} {} {} {} {:7.2}",
                spec.name,
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
        let v = score(&base, &mix);
        row("mix", &v, 0.0);
        add("mix", v, 0.0, dur);
        let t = Instant::now();
        let est = DspSeparator::default().separate(&mix, RATE)?;
        let secs = t.elapsed().as_secs_f64();
        let v = score(&est, &sum(&est[1..]));
        row("dsp", &v, secs);
        add("dsp", v, secs, dur);
        if baselines {
            let (drums, harm, secs) = librosa_hpss(&dir, &spec.name, &mix)?;
            let est = [drums, harm.clone(), harm.clone(), harm.clone()];
            let mut v = score(&est, &harm);
            (v[1], v[2], v[3]) = (None, None, None);
            row("hpss", &v, secs);
            add("hpss", v, secs, dur);
        }
    }
    println!(
        "\nmean SDR (dB) over the demo set, BSS Eval v3 (512 taps); rest = bass + other + vocals"
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
            "{:<8} {} {} {} {} {}  {:.0}× real time",
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
            }
        );
    }
    Ok(())
}

/// librosa's `effects.hpss` (defaults: kernel 31, power 2, margin 1) per channel, through a
/// small Python script; returns (percussive, harmonic, seconds).
fn librosa_hpss(
    dir: &Path,
    name: &str,
    mix: &[Frame],
) -> anyhow::Result<(Vec<Frame>, Vec<Frame>, f64)> {
    use segue_decode::wav::{write_wav, WavFormat};
    let input = dir.join(format!("{name}.wav"));
    write_wav(&input, RATE, mix, WavFormat::Float32)?;
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
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&input)
        .arg(&p)
        .arg(&h)
        .output()
        .context("running python3 (pip install librosa soundfile)")?;
    anyhow::ensure!(
        out.status.success(),
        "librosa HPSS failed (pip install librosa soundfile): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    let read = |f: &Path| -> anyhow::Result<Vec<Frame>> {
        let mut a = segue_decode::decode_file(f, RATE)?.mix;
        a.resize(mix.len(), [0.0; 2]);
        Ok(a)
    };
    Ok((read(&p)?, read(&h)?, secs))
}
