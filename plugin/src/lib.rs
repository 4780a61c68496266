//! # segue-plugin
//!
//! The CLAP/VST3 shell (nice-plug, the maintained nih-plug fork) around `segue-engine` and
//! `segue-models`: parameters, host sync, state, editor. A thin shell: no mixing or analysis
//! logic of its own.
//!
//! Must never: allocate, lock or block in `process` (checked with nice-plug's
//! `assert_process_allocs` in debug builds and tests).
//!
//! Status: the foundation lays the crate out; the plugin itself is built by issue #6
//! (nice-plug is not yet a dependency, to keep the foundation's build lean). Nothing here is
//! presented as working yet.
