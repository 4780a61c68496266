//! Importing other software's playlists and histories as sessions of the transition graph
//! (`segue library import FILE`).
//!
//! Formats:
//! * **M3U / M3U8**: one entry per line; `#` lines (`#EXTM3U`, `#EXTINF`) are comments;
//!   relative entries are relative to the playlist's folder; `file://` URLs are decoded.
//!   `.m3u8` is UTF-8; `.m3u` is read as UTF-8 when it is valid UTF-8, else as Latin-1.
//!   The playlist is one session named after the file.
//! * **rekordbox XML** (File → Export Collection in xml format; the layout is documented by
//!   AlphaTheta/Pioneer in "rekordbox XML format list"): `DJ_PLAYLISTS/COLLECTION/TRACK`
//!   rows with `TrackID` and `Location` (a `file://localhost/` URL), and
//!   `PLAYLISTS/NODE` folders (`Type="0"`) holding playlists (`Type="1"`) whose `TRACK Key`
//!   is a `TrackID` (`KeyType="0"`) or a `Location` (`KeyType="1"`). Every playlist,
//!   including the exported history playlists, becomes one session named by its folder path.
//!
//! Each entry is looked up in the library by path, then by content hash (a file that moved
//! since); consecutive entries that are both in the library make a transition. An entry that
//! is not in the library (not scanned yet, or missing) breaks the chain: no transition is
//! invented across it. Nothing is ever analysed or added by an import.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::graph::{PlaySession, SessionKind};
use crate::{content_hash, Library, SegueError, TrackId, TrackRef};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Playlists read (one session each; empty ones are skipped).
    pub playlists: usize,
    /// Entries read.
    pub entries: usize,
    /// Entries found in the library.
    pub matched: usize,
    /// Transitions recorded.
    pub transitions: usize,
    /// Entries that are not in the library (first few, as written in the file).
    pub unmatched: Vec<String>,
}

/// How many unmatched entries a report names.
const UNMATCHED_NAMED: usize = 20;

/// A playlist read from a file: its name and entries in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playlist {
    /// Name (file stem, or rekordbox folder path).
    pub name: String,
    /// The files, in order.
    pub entries: Vec<PathBuf>,
}

fn bad(path: &Path, reason: impl Into<String>) -> SegueError {
    SegueError::Library {
        path: path.to_path_buf(),
        reason: format!("cannot import this playlist: {}", reason.into()),
    }
}

/// Reads the playlists of `file` (format by extension: `.m3u`, `.m3u8`, `.xml`).
pub fn read_playlists(file: &Path) -> Result<Vec<Playlist>, SegueError> {
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let bytes = std::fs::read(file).map_err(|e| SegueError::io(file, e))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    match ext.as_str() {
        "m3u" | "m3u8" => {
            let text = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) if ext == "m3u8" => {
                    return Err(bad(file, "an .m3u8 playlist must be UTF-8"));
                }
                Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
            };
            let name = file
                .file_stem()
                .map_or_else(|| "playlist".into(), |s| s.to_string_lossy().into_owned());
            Ok(vec![Playlist {
                name,
                entries: parse_m3u(&text, dir),
            }])
        }
        "xml" => {
            let text = String::from_utf8(bytes)
                .map_err(|_| bad(file, "a rekordbox XML export must be UTF-8"))?;
            parse_rekordbox(&text, file)
        }
        _ => Err(bad(
            file,
            "playlists are imported from .m3u, .m3u8 and rekordbox .xml files",
        )),
    }
}

/// The entries of M3U text, relative ones resolved against `dir`.
pub fn parse_m3u(text: &str, dir: &Path) -> Vec<PathBuf> {
    text.lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            if l.contains("://") {
                file_url(l)
            } else {
                let p = PathBuf::from(l.replace('\\', "/"));
                Some(if p.is_absolute() { p } else { dir.join(p) })
            }
        })
        .collect()
}

/// The path of a `file://` URL (`file:///a/b%20c.mp3`, `file://localhost/a/b.mp3`);
/// `None` for other schemes.
pub fn file_url(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    let s = String::from_utf8(out).ok()?;
    // Windows drive paths: file://localhost/C:/Music/a.mp3
    let s = match s.as_bytes() {
        [b'/', d, b':', ..] if d.is_ascii_alphabetic() => s[1..].to_string(),
        _ => s,
    };
    Some(PathBuf::from(s))
}

fn parse_rekordbox(text: &str, file: &Path) -> Result<Vec<Playlist>, SegueError> {
    let doc = roxmltree::Document::parse(text).map_err(|e| bad(file, format!("not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "DJ_PLAYLISTS" {
        return Err(bad(
            file,
            format!(
                "not a rekordbox XML export (root element <{}>, expected <DJ_PLAYLISTS>)",
                root.tag_name().name()
            ),
        ));
    }
    let mut by_id = std::collections::HashMap::new();
    if let Some(coll) = root.children().find(|n| n.has_tag_name("COLLECTION")) {
        for t in coll.children().filter(|n| n.has_tag_name("TRACK")) {
            if let (Some(id), Some(loc)) = (t.attribute("TrackID"), t.attribute("Location")) {
                if let Some(p) = file_url(loc) {
                    by_id.insert(id.to_string(), p);
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Some(lists) = root.children().find(|n| n.has_tag_name("PLAYLISTS")) {
        for node in lists.children().filter(|n| n.has_tag_name("NODE")) {
            walk_nodes(node, "", &by_id, &mut out);
        }
    }
    Ok(out)
}

fn walk_nodes(
    node: roxmltree::Node<'_, '_>,
    prefix: &str,
    by_id: &std::collections::HashMap<String, PathBuf>,
    out: &mut Vec<Playlist>,
) {
    let name = node.attribute("Name").unwrap_or("");
    let path = match (prefix.is_empty(), name) {
        (_, "ROOT") | (_, "") => prefix.to_string(),
        (true, n) => n.to_string(),
        (false, n) => format!("{prefix}/{n}"),
    };
    match node.attribute("Type") {
        Some("1") => {
            let by_location = node.attribute("KeyType") == Some("1");
            let entries = node
                .children()
                .filter(|n| n.has_tag_name("TRACK"))
                .filter_map(|t| t.attribute("Key"))
                .map(|k| {
                    if by_location {
                        file_url(k).unwrap_or_else(|| PathBuf::from(k))
                    } else {
                        by_id
                            .get(k)
                            .cloned()
                            .unwrap_or_else(|| PathBuf::from(format!("rekordbox track {k}")))
                    }
                })
                .collect();
            out.push(Playlist {
                name: path,
                entries,
            });
        }
        _ => {
            for child in node.children().filter(|n| n.has_tag_name("NODE")) {
                walk_nodes(child, &path, by_id, out);
            }
        }
    }
}

/// The library track a playlist entry names: by path, else by the file's content.
fn find(lib: &Library, entry: &Path) -> Option<TrackId> {
    if let Ok(Some(e)) = lib.get(TrackRef::Path(entry)) {
        return Some(e.track.id);
    }
    let hash = content_hash(entry).ok()?;
    lib.get(TrackRef::Hash(&hash))
        .ok()
        .flatten()
        .map(|e| e.track.id)
}

/// Imports every playlist of `file` as a session of the transition graph (see the module
/// doc).
pub fn import(lib: &Library, file: &Path) -> Result<ImportReport, SegueError> {
    let lists = read_playlists(file)?;
    let mut report = ImportReport::default();
    let source = file.to_string_lossy();
    for list in lists.iter().filter(|l| !l.entries.is_empty()) {
        report.playlists += 1;
        let mut session =
            PlaySession::start(lib, SessionKind::Playlist, &list.name, Some(&source))?;
        for entry in &list.entries {
            report.entries += 1;
            match find(lib, entry) {
                Some(id) => {
                    report.matched += 1;
                    let had_prev = session.last().is_some_and(|p| p != id);
                    session.played(lib, id)?;
                    report.transitions += usize::from(had_prev);
                }
                None => {
                    if report.unmatched.len() < UNMATCHED_NAMED {
                        report.unmatched.push(entry.display().to_string());
                    }
                    session.break_chain();
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m3u_entries_resolve_urls_and_relative_paths() {
        let text = "#EXTM3U\n#EXTINF:123,Artist - Title\nsub/a.mp3\n\n/abs/b.flac\r\nfile:///x/c%20d.mp3\nhttp://radio/stream\n";
        let got = parse_m3u(text, Path::new("/lists"));
        assert_eq!(
            got,
            vec![
                PathBuf::from("/lists/sub/a.mp3"),
                PathBuf::from("/abs/b.flac"),
                PathBuf::from("/x/c d.mp3"),
            ]
        );
    }

    #[test]
    fn file_urls_decode() {
        assert_eq!(
            file_url("file://localhost/Users/dj/M%C3%BAsica/a%20b.mp3"),
            Some(PathBuf::from("/Users/dj/Música/a b.mp3"))
        );
        assert_eq!(
            file_url("file://localhost/C:/Music/a.mp3"),
            Some(PathBuf::from("C:/Music/a.mp3"))
        );
        assert_eq!(file_url("https://x/y"), None);
        assert_eq!(file_url("file:///a%2"), Some(PathBuf::from("/a%2")));
    }

    #[test]
    fn rekordbox_playlists_by_id_and_by_location() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.8.5" Company="AlphaTheta"/>
  <COLLECTION Entries="2">
    <TRACK TrackID="11" Name="One" Location="file://localhost/m/one.mp3"/>
    <TRACK TrackID="12" Name="Two" Location="file://localhost/m/two%20b.mp3"/>
  </COLLECTION>
  <PLAYLISTS>
    <NODE Type="0" Name="ROOT" Count="2">
      <NODE Type="0" Name="Gigs" Count="1">
        <NODE Name="Friday" Type="1" KeyType="0" Entries="2">
          <TRACK Key="12"/><TRACK Key="11"/>
        </NODE>
      </NODE>
      <NODE Name="ByPath" Type="1" KeyType="1" Entries="1">
        <TRACK Key="file://localhost/m/one.mp3"/>
      </NODE>
    </NODE>
  </PLAYLISTS>
</DJ_PLAYLISTS>"#;
        let lists = parse_rekordbox(xml, Path::new("x.xml")).unwrap();
        assert_eq!(lists.len(), 2);
        assert_eq!(lists[0].name, "Gigs/Friday");
        assert_eq!(
            lists[0].entries,
            vec![PathBuf::from("/m/two b.mp3"), PathBuf::from("/m/one.mp3")]
        );
        assert_eq!(lists[1].name, "ByPath");
        assert_eq!(lists[1].entries, vec![PathBuf::from("/m/one.mp3")]);
        assert!(parse_rekordbox("<NML/>", Path::new("x.xml")).is_err());
        assert!(parse_rekordbox("<<", Path::new("x.xml")).is_err());
    }
}
