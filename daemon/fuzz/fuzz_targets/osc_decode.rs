//! Any datagram through the OSC decoder: it must never panic, and every datagram is either
//! understood or reported.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for decks in [1, 4, 8] {
        let d = segue_daemon::osc::decode(data, decks);
        assert!(
            !d.requests.is_empty() || !d.errors.is_empty() || data.starts_with(b"#bundle\0")
        );
    }
});
