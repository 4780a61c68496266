//! End to end over real JACK MIDI: the test starts its own `jackd -d dummy` (a unique
//! server name), opens a JACK MIDI output port, and drives `segue midi list`, `segue midi
//! monitor` and `segue midi learn` as child processes connected to it. Skipped, with a
//! message, where `jackd` is not installed (CI installs it: `scripts/setup.sh`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use segue_controllers::io::{self, Output};
use segue_controllers::{ControlType, Mapping, Target};

struct Jack {
    child: Child,
    name: String,
}

impl Drop for Jack {
    /// SIGTERM, so that jackd leaves JACK's server registry (a killed server's entry stays
    /// and JACK allows only a few); SIGKILL only if it does not go.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_jack() -> Option<Jack> {
    let name = format!("segue-midi-test-{}", std::process::id());
    let child = match Command::new("jackd")
        .args(["-n", &name, "-d", "dummy", "-r", "48000", "-p", "64"])
        .env("JACK_NO_AUDIO_RESERVATION", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPED: cannot start jackd ({e}); install jackd2 (scripts/setup.sh)");
            return None;
        }
    };
    // The test's own JACK clients (midir) and the children use this server.
    std::env::set_var("JACK_DEFAULT_SERVER", &name);
    std::env::set_var("JACK_NO_START_SERVER", "1");
    let mut jack = Jack { child, name };
    let t0 = Instant::now();
    while io::list("segue-test-probe").is_err() {
        if let Ok(Some(st)) = jack.child.try_wait() {
            panic!(
                "jackd -n {} exited at start ({st}); is JACK's server registry full?",
                jack.name
            );
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "jackd -n {} did not come up",
            jack.name
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(jack)
}

fn segue() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_segue"));
    c.env("JACK_NO_START_SERVER", "1");
    c
}

/// Lines of a child's pipe, on a channel.
fn lines<R: std::io::Read + Send + 'static>(r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        // Prompts end without a newline: split on ": " endings too.
        let mut byte = [0u8; 1];
        while let Ok(1) = std::io::Read::read(&mut r, &mut byte) {
            buf.push(byte[0]);
            if byte[0] == b'\n' || buf.ends_with(b": ") {
                let _ = tx.send(String::from_utf8_lossy(&buf).trim().to_string());
                buf.clear();
            }
        }
        if !buf.is_empty() {
            let _ = tx.send(String::from_utf8_lossy(&buf).trim().to_string());
        }
        let _ = r.fill_buf();
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<String>, what: &str, log: &mut Vec<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                log.push(l.clone());
                if l.contains(what) {
                    return l;
                }
            }
            Err(_) => panic!("no `{what}` from the child; it said:\n{}", log.join("\n")),
        }
    }
}

#[test]
fn midi_cli_over_jack_list_monitor_learn() {
    let Some(jack) = start_jack() else { return };
    let mut port = Output::create("segue-test", "controller").unwrap();
    let full = "segue-test:controller";

    // list shows our port among the inputs Segue can read.
    let out = segue().args(["midi", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(full), "{text}");

    // monitor: decodes what we send.
    let mut mon = segue()
        .args(["midi", "monitor", full, "--count", "4", "--timeout", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = lines(mon.stderr.take().unwrap());
    let mut log = Vec::new();
    wait_for(&err, "listening on", &mut log);
    for m in [
        [0x90, 0x0B, 0x7F],
        [0x80, 0x0B, 0x00],
        [0xB1, 0x13, 0x40],
        [0xE0, 0x00, 0x40],
    ] {
        port.send(&m).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = mon.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got.len(), 4, "{text}");
    assert!(
        got[0].starts_with("90 0B 7F")
            && got[0].contains("note on  ch1 note 0x0B (11) velocity 127"),
        "{}",
        got[0]
    );
    assert!(got[1].contains("note off ch1 note 0x0B"), "{}", got[1]);
    assert!(
        got[2].contains("cc       ch2 cc   0x13 (19) value 64"),
        "{}",
        got[2]
    );
    assert!(got[3].contains("pitch bend ch1 value 8192"), "{}", got[3]);

    // monitor with a mapping prints the engine commands too.
    let dir = std::env::temp_dir().join(format!("segue-midi-jack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let map = dir.join("m.toml");
    std::fs::write(
        &map,
        "[[control]]\ncc = 0x13\nchannel = 2\ntype = \"fader\"\ntarget = \"volume\"\ndeck = 2\n",
    )
    .unwrap();
    let mut mon = segue()
        .args([
            "midi",
            "monitor",
            "controller",
            "--count",
            "1",
            "--timeout",
            "20",
            "--mapping",
        ])
        .arg(&map)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = lines(mon.stderr.take().unwrap());
    wait_for(&err, "listening on", &mut log);
    port.send(&[0xB1, 0x13, 0x7F]).unwrap();
    let out = mon.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("→ Volume { deck: 1, level: 1.0 }"), "{text}");

    // learn: a fader and a button, answered on stdin.
    let learned = dir.join("learned.toml");
    let mut learn = segue()
        .args(["midi", "learn", "--port", full, "--out"])
        .arg(&learned)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = lines(learn.stderr.take().unwrap());
    let mut stdin = learn.stdin.take().unwrap();
    let mut say = |s: &str| {
        stdin.write_all(s.as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    let mut log = Vec::new();
    wait_for(&err, "Move a control", &mut log);
    for v in (0..=127).step_by(8) {
        port.send(&[0xB0, 0x13, v]).unwrap();
        std::thread::sleep(Duration::from_millis(3));
    }
    std::thread::sleep(Duration::from_millis(100));
    say("\n");
    wait_for(&err, "Target", &mut log);
    say("volume\n");
    wait_for(&err, "Deck", &mut log);
    say("1\n");
    wait_for(&err, "Move a control", &mut log);
    port.send(&[0x91, 0x0B, 0x7F]).unwrap();
    port.send(&[0x81, 0x0B, 0x00]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    say("\n");
    wait_for(&err, "Target", &mut log);
    say("play\n");
    wait_for(&err, "Deck", &mut log);
    say("2\n");
    wait_for(&err, "Move a control", &mut log);
    say("q\n");
    let out = learn.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", log.join("\n"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote 2 controls"));
    let m = Mapping::load(&learned).unwrap();
    assert_eq!(m.controls.len(), 2, "{m:?}");
    assert_eq!(m.controls[0].target, Target::Volume);
    assert_eq!(m.controls[0].deck, Some(0));
    assert_eq!(m.controls[0].midi, segue_controllers::Address::cc(0, 0x13));
    assert!(matches!(m.controls[0].kind, ControlType::Fader { .. }));
    assert_eq!(m.controls[1].target, Target::Play);
    assert_eq!(m.controls[1].deck, Some(1));
    assert_eq!(
        m.controls[1].midi,
        segue_controllers::Address::note(1, 0x0B)
    );
    assert_eq!(m.controls[1].kind, ControlType::Toggle);

    std::fs::remove_dir_all(&dir).unwrap();
    drop(port);
    drop(jack);
}
