//! Any bytes as the plugin's saved session (what a host hands back from a project file):
//! a session, applied or carrying its load error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = serde_json::from_slice::<segue_plugin::session::Session>(data) {
        let _ = serde_json::to_string(&s);
    }
});
