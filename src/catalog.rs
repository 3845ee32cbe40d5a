//! The control catalog, read from the feature files' tags: the one source of truth for what the
//! gate checks (`headless-gate controls`).

use crate::results::ControlResult;
use cucumber::gherkin::{Feature, GherkinEnv};
use std::path::{Path, PathBuf};

fn feature_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            feature_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "feature") {
            out.push(p);
        }
    }
    Ok(())
}

/// The shipped feature files, compiled in (`build.rs`).
mod shipped {
    include!(concat!(env!("OUT_DIR"), "/shipped_features.rs"));
}

/// The shipped feature files: (path under `features/`, text).
pub fn shipped_files() -> &'static [(&'static str, &'static str)] {
    shipped::FILES
}

/// The `.feature` files under a folder, in path order.
pub fn feature_files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    feature_files(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(files)
}

/// One feature file's controls: a scenario, or one row of an outline, in file order. A file that
/// is not valid Gherkin is an error naming it and the line.
fn of_feature(path: &str, text: &str) -> Result<Vec<ControlResult>, String> {
    // gherkin's error reads "Error at LINE:COL: {expected tokens}"; its position is not public.
    let feature = Feature::parse(text, GherkinEnv::default()).map_err(|e| {
        let e = e.to_string();
        let at = e.strip_prefix("Error at ").unwrap_or(&e);
        let (pos, expected) = at.split_once(": ").unwrap_or((at, ""));
        format!("{path}:{pos}: not valid Gherkin (expected {expected})")
    })?;
    let mut out = Vec::new();
    let scenarios = feature.scenarios.iter().chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()));
    for s in scenarios {
        for (name, extra_tags) in expand(&s.name, &s.examples) {
            let tags: Vec<String> =
                feature.tags.iter().chain(s.tags.iter()).chain(extra_tags.iter()).cloned().collect();
            out.push(ControlResult::from_tags(&name, &feature.name, &tags));
        }
    }
    Ok(out)
}

/// Every control of a folder of feature files, in file order.
pub fn controls(dir: &Path) -> Result<Vec<ControlResult>, String> {
    let mut files = Vec::new();
    feature_files(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        out.extend(of_feature(&f.display().to_string(), &text)?);
    }
    Ok(out)
}

/// The catalog the gate ships: every control of the compiled-in feature files.
pub fn shipped() -> Vec<ControlResult> {
    shipped::FILES
        .iter()
        .flat_map(|(path, text)| of_feature(path, text).expect("the shipped feature files parse (a unit test says so)"))
        .collect()
}

/// The controls a run's feature folder holds, checked against the shipped catalog: every shipped
/// control must be there (a deleted or truncated folder is a configuration error naming what is
/// missing; `--tags` is the way to run fewer), and no two rows may share a title.
pub fn for_run(dir: &Path) -> Result<Vec<ControlResult>, String> {
    let found = controls(dir)?;
    let mut titles = std::collections::BTreeSet::new();
    for c in &found {
        if !titles.insert(c.title.as_str()) {
            return Err(format!(
                "{}: two scenarios are named '{}'; each control row needs its own name",
                dir.display(),
                c.title
            ));
        }
    }
    let missing: Vec<String> =
        shipped().into_iter().filter(|c| !titles.contains(c.title.as_str())).map(|c| c.title).collect();
    if let Some(first) = missing.first() {
        return Err(format!(
            "{}: {} of the catalog's controls are not in these feature files (first: '{first}'); run the full feature folder and select controls with --tags",
            dir.display(),
            missing.len()
        ));
    }
    // The shipped controls must be the shipped text too: a tag or a step edited in place (a MUST
    // made SHOULD, a twin untagged, a check deleted) would change what the verdict means.
    for (path, text) in shipped::FILES {
        let here = std::fs::read_to_string(dir.join(path)).unwrap_or_default();
        if here.replace("\r\n", "\n") != text.replace("\r\n", "\n") {
            return Err(format!(
                "{}: {path} differs from the catalog built into this binary; keep the shipped feature files as they are (a team's own scenarios go in files of their own) or rebuild",
                dir.display()
            ));
        }
    }
    Ok(found)
}

/// An outline's names, one per example row, with `<column>` filled in, and the examples' tags.
fn expand(name: &str, examples: &[cucumber::gherkin::Examples]) -> Vec<(String, Vec<String>)> {
    if examples.is_empty() {
        return vec![(name.to_string(), Vec::new())];
    }
    let mut out = Vec::new();
    for ex in examples {
        let Some(table) = &ex.table else { continue };
        let Some((header, rows)) = table.rows.split_first() else { continue };
        for row in rows {
            let mut n = name.to_string();
            for (h, v) in header.iter().zip(row) {
                n = n.replace(&format!("<{h}>"), v);
            }
            out.push((n, ex.tags.clone()));
        }
    }
    out
}

pub fn render_table(controls: &[ControlResult]) -> String {
    let mut s = format!("{:<13} {:<5} {:<7} {:<28} {}\n", "ID", "ITEM", "LEVEL", "SPEC", "TITLE");
    for c in controls {
        let title = c.title.strip_prefix(&c.id).unwrap_or(&c.title).trim();
        s.push_str(&format!(
            "{:<13} {:<5} {:<7} {:<28} {}{}\n",
            c.id,
            c.checklist.join(","),
            c.severity,
            c.specs.join(","),
            title,
            if c.positive { " [positive twin]" } else { "" }
        ));
    }
    let ids: std::collections::BTreeSet<&str> = controls.iter().map(|c| c.id.as_str()).collect();
    s.push_str(&format!("{} controls, {} scenarios\n", ids.len(), controls.len()));
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_catalog_parses_and_matches_the_folder() {
        let shipped = super::shipped();
        let dir = super::controls(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))).unwrap();
        assert_eq!(
            shipped.iter().map(|c| &c.title).collect::<Vec<_>>(),
            dir.iter().map(|c| &c.title).collect::<Vec<_>>()
        );
        super::for_run(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))).unwrap();
    }

    #[test]
    fn a_malformed_feature_names_its_file_and_line() {
        // The parser stops after the stray line: it names the position where it gave up.
        let e = super::of_feature("x.feature", "Feature: f\n\n  Scenario: HG-A-01 a\n    Given x\n  Garbage here\n")
            .unwrap_err();
        assert!(e.starts_with("x.feature:6:1:"), "{e}");
        assert!(e.contains(": not valid Gherkin (expected "), "{e}");
    }

    #[test]
    fn the_catalog_reads_every_feature() {
        let c = super::controls(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))).unwrap();
        assert!(c.iter().any(|c| c.id == "HG-REDIR-05" && c.title.contains("upper-case-host")));
        assert!(c.iter().all(|c| c.id.starts_with("HG-") && c.id != "HG-UNTAGGED"), "every scenario names its control");
        assert!(c.iter().all(|c| !c.checklist.is_empty()), "every control evidences a checklist item");
        assert!(c.iter().all(|c| c.title.starts_with(&c.id)), "every title starts with its ID");
    }
}
