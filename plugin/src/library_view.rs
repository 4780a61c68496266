//! The editor's library list: the library's tracks filtered by tempo range, key (the key and
//! the keys that mix with it on the Camelot wheel) and energy range, through
//! [`segue_library::Query`], then sorted by title, BPM, key or energy.

use std::path::PathBuf;

use segue_analysis::music::Key;
pub use segue_library::sort::Sort;
use segue_library::sort::{camelot_order, SortFields};
use segue_library::{LibraryEntry, Query};

/// One row of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Display title.
    pub title: String,
    /// The file (rows without one are left out).
    pub path: PathBuf,
    /// Analysed tempo.
    pub bpm: Option<f64>,
    /// Analysed key, Camelot code ("8A").
    pub camelot: Option<String>,
    /// Analysed energy, 1..=10.
    pub energy: Option<u8>,
}

impl Row {
    /// The row of a library entry (None when the file is gone).
    pub fn of(e: &LibraryEntry) -> Option<Row> {
        Some(Row {
            title: e.track.title.clone(),
            path: e.track.path.clone()?,
            bpm: e.analysis.as_ref().map(|a| a.bpm),
            camelot: e.analysis.as_ref().map(|a| a.camelot.clone()),
            energy: e.analysis.as_ref().map(|a| a.energy),
        })
    }

    fn sort_fields(&self) -> SortFields<'_> {
        SortFields {
            title: &self.title,
            bpm: self.bpm,
            camelot: self.camelot.as_deref().and_then(camelot_order),
            energy: self.energy,
        }
    }
}

/// The filters as the editor holds them (0 or empty: no filter).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filters {
    /// Lowest tempo (0: any).
    pub bpm_min: f64,
    /// Highest tempo (0: any).
    pub bpm_max: f64,
    /// A key name or code; matches it and its compatible keys.
    pub key: String,
    /// Lowest energy (0: any).
    pub energy_min: u8,
    /// Highest energy (0: any).
    pub energy_max: u8,
    /// Text in the title or path.
    pub text: String,
}

impl Filters {
    /// The library query, or why the key cannot be read.
    pub fn query(&self) -> Result<Query, String> {
        let key = match self.key.trim() {
            "" => None,
            k => Some(
                k.parse::<Key>()
                    .map_err(|_| format!("unknown key {k:?} (try 8A or A minor)"))?,
            ),
        };
        let range = |lo: f64, hi: f64, max: f64| {
            (lo > 0.0 || hi > 0.0).then_some((lo, if hi > 0.0 { hi } else { max }))
        };
        Ok(Query {
            bpm: range(self.bpm_min, self.bpm_max, f64::MAX),
            key,
            energy: range(self.energy_min as f64, self.energy_max as f64, 10.0)
                .map(|(lo, hi)| (lo as u8, hi as u8)),
            text: Some(self.text.trim().to_string()).filter(|t| !t.is_empty()),
        })
    }
}

/// Sort `rows` by `by` (rows without the value last either way; ties by title): the
/// library's one track order, the daemon's browser uses it too.
pub fn sort(rows: &mut [Row], by: Sort, descending: bool) {
    rows.sort_by(|a, b| by.compare(&a.sort_fields(), &b.sort_fields(), descending));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(title: &str, bpm: Option<f64>, key: Option<&str>, energy: Option<u8>) -> Row {
        Row {
            title: title.into(),
            path: PathBuf::from(format!("/m/{title}.wav")),
            bpm,
            camelot: key.map(Into::into),
            energy,
        }
    }

    fn titles(rows: &[Row]) -> Vec<&str> {
        rows.iter().map(|r| r.title.as_str()).collect()
    }

    #[test]
    fn sorts_by_each_column_with_unanalysed_rows_last() {
        let mut rows = vec![
            row("c", Some(128.0), Some("10A"), Some(7)),
            row("a", Some(122.0), Some("8B"), Some(9)),
            row("none", None, None, None),
            row("B", Some(174.0), Some("8A"), Some(3)),
        ];
        sort(&mut rows, Sort::Title, false);
        assert_eq!(titles(&rows), ["a", "B", "c", "none"]);
        sort(&mut rows, Sort::Bpm, false);
        assert_eq!(titles(&rows), ["a", "c", "B", "none"]);
        sort(&mut rows, Sort::Bpm, true);
        assert_eq!(titles(&rows), ["B", "c", "a", "none"]);
        sort(&mut rows, Sort::Key, false);
        assert_eq!(titles(&rows), ["B", "a", "c", "none"], "8A 8B 10A");
        sort(&mut rows, Sort::Energy, true);
        assert_eq!(titles(&rows), ["a", "c", "B", "none"]);
    }

    #[test]
    fn filters_become_a_library_query() {
        let q = Filters::default().query().unwrap();
        assert_eq!((q.bpm, q.key, q.energy, q.text), (None, None, None, None));
        let q = Filters {
            bpm_min: 120.0,
            key: "8A".into(),
            energy_max: 6,
            text: " deep ".into(),
            ..Filters::default()
        }
        .query()
        .unwrap();
        assert_eq!(q.bpm, Some((120.0, f64::MAX)));
        assert_eq!(q.key.map(|k| k.camelot()), Some("8A".to_string()));
        assert_eq!(q.energy, Some((0, 6)));
        assert_eq!(q.text.as_deref(), Some("deep"));
        let e = Filters {
            key: "H minor".into(),
            ..Filters::default()
        }
        .query()
        .unwrap_err();
        assert!(e.contains("unknown key"), "{e}");
    }
}
