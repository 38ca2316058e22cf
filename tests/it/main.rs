//! The integration tests, in one binary: a module per command, and the cross-cutting
//! `protocol`, `faults` and `hostile` modules. Helpers live in `support`.

#[macro_use]
mod support;

mod build;
mod config;
mod diff;
mod doctor;
mod faults;
mod hostile;
mod images;
mod index;
mod install;
mod local_store;
mod mirror;
mod protocol;
mod readme;
mod remote;
mod validate;
