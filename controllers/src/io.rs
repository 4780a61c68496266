//! MIDI ports through `midir`. On Linux Segue builds midir with its JACK backend: the
//! ports are those of the running JACK server (there is no ALSA sequencer on the headless
//! machines Segue targets; `a2jmidid` bridges ALSA hardware into JACK). Every function
//! here returns an [`IoError`] when no JACK server runs; none of them starts one.

use midir::os::unix::{VirtualInput, VirtualOutput};
use midir::{Ignore, MidiIO, MidiInput, MidiInputConnection, MidiOutput, MidiOutputConnection};

/// Why a MIDI port could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The MIDI system could not be opened (no JACK server running).
    #[error("cannot open the MIDI system (is a JACK server running? e.g. `jackd -d dummy`): {0}")]
    NoMidiSystem(String),
    /// No port matches the name given.
    #[error("no MIDI {direction} port matches `{wanted}`; available: {}", if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    NoSuchPort {
        /// "input" or "output".
        direction: &'static str,
        /// The name asked for.
        wanted: String,
        /// The ports there are.
        available: Vec<String>,
    },
    /// The port exists but could not be connected.
    #[error("cannot connect MIDI port `{port}`: {reason}")]
    Connect {
        /// The port.
        port: String,
        /// Why.
        reason: String,
    },
    /// Sending failed.
    #[error("cannot send MIDI: {0}")]
    Send(String),
}

/// MIDI ports visible now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ports {
    /// Ports Segue can read from (a controller's outputs).
    pub inputs: Vec<String>,
    /// Ports Segue can write to (a controller's inputs, for LEDs).
    pub outputs: Vec<String>,
}

fn names<T: MidiIO>(io: &T) -> Vec<String> {
    io.ports()
        .iter()
        .filter_map(|p| io.port_name(p).ok())
        .collect()
}

/// List the MIDI ports.
pub fn list(client: &str) -> Result<Ports, IoError> {
    let i = MidiInput::new(client).map_err(|e| IoError::NoMidiSystem(e.to_string()))?;
    let o = MidiOutput::new(client).map_err(|e| IoError::NoMidiSystem(e.to_string()))?;
    Ok(Ports {
        inputs: names(&i),
        outputs: names(&o),
    })
}

/// The port whose name equals `wanted`, else the only one containing it
/// (case-insensitive), else the first port when `wanted` is `None`.
fn pick<T: MidiIO>(
    io: &T,
    wanted: Option<&str>,
    direction: &'static str,
) -> Result<(T::Port, String), IoError> {
    let ports = io.ports();
    let named: Vec<(T::Port, String)> = ports
        .iter()
        .filter_map(|p| io.port_name(p).ok().map(|n| (p.clone(), n)))
        .collect();
    let found = match wanted {
        None => named.first().cloned(),
        Some(w) => named.iter().find(|(_, n)| n == w).cloned().or_else(|| {
            let lw = w.to_lowercase();
            let hits: Vec<_> = named
                .iter()
                .filter(|(_, n)| n.to_lowercase().contains(&lw))
                .collect();
            (hits.len() == 1).then(|| hits[0].clone())
        }),
    };
    found.ok_or_else(|| IoError::NoSuchPort {
        direction,
        wanted: wanted.unwrap_or("(any)").to_string(),
        available: named.into_iter().map(|(_, n)| n).collect(),
    })
}

/// An open MIDI input; messages go to the callback given at opening (on midir's thread)
/// until this is dropped.
pub struct Input {
    _conn: MidiInputConnection<()>,
    /// The port connected to (or created).
    pub port: String,
}

impl Input {
    /// Connect to an existing port (`None`: the first one). The callback gets midir's
    /// timestamp (µs) and the message bytes; every message kind is delivered (clock and
    /// sysex included).
    pub fn open<F>(client: &str, port: Option<&str>, mut callback: F) -> Result<Input, IoError>
    where
        F: FnMut(u64, &[u8]) + Send + 'static,
    {
        let mut io = MidiInput::new(client).map_err(|e| IoError::NoMidiSystem(e.to_string()))?;
        io.ignore(Ignore::None);
        let (p, name) = pick(&io, port, "input")?;
        let conn = io
            .connect(&p, "in", move |t, m, _| callback(t, m), ())
            .map_err(|e| IoError::Connect {
                port: name.clone(),
                reason: e.to_string(),
            })?;
        Ok(Input {
            _conn: conn,
            port: name,
        })
    }

    /// Create a port of our own named `port_name` that others connect to.
    pub fn create<F>(client: &str, port_name: &str, mut callback: F) -> Result<Input, IoError>
    where
        F: FnMut(u64, &[u8]) + Send + 'static,
    {
        let mut io = MidiInput::new(client).map_err(|e| IoError::NoMidiSystem(e.to_string()))?;
        io.ignore(Ignore::None);
        let conn = io
            .create_virtual(port_name, move |t, m, _| callback(t, m), ())
            .map_err(|e| IoError::Connect {
                port: port_name.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Input {
            _conn: conn,
            port: port_name.to_string(),
        })
    }
}

/// An open MIDI output.
pub struct Output {
    conn: MidiOutputConnection,
    /// The port connected to (or created).
    pub port: String,
}

impl Output {
    /// Connect to an existing port (`None`: the first one).
    pub fn open(client: &str, port: Option<&str>) -> Result<Output, IoError> {
        let io = MidiOutput::new(client).map_err(|e| IoError::NoMidiSystem(e.to_string()))?;
        let (p, name) = pick(&io, port, "output")?;
        let conn = io.connect(&p, "out").map_err(|e| IoError::Connect {
            port: name.clone(),
            reason: e.to_string(),
        })?;
        Ok(Output { conn, port: name })
    }

    /// Create a port of our own named `port_name` that others connect to.
    pub fn create(client: &str, port_name: &str) -> Result<Output, IoError> {
        let io = MidiOutput::new(client).map_err(|e| IoError::NoMidiSystem(e.to_string()))?;
        let conn = io.create_virtual(port_name).map_err(|e| IoError::Connect {
            port: port_name.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Output {
            conn,
            port: port_name.to_string(),
        })
    }

    /// Send one message.
    pub fn send(&mut self, msg: &[u8]) -> Result<(), IoError> {
        self.conn
            .send(msg)
            .map_err(|e| IoError::Send(e.to_string()))
    }
}
