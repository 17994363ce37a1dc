//! The scheduler of `bbs-bench class`: a few driver threads share the students (student
//! `i` belongs to driver `i % drivers`), each with a heap of due turns. A driver first
//! registers and logs in its students (the drivers do this in parallel), waits for the
//! others at the start line, then until the deadline takes each student's turn when it is
//! due and schedules the next after a random think time. A student who lost the server is
//! reconnected on its turn, with the TUI's backoff. The sessions' own feed threads are
//! theirs; the bench adds only the drivers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::Result;
use bbs::session::Session;

use crate::class_session::{password, user_name, Act, Class, Rng, Student};

/// How students behave: think time between turns and the weight of each kind of turn.
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    pub think_min: Duration,
    pub think_max: Duration,
    /// Weights of browse, post, comment, mail, subscribe.
    pub weights: [u32; 5],
}

impl Behaviour {
    fn pick(&self, rng: &mut Rng) -> Act {
        const ACTS: [Act; 5] = [
            Act::Browse,
            Act::Post,
            Act::Comment,
            Act::Mail,
            Act::Subscribe,
        ];
        let total: u32 = self.weights.iter().sum();
        let mut x = rng.below(total.max(1) as usize) as u32;
        for (a, w) in ACTS.iter().zip(self.weights) {
            if x < w {
                return *a;
            }
            x -= w;
        }
        Act::Browse
    }
}

/// What one driver reports: how many of its students joined, and the first setup error.
#[derive(Debug, Default)]
pub(crate) struct DriverReport {
    pub joined: usize,
    pub join_failed: usize,
    /// Students not even tried because the login phase ran out of time.
    pub join_skipped: usize,
    pub first_error: Option<String>,
}

/// Registers student `i` through `registrar` (an anonymous session). A name already
/// taken is this run's student (names carry the run's id) whose registration went
/// through although the answer did not arrive in time: logging in tells.
fn register(registrar: &mut Session, class: &Class, i: usize) -> bbs::Result<()> {
    let user = user_name(&class.run, i);
    match registrar.register(&user, &format!("{user}@school.example"), &password(&user)) {
        Err(bbs::Error::Refused(bbs::Failure::UsernameTaken)) => Ok(()),
        other => other,
    }
}

/// Registers and logs in the students of driver `me` until `join_by`; failures and those
/// left out are counted in `report` (the driver must reach the start line whatever happens).
fn join_all(
    class: &Class,
    me: usize,
    drivers: usize,
    join_by: Instant,
    report: &mut DriverReport,
) -> Vec<Student> {
    let mut students = Vec::new();
    let mut registrar = match class.backend.connect() {
        Ok(link) => Session::new(link),
        Err(e) => {
            report.first_error = Some(format!("registrar link: {e}"));
            report.join_failed = (me..class.students).step_by(drivers).count();
            return students;
        }
    };
    for i in (me..class.students).step_by(drivers) {
        if Instant::now() > join_by {
            report.join_skipped += 1;
            continue;
        }
        let joined = register(&mut registrar, class, i)
            .map_err(anyhow::Error::from)
            .and_then(|()| Student::join(class, i));
        match joined {
            Ok(s) => students.push(s),
            Err(e) => {
                report.join_failed += 1;
                tracing::warn!(student = i, error = %e, "student could not join");
                report.first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    students
}

/// Runs driver `me` of `drivers`: setup (until `join_by`), the start line (`start`), then
/// turns until `run_for`
/// has passed since the start line.
pub(crate) fn drive(
    class: &Class,
    behaviour: &Behaviour,
    me: usize,
    drivers: usize,
    start: &Barrier,
    join_by: Instant,
    run_for: Duration,
) -> Result<DriverReport> {
    let mut report = DriverReport::default();
    let mut students = join_all(class, me, drivers, join_by, &mut report);
    report.joined = students.len();
    start.wait();
    let t0 = Instant::now();
    let deadline = t0 + run_for;
    let mut due = BinaryHeap::new();
    let mut rng = Rng::new(me as u64 + 1000);
    for k in 0..students.len() {
        due.push(Reverse((
            t0 + rng.between(Duration::ZERO, behaviour.think_max),
            k,
        )));
    }
    while let Some(Reverse((at, k))) = due.pop() {
        if at >= deadline {
            break;
        }
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        let s = &mut students[k];
        let next = if s.session.is_none() {
            if s.reconnect(class) {
                Instant::now()
            } else {
                Instant::now() + s.backoff()
            }
        } else {
            let act = behaviour.pick(&mut s.rng);
            if s.turn(act, class) {
                Instant::now() + s.rng.between(behaviour.think_min, behaviour.think_max)
            } else {
                Instant::now() + s.backoff()
            }
        };
        due.push(Reverse((next, k)));
    }
    // Dropping the sessions stops their feeds and leaves their groups (`Session::close`
    // would log out, which opens a fresh anonymous link per student: minutes at scale).
    drop(students);
    Ok(report)
}
