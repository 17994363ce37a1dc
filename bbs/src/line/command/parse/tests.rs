//! Parser tests: every command's shapes and its usage line.

use super::*;

fn ok(line: &str) -> Command {
    parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}
fn err(line: &str) -> String {
    match parse(line) {
        Ok(c) => panic!("{line:?} parsed as {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn accounts() {
    assert_eq!(
        ok("register Bob bob@qwer.asdf 123456"),
        Command::Register {
            user: "Bob".into(),
            email: "bob@qwer.asdf".into(),
            password: "123456".into()
        }
    );
    assert_eq!(
        err("register Bob bob@x"),
        "Usage: register <username> <email> <password>"
    );
    assert_eq!(
        err("register a b c d"),
        "Usage: register <username> <email> <password>"
    );
    assert_eq!(err("login Bob"), "Usage: login <username> <password>");
    assert_eq!(ok("  logout  "), Command::Logout);
    assert_eq!(ok("whoami"), Command::Whoami);
    assert_eq!(ok("exit"), Command::Exit);
    assert_eq!(ok(""), Command::Empty);
    assert_eq!(ok(" \t "), Command::Empty);
    assert_eq!(err("frobnicate x"), "Unknown command: frobnicate");
}

#[test]
fn boards_and_posts() {
    assert_eq!(
        ok("create-board NP_HW"),
        Command::CreateBoard {
            name: "NP_HW".into()
        }
    );
    assert_eq!(
        ok("create-board 測試 版"),
        Command::CreateBoard {
            name: "測試 版".into()
        }
    );
    assert_eq!(err("create-board"), "Usage: create-board <name>");
    assert_eq!(
        ok("create-post NP_HW --title About NP HW_2 --content Help!<br>I have some problem!"),
        Command::CreatePost {
            board: "NP_HW".into(),
            title: "About NP HW_2".into(),
            content: "Help!\nI have some problem!".into()
        }
    );
    assert_eq!(
        ok("create-post NP --content c --title t"),
        Command::CreatePost {
            board: "NP".into(),
            title: "t".into(),
            content: "c".into()
        },
        "options in any order"
    );
    assert_eq!(
        ok("create-post NP --title a--b --x --content c --titled"),
        Command::CreatePost {
            board: "NP".into(),
            title: "a--b --x".into(),
            content: "c --titled".into()
        },
        "only whole known option words are markers"
    );
    let u = "Usage: create-post <board> --title <title> --content <content>";
    assert_eq!(err("create-post NP --title t"), u);
    assert_eq!(err("create-post --title t --content c"), u);
    assert_eq!(err("create-post NP --title --content c"), u);
    assert_eq!(err("create-post NP --title a --title b --content c"), u);
    assert_eq!(ok("list-board"), Command::ListBoard { filter: None });
    assert_eq!(
        ok("list-board ##HW"),
        Command::ListBoard {
            filter: Some("HW".into())
        }
    );
    assert_eq!(err("list-board HW"), "Usage: list-board [##<key>]");
    assert_eq!(
        ok("list-post NP_HW ##HW"),
        Command::ListPost {
            board: "NP_HW".into(),
            filter: Some("HW".into())
        }
    );
    assert_eq!(
        ok("list-post a##b"),
        Command::ListPost {
            board: "a##b".into(),
            filter: None
        }
    );
    assert_eq!(err("list-post"), "Usage: list-post <board> [##<key>]");
    assert_eq!(err("list-post ##x"), "Usage: list-post <board> [##<key>]");
    assert_eq!(
        ok("search NP_HW hw 3 ＦＩＮＡＬ"),
        Command::Search {
            board: "NP_HW".into(),
            key: "hw 3 ＦＩＮＡＬ".into()
        }
    );
    assert_eq!(err("search NP_HW"), "Usage: search <board> <key>");
    assert_eq!(err("search"), "Usage: search <board> <key>");
    assert_eq!(ok("read 12"), Command::Read { post: "12".into() });
    assert_eq!(err("read"), "Usage: read <post-id>");
    assert_eq!(
        ok("update-post 1 --title NP HW_3"),
        Command::UpdatePost {
            post: "1".into(),
            change: Change::Title("NP HW_3".into())
        }
    );
    assert_eq!(
        ok("update-post 1 --content a<br>b"),
        Command::UpdatePost {
            post: "1".into(),
            change: Change::Content("a\nb".into())
        }
    );
    let u = "Usage: update-post <post-id> --title <new> | --content <new>";
    assert_eq!(err("update-post 1"), u);
    assert_eq!(err("update-post --title x"), u);
    assert_eq!(err("update-post 1 --title x --content y"), u);
    assert_eq!(
        ok("delete-post 3"),
        Command::DeletePost { post: "3".into() }
    );
    assert_eq!(err("delete-post"), "Usage: delete-post <post-id>");
    assert_eq!(
        ok("comment 1 Ha! ha! ha!"),
        Command::Comment {
            post: "1".into(),
            text: "Ha! ha! ha!".into()
        }
    );
    assert_eq!(err("comment 1"), "Usage: comment <post-id> <comment>");
}

#[test]
fn push_extension() {
    use crate::model::Push;
    let p = |post: &str, push, text: &str| Command::Push {
        post: post.into(),
        push,
        text: text.into(),
    };
    assert_eq!(ok("push 1 推 good  job"), p("1", Push::Up, "good  job"));
    assert_eq!(ok("push 2 - no"), p("2", Push::Down, "no"));
    assert_eq!(ok("push 3 → fyi"), p("3", Push::Arrow, "fyi"));
    assert_eq!(ok("push 3 > fyi"), p("3", Push::Arrow, "fyi"));
    let u = "Usage: push <post-id> <推|噓|→> <text>";
    for bad in [
        "push",
        "push 1",
        "push 1 推",
        "push 1 yes great",
        "push 1 推推 x",
    ] {
        assert_eq!(err(bad), u, "{bad}");
    }
}

#[test]
fn mail() {
    assert_eq!(
        ok("mail-to Sam --subject Hello there --content Hi<br>Sam"),
        Command::MailTo {
            user: "Sam".into(),
            subject: "Hello there".into(),
            content: "Hi\nSam".into()
        }
    );
    let u = "Usage: mail-to <username> --subject <subject> --content <content>";
    assert_eq!(err("mail-to Sam --subject s"), u);
    assert_eq!(err("mail-to --subject s --content c"), u);
    assert_eq!(err("mail-to a b --subject s --content c"), u);
    assert_eq!(ok("list-mail"), Command::ListMail);
    assert_eq!(ok("retr-mail 2"), Command::RetrMail { n: "2".into() });
    assert_eq!(err("retr-mail"), "Usage: retr-mail <n>");
    assert_eq!(ok("delete-mail 1"), Command::DeleteMail { n: "1".into() });
    assert_eq!(err("delete-mail"), "Usage: delete-mail <n>");
}

#[test]
fn subscriptions() {
    assert_eq!(
        ok("subscribe --board NP_HW --keyword HW"),
        Command::Subscribe {
            target: SubTarget::board("NP_HW"),
            keyword: "HW".into()
        }
    );
    assert_eq!(
        ok("subscribe --keyword final exam --author Bob"),
        Command::Subscribe {
            target: SubTarget::author("Bob"),
            keyword: "final exam".into()
        }
    );
    let b = "[Invalid option] usage: subscribe --board <board-name> --keyword <keyword>";
    let a = "[Invalid option] usage: subscribe --author <author-name> --keyword <keyword>";
    assert_eq!(err("subscribe"), b);
    assert_eq!(err("subscribe --board NP"), b);
    assert_eq!(err("subscribe --board NP --kw x"), b);
    assert_eq!(err("subscribe NP --keyword x"), b);
    assert_eq!(err("subscribe --author Bob"), a);
    assert_eq!(err("subscribe --author Bob --keyword"), a);
    assert_eq!(err("subscribe --board NP --author Bob --keyword x"), b);
    assert_eq!(
        ok("unsubscribe --author Bob"),
        Command::Unsubscribe {
            target: SubTarget::author("Bob")
        }
    );
    let u = "Usage: unsubscribe --board <board-name> | --author <author-name>";
    assert_eq!(err("unsubscribe"), u);
    assert_eq!(err("unsubscribe --board"), u);
    assert_eq!(err("unsubscribe --board a --author b"), u);
    assert_eq!(ok("list-sub"), Command::ListSub);
}
