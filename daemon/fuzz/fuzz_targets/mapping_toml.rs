//! Any text as a controller mapping (TOML): a mapping or a typed error with a position.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = segue_controllers::Mapping::from_str(&text) {
        assert!(segue_controllers::Mapping::from_str(&m.to_toml()).is_ok());
    }
});
