//! The plugin in a real CLAP host (and a VST3 load test): the bundles are built fresh by
//! `cargo xtask bundle segue-plugin` (debug, so nice-plug's `assert_process_allocs` aborts
//! on any allocation in `process`), dlopened and driven through their C ABI.

mod clap_host;
mod vst3_host;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap_host::{
    param_hash, process_ok, session_of, state_json, with_session, Event, Library, PortInfo,
    Processor, Transport,
};
use segue_analysis::music::{Key, Mode};
use segue_demo::{self as demo, DemoSpec, SectionLabel, Style};
use segue_engine::{Command, DeckTap, Engine, EngineConfig, Outputs};
use serde_json::Value;

const ID: &str = "org.segue.segue";

struct SharedLib(Library);
// SAFETY: the factory is thread-safe per the CLAP spec; the library is never unloaded.
unsafe impl Sync for SharedLib {}
// SAFETY: as above.
unsafe impl Send for SharedLib {}

fn lib() -> &'static Library {
    static LIB: OnceLock<SharedLib> = OnceLock::new();
    &LIB.get_or_init(|| {
        // The plugin keeps its analyses in the shared library: a private one per test run,
        // set once before the first instance opens it.
        let db =
            std::env::temp_dir().join(format!("segue-plugin-host-{}.sqlite", std::process::id()));
        std::env::set_var("SEGUE_LIBRARY", db);
        SharedLib(Library::load(&clap_host::bundle(false).join("Segue.clap")))
    })
    .0
}

/// Two short demo tracks with stems (written once): returns their mix paths.
fn tracks() -> &'static [PathBuf] {
    static TRACKS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    TRACKS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("segue-plugin-host-{}", std::process::id()));
        let specs = [
            DemoSpec::new(
                "plugin-124",
                124.0,
                Key {
                    tonic: 9,
                    mode: Mode::Minor,
                },
                Style::FourOnFloor,
            )
            .sections(&[(SectionLabel::Intro, 2), (SectionLabel::Drop, 2)]),
            DemoSpec::new(
                "plugin-128",
                128.0,
                Key {
                    tonic: 0,
                    mode: Mode::Major,
                },
                Style::FourOnFloor,
            )
            .sections(&[(SectionLabel::Intro, 2), (SectionLabel::Drop, 2)]),
        ];
        specs
            .iter()
            .map(|s| demo::write_track(&dir, &demo::synthesize(s, 44_100)).unwrap())
            .collect()
    })
}

/// A host-side parameter id and its normalised value for a plain bool.
fn on(id: &str, time: u32, v: bool) -> Event {
    Event::Param {
        time,
        id: param_hash(id),
        value: if v { 1.0 } else { 0.0 },
    }
}

/// Block sizes 1..=2048: the edges, odd sizes, then a fixed pseudo-random walk.
fn block_sizes(seed: u64) -> impl FnMut() -> usize {
    let fixed = [1usize, 2048, 7, 64, 1023, 1, 333, 512, 2, 1999, 128, 31];
    let mut i = 0;
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    move || {
        i += 1;
        if i <= fixed.len() {
            return fixed[i - 1];
        }
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        1 + ((x >> 33) % 2048) as usize
    }
}

/// Every sample finite and not denormal.
fn check_clean(block: &[Vec<f32>], frames: usize) {
    for ch in block {
        for &s in &ch[..frames] {
            assert!(s.is_finite(), "non-finite sample {s}");
            assert!(
                s == 0.0 || s.abs() >= f32::MIN_POSITIVE,
                "denormal sample {s:e}"
            );
        }
    }
}

/// Process blocks of the sizes `next` gives (`events` in the first) until `want`
/// interleaved samples of the output channels `(l, r)` are collected, counted from their
/// first non-silent frame (the track decodes on the loader thread first); every block is
/// checked clean, and `each` sees the outputs of every block once sound has started.
fn collect_sound(
    proc: &mut Processor,
    next: &mut impl FnMut() -> usize,
    mut events: Vec<Event>,
    (l, r): (usize, usize),
    want: usize,
    what: &str,
    mut each: impl FnMut(&[Vec<f32>], usize),
) -> Vec<f32> {
    let mut out = Vec::with_capacity(want);
    let start = Instant::now();
    while out.len() < want {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{what} never played"
        );
        let n = next();
        assert!(process_ok(proc.process(n, &events, None)));
        events.clear();
        check_clean(&proc.out, n);
        for i in 0..n {
            let (a, b) = (proc.out[l][i], proc.out[r][i]);
            if out.is_empty() && a == 0.0 && b == 0.0 {
                continue;
            }
            out.push(a);
            out.push(b);
        }
        if out.is_empty() {
            std::thread::sleep(Duration::from_millis(2));
        } else {
            each(&proc.out, n);
        }
    }
    out
}

/// Load `track` on deck A through the saved state, activate at `rate`, process from an
/// audio thread: silent blocks first (no play), then play and collect `secs` of the master
/// from the first non-silent frame (interleaved L R).
fn play_through_host(host_rate: f64, track: &Path, seed: u64, secs: f64) -> Vec<f32> {
    let rate = host_rate.round() as u32;
    let mut inst = lib().create(ID);
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][0]["track"] = Value::from(track.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    assert!(inst.activate(host_rate, 2048));
    let mut proc = inst.processor(2048);
    let want = (secs * rate as f64) as usize * 2;
    let out = std::thread::scope(|s| {
        s.spawn(move || {
            let mut next = block_sizes(seed);
            let mut done = 0;
            while done < rate as usize / 4 {
                let n = next();
                assert!(process_ok(proc.process(n, &[], None)));
                check_clean(&proc.out, n);
                assert!(
                    proc.out.iter().all(|c| c[..n].iter().all(|&s| s == 0.0)),
                    "output before play must be silent"
                );
                done += n;
            }
            let mut out = collect_sound(
                &mut proc,
                &mut next,
                vec![on("play_1", 0, true)],
                (0, 1),
                want,
                "the track",
                |_, _| {},
            );
            proc.stop();
            out.truncate(want);
            out
        })
        .join()
        .expect("audio thread")
    });
    inst.deactivate();
    out
}

/// The same track through the engine directly (what the plugin must sound like).
fn render_offline(rate: u32, track: &Path, secs: f64) -> Vec<f32> {
    let audio = segue_decode::decode_file(track, rate).unwrap();
    let mut parts = Engine::new(EngineConfig {
        sample_rate: rate,
        ..EngineConfig::default()
    })
    .unwrap();
    parts
        .handle
        .send(Command::Load {
            deck: 0,
            audio: std::sync::Arc::new(audio),
        })
        .unwrap();
    parts
        .handle
        .send(Command::Play { deck: 0, on: true })
        .unwrap();
    let want = (secs * rate as f64) as usize * 2;
    let mut out = Vec::new();
    let (mut l, mut r, mut cl, mut cr) = (
        vec![0.0; 512],
        vec![0.0; 512],
        vec![0.0; 512],
        vec![0.0; 512],
    );
    while out.len() < want + rate as usize * 4 {
        parts.engine.process(
            &mut Outputs {
                master: [&mut l, &mut r],
                cue: [&mut cl, &mut cr],
            },
            512,
        );
        for i in 0..512 {
            if out.is_empty() && l[i] == 0.0 && r[i] == 0.0 {
                continue;
            }
            out.push(l[i]);
            out.push(r[i]);
        }
    }
    out.truncate(want);
    out
}

/// `track` on deck `deck` through the engine directly: the deck's own pre-fader output
/// (what the plugin's per-deck port must carry), interleaved, from its first non-silent frame.
fn render_offline_deck(rate: u32, track: &Path, deck: usize, secs: f64) -> Vec<f32> {
    let audio = segue_decode::decode_file(track, rate).unwrap();
    let mut parts = Engine::new(EngineConfig {
        sample_rate: rate,
        ..EngineConfig::default()
    })
    .unwrap();
    let d = deck as u8;
    parts
        .handle
        .send(Command::Load {
            deck: d,
            audio: std::sync::Arc::new(audio),
        })
        .unwrap();
    parts
        .handle
        .send(Command::Play { deck: d, on: true })
        .unwrap();
    let want = (secs * rate as f64) as usize * 2;
    let mut out = Vec::new();
    let mut b: Vec<Vec<f32>> = (0..12).map(|_| vec![0.0; 512]).collect();
    while out.len() < want {
        let [ml, mr, cl, cr, rest @ ..] = &mut b[..] else {
            unreachable!()
        };
        let [al, ar, bl, br, c3l, c3r, dl, dr] = rest else {
            unreachable!()
        };
        let mut decks = [
            [&mut al[..], &mut ar[..]],
            [&mut bl[..], &mut br[..]],
            [&mut c3l[..], &mut c3r[..]],
            [&mut dl[..], &mut dr[..]],
        ];
        parts.engine.process_with_decks(
            &mut Outputs {
                master: [&mut ml[..], &mut mr[..]],
                cue: [&mut cl[..], &mut cr[..]],
            },
            &mut decks,
            DeckTap::PreFader,
            512,
        );
        let [l, r] = &decks[deck];
        for i in 0..512 {
            if out.is_empty() && l[i] == 0.0 && r[i] == 0.0 {
                continue;
            }
            out.push(l[i]);
            out.push(r[i]);
        }
    }
    out.truncate(want);
    out
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn factory_descriptor_and_stable_parameter_ids() {
    let lib = lib();
    assert_eq!(lib.count(), 1);
    let (id, name, vendor, _version, features) = lib.descriptor(0);
    assert_eq!(
        (id.as_str(), name.as_str(), vendor.as_str()),
        (ID, "Segue", "Segue")
    );
    assert!(features.iter().any(|f| f == "instrument"), "{features:?}");
    let inst = lib.create(ID);
    let params = inst.params();
    // The string ids are the contract with saved projects: this list must only grow.
    let mut expected: Vec<String> = ["xfader", "master", "hostsync", "bypass"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for d in 1..=4 {
        for p in [
            "vol",
            "trim",
            "tempo",
            "eqlow",
            "eqmid",
            "eqhigh",
            "filter",
            "drums",
            "bass",
            "other",
            "vocals",
            "play",
            "sync",
            "keylock",
            "fx1_assign",
            "fx2_assign",
        ] {
            expected.push(format!("{p}_{d}"));
        }
    }
    // The FX units: the IDs are the targets' names.
    for u in 1..=2 {
        for p in ["on", "chain", "mix", "master"] {
            expected.push(format!("fx{u}_{p}"));
        }
        for s in 1..=3 {
            for p in ["effect", "on", "knob_1", "knob_2", "knob_3", "beats"] {
                expected.push(format!("fx{u}_slot_{s}_{p}"));
            }
        }
    }
    let mut got: Vec<u32> = params.iter().map(|p| p.id).collect();
    let mut want: Vec<u32> = expected.iter().map(|s| param_hash(s)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "parameter ids changed");
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"Crossfader") && names.contains(&"Key lock"));
    assert_eq!(inst.latency(), Some(0), "the engine adds no latency");
}

#[test]
fn silent_before_play_then_the_loaded_track_at_44_48_and_96_khz() {
    let track = &tracks()[0];
    for rate in [44_100, 48_000, 96_000] {
        let got = play_through_host(rate as f64, track, rate as u64, 1.0);
        let want = render_offline(rate, track, 1.0);
        let diff = max_diff(&got, &want);
        assert!(
            diff < 1e-4,
            "{rate} Hz: the plugin's output differs from the engine's by {diff}"
        );
        let peak = got.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05, "{rate} Hz: too quiet ({peak})");
    }
}

/// The second audio-ports configuration: master, cue and one stereo port per deck. A
/// playing deck's track is on its own port pre-fader (its channel fader is down, so the
/// master is silent), equal to the engine's own deck output; the other decks' ports are
/// silent. The first configuration stays the default.
#[test]
fn per_deck_outputs_carry_each_deck_pre_fader() {
    let track = &tracks()[1];
    let mut inst = lib().create(ID);
    let configs = inst.ports_configs();
    let summary: Vec<(u32, &str, u32)> = configs
        .iter()
        .map(|c| (c.id, c.name.as_str(), c.outputs))
        .collect();
    assert_eq!(
        summary,
        [(0, "Master + cue", 2), (1, "Master + cue + decks", 6)]
    );
    assert!(configs.iter().all(|c| c.main_channels == 2));
    let port = |name: &str, main| PortInfo {
        name: name.into(),
        channels: 2,
        main,
    };
    assert_eq!(
        inst.output_ports(),
        [port("Master", true), port("Cue", false)],
        "the default layout changed"
    );
    assert!(inst.select_ports_config(1));
    let ports = inst.output_ports();
    assert_eq!(
        ports,
        [
            port("Master", true),
            port("Cue", false),
            port("Deck A", false),
            port("Deck B", false),
            port("Deck C", false),
            port("Deck D", false),
        ]
    );
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][1]["track"] = Value::from(track.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    let rate = 48_000;
    assert!(inst.activate(rate as f64, 2048));
    let mut proc = inst.processor_with_ports(2048, ports.len());
    let secs = 0.5;
    let want = (secs * rate as f64) as usize * 2;
    let (got, peaks) = std::thread::scope(|s| {
        s.spawn(move || {
            let mut next = block_sizes(11);
            // Deck B's channel fader down before anything plays.
            let vol_down = Event::Param {
                time: 0,
                id: param_hash("vol_2"),
                value: 0.0,
            };
            let mut events = vec![vol_down];
            let mut done = 0;
            while done < rate / 4 {
                let n = next();
                assert!(process_ok(proc.process(n, &events, None)));
                events.clear();
                check_clean(&proc.out, n);
                done += n;
            }
            events.push(on("play_2", 0, true));
            // Peak per channel (master L R, cue L R, decks A..D L R) while collecting.
            let mut peaks = vec![0f32; proc.out.len()];
            let mut out = collect_sound(
                &mut proc,
                &mut next,
                events,
                (6, 7),
                want,
                "deck B",
                |block, n| {
                    for (p, ch) in peaks.iter_mut().zip(block) {
                        *p = ch[..n].iter().fold(*p, |m, s| m.max(s.abs()));
                    }
                },
            );
            proc.stop();
            out.truncate(want);
            (out, peaks)
        })
        .join()
        .expect("audio thread")
    });
    inst.deactivate();
    let expected = render_offline_deck(rate as u32, track, 1, secs);
    let diff = max_diff(&got, &expected);
    let peak = got.iter().fold(0f32, |m, s| m.max(s.abs()));
    eprintln!("deck B port: peak {peak:.3}, max diff vs engine {diff:e}; peaks {peaks:?}");
    assert!(peak > 0.05, "deck B's port is too quiet ({peak})");
    assert!(
        diff < 1e-4,
        "deck B's port differs from the engine's deck output by {diff}"
    );
    assert_eq!(
        peaks[0..2],
        [0.0, 0.0],
        "master must be silent: deck B's fader is down"
    );
    for (d, ch) in [(0, 4), (2, 8), (3, 10)] {
        assert_eq!(
            peaks[ch..ch + 2],
            [0.0, 0.0],
            "deck {d}'s port must be silent"
        );
    }
}

/// The FX parameters reach the engine from a real host (allocation-free: the debug bundle
/// aborts on an allocation in `process`): FX 1 (echo, its default) on deck A changes the
/// master; with the unit off again, or on but assigned to no deck, it is the dry track.
#[test]
fn fx_parameters_drive_the_fx_units() {
    let track = &tracks()[1];
    let render = |events: Vec<Event>| {
        let mut inst = lib().create(ID);
        let state = with_session(&inst.save_state(), |s| {
            s["decks"][0]["track"] = Value::from(track.to_str().unwrap());
        });
        assert!(inst.load_state(&state));
        assert!(inst.activate(48_000.0, 512));
        let mut proc = inst.processor(512);
        let mut events = events;
        events.push(on("play_1", 0, true));
        let out = collect_sound(
            &mut proc,
            &mut || 512,
            events,
            (0, 1),
            48_000 * 2,
            "the track",
            |_, _| {},
        );
        proc.stop();
        inst.deactivate();
        out
    };
    let dry = render(vec![]);
    let unassigned = render(vec![on("fx1_on", 0, true)]);
    let wet = render(vec![on("fx1_on", 0, true), on("fx1_assign_1", 0, true)]);
    let n = dry.len().min(wet.len()).min(unassigned.len());
    let d = max_diff(&dry[..n], &wet[..n]);
    assert!(d > 0.01, "FX 1 on deck A changes the sound: {d}");
    let d = max_diff(&dry[..n], &unassigned[..n]);
    assert!(d < 1e-4, "FX 1 on no deck leaves it dry: {d}");
}

/// Recording in the plugin: the MIDI Record note (channel 16, note 43; the editor's Record
/// button calls the same) records the master output, as the host received it, into a WAV
/// in the session's record folder, through the lock-free tap (the debug bundle aborts on an
/// allocation in `process`). The take holds exactly the host's samples; the record folder
/// is saved in the session; the cue sheet names the track on air.
#[test]
fn record_note_writes_exactly_what_the_host_received() {
    let track = &tracks()[0];
    let dir = std::env::temp_dir().join(format!("segue-plugin-rec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut inst = lib().create(ID);
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][0]["track"] = Value::from(track.to_str().unwrap());
        s["record_dir"] = Value::from(dir.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    assert_eq!(
        session_of(&inst.save_state())["record_dir"],
        Value::from(dir.to_str().unwrap()),
        "the record folder is saved in the session"
    );
    assert!(inst.activate(48_000.0, 512));
    let mut p = inst.processor(512);
    run(&mut p, 512, 512, &[on("play_1", 0, true)]);
    until_audible(&mut p, 512);
    let note = |velocity| Event::Note {
        time: 0,
        channel: 15,
        key: 43,
        velocity,
    };
    // Every block the host receives from here on, at about real time.
    let mut host: Vec<[f32; 2]> = Vec::new();
    let mut block = |p: &mut Processor, events: &[Event]| {
        assert!(process_ok(p.process(512, events, None)));
        check_clean(&p.out, 512);
        host.extend((0..512).map(|i| [p.out[0][i], p.out[1][i]]));
        std::thread::sleep(Duration::from_millis(4));
    };
    let wav = || {
        std::fs::read_dir(&dir).ok().and_then(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "wav"))
        })
    };
    block(&mut p, &[note(1.0), note(0.0)]);
    let t0 = Instant::now();
    let path = loop {
        if let Some(w) = wav() {
            break w;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "no take started");
        block(&mut p, &[]);
    };
    let secs = 3.0;
    for _ in 0..(secs * 48_000.0 / 512.0) as usize {
        block(&mut p, &[]);
    }
    block(&mut p, &[note(1.0), note(0.0)]);
    for _ in 0..150 {
        block(&mut p, &[]);
    }
    let read = |p: &Path| -> Vec<[f32; 2]> {
        let mut r = hound::WavReader::open(p).unwrap();
        let v: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
        v.chunks(2).map(|c| [c[0], c[1]]).collect()
    };
    let take = read(&path);
    // Stopped: it does not grow any more (a running take checkpoints every 0.5 s).
    for _ in 0..150 {
        block(&mut p, &[]);
    }
    assert_eq!(read(&path).len(), take.len(), "the take did not stop");
    p.stop();
    inst.deactivate();
    assert!(
        take.len() as f64 >= (secs - 0.2) * 48_000.0,
        "{} frames recorded",
        take.len()
    );
    // Where the take starts in what the host received: its first loud frame.
    let probe = take
        .iter()
        .position(|f| f[0].abs() > 0.01)
        .expect("a loud take");
    let at = (probe..host.len())
        .find(|&j| {
            host[j] == take[probe]
                && host[j..]
                    .iter()
                    .take(512)
                    .eq(take[probe..].iter().take(512))
        })
        .expect("the take's audio is in the host's output");
    let offset = at - probe;
    assert!(offset + take.len() <= host.len());
    let same = take
        .iter()
        .zip(&host[offset..])
        .filter(|(a, b)| a == b)
        .count();
    assert_eq!(same, take.len(), "the take differs from the host's output");
    let cue = std::fs::read_to_string(path.with_extension("cue")).unwrap();
    assert!(cue.contains("TITLE \"plugin-124\""), "{cue}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_is_deterministic_across_runs() {
    let track = &tracks()[1];
    let a = play_through_host(48_000.0, track, 7, 0.5);
    let b = play_through_host(48_000.0, track, 7, 0.5);
    assert_eq!(max_diff(&a, &b), 0.0);
}

/// Process `n` frames in blocks of `block` on this thread, with `events` in the first block;
/// returns the master's peak.
fn run(proc: &mut clap_host::Processor, n: usize, block: usize, events: &[Event]) -> f32 {
    let mut peak = 0f32;
    let mut done = 0;
    let mut first = true;
    while done < n {
        let b = block.min(n - done);
        let ev: &[Event] = if first { events } else { &[] };
        first = false;
        assert!(process_ok(proc.process(b, ev, None)));
        check_clean(&proc.out, b);
        peak = proc.out[..2]
            .iter()
            .flat_map(|c| c[..b].iter())
            .fold(peak, |m, s| m.max(s.abs()));
        done += b;
    }
    peak
}

/// Process until the master is audible (the track has loaded), at most 60 s of wall time.
fn until_audible(proc: &mut clap_host::Processor, block: usize) {
    let start = Instant::now();
    while run(proc, block, block, &[]) == 0.0 {
        assert!(start.elapsed() < Duration::from_secs(60), "never audible");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn midi_notes_ccs_and_parameters_drive_the_decks() {
    let track = &tracks()[0];
    let mut inst = lib().create(ID);
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][0]["track"] = Value::from(track.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    assert!(inst.activate(48_000.0, 256));
    let mut p = inst.processor(256);
    let note = |key, vel| Event::Note {
        time: 10,
        channel: 0,
        key,
        velocity: vel,
    };
    // Play/pause note (default layout: 44 on deck A's channel 1).
    run(&mut p, 256, 256, &[note(44, 1.0), note(44, 0.0)]);
    until_audible(&mut p, 256);
    // CC 7 = deck A volume: down to 0 is silence.
    let cc = |value| Event::Cc {
        time: 0,
        channel: 0,
        cc: 7,
        value,
    };
    run(&mut p, 4800, 256, &[cc(0)]);
    assert_eq!(run(&mut p, 2400, 256, &[]), 0.0, "CC 7 = 0 silences deck A");
    // A parameter change wins again.
    let vol = Event::Param {
        time: 0,
        id: param_hash("vol_1"),
        value: 0.8,
    };
    run(&mut p, 4800, 256, &[vol]);
    assert!(run(&mut p, 2400, 256, &[]) > 0.01, "vol_1 = 0.8 is audible");
    // Pause with the note; then an empty hot cue pad (notes 36-43: pads 1-8) sets a cue at
    // the playhead. The track's analysis puts its cues on the first pads when it lands
    // (none set yet), and a set pad jumps instead: wait for it, then take a free pad.
    run(&mut p, 4800, 256, &[note(44, 1.0), note(44, 0.0)]);
    assert_eq!(run(&mut p, 2400, 256, &[]), 0.0, "paused");
    let start = Instant::now();
    let free = loop {
        run(&mut p, 256, 256, &[]);
        let s = session_of(&inst.save_state());
        let cues = &s["decks"][0]["hot_cues"];
        let set = |i: usize| cues[i].as_f64().is_some();
        if (0..8).any(set) {
            break (0..8).find(|&i| !set(i)).expect("a free hot cue pad");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the analysis never placed its cues"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let pad = 36 + free as u8;
    run(&mut p, 256, 256, &[note(pad, 1.0), note(pad, 0.0)]);
    // The control thread copies the engine's cues into the session.
    let start = Instant::now();
    let cue = loop {
        run(&mut p, 256, 256, &[]);
        let s = session_of(&inst.save_state());
        if let Some(t) = s["decks"][0]["hot_cues"][free].as_f64() {
            break t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "hot cue not saved"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        cue > 0.0,
        "hot cue at the paused playhead, not the start: {cue}"
    );
    // The play parameter starts it again; bypass fades the output out.
    run(&mut p, 256, 256, &[on("play_1", 0, false)]);
    run(&mut p, 256, 256, &[on("play_1", 0, true)]);
    assert!(run(&mut p, 4800, 256, &[]) > 0.01);
    run(&mut p, 4800, 256, &[on("bypass", 0, true)]);
    assert_eq!(run(&mut p, 2400, 256, &[]), 0.0, "bypassed");
    p.stop();
}

#[test]
fn host_transport_starts_and_stops_the_decks() {
    let track = &tracks()[1];
    let mut inst = lib().create(ID);
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][0]["track"] = Value::from(track.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    assert!(inst.activate(48_000.0, 512));
    let mut p = inst.processor(512);
    let mut beats = 0.0;
    let mut block = |p: &mut clap_host::Processor, playing: bool, ev: &[Event]| {
        let t = Transport {
            tempo: 126.0,
            playing,
            beats,
        };
        assert!(process_ok(p.process(512, ev, Some(t))));
        check_clean(&p.out, 512);
        if playing {
            beats += 512.0 / 48_000.0 * 126.0 / 60.0;
        }
        p.out[0][..512].iter().fold(0f32, |m, s| m.max(s.abs()))
    };
    // Play is on but the transport is stopped: silent, however long the track has been there.
    block(&mut p, false, &[on("play_1", 0, true)]);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        assert_eq!(block(&mut p, false, &[]), 0.0, "transport stopped: silent");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The transport starts: the deck plays.
    let mut peak = 0f32;
    for _ in 0..200 {
        peak = peak.max(block(&mut p, true, &[]));
    }
    assert!(peak > 0.05, "transport playing: deck plays ({peak})");
    // It stops: silence after the 2 ms fade.
    block(&mut p, false, &[]);
    for _ in 0..20 {
        assert_eq!(block(&mut p, false, &[]), 0.0, "transport stopped again");
    }
    p.stop();
}

#[test]
fn state_round_trips_tracks_cues_mapping_and_parameters() {
    let track = &tracks()[0];
    let mut a = lib().create(ID);
    let state = with_session(&a.save_state(), |s| {
        s["decks"][1]["track"] = Value::from(track.to_str().unwrap());
        s["decks"][1]["hot_cues"][2] = Value::from(3.5);
        s["browse_dir"] = Value::from("/music/sets");
        s["midi"]["notes"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"channel": 9, "note": 60, "deck": 3, "action": "play", "learned": false}));
    });
    assert!(a.load_state(&state));
    assert!(a.activate(48_000.0, 512));
    let mut p = a.processor(512);
    let events = [
        Event::Param {
            time: 0,
            id: param_hash("xfader"),
            value: 0.25,
        },
        Event::Param {
            time: 100,
            id: param_hash("tempo_2"),
            value: 0.75,
        },
    ];
    run(&mut p, 512, 512, &events);
    // Let the track load and its saved cue reach the engine and come back.
    std::thread::sleep(Duration::from_millis(500));
    run(&mut p, 512, 512, &[]);
    p.stop();
    let saved = a.save_state();
    let session = session_of(&saved);
    assert_eq!(session["version"], 2);
    assert_eq!(session["decks"][1]["track"], track.to_str().unwrap());
    assert_eq!(session["decks"][1]["hot_cues"][2].as_f64(), Some(3.5));
    assert_eq!(session["browse_dir"], "/music/sets", "the browser's folder");
    assert!(session["midi"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["channel"] == 9 && n["note"] == 60));

    let mut b = lib().create(ID);
    assert!(b.load_state(&saved));
    assert!((b.param_value(param_hash("xfader")).unwrap() - 0.25).abs() < 1e-6);
    assert!((b.param_value(param_hash("tempo_2")).unwrap() - 0.75).abs() < 1e-6);
    assert!(b.activate(48_000.0, 512));
    let again = b.save_state();
    let (x, y) = (state_json(&saved), state_json(&again));
    assert_eq!(x["params"], y["params"]);
    assert_eq!(session, session_of(&again));
}

#[test]
fn bad_state_is_reported_and_never_fatal() {
    let mut inst = lib().create(ID);
    // Garbage is rejected.
    assert!(!inst.load_state(b"\x00\x01 not a state"));
    // A missing track: the deck reports it, the plugin runs silent.
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][0]["track"] = Value::from("/nonexistent/track.flac");
    });
    assert!(inst.load_state(&state));
    assert!(inst.activate(48_000.0, 512));
    let mut p = inst.processor(512);
    run(&mut p, 512, 512, &[on("play_1", 0, true)]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(run(&mut p, 48_000, 512, &[]), 0.0);
    // A session from a newer build is not applied.
    let future = with_session(&inst.save_state(), |s| {
        s["version"] = Value::from(99);
    });
    assert!(inst.load_state(&future));
    run(&mut p, 512, 512, &[]);
    let s = session_of(&inst.save_state());
    assert_eq!(s["decks"][0]["track"], Value::Null);
    // A corrupt audio file is an error on its deck, not a crash.
    let bad = std::env::temp_dir().join(format!("segue-plugin-bad-{}.wav", std::process::id()));
    std::fs::write(&bad, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").unwrap();
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][2]["track"] = Value::from(bad.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(run(&mut p, 4800, 512, &[on("play_3", 0, true)]), 0.0);
    p.stop();
}

#[test]
fn sample_rate_change_reloads_the_track() {
    let track = &tracks()[0];
    let mut inst = lib().create(ID);
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][0]["track"] = Value::from(track.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    for rate in [48_000.0, 96_000.0, 44_100.0] {
        assert!(inst.activate(rate, 1024));
        let mut p = inst.processor(1024);
        run(&mut p, 1024, 1024, &[on("play_1", 0, true)]);
        until_audible(&mut p, 1024);
        p.stop();
        inst.deactivate();
    }
    // Rates the engine does not run at are refused, not crashed on.
    for rate in [8_000.0, 22_049.0, 384_001.0, 768_000.0, f64::NAN] {
        assert!(!inst.activate(rate, 512), "{rate} Hz accepted");
    }
}

/// Hosts run at 22.05, 176.4, 192 kHz and at rates that are not whole numbers: the plugin
/// activates at any rate from 22 050 to 384 000 Hz and sounds exactly like the engine at
/// that rate (a fractional host rate runs the engine at the nearest whole rate).
#[test]
fn activates_and_plays_at_odd_host_rates() {
    let track = &tracks()[0];
    for host_rate in [22_050.0f64, 45_678.9, 176_400.0, 192_000.0, 384_000.0] {
        let rate = host_rate.round() as u32;
        let got = play_through_host(host_rate, track, rate as u64, 0.5);
        let want = render_offline(rate, track, 0.5);
        let diff = max_diff(&got, &want);
        assert!(
            diff < 1e-4,
            "{host_rate} Hz: the plugin's output differs from the engine's by {diff}"
        );
        let peak = got.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05, "{host_rate} Hz: too quiet ({peak})");
    }
}

/// A track loaded into an instance running at an odd host rate is decoded and analysed:
/// its analysed hot cues arrive, in seconds, the same as an instance at 192 kHz finds for
/// it (from the library the first one filled). The file itself is at 32 kHz, so the deck
/// resamples 32 000 → 45 679 Hz.
#[test]
fn loads_and_analyses_a_track_at_odd_host_rates() {
    let dir = std::env::temp_dir().join(format!("segue-plugin-odd-{}", std::process::id()));
    let spec = DemoSpec::new(
        "plugin-odd-rate",
        126.0,
        Key {
            tonic: 2,
            mode: Mode::Minor,
        },
        Style::FourOnFloor,
    )
    .sections(&[(SectionLabel::Intro, 2), (SectionLabel::Drop, 2)]);
    let track = demo::write_track(&dir, &demo::synthesize(&spec, 32_000)).unwrap();
    let mut seen = Vec::new();
    for host_rate in [45_678.9f64, 192_000.0] {
        let mut inst = lib().create(ID);
        assert!(inst.activate(host_rate, 512));
        let state = with_session(&inst.save_state(), |s| {
            s["decks"][1]["track"] = Value::from(track.to_str().unwrap());
        });
        assert!(inst.load_state(&state));
        let mut p = inst.processor(512);
        let t0 = Instant::now();
        let cues = loop {
            run(&mut p, 4096, 512, &[]);
            std::thread::sleep(Duration::from_millis(20));
            let session = session_of(&inst.save_state());
            let cues: Vec<Option<f64>> = (0..8)
                .map(|k| session["decks"][1]["hot_cues"][k].as_f64())
                .collect();
            if cues.iter().any(Option::is_some) {
                break cues;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{host_rate} Hz: no analysed hot cues after 60 s"
            );
        };
        p.stop();
        inst.deactivate();
        seen.push(cues);
    }
    assert_eq!(seen[0].len(), seen[1].len());
    for (a, b) in seen[0].iter().zip(&seen[1]) {
        match (a, b) {
            (Some(x), Some(y)) => assert!((x - y).abs() < 1e-3, "{x} s vs {y} s"),
            (None, None) => {}
            other => panic!("hot cues differ between the rates: {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// With nothing playing the plugin answers CLAP's "continue if not quiet" with silent
/// outputs, so a host may put it to sleep; while a deck plays (even through silence) it
/// asks to be kept running, and once the deck has stopped and faded it may sleep again.
#[test]
fn idle_plugin_lets_the_host_sleep_and_a_playing_deck_keeps_it_awake() {
    use clap_sys::process::{CLAP_PROCESS_CONTINUE, CLAP_PROCESS_CONTINUE_IF_NOT_QUIET};
    let track = &tracks()[0];
    let mut inst = lib().create(ID);
    assert!(inst.activate(48_000.0, 512));
    let mut p = inst.processor(512);
    let silent = |p: &Processor| p.out.iter().all(|c| c[..512].iter().all(|&s| s == 0.0));
    for _ in 0..20 {
        assert_eq!(
            p.process(512, &[], None),
            CLAP_PROCESS_CONTINUE_IF_NOT_QUIET
        );
        assert!(silent(&p));
    }
    let state = with_session(&inst.save_state(), |s| {
        s["decks"][0]["track"] = Value::from(track.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    // Play: from the block the deck starts in, the plugin must be kept awake.
    let mut status = p.process(512, &[on("play_1", 0, true)], None);
    let t0 = Instant::now();
    while silent(&p) {
        assert!(t0.elapsed() < Duration::from_secs(60), "never played");
        std::thread::sleep(Duration::from_millis(2));
        status = p.process(512, &[], None);
    }
    assert_eq!(status, CLAP_PROCESS_CONTINUE);
    for _ in 0..50 {
        assert_eq!(p.process(512, &[], None), CLAP_PROCESS_CONTINUE);
    }
    // Stop: the fade-out still sounds (awake), then silence and "continue if not quiet".
    let mut status = p.process(512, &[on("play_1", 0, false)], None);
    let mut blocks = 0;
    while status != CLAP_PROCESS_CONTINUE_IF_NOT_QUIET {
        blocks += 1;
        assert!(blocks < 200, "still awake {blocks} blocks after stop");
        status = p.process(512, &[], None);
    }
    assert!(silent(&p), "asked to sleep with sound on the outputs");
    p.stop();
}

#[test]
fn create_and_destroy_100_times() {
    for i in 0..100 {
        let mut inst = lib().create(ID);
        if i % 10 == 0 {
            assert!(inst.activate(48_000.0, 64));
            let mut p = inst.processor(64);
            run(&mut p, 640, 64, &[]);
            p.stop();
        }
        drop(inst);
    }
}

#[test]
fn vst3_bundle_loads_and_processes() {
    let dir = clap_host::bundle(false);
    let so = dir.join("Segue.vst3/Contents/x86_64-linux/Segue.so");
    assert!(so.is_file(), "standard VST3 bundle layout: {so:?}");
    let copy = std::env::temp_dir().join(format!("segue-vst3-{}.so", std::process::id()));
    std::fs::copy(&so, &copy).unwrap();
    let report = vst3_host::load_and_process(&copy, 48_000.0, 512, 20);
    let _ = std::fs::remove_file(&copy);
    assert_eq!(report.class_name, "Segue");
    assert!(report.blocks == 20 && report.finite);
}

/// The editor, rendered under a virtual X server and saved as a PNG
/// (`target/plugin-editor.png`; also to `$SEGUE_EDITOR_PNG` when set, e.g.
/// `SEGUE_EDITOR_PNG=docs/plugin-editor.png`). Without `$DISPLAY` the test reruns itself
/// under `xvfb-run` (Debian's `xvfb` + `xauth`, installed by `scripts/setup.sh`).
#[test]
fn editor_renders_headless_to_png() {
    if rerun_under_xvfb("editor_renders_headless_to_png") {
        return;
    }
    let display = clap_host::screen::Display::open().expect("open $DISPLAY with libX11");
    let paths = editor_tracks();
    let tracks_dir = paths[0].parent().unwrap().to_path_buf();
    let mut inst = lib().create(ID);
    // Two more tracks in the plugin's library (not on a deck): the suggestions list shows
    // them for the deck on air.
    let extra = std::env::temp_dir().join(format!("segue-plugin-library-{}", std::process::id()));
    for spec in [&demo::demo_set()[0], &demo::demo_set()[5]] {
        demo::write_track(&extra, &demo::synthesize(spec, 44_100)).unwrap();
    }
    let add = std::process::Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("library")
        .arg("--db")
        .arg(std::env::var_os("SEGUE_LIBRARY").unwrap())
        .arg("add")
        .arg(&extra)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let state = with_session(&inst.save_state(), |s| {
        for (d, p) in paths.iter().enumerate() {
            s["decks"][d]["track"] = Value::from(p.to_str().unwrap());
        }
        // The browser opens in the tracks' folder (saved in the session).
        s["browse_dir"] = Value::from(paths[0].parent().unwrap().to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    assert!(inst.activate(48_000.0, 512));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut p = inst.processor(512);
    std::thread::scope(|s| {
        let audio = s.spawn(|| {
            // Decks A and C play; seek them a little in so the playheads are visible.
            let events = [
                on("play_1", 0, true),
                on("play_3", 0, true),
                Event::Param {
                    time: 0,
                    id: param_hash("xfader"),
                    value: 0.3,
                },
            ];
            let mut first = true;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let ev: &[Event] = if first { &events } else { &[] };
                first = false;
                assert!(process_ok(p.process(512, ev, None)));
                std::thread::sleep(Duration::from_millis(5));
            }
            p.stop();
        });
        // Wait for every deck's analysis: its cues reach the engine and the saved session.
        let start = Instant::now();
        loop {
            inst.idle();
            let s = session_of(&inst.save_state());
            let ready = (0..paths.len()).all(|d| {
                s["decks"][d]["hot_cues"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|v| !v.is_null()))
            });
            if ready {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "analyses did not finish"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The suggestion thread follows the deck on air (every 200 ms).
        std::thread::sleep(Duration::from_millis(1500));
        let (w, h) = inst.open_gui(display.root());
        assert!(w >= 1280 && h >= 720, "editor size {w}x{h}");
        for _ in 0..60 {
            inst.idle();
            std::thread::sleep(Duration::from_millis(25));
        }
        // The layout at the default size, and at 1280x720, the smallest size the editor
        // allows (resized like a host does); checked once the audio thread stopped.
        let layout = wait_layout(&inst, (w, h), "library.row.0");
        let rgb = display.capture(w, h);
        let resized = inst.set_gui_size(1280, 720);
        let small = wait_layout(&inst, if resized { (1280, 720) } else { (w, h) }, "learn");
        for _ in 0..20 {
            inst.idle();
            std::thread::sleep(Duration::from_millis(25));
        }
        let rgb_small = display.capture(1280, 720);
        std::fs::create_dir_all(clap_host::repo_root().join("target")).unwrap();
        clap_host::screen::write_png(
            &clap_host::repo_root().join("target/plugin-editor-1280x720.png"),
            1280,
            720,
            &rgb_small,
        );
        inst.close_gui();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        audio.join().unwrap();
        let out = clap_host::repo_root().join("target/plugin-editor.png");
        clap_host::screen::write_png(&out, w, h, &rgb);
        if let Some(extra) = std::env::var_os("SEGUE_EDITOR_PNG") {
            clap_host::screen::write_png(Path::new(&extra), w, h, &rgb);
        }
        // The editor drew: many distinct colours (waveforms, sections, cues), not a blank.
        let mut colours: Vec<[u8; 3]> = rgb.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
        colours.sort();
        colours.dedup();
        assert!(
            colours.len() > 100,
            "only {} colours: blank editor?",
            colours.len()
        );
        // Every control inside the window, none over another, at both sizes.
        assert!(resized, "the editor refused 1280x720");
        for l in [&layout, &small] {
            l.check_has(EDITOR_WIDGETS);
            l.check_inside_and_apart();
        }
        eprintln!(
            "editor {w}x{h}: {} widgets; 1280x720: {} widgets, all inside and apart",
            layout.widgets.len(),
            small.widgets.len()
        );
    });
    // Four demo tracks with their stems and the two library tracks: about 650 MB that need
    // not stay in /tmp.
    let _ = std::fs::remove_dir_all(&tracks_dir);
    let _ = std::fs::remove_dir_all(&extra);
}

/// Files dragged from "a file manager" (an XDND 5 source in the test, under Xvfb) onto the
/// real editor window: the drop goes through baseview's X11 XDND code, the vendored
/// egui-baseview patch and the editor, and the track is loaded on a deck (the session
/// names it). A text file dropped the same way loads nothing.
#[test]
fn editor_accepts_files_dropped_over_xdnd() {
    if rerun_under_xvfb("editor_accepts_files_dropped_over_xdnd") {
        return;
    }
    let display = clap_host::screen::Display::open().expect("open $DISPLAY with libX11");
    let track = &tracks()[0];
    let text = std::env::temp_dir().join(format!("segue-drop-{}.txt", std::process::id()));
    std::fs::write(&text, b"not audio").unwrap();
    let mut inst = lib().create(ID);
    assert!(inst.activate(48_000.0, 512));
    let before = display.xdnd_targets();
    let (w, h) = inst.open_gui(display.root());
    let tracks_now = |inst: &clap_host::Instance| -> Vec<Value> {
        let s = session_of(&inst.save_state());
        (0..4).map(|d| s["decks"][d]["track"].clone()).collect()
    };
    // The editor's window, once it is up (XdndAware set by baseview).
    let start = Instant::now();
    let target = loop {
        inst.idle();
        let now = display.xdnd_targets();
        if let Some(&t) = now.iter().find(|t| !before.contains(t)) {
            break t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no XdndAware editor window"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let it draw a few frames (deck rects are known after the first).
    for _ in 0..20 {
        inst.idle();
        std::thread::sleep(Duration::from_millis(25));
    }
    let at = (w as i32 / 2, h as i32 - 40);
    let ok = display
        .xdnd_drop(target, at, &[&text], Duration::from_secs(20))
        .expect("drop the text file");
    assert!(ok, "the editor did not accept a file drop");
    for _ in 0..20 {
        inst.idle();
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(
        tracks_now(&inst).iter().all(Value::is_null),
        "a text file was loaded: {:?}",
        tracks_now(&inst)
    );
    let ok = display
        .xdnd_drop(target, at, &[track], Duration::from_secs(20))
        .expect("drop the track");
    assert!(ok, "the editor did not accept the track");
    let start = Instant::now();
    let deck = loop {
        inst.idle();
        let t = tracks_now(&inst);
        if let Some(d) = t.iter().position(|v| v == track.to_str().unwrap()) {
            break d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the dropped track reached no deck: {t:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    eprintln!("dropped at {at:?} in a {w}x{h} editor: loaded on deck {deck}");
    assert_eq!(
        tracks_now(&inst).iter().filter(|v| !v.is_null()).count(),
        1,
        "one file, one deck"
    );
    inst.close_gui();
}

/// The browser in the real editor, driven by synthetic X pointer and key events under Xvfb:
/// it opens in the session's folder (an empty `sub/` beside the test tracks); keys do
/// nothing before the list has the focus; a click on its ".. (parent folder)" row opens the
/// tracks' folder (highlighting `sub/`, and giving the list the keyboard); ↓ Enter loads the
/// first track on deck A; Backspace opens the parent, which the session then remembers.
#[test]
fn editor_browser_loads_a_track_by_mouse_and_keyboard() {
    if rerun_under_xvfb("editor_browser_loads_a_track_by_mouse_and_keyboard") {
        return;
    }
    use clap_host::screen::keycode;
    let display = clap_host::screen::Display::open().expect("open $DISPLAY with libX11");
    // The folder holds the two test tracks (plugin-124.wav first) and their stem files.
    let first = &tracks()[0];
    let folder = first.parent().unwrap();
    let sub = folder.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let mut inst = lib().create(ID);
    let state = with_session(&inst.save_state(), |s| {
        s["browse_dir"] = Value::from(sub.to_str().unwrap());
    });
    assert!(inst.load_state(&state));
    assert!(inst.activate(48_000.0, 512));
    let before = display.xdnd_targets();
    let size = inst.open_gui(display.root());
    let start = Instant::now();
    let window = loop {
        inst.idle();
        if let Some(&t) = display.xdnd_targets().iter().find(|t| !before.contains(t)) {
            break t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no editor window"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let settle = |inst: &clap_host::Instance| {
        for _ in 0..10 {
            inst.idle();
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    settle(&inst);
    // Not focused yet: Backspace is the host's, the browser stays in sub/.
    display.tap_key(window, keycode::BACKSPACE);
    settle(&inst);
    let s = session_of(&inst.save_state());
    assert_eq!(
        s["browse_dir"],
        sub.to_str().unwrap(),
        "keys acted without focus"
    );
    // The first row, where the editor laid it out.
    let row = wait_layout(&inst, size, "browser.row.0").centre("browser.row.0");
    display.click(window, row);
    let start = Instant::now();
    loop {
        settle(&inst);
        let s = session_of(&inst.save_state());
        if s["browse_dir"] == folder.to_str().unwrap() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "clicking the parent row did not open {folder:?}: {}",
            s["browse_dir"]
        );
    }
    // Entries: parent, sub/ (highlighted: we came from there), plugin-124.wav, ...
    display.tap_key(window, keycode::DOWN);
    display.tap_key(window, keycode::ENTER);
    let start = Instant::now();
    loop {
        settle(&inst);
        let s = session_of(&inst.save_state());
        if s["decks"][0]["track"] == first.to_str().unwrap() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the browser did not load {first:?} on deck A: {s}"
        );
    }
    display.tap_key(window, keycode::BACKSPACE);
    let start = Instant::now();
    loop {
        settle(&inst);
        let s = session_of(&inst.save_state());
        if s["browse_dir"] == folder.parent().unwrap().to_str().unwrap() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Backspace did not open the parent folder: {}",
            s["browse_dir"]
        );
    }
    inst.close_gui();
}

/// MIDI learn in the real editor (under Xvfb): "MIDI learn", a click on deck A's volume
/// fader, then a CC the default layout leaves free (channel 3, CC 50) reaches the plugin:
/// it is bound, saved in the session (version 2, marked learned), and after the state is
/// restored into a new instance that CC drives deck A's volume (0: silence, 127: sound) in
/// `process` (the debug bundle aborts on an allocation there). A version-1 session (no
/// learned flags) still loads.
#[test]
fn editor_midi_learn_binding_survives_save_and_restore() {
    if rerun_under_xvfb("editor_midi_learn_binding_survives_save_and_restore") {
        return;
    }
    let display = clap_host::screen::Display::open().expect("open $DISPLAY with libX11");
    let track = &tracks()[0];
    let mut a = lib().create(ID);
    let state = with_session(&a.save_state(), |s| {
        s["decks"][0]["track"] = Value::from(track.to_str().unwrap());
    });
    assert!(a.load_state(&state));
    assert!(a.activate(48_000.0, 256));
    let mut p = a.processor(256);
    let before = display.xdnd_targets();
    let size = a.open_gui(display.root());
    let start = Instant::now();
    let window = loop {
        a.idle();
        if let Some(&t) = display.xdnd_targets().iter().find(|t| !before.contains(t)) {
            break t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no editor window"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let layout = wait_layout(&a, size, "mixer.A.volume");
    display.click(window, layout.centre("learn"));
    for _ in 0..10 {
        a.idle();
        std::thread::sleep(Duration::from_millis(25));
    }
    // Learn mode adds a hint line under the top row: the controls moved down.
    let layout = wait_layout(&a, size, "mixer.A.volume");
    display.click(window, layout.centre("mixer.A.volume"));
    let cc = |value| Event::Cc {
        time: 0,
        channel: 2,
        cc: 50,
        value,
    };
    let learned = |s: &Value| {
        s["midi"]["ccs"].as_array().unwrap().iter().any(|b| {
            b["channel"] == 2
                && b["cc"] == 50
                && b["deck"] == 0
                && b["control"] == "volume"
                && b["learned"] == true
        })
    };
    let start = Instant::now();
    loop {
        a.idle();
        run(&mut p, 256, 256, &[cc(100)]);
        if learned(&session_of(&a.save_state())) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "CC 50 on channel 3 was not learned: {}",
            session_of(&a.save_state())["midi"]["ccs"]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    a.close_gui();
    p.stop();
    let saved = a.save_state();
    let session = session_of(&saved);
    assert_eq!(session["version"], 2);
    drop(p);
    drop(a);

    let mut b = lib().create(ID);
    assert!(b.load_state(&saved));
    assert!(learned(&session_of(&b.save_state())));
    assert!(b.activate(48_000.0, 256));
    let mut p = b.processor(256);
    run(&mut p, 256, 256, &[on("play_1", 0, true)]);
    until_audible(&mut p, 256);
    run(&mut p, 4800, 256, &[cc(0)]);
    assert_eq!(
        run(&mut p, 2400, 256, &[]),
        0.0,
        "the learned CC at 0 silences deck A"
    );
    run(&mut p, 4800, 256, &[cc(127)]);
    assert!(
        run(&mut p, 2400, 256, &[]) > 0.01,
        "the learned CC at 127 opens deck A again"
    );
    p.stop();

    // The same session as a version-1 document (before MIDI learn) still loads.
    let old = with_session(&saved, |s| {
        s["version"] = Value::from(1);
        for list in ["notes", "ccs"] {
            for binding in s["midi"][list].as_array_mut().unwrap() {
                binding.as_object_mut().unwrap().remove("learned");
            }
        }
    });
    let c = lib().create(ID);
    assert!(c.load_state(&old));
    let s = session_of(&c.save_state());
    assert_eq!(s["version"], 2);
    assert_eq!(s["decks"][0]["track"], track.to_str().unwrap());
    assert!(
        s["midi"]["ccs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["channel"] == 2 && b["cc"] == 50 && b["learned"] == false),
        "the version-1 binding, not marked learned"
    );
}

/// Controls the editor must lay out (inside the window, apart) at every size it allows.
const EDITOR_WIDGETS: &[&str] = &[
    "pair.A/B",
    "pair.C/D",
    "host_sync",
    "learn",
    "learn.reset",
    "record",
    "record.folder",
    "wave.A",
    "wave.B",
    "deck.A.file",
    "deck.A.load",
    "deck.A.play",
    "deck.A.sync",
    "deck.A.key lock",
    "deck.A.tempo",
    "deck.A.cue1",
    "deck.B.cue8",
    "deck.A.drums",
    "deck.B.vocals",
    "mixer.A.trim",
    "mixer.A.high",
    "mixer.A.mid",
    "mixer.A.low",
    "mixer.A.filter",
    "mixer.B.filter",
    "mixer.B.volume",
    "mixer.xfader",
    "mixer.master",
    "fx1.on",
    "fx1.D",
    "fx1.mix",
    "fx1.slot1.effect",
    "fx2.slot3.knob3",
    "fx2.slot3.beats",
    "browser.target.D",
    "browser.up",
    "browser.refresh",
    "browser.row.0",
    "library.sort",
    "library.desc",
    "library.refresh",
    "library.bpm_min",
    "library.bpm_max",
    "library.key",
    "library.energy_min",
    "library.energy_max",
    "library.text",
    "library.row.0",
    "autodj",
    "suggest.0",
];

/// Rerun test `name` under `xvfb-run` when there is no `$DISPLAY` (true: it ran there),
/// with the debug editor writing its widget rectangles to a file (`SEGUE_EDITOR_RECTS`).
fn rerun_under_xvfb(name: &str) -> bool {
    if std::env::var_os("DISPLAY").is_some() {
        return false;
    }
    let rects = std::env::temp_dir().join(format!(
        "segue-editor-rects-{name}-{}.txt",
        std::process::id()
    ));
    let status = std::process::Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1920x1200x24"])
        .arg(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture"])
        .env("SEGUE_BUNDLED_DIR", clap_host::bundle(false))
        .env("SEGUE_EDITOR_RECTS", &rects)
        .status()
        .expect("xvfb-run (apt-get install xvfb xauth) to run the editor headless");
    let _ = std::fs::remove_file(&rects);
    assert!(status.success(), "{name} failed under xvfb-run");
    true
}

/// The widget rectangles of one editor frame, as the debug editor wrote them.
struct Layout {
    window: (f32, f32),
    widgets: Vec<(String, [f32; 4])>,
}

impl Layout {
    /// The last frame written to `$SEGUE_EDITOR_RECTS` (None before the first).
    fn read() -> Option<Layout> {
        let text = std::fs::read_to_string(std::env::var_os("SEGUE_EDITOR_RECTS")?).ok()?;
        let mut lines = text.lines();
        let head: Vec<f32> = lines
            .next()?
            .strip_prefix("window ")?
            .split(' ')
            .map(|v| v.parse().unwrap())
            .collect();
        let widgets = lines
            .map(|l| {
                // Names may hold spaces ("deck.A.key lock"): the last four fields are numbers.
                let mut f: Vec<&str> = l.rsplitn(5, ' ').collect();
                f.reverse();
                let n = |i: usize| f[i].parse::<f32>().unwrap();
                (f[0].to_string(), [n(1), n(2), n(3), n(4)])
            })
            .collect();
        Some(Layout {
            window: (head[0], head[1]),
            widgets,
        })
    }

    fn get(&self, name: &str) -> Option<[f32; 4]> {
        self.widgets.iter().find(|w| w.0 == name).map(|w| w.1)
    }

    /// The centre of widget `name`, in window pixels (the X server's scale is 1).
    fn centre(&self, name: &str) -> (i32, i32) {
        let r = self
            .get(name)
            .unwrap_or_else(|| panic!("no widget {name} in the layout"));
        (((r[0] + r[2]) / 2.0) as i32, ((r[1] + r[3]) / 2.0) as i32)
    }

    /// Every widget lies inside the window, and no two overlap (a panel that clipped
    /// another's controls would make them overlap).
    fn check_inside_and_apart(&self) {
        let (w, h) = self.window;
        for (name, r) in &self.widgets {
            assert!(
                r[0] >= -0.5 && r[1] >= -0.5 && r[2] <= w + 0.5 && r[3] <= h + 0.5,
                "{name} at {r:?} is outside the {w}x{h} window"
            );
        }
        for (i, (a, ra)) in self.widgets.iter().enumerate() {
            for (b, rb) in &self.widgets[i + 1..] {
                let apart = ra[2] <= rb[0] + 0.5
                    || rb[2] <= ra[0] + 0.5
                    || ra[3] <= rb[1] + 0.5
                    || rb[3] <= ra[1] + 0.5;
                assert!(
                    apart,
                    "{a} {ra:?} overlaps {b} {rb:?} in the {w}x{h} window"
                );
            }
        }
    }

    fn check_has(&self, names: &[&str]) {
        let missing: Vec<_> = names.iter().filter(|n| self.get(n).is_none()).collect();
        assert!(
            missing.is_empty(),
            "not laid out at {:?}: {missing:?}",
            self.window
        );
    }
}

/// Wait (idling the host) until the editor laid out a frame in a `size` window with the
/// widget `name` in it.
fn wait_layout(inst: &clap_host::Instance, size: (u32, u32), name: &str) -> Layout {
    let start = Instant::now();
    loop {
        inst.idle();
        if let Some(l) = Layout::read() {
            if l.window == (size.0 as f32, size.1 as f32) && l.get(name).is_some() {
                return l;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no editor frame at {size:?} with {name}: {:?}",
            Layout::read().map(|l| (l.window, l.widgets.len()))
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Four demo tracks for the editor screenshot (full demo-set tracks: sections and cues).
fn editor_tracks() -> Vec<PathBuf> {
    let dir = std::env::temp_dir().join(format!("segue-plugin-editor-{}", std::process::id()));
    demo::demo_set()[1..5]
        .iter()
        .map(|s| demo::write_track(&dir, &demo::synthesize(s, 44_100)).unwrap())
        .collect()
}

/// The plugin and `segue serve` are two shells over one deck service (issue 11): a check
/// written once against [`Shell`] runs against both.
trait Shell {
    /// Which shell, for messages.
    fn name(&self) -> &'static str;
    /// Load `track` onto `deck` (0-based) the way a user of this shell does.
    fn load(&mut self, deck: usize, track: &Path);
    /// The deck's hot cues in seconds as the shell reports them (the plugin: its saved
    /// session; the daemon: `/segue/query/cues/{n}`), letting time pass.
    fn hot_cues(&mut self, deck: usize) -> [Option<f64>; 8];
}

/// The plugin in the CLAP host: tracks are loaded through its session (what a DAW project
/// or the editor's browser sets), time passes by processing blocks.
struct PluginShell {
    inst: clap_host::Instance,
    proc: Option<Processor>,
}

impl PluginShell {
    fn new() -> Self {
        let mut inst = lib().create(ID);
        assert!(inst.activate(48_000.0, 512));
        let proc = Some(inst.processor(512));
        Self { inst, proc }
    }
}

impl Shell for PluginShell {
    fn name(&self) -> &'static str {
        "plugin"
    }

    fn load(&mut self, deck: usize, track: &Path) {
        let state = with_session(&self.inst.save_state(), |s| {
            s["decks"][deck]["track"] = Value::from(track.to_str().unwrap());
        });
        assert!(self.inst.load_state(&state));
    }

    fn hot_cues(&mut self, deck: usize) -> [Option<f64>; 8] {
        if let Some(p) = self.proc.as_mut() {
            for _ in 0..10 {
                run(p, 512, 512, &[]);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
        let session = session_of(&self.inst.save_state());
        let mut cues = [None; 8];
        for (k, c) in cues.iter_mut().enumerate() {
            *c = session["decks"][deck]["hot_cues"][k].as_f64();
        }
        cues
    }
}

impl Drop for PluginShell {
    fn drop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop();
        }
    }
}

/// `segue serve` with the null backend, driven over OSC on loopback.
struct DaemonShell {
    child: std::process::Child,
    sock: std::net::UdpSocket,
    osc: std::net::SocketAddr,
    log: PathBuf,
}

impl DaemonShell {
    fn start(library: &Path, music: &Path) -> Self {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("segue-shells-{port}.log"));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_segue"))
            .arg("serve")
            .args(["--osc-bind", &format!("127.0.0.1:{port}")])
            .arg("--library")
            .arg(library)
            .arg("--music-root")
            .arg(music)
            .args(["--backend", "null", "--decks", "2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("segue serve starts");
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let d = Self {
            child,
            sock,
            osc: format!("127.0.0.1:{port}").parse().unwrap(),
            log,
        };
        let t0 = Instant::now();
        while d.ask("/segue/ping", "/segue/pong").is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no pong: {}",
                std::fs::read_to_string(&d.log).unwrap_or_default()
            );
        }
        d
    }

    fn send(&self, addr: &str, args: Vec<rosc::OscType>) {
        let p = rosc::OscPacket::Message(rosc::OscMessage {
            addr: addr.into(),
            args,
        });
        self.sock
            .send_to(&rosc::encoder::encode(&p).unwrap(), self.osc)
            .unwrap();
    }

    /// Send `addr` and wait up to 200 ms for a message `reply`.
    fn ask(&self, addr: &str, reply: &str) -> Option<Vec<rosc::OscType>> {
        self.send(addr, vec![]);
        let mut buf = [0u8; 65536];
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(200) {
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else {
                continue;
            };
            if let Ok((_, rosc::OscPacket::Message(m))) = rosc::decoder::decode_udp(&buf[..n]) {
                if m.addr == reply {
                    return Some(m.args);
                }
            }
        }
        None
    }
}

impl Shell for DaemonShell {
    fn name(&self) -> &'static str {
        "daemon"
    }

    fn load(&mut self, deck: usize, track: &Path) {
        self.send(
            &format!("/segue/deck/{}/load", deck + 1),
            vec![rosc::OscType::String(track.to_str().unwrap().into())],
        );
    }

    fn hot_cues(&mut self, deck: usize) -> [Option<f64>; 8] {
        std::thread::sleep(Duration::from_millis(50));
        let n = deck + 1;
        let Some(args) = self.ask(
            &format!("/segue/query/cues/{n}"),
            &format!("/segue/deck/{n}/cues"),
        ) else {
            return [None; 8];
        };
        let mut cues = [None; 8];
        for (k, c) in cues.iter_mut().enumerate() {
            if let Some(rosc::OscType::Float(s)) = args.get(k + 1) {
                *c = (*s >= 0.0).then_some(*s as f64);
            }
        }
        cues
    }
}

impl Drop for DaemonShell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until the shell reports analysed hot cues on `deck`.
fn analysed_cues(shell: &mut dyn Shell, deck: usize) -> [Option<f64>; 8] {
    let t0 = Instant::now();
    loop {
        let cues = shell.hot_cues(deck);
        if cues.iter().any(Option::is_some) {
            return cues;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{}: no hot cues on deck {deck} after 60 s",
            shell.name()
        );
    }
}

#[test]
fn both_shells_load_and_analyse_through_one_deck_service() {
    let track = &tracks()[1];
    // The daemon uses the plugin's library file, so the second shell takes the analysis
    // from the library instead of analysing again — the cache both shells share.
    lib(); // sets SEGUE_LIBRARY for the plugin
    let library = PathBuf::from(std::env::var_os("SEGUE_LIBRARY").unwrap());
    let mut shells: Vec<Box<dyn Shell>> = vec![
        Box::new(PluginShell::new()),
        Box::new(DaemonShell::start(&library, track.parent().unwrap())),
    ];
    let mut seen = Vec::new();
    for shell in shells.iter_mut() {
        shell.load(1, track);
        let cues = analysed_cues(shell.as_mut(), 1);
        // Analysed hot cues are placed in order, at or after the track's start.
        let set: Vec<f64> = cues.iter().flatten().copied().collect();
        assert!(
            set.windows(2).all(|w| w[0] < w[1]),
            "{}: {cues:?}",
            shell.name()
        );
        assert!(set.iter().all(|&s| s >= 0.0), "{}: {cues:?}", shell.name());
        seen.push((shell.name(), cues));
    }
    let (a, b) = (&seen[0], &seen[1]);
    for k in 0..8 {
        match (a.1[k], b.1[k]) {
            (Some(x), Some(y)) => assert!(
                (x - y).abs() < 1e-3,
                "hot cue {k}: {} {x} s, {} {y} s",
                a.0,
                b.0
            ),
            (None, None) => {}
            other => panic!("hot cue {k} differs between the shells: {other:?}"),
        }
    }
}
