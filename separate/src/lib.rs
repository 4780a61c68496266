//! Stem separation: a track's mix into four stems, drums, bass, other and vocals (the
//! engine's [`Stem`] order), and the measure of how well that went.
//!
//! * [`Separator`] is the one interface; [`DspSeparator`] is the default backend (signal
//!   processing only, no model file: median-filter harmonic/percussive separation, a low band
//!   for the bass with the harmonics of its tracked fundamental, a mid/side mask for the
//!   centred harmonic voice, soft Wiener-style masks; see `dsp.rs`). [`OnnxSeparator`]
//!   runs an htdemucs ONNX model with ONNX Runtime, whose library is loaded at run time
//!   ([`find_runtime`]; a missing library is an error, never a panic; see `onnx/mod.rs`).
//! * [`sdr`] scores a separated stem against the true one (BSS Eval v3 source SDR, see
//!   `sdr.rs`).
//!
//! Guarantees: every separator's stems **sum back to the mix sample-exactly**: for every
//! frame and channel, `((drums + bass) + other) + vocals == mix` in f32 (the order the demo
//! synthesiser and the engine's stem read use). [`assign_residual`] enforces it: the stems a
//! backend estimates keep their values and "other" takes what is left. Separators never
//! panic on any input (silence, one frame, any rate) and never produce NaN from finite input.
//! Nothing here touches the audio thread; separation is slow-side work (the CLI, the worker).
//!
//! ```
//! use segue_separate::{DspSeparator, Separator};
//! let mix: Vec<[f32; 2]> = (0..44_100).map(|i| [((i % 100) as f32 / 100.0 - 0.5) * 0.2; 2]).collect();
//! let stems = DspSeparator::default().separate(&mix, 44_100).unwrap();
//! for (i, m) in mix.iter().enumerate() {
//!     for c in 0..2 {
//!         assert_eq!(((stems[0][i][c] + stems[1][i][c]) + stems[2][i][c]) + stems[3][i][c], m[c]);
//!     }
//! }
//! ```

#![deny(unsafe_code)] // allowed in `cuda.rs` alone (kernel launches)
#![deny(missing_docs)]

mod cuda;
mod dsp;
mod error;
mod onnx;
mod sdr;
mod stft;

use std::path::{Path, PathBuf};

use segue_engine::TrackAudio;
pub use segue_engine::{Frame, Stem};

pub use dsp::{DspParams, DspSeparator};
pub use error::SeparateError;
pub use onnx::{
    find_runtime, venv_lib, OnnxOptions, OnnxSeparator, DEFAULT_SEGMENT, MODEL_RATE, ORT_DYLIB_ENV,
};
pub use sdr::{sdr, sdr_mono, DEFAULT_FILTER_LEN};

/// Four stems in [`Stem`] order (drums, bass, other, vocals), each as long as the mix.
pub type Stems = [Vec<Frame>; 4];

/// Where a separator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The GPU when one is usable, else the CPU.
    #[default]
    Auto,
    /// The CPU only.
    Cpu,
    /// A CUDA device; an error when there is none.
    Cuda,
}

impl std::str::FromStr for Device {
    type Err = SeparateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda),
            other => Err(SeparateError::Usage(format!(
                "unknown device {other:?}: expected auto, cpu or cuda"
            ))),
        }
    }
}

/// Whether the DSP separator's GPU path can run here (a CUDA driver, NVRTC and a device),
/// or why not. Asked once per process; the answer is kept.
pub fn cuda_usable() -> Result<(), String> {
    cuda::available()
}

/// A way to split a stereo mix into four stems.
pub trait Separator {
    /// A short name for reports ("dsp", "onnx").
    fn name(&self) -> &str;

    /// The stems of `mix` (stereo frames at `sample_rate` Hz), in [`Stem`] order, each
    /// exactly `mix.len()` frames, summing back to `mix` sample-exactly.
    fn separate(&mut self, mix: &[Frame], sample_rate: u32) -> Result<Stems, SeparateError>;

    /// [`Separator::separate`], telling `progress` the fraction done (0..=1) as it goes;
    /// when `progress` returns `false` the separation stops with
    /// [`SeparateError::Cancelled`]. Backends that cannot report along the way (the
    /// default) report 0 before and 1 after.
    fn separate_with(
        &mut self,
        mix: &[Frame],
        sample_rate: u32,
        progress: &mut dyn FnMut(f32) -> bool,
    ) -> Result<Stems, SeparateError> {
        if !progress(0.0) {
            return Err(SeparateError::Cancelled);
        }
        let stems = self.separate(mix, sample_rate)?;
        progress(1.0);
        Ok(stems)
    }
}

/// `track` with the stems `separator` makes from its mix.
pub fn separate_track(
    separator: &mut dyn Separator,
    track: TrackAudio,
) -> Result<TrackAudio, SeparateError> {
    let stems = separator.separate(&track.mix, track.sample_rate)?;
    track
        .with_stems(stems)
        .map_err(|_| SeparateError::Internal("stems do not match the mix".into()))
}

/// The stem files of the track at `track`, with extension `ext` (`wav`, `flac`): beside
/// it as `<name>.{drums,bass,other,vocals}.<ext>` (`<name>` the track's file stem: the
/// names the deck loader looks for beside a track), or, given `out_dir`, in a folder of
/// its own there: `<out_dir>/<name>/{drums,bass,other,vocals}.<ext>`.
pub fn stem_paths(track: &Path, out_dir: Option<&Path>, ext: &str) -> [PathBuf; 4] {
    let name = track
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "track".into());
    match out_dir {
        Some(out) => Stem::ALL.map(|s| out.join(&name).join(format!("{}.{ext}", s.name()))),
        None => {
            let dir = track.parent().map(Path::to_path_buf).unwrap_or_default();
            Stem::ALL.map(|s| dir.join(format!("{name}.{}.{ext}", s.name())))
        }
    }
}

/// Make "other" the residual: `other = mix − drums − bass − vocals`, adjusted so that
/// `((drums + bass) + other) + vocals == mix` holds exactly in f32 for every sample. Where
/// no f32 value of "other" can make that sum exact (the vocals, added last, cannot be much
/// larger than the mix sample when that sample has bits finer than the vocals' last bit;
/// or an estimate is not finite), that sample of the estimated stems is moved into "other",
/// vocals first, then bass, then drums (`0 + 0 + mix + 0 == mix` always holds).
/// `stems[2]` is overwritten; all four must be `mix.len()` long. Returns how many samples
/// (frame × channel) had a stem moved.
pub fn assign_residual(mix: &[Frame], stems: &mut Stems) -> usize {
    let mut moved = 0;
    let [d, b, o, v] = stems;
    for i in 0..mix.len() {
        for c in 0..2 {
            let m = mix[i][c];
            // An exact residual needs the last addend not to dwarf the mix sample (it cannot
            // carry the sample's fine bits otherwise): give up the vocals, then the bass and
            // drums, at this sample only, until one exists.
            // (Made one at a time: almost every sample takes the first.)
            let (d0, b0, v0) = (d[i][c], b[i][c], v[i][c]);
            let tries = (0..5).map(|n| match n {
                0 => (d0, b0, v0),
                1 => (d0, b0, fit_last(m, v0)),
                2 => (d0, b0, 0.0),
                3 => (d0, 0.0, 0.0),
                _ => (0.0, 0.0, 0.0),
            });
            for (n, (dd, bb, vv)) in tries.enumerate() {
                let oo = if dd == 0.0 && bb == 0.0 && vv == 0.0 {
                    Some(m)
                } else {
                    residual(m, dd, bb, vv)
                };
                if let Some(oo) = oo {
                    (d[i][c], b[i][c], o[i][c], v[i][c]) = (dd, bb, oo, vv);
                    moved += usize::from(n > 0);
                    break;
                }
            }
        }
    }
    moved
}

/// The value nearest `v` that can be the last addend of an exact sum to `m`: a multiple of
/// `m`'s lowest set bit `g`, within `2^24·g` of `m` (so `m − v` is an f32). A mix decoded
/// from 16- or 24-bit PCM has `g ≥ 2^-23` and keeps any audio-range `v` unchanged.
fn fit_last(m: f32, v: f32) -> f32 {
    if m == 0.0 || !m.is_finite() || !v.is_finite() {
        return v;
    }
    let bits = m.to_bits() & 0x7fff_ffff;
    let exp = (bits >> 23) as i32;
    let mant = if exp == 0 { bits } else { bits | 0x80_0000 };
    // m = ±mant · 2^(max(exp, 1) − 150); its lowest set bit, 2^e with −149 ≤ e ≤ 127 (a
    // normal f64, built from its exponent bits: exact, as 2^e is):
    let e = mant.trailing_zeros() as i32 + exp.max(1) - 150;
    let g = f64::from_bits(((e + 1023) as u64) << 52);
    let range = g * f64::from(1u32 << 24);
    let q = (f64::from(v) / g).round() * g;
    let lo = f64::from(m) - range + g;
    let hi = f64::from(m) + range - g;
    let lim = range - g;
    q.clamp(lo, hi).clamp(-lim, lim) as f32
}

/// An `o` with `((d + b) + o) + v == m`, if one is found.
fn residual(m: f32, d: f32, b: f32, v: f32) -> Option<f32> {
    let db = d + b;
    let mut o = (m - v) - db;
    for _ in 0..4 {
        let s = (db + o) + v;
        if s == m {
            return Some(o);
        }
        if !s.is_finite() || !o.is_finite() {
            return None;
        }
        o += m - s;
    }
    // The correction can oscillate between two neighbours: try the values around it.
    let bits = o.to_bits();
    for delta in 1..=3u32 {
        for cand in [
            f32::from_bits(bits.wrapping_add(delta)),
            f32::from_bits(bits.wrapping_sub(delta)),
        ] {
            if (db + cand) + v == m {
                return Some(cand);
            }
        }
    }
    None
}

/// The stems as 24-bit integer samples (`round(x · 2^23)`, as 24-bit FLAC holds them) whose
/// integer sum is the 24-bit mix: drums, bass and vocals are rounded, and "other" is the
/// integer residual. Where that residual would not fit 24 bits, the sample of vocals, then
/// bass, then drums goes into "other" instead (as [`assign_residual`] does). Read back as
/// `s / 2^23` in f32, `((drums + bass) + other) + vocals` is exactly the mix rounded to 24
/// bits (every partial sum is a multiple of 2^-23 below 2 in magnitude, so f32 holds it);
/// that is the mix itself for 16- and 24-bit sources.
pub fn stems_pcm24(mix: &[Frame], stems: &Stems) -> [Vec<[i32; 2]>; 4] {
    const LIM: i32 = 1 << 23;
    let q = |x: f32| -> i32 {
        if x.is_finite() {
            (x * LIM as f32)
                .round()
                .clamp(-(LIM as f32), (LIM - 1) as f32) as i32
        } else {
            0
        }
    };
    let mut out: [Vec<[i32; 2]>; 4] = std::array::from_fn(|_| vec![[0; 2]; mix.len()]);
    for i in 0..mix.len() {
        for c in 0..2 {
            let m = q(mix[i][c]);
            let mut s = [stems[0][i][c], stems[1][i][c], 0.0, stems[3][i][c]].map(q);
            // Give up vocals, then bass, then drums until the residual fits.
            for k in [3, 1, 0, 2] {
                let o = m - s[0] - s[1] - s[3];
                if (-LIM..LIM).contains(&o) {
                    s[2] = o;
                    break;
                }
                s[k] = 0;
            }
            for (st, v) in out.iter_mut().zip(s) {
                st[i][c] = v;
            }
        }
    }
    out
}

/// Whether the four stems sum to `mix` exactly (in the order of [`assign_residual`]).
pub fn sums_to_mix(mix: &[Frame], stems: &Stems) -> bool {
    stems.iter().all(|s| s.len() == mix.len())
        && mix.iter().enumerate().all(|(i, m)| {
            (0..2).all(|c| {
                ((stems[0][i][c] + stems[1][i][c]) + stems[2][i][c]) + stems[3][i][c] == m[c]
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residual_is_exact_for_awkward_values() {
        let cases = [
            (0.7f32, 0.3f32, 1e-8f32, 0.4f32),
            (-0.99, 0.123_456_79, 0.987_654_3, -1.5),
            (0.0, 0.0, 0.0, 0.0),
            (3.0e-3, 2.0, -2.0, 1e-7),
        ];
        for (m, d, b, v) in cases {
            let o = residual(m, d, b, v).expect("a residual exists");
            assert_eq!(((d + b) + o) + v, m, "{m} {d} {b} {v}");
        }
    }

    #[test]
    fn fit_last_keeps_audio_range_values_on_a_pcm_grid_and_fits_fine_ones() {
        // 16-bit grid: v is kept as long as it is a multiple of the mix's lowest bit.
        let m = 1234.0 / 32768.0;
        assert_eq!(fit_last(m, 0.5), 0.5);
        // The grid step of the smallest subnormal and of a large value.
        assert_eq!(fit_last(f32::from_bits(1), 0.0), 0.0);
        let big = fit_last(3.0e38, 1.0);
        assert!(big.is_finite());
        for (m, v) in [
            (1e-30f32, 0.1f32),
            (0.3, 0.7),
            (f32::from_bits(1), 1e-44),
            (-2.5e-20, 3.0),
        ] {
            let f = fit_last(m, v);
            let g = 2f64.powi(
                (m.to_bits() & 0x7f_ffff | 0x80_0000).trailing_zeros() as i32
                    + (((m.to_bits() >> 23) & 0xff) as i32).max(1)
                    - 150,
            );
            let q = f64::from(f) / g;
            assert_eq!(q, q.round(), "{m} {v}: {f} is not a multiple of {g}");
        }
    }

    #[test]
    fn assign_residual_falls_back_to_other_for_non_finite_estimates() {
        let mix = vec![[0.25, -0.5]; 3];
        let mut stems: Stems = [
            vec![[f32::NAN, 0.1]; 3],
            vec![[0.0, f32::INFINITY]; 3],
            vec![[0.0; 2]; 3],
            vec![[0.2, 0.0]; 3],
        ];
        assign_residual(&mix, &mut stems);
        assert!(sums_to_mix(&mix, &stems));
        assert!(stems.iter().flatten().flatten().all(|x| x.is_finite()));
    }

    #[test]
    fn assign_residual_is_exact_where_no_residual_value_exists() {
        // (0 + o) + 0.1 lands on a multiple of 0.1's ulp, never on 1e-30.
        assert_eq!(residual(1e-30, 0.5, -0.5, 0.1), None);
        let mix = vec![[1e-30, 0.3]];
        let mut stems: Stems = [
            vec![[0.5, 0.1]],
            vec![[-0.5, 0.1]],
            vec![[0.0; 2]],
            vec![[0.1, 0.1]],
        ];
        assert_eq!(assign_residual(&mix, &mut stems), 1);
        assert!(sums_to_mix(&mix, &stems));
        // The vocals were fitted to the mix sample's grid, not dropped.
        assert!(stems[3][0][0] != 0.1 && stems[3][0][0].abs() < 1e-27);
    }

    #[test]
    fn stem_paths_follow_the_deck_loaders_naming() {
        let p = stem_paths(Path::new("/music/set/track 01.flac"), None, "wav");
        assert_eq!(p[0], Path::new("/music/set/track 01.drums.wav"));
        assert_eq!(p[3], Path::new("/music/set/track 01.vocals.wav"));
        let p = stem_paths(Path::new("a/b.mp3"), Some(Path::new("out")), "flac");
        assert_eq!(p[1], Path::new("out/b/bass.flac"));
        assert_eq!(p[2], Path::new("out/b/other.flac"));
    }

    #[test]
    fn pcm24_stems_sum_to_the_24_bit_mix_in_f32() {
        let lim = (1 << 23) as f32;
        // A 16-bit-grid mix and stems far from it (out of 24-bit range, NaN) on purpose.
        let mix: Vec<Frame> = (0..5000)
            .map(|i| [((i * 37 % 65_536) as f32 - 32_768.0) / 32_768.0, -0.25])
            .collect();
        let stems: Stems = [
            mix.iter().map(|m| [m[0] * 0.3, 0.9]).collect(),
            mix.iter().map(|m| [m[0] * 0.2, 0.9]).collect(),
            vec![[0.0; 2]; mix.len()],
            (0..mix.len())
                .map(|i| [if i % 7 == 0 { f32::NAN } else { -0.1 }, 0.9])
                .collect(),
        ];
        let pcm = stems_pcm24(&mix, &stems);
        let read: Stems =
            std::array::from_fn(|k| pcm[k].iter().map(|f| f.map(|x| x as f32 / lim)).collect());
        assert!(sums_to_mix(&mix, &read));
        assert!(pcm
            .iter()
            .flatten()
            .flatten()
            .all(|&x| (-(1 << 23)..1 << 23).contains(&x)));
        // Where the residual fitted, the estimates were kept (rounded).
        assert_eq!(pcm[0][1][0], (stems[0][1][0] * lim).round() as i32);
    }

    #[test]
    fn device_names_parse() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("auto".parse::<Device>().unwrap(), Device::Auto);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda);
        assert!("gpu".parse::<Device>().is_err());
    }
}
