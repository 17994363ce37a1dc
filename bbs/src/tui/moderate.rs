//! Moderation in the TUI: who may remove posts and comments (the board's creator or the
//! operator; anyone else is refused at once, with the server's words, before any
//! question), and picking the comment to remove on the post view (`x`, then `j`/`k`,
//! `Enter` asks to confirm, `Esc` leaves the pick). The server checks the right again.

use super::action::{Action, Context};
use super::app::{App, Effect, ToastKind};
use super::compose::{Prompt, PromptKind};
use super::keymap::Key;

/// The refusal for a non-moderator: the server's words (`Failure::NotModerator`).
pub const NOT_MODERATOR: &str = "Not the board moderator.";

/// The hint shown while a comment is being picked.
pub const PICK_HINT: &str = "Pick a comment: j/k, Enter removes, Esc cancels.";

impl App {
    /// Whether the logged-in user moderates `board` (its creator, or the operator). A
    /// board the client does not know yet is left to the server to decide.
    pub fn moderates(&self, board: &str) -> bool {
        let Some(me) = self.user.as_deref() else {
            return false;
        };
        me == crate::codec::OPERATOR || self.boards.by_name(board).is_none_or(|b| b.creator == me)
    }

    /// `x` on the post view: starts picking a comment (the first one), or says why not.
    pub(super) fn start_pick(&mut self) {
        let Some(p) = &self.reader.post else {
            return;
        };
        if !self.moderates(&p.board) {
            self.toast(ToastKind::Error, NOT_MODERATOR);
            return;
        }
        if p.comments.is_empty() {
            self.toast(ToastKind::Info, "No comments to remove.");
            return;
        }
        let h = self.page_height();
        self.reader.pick = Some(0);
        self.reader.pick_step(0, h);
        self.toast(ToastKind::Info, PICK_HINT);
    }

    /// Leaves the pick (and its hint).
    pub(super) fn end_pick(&mut self) {
        self.reader.pick = None;
        self.toasts.retain(|t| t.text != PICK_HINT);
    }

    /// A key while picking: move, confirm, or leave the pick.
    pub(super) fn pick_key(&mut self, key: Key) -> Vec<Effect> {
        let chain = [Context::Reader, Context::Nav, Context::Global];
        let h = self.page_height();
        let n = self.reader.post.as_ref().map_or(0, |p| p.comments.len()) as isize;
        match self.keymap.lookup(&chain, key) {
            Some(Action::Down) => self.reader.pick_step(1, h),
            Some(Action::Up) => self.reader.pick_step(-1, h),
            Some(Action::PageDown) => self.reader.pick_step(h as isize, h),
            Some(Action::PageUp) => self.reader.pick_step(-(h as isize), h),
            Some(Action::Top) => self.reader.pick_step(-n, h),
            Some(Action::Bottom) => self.reader.pick_step(n, h),
            Some(Action::Open | Action::RemoveComment | Action::Remove) => {
                if let (Some(p), Some(k)) = (&self.reader.post, self.reader.pick) {
                    let kind = PromptKind::ConfirmRemoveComment(p.id, k as u32 + 1);
                    self.prompt = Some(Prompt::new(kind, ""));
                }
            }
            Some(Action::Back) => self.end_pick(),
            Some(Action::Quit) => return self.update(Action::Quit),
            _ => {}
        }
        Vec::new()
    }
}
