//! OSC control: the pure decoder ([`decode`]) and the UDP server that applies what it
//! decodes (security checks, music roots, time tags, replies and state pushes).

pub mod decode;
pub(crate) mod server;

pub use decode::{
    addresses, addresses_markdown, decode, Address, DecodeError, Decoded, Request, Timed,
};
