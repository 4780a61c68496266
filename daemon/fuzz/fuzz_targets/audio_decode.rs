//! Any bytes as an audio file (written to a temporary file with each extension Segue reads,
//! since the decoder works on paths): audio or a typed error naming the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir();
    for ext in ["wav", "flac", "mp3", "ogg", "m4a"] {
        let path = dir.join(format!("segue-fuzz-{}.{ext}", std::process::id()));
        std::fs::write(&path, data).unwrap();
        if let Err(e) = segue_decode::decode_file_native(&path) {
            assert!(e.to_string().contains(path.to_str().unwrap()));
        }
    }
});
