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

/// Every control (a scenario, or one row of an outline), in file order.
pub fn controls(dir: &Path) -> Result<Vec<ControlResult>, String> {
    let mut files = Vec::new();
    feature_files(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for f in files {
        let feature = Feature::parse_path(&f, GherkinEnv::default()).map_err(|e| format!("{}: {e}", f.display()))?;
        let scenarios = feature.scenarios.iter().chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()));
        for s in scenarios {
            for (name, extra_tags) in expand(&s.name, &s.examples) {
                let tags: Vec<String> =
                    feature.tags.iter().chain(s.tags.iter()).chain(extra_tags.iter()).cloned().collect();
                out.push(ControlResult::from_tags(&name, &feature.name, &tags));
            }
        }
    }
    Ok(out)
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
    fn the_catalog_reads_every_feature() {
        let c = super::controls(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))).unwrap();
        assert!(c.iter().any(|c| c.id == "HG-REDIR-05" && c.title.contains("upper-case-host")));
        assert!(c.iter().all(|c| c.id.starts_with("HG-") && c.id != "HG-UNTAGGED"), "every scenario names its control");
        assert!(c.iter().all(|c| !c.checklist.is_empty()), "every control evidences a checklist item");
        assert!(c.iter().all(|c| c.title.starts_with(&c.id)), "every title starts with its ID");
    }
}
