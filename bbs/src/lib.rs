//! The BBS: its data model on Kafka topics, the views built by consuming them, the record
//! policy the server installs into the broker, and the classic command language (parser,
//! formatter, session and interpreter) over a [`backend::Backend`].

pub mod backend;
pub mod classic;
pub mod codec;
pub mod command;
pub mod driver;
pub mod error;
pub mod host;
pub mod interp;
pub mod model;
pub mod names;
pub mod policy;
pub mod prefs;
pub mod search;
pub mod session;
pub mod time;
pub mod tui;
pub mod view;

pub use error::{Error, Failure, Result};
