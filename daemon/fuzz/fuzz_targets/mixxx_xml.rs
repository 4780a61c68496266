//! Any text as a Mixxx `.midi.xml` mapping: an import with a report, or a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = segue_controllers::mixxx::import(&String::from_utf8_lossy(data));
});
