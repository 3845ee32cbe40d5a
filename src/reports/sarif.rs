//! `results.sarif` (SARIF 2.1.0) for code-scanning dashboards: one rule per control of the catalog,
//! tagged with its checklist item, severity, specs and the weaknesses it guards against; one result
//! per failed row (an error) and per not-verifiable row (a warning: it fails the gate too), located
//! at the file that described the target.

use super::RunInfo;
use crate::results::{ControlResult, Outcome};
use serde_json::{Value, json};

/// The weaknesses a control area guards against: CWE entries and OWASP API Security Top 10 (2023).
/// One table, by the control ID's area (`HG-<AREA>-nn`).
const WEAKNESSES: &[(&str, &[&str])] = &[
    ("REDIR", &["CWE-601", "OWASP-API2:2023"]),
    ("PKCE", &["CWE-287", "OWASP-API2:2023"]),
    ("CLIENT", &["CWE-601", "OWASP-API2:2023"]),
    ("ISS", &["CWE-346", "OWASP-API2:2023"]),
    ("DOOR", &["CWE-287", "CWE-290", "CWE-862", "OWASP-API1:2023", "OWASP-API2:2023"]),
    ("ISO", &["CWE-488", "OWASP-API1:2023"]),
    ("PIN", &["CWE-345", "CWE-269", "OWASP-API10:2023"]),
    ("ECA", &["CWE-1188", "CWE-613", "OWASP-API8:2023"]),
    ("CODE", &["CWE-294", "OWASP-API2:2023"]),
    ("GRANT", &["CWE-287", "OWASP-API2:2023"]),
    ("META", &["CWE-1188", "OWASP-API8:2023"]),
    ("SCOPE", &["CWE-269", "OWASP-API5:2023"]),
    ("RT", &["CWE-613", "OWASP-API2:2023"]),
    ("REV", &["CWE-613", "OWASP-API2:2023"]),
    ("RS", &["CWE-287", "CWE-347", "OWASP-API2:2023"]),
    ("TRN", &["CWE-346", "OWASP-API8:2023"]),
    ("PERM", &["CWE-862", "CWE-639", "OWASP-API1:2023", "OWASP-API3:2023", "OWASP-API5:2023"]),
    ("LP", &["CWE-272", "OWASP-API5:2023"]),
    ("SYS", &["CWE-250", "OWASP-API5:2023"]),
    ("AUD", &["CWE-778", "CWE-532", "OWASP-API8:2023"]),
    ("CAT", &["CWE-798", "OWASP-API9:2023"]),
    ("DECL", &["CWE-1059", "OWASP-API9:2023"]),
    ("LIM", &["CWE-770", "OWASP-API4:2023"]),
];

fn weaknesses(id: &str) -> &'static [&'static str] {
    let area = id.split('-').nth(1).unwrap_or_default();
    WEAKNESSES.iter().find(|(a, _)| *a == area).map(|(_, w)| *w).unwrap_or(&[])
}

pub fn render(info: &RunInfo, rows: &[ControlResult]) -> String {
    let mut rules: Vec<Value> = Vec::new();
    let mut index = std::collections::BTreeMap::new();
    for r in rows {
        if index.contains_key(&r.id) {
            continue;
        }
        index.insert(r.id.clone(), rules.len());
        let title = r.title.strip_prefix(&r.id).unwrap_or(&r.title).trim();
        let mut tags: Vec<String> = r.checklist.clone();
        tags.push(r.severity.clone());
        tags.extend(r.specs.iter().cloned());
        tags.extend(weaknesses(&r.id).iter().map(|w| w.to_string()));
        rules.push(json!({
            "id": r.id,
            "name": r.id.replace('-', ""),
            "shortDescription": {"text": title},
            "fullDescription": {"text": format!("{}: {title}", r.id)},
            "defaultConfiguration": {"level": "error"},
            "help": {"text": super::advice::fix(&r.id).unwrap_or("See the control's evidence in report.html.")},
            "properties": {
                "tags": tags,
                "precision": "very-high",
                "security-severity": if r.severity == "MUST" { "8.0" } else { "5.0" },
            }
        }));
    }
    let results: Vec<Value> = rows
        .iter()
        .filter(|r| matches!(r.status, Outcome::Failed | Outcome::NotVerifiable))
        .map(|r| {
            let level = if r.status == Outcome::Failed { "error" } else { "warning" };
            let why = r.message.as_deref().unwrap_or_default();
            json!({
                "ruleId": r.id,
                "ruleIndex": index[&r.id],
                "level": level,
                "message": {"text": format!("{} ({}): {why}", r.title, r.status.label())},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": info.source.replace('\\', "/")},
                    "region": {"startLine": 1}
                }}],
                "partialFingerprints": {"controlRow": r.title},
                "properties": {"reproduce": r.reproduce, "curl": r.curl},
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "headless-gate",
                "version": info.version,
                "rules": rules,
            }},
            "results": results,
            "invocations": [{"executionSuccessful": !info.interrupted}],
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_area_of_the_catalog_has_its_weaknesses() {
        for c in crate::catalog::shipped() {
            assert!(!weaknesses(&c.id).is_empty(), "{} has no CWE or OWASP tag", c.id);
        }
    }
}
