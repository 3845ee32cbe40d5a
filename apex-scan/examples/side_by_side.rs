//! The scanner and PMD side by side on the corpus: `apex-scan/pmd/side-by-side` runs PMD's
//! ApexCRUDViolation, ApexSharingViolations and ApexSOQLInjection over `apex-scan/tests/corpus`
//! (or `--corpus DIR`, a tree of cases in the same layout) and passes its JSON report here;
//! without one, only the scanner's column is printed.
//!
//! A case is flagged by a tool when the tool reports anything in it; it is right when flagged
//! exactly when the case is a leak.

use std::collections::BTreeMap;

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let root = match args.iter().position(|a| a == "--corpus") {
        Some(i) if i + 1 < args.len() => {
            let dir = std::path::PathBuf::from(args.remove(i + 1));
            args.remove(i);
            dir
        }
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
    };
    let cases = match apex_scan::corpus::load(&root) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot read the corpus at {}: {e}", root.display());
            return std::process::ExitCode::from(2);
        }
    };
    let pmd = match args.first().map(|p| pmd_flags(std::path::Path::new(p))).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut right = (0, 0);
    println!("{:<52} {:<6} {:<22} {}", "case", "truth", "scanner", if pmd.is_some() { "PMD" } else { "" });
    for case in &cases {
        let rules =
            apex_scan::corpus::scan_rules(case).unwrap_or_else(|e| vec![Box::leak(e.to_string().into_boxed_str())]);
        let ours = !rules.is_empty();
        right.0 += usize::from(ours == case.leak);
        let theirs = pmd.as_ref().map(|p| p.get(&case.name).cloned().unwrap_or_default());
        if let Some(t) = &theirs {
            right.1 += usize::from(t.is_empty() != case.leak);
        }
        let mark = |flagged: bool| match (flagged, flagged == case.leak) {
            (true, true) => "flagged",
            (false, true) => "clean",
            (true, false) => "FALSE ALARM",
            (false, false) => "MISSED",
        };
        let theirs_text = theirs.map(|t| format!("{} {}", mark(!t.is_empty()), t.join(","))).unwrap_or_default();
        println!("{:<52} {:<6} {:<22} {theirs_text}", case.name, if case.leak { "leak" } else { "clean" }, mark(ours));
    }
    let n = cases.len();
    let leaks = cases.iter().filter(|c| c.leak).count();
    println!("\n{n} cases ({leaks} leaks, {} clean)", n - leaks);
    println!("scanner: {} of {n} right", right.0);
    if pmd.is_some() {
        println!("PMD 7 (ApexCRUDViolation, ApexSharingViolations, ApexSOQLInjection): {} of {n} right", right.1);
    }
    std::process::ExitCode::SUCCESS
}

/// PMD's JSON report as case name -> rules it reported there.
fn pmd_flags(path: &std::path::Path) -> Result<BTreeMap<String, Vec<String>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not PMD's JSON report: {e}", path.display()))?;
    if doc["processingErrors"].as_array().is_some_and(|e| !e.is_empty()) {
        return Err(format!("PMD could not process some files: {}", doc["processingErrors"]));
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in doc["files"].as_array().into_iter().flatten() {
        let file = f["filename"].as_str().unwrap_or_default().replace('\\', "/");
        let Some(case) =
            file.split('/').find(|p| !p.is_empty() && *p != "." && !p.contains("corpus")).map(str::to_string)
        else {
            continue;
        };
        for v in f["violations"].as_array().into_iter().flatten() {
            let rule = v["rule"].as_str().unwrap_or_default().to_string();
            let rules = out.entry(case.clone()).or_default();
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    Ok(out)
}
