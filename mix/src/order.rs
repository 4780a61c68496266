//! Set planning: the order of a set's tracks, chosen by compatibility and by an energy
//! curve the set should follow. Deterministic: the same tracks give the same order.

use crate::compat::{score, EnergyFlow, Prefs, TrackFacts};

/// Partial orders kept at each step of the beam search.
const BEAM: usize = 24;

/// What a transition between tempos that cannot be synced costs the order, on top of its
/// lost tempo score: a loop-out or echo-out is a fallback a DJ avoids when another order
/// keeps the beat going, even at the price of a key clash (which a filter sweep hides).
const UNSYNCABLE: f64 = 0.35;

/// The energy the set aims for at `p` (0 = first track, 1 = last) given the set's lowest
/// and highest track energies.
fn target_energy(flow: EnergyFlow, p: f64, lo: f64, hi: f64) -> f64 {
    match flow {
        EnergyFlow::Up => lo + (hi - lo) * p,
        EnergyFlow::Down => hi - (hi - lo) * p,
        EnergyFlow::Steady => (lo + hi) / 2.0,
        // Build to the peak two thirds in, then come down a little.
        EnergyFlow::Peak => {
            if p < 0.67 {
                lo + (hi - lo) * p / 0.67
            } else {
                hi - (hi - lo) * 0.5 * (p - 0.67) / 0.33
            }
        }
    }
}

/// An order of all `tracks` (indices) for a set with `flow`; `history(a, b)` is how often
/// track b followed track a before.
pub fn order(
    tracks: &[TrackFacts],
    flow: EnergyFlow,
    prefs: &Prefs,
    history: &dyn Fn(usize, usize) -> u32,
) -> Vec<usize> {
    let n = tracks.len();
    if n <= 1 {
        return (0..n).collect();
    }
    let lo = tracks.iter().map(|t| t.energy).min().unwrap_or(1) as f64;
    let hi = tracks.iter().map(|t| t.energy).max().unwrap_or(10) as f64;
    // Transitions are scored as steady (the energy curve is judged separately).
    let steady = Prefs {
        flow: EnergyFlow::Steady,
        ..*prefs
    };
    let mut pair = vec![0.0; n * n];
    for a in 0..n {
        for b in 0..n {
            if a != b {
                let c = score(&tracks[a], &tracks[b], history(a, b), &steady);
                pair[a * n + b] = c.score - if c.tempo_matchable { 0.0 } else { UNSYNCABLE };
            }
        }
    }
    let fit = |i: usize, pos: usize| {
        let p = pos as f64 / (n - 1) as f64;
        1.0 - (tracks[i].energy as f64 - target_energy(flow, p, lo, hi)).abs() / 9.0
    };
    // Beam search over partial orders: (score, order, used mask).
    let mut beam: Vec<(f64, Vec<usize>, Vec<bool>)> = (0..n)
        .map(|i| {
            let mut used = vec![false; n];
            used[i] = true;
            (fit(i, 0), vec![i], used)
        })
        .collect();
    for pos in 1..n {
        let mut next = Vec::new();
        for (s, ord, used) in &beam {
            let last = *ord.last().expect("non-empty");
            for b in (0..n).filter(|b| !used[*b]) {
                let mut o = ord.clone();
                o.push(b);
                let mut u = used.clone();
                u[b] = true;
                next.push((s + pair[last * n + b] + 0.5 * fit(b, pos), o, u));
            }
        }
        // Best first; ties broken by the order itself so the result is deterministic.
        next.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
        next.truncate(BEAM);
        beam = next;
    }
    beam.into_iter().next().map(|b| b.1).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::compat::tests::facts as t;

    #[test]
    fn compatible_tracks_end_up_next_to_each_other() {
        let tracks = [
            t(124.0, "8A", 5),
            t(90.0, "5B", 5),
            t(125.0, "9A", 5),
            t(91.0, "5B", 5),
            t(126.0, "10A", 5),
        ];
        let o = order(&tracks, EnergyFlow::Steady, &Prefs::default(), &|_, _| 0);
        assert_eq!(o.len(), 5);
        let pos = |i: usize| o.iter().position(|x| *x == i).unwrap() as i64;
        assert_eq!((pos(1) - pos(3)).abs(), 1, "{o:?}");
        assert!(
            (pos(0) - pos(2)).abs() == 1 || (pos(2) - pos(4)).abs() == 1,
            "{o:?}"
        );
        // Deterministic.
        assert_eq!(
            o,
            order(&tracks, EnergyFlow::Steady, &Prefs::default(), &|_, _| 0)
        );
    }

    #[test]
    fn tempo_breaks_are_kept_to_a_minimum() {
        // Alternating the two tempo groups makes every transition harmonic (8A → 9A → 9B →
        // 8B) but none can be synced; keeping each group together clashes twice (8A / 9B,
        // 9A / 8B) and needs one tempo break.
        let tracks = [
            t(120.0, "8A", 5),
            t(95.0, "9A", 5),
            t(122.0, "9B", 5),
            t(96.0, "8B", 5),
        ];
        let o = order(&tracks, EnergyFlow::Steady, &Prefs::default(), &|_, _| 0);
        let breaks = o
            .windows(2)
            .filter(|w| !score(&tracks[w[0]], &tracks[w[1]], 0, &Prefs::default()).tempo_matchable)
            .count();
        assert_eq!(breaks, 1, "{o:?}");
    }

    #[test]
    fn an_up_set_builds_energy() {
        let tracks = [t(124.0, "8A", 8), t(124.0, "8A", 3), t(124.0, "8A", 6)];
        let o = order(&tracks, EnergyFlow::Up, &Prefs::default(), &|_, _| 0);
        assert_eq!(o, vec![1, 2, 0]);
        let o = order(&tracks, EnergyFlow::Down, &Prefs::default(), &|_, _| 0);
        assert_eq!(o, vec![0, 2, 1]);
    }
}
