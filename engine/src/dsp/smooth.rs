//! Parameter smoothing: every gain the user can move is ramped, so no change clicks.

/// A value that moves linearly to its target over a fixed number of samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Smoothed {
    current: f32,
    target: f32,
    step: f32,
    remaining: u32,
    ramp: u32,
}

impl Smoothed {
    /// Starts settled at `value`; later changes ramp over `ramp` samples.
    pub fn new(value: f32, ramp: u32) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            remaining: 0,
            ramp: ramp.max(1),
        }
    }

    /// Move towards `target` from wherever the value is now.
    #[inline]
    pub fn set(&mut self, target: f32) {
        if target == self.target {
            return;
        }
        self.target = target;
        self.remaining = self.ramp;
        self.step = (target - self.current) / self.ramp as f32;
    }

    /// Move towards `target` over `ramp` samples (this move only; later `set`s use the
    /// ramp given at construction).
    #[inline]
    pub fn set_over(&mut self, target: f32, ramp: u32) {
        self.target = target;
        self.remaining = ramp.max(1);
        self.step = (target - self.current) / self.remaining as f32;
    }

    /// Jump to `value` at once (used when nothing is audible, e.g. on load).
    #[inline]
    pub fn reset(&mut self, value: f32) {
        self.current = value;
        self.target = value;
        self.remaining = 0;
    }

    /// The value for the next sample.
    #[inline]
    pub fn next(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            self.current = if self.remaining == 0 {
                self.target
            } else {
                self.current + self.step
            };
        }
        self.current
    }

    /// The current value (without advancing).
    #[inline]
    pub fn value(&self) -> f32 {
        self.current
    }

    /// The value being ramped to.
    #[inline]
    pub fn target(&self) -> f32 {
        self.target
    }

    /// True when the value has reached its target.
    #[inline]
    pub fn is_settled(&self) -> bool {
        self.remaining == 0
    }
}

/// Crossfade between a dry (bypassed) and a wet (processed) signal, so an effect can be
/// switched in and out only when needed without a click.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Engage {
    wet: Smoothed,
}

impl Engage {
    pub fn new(ramp: u32) -> Self {
        Self {
            wet: Smoothed::new(0.0, ramp),
        }
    }

    /// Ask for the effect on or off.
    #[inline]
    pub fn want(&mut self, on: bool) {
        self.wet.set(if on { 1.0 } else { 0.0 });
    }

    /// True while the effect must be computed (on, or fading in or out).
    #[inline]
    pub fn active(&self) -> bool {
        !(self.wet.is_settled() && self.wet.value() == 0.0)
    }

    /// True when the effect has just gone from fully off to fading in.
    #[inline]
    pub fn starting(&self) -> bool {
        self.wet.value() == 0.0 && self.wet.target() > 0.0
    }

    /// Advance by one sample without producing output (for stereo: call once per frame).
    #[inline]
    pub fn next_weight(&mut self) -> f32 {
        self.wet.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_linearly_and_lands_exactly() {
        let mut s = Smoothed::new(0.0, 4);
        s.set(1.0);
        let v: Vec<f32> = (0..6).map(|_| s.next()).collect();
        assert_eq!(v, vec![0.25, 0.5, 0.75, 1.0, 1.0, 1.0]);
        assert!(s.is_settled());
    }

    #[test]
    fn engage_fades_in_and_out() {
        let mut e = Engage::new(2);
        assert!(!e.active());
        e.want(true);
        assert!(e.starting());
        assert_eq!(e.next_weight(), 0.5);
        assert_eq!(e.next_weight(), 1.0);
        e.want(false);
        assert!(e.active());
        e.next_weight();
        e.next_weight();
        assert!(!e.active());
    }
}
