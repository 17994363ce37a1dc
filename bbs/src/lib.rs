//! The BBS: its data model on Kafka topics, the views built by consuming them, the record
//! policy (a pure function; the server installs it into the broker through the `bbs-host`
//! crate, the in-process backend runs it directly), and the classic command language
//! (parser, formatter, session and interpreter) over a [`backend::Backend`]. This crate
//! does not link the broker: the client binary is built from it.

pub mod atomic_file;
pub mod backend;
pub mod classic;
pub mod codec;
pub mod command;
pub mod dirs;
pub mod driver;
pub mod error;
pub mod interp;
pub mod model;
pub mod names;
pub mod policy;
pub mod prefs;
pub mod search;
pub mod session;
pub mod text_wrap;
pub mod time;
pub mod tui;
pub mod unread;
pub mod view;

pub use error::{Error, Failure, Result};
