//! The ONNX separator: an htdemucs-style model run with ONNX Runtime (`ort`, library loaded
//! at run time, see [`find_runtime`]).
//!
//! The model contract (what `demucs` exports, see the README): one float32 input `mix`
//! `[1, 2, N]` (stereo at 44.1 kHz) and one float32 output `stems` `[1, 4, 2, N]` in the
//! order drums, bass, other, vocals. htdemucs has N = 343 980 (≈ 7.8 s); a model with a
//! static segment length in its input shape may use another N (the tests' tiny model does).
//!
//! The pipeline (the reference in `tests/fixtures/make_tiny.py` is the same, step by step):
//! 1. resample to 44.1 kHz (rubato, through `segue_decode::resample_track`) when the track
//!    is at another rate;
//! 2. normalise by the mono mix, `(mix − mean) / std` (demucs' `separate.py`);
//! 3. chunks of N frames at a stride of N − N/4, triangular cross-fade, overlap-added and
//!    divided by the summed weights (`chunk.rs`);
//! 4. `stems · std + mean`, resampled back to the track's rate and length;
//! 5. "other" becomes the residual ([`crate::assign_residual`]): the stems sum to the mix
//!    exactly.

mod chunk;
mod runtime;

use std::path::{Path, PathBuf};

use ort::ep::ExecutionProvider;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef};
use segue_engine::TrackAudio;

pub use runtime::{find_runtime, venv_lib, ORT_DYLIB_ENV};

use crate::{assign_residual, Device, Frame, SeparateError, Separator, Stems};

/// The rate htdemucs works at.
pub const MODEL_RATE: u32 = 44_100;

/// htdemucs' segment length in frames (≈ 7.8 s at 44.1 kHz), used when the model's input
/// shape does not fix one.
pub const DEFAULT_SEGMENT: usize = 343_980;

/// How an [`OnnxSeparator`] is set up.
#[derive(Debug, Clone, Default)]
pub struct OnnxOptions {
    /// Where to run: [`Device::Cuda`] needs ONNX Runtime's CUDA execution provider (the
    /// `onnxruntime-gpu` build) and a usable GPU, else it is an error; [`Device::Auto`] tries
    /// CUDA and falls back to the CPU, saying why in [`OnnxSeparator::note`].
    pub device: Device,
    /// The ONNX Runtime library file; `None` searches as [`find_runtime`] says.
    pub runtime: Option<PathBuf>,
    /// Threads for one model run on the CPU; `None` lets ONNX Runtime choose (all cores).
    pub threads: Option<usize>,
}

/// A separator running an htdemucs ONNX model (see the module doc for the contract and the
/// pipeline).
pub struct OnnxSeparator {
    session: Session,
    model: PathBuf,
    input: String,
    output: String,
    segment: usize,
    provider: &'static str,
    note: Option<String>,
}

impl std::fmt::Debug for OnnxSeparator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxSeparator")
            .field("model", &self.model)
            .field("segment", &self.segment)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl OnnxSeparator {
    /// Load the model at `model`. Errors: the ONNX Runtime library is missing or unusable
    /// ([`SeparateError::Runtime`]), the model is missing or not of the htdemucs contract
    /// ([`SeparateError::Model`]), CUDA was asked for and is not usable
    /// ([`SeparateError::Device`]).
    pub fn new(model: &Path, options: &OnnxOptions) -> Result<OnnxSeparator, SeparateError> {
        let model_err = |reason: String| SeparateError::Model {
            path: model.to_path_buf(),
            reason,
        };
        if !model.is_file() {
            return Err(model_err("no such file".into()));
        }
        let env = runtime::environment(options.runtime.as_deref())?;
        let cuda_built = || ort::ep::CUDA::is_available().unwrap_or(false);
        let (session, provider, note) = match options.device {
            Device::Cpu => (cpu_session(env, model, options)?, "cpu", None),
            Device::Cuda => {
                if !cuda_built() {
                    return Err(SeparateError::Device(
                        "this ONNX Runtime has no CUDA execution provider: install the \
                         onnxruntime-gpu wheel and point ORT_DYLIB_PATH at its library, or \
                         use --device cpu"
                            .into(),
                    ));
                }
                let s = cuda_session(env, model, options).map_err(|e| {
                    SeparateError::Device(format!("CUDA execution provider not usable: {e}"))
                })?;
                (s, "cuda", None)
            }
            Device::Auto => {
                let tried = if cuda_built() {
                    cuda_session(env, model, options)
                } else {
                    Err("this ONNX Runtime has no CUDA execution provider".into())
                };
                match tried {
                    Ok(s) => (s, "cuda", None),
                    Err(why) => (
                        cpu_session(env, model, options)?,
                        "cpu",
                        Some(format!("no GPU ({why}): running on the CPU")),
                    ),
                }
            }
        };
        let (input, segment) = check_input(&session).map_err(model_err)?;
        let output = check_output(&session, segment).map_err(model_err)?;
        Ok(OnnxSeparator {
            session,
            model: model.to_path_buf(),
            input,
            output,
            segment,
            provider,
            note,
        })
    }

    /// The segment length N the model runs on (frames at 44.1 kHz).
    pub fn segment(&self) -> usize {
        self.segment
    }

    /// Where the model runs: "cpu" or "cuda".
    pub fn provider(&self) -> &str {
        self.provider
    }

    /// Why the separator runs somewhere else than asked (auto without a usable GPU).
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The model's stems of `mix` (steps 1–4 of the module doc) before "other" becomes the
    /// residual: what the parity test compares with the Python reference.
    pub fn estimate(&mut self, mix: &[Frame], sample_rate: u32) -> Result<Stems, SeparateError> {
        let len = mix.len();
        if len == 0 {
            return Ok(std::array::from_fn(|_| Vec::new()));
        }
        let at_model_rate;
        let x: &[Frame] = if sample_rate == MODEL_RATE {
            mix
        } else {
            let track = TrackAudio::new(sample_rate, mix.to_vec());
            at_model_rate =
                segue_decode::resample_track(&track, MODEL_RATE, Path::new("(the mix)"))?.mix;
            &at_model_rate
        };
        let (mean, std) = mono_stats(x);
        let normalised: Vec<Frame> = x
            .iter()
            .map(|f| f.map(|v| ((f64::from(v) - mean) / std) as f32))
            .collect();
        let n = self.segment;
        let Self {
            session,
            input,
            output,
            model,
            ..
        } = self;
        let mut stems = chunk::run_chunked(&normalised, n, |x, y| {
            let err = |e: ort::Error| SeparateError::Model {
                path: model.clone(),
                reason: format!("inference failed: {e}"),
            };
            let tensor = TensorRef::from_array_view(([1usize, 2, n], x)).map_err(err)?;
            let outputs = session
                .run(ort::inputs![input.as_str() => tensor])
                .map_err(err)?;
            let (shape, data) = outputs[output.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(err)?;
            if **shape != [1, 4, 2, n as i64] {
                return Err(SeparateError::Model {
                    path: model.clone(),
                    reason: format!("output {output} has shape {shape}, expected [1, 4, 2, {n}]"),
                });
            }
            y.copy_from_slice(data);
            Ok(())
        })?;
        for stem in &mut stems {
            for f in stem.iter_mut() {
                *f = f.map(|v| (f64::from(v) * std + mean) as f32);
            }
        }
        if sample_rate != MODEL_RATE {
            for stem in &mut stems {
                let track = TrackAudio::new(MODEL_RATE, std::mem::take(stem));
                let mut back =
                    segue_decode::resample_track(&track, sample_rate, Path::new("(a stem)"))?.mix;
                back.resize(len, [0.0; 2]);
                *stem = back;
            }
        }
        Ok(stems)
    }
}

impl Separator for OnnxSeparator {
    fn name(&self) -> &str {
        "onnx"
    }

    fn separate(&mut self, mix: &[Frame], sample_rate: u32) -> Result<Stems, SeparateError> {
        let mut stems = if mix.is_empty() {
            std::array::from_fn(|_| Vec::new())
        } else {
            self.estimate(mix, sample_rate)?
        };
        assign_residual(mix, &mut stems);
        Ok(stems)
    }
}

/// Mean and standard deviation (ddof = 1) of the mono mix `(l + r) / 2`, as demucs
/// normalises; a silent or one-frame mix gets std 1.
fn mono_stats(mix: &[Frame]) -> (f64, f64) {
    let mono = || mix.iter().map(|f| f64::from((f[0] + f[1]) * 0.5));
    let n = mix.len() as f64;
    let mean = mono().sum::<f64>() / n;
    let var = if mix.len() > 1 {
        mono().map(|m| (m - mean) * (m - mean)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let std = var.sqrt();
    (mean, if std >= 1e-8 { std } else { 1.0 })
}

fn builder(
    env: &ort::environment::Environment,
    options: &OnnxOptions,
) -> Result<ort::session::builder::SessionBuilder, String> {
    let b = Session::builder(env).map_err(|e| e.to_string())?;
    match options.threads {
        Some(t) => b.with_intra_threads(t.max(1)).map_err(|e| e.to_string()),
        None => Ok(b),
    }
}

fn cpu_session(
    env: &ort::environment::Environment,
    model: &Path,
    options: &OnnxOptions,
) -> Result<Session, SeparateError> {
    builder(env, options)
        .and_then(|mut b| b.commit_from_file(model).map_err(|e| e.to_string()))
        .map_err(|reason| SeparateError::Model {
            path: model.to_path_buf(),
            reason,
        })
}

fn cuda_session(
    env: &ort::environment::Environment,
    model: &Path,
    options: &OnnxOptions,
) -> Result<Session, String> {
    let cuda = ort::ep::CUDA::default().build().error_on_failure();
    builder(env, options)?
        .with_execution_providers([cuda])
        .map_err(|e| e.to_string())?
        .commit_from_file(model)
        .map_err(|e| e.to_string())
}

/// The input's name and the segment length (static dim, else [`DEFAULT_SEGMENT`]).
fn check_input(session: &Session) -> Result<(String, usize), String> {
    let [input] = session.inputs() else {
        return Err(format!(
            "expected one input (mix [1, 2, N]), found {}",
            session.inputs().len()
        ));
    };
    let ty = input.dtype();
    let shape = ty.tensor_shape().ok_or("the input is not a tensor")?;
    if ty.tensor_type() != Some(TensorElementType::Float32) {
        return Err(format!("input {} is not float32", input.name()));
    }
    let ok = |d: i64, want: i64| d == want || d < 0;
    if shape.len() != 3 || !ok(shape[0], 1) || !ok(shape[1], 2) || shape[2] == 0 {
        return Err(format!(
            "input {} has shape {shape}, expected [1, 2, N] (stereo)",
            input.name()
        ));
    }
    let segment = if shape[2] > 0 {
        shape[2] as usize
    } else {
        DEFAULT_SEGMENT
    };
    Ok((input.name().to_string(), segment))
}

/// The output's name: `stems`, or the only output.
fn check_output(session: &Session, segment: usize) -> Result<String, String> {
    let outputs = session.outputs();
    let out = outputs
        .iter()
        .find(|o| o.name() == "stems")
        .or(if outputs.len() == 1 {
            outputs.first()
        } else {
            None
        })
        .ok_or("no output named stems")?;
    let ty = out.dtype();
    let shape = ty.tensor_shape().ok_or("the output is not a tensor")?;
    let ok = |d: i64, want: i64| d == want || d < 0;
    if ty.tensor_type() != Some(TensorElementType::Float32)
        || shape.len() != 4
        || !ok(shape[0], 1)
        || !ok(shape[1], 4)
        || !ok(shape[2], 2)
        || !ok(shape[3], segment as i64)
    {
        return Err(format!(
            "output {} has shape {shape}, expected float32 [1, 4, 2, {segment}] \
             (drums, bass, other, vocals)",
            out.name()
        ));
    }
    Ok(out.name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_stats_match_numpy() {
        // numpy: ref = [0.5, 0, -0.5, 1]; mean 0.25, std(ddof=1) = sqrt(0.41666…)
        let mix = [[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0], [1.0, 1.0]];
        let (mean, std) = mono_stats(&mix);
        assert!((mean - 0.25).abs() < 1e-12);
        assert!((std - (1.25f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mono_stats(&[[0.0; 2]; 10]), (0.0, 1.0));
        assert_eq!(mono_stats(&[[0.3; 2]]).1, 1.0);
    }
}
