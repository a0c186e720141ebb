//! The fault room: what goes wrong on purpose — a power cut (the shutdown
//! ioctl, guarded), and the verifier that tells what survived it.

pub mod shutdown;
pub mod verify;
