//! `bbs-client --demo`: an in-process BBS to try the TUI without a server. A few users,
//! boards (one with a CJK name), posts with pushes and comments, a mail and a subscription
//! for the `guest` user; and a bot that keeps posting so live updates and notifications
//! can be seen.

use std::time::Duration;

use crate::backend::memory::MemoryBackend;
use crate::backend::Backend;
use crate::error::Result;
use crate::model::{Push, SubTarget};
use crate::session::Session;

/// The demo account.
pub const GUEST: (&str, &str) = ("guest", "guest");

fn login(backend: &MemoryBackend, user: &str) -> Result<Session> {
    let mut s = Session::new(backend.connect()?);
    s.login(user, user)?;
    Ok(s)
}

/// Fills `backend` with the demo content. Every user's password is their name.
pub fn seed(backend: &MemoryBackend) -> Result<()> {
    let mut anon = Session::new(backend.connect()?);
    for u in ["sysop", "alice", "bob", "carol", GUEST.0] {
        anon.register(u, &format!("{u}@example.edu"), u)?;
    }
    let mut sysop = login(backend, "sysop")?;
    let mut alice = login(backend, "alice")?;
    let mut bob = login(backend, "bob")?;
    let mut carol = login(backend, "carol")?;
    sysop.create_board("Announce")?;
    alice.create_board("NTU_CSIE")?;
    bob.create_board("閒聊")?;
    carol.create_board("Rust")?;
    sysop.create_post(
        "Announce",
        "[公告] Welcome to bbs",
        "Boards are Kafka topics; posts are records.\nPress ? for keys. Push with + / - / >.",
    )?;
    let hw = alice.create_post(
        "NTU_CSIE",
        "[作業] HW2 deadline moved to Friday",
        "See the course page.\n助教 TA",
    )?;
    bob.push(&hw.to_string(), Push::Up, "感謝助教")?;
    carol.push(&hw.to_string(), Push::Up, "nice")?;
    carol.comment(&hw.to_string(), "Does it include the bonus part?")?;
    alice.comment(&hw.to_string(), "Yes, the bonus is due Friday too.")?;
    alice.create_post(
        "NTU_CSIE",
        "[問題] Kafka consumer groups?",
        "How do offsets get committed?",
    )?;
    let q = bob.create_post("閒聊", "[問卦] 有沒有宵夜的八卦", "半夜肚子餓 推薦一下")?;
    alice.push(&q.to_string(), Push::Up, "鹽酥雞")?;
    carol.push(&q.to_string(), Push::Down, "太晚了吧")?;
    sysop.push(&q.to_string(), Push::Arrow, "宵夜街")?;
    carol.create_post(
        "Rust",
        "ratatui 0.30 is out",
        "Widgets got a crate of their own.",
    )?;
    alice.mail_to(GUEST.0, "Welcome!", "Hi guest,\nenjoy the demo.\n-- alice")?;
    let mut guest = login(backend, GUEST.0)?;
    guest.subscribe(SubTarget::board("閒聊"), "[問卦]")?;
    Ok(())
}

/// A demo backend with [`seed`]ed content.
pub fn backend() -> Result<MemoryBackend> {
    let b = MemoryBackend::new();
    seed(&b)?;
    Ok(b)
}

/// Starts a bot that posts on 閒聊 every `every` (up to `count` posts) while `bob` and
/// `carol` stay online.
pub fn start_bot(backend: MemoryBackend, every: Duration, count: usize) {
    std::thread::spawn(move || {
        let (Ok(mut bob), Ok(mut carol)) = (login(&backend, "bob"), login(&backend, "carol"))
        else {
            return;
        };
        let titles = [
            "[問卦] 颱風假的八卦",
            "[閒聊] 今天好熱",
            "[問卦] 期末考怎麼準備",
            "[新聞] Kafka 4.0 released",
        ];
        for i in 0..count {
            std::thread::sleep(every);
            let title = titles[i % titles.len()];
            match bob.create_post("閒聊", title, &format!("bot post {i}")) {
                Ok(id) => {
                    let _ = carol.push(&id.to_string(), Push::Up, "推");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "demo bot stops");
                    return;
                }
            }
        }
    });
}
