//! The BBS: its data model on Kafka topics ([`codec`], [`names`], [`model`]), the state
//! folded from them ([`state`]), the record policy ([`policy`], a pure function; the server
//! installs it into the broker through the `bbs-host` crate, the in-process backend runs it
//! directly), what a user can do ([`session`]) over a [`backend::Backend`], and the two front
//! ends that drive it: the line protocol ([`line`]: command language, interpreter, line
//! mode and the classic port) and the terminal UI ([`tui`]). This crate does not link the
//! broker: the client binary is built from it.

pub mod atomic_file;
pub mod backend;
pub mod codec;
pub mod dirs;
pub mod error;
pub mod line;
pub mod model;
pub mod names;
pub mod policy;
pub mod prefs;
pub mod search;
pub mod session;
pub mod state;
pub mod text_wrap;
pub mod time;
pub mod tui;
pub mod unread;

pub use error::{Error, Failure, Result};
