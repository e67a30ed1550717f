//! Audio: probing uploads ([`probe`]), sealing them into a title ([`package`]), and the
//! publication manifest built from a title's tracks ([`publication`]).

pub mod package;
pub mod probe;
pub mod publication;
