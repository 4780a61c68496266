//! The DSP separator's GPU path (`cuda.rs`) against its CPU path.
//!
//! On a machine with a CUDA driver, NVRTC and a GPU: both give the same stems within
//! [`TOLERANCE`] on a minute of music-like audio, at 44.1 and 48 kHz and on short and odd
//! lengths; the GPU's stems sum to the mix exactly; a cancel stops it. Without a GPU the
//! GPU comparisons skip, saying so (`SEGUE_REQUIRE_CUDA=1` makes that a failure, for runs on
//! a GPU machine), and the fallback is tested instead: `Device::Auto` runs on the CPU and
//! says why, `Device::Cuda` is a clear error.

use segue_separate::{
    cuda_usable, sums_to_mix, Device, DspSeparator, Frame, SeparateError, Separator,
};

/// Largest difference allowed between a CPU and a GPU stem sample. The kernels do the CPU's
/// arithmetic in the same order, so the stems differ only where a mask crosses a rounding
/// step (`powf`/`powi`, the median of equal values); 1e-4 is −80 dB of full scale.
const TOLERANCE: f32 = 1e-4;

/// Deterministic noise.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A music-like mix: kicks and hats, a gliding bass line, a panned chord and a centred
/// voice-like tone with vibrato.
fn music(secs: f32, rate: u32) -> Vec<Frame> {
    let sr = rate as f32;
    let mut rng = Lcg(11);
    let tau = std::f32::consts::TAU;
    (0..(secs * sr) as usize)
        .map(|i| {
            let t = i as f32 / sr;
            let beat = (t * 2.05).fract();
            let kick = (tau * (50.0 + 80.0 * (-beat * 30.0).exp()) * beat).sin()
                * (-beat * 12.0).exp()
                * 0.5;
            let hat = rng.next() * (-((t * 4.1).fract()) * 60.0).exp() * 0.15;
            let bass_f = [55.0, 55.0, 65.4, 49.0][(t / 2.0) as usize % 4];
            let bass = (tau * bass_f * t).sin() * 0.25;
            let chord = [261.6, 329.6, 392.0]
                .iter()
                .map(|f| (tau * f * t).sin() * 0.05)
                .sum::<f32>();
            let vf = 440.0 * (1.0 + 0.01 * (tau * 5.0 * t).sin());
            let voice = (1..5)
                .map(|h| (tau * vf * h as f32 * t).sin() * 0.1 / h as f32)
                .sum::<f32>();
            let c = kick + hat + bass + voice;
            [c + chord * 0.3, c + chord + hat * 0.5]
        })
        .collect()
}

fn max_diff(a: &[Vec<Frame>; 4], b: &[Vec<Frame>; 4]) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y))
        .flat_map(|(p, q)| [(p[0] - q[0]).abs(), (p[1] - q[1]).abs()])
        .fold(0.0, f32::max)
}

/// Whether this machine runs the GPU comparisons; prints why not when it does not.
fn gpu_here(test: &str) -> bool {
    match cuda_usable() {
        Ok(()) => true,
        Err(why) => {
            assert!(
                std::env::var("SEGUE_REQUIRE_CUDA").as_deref() != Ok("1"),
                "SEGUE_REQUIRE_CUDA=1 but the GPU path is not usable: {why}"
            );
            eprintln!("{test}: skipped, no usable GPU ({why})");
            false
        }
    }
}

#[test]
fn gpu_and_cpu_give_the_same_stems() {
    if !gpu_here("gpu_and_cpu_give_the_same_stems") {
        return;
    }
    for (rate, secs) in [(44_100, 60.0), (48_000, 7.3), (22_050, 0.01), (96_000, 2.0)] {
        let mix = music(secs, rate);
        let mut cpu = DspSeparator::default().on(Device::Cpu);
        let mut gpu = DspSeparator::default().on(Device::Cuda);
        let a = cpu.separate(&mix, rate).unwrap();
        let b = gpu.separate(&mix, rate).unwrap();
        assert_eq!((cpu.ran_on(), gpu.ran_on()), (Some("cpu"), Some("cuda")));
        assert!(sums_to_mix(&mix, &b), "{rate} Hz: GPU stems sum to the mix");
        let d = max_diff(&a, &b);
        eprintln!("{rate} Hz, {secs} s: max |cpu - gpu| = {d:.3e}");
        assert!(d <= TOLERANCE, "{rate} Hz: max difference {d:e}");
        // The stems are not trivially equal (all in "other").
        let drums: f32 = b[0].iter().map(|f| f[0].abs()).sum();
        assert!(secs < 1.0 || drums > 1.0, "{rate} Hz: the GPU found drums");
    }
    // Auto takes the GPU.
    let mix = music(3.0, 44_100);
    let mut auto = DspSeparator::default();
    auto.separate(&mix, 44_100).unwrap();
    assert_eq!((auto.ran_on(), auto.note()), (Some("cuda"), None));
}

#[test]
fn gpu_reports_progress_and_cancels() {
    if !gpu_here("gpu_reports_progress_and_cancels") {
        return;
    }
    let mix = music(120.0, 44_100);
    let mut seen = Vec::new();
    DspSeparator::default()
        .on(Device::Cuda)
        .separate_with(&mix, 44_100, &mut |f| {
            seen.push(f);
            true
        })
        .unwrap();
    assert!(seen.windows(2).all(|w| w[1] >= w[0]), "{seen:?}");
    assert_eq!((seen[0], *seen.last().unwrap()), (0.0, 1.0));
    assert!(seen.len() > 3, "{seen:?}");
    let r = DspSeparator::default()
        .on(Device::Cuda)
        .separate_with(&mix, 44_100, &mut |f| f < 0.3);
    assert!(matches!(r, Err(SeparateError::Cancelled)));
}

#[test]
fn without_a_gpu_auto_falls_back_and_cuda_is_a_clear_error() {
    if cuda_usable().is_ok() {
        eprintln!("without_a_gpu_...: this machine has a GPU; the fallback is not reachable");
        return;
    }
    let mix = music(1.0, 44_100);
    let mut auto = DspSeparator::default();
    let stems = auto.separate(&mix, 44_100).unwrap();
    assert!(sums_to_mix(&mix, &stems));
    assert_eq!(auto.ran_on(), Some("cpu"));
    let why = auto.note().expect("Auto says why it did not use the GPU");
    assert!(!why.is_empty());
    let cpu = DspSeparator::default()
        .on(Device::Cpu)
        .separate(&mix, 44_100)
        .unwrap();
    assert_eq!(max_diff(&stems, &cpu), 0.0, "the fallback is the CPU path");
    match DspSeparator::default()
        .on(Device::Cuda)
        .separate(&mix, 44_100)
    {
        Err(e @ SeparateError::Device(_)) => {
            let msg = e.to_string();
            assert!(msg.starts_with("device: "), "{msg}");
        }
        other => panic!("--device cuda without a GPU: {:?}", other.map(|_| ())),
    }
}
