//! Sync: a follower matches the leader's tempo (allowing half/double time) and beat phase.
//! Phase is snapped once when sync engages or playback starts, then held by a gentle
//! proportional correction of the rate (no audible pitch wobble, no drift).

use super::{Deck, MAX_RATE};

/// How a leader is seen by followers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncRef {
    /// Tempo heard (BPM).
    pub bpm: f64,
    /// Fractional beat index heard now.
    pub beat: f64,
    /// The leader is playing (a paused leader gives its tempo, not its phase).
    pub playing: bool,
    /// Beats per phase cycle: 1 between decks (beat phase), Link's quantum (bar phase,
    /// counted from the follower's downbeat) for an outside timeline.
    pub quantum: f64,
    /// A phase error above this many seconds is snapped at once, not only when sync
    /// engages (0: never). An outside timeline can jump (an xrun stops the engine's clock
    /// while the timeline goes on; a Link peer forces the beat); a deck leader cannot.
    pub resnap_secs: f64,
}

/// A phase error is corrected over this many seconds.
const CORRECTION_SECS: f64 = 0.25;
/// The correction never changes the rate by more than this fraction.
const MAX_CORRECTION: f64 = 0.02;
/// A phase gap before the track's start up to this long is corrected by rate, not a jump.
const SMALL_GAP_SECS: f64 = 0.02;
/// Phase errors above this (in beats) are snapped when sync engages.
const SNAP_BEATS: f64 = 0.001;

/// The follower's rate for this segment, and an offset (frames) to jump by if the phase
/// must be snapped.
pub(super) fn follow(deck: &Deck, leader: SyncRef, snap: bool) -> (f64, Option<f64>) {
    let native = deck.native_bpm();
    if native <= 0.0 || leader.bpm <= 0.0 || !leader.bpm.is_finite() {
        return (deck.manual_rate(), None);
    }
    // Follower beats per leader beat: half or double time when the tempos are far apart.
    let ratio = leader.bpm / native;
    let k = if ratio > 1.5 {
        0.5
    } else if ratio < 0.75 {
        2.0
    } else {
        1.0
    };
    let base = (ratio * k).clamp(0.0, MAX_RATE);
    let pos = deck.position();
    if !leader.playing {
        return (base, None);
    }
    let q = if leader.quantum.is_finite() {
        leader.quantum.clamp(1.0, 16.0)
    } else {
        1.0
    };
    let target = (leader.beat * k).rem_euclid(q);
    let mine = deck.phase_in(deck.beat_at(pos), q);
    let err = (target - mine + 0.5 * q).rem_euclid(q) - 0.5 * q;
    let beat_len = deck.grid.as_ref().map_or(0.0, |g| g.beat_length_at(pos));
    let resnap =
        leader.resnap_secs > 0.0 && (err * beat_len).abs() > leader.resnap_secs * deck.rate_hz;
    if (snap && err.abs() > SNAP_BEATS) || resnap {
        // Jump back to the matching phase, or forward a beat if that would leave the track.
        // A deck started on its very first beat a few milliseconds late is not moved a beat
        // ahead (its bars would fall on the leader's beat 2): the rate correction below
        // closes such a small gap.
        let back = err * beat_len;
        if pos + back >= 0.0 {
            return (base, Some(back));
        }
        if back.abs() > SMALL_GAP_SECS * deck.rate_hz {
            return (base, Some(back + q * beat_len));
        }
    }
    let correction = (err * beat_len / (CORRECTION_SECS * deck.rate_hz))
        .clamp(-MAX_CORRECTION * base, MAX_CORRECTION * base);
    ((base + correction).clamp(0.0, MAX_RATE), None)
}
