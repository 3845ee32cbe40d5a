//! Static scan of the Apex behind custom MCP tools (HG-SYS-03): finds code a tool reaches that
//! runs with more access than the signed-in user, names the line and the path from the tool's
//! entry method to it. Parsed with the tree-sitter Apex grammar (`tree-sitter-sfapex`), never
//! with regexes.
//!
//! - Entry points: methods exposed to clients (`@InvocableMethod`, `@AuraEnabled`, `@Http*` in a
//!   `@RestResource` class), and every method of a class the caller maps to a tool.
//! - What runs: [`reach`] lists every way one piece of code reaches another (calls through
//!   variables, fields, properties, interfaces and overrides; constructors and initializers;
//!   batch, queueable, schedulable and finalizer jobs) and the sharing rules applied on the way.
//! - What each operation asks for: [`access`] reads modes and access levels from the syntax tree,
//!   and credits `Security.stripInaccessible` and describe checks only where they cover every
//!   object and field used. [`surface`] is the table of `Database`, `Search` and `System` methods.
//! - The rules: [`rules`]. Nothing "excuses" an operation that is not itself covered: a check in
//!   another method does not (PMD's ApexCRUDViolation lets one check in a class clear the rest).

pub mod access;
pub mod corpus;
pub mod model;
pub mod parse;
pub mod reach;
pub mod rules;
pub mod sarif;
pub mod surface;

pub use model::{ApexClass, SourceFile};
pub use rules::{RULES, Rule};

use model::{At, Credit};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One place on the way from an entry point to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub what: String,
}

/// One finding: rule, where, what to change, which entry points reach it and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub class: String,
    pub method: Option<String>,
    pub message: String,
    /// `Class.method` entry points whose calls reach this code.
    pub reached_from: Vec<String>,
    /// For each entry point in `reached_from`, the shortest path from it to the finding's line.
    pub paths: Vec<Vec<Step>>,
}

impl Finding {
    /// The first path as one line: `Tool.run → Repo.find (Tool.cls:12) → … → Repo.cls:30`.
    pub fn path_text(&self) -> String {
        let Some(path) = self.paths.first() else { return String::new() };
        let short = |f: &str| f.rsplit('/').next().unwrap_or(f).to_string();
        let mut parts: Vec<String> = Vec::new();
        for s in path {
            let at = format!("{}:{}", short(&s.file), s.line);
            parts.push(format!("{} ({at})", s.what));
        }
        parts.join(" → ")
    }
}

/// An operation a check was credited for: where, what, and which check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cleared {
    pub file: String,
    pub line: usize,
    pub what: String,
    pub by: String,
}

/// The scan of one source tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scan {
    pub files: usize,
    pub classes: Vec<String>,
    pub entry_points: Vec<String>,
    pub findings: Vec<Finding>,
    /// Reached operations whose object and field access the code checks itself.
    pub cleared: Vec<Cleared>,
}

impl Scan {
    /// Findings charged to one class's entry points (a tool backed by that class), and every file
    /// that was not analysed.
    pub fn findings_for_class(&self, class: &str) -> Vec<&Finding> {
        let prefix = format!("{}.", class.to_ascii_lowercase());
        self.findings
            .iter()
            .filter(|f| {
                [rules::PARSE_ERROR, rules::TOO_DEEP].contains(&f.rule)
                    || f.reached_from.iter().any(|e| e.to_ascii_lowercase().starts_with(&prefix))
            })
            .collect()
    }
}

/// Reads every `.cls` under a `classes` folder below `root` (subfolders of it too, as SFDX allows)
/// with its `-meta.xml`.
pub fn read_tree(root: &std::path::Path) -> std::io::Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            // Directories are walked without following links, so a link back up is no loop.
            if e.file_type()?.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "cls")
                && p.parent().is_some_and(|d| d.iter().any(|c| c == "classes"))
            {
                let meta_path = p.with_extension("cls-meta.xml");
                let meta = meta_path.exists().then(|| read_source(&meta_path)).transpose()?;
                out.push(SourceFile { path: p.display().to_string(), text: read_source(&p)?, meta });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Largest source file read: Apex classes are limited to 1 million characters by the platform.
const MAX_SOURCE_BYTES: u64 = 4 << 20;

/// A source file, only if it is a regular file (a FIFO or a device would block or never end)
/// of a size the platform allows.
fn read_source(p: &std::path::Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(p)?;
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {what}", p.display()));
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(bad(format!("{} bytes, more than the {MAX_SOURCE_BYTES} a source file may have", meta.len())));
    }
    std::fs::read_to_string(p)
}

/// Scans the files. `tool_classes` are classes the target maps to tools: all their methods are
/// entry points, whatever their annotations.
pub fn scan(files: &[SourceFile], tool_classes: &[String]) -> Scan {
    let mut classes: Vec<ApexClass> = Vec::new();
    let mut findings = Vec::new();
    for f in files {
        match parse::parse(f) {
            Ok(mut c) => classes.append(&mut c),
            Err(u) => findings.push(Finding {
                rule: u.rule,
                file: f.path.clone(),
                line: u.line,
                column: u.column,
                class: model::file_stem(&f.path),
                method: None,
                message: match u.rule {
                    rules::TOO_DEEP => {
                        format!("too deep to analyse ({}); it was not scanned, so nothing in it is cleared", u.what)
                    }
                    _ => {
                        format!("the file does not parse ({}); it was not scanned, so nothing in it is cleared", u.what)
                    }
                },
                reached_from: Vec::new(),
                paths: Vec::new(),
            }),
        }
    }
    let graph = reach::Graph::new(&classes);
    let tools: BTreeSet<String> = tool_classes.iter().map(|c| c.to_ascii_lowercase()).collect();
    let mut entries: Vec<(usize, usize)> = Vec::new();
    for (ci, c) in classes.iter().enumerate() {
        for (mi, m) in c.methods.iter().enumerate() {
            if m.callable() && (m.exposed(c) || tools.contains(&c.outer_name().to_ascii_lowercase())) {
                entries.push((ci, mi));
            }
        }
    }
    // (rule, file, line, column) -> finding; one path per entry point, the first (shortest) found.
    let mut found: BTreeMap<(String, usize, usize, &'static str), Finding> = BTreeMap::new();
    let mut cleared: BTreeMap<(String, usize, usize), Cleared> = BTreeMap::new();
    for &entry in &entries {
        let label = format!("{}.{}", classes[entry.0].name, classes[entry.0].methods[entry.1].name);
        let walk = reach::walk(&graph, entry);
        for &state in &walk.order {
            let (ci, mi, ctx) = state;
            let c = &classes[ci];
            let m = &c.methods[mi];
            let mut hits = Vec::new();
            for op in &m.ops {
                hits.extend(rules::op_hits(&classes, ci, m, op, ctx).into_iter().map(|h| (h, op.at, op.what.clone())));
                if let Credit::Full(by) = &op.credit {
                    cleared.entry((c.file.clone(), op.at.line, op.at.column)).or_insert_with(|| Cleared {
                        file: c.file.clone(),
                        line: op.at.line,
                        what: format!("{} in {}.{}", op.what, c.name, m.name),
                        by: by.clone(),
                    });
                }
            }
            for u in &graph.unresolved[ci][mi] {
                let r = rules::rule(rules::UNRESOLVED_CALL);
                let h = rules::Hit {
                    rule: rules::UNRESOLVED_CALL,
                    class: ci,
                    method: Some(m.name.clone()),
                    at: u.at,
                    message: format!("{} in {}.{}: {}; {}", u.what, c.name, m.name, r.title, r.fix),
                };
                hits.push((h, u.at, "unresolved call".to_string()));
            }
            for (h, op_at, what) in hits {
                let file = classes[h.class].file.clone();
                let key = (file.clone(), h.at.line, h.at.column, h.rule);
                let f = found.entry(key).or_insert_with(|| Finding {
                    rule: h.rule,
                    file,
                    line: h.at.line,
                    column: h.at.column,
                    class: classes[h.class].name.clone(),
                    method: h.method.clone(),
                    message: h.message.clone(),
                    reached_from: Vec::new(),
                    paths: Vec::new(),
                });
                if !f.reached_from.contains(&label) {
                    f.reached_from.push(label.clone());
                    f.paths.push(path(&graph, &walk, state, op_at, &what));
                }
            }
        }
    }
    findings.extend(found.into_values());
    findings.sort_by(|a, b| (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule)));
    Scan {
        files: files.len(),
        classes: classes.iter().map(|c| c.name.clone()).collect(),
        entry_points: entries
            .iter()
            .map(|(c, m)| format!("{}.{}", classes[*c].name, classes[*c].methods[*m].name))
            .collect(),
        findings,
        cleared: cleared.into_values().collect(),
    }
}

/// The steps from the walk's entry point to `state`, then to the line `end` in it.
fn path(g: &reach::Graph, walk: &reach::Walk, state: reach::State, end: At, what: &str) -> Vec<Step> {
    let file = |c: usize| g.classes[c].file.clone();
    let mut edges = Vec::new();
    let mut cur = state;
    while let Some(&(prev, i)) = walk.parent.get(&cur) {
        edges.push((prev, i));
        cur = prev;
    }
    let (ec, em, _) = cur;
    let entry = &g.classes[ec].methods[em];
    let mut steps = vec![Step {
        file: file(ec),
        line: entry.at.line,
        column: entry.at.column,
        what: format!("entry point {}.{}", g.classes[ec].name, entry.name),
    }];
    for (prev, i) in edges.into_iter().rev() {
        let e = &g.edges[prev.0][prev.1][i];
        steps.push(Step { file: file(prev.0), line: e.at.line, column: e.at.column, what: e.note.clone() });
    }
    steps.push(Step { file: file(state.0), line: end.line, column: end.column, what: what.to_string() });
    steps
}
