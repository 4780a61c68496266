//! The ONNX separator against the Python reference pipeline (`fixtures/make_tiny.py`): the
//! same tiny model, the same deterministic 20 s clip, the same chunking (stride N − N/4,
//! triangular window, overlap-add divided by the summed weights).

mod common;

use segue_separate::{sums_to_mix, Device, Frame, OnnxOptions, OnnxSeparator, Separator};

/// `make_tiny.py::clip`: integer arithmetic only, so both sides make the same bits.
fn clip(frames: usize) -> Vec<Frame> {
    let mut state: u64 = 1;
    (0..frames as i64)
        .map(|i| {
            state = (state * 1_664_525 + 1_013_904_223) % (1 << 32);
            let noise = (state >> 20) as i64 - 2048;
            let drum = noise * (2048 - i % 11025).max(0);
            let saw_l = ((i * 3) % 800 - 400) * 4000;
            let saw_r = ((i * 5) % 1000 - 500) * 3000;
            let bass = if (i / 200) % 2 == 1 {
                1_500_000
            } else {
                -1_500_000
            };
            let s = (1u32 << 24) as f32;
            [
                (drum + saw_l + bass) as f32 / s,
                (drum + saw_r + bass) as f32 / s,
            ]
        })
        .collect()
}

fn tiny(runtime: std::path::PathBuf) -> OnnxSeparator {
    let options = OnnxOptions {
        device: Device::Cpu,
        runtime: Some(runtime),
        threads: Some(1),
    };
    OnnxSeparator::new(&common::fixture("tiny_sep.onnx"), &options).expect("tiny model loads")
}

#[test]
fn chunked_output_matches_the_python_reference() {
    let Some(runtime) = common::runtime() else {
        return;
    };
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("tiny_sep_ref.json")).unwrap(),
    )
    .unwrap();
    let get = |k: &str| meta[k].as_u64().unwrap() as usize;
    let (frames, step) = (get("clip_frames"), get("step"));
    let bytes = std::fs::read(common::fixture("tiny_sep_ref.f32")).unwrap();
    let reference: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(reference.len(), get("kept_frames") * 8);

    let mut sep = tiny(runtime);
    assert_eq!(
        sep.segment(),
        get("segment"),
        "segment read from the model's input shape"
    );
    let mix = clip(frames);
    let stems = sep.estimate(&mix, 44_100).unwrap();

    let mut max_err = 0.0f32;
    for (k, i) in (0..frames).step_by(step).enumerate() {
        for s in 0..4 {
            for c in 0..2 {
                let err = (stems[s][i][c] - reference[k * 8 + s * 2 + c]).abs();
                max_err = max_err.max(err);
            }
        }
    }
    let rms: Vec<f64> = stems
        .iter()
        .map(|s| {
            let sum: f64 = s.iter().flatten().map(|&v| f64::from(v).powi(2)).sum();
            (sum / (2 * s.len()) as f64).sqrt()
        })
        .collect();
    eprintln!(
        "onnx parity: max abs error {max_err:.3e} over {} frames × 4 stems × 2 channels; stem rms {rms:.6?}",
        reference.len() / 8
    );
    assert!(max_err <= 1e-4, "max abs error {max_err} > 1e-4");
    for (s, want) in meta["stem_rms"].as_array().unwrap().iter().enumerate() {
        let want = want.as_f64().unwrap();
        assert!(
            (rms[s] - want).abs() <= 1e-5 * want,
            "stem {s}: rms {} vs reference {want} (whole clip)",
            rms[s]
        );
    }

    // The separator proper: the same stems, "other" the exact residual. Where no exact
    // residual exists `assign_residual` fits the vocals to the mix sample's grid (this
    // clip's samples are multiples of 2^-24 with many trailing zeros, grids up to ~2^-19:
    // the vocals move by ~1e-6) or, rarely, moves a stem's sample into "other".
    let sep_stems = sep.separate(&mix, 44_100).unwrap();
    assert!(sums_to_mix(&mix, &sep_stems));
    for s in [0, 1, 3] {
        let moved = sep_stems[s]
            .iter()
            .zip(&stems[s])
            .flat_map(|(a, b)| [(a[0] - b[0]).abs(), (a[1] - b[1]).abs()])
            .filter(|&d| d > 1e-4)
            .count();
        eprintln!(
            "stem {s}: {moved} of {} samples moved by > 1e-4",
            2 * frames
        );
        assert!(
            moved <= 2 * frames / 1000,
            "stem {s}: {moved} samples moved"
        );
    }
}

#[test]
fn other_rates_and_short_mixes_keep_the_length_and_sum() {
    let Some(runtime) = common::runtime() else {
        return;
    };
    let mut sep = tiny(runtime);
    for (rate, len) in [
        (48_000, 96_000),
        (22_050, 5_000),
        (44_100, 100),
        (44_100, 1),
        (44_100, 0),
    ] {
        let mix: Vec<Frame> = clip(len);
        let stems = sep.separate(&mix, rate).unwrap();
        assert!(
            stems.iter().all(|s| s.len() == len),
            "{rate} Hz, {len} frames"
        );
        assert!(sums_to_mix(&mix, &stems), "{rate} Hz, {len} frames");
        assert!(stems.iter().flatten().flatten().all(|v| v.is_finite()));
    }
    let silence = vec![[0.0f32; 2]; 20_000];
    let stems = sep.separate(&silence, 44_100).unwrap();
    assert!(sums_to_mix(&silence, &stems));
}
