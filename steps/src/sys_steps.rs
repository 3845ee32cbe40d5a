//! The system-mode probe (HG-SYS-01, HG-SYS-02): generic over tools it has never seen. It lists the
//! persona's tools, builds arguments from each input schema and the seeded canaries, calls every
//! tool, and fails naming the tool, the argument and the leaked field. No per-tool code: on a real
//! org the tools are not known in advance.

use crate::canary_prober::{Candidates, ProbeReport, argument_sets, candidates, tools_of};
use crate::world::{Cleanup, GateWorld, StepError, expect, query_path};
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::{Map, Value, json};

/// Seeds the target's canaries as the admin; each is deleted when the scenario ends, failed or not.
#[given("the admin has seeded the canaries")]
async fn seed_canaries(w: &mut GateWorld) -> Result<(), StepError> {
    let marker = w.target.canary_marker.clone();
    for seed in w.target.canary_seeds.clone() {
        let run = format!("{:08x}", rand::random::<u32>());
        let fields: Map<String, Value> =
            seed.fields.iter().map(|(k, v)| (k.clone(), json!(v.replace("{run}", &run)))).collect();
        w.rest("admin", Method::POST, &format!("/sobjects/{}", seed.object), Some(Value::Object(fields))).await?;
        let r = w.last()?;
        let id = r.json().and_then(|v| v["id"].as_str().map(str::to_string));
        let Some(id) = id.filter(|_| r.status == 201) else {
            return Err(StepError::Expectation {
                expected: format!("the admin seeds a {} canary (201 with an id)", seed.object),
                observed: format!("{} {}", r.status, r.body.chars().take(200).collect::<String>()),
            });
        };
        w.queue_undo(Cleanup::AdminDelete { object: seed.object.clone(), id: id.clone() });
        w.seeded.push((seed.object.clone(), id));
    }
    let seeded = w.seeded.iter().map(|(o, id)| format!("{o} {id}")).collect::<Vec<_>>().join(", ");
    w.probe.evidence.push(match seeded.is_empty() {
        true => format!("no canaries to seed: the target's canary records hold the {marker} values"),
        false => format!("seeded canaries (deleted when the scenario ends): {seeded}"),
    });
    Ok(())
}

#[when(expr = "the system-mode probe calls every tool {word} can list with the canaries")]
async fn probe_reads(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    w.probe_read_tools(&persona).await
}

#[then("no tool returned a seeded sensitive value")]
async fn no_leak(w: &mut GateWorld) -> Result<(), StepError> {
    let report = w.sys.clone().ok_or(StepError::NothingSent)?;
    expect(report.leaks.is_empty(), "no canary value in any tool result", || report.leaks.join("; "))?;
    if report.tools.is_empty() {
        return Err(StepError::NotVerifiable("the persona can list no read tool for the probe to call".into()));
    }
    // A tool that never answered with a result was not probed at all: no leak proves nothing.
    let unexercised: Vec<String> = report
        .exercised
        .iter()
        .filter(|e| e.results.is_empty())
        .map(|e| format!("{} ({})", e.tool, e.refusals.iter().cloned().collect::<Vec<_>>().join("; ")))
        .collect();
    match unexercised.is_empty() {
        true => Ok(()),
        false => Err(StepError::NotVerifiable(format!(
            "the probe got no result from {}: no argument it could build from the input schema and the canaries was answered",
            unexercised.join(", ")
        ))),
    }
}

#[when(expr = "the write probe calls every write tool {word} can list on records it may not edit")]
async fn probe_writes(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let c = candidates(w).await?;
    let mut report = ProbeReport::default();
    // The marker values per object, from one admin describe each.
    let mut values: std::collections::BTreeMap<String, Value> = Default::default();
    for (server, tool) in tools_of(w, &persona, Some(true)).await? {
        let name = tool["name"].as_str().unwrap_or_default().to_string();
        report.tools.push(name.clone());
        for (object, id) in &c.ids {
            let path = format!("/sobjects/{object}/{id}");
            w.rest("admin", Method::GET, &path, None).await?;
            let before = w.last()?.body.clone();
            let one =
                Candidates { ids: vec![(object.clone(), id.clone())], objects: vec![object.clone()], queries: vec![] };
            let mut args = argument_sets(&tool["inputSchema"], &one).into_iter().next().unwrap_or_default();
            if args.contains_key("fields") {
                if !values.contains_key(object) {
                    let v = probe_values(w, object).await?;
                    values.insert(object.clone(), v);
                }
                args.insert("fields".into(), values[object].clone());
            }
            w.mcp_request(&persona, &server, "tools/call", json!({"name": name, "arguments": args})).await?;
            report.calls += 1;
            w.rest("admin", Method::GET, &path, None).await?;
            if w.last()?.body != before {
                report.write_changes.push(format!("{name} changed {object} {id}"));
            }
        }
    }
    if report.tools.is_empty() {
        return Err(StepError::NotApplicable("the persona can list no write tool".into()));
    }
    w.probe.evidence.push(format!(
        "write probe: {} write tools, {} calls, {} changes",
        report.tools.len(),
        report.calls,
        report.write_changes.len()
    ));
    w.sys = Some(report);
    Ok(())
}

/// A marker value for every text field of the object the admin's describe calls updateable, so
/// a write that goes through shows in the read-back whatever the object.
async fn probe_values(w: &mut GateWorld, object: &str) -> Result<Value, StepError> {
    let fields = w.describe_fields("admin", object).await?;
    let values: Map<String, Value> = fields
        .iter()
        .filter(|f| f["updateable"] == json!(true))
        .filter(|f| matches!(f["type"].as_str(), Some("string") | Some("textarea")))
        .filter_map(|f| f["name"].as_str().map(|n| (n.to_string(), json!("HG-WRITE-PROBE"))))
        .collect();
    Ok(Value::Object(values))
}

#[then("the admin reads every probed record back unchanged")]
async fn writes_unchanged(w: &mut GateWorld) -> Result<(), StepError> {
    let report = w.sys.clone().ok_or(StepError::NothingSent)?;
    expect(report.write_changes.is_empty(), "every probed record unchanged", || report.write_changes.join("; "))
}

#[then(expr = "the admin sees the canaries, so the probe could have found them")]
async fn canaries_exist(w: &mut GateWorld) -> Result<(), StepError> {
    let marker = w.target.canary_marker.clone();
    let c = candidates(w).await?;
    let mut seen = 0;
    for q in &c.queries {
        w.rest("admin", Method::GET, &query_path(q), None).await?;
        if w.last()?.body.contains(&marker) {
            seen += 1;
        }
    }
    expect(seen > 0, "canary values present in the org", || "the admin sees none: the probe proves nothing".into())?;
    for (object, id) in w.seeded.clone() {
        w.rest("admin", Method::GET, &format!("/sobjects/{object}/{id}"), None).await?;
        let r = w.last()?;
        expect(
            r.status == 200 && r.body.contains(&marker),
            format!("the seeded {object} {id} readable by the admin"),
            || format!("{}", r.status),
        )?;
    }
    Ok(())
}

/// The static verdicts for the persona's Apex-backed tools: tool, class, findings charged to it.
#[derive(Debug, Clone, Default)]
pub struct ApexVerdicts {
    pub tools: Vec<(String, String, Vec<String>)>,
    pub parse_errors: Vec<String>,
    /// Tools whose class is not in the source tree: not scanned, so not cleared.
    pub missing: Vec<String>,
}

#[when(expr = "the Apex behind the tools {word} can list is scanned")]
async fn scan_apex(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let root = w.target.apex_root.clone().ok_or_else(|| {
        StepError::NotVerifiable(
            "the target names no Apex source for its tools (set apex.source and apex.tools)".into(),
        )
    })?;
    let files = apex_scan::read_tree(&root).map_err(|e| StepError::Expectation {
        expected: format!("a readable Apex source tree at {}", root.display()),
        observed: e.to_string(),
    })?;
    let mut listed: Vec<(String, String)> = Vec::new();
    for (_, tool) in tools_of(w, &persona, None).await? {
        let name = tool["name"].as_str().unwrap_or_default().to_string();
        if let Some(class) = w.target.tool_classes.get(&name) {
            listed.push((name, class.clone()));
        }
    }
    let classes: Vec<String> = listed.iter().map(|(_, c)| c.clone()).collect();
    let scan = apex_scan::scan(&files, &classes);
    let line = |f: &apex_scan::Finding| {
        let path = if f.paths.is_empty() { String::new() } else { format!(" [path: {}]", f.path_text()) };
        format!("{}:{}:{}: {} {}{path}", f.file, f.line, f.column, f.rule, f.message)
    };
    let verdicts = ApexVerdicts {
        tools: listed
            .into_iter()
            .map(|(t, c)| {
                let found = scan.findings_for_class(&c).into_iter().map(line).collect();
                (t, c, found)
            })
            .collect(),
        parse_errors: scan.findings.iter().filter(|f| f.rule == "APEX-PARSE").map(line).collect(),
        missing: classes
            .iter()
            .filter(|c| !scan.classes.iter().any(|k| k.eq_ignore_ascii_case(c)))
            .map(|c| format!("{c} (not in {})", root.display()))
            .collect(),
    };
    w.probe.evidence.push(format!(
        "Apex scan of {}: {} files, {} classes; tools scanned: {}",
        root.display(),
        scan.files,
        scan.classes.len(),
        verdicts
            .tools
            .iter()
            .map(|(t, c, f)| format!("{t} ({c}): {} findings", f.len()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for (_, _, found) in &verdicts.tools {
        w.probe.evidence.extend(found.iter().cloned());
    }
    w.apex = Some(verdicts);
    Ok(())
}

#[then("the scan finds no system-mode code behind any tool")]
async fn scan_clean(w: &mut GateWorld) -> Result<(), StepError> {
    let v = w.apex.clone().ok_or(StepError::NothingSent)?;
    expect(!v.tools.is_empty(), "at least one Apex-backed tool scanned", || {
        "no listed tool maps to an Apex class: nothing was scanned".into()
    })?;
    let mut problems: Vec<String> = v.parse_errors.clone();
    for (tool, class, found) in &v.tools {
        problems.extend(found.iter().map(|f| format!("{tool} ({class}): {f}")));
    }
    expect(problems.is_empty(), "no system-mode finding in the Apex behind the tools", || problems.join("; "))?;
    if !v.missing.is_empty() {
        return Err(StepError::NotVerifiable(format!(
            "the class behind a tool is not in the Apex source, so it was not scanned: {}",
            v.missing.join(", ")
        )));
    }
    Ok(())
}

#[then("for every Apex-backed tool the scan and the probe agree")]
async fn verdicts_agree(w: &mut GateWorld) -> Result<(), StepError> {
    let v = w.apex.clone().ok_or(StepError::NothingSent)?;
    let probe = w.sys.clone().ok_or(StepError::NothingSent)?;
    if !v.missing.is_empty() {
        return Err(StepError::NotVerifiable(format!(
            "the class behind a tool is not in the Apex source, so its scan verdict is unknown: {}",
            v.missing.join(", ")
        )));
    }
    let mut disagreements = Vec::new();
    for (tool, class, found) in &v.tools {
        let statically = !found.is_empty();
        let dynamically = probe.leaky_tools.contains(tool);
        w.probe.evidence.push(format!(
            "{tool} ({class}): scan {}, probe {}",
            if statically { "flags system-mode code" } else { "clean" },
            if dynamically { "saw a canary" } else { "saw none" }
        ));
        if statically != dynamically {
            disagreements.push(format!(
                "{tool}: the scan says {}, the probe {}",
                if statically { "system mode" } else { "user mode" },
                if dynamically { "saw a canary" } else { "saw none" }
            ));
        }
    }
    expect(!v.tools.is_empty(), "at least one Apex-backed tool compared", || "no tool maps to Apex".into())?;
    expect(disagreements.is_empty(), "the static and dynamic verdicts agree for every tool", || {
        disagreements.join("; ")
    })
}
