//! A blocking driver for the [`Interpreter`]: input bytes, end of input and live post
//! events arrive on one channel (so they are handled strictly one at a time and a
//! notification never lands inside a command's output), and each piece of output is
//! emitted as one unit. Line mode on stdin/stdout and thread-per-connection sockets use
//! [`serve`]; tests use [`run`] with their own sink to see units.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::interp::{Interpreter, NoticeStyle};
use crate::backend::Backend;
use crate::error::Result;
use crate::model::PostEvent;
use crate::session::Session;

/// What the interpreter loop waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Bytes typed or received.
    Data(Vec<u8>),
    /// The input ended.
    Eof,
    /// A new post somewhere.
    Event(PostEvent),
}

/// What a piece of output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// Banner and first prompt.
    Greeting,
    /// The output of input data (command replies and prompts).
    Reply,
    /// A notification (with the prompt re-printed).
    Notice,
}

/// Where output goes.
pub trait Sink {
    /// Emits one unit of output.
    fn emit(&mut self, kind: UnitKind, text: &str) -> io::Result<()>;
}

/// A sink that writes and flushes each unit.
pub struct WriteSink<W: Write>(pub W);

impl<W: Write> Sink for WriteSink<W> {
    fn emit(&mut self, _kind: UnitKind, text: &str) -> io::Result<()> {
        self.0.write_all(text.as_bytes())?;
        self.0.flush()
    }
}

/// Runs the loop until `exit`, end of input, or the channel closes.
pub fn run(interp: &mut Interpreter, rx: &Receiver<Input>, sink: &mut dyn Sink) -> io::Result<()> {
    sink.emit(UnitKind::Greeting, &interp.greeting())?;
    while let Ok(input) = rx.recv() {
        match input {
            Input::Data(d) => {
                let out = interp.feed(&d);
                if !out.is_empty() {
                    sink.emit(UnitKind::Reply, &out)?;
                }
            }
            Input::Eof => {
                let out = interp.finish();
                if !out.is_empty() {
                    sink.emit(UnitKind::Reply, &out)?;
                }
            }
            Input::Event(ev) => {
                if let Some(out) = interp.event(&ev) {
                    sink.emit(UnitKind::Notice, &out)?;
                }
            }
        }
        if interp.is_closed() {
            break;
        }
    }
    interp.finish();
    Ok(())
}

/// Reads `r` on a thread, forwarding chunks and then [`Input::Eof`].
pub fn spawn_reader<R: Read + Send + 'static>(mut r: R, tx: Sender<Input>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Input::Eof);
                    return;
                }
                Ok(n) => {
                    if tx.send(Input::Data(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

/// Opens a session on `backend` and runs it over `reader`/`writer` until it ends, showing
/// dates in `zone`.
pub fn serve<R, W>(
    backend: &dyn Backend,
    reader: R,
    writer: W,
    style: NoticeStyle,
    zone: crate::time::Zone,
) -> Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let mut session = Session::new(backend.connect()?);
    session.set_zone(zone);
    let events = tx.clone();
    session.set_event_sink(Arc::new(move |ev: &PostEvent| {
        let _ = events.send(Input::Event(ev.clone()));
    }));
    let mut interp = Interpreter::new(session, style);
    // The reader thread ends with its input; it is not joined so that `exit` returns at once.
    let _reader = spawn_reader(reader, tx);
    run(&mut interp, &rx, &mut WriteSink(writer))?;
    Ok(())
}
