//! SARIF 2.1.0 for code-scanning dashboards: one run, the rule table as the driver's rules, one
//! result per finding with its file, line and column.

use crate::{RULES, Scan};
use serde_json::{Value, json};

pub fn to_sarif(scan: &Scan, tool_version: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| json!({"id": r.id, "shortDescription": {"text": r.title}, "help": {"text": r.fix}}))
        .collect();
    let results: Vec<Value> = scan
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule,
                "level": "error",
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.file.replace('\\', "/")},
                    "region": {"startLine": f.line, "startColumn": f.column}
                }}],
                "properties": {"class": f.class, "method": f.method, "reachedFrom": f.reached_from}
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "headless-gate scan-apex", "version": tool_version, "rules": rules}},
            "results": results
        }]
    })
}
