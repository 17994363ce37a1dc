//! The terminal UI (`bbs-client` on a terminal): a PTT-style board list → post list → post
//! view, with mail, subscriptions, notifications and online users, on ratatui + crossterm.
//!
//! Architecture (model / update / view, as in ratatui's examples and gitui):
//! - [`keymap`] is the one place where keys become [`action::Action`]s (defaults with vi and
//!   arrow keys, overrides from `bbs-client.toml`; the help overlay is generated from it);
//! - [`update`] and [`navigate`] change the [`app::App`] state and return
//!   [`app::Effect`]s; [`app`] also folds the worker's [`msg::Reply`]s in;
//! - [`view`] draws the state: pure functions, only visible rows ([`post_layout`] lays the
//!   post being read out as lines once per post and width);
//! - [`worker`] owns the [`crate::session::Session`] on its own thread and does every
//!   backend call, so the UI never blocks on the network; live records reach it through the
//!   link's record sink;
//! - [`term`] is the loop on a real terminal (the UI thread polls the terminal itself, so a
//!   logged-in TUI runs four threads: UI, worker, feed, the client's network thread);
//!   [`testing`] runs the same app on a `TestBackend` for screen tests and benchmarks.

pub mod action;
pub mod app;
pub mod boards;
pub mod compose;
pub mod config;
mod config_check;
pub mod demo;
pub mod editor;
pub mod keymap;
pub mod local;
pub mod moderate;
pub mod msg;
mod navigate;
pub mod post_layout;
pub mod posts;
pub mod scroll;
pub mod term;
pub mod testing;
pub mod theme;
mod update;
pub mod view;
pub mod worker;
mod worker_ops;

pub use app::App;
pub use config::Config;
pub use term::{run, Options};
