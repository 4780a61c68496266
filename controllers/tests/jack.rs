//! A controller over real JACK MIDI driving a real engine: the test starts its own
//! `jackd -d dummy` (unique name), sends note/CC from a JACK MIDI port into the
//! controllers crate's midir input, applies the mapping's commands to an engine, and reads
//! the LED feedback back from another JACK MIDI port. Skipped, with a message, where
//! `jackd` is not installed (CI installs it: `scripts/setup.sh`).

use std::process::{Child, Command as Process, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use segue_controllers::io::{self, Input, Output};
use segue_controllers::{Controller, Mapping};
use segue_engine::{Command, Engine, EngineConfig, TrackAudio};

struct Jack(Child);

impl Drop for Jack {
    /// SIGTERM, so that jackd leaves JACK's server registry (a killed server's entry stays
    /// and JACK allows only a few); SIGKILL only if it does not go.
    fn drop(&mut self) {
        let _ = Process::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_jack() -> Option<Jack> {
    let name = format!("segue-ctl-test-{}", std::process::id());
    let child = match Process::new("jackd")
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
    std::env::set_var("JACK_DEFAULT_SERVER", &name);
    std::env::set_var("JACK_NO_START_SERVER", "1");
    let mut jack = Jack(child);
    let t0 = Instant::now();
    while io::list("probe").is_err() {
        if let Ok(Some(st)) = jack.0.try_wait() {
            panic!("jackd -n {name} exited at start ({st}); is JACK's server registry full?");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "jackd -n {name} did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(jack)
}

fn recv_n(rx: &mpsc::Receiver<Vec<u8>>, n: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(m) => got.push(m),
            Err(_) => panic!("received {} of {n} messages: {got:02X?}", got.len()),
        }
    }
    got
}

#[test]
fn faders_and_buttons_over_jack_midi_drive_the_engine_and_light_leds() {
    let Some(_jack) = start_jack() else { return };
    // Segue's side: a MIDI input port, and the controller's LED output.
    let (tx, rx) = mpsc::channel();
    let _input = Input::create("segue", "controller-in", move |_, m| {
        let _ = tx.send(m.to_vec());
    })
    .unwrap();
    // The "hardware": sends into Segue's port, receives LEDs on its own port.
    let mut hw = Output::open("hardware", Some("segue:controller-in")).unwrap();
    let (led_tx, led_rx) = mpsc::channel();
    let _hw_in = Input::create("hardware-leds", "leds", move |_, m| {
        let _ = led_tx.send(m.to_vec());
    })
    .unwrap();
    let mut leds = Output::open("segue-feedback", Some("hardware-leds:leds")).unwrap();

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/example.toml");
    let mut controller = Controller::new(Mapping::load(path).unwrap(), 4);
    let mut parts = Engine::new(EngineConfig::default()).unwrap();
    let tone: Vec<[f32; 2]> = (0..48_000 * 4)
        .map(|i| {
            let s = (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5;
            [s, s]
        })
        .collect();
    parts
        .handle
        .send(Command::Load {
            deck: 0,
            audio: Arc::new(TrackAudio::new(48_000, tone)),
        })
        .unwrap();
    parts.render_offline(1024, 256, |_, _| {});

    // Deck 1 channel fader down (CC 0x13, channel 1), crossfader to B (CC 0x1F), play
    // (note 0x0B): sent over JACK, received by midir, mapped, applied by the engine.
    for m in [
        [0xB0, 0x13, 0x00],
        [0xB0, 0x1F, 0x7F],
        [0x90, 0x0B, 0x7F],
        [0x80, 0x0B, 0x00],
    ] {
        hw.send(&m).unwrap();
    }
    let got = recv_n(&rx, 4);
    assert_eq!(got[0], vec![0xB0, 0x13, 0x00]);
    let mut commands = Vec::new();
    for m in &got {
        let status = parts.handle.status();
        controller.handle(m, &status, &mut commands);
    }
    assert_eq!(
        commands,
        vec![
            Command::Volume {
                deck: 0,
                level: 0.0
            },
            Command::Crossfader { position: 1.0 },
            Command::Play { deck: 0, on: true },
        ]
    );
    for c in commands.drain(..) {
        parts.handle.send(c).unwrap();
    }
    parts.render_offline(4800, 256, |_, _| {});
    let status = parts.handle.status();
    assert_eq!(status.decks[0].volume, 0.0);
    assert_eq!(status.crossfader, 1.0);
    assert!(status.decks[0].playing);

    // LED feedback back over JACK: the play LED of deck 1 lights (note 0x0B, 0x7F).
    let mut fb = Vec::new();
    controller.feedback(&status, &mut fb);
    assert!(fb.contains(&[0x90, 0x0B, 0x7F]), "{fb:02X?}");
    for m in &fb {
        leds.send(m).unwrap();
    }
    let lit = recv_n(&led_rx, fb.len());
    assert!(lit.contains(&vec![0x90, 0x0B, 0x7F]));
    // Nothing changed: no new feedback.
    fb.clear();
    controller.feedback(&parts.handle.status(), &mut fb);
    assert!(
        fb.iter().all(|m| m[1] == 0x02 || m[1] == 0x03),
        "only meters move: {fb:02X?}"
    );

    // A port that is not there: a clear error naming it and listing what there is.
    let e = Output::open("segue-err", Some("no-such-port"))
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains("no MIDI output port matches `no-such-port`; available:"),
        "{msg}"
    );
    assert!(msg.contains("hardware-leds:leds"), "{msg}");
}
