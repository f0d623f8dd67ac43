//! Thin commands: each is one call into the core and an error conversion. One module per core
//! domain, mirroring the core's façade.

pub mod activities;
pub mod connections;
pub mod imports;
pub mod settings;
pub mod sync;
