//! Small DSP building blocks shared by the decks and the mixer. All are plain structs with
//! preallocated (inline) state: nothing here allocates after construction.

mod biquad;
mod smooth;

pub(crate) use biquad::{Biquad, Svf};
pub(crate) use smooth::{Engage, Smoothed};

/// Decibels to a linear gain factor.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

/// A linear gain factor to decibels (−inf for 0).
#[inline]
pub fn gain_to_db(gain: f32) -> f32 {
    20.0 * gain.log10()
}

/// `x` if it is finite, `fallback` otherwise: every value that arrives in a command passes
/// through this (or a clamp built on it) before the audio path sees it.
#[inline]
pub(crate) fn finite_or(x: f32, fallback: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        fallback
    }
}

/// `x` clamped to `[lo, hi]`, with NaN mapped to `fallback`.
#[inline]
pub(crate) fn sane(x: f32, lo: f32, hi: f32, fallback: f32) -> f32 {
    finite_or(x, fallback).clamp(lo, hi)
}
