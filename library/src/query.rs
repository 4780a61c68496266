//! Search filters (`segue library search --bpm 120-130 --key 8A --energy 6-8 TEXT`).

use segue_analysis::music::Key;

/// What to look for; every filter that is `Some` must match (an empty query lists all
/// analysed tracks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Tempo range in BPM, inclusive.
    pub bpm: Option<(f64, f64)>,
    /// A key: matches that key and the keys that mix with it on the Camelot wheel
    /// ([`Key::compatible`]: 8A also finds 7A, 9A and 8B).
    pub key: Option<Key>,
    /// Energy range 1..=10, inclusive.
    pub energy: Option<(u8, u8)>,
    /// Text that the title or path must contain, case-insensitive.
    pub text: Option<String>,
}

impl Query {
    /// The SQL `WHERE` clause (over `t` = tracks, `a` = analyses) and its parameters for the
    /// numeric and key filters. The text filter runs in Rust (Unicode case folding, which
    /// SQLite's `lower()` lacks).
    pub(super) fn sql(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut clauses = vec!["1".to_string()];
        let mut params = Vec::new();
        if let Some((lo, hi)) = self.bpm {
            clauses.push("a.bpm BETWEEN ? AND ?".into());
            params.push(Value::Real(lo.min(hi)));
            params.push(Value::Real(lo.max(hi)));
        }
        if let Some(key) = self.key {
            let keys = key.compatible();
            clauses.push(format!(
                "a.key_camelot IN ({})",
                vec!["?"; keys.len()].join(",")
            ));
            params.extend(keys.iter().map(|k| Value::Text(k.camelot())));
        }
        if let Some((lo, hi)) = self.energy {
            clauses.push("a.energy BETWEEN ? AND ?".into());
            params.push(Value::Integer(lo.min(hi).into()));
            params.push(Value::Integer(lo.max(hi).into()));
        }
        (clauses.join(" AND "), params)
    }

    /// The text filter, lower-cased, if any.
    pub(super) fn needle(&self) -> Option<String> {
        self.text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
    }
}
