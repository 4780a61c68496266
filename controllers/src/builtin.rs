//! The controller mappings shipped with Segue (`controllers/mappings/*.toml`, compiled in):
//! `segue serve` picks one by the name of the MIDI port connected to its `midi_in`
//! ([`for_port`]: each mapping's `ports` patterns), and `--mapping builtin:NAME` names one.
//!
//! Each was made with `segue midi import-mixxx` from the Mixxx mapping of Debian's
//! `mixxx-data` and completed by hand for what Mixxx does in JavaScript (jog wheels, shift
//! layers, pad modes, LEDs); each file's header says what is mapped and what is not.

use crate::mapping::{Mapping, MappingError};

/// One shipped mapping: its file stem and its text.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// File stem, the name `builtin:NAME` takes (`pioneer-ddj-400`).
    pub name: &'static str,
    /// The TOML text.
    pub text: &'static str,
}

/// Every shipped mapping.
pub const BUILTIN: &[Builtin] = &[
    Builtin {
        name: "pioneer-ddj-400",
        text: include_str!("../mappings/pioneer-ddj-400.toml"),
    },
    Builtin {
        name: "hercules-inpulse-300",
        text: include_str!("../mappings/hercules-inpulse-300.toml"),
    },
    Builtin {
        name: "numark-mixtrack-pro-fx",
        text: include_str!("../mappings/numark-mixtrack-pro-fx.toml"),
    },
    Builtin {
        name: "denon-mc7000",
        text: include_str!("../mappings/denon-mc7000.toml"),
    },
];

impl Builtin {
    /// The parsed mapping.
    pub fn mapping(&self) -> Result<Mapping, MappingError> {
        Mapping::from_str(self.text)
            .map_err(|e| e.with_file(format!("builtin:{}", self.name).as_ref()))
    }
}

/// The shipped mapping called `name` (its file stem or its `name`, case-insensitive).
pub fn by_name(name: &str) -> Option<&'static Builtin> {
    BUILTIN.iter().find(|b| {
        b.name.eq_ignore_ascii_case(name)
            || b.mapping().is_ok_and(|m| m.name.eq_ignore_ascii_case(name))
    })
}

/// The shipped mapping for a MIDI port: the first whose `ports` patterns include one
/// that `port` contains (case-insensitive; a JACK port name such as
/// `a2j:DDJ-400 [20] (capture): DDJ-400 MIDI 1`, or one of its aliases).
pub fn for_port(port: &str) -> Option<&'static Builtin> {
    let port = port.to_lowercase();
    BUILTIN.iter().find(|b| {
        b.mapping().is_ok_and(|m| {
            m.ports
                .iter()
                .any(|p| !p.is_empty() && port.contains(&p.to_lowercase()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_names_its_ports_and_is_found_by_them() {
        for b in BUILTIN {
            let m = b.mapping().unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert!(!m.ports.is_empty(), "{} names no ports", b.name);
            assert!(
                !m.controls.is_empty() && !m.outputs.is_empty(),
                "{}",
                b.name
            );
            for p in &m.ports {
                let port = format!("a2j:{p} [20] (capture): {p} MIDI 1");
                assert_eq!(for_port(&port).map(|x| x.name), Some(b.name), "{port}");
            }
            assert_eq!(by_name(b.name).map(|x| x.name), Some(b.name));
            assert_eq!(by_name(&m.name).map(|x| x.name), Some(b.name));
        }
        assert!(for_port("system:midi_capture_1").is_none());
        assert!(by_name("no-such-controller").is_none());
    }
}
