//! The DSP separator's per-bin work on a CUDA GPU (`cudarc`, kernels compiled at run time
//! with NVRTC).
//!
//! The CPU keeps the STFTs (realfft, two forward and five inverse per frame). The GPU takes
//! what costs most on the CPU, chunk by chunk (2 048 frames plus the harmonic median's halo):
//!
//! 1. `magnitudes`: the stereo magnitude of every bin of every frame;
//! 2. `percussive`: the median over `2·Wf + 1` bins of each centre frame;
//! 3. `harmonic`: the median over `2·W + 1` frames of each bin (frames outside the track are
//!    silence, as on the CPU);
//! 4. `bass_f0`: each frame's tracked bass fundamental (0 when none);
//! 5. `masks`: the percussive, bass and vocal masks of every bin.
//!
//! The kernels do the CPU path's arithmetic in the same order (no fused multiply-add, IEEE
//! division and square root, the same `powi`), so the two give the same stems within float
//! rounding. Nothing is downloaded: the CUDA driver (`libcuda.so`) and NVRTC
//! (`libnvrtc.so`) are loaded dynamically when present; without them [`separate`] answers
//! [`GpuError::Unusable`] and the caller falls back to the CPU (`Device::Auto`) or reports
//! it (`Device::Cuda`).
#![allow(unsafe_code)] // kernel launches; each block says why it is sound

use std::sync::{Arc, OnceLock};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
use realfft::num_complex::Complex32;

use crate::dsp::{DspParams, Setup};
use crate::{Frame, Stems};

/// Why the GPU path did not run to the end.
#[derive(Debug)]
pub(crate) enum GpuError {
    /// No usable GPU (no driver, no NVRTC, no device, a CUDA error, windows too wide for
    /// the kernels): the reason, for the user.
    Unusable(String),
    /// The caller's progress callback asked to stop.
    Cancelled,
}

impl From<cudarc::driver::DriverError> for GpuError {
    fn from(e: cudarc::driver::DriverError) -> Self {
        GpuError::Unusable(format!("CUDA: {e}"))
    }
}

impl From<cudarc::nvrtc::CompileError> for GpuError {
    fn from(e: cudarc::nvrtc::CompileError) -> Self {
        GpuError::Unusable(format!("NVRTC: {e}"))
    }
}

/// Longest median window the kernels hold (`2·W + 1` frames, `2·Wf + 1` bins).
const MAX_WINDOW: usize = 65;

/// Centre frames per chunk.
const CHUNK_FRAMES: usize = 2048;

const KERNELS: &str = r#"
#define MAX_WINDOW 65

__device__ float median_of(float* v, int m) {
    // insertion sort; m <= MAX_WINDOW
    for (int i = 1; i < m; i++) {
        float x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) { v[j + 1] = v[j]; j--; }
        v[j + 1] = x;
    }
    return v[m / 2];
}

// compiler-rt's __powisf2, which Rust's f32::powi calls for a run-time exponent
__device__ float powi_rt(float a, int b) {
    const int recip = b < 0;
    float r = 1.0f;
    while (1) {
        if (b & 1) r *= a;
        b /= 2;
        if (b == 0) break;
        a *= a;
    }
    return recip ? 1.0f / r : r;
}

extern "C" __global__ void magnitudes(const float2* l, const float2* r, float* mag, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float2 a = l[i], b = r[i];
    float ea = a.x * a.x + a.y * a.y;
    float eb = b.x * b.x + b.y * b.y;
    mag[i] = sqrtf(0.5f * (ea + eb));
}

// perc[c][k] for centre frames c (frame c + w of `mag`)
extern "C" __global__ void percussive(const float* mag, float* perc, int frames, int bins, int w, int wf) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * bins) return;
    int c = i / bins, k = i % bins;
    const float* row = mag + (long long)(c + w) * bins;
    int a = k - wf < 0 ? 0 : k - wf;
    int b = k + wf + 1 > bins ? bins : k + wf + 1;
    float v[MAX_WINDOW];
    for (int j = a; j < b; j++) v[j - a] = row[j];
    perc[i] = median_of(v, b - a);
}

extern "C" __global__ void harmonic(const float* mag, float* harm, int frames, int bins, int w) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * bins) return;
    int c = i / bins, k = i % bins;
    float v[MAX_WINDOW];
    for (int j = 0; j < 2 * w + 1; j++) v[j] = mag[(long long)(c + j) * bins + k];
    harm[i] = median_of(v, 2 * w + 1);
}

extern "C" __global__ void bass_f0(const float* harm, const float* perc, float* f0, int frames,
                                   int bins, int k_min, int k_max, float bin_hz, int track) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= frames) return;
    f0[c] = 0.0f;
    if (!track) return;
    const float* h = harm + (long long)c * bins;
    // the last of equal maxima, as Iterator::max_by
    int k0 = k_min;
    float h0 = h[k_min];
    for (int k = k_min + 1; k <= k_max; k++) {
        if (h[k] >= h0) { h0 = h[k]; k0 = k; }
    }
    if (h0 > 1e-6f && h0 > 2.0f * perc[(long long)c * bins + k0]) {
        float a = h[k0 - 1], b = h[k0 + 1];
        float denom = a - 2.0f * h0 + b;
        float delta = 0.0f;
        if (fabsf(denom) > 1e-12f) {
            delta = fminf(fmaxf(0.5f * (a - b) / denom, -0.5f), 0.5f);
        }
        f0[c] = ((float)k0 + delta) * bin_hz;
    }
}

// masks[0] percussive, masks[1] bass, masks[2] vocal (of the mid), per centre frame and bin
extern "C" __global__ void masks(const float2* l, const float2* r, const float* harm,
                                 const float* perc, const float* f0s, const float* low,
                                 const float* band, float* out, int plane, int frames, int bins, int w,
                                 float bin_hz, float harm_limit, float harm_weight,
                                 float power, int centre_power) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * bins) return;
    int c = i / bins, k = i % bins;
    const float tiny = 1e-20f;
    float bw = low[k];
    float f0 = f0s[c];
    if (f0 > 0.0f) {
        float h = 2.0f;
        while (h * f0 < harm_limit) {
            float kf = h * f0 / bin_hz;
            int kc = (int)roundf(kf);
            int lo = kc - 1 < 0 ? 0 : kc - 1;
            int hi = kc + 1 > bins - 1 ? bins - 1 : kc + 1;
            if (k >= lo && k <= hi) {
                float d = fabsf((float)k - kf);
                float g = harm_weight * fmaxf(1.0f - d / 1.5f, 0.0f);
                bw = fmaxf(bw, g);
            }
            h += 1.0f;
        }
    }
    float hv = harm[i], pv = perc[i];
    float hh, pp;
    if (power == 2.0f) { hh = hv * hv; pp = pv * pv; }
    else { hh = powf(hv, power); pp = powf(pv, power); }
    float mh = hh / (hh + pp + tiny);
    float mp = 1.0f - mh;
    size_t s = (long long)(c + w) * bins + k;
    float2 a = l[s], b = r[s];
    float e = (a.x * a.x + a.y * a.y) + (b.x * b.x + b.y * b.y);
    float centre = 0.0f;
    if (e > tiny) {
        float mx = a.x + b.x, my = a.y + b.y;
        centre = fminf((mx * mx + my * my) / (2.0f * e), 1.0f);
    }
    float mb = mh * bw;
    float mv = (mh - mb) * powi_rt(centre, centre_power) * band[k];
    out[i] = mp;
    out[(long long)plane + i] = mb;
    out[2 * (long long)plane + i] = mv;
}
"#;

/// A GPU with the kernels loaded, made once per process.
struct Gpu {
    ctx: Arc<CudaContext>,
    magnitudes: CudaFunction,
    percussive: CudaFunction,
    harmonic: CudaFunction,
    bass_f0: CudaFunction,
    masks: CudaFunction,
}

/// The process's GPU, or why there is none (asked once; the answer is kept).
fn gpu_state() -> &'static Result<Gpu, String> {
    static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
    GPU.get_or_init(|| {
        open().map_err(|e| match e {
            GpuError::Unusable(why) => why,
            GpuError::Cancelled => "cancelled".into(), // opening reports no progress
        })
    })
}

fn gpu() -> Result<&'static Gpu, GpuError> {
    gpu_state()
        .as_ref()
        .map_err(|why| GpuError::Unusable(why.clone()))
}

fn open() -> Result<Gpu, GpuError> {
    // SAFETY: only dlopen()s the candidate library names and closes them again; nothing
    // from them is called. Without this check cudarc panics when the library is missing.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(GpuError::Unusable(
            "no CUDA driver (libcuda.so) on this machine".into(),
        ));
    }
    // SAFETY: as above, for NVRTC.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(GpuError::Unusable(
            "CUDA driver found but not NVRTC (libnvrtc.so): install the CUDA toolkit's \
             NVRTC or put its folder on LD_LIBRARY_PATH"
                .into(),
        ));
    }
    let ctx = CudaContext::new(0)?;
    let ptx = compile_ptx_with_opts(
        KERNELS,
        CompileOptions {
            fmad: Some(false),
            prec_div: Some(true),
            prec_sqrt: Some(true),
            ftz: Some(false),
            name: Some("segue_dsp_separator.cu".into()),
            ..Default::default()
        },
    )?;
    let module = ctx.load_module(ptx)?;
    let f = |name: &str| module.load_function(name);
    Ok(Gpu {
        magnitudes: f("magnitudes")?,
        percussive: f("percussive")?,
        harmonic: f("harmonic")?,
        bass_f0: f("bass_f0")?,
        masks: f("masks")?,
        ctx,
    })
}

/// Whether the GPU path can run on this machine, or why not.
pub(crate) fn available() -> Result<(), String> {
    gpu_state().as_ref().map(|_| ()).map_err(Clone::clone)
}

/// 256 threads a block: the mask kernel's registers fit any GPU at that size.
fn cfg(n: usize) -> LaunchConfig {
    const BLOCK: u32 = 256;
    LaunchConfig {
        grid_dim: ((n as u32).div_ceil(BLOCK).max(1), 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// One chunk's shape, as the kernels take it.
pub(crate) struct Chunk {
    /// Centre frames.
    pub cf: usize,
    /// Frames with the halo (`cf + 2·w`).
    pub nf: usize,
    /// Distance between the three mask planes of the output (`cf_max · bins`).
    pub plane: usize,
}

/// What computes a chunk's masks from its spectra: the GPU, or (in tests) the same kernel
/// source compiled for the CPU.
pub(crate) trait MaskKernels {
    /// The masks (three planes `chunk.plane` apart: percussive, bass, vocal) of the centre
    /// frames of a chunk whose spectra are `l`, `r` (`nf · bins` interleaved re, im).
    fn masks(
        &mut self,
        p: &DspParams,
        setup: &Setup,
        chunk: &Chunk,
        l: &[f32],
        r: &[f32],
        out: &mut [f32],
    ) -> Result<(), GpuError>;
}

/// Separates `mix` into `stems` on the GPU (drums, bass and vocals added in; "other" is
/// left to the caller's residual), reporting progress as the CPU path does.
pub(crate) fn separate(
    p: &DspParams,
    setup: &mut Setup,
    mix: &[Frame],
    stems: &mut Stems,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<(), GpuError> {
    if 2 * setup.w + 1 > MAX_WINDOW || 2 * setup.wf + 1 > MAX_WINDOW {
        return Err(GpuError::Unusable(format!(
            "median windows wider than {MAX_WINDOW} do not fit the GPU kernels"
        )));
    }
    let mut kernels = CudaKernels::new(gpu()?, setup)?;
    separate_chunked(p, setup, mix, stems, progress, &mut kernels)
}

/// The host side: forward STFTs of each chunk (with the harmonic median's halo), the masks
/// from `kernels`, the masked spectra back to the time domain.
pub(crate) fn separate_chunked(
    p: &DspParams,
    setup: &mut Setup,
    mix: &[Frame],
    stems: &mut Stems,
    progress: &mut dyn FnMut(f32) -> bool,
    kernels: &mut dyn MaskKernels,
) -> Result<(), GpuError> {
    let (w, bins, frames) = (setup.w, setup.bins, setup.frames);
    let cf_max = CHUNK_FRAMES.min(frames);
    let nf_max = cf_max + 2 * w;
    let plane = cf_max * bins;
    let mut spec_l = vec![Complex32::default(); nf_max * bins];
    let mut spec_r = vec![Complex32::default(); nf_max * bins];
    let mut flat_l = vec![0.0f32; nf_max * bins * 2];
    let mut flat_r = vec![0.0f32; nf_max * bins * 2];
    let mut masks = vec![0.0f32; 3 * plane];
    let mut work: [Vec<Complex32>; 5] = std::array::from_fn(|_| vec![Complex32::default(); bins]);
    let (drums, rest) = stems.split_at_mut(1);
    let (bass, rest) = rest.split_at_mut(1);
    let vocals = &mut rest[1];

    let mut c0 = 0;
    while c0 < frames {
        if !progress(c0 as f32 / frames as f32) {
            return Err(GpuError::Cancelled);
        }
        let cf = CHUNK_FRAMES.min(frames - c0);
        let nf = cf + 2 * w;
        // 1. Forward STFTs (frames outside the track are silence).
        for j in 0..nf {
            let t = (c0 + j) as isize - w as isize;
            let sl = &mut spec_l[j * bins..(j + 1) * bins];
            let sr = &mut spec_r[j * bins..(j + 1) * bins];
            if t >= 0 && (t as usize) < frames {
                let start = setup.start_of(t as usize);
                setup.stft.forward(mix, 0, start, sl);
                setup.stft.forward(mix, 1, start, sr);
            } else {
                sl.fill(Complex32::default());
                sr.fill(Complex32::default());
            }
        }
        for (flat, spec) in [(&mut flat_l, &spec_l), (&mut flat_r, &spec_r)] {
            for (d, s) in flat.chunks_exact_mut(2).zip(&spec[..nf * bins]) {
                d[0] = s.re;
                d[1] = s.im;
            }
        }
        let chunk = Chunk { cf, nf, plane };
        let n = nf * bins * 2;
        kernels.masks(p, setup, &chunk, &flat_l[..n], &flat_r[..n], &mut masks)?;

        // 2. Masked spectra back to the time domain.
        for c in 0..cf {
            let row = (c + w) * bins..(c + w + 1) * bins;
            let (l, r) = (&spec_l[row.clone()], &spec_r[row]);
            let at = |j: usize| &masks[j * plane + c * bins..j * plane + (c + 1) * bins];
            let (mp, mb, mv) = (at(0), at(1), at(2));
            let [sd, sd_r, sb, sb_r, sv] = &mut work;
            for k in 0..bins {
                sd[k] = l[k] * mp[k];
                sd_r[k] = r[k] * mp[k];
                sb[k] = l[k] * mb[k];
                sb_r[k] = r[k] * mb[k];
                sv[k] = (l[k] + r[k]) * (0.5 * mv[k]);
            }
            let s = setup.start_of(c0 + c);
            setup.stft.inverse_add(sd, drums[0].as_mut_slice(), 0, s);
            setup.stft.inverse_add(sd_r, drums[0].as_mut_slice(), 1, s);
            setup.stft.inverse_add(sb, bass[0].as_mut_slice(), 0, s);
            setup.stft.inverse_add(sb_r, bass[0].as_mut_slice(), 1, s);
            setup.stft.inverse_add(sv, vocals.as_mut_slice(), 2, s);
        }
        c0 += cf;
    }
    Ok(())
}

/// The kernels on the GPU, with device buffers for the largest chunk.
struct CudaKernels {
    gpu: &'static Gpu,
    stream: Arc<CudaStream>,
    l: CudaSlice<f32>,
    r: CudaSlice<f32>,
    mag: CudaSlice<f32>,
    perc: CudaSlice<f32>,
    harm: CudaSlice<f32>,
    f0: CudaSlice<f32>,
    low: CudaSlice<f32>,
    band: CudaSlice<f32>,
    out: CudaSlice<f32>,
}

impl CudaKernels {
    fn new(gpu: &'static Gpu, setup: &Setup) -> Result<CudaKernels, GpuError> {
        let bins = setup.bins;
        let cf_max = CHUNK_FRAMES.min(setup.frames);
        let nf_max = cf_max + 2 * setup.w;
        let stream = gpu.ctx.new_stream()?;
        Ok(CudaKernels {
            gpu,
            l: stream.alloc_zeros(nf_max * bins * 2)?,
            r: stream.alloc_zeros(nf_max * bins * 2)?,
            mag: stream.alloc_zeros(nf_max * bins)?,
            perc: stream.alloc_zeros(cf_max * bins)?,
            harm: stream.alloc_zeros(cf_max * bins)?,
            f0: stream.alloc_zeros(cf_max)?,
            low: stream.clone_htod(&setup.low)?,
            band: stream.clone_htod(&setup.band)?,
            out: stream.alloc_zeros(3 * cf_max * bins)?,
            stream,
        })
    }
}

impl MaskKernels for CudaKernels {
    fn masks(
        &mut self,
        p: &DspParams,
        setup: &Setup,
        chunk: &Chunk,
        l: &[f32],
        r: &[f32],
        out: &mut [f32],
    ) -> Result<(), GpuError> {
        let (stream, gpu) = (&self.stream, self.gpu);
        stream.memcpy_htod(l, &mut self.l)?;
        stream.memcpy_htod(r, &mut self.r)?;
        let a = Args::new(p, setup, chunk);
        let (cf, nf, bins) = (chunk.cf, chunk.nf, setup.bins);
        let nf_bins = (nf * bins) as i32;
        // SAFETY: all five launches: each kernel's parameter list is exactly the arguments
        // pushed, in order and type (i32 for int, f32 for float, a float2 buffer is an f32
        // buffer of twice the length); every index a kernel touches is below the size the
        // buffer was allocated for (`nf ≤ nf_max`, `cf ≤ cf_max`, `plane = cf_max · bins`),
        // and the threads past the end return at once.
        unsafe {
            let mut k = stream.launch_builder(&gpu.magnitudes);
            k.arg(&self.l).arg(&self.r).arg(&mut self.mag).arg(&nf_bins);
            k.launch(cfg(nf * bins))?;
        }
        // SAFETY: see above.
        unsafe {
            let mut k = stream.launch_builder(&gpu.percussive);
            k.arg(&self.mag).arg(&mut self.perc);
            k.arg(&a.cf).arg(&a.bins).arg(&a.w).arg(&a.wf);
            k.launch(cfg(cf * bins))?;
        }
        // SAFETY: see above.
        unsafe {
            let mut k = stream.launch_builder(&gpu.harmonic);
            k.arg(&self.mag).arg(&mut self.harm);
            k.arg(&a.cf).arg(&a.bins).arg(&a.w);
            k.launch(cfg(cf * bins))?;
        }
        // SAFETY: see above.
        unsafe {
            let mut k = stream.launch_builder(&gpu.bass_f0);
            k.arg(&self.harm).arg(&self.perc).arg(&mut self.f0);
            k.arg(&a.cf).arg(&a.bins).arg(&a.k_min).arg(&a.k_max);
            k.arg(&a.bin_hz).arg(&a.track);
            k.launch(cfg(cf))?;
        }
        // SAFETY: see above.
        unsafe {
            let mut k = stream.launch_builder(&gpu.masks);
            k.arg(&self.l).arg(&self.r).arg(&self.harm).arg(&self.perc);
            k.arg(&self.f0)
                .arg(&self.low)
                .arg(&self.band)
                .arg(&mut self.out);
            k.arg(&a.plane)
                .arg(&a.cf)
                .arg(&a.bins)
                .arg(&a.w)
                .arg(&a.bin_hz);
            k.arg(&a.limit)
                .arg(&a.weight)
                .arg(&a.power)
                .arg(&a.centre_power);
            k.launch(cfg(cf * bins))?;
        }
        stream.memcpy_dtoh(&self.out, out)?;
        stream.synchronize()?;
        Ok(())
    }
}

/// The kernels' scalar arguments, as their C types.
pub(crate) struct Args {
    pub cf: i32,
    pub bins: i32,
    pub w: i32,
    pub wf: i32,
    pub k_min: i32,
    pub k_max: i32,
    pub track: i32,
    pub plane: i32,
    pub centre_power: i32,
    pub bin_hz: f32,
    pub limit: f32,
    pub weight: f32,
    pub power: f32,
}

impl Args {
    pub fn new(p: &DspParams, setup: &Setup, chunk: &Chunk) -> Args {
        Args {
            cf: chunk.cf as i32,
            bins: setup.bins as i32,
            w: setup.w as i32,
            wf: setup.wf as i32,
            k_min: setup.k_min as i32,
            k_max: setup.k_max as i32,
            track: i32::from(setup.tracks_bass(p)),
            plane: chunk.plane as i32,
            centre_power: p.centre_power,
            bin_hz: setup.bin_hz,
            limit: p.bass_harmonics_hz,
            weight: p.bass_harmonic_weight,
            power: p.mask_power,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The kernels checked without a GPU: NVRTC compiles them when its library is here
    //! (scripts/setup.sh puts one in target/onnxruntime; `SEGUE_REQUIRE_NVRTC=1` makes its
    //! absence a failure), and the same kernel source, compiled as C++ for the CPU with a
    //! thin shim (one loop over the thread indices; the kernels share no memory and never
    //! synchronise, so that is exactly their semantics), drives the host loop, whose stems
    //! must match the CPU path's. What this cannot check (a GPU launch itself) is tested by
    //! `separate/tests/cuda.rs` on a machine with a GPU.
    use super::*;
    use crate::{DspSeparator, Separator};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    #[test]
    fn kernels_compile_with_nvrtc() {
        // SAFETY: dlopen()s candidate names only.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            assert!(
                std::env::var("SEGUE_REQUIRE_NVRTC").as_deref() != Ok("1"),
                "SEGUE_REQUIRE_NVRTC=1 but libnvrtc.so is not on the library path"
            );
            eprintln!("kernels_compile_with_nvrtc: skipped, no libnvrtc.so");
            return;
        }
        let ptx = compile_ptx_with_opts(
            KERNELS,
            CompileOptions {
                fmad: Some(false),
                ..Default::default()
            },
        )
        .expect("the kernels compile");
        let text = ptx.to_src();
        for name in ["magnitudes", "percussive", "harmonic", "bass_f0", "masks"] {
            assert!(
                text.contains(&format!(".entry {name}(")),
                "{name} in the PTX"
            );
        }
    }

    const SHIM: &str = r#"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>
struct float2 { float x, y; };
struct dim { int x; };
static dim blockIdx, threadIdx, blockDim;
#define __global__
#define __device__
"#;

    const MAIN: &str = r#"
template <class F> static void grid(long long n, F f) {
    blockDim.x = 256;
    for (long long i = 0; i < n; i++) { blockIdx.x = (int)(i / 256); threadIdx.x = (int)(i % 256); f(); }
}
static std::vector<float> read(FILE* f, size_t n) {
    std::vector<float> v(n);
    if (fread(v.data(), 4, n, f) != n) { fprintf(stderr, "short input\n"); exit(2); }
    return v;
}
int main(int argc, char** argv) {
    FILE* in = fopen(argv[1], "rb");
    int h[10];
    if (fread(h, 4, 10, in) != 10) return 2;
    int cf = h[0], nf = h[1], bins = h[2], w = h[3], wf = h[4], k_min = h[5], k_max = h[6],
        track = h[7], plane = h[8], centre_power = h[9];
    float g[4];
    if (fread(g, 4, 4, in) != 4) return 2;
    std::vector<float> l = read(in, (size_t)nf * bins * 2), r = read(in, (size_t)nf * bins * 2),
        low = read(in, bins), band = read(in, bins);
    std::vector<float> mag((size_t)nf * bins), perc((size_t)cf * bins), harm((size_t)cf * bins),
        f0(cf), out((size_t)3 * plane);
    const float2* L = (const float2*)l.data();
    const float2* R = (const float2*)r.data();
    grid((long long)nf * bins, [&] { magnitudes(L, R, mag.data(), nf * bins); });
    grid((long long)cf * bins, [&] { percussive(mag.data(), perc.data(), cf, bins, w, wf); });
    grid((long long)cf * bins, [&] { harmonic(mag.data(), harm.data(), cf, bins, w); });
    grid(cf, [&] { bass_f0(harm.data(), perc.data(), f0.data(), cf, bins, k_min, k_max, g[0], track); });
    grid((long long)cf * bins, [&] {
        masks(L, R, harm.data(), perc.data(), f0.data(), low.data(), band.data(), out.data(),
              plane, cf, bins, w, g[0], g[1], g[2], g[3], centre_power);
    });
    FILE* o = fopen(argv[2], "wb");
    fwrite(out.data(), 4, out.size(), o);
    fclose(o);
    return 0;
}
"#;

    /// The kernel source compiled for the CPU, run once per chunk.
    struct Emulated {
        exe: PathBuf,
        dir: PathBuf,
    }

    impl Emulated {
        /// Compiles the kernels with the system's C++ compiler; `None` when there is none.
        fn build(dir: &Path) -> Option<Emulated> {
            std::fs::create_dir_all(dir).unwrap();
            let src = dir.join("kernels.cpp");
            std::fs::write(&src, format!("{SHIM}{KERNELS}{MAIN}")).unwrap();
            let exe = dir.join("kernels");
            // No contraction into fused multiply-adds, as NVRTC is told (`fmad: false`).
            let out = Command::new("c++")
                .args(["-O1", "-std=c++17", "-ffp-contract=off", "-o"])
                .arg(&exe)
                .arg(&src)
                .output()
                .ok()?;
            assert!(
                out.status.success(),
                "the kernel source does not compile as C++:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(Emulated {
                exe,
                dir: dir.to_path_buf(),
            })
        }
    }

    impl MaskKernels for Emulated {
        fn masks(
            &mut self,
            p: &DspParams,
            setup: &Setup,
            chunk: &Chunk,
            l: &[f32],
            r: &[f32],
            out: &mut [f32],
        ) -> Result<(), GpuError> {
            let a = Args::new(p, setup, chunk);
            let ints = [
                a.cf,
                chunk.nf as i32,
                a.bins,
                a.w,
                a.wf,
                a.k_min,
                a.k_max,
                a.track,
                a.plane,
                a.centre_power,
            ];
            let mut bytes = Vec::new();
            bytes.extend(ints.iter().flat_map(|x| x.to_le_bytes()));
            let floats = [a.bin_hz, a.limit, a.weight, a.power];
            let arrays: [&[f32]; 6] = [&floats, l, r, &setup.low, &setup.band, &[]];
            for v in arrays {
                bytes.extend(v.iter().flat_map(|x| x.to_le_bytes()));
            }
            let (inp, outp) = (self.dir.join("in.bin"), self.dir.join("out.bin"));
            std::fs::write(&inp, bytes).unwrap();
            let st = Command::new(&self.exe)
                .arg(&inp)
                .arg(&outp)
                .status()
                .unwrap();
            assert!(st.success());
            let got = std::fs::read(&outp).unwrap();
            assert_eq!(got.len(), out.len() * 4);
            for (o, b) in out.iter_mut().zip(got.chunks_exact(4)) {
                *o = f32::from_le_bytes(b.try_into().unwrap());
            }
            Ok(())
        }
    }

    /// A mix with drums, a bass line, a panned chord and a centred voice.
    fn music(secs: f32, rate: u32) -> Vec<Frame> {
        let sr = rate as f32;
        let tau = std::f32::consts::TAU;
        let mut seed = 5u32;
        (0..(secs * sr) as usize)
            .map(|i| {
                let t = i as f32 / sr;
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let beat = (t * 2.0).fract();
                let drum = noise * (-beat * 40.0).exp() * 0.6;
                let bass = (tau * [55.0, 65.4][(t / 1.5) as usize % 2] * t).sin() * 0.3;
                let chord = (tau * 523.3 * t).sin() * 0.08 + (tau * 659.3 * t).sin() * 0.08;
                let voice: f32 = (1..5)
                    .map(|h| (tau * 349.2 * h as f32 * t).sin() * 0.1 / h as f32)
                    .sum();
                [
                    drum + bass + voice + chord * 0.2,
                    drum * 0.9 + bass + voice + chord,
                ]
            })
            .collect()
    }

    #[test]
    fn the_kernel_source_run_on_the_cpu_gives_the_cpu_paths_stems() {
        let dir = std::env::temp_dir().join(format!("segue-kernels-{}", std::process::id()));
        let Some(mut emu) = Emulated::build(&dir) else {
            eprintln!("skipped: no C++ compiler (c++) on this machine");
            return;
        };
        // Two chunks and a bit at 22.05 kHz (frames of 2048), and a short odd length.
        for (rate, secs) in [(22_050, 215.0), (44_100, 0.37)] {
            let mix = music(secs, rate);
            let p = DspParams::default();
            let mut setup = Setup::new(&p, rate, mix.len());
            let mut stems: Stems = std::array::from_fn(|_| vec![[0.0; 2]; mix.len()]);
            separate_chunked(&p, &mut setup, &mix, &mut stems, &mut |_| true, &mut emu).unwrap();
            crate::assign_residual(&mix, &mut stems);
            let cpu = DspSeparator::new(p)
                .on(crate::Device::Cpu)
                .separate(&mix, rate)
                .unwrap();
            let mut worst = 0.0f32;
            for (a, b) in cpu.iter().zip(&stems) {
                for (x, y) in a.iter().zip(b) {
                    worst = worst.max((x[0] - y[0]).abs()).max((x[1] - y[1]).abs());
                }
            }
            let drums: f32 = stems[0].iter().map(|f| f[0].abs()).sum();
            eprintln!("{rate} Hz, {secs} s: max |cpu - kernels| = {worst:e}, drums {drums:.1}");
            assert!(worst <= 1e-4, "{rate} Hz: {worst:e}");
            assert!(secs < 1.0 || drums > 100.0, "the kernels found the drums");
            assert!(crate::sums_to_mix(&mix, &stems));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
