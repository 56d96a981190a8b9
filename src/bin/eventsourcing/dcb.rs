//! `dcb-tail` and `dcb-verify`: an application's DCB log, opened as `open_dcb_recorder` opens it
//! (never creating tables).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use eventsourcing::Result;
use eventsourcing::dcb::{
    DcbQuery, DcbQueryItem, DcbRecorder, DcbSequencedEvent, Position, open_dcb_recorder,
};

use crate::inspect::env;

/// Events read per page.
const PAGE: usize = 500;
/// Tags whose index `verify` checks at most (every type is checked).
const TAGS_CHECKED: usize = 1_000;
/// Problems listed by `verify` (all are counted).
const SHOWN: usize = 20;

fn open(application: &str) -> Result<std::sync::Arc<dyn DcbRecorder>> {
    open_dcb_recorder(&env(application))
}

/// Every event after `after` that `query` matches, page by page, to `f`.
fn each(
    r: &dyn DcbRecorder,
    query: &DcbQuery,
    after: Option<Position>,
    mut f: impl FnMut(&DcbSequencedEvent) -> Result<bool>,
) -> Result<()> {
    let mut after = after;
    loop {
        let page = r.read(query, after, Some(PAGE))?;
        for e in &page.events {
            if !f(e)? {
                return Ok(());
            }
        }
        match page.events.last() {
            Some(last) if page.events.len() == PAGE => after = Some(last.position),
            _ => return Ok(()),
        }
    }
}

pub(crate) fn tail(
    application: &str,
    after: Option<u64>,
    limit: Option<usize>,
    tags: &[String],
    data: bool,
) -> Result<bool> {
    let r = open(application)?;
    let query = if tags.is_empty() {
        DcbQuery::all()
    } else {
        DcbQueryItem::tags(tags.iter().cloned()).into()
    };
    let mut out = std::io::stdout().lock();
    let mut left = limit.unwrap_or(usize::MAX);
    each(r.as_ref(), &query, after, |e| {
        if left == 0 {
            return Ok(false);
        }
        left -= 1;
        let mut line = format!(
            "{}\t{}\t{}",
            e.position,
            e.event.r#type,
            e.event.tags.join(",")
        );
        if data {
            match std::str::from_utf8(&e.event.data) {
                Ok(text) => line.push_str(&format!("\t{text}")),
                Err(_) => line.push_str(&format!("\t<{} bytes>", e.event.data.len())),
            }
        }
        // A closed pipe (`| head`) ends the listing.
        Ok(writeln!(out, "{line}").is_ok())
    })?;
    Ok(true)
}

pub(crate) fn verify(application: &str) -> Result<bool> {
    let r = open(application)?;
    let mut problems: Vec<String> = Vec::new();
    let mut last: Option<Position> = None;
    let (mut by_tag, mut by_type) = (
        BTreeMap::<String, Vec<Position>>::new(),
        BTreeMap::<String, Vec<Position>>::new(),
    );
    let mut count = 0_u64;
    each(r.as_ref(), &DcbQuery::all(), None, |e| {
        count += 1;
        if last.is_some_and(|l| e.position <= l) {
            problems.push(format!(
                "position {} follows {}",
                e.position,
                last.unwrap_or(0)
            ));
        }
        last = Some(e.position);
        let distinct: BTreeSet<&String> = e.event.tags.iter().collect();
        for tag in distinct {
            if by_tag.len() < TAGS_CHECKED || by_tag.contains_key(tag) {
                by_tag.entry(tag.clone()).or_default().push(e.position);
            }
        }
        by_type
            .entry(e.event.r#type.clone())
            .or_default()
            .push(e.position);
        Ok(true)
    })?;
    let mut check = |what: &str, name: &str, query: DcbQuery, want: &[Position]| -> Result<()> {
        let mut got = Vec::new();
        each(r.as_ref(), &query, None, |e| {
            got.push(e.position);
            Ok(true)
        })?;
        if got != want {
            problems.push(format!(
                "{what} {name:?}: {} events by its query, {} in the log",
                got.len(),
                want.len()
            ));
        }
        Ok(())
    };
    for (tag, want) in &by_tag {
        check("tag", tag, DcbQueryItem::tags([tag.clone()]).into(), want)?;
    }
    for (t, want) in &by_type {
        check("type", t, DcbQueryItem::types([t.clone()]).into(), want)?;
    }
    println!(
        "{application}: {count} events, last position {}; {} tags and {} types checked against the log",
        last.map_or_else(|| "none".to_owned(), |p| p.to_string()),
        by_tag.len(),
        by_type.len()
    );
    for p in problems.iter().take(SHOWN) {
        println!("problem: {p}");
    }
    if problems.len() > SHOWN {
        println!("... and {} more problems", problems.len() - SHOWN);
    }
    Ok(problems.is_empty())
}
