//! Any text as the daemon's configuration file: a configuration or a syntax error, and a
//! parsed one validates to `Ok` or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = segue_daemon::Config::from_toml(&text) {
        if c.feed.is_empty() {
            // (A feed target would be resolved by DNS: not the parser.)
            let _ = c.validate();
        }
        let _ = c.allow_list();
    }
});
