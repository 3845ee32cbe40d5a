//! Static scan of the Apex behind custom MCP tools (HG-SYS-03): finds code that runs in system
//! mode before it ships, and names the line. Parsed with the tree-sitter Apex grammar
//! (`tree-sitter-sfapex`), never with regexes.
//!
//! Entry points are methods exposed to clients (`@InvocableMethod`, `@AuraEnabled`, `@Http*` in a
//! `@RestResource` class) and every method of a class the caller maps to a tool. Calls are
//! followed from entry points into other classes of the same tree, transitively, so a helper's
//! system-mode query is charged to the entry point that reaches it. Nothing "excuses" a query: a
//! describe or permission check elsewhere does not make a system-mode query safe (PMD's
//! ApexCRUDViolation lets one check in a class suppress the rest).

mod model;
mod rules;
pub mod sarif;

pub use model::{ApexClass, SourceFile};
pub use rules::{RULES, Rule};

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One finding: rule, where, what to change, and which entry point reaches it.
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
}

/// The scan of one source tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scan {
    pub files: usize,
    pub classes: Vec<String>,
    pub entry_points: Vec<String>,
    pub findings: Vec<Finding>,
}

impl Scan {
    /// Findings charged to one class's entry points (a tool backed by that class).
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

/// Reads every `**/classes/*.cls` under `root` with its `-meta.xml`.
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
                && p.parent().and_then(|d| d.file_name()).is_some_and(|n| n == "classes")
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
        match model::parse(f) {
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
            }),
        }
    }
    let by_name: BTreeMap<String, usize> =
        classes.iter().enumerate().map(|(i, c)| (c.name.to_ascii_lowercase(), i)).collect();
    let tools: BTreeSet<String> = tool_classes.iter().map(|c| c.to_ascii_lowercase()).collect();
    // Entry points, then what each reaches (class index, method index).
    let mut entries: Vec<(usize, usize)> = Vec::new();
    for (ci, c) in classes.iter().enumerate() {
        for (mi, m) in c.methods.iter().enumerate() {
            if m.exposed(c) || tools.contains(&c.outer_name().to_ascii_lowercase()) {
                entries.push((ci, mi));
            }
        }
    }
    let mut reached: BTreeMap<(usize, usize), BTreeSet<String>> = BTreeMap::new();
    for &(ci, mi) in &entries {
        let label = format!("{}.{}", classes[ci].name, classes[ci].methods[mi].name);
        let mut queue = VecDeque::from([(ci, mi)]);
        let mut seen = BTreeSet::new();
        while let Some((c, m)) = queue.pop_front() {
            if !seen.insert((c, m)) {
                continue;
            }
            reached.entry((c, m)).or_default().insert(label.clone());
            // A property's accessors run whenever code of its class does (queries in getters count).
            for (am, a) in classes[c].methods.iter().enumerate() {
                if a.accessor {
                    queue.push_back((c, am));
                }
            }
            for call in &classes[c].methods[m].calls {
                // `Helper.run()`, or `Inner.run()` for an inner class of the caller's outer class.
                let target = match &call.class {
                    Some(k) => by_name.get(&k.to_ascii_lowercase()).copied().or_else(|| {
                        let qualified = format!("{}.{k}", classes[c].outer_name()).to_ascii_lowercase();
                        by_name.get(&qualified).copied()
                    }),
                    None => Some(c),
                };
                if let Some(tc) = target {
                    for (tm, method) in classes[tc].methods.iter().enumerate() {
                        if method.name.eq_ignore_ascii_case(&call.method) {
                            queue.push_back((tc, tm));
                        }
                    }
                }
            }
        }
    }
    let mut reached_classes: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for ((c, _), labels) in &reached {
        reached_classes.entry(*c).or_default().extend(labels.iter().cloned());
    }
    for (ci, labels) in &reached_classes {
        let c = &classes[*ci];
        let labels: Vec<String> = labels.iter().cloned().collect();
        findings.extend(rules::class_findings(c, entries.iter().any(|(e, _)| e == ci), &labels));
    }
    for ((ci, mi), labels) in &reached {
        let c = &classes[*ci];
        findings.extend(rules::method_findings(c, &c.methods[*mi], &labels.iter().cloned().collect::<Vec<_>>()));
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule)));
    findings.dedup();
    Scan {
        files: files.len(),
        classes: classes.iter().map(|c| c.name.clone()).collect(),
        entry_points: entries
            .iter()
            .map(|(c, m)| format!("{}.{}", classes[*c].name, classes[*c].methods[*m].name))
            .collect(),
        findings,
    }
}
