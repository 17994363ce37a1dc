//! A harness that runs the real app — key map, update, worker thread, views — on ratatui's
//! `TestBackend`, for screen tests and benchmarks: feed keys, wait until the worker has
//! answered everything (a `Ping`/`Pong` round trip, repeated while replies cause new
//! requests), draw, and read the screen back as text.

use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Position;
use ratatui::Terminal;

use super::app::{App, Effect};
use super::config::Config;
use super::keymap::Key;
use super::local::LocalState;
use super::msg::{Reply, Request};
use super::view;
use super::worker::{self, WorkerHandle};
use crate::backend::Backend;

/// The app, its worker and a test terminal.
pub struct Harness {
    /// The app under test.
    pub app: App,
    /// The test terminal.
    pub terminal: Terminal<TestBackend>,
    /// The worker thread.
    worker: WorkerHandle,
    /// Replies from the worker.
    rx: Receiver<Reply>,
    /// Next ping number.
    ping: u64,
    /// Bells rung.
    pub bells: usize,
    /// The app asked to quit.
    pub quit: bool,
    /// What `$EDITOR` "returns" in tests (`None`: the editor fails).
    pub editor_result: Option<String>,
}

impl Harness {
    /// A harness with the default config on a `w`×`h` terminal.
    pub fn new(backend: Arc<dyn Backend>, w: u16, h: u16) -> Harness {
        Harness::with(backend, &Config::default(), LocalState::default(), w, h)
    }

    /// A harness with a given config and local state.
    pub fn with(
        backend: Arc<dyn Backend>,
        config: &Config,
        local: LocalState,
        w: u16,
        h: u16,
    ) -> Harness {
        let (tx, rx) = channel();
        let worker = worker::spawn(
            backend,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        let mut app = App::new(config, local, "test:9092");
        if config.ui.timezone == "local" {
            // Screens must not depend on the machine's zone: pin UTC unless a test
            // names a zone.
            app.settings.zone = crate::time::Zone::utc();
            app.reader.zone = crate::time::Zone::utc();
        }
        app.resize(w, h);
        let terminal = match Terminal::new(TestBackend::new(w, h)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        let mut h = Harness {
            app,
            terminal,
            worker,
            rx,
            ping: 0,
            bells: 0,
            quit: false,
            editor_result: None,
        };
        h.settle();
        h
    }

    fn run(&mut self, effects: Vec<Effect>) {
        for fx in effects {
            match fx {
                Effect::Request(r) => self.worker.send(r),
                Effect::Bell => self.bells += 1,
                Effect::Editor(_) => {
                    let r = self.editor_result.clone();
                    self.app.editor_done(r);
                }
                Effect::SaveLocal => {}
                Effect::Quit => self.quit = true,
            }
        }
    }

    /// Applies one reply (and carries out its effects).
    pub fn apply(&mut self, r: Reply) {
        let fx = self.app.on_reply(r);
        self.run(fx);
    }

    /// Waits until the worker has handled everything sent so far, including what its
    /// replies asked for.
    pub fn settle(&mut self) {
        for _ in 0..16 {
            self.ping += 1;
            let n = self.ping;
            self.worker.send(Request::Ping(n));
            let mut sent_more = false;
            loop {
                let Ok(r) = self.rx.recv_timeout(Duration::from_secs(10)) else {
                    return;
                };
                if r == Reply::Pong(n) {
                    break;
                }
                let fx = self.app.on_reply(r);
                sent_more |= fx.iter().any(|f| matches!(f, Effect::Request(_)));
                self.run(fx);
            }
            if !sent_more {
                return;
            }
        }
    }

    /// Waits (up to `timeout`) for a reply satisfying `pred` and applies it and everything
    /// before it; returns whether it came. No key is pressed.
    pub fn wait_for(&mut self, timeout: Duration, mut pred: impl FnMut(&Reply) -> bool) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(r) = self.rx.recv_timeout(left) else {
                return false;
            };
            let hit = pred(&r);
            self.apply(r);
            if hit {
                return true;
            }
        }
    }

    /// Presses a key given by name (`j`, `Enter`, `Ctrl-s`, `Alt-Enter`) and settles.
    pub fn key(&mut self, name: &str) {
        self.press(name);
        self.settle();
    }

    /// Presses a key without waiting for the worker.
    pub fn press(&mut self, name: &str) {
        let key = Key::parse(name).unwrap_or(Key::plain(KeyCode::Null));
        let fx = self.app.on_key(KeyEvent::new(key.code, key.mods));
        self.run(fx);
    }

    /// Presses keys in order.
    pub fn keys(&mut self, names: &[&str]) {
        for k in names {
            self.key(k);
        }
    }

    /// Types text, one key per character (`\n` as Enter).
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let ev = match c {
                '\n' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
                c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            };
            let fx = self.app.on_key(ev);
            self.run(fx);
        }
        self.settle();
    }

    /// Resizes the terminal.
    pub fn resize(&mut self, w: u16, h: u16) {
        self.terminal.backend_mut().resize(w, h);
        self.app.resize(w, h);
    }

    /// Draws a frame.
    pub fn draw(&mut self) {
        let app = &self.app;
        let _ = self.terminal.draw(|f| view::draw(f, app));
    }

    /// Draws and returns the screen as text: one line per row, trailing spaces trimmed.
    pub fn screen(&mut self) -> String {
        self.draw();
        let buf = self.terminal.backend().buffer();
        let w = usize::from(buf.area.width);
        let mut out = String::new();
        for row in buf.content.chunks(w.max(1)) {
            let mut line = String::new();
            let mut skip = 0usize;
            for c in row {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                line.push_str(c.symbol());
                skip = super::editor::str_width(c.symbol()).saturating_sub(1);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Where the terminal cursor is after the last draw (if a field has the focus): the
    /// position the view asked for, checked against what the terminal got.
    pub fn cursor(&mut self) -> Option<Position> {
        self.draw();
        let area = self.terminal.backend().buffer().area;
        let want = view::cursor_position(&self.app, area)?;
        let got = ratatui::backend::Backend::get_cursor_position(self.terminal.backend_mut()).ok();
        (got == Some(want)).then_some(want)
    }
}
