//! One order for track lists, shared by the daemon's browser (`/segue/browse`, the
//! `browse_sort` button) and the plugin's library view (its sort menu): the same column
//! sorts the same way on stage and in the DAW.

use std::cmp::Ordering;

/// A track list's sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// By title, case-insensitive.
    #[default]
    Title,
    /// By tempo, slowest first.
    Bpm,
    /// By key in Camelot order, 1A 1B 2A … 12B.
    Key,
    /// By energy, calmest first.
    Energy,
}

/// What a track is sorted by; `None`: not analysed (or unreadable), sorted last either way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SortFields<'a> {
    /// Display title.
    pub title: &'a str,
    /// Tempo.
    pub bpm: Option<f64>,
    /// Camelot (number 1..=12, letter 0 for A / 1 for B); see [`camelot_order`].
    pub camelot: Option<(u8, u8)>,
    /// Energy, 1..=10.
    pub energy: Option<u8>,
}

impl Sort {
    /// Every column, in menu and cycling order.
    pub const ALL: [Sort; 4] = [Sort::Title, Sort::Bpm, Sort::Key, Sort::Energy];

    /// Menu label.
    pub fn label(self) -> &'static str {
        match self {
            Sort::Title => "Title",
            Sort::Bpm => "BPM",
            Sort::Key => "Key",
            Sort::Energy => "Energy",
        }
    }

    /// Its name in OSC replies (`/segue/browse`).
    pub fn name(self) -> &'static str {
        match self {
            Sort::Title => "title",
            Sort::Bpm => "bpm",
            Sort::Key => "key",
            Sort::Energy => "energy",
        }
    }

    /// The next column (a cycling button: title → BPM → key → energy → title).
    pub fn next(self) -> Sort {
        let i = Sort::ALL.iter().position(|&s| s == self).unwrap_or(0);
        Sort::ALL[(i + 1) % Sort::ALL.len()]
    }

    /// The order of `a` and `b` by this column (`descending` reverses it); tracks without
    /// the value come last either way, ties go by title.
    pub fn compare(self, a: &SortFields, b: &SortFields, descending: bool) -> Ordering {
        fn known_first<T>(
            x: Option<T>,
            y: Option<T>,
            cmp: impl Fn(T, T) -> Ordering,
            descending: bool,
        ) -> Ordering {
            match (x, y) {
                (Some(x), Some(y)) if descending => cmp(x, y).reverse(),
                (Some(x), Some(y)) => cmp(x, y),
                (x, y) => x.is_none().cmp(&y.is_none()),
            }
        }
        let title = |a: &SortFields, b: &SortFields| {
            let lower = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<Vec<_>>();
            lower(a.title).cmp(&lower(b.title))
        };
        let o = match self {
            Sort::Title if descending => title(a, b).reverse(),
            Sort::Title => title(a, b),
            Sort::Bpm => known_first(a.bpm, b.bpm, |x, y| x.total_cmp(&y), descending),
            Sort::Key => known_first(a.camelot, b.camelot, |x, y| x.cmp(&y), descending),
            Sort::Energy => known_first(a.energy, b.energy, |x, y| x.cmp(&y), descending),
        };
        o.then_with(|| title(a, b))
    }
}

/// `"8A"` → (8, 0), `"12b"` → (12, 1); anything else (not a Camelot code) → `None`.
pub fn camelot_order(code: &str) -> Option<(u8, u8)> {
    let code = code.trim();
    let l = code.chars().last()?;
    let n = &code[..code.len() - l.len_utf8()];
    match (n.parse::<u8>(), l) {
        (Ok(n @ 1..=12), 'A' | 'a') => Some((n, 0)),
        (Ok(n @ 1..=12), 'B' | 'b') => Some((n, 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f<'a>(title: &'a str, bpm: Option<f64>, key: &str, energy: Option<u8>) -> SortFields<'a> {
        SortFields {
            title,
            bpm,
            camelot: camelot_order(key),
            energy,
        }
    }

    fn order(mut v: Vec<SortFields<'_>>, by: Sort, descending: bool) -> Vec<&str> {
        v.sort_by(|a, b| by.compare(a, b, descending));
        v.iter().map(|f| f.title).collect()
    }

    #[test]
    fn each_column_sorts_known_values_and_puts_unknown_last_either_way() {
        let v = vec![
            f("b", Some(128.0), "12B", Some(7)),
            f("A", None, "?", None),
            f("c", Some(90.0), "1A", Some(3)),
            f("d", Some(128.0), "8A", Some(9)),
        ];
        assert_eq!(order(v.clone(), Sort::Title, false), ["A", "b", "c", "d"]);
        assert_eq!(order(v.clone(), Sort::Title, true), ["d", "c", "b", "A"]);
        // Ties (128 BPM) go by title.
        assert_eq!(order(v.clone(), Sort::Bpm, false), ["c", "b", "d", "A"]);
        assert_eq!(order(v.clone(), Sort::Bpm, true), ["b", "d", "c", "A"]);
        assert_eq!(order(v.clone(), Sort::Key, false), ["c", "d", "b", "A"]);
        assert_eq!(order(v.clone(), Sort::Key, true), ["b", "d", "c", "A"]);
        assert_eq!(order(v.clone(), Sort::Energy, false), ["c", "b", "d", "A"]);
        assert_eq!(order(v, Sort::Energy, true), ["d", "b", "c", "A"]);
    }

    #[test]
    fn camelot_codes_read_and_the_columns_cycle() {
        assert_eq!(camelot_order("8A"), Some((8, 0)));
        assert_eq!(camelot_order(" 12b "), Some((12, 1)));
        for bad in ["", "A", "13A", "0B", "8C", "C major", "8é"] {
            assert_eq!(camelot_order(bad), None, "{bad:?}");
        }
        let mut s = Sort::Title;
        let names: Vec<&str> = (0..5)
            .map(|_| {
                s = s.next();
                s.name()
            })
            .collect();
        assert_eq!(names, ["bpm", "key", "energy", "title", "bpm"]);
    }
}
