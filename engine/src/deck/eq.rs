//! The deck's 3-band isolator EQ: Linkwitz–Riley 8th-order (48 dB/oct) crossovers at
//! 250 Hz and 2.5 kHz, phase-compensated so the three bands sum flat, each band with a gain
//! from full kill (0) to +6 dB (2.0). Engaged only while some band is away from unity.

use crate::dsp::{Biquad, Engage, Smoothed};

/// Which EQ band a command addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EqBand {
    /// Below 250 Hz.
    Low = 0,
    /// 250 Hz – 2.5 kHz.
    Mid = 1,
    /// Above 2.5 kHz.
    High = 2,
}

/// Upper bound of a band gain (+6 dB).
pub const EQ_MAX_GAIN: f32 = 2.0;
const LOW_XOVER: f64 = 250.0;
const HIGH_XOVER: f64 = 2500.0;
/// Q of the two sections of a 4th-order Butterworth; LR8 = that filter applied twice.
const BW4_Q: [f64; 2] = [0.541_196_100_146_197, 1.306_562_964_876_376_7];

#[derive(Clone, Copy)]
struct Chain<const N: usize>([Biquad; N]);

impl<const N: usize> Chain<N> {
    #[inline]
    fn process(&mut self, mut x: f64) -> f64 {
        for b in &mut self.0 {
            x = b.process(x);
        }
        x
    }
    fn reset(&mut self) {
        self.0.iter_mut().for_each(Biquad::reset);
    }
}

fn lr8(make: fn(f64, f64, f64) -> Biquad, freq: f64, rate: f64) -> Chain<4> {
    Chain([
        make(freq, rate, BW4_Q[0]),
        make(freq, rate, BW4_Q[1]),
        make(freq, rate, BW4_Q[0]),
        make(freq, rate, BW4_Q[1]),
    ])
}

#[derive(Clone, Copy)]
struct Channel {
    low_lp: Chain<4>,
    low_hp: Chain<4>,
    high_lp: Chain<4>,
    high_hp: Chain<4>,
    low_ap: Chain<2>,
}

impl Channel {
    fn new(rate: f64) -> Self {
        Self {
            low_lp: lr8(Biquad::lowpass, LOW_XOVER, rate),
            low_hp: lr8(Biquad::highpass, LOW_XOVER, rate),
            high_lp: lr8(Biquad::lowpass, HIGH_XOVER, rate),
            high_hp: lr8(Biquad::highpass, HIGH_XOVER, rate),
            low_ap: Chain([
                Biquad::allpass(HIGH_XOVER, rate, BW4_Q[0]),
                Biquad::allpass(HIGH_XOVER, rate, BW4_Q[1]),
            ]),
        }
    }

    #[inline]
    fn process(&mut self, x: f32, g: [f32; 3]) -> f32 {
        let x = x as f64;
        let low = self.low_ap.process(self.low_lp.process(x));
        let rest = self.low_hp.process(x);
        let mid = self.high_lp.process(rest);
        let high = self.high_hp.process(rest);
        (low * g[0] as f64 + mid * g[1] as f64 + high * g[2] as f64) as f32
    }

    fn reset(&mut self) {
        self.low_lp.reset();
        self.low_hp.reset();
        self.high_lp.reset();
        self.high_hp.reset();
        self.low_ap.reset();
    }
}

/// Stereo isolator with smoothed band gains.
pub(crate) struct Isolator {
    ch: [Channel; 2],
    gains: [Smoothed; 3],
    engage: Engage,
}

impl Isolator {
    pub fn new(rate: f64) -> Self {
        let ramp = (rate * 0.01) as u32;
        Self {
            ch: [Channel::new(rate); 2],
            gains: [Smoothed::new(1.0, ramp); 3],
            engage: Engage::new((rate * 0.02) as u32),
        }
    }

    pub fn set_gain(&mut self, band: EqBand, gain: f32) {
        self.gains[band as usize].set(gain.clamp(0.0, EQ_MAX_GAIN));
    }

    pub fn gain(&self, band: EqBand) -> f32 {
        self.gains[band as usize].target()
    }

    fn flat(&self) -> bool {
        self.gains
            .iter()
            .all(|g| g.is_settled() && g.value() == 1.0)
    }

    /// Filter a block in place.
    pub fn process(&mut self, buf: &mut [[f32; 2]]) {
        self.engage.want(!self.flat());
        if !self.engage.active() {
            return;
        }
        if self.engage.starting() {
            self.ch.iter_mut().for_each(Channel::reset);
        }
        for f in buf {
            let g = [
                self.gains[0].next(),
                self.gains[1].next(),
                self.gains[2].next(),
            ];
            let wet = [self.ch[0].process(f[0], g), self.ch[1].process(f[1], g)];
            let w = self.engage.next_weight();
            f[0] += (wet[0] - f[0]) * w;
            f[1] += (wet[1] - f[1]) * w;
        }
        // Once flat again the fade-out above has run; stop computing next block.
        self.engage.want(!self.flat());
    }
}
