//! Gapless trimming for MP4/M4A, which Symphonia 0.6 does not do.
//!
//! AAC encoders put priming frames in front of the audio (1024 for ffmpeg, 2112 for Apple) and
//! pad the last packet. An MP4 records where the real audio starts in the track's edit list
//! (`moov/trak/edts/elst`: the first edit's `media_time`) and where it ends in the media
//! duration (`mdhd`, which Symphonia reports as the track's frame count). Symphonia's isomp4
//! reader parses the edit list but does not apply it, so the decoded AAC is 1024+ frames late
//! and up to a packet too long. [`leading_trim`] reads the edit list itself; the caller drops
//! that many frames and keeps at most the media duration.
//!
//! Only the simple, universal case is honoured: one edit that plays media from `media_time` at
//! normal rate (an optional empty edit before it is ignored). Anything else gives `None` and the
//! audio is left as decoded. Reads are bounded: at most [`MAX_ATOMS`] atom headers and a few
//! bytes of each interesting atom, whatever the file claims.

use std::io::{Read, Seek, SeekFrom};

/// Atom headers read at most while looking for the edit list (a hostile file may hold millions).
const MAX_ATOMS: usize = 4096;

/// `media_time` of the audio track's single edit, in the track's media time scale: the number
/// of leading ticks that are encoder priming. `None` when the file has no usable edit list.
pub(super) fn leading_trim<R: Read + Seek>(file: &mut R, track_id: u32) -> Option<u64> {
    let mut budget = MAX_ATOMS;
    let end = file.seek(SeekFrom::End(0)).ok()?;
    let moov = find_child(file, 0, end, b"moov", &mut budget)?;
    let mut pos = moov.body;
    while let Some(trak) = find_child(file, pos, moov.end, b"trak", &mut budget) {
        pos = trak.end;
        let tkhd = find_child(file, trak.body, trak.end, b"tkhd", &mut budget)?;
        if tkhd_track_id(file, tkhd.body)? != track_id {
            continue;
        }
        let edts = find_child(file, trak.body, trak.end, b"edts", &mut budget)?;
        let elst = find_child(file, edts.body, edts.end, b"elst", &mut budget)?;
        return first_media_time(file, elst);
    }
    None
}

/// An atom's body range in the file.
#[derive(Debug, Clone, Copy)]
struct Atom {
    body: u64,
    end: u64,
}

/// The first atom of type `kind` at or after `start` and before `end` (siblings are skipped
/// by their sizes; a size that overruns `end` ends the search).
fn find_child<R: Read + Seek>(
    file: &mut R,
    mut start: u64,
    end: u64,
    kind: &[u8; 4],
    budget: &mut usize,
) -> Option<Atom> {
    while start.checked_add(8)? <= end && *budget > 0 {
        *budget -= 1;
        let head: [u8; 8] = read_array(file, start)?;
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let (size, header) = match size32 {
            0 => (end - start, 8),
            1 => (u64::from_be_bytes(read_array(file, start + 8)?), 16),
            n => (u64::from(n), 8),
        };
        if size < header || size > end - start {
            return None;
        }
        if &head[4..8] == kind {
            return Some(Atom {
                body: start + header,
                end: start + size,
            });
        }
        start += size;
    }
    None
}

/// The track ID in a `tkhd` body (full-atom header, then times of 4 or 8 bytes by version).
fn tkhd_track_id<R: Read + Seek>(file: &mut R, body: u64) -> Option<u32> {
    let [version, ..]: [u8; 4] = read_array(file, body)?;
    let offset = if version == 1 { 4 + 8 + 8 } else { 4 + 4 + 4 };
    Some(u32::from_be_bytes(read_array(file, body + offset)?))
}

/// `media_time` of the only non-empty edit, if it plays at normal rate.
fn first_media_time<R: Read + Seek>(file: &mut R, elst: Atom) -> Option<u64> {
    let [version, ..]: [u8; 4] = read_array(file, elst.body)?;
    let count = u32::from_be_bytes(read_array(file, elst.body + 4)?);
    let entry_len: u64 = if version == 1 { 20 } else { 12 };
    if count == 0 || count > 2 || elst.body + 8 + u64::from(count) * entry_len > elst.end {
        return None;
    }
    let mut media = Vec::with_capacity(2);
    for i in 0..u64::from(count) {
        let at = elst.body + 8 + i * entry_len;
        let (media_time, rate_at) = if version == 1 {
            (i64::from_be_bytes(read_array(file, at + 8)?), at + 16)
        } else {
            (
                i64::from(i32::from_be_bytes(read_array(file, at + 4)?)),
                at + 8,
            )
        };
        let rate = i16::from_be_bytes(read_array(file, rate_at)?);
        if media_time != -1 {
            media.push((media_time, rate));
        }
    }
    match media.as_slice() {
        [(time, 1)] if *time >= 0 => Some(*time as u64),
        _ => None,
    }
}

fn read_array<R: Read + Seek, const N: usize>(file: &mut R, at: u64) -> Option<[u8; N]> {
    let mut buf = [0u8; N];
    file.seek(SeekFrom::Start(at)).ok()?;
    file.read_exact(&mut buf).ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn atom(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut a = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        a.extend_from_slice(kind);
        a.extend_from_slice(body);
        a
    }

    fn tkhd(id: u32) -> Vec<u8> {
        let mut body = vec![0u8; 12];
        body.extend_from_slice(&id.to_be_bytes());
        body.resize(84, 0);
        atom(b"tkhd", &body)
    }

    fn elst(entries: &[(u32, i32, i16)]) -> Vec<u8> {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for &(dur, time, rate) in entries {
            body.extend_from_slice(&dur.to_be_bytes());
            body.extend_from_slice(&time.to_be_bytes());
            body.extend_from_slice(&rate.to_be_bytes());
            body.extend_from_slice(&0i16.to_be_bytes());
        }
        atom(b"elst", &body)
    }

    fn file(traks: &[(u32, Vec<u8>)]) -> Cursor<Vec<u8>> {
        let mut moov = atom(b"mvhd", &[0; 100]);
        for (id, elst) in traks {
            let mut trak = tkhd(*id);
            trak.extend(atom(b"edts", elst));
            moov.extend(atom(b"trak", &trak));
        }
        let mut f = atom(b"ftyp", b"M4A \0\0\0\0");
        f.extend(atom(b"mdat", &[0; 64]));
        f.extend(atom(b"moov", &moov));
        Cursor::new(f)
    }

    #[test]
    fn reads_the_priming_of_the_matching_track() {
        let mut f = file(&[(1, elst(&[(3000, 0, 1)])), (2, elst(&[(3000, 1024, 1)]))]);
        assert_eq!(leading_trim(&mut f, 2), Some(1024));
        assert_eq!(leading_trim(&mut f, 1), Some(0));
        assert_eq!(leading_trim(&mut f, 3), None);
    }

    #[test]
    fn an_empty_edit_before_the_media_is_skipped() {
        let mut f = file(&[(1, elst(&[(500, -1, 1), (3000, 2112, 1)]))]);
        assert_eq!(leading_trim(&mut f, 1), Some(2112));
    }

    #[test]
    fn complex_or_broken_edit_lists_are_ignored() {
        let two_edits = elst(&[(1000, 0, 1), (1000, 5000, 1)]);
        assert_eq!(leading_trim(&mut file(&[(1, two_edits)]), 1), None);
        assert_eq!(
            leading_trim(&mut file(&[(1, elst(&[(1000, 0, 2)]))]), 1),
            None
        );
        let mut truncated = file(&[(1, elst(&[(3000, 1024, 1)]))]).into_inner();
        truncated.truncate(truncated.len() - 6);
        assert_eq!(leading_trim(&mut Cursor::new(truncated), 1), None);
        let mut lying = atom(b"moov", &[]);
        lying[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(leading_trim(&mut Cursor::new(lying), 1), None);
        assert_eq!(leading_trim(&mut Cursor::new(Vec::new()), 1), None);
    }
}
