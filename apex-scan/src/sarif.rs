//! SARIF 2.1.0 for code-scanning dashboards: one run, the rule table as the driver's rules, one
//! result per finding with its file, line and column, and a code flow per entry point that
//! reaches it (each step of the path a thread-flow location). Operations cleared by a check in
//! the code are results of kind `pass`, so a reviewer sees what was credited and why.

use crate::{RULES, Scan, Step};
use serde_json::{Value, json};

fn location(file: &str, line: usize, column: usize) -> Value {
    json!({"physicalLocation": {
        "artifactLocation": {"uri": file.replace('\\', "/")},
        "region": {"startLine": line, "startColumn": column}
    }})
}

fn code_flow(entry: &str, path: &[Step]) -> Value {
    let locations: Vec<Value> = path
        .iter()
        .map(|s| {
            let mut l = location(&s.file, s.line, s.column);
            l["message"] = json!({"text": s.what});
            json!({"location": l})
        })
        .collect();
    json!({"message": {"text": format!("from {entry}")}, "threadFlows": [{"locations": locations}]})
}

pub fn to_sarif(scan: &Scan, tool_version: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| json!({"id": r.id, "shortDescription": {"text": r.title}, "help": {"text": r.fix}}))
        .collect();
    let mut results: Vec<Value> = scan
        .findings
        .iter()
        .map(|f| {
            let mut r = json!({
                "ruleId": f.rule,
                "level": "error",
                "message": {"text": f.message},
                "locations": [location(&f.file, f.line, f.column)],
                "properties": {"class": f.class, "method": f.method, "reachedFrom": f.reached_from}
            });
            if !f.paths.is_empty() {
                let flows: Vec<Value> = f.reached_from.iter().zip(&f.paths).map(|(e, p)| code_flow(e, p)).collect();
                r["codeFlows"] = json!(flows);
            }
            r
        })
        .collect();
    results.extend(scan.cleared.iter().map(|c| {
        json!({
            "kind": "pass",
            "level": "none",
            "message": {"text": format!("{} is cleared: {}", c.what, c.by)},
            "locations": [location(&c.file, c.line, 1)]
        })
    }));
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "headless-gate scan-apex", "version": tool_version, "rules": rules}},
            "results": results
        }]
    })
}
