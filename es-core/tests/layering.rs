//! The layering rule of es-core: the persistence contract (`src/persistence/`) and the backend
//! seam (`src/backend/`) name nothing of the upper layer (domain, mapper, application,
//! system), so a backend depends on the contract alone. The check reads the sources.

use std::fs;
use std::path::Path;

const UPPER: [&str; 4] = ["domain", "mapper", "application", "system"];

/// The upper-layer paths `source` names, as `crate::<module>` or `$crate::<module>`.
fn upper_paths(source: &str) -> Vec<String> {
    UPPER
        .iter()
        .filter(|m| {
            let path = format!("crate::{m}");
            source.match_indices(&path).any(|(i, _)| {
                let after = source[i + path.len()..].chars().next();
                after.is_none_or(|c| !c.is_alphanumeric() && c != '_')
            })
        })
        .map(|m| (*m).to_owned())
        .collect()
}

fn lower_layer_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            lower_layer_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "md") {
            out.push(path);
        }
    }
}

#[test]
fn the_lower_layer_names_no_upper_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("env.rs"), src.join("sync.rs")];
    lower_layer_files(&src.join("error"), &mut files);
    lower_layer_files(&src.join("persistence"), &mut files);
    lower_layer_files(&src.join("backend"), &mut files);
    assert!(files.len() >= 10, "the lower layer moved: {files:?}");
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let names = upper_paths(&fs::read_to_string(f).unwrap());
            (!names.is_empty()).then(|| format!("{} names {names:?}", f.display()))
        })
        .collect();
    assert!(offenders.is_empty(), "layering broken: {offenders:#?}");
}

#[test]
fn the_check_catches_an_upper_path() {
    assert_eq!(upper_paths("use crate::domain::Aggregate;"), ["domain"]);
    assert_eq!(
        upper_paths("$crate::application::Application"),
        ["application"]
    );
    assert!(upper_paths("use crate::persistence::Tracking; // application_name").is_empty());
    assert!(upper_paths("crate::systems_of_record").is_empty());
}
