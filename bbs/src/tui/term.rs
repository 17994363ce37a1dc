//! The terminal loop: sets the terminal up (ratatui's init, which also restores it on a
//! panic), starts the worker, and then alternates between polling the terminal (briefly,
//! [`INPUT_POLL`]) and taking the worker's replies, redrawing only when something changed.
//! The UI thread reads the terminal itself (no input thread: one thread fewer per client)
//! and never waits on the network. Effects are carried out here: requests to the worker,
//! the bell, `$EDITOR` (the terminal is simply not polled meanwhile), saving local state.

use std::io::{self, Write};
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::DefaultTerminal;

use super::app::{App, Effect};
use super::config::Config;
use super::local::LocalStore;
use super::msg::Reply;
use super::{view, worker};
use crate::backend::Backend;

/// What the client needs to run.
pub struct Options {
    /// Where the BBS is.
    pub backend: Arc<dyn Backend>,
    /// `HOST:PORT` (or `demo`) for the status bar.
    pub server: String,
    /// The configuration.
    pub config: Config,
    /// Local state file.
    pub local: LocalStore,
    /// A line under the login form (demo credentials).
    pub login_hint: Option<String>,
}

/// What the UI loop handles.
enum UiEvent {
    /// From the terminal.
    Term(Event),
    /// From the worker.
    Reply(Reply),
}

/// How long one wait for terminal input lasts: also how late a worker reply may be drawn.
const INPUT_POLL: Duration = Duration::from_millis(15);

/// Waits up to [`INPUT_POLL`] for terminal input, then collects every terminal event and
/// worker reply already there. `None` when the terminal or the worker is gone.
fn next_events(rx: &Receiver<Reply>) -> Option<Vec<UiEvent>> {
    let mut out = Vec::new();
    let mut wait = INPUT_POLL;
    loop {
        match rx.try_recv() {
            Ok(r) => {
                out.push(UiEvent::Reply(r));
                wait = Duration::ZERO;
                continue;
            }
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        match event::poll(wait) {
            Ok(true) => out.push(UiEvent::Term(event::read().ok()?)),
            Ok(false) => return Some(out),
            Err(_) => return None,
        }
        wait = Duration::ZERO;
    }
}

/// Runs the TUI until the user quits.
pub fn run(opts: Options) -> io::Result<()> {
    let mut app = App::new(&opts.config, opts.local.load(), &opts.server);
    app.login.hint = opts.login_hint.clone();
    let mut terminal = ratatui::try_init()?;
    let mouse = app.settings.mouse;
    let _ = execute!(io::stdout(), EnableBracketedPaste);
    if mouse {
        let _ = execute!(io::stdout(), EnableMouseCapture);
    }
    let result = event_loop(&mut terminal, &mut app, &opts);
    app.stash_draft();
    if let Err(e) = opts.local.save(&app.local) {
        tracing::warn!(error = %e, "local state not saved");
    }
    if mouse {
        let _ = execute!(io::stdout(), DisableMouseCapture);
    }
    let _ = execute!(io::stdout(), DisableBracketedPaste);
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut DefaultTerminal, app: &mut App, opts: &Options) -> io::Result<()> {
    let (reply_tx, rx) = channel::<Reply>();
    let worker = worker::spawn(
        opts.backend.clone(),
        Box::new(move |r| {
            let _ = reply_tx.send(r);
        }),
    );
    let size = terminal.size()?;
    app.resize(size.width, size.height);
    let mut dirty = true;
    let mut saved_draft: Option<Vec<String>> = None;
    let tick = Duration::from_millis(500);
    let mut last_tick = Instant::now();
    let result = loop {
        if dirty {
            terminal.draw(|f| view::draw(f, app))?;
            dirty = false;
        }
        let Some(events) = next_events(&rx) else {
            break Ok(());
        };
        let mut effects = Vec::new();
        // Handle everything already queued before drawing once.
        for ev in events {
            dirty = true;
            match ev {
                UiEvent::Term(Event::Key(k)) => effects.extend(app.on_key(k)),
                UiEvent::Term(Event::Paste(s)) => app.on_paste(&s),
                UiEvent::Term(Event::Mouse(m)) => effects.extend(app.on_mouse(m)),
                UiEvent::Term(Event::Resize(w, h)) => app.resize(w, h),
                UiEvent::Term(_) => dirty = false,
                UiEvent::Reply(r) => effects.extend(app.on_reply(r)),
            }
        }
        if last_tick.elapsed() >= tick {
            last_tick = Instant::now();
            dirty |= app.tick(last_tick);
            let texts = app.composer.as_ref().map(|c| c.texts());
            if texts.is_some() && texts != saved_draft {
                app.stash_draft();
                effects.push(Effect::SaveLocal);
                saved_draft = texts;
            }
        }
        let mut quit = false;
        for fx in effects {
            match fx {
                Effect::Request(r) => worker.send(r),
                Effect::Bell => {
                    let mut out = io::stdout();
                    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                }
                Effect::SaveLocal => {
                    if let Err(e) = opts.local.save(&app.local) {
                        tracing::warn!(error = %e, "local state not saved");
                    }
                }
                Effect::Editor(text) => {
                    let edited = with_editor(terminal, &text);
                    app.editor_done(edited);
                    dirty = true;
                }
                Effect::Quit => quit = true,
            }
        }
        if quit {
            break Ok(());
        }
    };
    drop(worker);
    result
}

/// Runs `$VISUAL` / `$EDITOR` (default `vi`) on `text`; `None` if it failed.
fn with_editor(terminal: &mut DefaultTerminal, text: &str) -> Option<String> {
    let path = std::env::temp_dir().join(format!("bbs-draft-{}.txt", std::process::id()));
    let result = (|| {
        std::fs::write(&path, text).ok()?;
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen);
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&path)
            .status();
        let _ = execute!(io::stdout(), EnterAlternateScreen);
        let _ = enable_raw_mode();
        let _ = terminal.clear();
        match status {
            Ok(s) if s.success() => std::fs::read_to_string(&path).ok(),
            Ok(s) => {
                tracing::warn!(%s, "editor failed");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "editor did not start");
                None
            }
        }
    })();
    let _ = std::fs::remove_file(&path);
    result
}
