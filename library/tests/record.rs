//! Set recording: the engine's tap on an "audio thread", the recorder's writer thread, real
//! WAV/FLAC files and cue sheets on disk.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_no_alloc::{violation_count, AllocDisabler};
use segue_engine::record::record_tap;
use segue_library::record::{NowPlaying, Recorder};

// The tap runs under `assert_no_alloc` here as on the audio thread (debug builds abort on
// an allocation).
#[global_allocator]
static A: AllocDisabler = AllocDisabler;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segue-record-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The signal at engine frame `f` (left, right): distinct per frame, so any slip shows.
fn sample(f: u64) -> (f32, f32) {
    let x = ((f % 48_000) as f32 / 48_000.0) - 0.5;
    (x, -x * 0.5)
}

/// An "audio thread": 256-frame blocks at about real time (48 kHz) through the tap, until `stop`.
fn audio_thread(
    mut tap: segue_engine::record::RecordTap,
    stop: Arc<AtomicBool>,
    frame: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
        let mut f0 = 0u64;
        while !stop.load(Ordering::SeqCst) {
            for i in 0..256 {
                (l[i], r[i]) = sample(f0 + i as u64);
            }
            assert_no_alloc::assert_no_alloc(|| tap.block(f0, &l, &r));
            assert_eq!(violation_count(), 0, "the tap allocated");
            f0 += 256;
            frame.store(f0, Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(5_333));
        }
    })
}

#[test]
fn a_take_holds_exactly_the_master_output_from_its_start_and_names_the_tracks() {
    let dir = scratch("take");
    let (tap, reader) = record_tap(48_000 * 4);
    let playing: Arc<Mutex<Option<NowPlaying>>> = Arc::new(Mutex::new(None));
    let p = playing.clone();
    let rec = Recorder::new(reader, 48_000, move || p.lock().unwrap().clone()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let frame = Arc::new(AtomicU64::new(0));
    let audio = audio_thread(tap, stop.clone(), frame.clone());
    std::thread::sleep(Duration::from_millis(100));

    let out = dir.join("set.wav");
    *playing.lock().unwrap() = Some(NowPlaying {
        deck: 0,
        generation: 1,
        title: "first \"one\"".into(),
        path: Some("/music/first.mp3".into()),
        bpm: Some(124.0),
        key: Some("8A".into()),
    });
    rec.start(&out).unwrap();
    assert!(
        rec.start(&dir.join("again.wav")).is_err(),
        "one take at a time"
    );
    std::thread::sleep(Duration::from_millis(700));
    *playing.lock().unwrap() = Some(NowPlaying {
        deck: 1,
        generation: 4,
        title: "second".into(),
        path: None,
        bpm: Some(126.0),
        key: Some("9A".into()),
    });
    std::thread::sleep(Duration::from_millis(700));
    assert!(rec.state().recording);
    let report = rec.stop().unwrap();
    stop.store(true, Ordering::SeqCst);
    audio.join().unwrap();
    assert!(rec.stop().is_err(), "nothing to stop");

    assert_eq!(report.error, None);
    assert_eq!(report.dropped_frames, 0);
    assert!(report.frames > 48_000, "{report:?}");
    let mut wav = hound::WavReader::open(&out).unwrap();
    assert_eq!(wav.spec().sample_format, hound::SampleFormat::Float);
    let samples: Vec<f32> = wav.samples::<f32>().map(Result::unwrap).collect();
    assert_eq!(samples.len() as u64, report.frames * 2);
    for (i, f) in samples.chunks(2).enumerate() {
        let (l, r) = sample(report.started_at + i as u64);
        assert!(
            f[0] == l && f[1] == r,
            "frame {i} of the take differs from the engine's output"
        );
    }
    assert_eq!(report.tracks.len(), 2, "{report:?}");
    assert_eq!(report.tracks[0].at, 0.0);
    assert!((0.4..1.2).contains(&report.tracks[1].at), "{report:?}");
    let cue = std::fs::read_to_string(dir.join("set.cue")).unwrap();
    assert!(cue.contains("FILE \"set.wav\" WAVE"), "{cue}");
    assert!(cue.contains("TITLE \"first 'one'\""), "{cue}");
    assert!(
        cue.contains("REM BPM 126.00") && cue.contains("REM KEY 9A"),
        "{cue}"
    );
    assert!(cue.contains("TRACK 02 AUDIO"), "{cue}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flac_takes_are_encoded_at_stop_and_bad_targets_are_clear_errors() {
    let dir = scratch("flac");
    let (tap, reader) = record_tap(48_000 * 4);
    let rec = Recorder::new(reader, 48_000, || None).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let audio = audio_thread(tap, stop.clone(), Arc::new(AtomicU64::new(0)));
    let err = rec.start(&dir.join("set.mp3")).unwrap_err();
    assert!(err.to_string().contains(".wav or .flac"), "{err}");
    let out = dir.join("sub/set.flac");
    rec.start(&out).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let report = rec.stop().unwrap();
    stop.store(true, Ordering::SeqCst);
    audio.join().unwrap();
    assert_eq!(report.path, out);
    assert!(
        !dir.join("sub/set.flac.wav").exists(),
        "the WAV part is removed"
    );
    let decoded = segue_decode::decode_file(&out, 48_000).unwrap();
    assert_eq!(decoded.mix.len() as u64, report.frames);
    let (l, _) = sample(report.started_at + 100);
    assert!(
        (decoded.mix[100][0] - l).abs() < 1.0 / 32_000.0,
        "16-bit FLAC"
    );
    assert!(dir.join("sub/set.cue").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stalled_writer_never_blocks_the_tap_it_counts_what_it_left_out() {
    // A ring of one block and no writer draining it: the tap keeps going, counting.
    let (mut tap, reader) = record_tap(256);
    reader.shared.arm(true);
    let (l, r) = (vec![0.1f32; 256], vec![0.2f32; 256]);
    for k in 0..10 {
        assert_no_alloc::assert_no_alloc(|| tap.block(k * 256, &l, &r));
    }
    assert_eq!(violation_count(), 0, "the tap allocated");
    assert_eq!(reader.shared.pushed(), 256);
    assert_eq!(reader.shared.dropped(), 9 * 256);
    assert_eq!(reader.shared.started_at(), 0);
    reader.shared.arm(false);
    tap.block(2560, &l, &r);
    assert_eq!(reader.shared.take_end(), 256);
}
