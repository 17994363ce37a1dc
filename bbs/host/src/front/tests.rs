//! The front's lock order: what needs both the folded state and the views takes the
//! state first, as the follower does while it folds.

use std::time::Duration;

use parking_lot::Mutex;

use bbs::state::State;

use super::reset_views;
use crate::views::Views;

#[test]
fn resetting_the_views_while_the_follower_folds_waits_without_holding_the_views() {
    let state = Mutex::new(State::new());
    let views = Mutex::new(Views::default());
    std::thread::scope(|s| {
        // The follower in the middle of a fold: it holds the state and wants the views.
        let folding = state.lock();
        let stepping_down = s.spawn(|| reset_views(&state, &views, None));
        // Long enough for the other thread to reach its first lock.
        std::thread::sleep(Duration::from_millis(300));
        let got_views = views.try_lock_for(Duration::from_secs(2)).is_some();
        drop(folding);
        stepping_down.join().expect("reset thread");
        assert!(
            got_views,
            "the views were held by a thread waiting for the state: the two would deadlock"
        );
    });
}
