//! The scanner's corpus (`apex-scan/tests/corpus/`): one SFDX tree per case, each with an
//! `EXPECTED` file giving the verdict (`leak` or `clean`), the rules the scan must report (left
//! empty in a set written without the scanner: verdicts only), why, and where the scanner is known
//! to differ from the verdict, why (`known difference:`).
//! The corpus test and the side by side with PMD read it through here.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    /// The case reaches code that runs with more access than the user.
    pub leak: bool,
    /// The rules the scan must report, sorted.
    pub rules: Vec<String>,
    pub why: String,
    /// Where the scanner's verdict is known to differ from the case's, and why.
    pub known_difference: Option<String>,
}

/// Every case under `root`, sorted by name; a case without a well-formed `EXPECTED` is an error.
pub fn load(root: &Path) -> std::io::Result<Vec<Case>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root)? {
        let dir = e?.path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let expected = std::fs::read_to_string(dir.join("EXPECTED"))?;
        let field = |key: &str| {
            expected.lines().find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string())).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{name}/EXPECTED: no `{key}` line"))
            })
        };
        let leak = match field("verdict:")?.as_str() {
            "leak" => true,
            "clean" => false,
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{name}/EXPECTED: verdict `{other}` is neither leak nor clean"),
                ));
            }
        };
        let mut rules: Vec<String> = field("rules:")?.split_whitespace().map(str::to_string).collect();
        rules.sort();
        let why = field("why:")?;
        let known_difference = field("known difference:").ok();
        out.push(Case { name, dir, leak, rules, why, known_difference });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The rules the scan reports on one case, sorted and each once.
pub fn scan_rules(case: &Case) -> std::io::Result<Vec<&'static str>> {
    let files = crate::read_tree(&case.dir)?;
    let mut rules: Vec<&'static str> = crate::scan(&files, &[]).findings.iter().map(|f| f.rule).collect();
    rules.sort();
    rules.dedup();
    Ok(rules)
}
