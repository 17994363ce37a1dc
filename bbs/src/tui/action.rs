//! What a key press means: every [`Action`] the UI knows, and the [`Context`]s (screens and
//! input modes) in which keys are looked up. Names are the ones used in the `[keys]` table
//! of `bbs-client.toml`; descriptions are what the help overlay shows.

/// Where a key is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Every screen (after the screen's own keys and the navigation keys).
    Global,
    /// Moving in lists and text, on every screen that has one.
    Nav,
    /// The login / register form.
    Login,
    /// The board list.
    Boards,
    /// A board's post list.
    Posts,
    /// A post with its comments.
    Reader,
    /// The mailbox.
    Mail,
    /// One mail.
    MailRead,
    /// Subscriptions.
    Subs,
    /// The notification log.
    Notifications,
    /// Who is online.
    Online,
    /// The multi-line composer (posts, comments, mail).
    Composer,
    /// A one-line question (filter, search, board name, keyword).
    Prompt,
    /// Editing text in the composer, the prompt and the login form.
    Edit,
}

impl Context {
    /// Every context, in help order.
    pub const ALL: [Context; 14] = [
        Context::Global,
        Context::Nav,
        Context::Login,
        Context::Boards,
        Context::Posts,
        Context::Reader,
        Context::Mail,
        Context::MailRead,
        Context::Subs,
        Context::Notifications,
        Context::Online,
        Context::Composer,
        Context::Prompt,
        Context::Edit,
    ];

    /// The name of its table in the config file (`[keys.<name>]`).
    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Nav => "nav",
            Context::Login => "login",
            Context::Boards => "boards",
            Context::Posts => "posts",
            Context::Reader => "reader",
            Context::Mail => "mail",
            Context::MailRead => "mail_read",
            Context::Subs => "subs",
            Context::Notifications => "notifications",
            Context::Online => "online",
            Context::Composer => "composer",
            Context::Prompt => "prompt",
            Context::Edit => "edit",
        }
    }

    /// The heading of its section in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Nav => "Moving",
            Context::Login => "Login",
            Context::Boards => "Board list",
            Context::Posts => "Post list",
            Context::Reader => "Reading a post",
            Context::Mail => "Mailbox",
            Context::MailRead => "Reading a mail",
            Context::Subs => "Subscriptions",
            Context::Notifications => "Notifications",
            Context::Online => "Online users",
            Context::Composer => "Composer",
            Context::Prompt => "Question line",
            Context::Edit => "Editing text",
        }
    }

    /// Parses [`Context::name`].
    pub fn from_name(s: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == s)
    }
}

macro_rules! actions {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// Something the user asks for; keys map to these in one place ([`super::keymap`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $(#[doc = $doc] $variant,)*
        }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// Its name in the config file.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            /// What it does, for the help overlay.
            pub fn describe(self) -> &'static str {
                match self { $(Action::$variant => $doc,)* }
            }
        }
    };
}

actions! {
    Quit => "quit", "Quit the client";
    Help => "help", "Show or hide this help";
    Back => "back", "Go back (close the screen)";
    GoMail => "go_mail", "Open the mailbox";
    GoOnline => "go_online", "Show who is online";
    GoNotifications => "go_notifications", "Show the notification log";
    GoSubs => "go_subs", "Show subscriptions";
    CycleTheme => "cycle_theme", "Switch theme (dark, light, no colour)";
    ToggleBell => "toggle_bell", "Turn the notification bell on or off";
    Up => "up", "Move up";
    Down => "down", "Move down";
    PageUp => "page_up", "Page up";
    PageDown => "page_down", "Page down";
    Top => "top", "Go to the first line";
    Bottom => "bottom", "Go to the last line";
    Open => "open", "Open the selected item";
    Filter => "filter", "Filter by name or title";
    SearchAuthor => "search_author", "Search posts by author";
    ClearFilter => "clear_filter", "Clear the filter or search";
    CreateBoard => "create_board", "Create a board";
    ToggleFavourite => "toggle_favourite", "Add or remove a favourite board";
    MarkAllRead => "mark_all_read", "Mark everything on the board read";
    NextUnread => "next_unread", "Jump to the next unread post";
    NewPost => "new_post", "Write a new post";
    Comment => "comment", "Comment on the post";
    PushUp => "push_up", "Push 推 (+1)";
    PushDown => "push_down", "Boo 噓 (-1)";
    PushArrow => "push_arrow", "Remark → (0)";
    Edit => "edit", "Edit your post";
    Delete => "delete", "Delete (your post, a mail, a subscription)";
    Remove => "remove", "Remove a post on a board you moderate";
    RemoveComment => "remove_comment", "Pick a comment to remove (moderators)";
    NextPost => "next_post", "Read the next post";
    PrevPost => "prev_post", "Read the previous post";
    SubscribeBoard => "subscribe_board", "Subscribe to this board with a keyword";
    SubscribeAuthor => "subscribe_author", "Subscribe to this author with a keyword";
    NewMail => "new_mail", "Write a mail";
    ReplyMail => "reply_mail", "Reply by mail";
    AddSub => "add_sub", "Add a subscription";
    Send => "send", "Send / confirm";
    Newline => "newline", "New line";
    NextField => "next_field", "Next field";
    PrevField => "prev_field", "Previous field";
    Cancel => "cancel", "Cancel (the draft is kept)";
    ExternalEditor => "external_editor", "Edit the text in $EDITOR";
    ToggleRegister => "toggle_register", "Switch between login and register";
    CursorLeft => "cursor_left", "Cursor left";
    CursorRight => "cursor_right", "Cursor right";
    CursorUp => "cursor_up", "Cursor up a line";
    CursorDown => "cursor_down", "Cursor down a line";
    LineStart => "line_start", "Start of line";
    LineEnd => "line_end", "End of line";
    DeleteBack => "delete_back", "Delete the character before the cursor";
    DeleteForward => "delete_forward", "Delete the character under the cursor";
    DeleteWord => "delete_word", "Delete the word before the cursor";
    KillLine => "kill_line", "Delete to the start of the line";
}

impl Action {
    /// Parses [`Action::name`].
    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == s)
    }
}
