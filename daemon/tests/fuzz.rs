//! Mutation fuzzing on stable Rust of the daemon's configuration file: a full configuration
//! (every table and list filled) is printed as TOML, mutated by a seeded proptest runner and
//! parsed, 10 000 cases per run (`SEGUE_FUZZ_CASES=N` for more, `SEGUE_FUZZ_SEED=S` for
//! another seed). Never a panic: a configuration or a syntax error; a parsed one validates
//! to `Ok` or a typed `DaemonError`, and prints back to TOML that parses to the same one.
//! (The OSC decoder's property tests live beside it in `src/osc/decode.rs`.)

use std::net::SocketAddr;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngSeed, TestCaseError, TestRunner};
use segue_daemon::{BackendKind, Config, DaemonError};

fn full_config() -> Config {
    let mut c = Config {
        backend: BackendKind::Jack,
        rate: 96_000,
        buffer: 128,
        decks: 4,
        osc_bind: SocketAddr::from(([0, 0, 0, 0], 9001)),
        allow: vec!["127.0.0.1".into(), "192.168.1.0/24".into(), "::1".into()],
        music_root: vec!["/music".into(), "/srv/tracks".into()],
        // No feed target: validating one resolves its host name (DNS), not a parser.
        push_ms: 50,
        worker_threads: 2,
        record_dir: Some("/tmp/rec".into()),
        record: Some("/tmp/rec/set.flac".into()),
        ..Config::default()
    };
    c.jack.connect_master = vec!["system:playback_1".into(), "system:playback_2".into()];
    c.jack.deck_outputs = true;
    c.midi.mapping = Some("controllers/mappings/example.toml".into());
    c
}

const TOKENS: &[&str] = &[
    "=",
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    ",",
    "\n",
    "#",
    "0x",
    "-1",
    "0",
    "4294967296",
    "99999999999999999999",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "true",
    "false",
    "\"jack\"",
    "\"alsa\"",
    "\"file\"",
    "\"null\"",
    "\"post\"",
    "22049",
    "384001",
    "8193",
    "\"300.1.1.1/99\"",
    "\"::/129\"",
    "\"[::1]:0\"",
    "\"x.wav\"",
    "rate",
    "buffer",
    "decks",
    "allow",
    "[jack]",
    "[midi]",
    "é",
    "\u{0}",
];

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, usize),
    Remove(usize, usize),
    Byte(usize, u8),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), any::<usize>()).prop_map(|(a, t)| Edit::Insert(a, t)),
        2 => (any::<usize>(), 1usize..30).prop_map(|(a, n)| Edit::Remove(a, n)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Edit::Byte(a, b)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn boundary(s: &str, mut at: usize) -> usize {
    at %= s.len() + 1;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    for e in edits {
        match *e {
            Edit::Insert(at, t) => {
                let at = boundary(&s, at);
                s.insert_str(at, TOKENS[t % TOKENS.len()]);
            }
            Edit::Remove(at, n) => {
                let a = boundary(&s, at);
                let b = boundary(&s, (a + n).min(s.len()));
                s.replace_range(a..b.max(a), "");
            }
            Edit::Byte(at, b) => {
                let mut bytes = s.into_bytes();
                if !bytes.is_empty() {
                    let n = bytes.len();
                    bytes[at % n] = b;
                }
                s = String::from_utf8_lossy(&bytes).into_owned();
            }
            Edit::SwapLines(i, j) => {
                let mut lines: Vec<&str> = s.split('\n').collect();
                let n = lines.len();
                lines.swap(i % n, j % n);
                s = lines.join("\n");
            }
        }
    }
    s
}

#[test]
fn mutated_config_files_parse_validate_or_give_a_typed_error() {
    let seed = full_config().to_toml();
    assert_eq!(Config::from_toml(&seed).unwrap(), full_config());
    let cases = std::env::var("SEGUE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rng = std::env::var("SEGUE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5e9e_c0f1);
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        rng_seed: RngSeed::Fixed(rng),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let counts = [(); 3].map(|_| std::cell::Cell::new(0usize));
    let result = runner.run(&proptest::collection::vec(edit(), 1..6), |edits| {
        let text = apply(&seed, &edits);
        let Ok(config) = Config::from_toml(&text) else {
            counts[0].set(counts[0].get() + 1);
            return Ok(());
        };
        match config.validate() {
            Ok(()) => {
                counts[2].set(counts[2].get() + 1);
                let again = Config::from_toml(&config.to_toml())
                    .map_err(|e| TestCaseError::fail(format!("printed config: {e}")))?;
                prop_assert_eq!(again, config);
            }
            Err(DaemonError::Config(_)) => counts[1].set(counts[1].get() + 1),
            Err(e) => return Err(TestCaseError::fail(format!("unexpected error: {e}"))),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let [syntax, invalid, valid] = counts.map(std::cell::Cell::into_inner);
    eprintln!("{syntax} syntax errors, {invalid} invalid values, {valid} valid configurations");
    assert!(syntax > 0 && invalid > 0 && valid > 0);
}
