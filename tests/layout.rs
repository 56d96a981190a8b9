//! The layout rules of `LAYOUT.md`, checked on the sources of every crate of the workspace:
//! no two files import each other in a loop, and no source file is longer than the limit.
//!
//! An import is a `use` (not a `pub use`, which re-exports) or a path in code that starts with
//! `crate::`, `self::` or `super::`; it points at the file of the deepest module the path
//! names. `mod` declarations are not imports. So a parent module may declare children that add
//! `impl` blocks to its types, but then must not name anything in them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The longest a source file may be, in lines (LAYOUT.md: "no file over ~400 lines").
const MAX_LINES: usize = 420;

const CRATES: [&str; 6] = [
    ".",
    "es-core",
    "es-popo",
    "es-sqlite",
    "es-postgres",
    "es-testkit",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of `file` under `src` (`[]` for `lib.rs`, `["backend"]` for
/// `backend/mod.rs` or `backend.rs`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The paths `source` imports, as written (`crate::a::b`, `super::c`, `self::d`).
fn imported_paths(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        let line = line.trim_start();
        if line.starts_with("//")
            || line.starts_with("pub use")
            || line.starts_with("pub(crate) use")
        {
            continue;
        }
        // `use child::Item;` names a child module relative to this one (a path that is not a
        // child resolves to this module itself, and counts for nothing).
        if let Some(rest) = line.strip_prefix("use ")
            && !["crate::", "super::", "self::"]
                .iter()
                .any(|p| rest.starts_with(p))
        {
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(format!("self::{}", path.trim_end_matches(':')));
        }
        for start in ["crate::", "super::", "self::"] {
            for (i, _) in line.match_indices(start) {
                let before = line[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                    continue; // `$crate::`, `es_core::...::crate`, or inside another word
                }
                let path: String = line[i..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                out.push(path.trim_end_matches(':').to_owned());
            }
        }
    }
    out
}

/// The module a path written in module `here` points at: its longest prefix that is a module.
fn resolve(here: &[String], path: &str, modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut segments = path.split("::");
    let mut at: Vec<String> = match segments.next()? {
        "crate" => Vec::new(),
        "self" => here.to_vec(),
        "super" => here.get(..here.len().checked_sub(1)?)?.to_vec(),
        _ => return None,
    };
    for segment in segments {
        if segment == "super" {
            at.pop();
            continue;
        }
        let mut next = at.clone();
        next.push(segment.to_owned());
        if !modules.contains(&next) {
            break;
        }
        at = next;
    }
    Some(at)
}

/// Every import cycle between files of the crate rooted at `src`, as module paths.
fn import_cycles(src: &Path) -> Vec<Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let by_module: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(src, f), f.clone()))
        .collect();
    let modules: BTreeSet<Vec<String>> = by_module.keys().cloned().collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &by_module {
        let source = fs::read_to_string(file).unwrap();
        for path in imported_paths(&source) {
            if let Some(target) = resolve(module, &path, &modules)
                && &target != module
            {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    find_cycles(&edges)
}

/// The cycles of a directed graph (each reported once, from its smallest node).
fn find_cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    fn walk(
        node: &Vec<String>,
        start: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        trail: &mut Vec<Vec<String>>,
        out: &mut Vec<Vec<String>>,
    ) {
        for next in edges.get(node).into_iter().flatten() {
            if next == start {
                out.push(
                    trail
                        .iter()
                        .map(|m| format!("crate::{}", m.join("::")))
                        .collect(),
                );
            } else if next > start && !trail.contains(next) {
                trail.push(next.clone());
                walk(next, start, edges, trail, out);
                trail.pop();
            }
        }
    }
    let mut out = Vec::new();
    for start in edges.keys() {
        walk(start, start, edges, &mut vec![start.clone()], &mut out);
    }
    out
}

#[test]
fn no_two_files_import_each_other_in_a_loop() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cycles: Vec<(String, Vec<Vec<String>>)> = CRATES
        .iter()
        .map(|c| ((*c).to_owned(), import_cycles(&root.join(c).join("src"))))
        .filter(|(_, cycles)| !cycles.is_empty())
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn no_source_file_is_over_the_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "examples", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    for c in &CRATES[1..] {
        rust_files(&root.join(c).join("src"), &mut files);
        rust_files(&root.join(c).join("tests"), &mut files);
    }
    assert!(files.len() > 50, "the sources were found: {}", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:#?}");
}

/// The checks themselves can fail: a planted loop is found, a parent that only declares its
/// children is not a loop, and re-exports are not imports.
#[test]
fn the_cycle_check_finds_a_planted_loop() {
    let modules: BTreeSet<Vec<String>> = [vec![], vec!["a".into()], vec!["a".into(), "b".into()]]
        .into_iter()
        .collect();
    let here = vec!["a".to_owned(), "b".to_owned()];
    assert_eq!(
        resolve(&here, "super::Thing", &modules),
        Some(vec!["a".to_owned()])
    );
    assert_eq!(resolve(&[], "crate::a::b::f", &modules), Some(here.clone()));
    assert_eq!(
        imported_paths("pub use self::b::Thing;\nmod b;"),
        Vec::<String>::new()
    );
    assert_eq!(imported_paths("use super::{A, B};"), ["super"]);
    assert_eq!(imported_paths("use b::Thing;"), ["self::b::Thing"]);
    assert!(imported_paths("$crate::persistence::X").is_empty());
    let mut edges = BTreeMap::new();
    edges.insert(vec!["a".to_owned()], BTreeSet::from([here.clone()]));
    assert!(find_cycles(&edges).is_empty());
    edges.insert(here, BTreeSet::from([vec!["a".to_owned()]]));
    assert_eq!(find_cycles(&edges), [["crate::a", "crate::a::b"]]);
}
