//! Course booking with Dynamic Consistency Boundaries: the Python library's enrolment example
//! (`examples/coursebookingdcb`). Students join courses; a course has places, a student a
//! maximum of courses. No aggregate owns both: each joining is decided over the events of its
//! student and of its course, and appended only if neither changed since.
//!
//! `cargo run --example course_booking` runs it in memory; `PERSISTENCE_MODULE=sqlite
//! SQLITE_DBNAME=booking.db` or `PERSISTENCE_MODULE=postgres` (with the `POSTGRES_*` settings
//! and `--features postgres`) store it.

use std::sync::Arc;
use std::thread;

use eventsourcing::dcb::{
    DcbApplication, DcbQuery, DcbQueryItem, Decide, Tagged, open_dcb_application,
};
use eventsourcing::{Env, Error, Result};
use serde::{Deserialize, Serialize};

/// The application's events.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Enrolment {
    /// A student, with the most courses they may take.
    StudentRegistered { name: String, max_courses: u32 },
    /// A course, with its places.
    CourseRegistered { name: String, places: u32 },
    /// A student joined a course.
    StudentJoinedCourse {
        student_id: String,
        course_id: String,
    },
}

/// Why a command is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
enum Refusal {
    #[error("{0} is registered already")]
    AlreadyRegistered(String),
    #[error("no student {0}")]
    NoStudent(String),
    #[error("no course {0}")]
    NoCourse(String),
    #[error("{0} has joined {1} already")]
    AlreadyJoined(String, String),
    #[error("{0} takes as many courses as they may")]
    StudentFull(String),
    #[error("{0} is full")]
    CourseFull(String),
}

/// Registers a student or a course: refused if its id has events already.
struct Register {
    id: String,
    event: Enrolment,
}

impl Decide for Register {
    type Decision = Enrolment;
    type State = bool;

    fn boundary(&self) -> DcbQuery {
        DcbQueryItem::tags([self.id.clone()]).into()
    }

    fn apply(&self, exists: &mut bool, _: &Tagged<Enrolment>) {
        *exists = true;
    }

    fn decide(&self, exists: &bool) -> Result<Vec<Tagged<Enrolment>>> {
        if *exists {
            return Err(Error::user(Refusal::AlreadyRegistered(self.id.clone())));
        }
        Ok(vec![Tagged::new(self.event.clone(), [self.id.clone()])])
    }
}

/// A student joins a course.
struct JoinCourse {
    student_id: String,
    course_id: String,
}

/// What [`JoinCourse`] decides from.
#[derive(Debug, Default)]
struct Joining {
    max_courses: Option<u32>,
    places: Option<u32>,
    courses_taken: u32,
    students_joined: u32,
    joined: bool,
}

impl Decide for JoinCourse {
    type Decision = Enrolment;
    type State = Joining;

    /// The student's registration and joinings, and the course's.
    fn boundary(&self) -> DcbQuery {
        DcbQuery::items([
            DcbQueryItem::types(["StudentRegistered", "StudentJoinedCourse"])
                .and_tags([self.student_id.clone()]),
            DcbQueryItem::types(["CourseRegistered", "StudentJoinedCourse"])
                .and_tags([self.course_id.clone()]),
        ])
    }

    fn apply(&self, s: &mut Joining, event: &Tagged<Enrolment>) {
        match &event.decision {
            Enrolment::StudentRegistered { max_courses, .. } => s.max_courses = Some(*max_courses),
            Enrolment::CourseRegistered { places, .. } => s.places = Some(*places),
            Enrolment::StudentJoinedCourse {
                student_id,
                course_id,
            } => {
                let (mine, here) = (*student_id == self.student_id, *course_id == self.course_id);
                s.courses_taken += u32::from(mine);
                s.students_joined += u32::from(here);
                s.joined |= mine && here;
            }
        }
    }

    fn decide(&self, s: &Joining) -> Result<Vec<Tagged<Enrolment>>> {
        let (student, course) = (&self.student_id, &self.course_id);
        let refuse = |r| Err(Error::user(r));
        let Some(max_courses) = s.max_courses else {
            return refuse(Refusal::NoStudent(student.clone()));
        };
        let Some(places) = s.places else {
            return refuse(Refusal::NoCourse(course.clone()));
        };
        if s.joined {
            return refuse(Refusal::AlreadyJoined(student.clone(), course.clone()));
        }
        if s.courses_taken >= max_courses {
            return refuse(Refusal::StudentFull(student.clone()));
        }
        if s.students_joined >= places {
            return refuse(Refusal::CourseFull(course.clone()));
        }
        let joined = Enrolment::StudentJoinedCourse {
            student_id: student.clone(),
            course_id: course.clone(),
        };
        Ok(vec![Tagged::new(joined, [student.clone(), course.clone()])])
    }
}

/// The students of a course, and the courses of a student.
struct Enrolments {
    tag: String,
}

impl Decide for Enrolments {
    type Decision = Enrolment;
    type State = Vec<String>;

    fn boundary(&self) -> DcbQuery {
        DcbQueryItem::types(["StudentJoinedCourse"])
            .and_tags([self.tag.clone()])
            .into()
    }

    fn apply(&self, names: &mut Vec<String>, event: &Tagged<Enrolment>) {
        if let Enrolment::StudentJoinedCourse {
            student_id,
            course_id,
        } = &event.decision
        {
            names.push(if *student_id == self.tag {
                course_id.clone()
            } else {
                student_id.clone()
            });
        }
    }

    fn decide(&self, _: &Vec<String>) -> Result<Vec<Tagged<Enrolment>>> {
        Ok(Vec::new())
    }
}

fn refusal(e: &Error) -> Option<&Refusal> {
    std::error::Error::source(e).and_then(|s| s.downcast_ref())
}

/// Registers `students` students (at most 2 courses each) and `courses` courses (2 places
/// each), with ids made unique by `run`.
fn register(
    app: &DcbApplication,
    run: &str,
    students: usize,
    courses: usize,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut s = Vec::new();
    for n in 0..students {
        let id = format!("student-{run}-{n}");
        let event = Enrolment::StudentRegistered {
            name: format!("Student {n}"),
            max_courses: 2,
        };
        app.execute(&Register {
            id: id.clone(),
            event,
        })?;
        s.push(id);
    }
    let mut c = Vec::new();
    for n in 0..courses {
        let id = format!("course-{run}-{n}");
        let event = Enrolment::CourseRegistered {
            name: format!("Course {n}"),
            places: 2,
        };
        app.execute(&Register {
            id: id.clone(),
            event,
        })?;
        c.push(id);
    }
    Ok((s, c))
}

/// What [`demo`] found: each course's students, and how many of eight racing students got
/// into a course of two places.
struct Outcome {
    courses: Vec<Vec<String>>,
    race_winners: usize,
    race_course: Vec<String>,
}

/// Four students try three courses; then eight race for one course. Prints as it goes.
fn demo(app: &Arc<DcbApplication>) -> Result<Outcome> {
    let run = eventsourcing::Uuid::new_v4().simple().to_string()[..4].to_owned();
    let (students, courses) = register(app, &run, 4, 3)?;

    // Every student tries every course: each takes at most 2, each course holds 2.
    for s in &students {
        for c in &courses {
            let join = JoinCourse {
                student_id: s.clone(),
                course_id: c.clone(),
            };
            match app.execute(&join) {
                Ok(_) => println!("{s} joined {c}"),
                Err(e) => match refusal(&e) {
                    Some(r) => println!("{s} was refused {c}: {r}"),
                    None => return Err(e),
                },
            }
        }
    }
    let mut enrolled = Vec::new();
    for c in &courses {
        let (names, _) = app.state(&Enrolments { tag: c.clone() })?;
        println!("{c}: {}", names.join(", "));
        enrolled.push(names);
    }

    // Eight students race for one course of two places: exactly two get in.
    let (racers, course) = register(app, &format!("{run}-race"), 8, 1)?;
    let course = course[0].clone();
    let joined: Vec<bool> = thread::scope(|scope| {
        let handles: Vec<_> = racers
            .iter()
            .map(|s| {
                let join = JoinCourse {
                    student_id: s.clone(),
                    course_id: course.clone(),
                };
                scope.spawn(move || app.execute(&join).is_ok())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(false))
            .collect()
    });
    let (names, _) = app.state(&Enrolments {
        tag: course.clone(),
    })?;
    let winners = joined.iter().filter(|j| **j).count();
    println!(
        "8 students raced for {course}: {winners} joined ({})",
        names.join(", ")
    );
    Ok(Outcome {
        courses: enrolled,
        race_winners: winners,
        race_course: names,
    })
}

fn main() -> Result<()> {
    let app = Arc::new(open_dcb_application(&Env::from_process("CourseBooking"))?);
    let outcome = demo(&app)?;
    let full = outcome.courses.iter().filter(|c| c.len() == 2).count();
    println!(
        "{full} of {} courses full; {} of 8 racers in a course of {} places",
        outcome.courses.len(),
        outcome.race_winners,
        outcome.race_course.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(outcome: &Outcome) {
        let sizes: Vec<usize> = outcome.courses.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 2], "two students in each course");
        assert_eq!(outcome.race_winners, 2, "two of eight racers got in");
        assert_eq!(outcome.race_course.len(), 2, "the raced course holds two");
    }

    #[test]
    fn in_memory() {
        let app = Arc::new(open_dcb_application(&Env::new("CourseBooking")).unwrap());
        check(&demo(&app).unwrap());
    }

    #[cfg(any(feature = "sqlite", feature = "sqlite-unbundled"))]
    #[test]
    fn on_a_sqlite_file_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("booking.db");
        let env = Env::new("CourseBooking")
            .with("PERSISTENCE_MODULE", "sqlite")
            .with("SQLITE_DBNAME", path.to_str().unwrap());
        for _ in 0..2 {
            let app = Arc::new(open_dcb_application(&env).unwrap());
            check(&demo(&app).unwrap());
        }
    }
}
