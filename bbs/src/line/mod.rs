//! The line protocol: the classic command language as lines of text, over a TCP socket
//! (`nc`/telnet on the classic port) or stdin/stdout (`bbs-client` in line mode). Every
//! front end drives the same pieces, so a line from a socket travels:
//!
//! 1. [`classic`] accepts the connection (session limit, idle and write timeouts) and gives
//!    it a thread that calls [`driver::serve`]; line mode calls `serve` on stdin/stdout.
//! 2. [`driver`] opens a [`crate::session::Session`] on the backend, starts a reader
//!    thread that turns socket bytes into [`driver::Input`]s on one channel (together with
//!    the session's live post events), and handles them one at a time.
//! 3. [`interp`] takes the bytes (no I/O): it bounds the line buffer (a longer line is
//!    answered `Line too long.`), has the session catch up with others' writes, and hands
//!    each complete line to [`command::exec::run_line`].
//! 4. [`command`] parses the line into a [`command::Command`] ([`command::parse`]), runs
//!    it on the session (which checks and calls the backend), and formats the result as the
//!    exact output lines ([`command::format`]).
//! 5. Back in [`interp`], the reply gets its prompt; [`driver`] writes it to the socket as
//!    one unit, so a notification (rendered by [`interp`] on its own line, followed by the
//!    prompt and the partial input again) never lands inside a command's output.
//!
//! The [`crate::session`] API itself sits outside this module: the TUI and the server's
//! `admin` command drive it too.

pub mod classic;
pub mod command;
pub mod driver;
pub mod interp;
