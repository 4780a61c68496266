//! The instruments: each renders one event (a hit or a note) additively into a stem buffer,
//! starting at a given frame. Oscillators are phase accumulators; envelopes are per-sample
//! multipliers; nothing here calls the platform's libm (see `dsp`).

use segue_engine::Frame;

use super::dsp::{advance, decay, midi_hz, saw, sin_turns, Biquad, Rng, Wavetable};

/// Everything an instrument needs to know about the output.
pub struct Out<'a> {
    /// The stem buffer written to.
    pub buf: &'a mut [Frame],
    /// Sample rate, Hz.
    pub sr: f64,
}

impl Out<'_> {
    /// Frames available from `start` for an event of `len` frames.
    fn span(&self, start: usize, len: usize) -> usize {
        len.min(self.buf.len().saturating_sub(start))
    }

    fn secs(&self, s: f64) -> usize {
        (s * self.sr).round() as usize
    }
}

/// Linear fade-in over `attack` frames and fade-out over the last `release` frames of `len`.
#[inline]
fn edges(n: usize, len: usize, attack: usize, release: usize) -> f64 {
    let a = if n < attack {
        n as f64 / attack as f64
    } else {
        1.0
    };
    let left = len - n;
    let r = if left < release {
        left as f64 / release as f64
    } else {
        1.0
    };
    a * r
}

/// Left/right gains for a pan position in [-1, 1] (linear, centre = 1/1).
#[inline]
fn pan(p: f64) -> (f64, f64) {
    (1.0 - p.max(0.0), 1.0 + p.min(0.0))
}

/// Kick drum: sine swept down exponentially from `hi` to `lo` Hz, exponential decay.
pub fn kick(out: &mut Out, start: usize, vel: f64, hi: f64, lo: f64, tau: f64) {
    let len = out.span(start, out.secs(0.34));
    let (attack, release) = (out.secs(0.001).max(1), out.secs(0.03).max(1));
    let kf = decay(0.03, out.sr);
    let ka = decay(tau, out.sr);
    let (mut sweep, mut env, mut phase) = (hi - lo, vel, 0.0);
    for n in 0..len {
        let s = (sin_turns(phase) * env * edges(n, len, attack, release)) as f32;
        let f = &mut out.buf[start + n];
        f[0] += s;
        f[1] += s;
        advance(&mut phase, (lo + sweep) / out.sr);
        sweep *= kf;
        env *= ka;
    }
}

/// Snare: a 185 Hz tone and band-passed noise, both decaying.
pub fn snare(out: &mut Out, rng: &mut Rng, start: usize, vel: f64, p: f64) {
    let len = out.span(start, out.secs(0.22));
    let release = out.secs(0.02).max(1);
    let mut bp = Biquad::bandpass(3000.0, 0.6, out.sr);
    let (kt, kn) = (decay(0.05, out.sr), decay(0.07, out.sr));
    let (mut et, mut en, mut phase) = (0.5 * vel, vel, 0.0);
    let (gl, gr) = pan(p);
    for n in 0..len {
        let s = (sin_turns(phase) * et + 1.4 * bp.process(rng.bipolar()) * en)
            * edges(n, len, 1, release);
        let f = &mut out.buf[start + n];
        f[0] += (s * gl) as f32;
        f[1] += (s * gr) as f32;
        advance(&mut phase, 185.0 / out.sr);
        et *= kt;
        en *= kn;
    }
}

/// Clap: three quick band-passed noise bursts, then a tail.
pub fn clap(out: &mut Out, rng: &mut Rng, start: usize, vel: f64) {
    let len = out.span(start, out.secs(0.3));
    let release = out.secs(0.02).max(1);
    let burst = out.secs(0.009).max(1);
    let mut bp = Biquad::bandpass(1300.0, 1.1, out.sr);
    let k_burst = decay(0.004, out.sr);
    let k_tail = decay(0.09, out.sr);
    let mut env = vel;
    for n in 0..len {
        if n < 3 * burst && n % burst == 0 {
            env = vel;
        }
        let s = 2.5 * bp.process(rng.bipolar()) * env * edges(n, len, 1, release);
        let f = &mut out.buf[start + n];
        f[0] += s as f32;
        f[1] += s as f32;
        env *= if n < 3 * burst { k_burst } else { k_tail };
    }
}

/// Hi-hat / cymbal: high-passed noise with a decay of `tau` seconds over `secs`.
pub fn hat(out: &mut Out, rng: &mut Rng, start: usize, vel: f64, tau: f64, secs: f64, p: f64) {
    let len = out.span(start, out.secs(secs));
    let release = out.secs(0.01).max(1);
    let mut hp = Biquad::highpass(7000.0, 0.8, out.sr);
    let k = decay(tau, out.sr);
    let mut env = vel;
    let (gl, gr) = pan(p);
    for n in 0..len {
        let s = hp.process(rng.bipolar()) * env * edges(n, len, 1, release);
        let f = &mut out.buf[start + n];
        f[0] += (s * gl) as f32;
        f[1] += (s * gr) as f32;
        env *= k;
    }
}

/// Riser: noise through a band-pass swept exponentially from 400 Hz to 8 kHz, swelling.
pub fn riser(out: &mut Out, rng: &mut Rng, start: usize, len: usize, vel: f64) {
    let len = out.span(start, len);
    const BLOCK: usize = 64;
    let mut bp = Biquad::bandpass(400.0, 1.5, out.sr);
    for n in 0..len {
        let x = n as f64 / len as f64;
        if n % BLOCK == 0 {
            let freq = 400.0 * super::dsp::exp(x * 2.995_732); // ×20 over the rise
            bp.retune(Biquad::bandpass(freq, 1.5, out.sr));
        }
        let s = 2.0 * bp.process(rng.bipolar()) * vel * x * x;
        let f = &mut out.buf[start + n];
        f[0] += s as f32;
        f[1] += s as f32;
    }
}

/// Timbre of a bass note.
#[derive(Debug, Clone, Copy)]
pub struct BassTone {
    /// Level of the sine at the note's fundamental (the sub).
    pub sub: f64,
    /// Level of the low-passed saw(s).
    pub saw: f64,
    /// Detune of the left/right saws, as a frequency ratio offset (0.004 = ±0.4 %).
    pub detune: f64,
    /// Low-pass cut-off on the saws, Hz.
    pub cutoff: f64,
    /// Exponential decay time constant (808-style), or `None` for sustained.
    pub decay: Option<f64>,
    /// Soft saturation of the sum.
    pub drive: bool,
}

/// One bass note of `len` frames at MIDI `note`.
pub fn bass(out: &mut Out, start: usize, len: usize, note: f64, vel: f64, tone: BassTone) {
    let len = out.span(start, len);
    let (attack, release) = (out.secs(0.004).max(1), out.secs(0.02).max(1));
    let inc = midi_hz(note) / out.sr;
    let (inc_l, inc_r) = (inc * (1.0 + tone.detune), inc * (1.0 - tone.detune));
    let mut lp_l = Biquad::lowpass(tone.cutoff, 0.9, out.sr);
    let mut lp_r = Biquad::lowpass(tone.cutoff, 0.9, out.sr);
    let k = tone.decay.map_or(1.0, |t| decay(t, out.sr));
    let (mut ps, mut pl, mut pr, mut env) = (0.0, 0.0, 0.5, vel);
    for n in 0..len {
        let sub = tone.sub * sin_turns(ps);
        let mut l = sub + tone.saw * lp_l.process(saw(pl, inc_l));
        let mut r = sub + tone.saw * lp_r.process(saw(pr, inc_r));
        if tone.drive {
            l = soft_clip(1.6 * l);
            r = soft_clip(1.6 * r);
        }
        let g = env * edges(n, len, attack, release);
        let f = &mut out.buf[start + n];
        f[0] += (l * g) as f32;
        f[1] += (r * g) as f32;
        advance(&mut ps, inc);
        advance(&mut pl, inc_l);
        advance(&mut pr, inc_r);
        env *= k;
    }
}

/// Cubic soft clip, saturating at ±2/3.
#[inline]
fn soft_clip(x: f64) -> f64 {
    let x = x.clamp(-1.0, 1.0);
    x - x * x * x / 3.0
}

/// One voice of a pad: MIDI note, level, pan position in [-1, 1].
pub type PadVoice = (f64, f64, f64);

/// Sustained pad voices sharing one envelope: `table` at each voice's note, panned, with a
/// linear attack and release (inside `len`).
pub fn pad(
    out: &mut Out,
    table: &Wavetable,
    start: usize,
    len: usize,
    voices: &[PadVoice],
    attack: f64,
    release: f64,
) {
    let len = out.span(start, len);
    let (attack, release) = (out.secs(attack).max(1), out.secs(release).max(1));
    // (phase, increment, left gain, right gain)
    let mut state: Vec<(f64, f64, f64, f64)> = voices
        .iter()
        .map(|&(note, vel, p)| {
            let (gl, gr) = pan(p);
            (0.0, midi_hz(note) / out.sr, vel * gl, vel * gr)
        })
        .collect();
    for n in 0..len {
        let (mut l, mut r) = (0.0, 0.0);
        for v in state.iter_mut() {
            let x = table.at(v.0);
            l += x * v.2;
            r += x * v.3;
            advance(&mut v.0, v.1);
        }
        let g = edges(n, len, attack, release);
        let f = &mut out.buf[start + n];
        f[0] += (l * g) as f32;
        f[1] += (r * g) as f32;
    }
}

/// A plucked note: `table` with a fast exponential decay, panned.
pub fn pluck(
    out: &mut Out,
    table: &Wavetable,
    start: usize,
    len: usize,
    note: f64,
    vel: f64,
    p: f64,
) {
    let len = out.span(start, len);
    let (attack, release) = (out.secs(0.002).max(1), out.secs(0.015).max(1));
    let inc = midi_hz(note) / out.sr;
    let k = decay(0.09, out.sr);
    let (gl, gr) = pan(p);
    let (mut phase, mut env) = (0.0, vel);
    for n in 0..len {
        let s = table.at(phase) * env * edges(n, len, attack, release);
        let f = &mut out.buf[start + n];
        f[0] += (s * gl) as f32;
        f[1] += (s * gr) as f32;
        advance(&mut phase, inc);
        env *= k;
    }
}

/// Formants (F1, F2, F3 in Hz) of the vowels the voice sings.
pub const VOWELS: [[f64; 3]; 5] = [
    [850.0, 1220.0, 2810.0], // a
    [610.0, 1900.0, 2600.0], // e
    [350.0, 2250.0, 3000.0], // i
    [500.0, 900.0, 2600.0],  // o
    [380.0, 850.0, 2500.0],  // u
];

/// A sung note: a band-limited saw with vibrato and a small scoop into pitch, through three
/// parallel formant band-passes of `vowel`.
pub fn voice(
    out: &mut Out,
    rng: &mut Rng,
    start: usize,
    len: usize,
    note: f64,
    vel: f64,
    vowel: [f64; 3],
) {
    let len = out.span(start, len);
    let sr = out.sr;
    let (attack, release) = (out.secs(0.04).max(1), out.secs(0.09).max(1));
    let scoop = out.secs(0.06).max(1);
    let (vib_start, vib_ramp) = (out.secs(0.15), out.secs(0.25).max(1));
    let inc = midi_hz(note) / sr;
    let gains = [1.0, 0.55, 0.3];
    let bw = [90.0, 110.0, 170.0];
    let mut formants: [Biquad; 3] =
        std::array::from_fn(|i| Biquad::bandpass(vowel[i], vowel[i] / bw[i], sr));
    let vib_inc = 5.5 / sr;
    let (mut phase, mut vib) = (0.0, 0.0);
    for n in 0..len {
        let depth = if n < vib_start {
            0.0
        } else {
            0.0145 * ((n - vib_start) as f64 / vib_ramp as f64).min(1.0)
        };
        let bend = if n < scoop {
            1.0 - 0.03 * (1.0 - n as f64 / scoop as f64)
        } else {
            1.0
        };
        let i = inc * bend * (1.0 + depth * sin_turns(vib));
        let src = saw(phase, i) + 0.05 * rng.bipolar();
        let mut s = 0.0;
        for (f, g) in formants.iter_mut().zip(gains) {
            s += g * f.process(src);
        }
        let s = s * vel * edges(n, len, attack, release);
        let f = &mut out.buf[start + n];
        f[0] += s as f32;
        f[1] += s as f32;
        advance(&mut phase, i);
        advance(&mut vib, vib_inc);
    }
}

/// Multiply `buf` from `start` by a sidechain duck: down to `1 - depth` at the kick, back to
/// unity over `len` frames (quadratic recovery).
pub fn duck(buf: &mut [Frame], start: usize, len: usize, depth: f64) {
    let len = len.min(buf.len().saturating_sub(start));
    for n in 0..len {
        let x = 1.0 - n as f64 / len as f64;
        let g = (1.0 - depth * x * x) as f32;
        let f = &mut buf[start + n];
        f[0] *= g;
        f[1] *= g;
    }
}
