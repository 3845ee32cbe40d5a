//! The canary prober behind the system-mode probe (HG-SYS-01, HG-SYS-02): generic over tools it
//! has never seen. It lists the persona's tools, builds arguments from each input schema and the
//! seeded canaries, calls every read tool, and reports each leak naming the tool, the argument and
//! the leaked field. No per-tool code: on a real org the tools are not known in advance.

use crate::world::{GateWorld, StepError, is_read_only, rpc, tool_name};
use serde_json::{Map, Value, json};

/// What the probe found: leaks, calls made, and tools that answered with data at all.
#[derive(Debug, Default, Clone)]
pub struct ProbeReport {
    pub calls: usize,
    pub leaks: Vec<String>,
    /// Tools that returned a canary (the dynamic verdict per tool).
    pub leaky_tools: std::collections::BTreeSet<String>,
    pub write_changes: Vec<String>,
    pub tools: Vec<String>,
    /// Per read tool: how the probe used it.
    pub exercised: Vec<Exercised>,
    /// Write tools the read probe leaves to the write probe.
    pub writes_left: Vec<String>,
}

/// Candidate values per argument, from the argument's name and the canaries.
pub(crate) struct Candidates {
    pub ids: Vec<(String, String)>,
    pub objects: Vec<String>,
    pub queries: Vec<String>,
}

pub(crate) async fn candidates(w: &mut GateWorld) -> Result<Candidates, StepError> {
    // Canary records, and the records the persona may see (their hidden fields hold canaries).
    let mut ids: Vec<(String, String)> = w.seeded.clone();
    for (alias, r) in w.target.records.clone() {
        if w.target.canary_records.contains(&alias) || alias.starts_with("shared-") {
            ids.push((r.object.clone(), r.id.clone()));
        }
    }
    let mut objects: Vec<String> = ids.iter().map(|(o, _)| o.clone()).collect();
    objects.sort();
    objects.dedup();
    // The admin's describe names every field, so a query tool is asked for all of them.
    let mut queries = Vec::new();
    for o in &objects {
        let fields: Vec<String> = w
            .describe_fields("admin", o)
            .await?
            .iter()
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .collect();
        if !fields.is_empty() {
            queries.push(format!("SELECT {} FROM {o}", fields.join(", ")));
        }
    }
    Ok(Candidates { ids, objects, queries })
}

/// Argument sets for one tool: one per candidate of its id-, object- or query-like argument.
pub(crate) fn argument_sets(schema: &Value, c: &Candidates) -> Vec<Map<String, Value>> {
    let props = schema["properties"].as_object().cloned().unwrap_or_default();
    let required: Vec<String> = schema["required"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    // The platform's soqlQuery calls its query `q`; a description that says SOQL names it too.
    let kind = |name: &str| {
        let n = name.to_ascii_lowercase();
        let said = props.get(name).and_then(|p| p["description"].as_str()).unwrap_or_default().to_ascii_lowercase();
        if n == "q" || n.contains("query") || n.contains("soql") || said.contains("soql") {
            "query"
        } else if n.ends_with("id") || n.ends_with("ids") {
            "id"
        } else if n.contains("object") || n.contains("sobject") || n == "type" {
            "object"
        } else {
            "other"
        }
    };
    let object_arg = props.keys().find(|k| kind(k) == "object").cloned();
    let query_arg = props.keys().find(|k| kind(k) == "query").cloned();
    // An id argument by its name; else, where nothing else names what to read, the first string
    // argument (the required ones first): a tool may call its record id anything.
    let string_args = || props.iter().filter(|(_, p)| p["type"] == "string").map(|(k, _)| k.clone());
    let id_arg = props.keys().find(|k| kind(k) == "id").cloned().or_else(|| {
        if query_arg.is_some() || object_arg.is_some() {
            return None;
        }
        string_args().find(|k| required.contains(k)).or_else(|| string_args().next())
    });
    let filler = |name: &str, p: &Value| -> Option<Value> {
        match p["type"].as_str() {
            Some("integer") | Some("number") => Some(json!(10)),
            Some("boolean") => Some(json!(false)),
            Some("object") => Some(json!({})),
            _ if required.iter().any(|r| r == name) => Some(json!("hg-probe")),
            _ => None,
        }
    };
    let base = |skip: &[&Option<String>]| -> Map<String, Value> {
        props
            .iter()
            .filter(|(k, _)| !skip.iter().any(|s| s.as_deref() == Some(k.as_str())))
            .filter_map(|(k, p)| filler(k, p).map(|v| (k.clone(), v)))
            .collect()
    };
    let mut sets = Vec::new();
    if let Some(q) = &query_arg {
        for query in &c.queries {
            let mut m = base(&[&query_arg]);
            m.insert(q.clone(), json!(query));
            sets.push(m);
        }
    } else if let Some(i) = &id_arg {
        for (object, id) in &c.ids {
            let mut m = base(&[&id_arg, &object_arg]);
            m.insert(i.clone(), json!(id));
            if let Some(o) = &object_arg {
                m.insert(o.clone(), json!(object));
            }
            sets.push(m);
        }
    } else if let Some(o) = &object_arg {
        for object in &c.objects {
            let mut m = base(&[&object_arg]);
            m.insert(o.clone(), json!(object));
            sets.push(m);
        }
    } else {
        sets.push(base(&[]));
    }
    sets
}

/// The JSON path of the first value containing the marker, e.g. `records[0].BillingStreet`.
pub(crate) fn leak_path(v: &Value, marker: &str, path: String) -> Option<String> {
    match v {
        Value::String(s) if s.contains(marker) => Some(if path.is_empty() { "(value)".into() } else { path }),
        Value::Array(a) => a.iter().enumerate().find_map(|(i, x)| leak_path(x, marker, format!("{path}[{i}]"))),
        Value::Object(o) => o
            .iter()
            .find_map(|(k, x)| leak_path(x, marker, if path.is_empty() { k.clone() } else { format!("{path}.{k}") })),
        _ => None,
    }
}

/// Every tool the persona can list, with the server it is on; reads or writes only, or all.
pub(crate) async fn tools_of(
    w: &mut GateWorld,
    persona: &str,
    writes: Option<bool>,
) -> Result<Vec<(String, Value)>, StepError> {
    let mut out = Vec::new();
    let servers: Vec<String> = w.target.mcp_servers.keys().cloned().collect();
    for server in servers {
        for tool in w.list_tools(persona, &server).await? {
            let is_write = !is_read_only(&tool);
            if writes.is_none_or(|w| w == is_write) {
                out.push((server.clone(), tool));
            }
        }
    }
    Ok(out)
}

/// How a tool answered one probe call: a result (isError aside), or what refused it.
pub(crate) fn answer(r: &crate::probe::Reply) -> Result<(), String> {
    let v = rpc(r);
    match (r.status, v.get("result"), v.get("error")) {
        (200, Some(result), _) if result["isError"] != json!(true) => Ok(()),
        (200, Some(result), _) => {
            let text = result["content"][0]["text"].as_str().unwrap_or_default();
            Err(format!("isError {}", text.chars().take(80).collect::<String>()))
        }
        (_, _, Some(e)) => Err(format!("JSON-RPC error {} {}", e["code"], e["message"].as_str().unwrap_or_default())),
        (status, _, _) => Err(format!("HTTP {status}")),
    }
}

/// One tool as the read probe used it: calls, the arguments answered with a result, and what
/// refused the others.
#[derive(Debug, Default, Clone)]
pub struct Exercised {
    pub tool: String,
    pub calls: usize,
    pub results: Vec<String>,
    pub refusals: std::collections::BTreeSet<String>,
}

impl Exercised {
    pub fn describe(&self) -> String {
        format!(
            "probe of {}: {} calls, {} answered with a result ({}); refused: [{}]",
            self.tool,
            self.calls,
            self.results.len(),
            self.results.join(", "),
            self.refusals.iter().cloned().collect::<Vec<_>>().join("; ")
        )
    }
}

impl GateWorld {
    /// Calls every read tool the persona can list with every argument set the canaries give,
    /// searching every answer for the canary marker; the report lands in `sys`.
    pub async fn probe_read_tools(&mut self, persona: &str) -> Result<(), StepError> {
        let c = candidates(self).await?;
        let marker = self.target.canary_marker.clone();
        let (reads, writes): (Vec<_>, Vec<_>) =
            tools_of(self, persona, None).await?.into_iter().partition(|(_, t)| is_read_only(t));
        let writes_left = writes.iter().map(|(_, t)| tool_name(t)).collect();
        let mut report = ProbeReport { writes_left, ..Default::default() };
        for (server, tool) in reads {
            let name = tool_name(&tool);
            report.tools.push(name.clone());
            let mut use_of = Exercised { tool: name.clone(), ..Default::default() };
            for args in argument_sets(&tool["inputSchema"], &c) {
                self.mcp_request(persona, &server, "tools/call", json!({"name": name, "arguments": args})).await?;
                report.calls += 1;
                use_of.calls += 1;
                // Everything the answer carries is searched, an error's text included: a tool that
                // leaks in its refusal leaks all the same.
                let v = rpc(self.last()?);
                let texts =
                    v["result"]["content"].as_array().cloned().unwrap_or_default().into_iter().filter_map(|b| {
                        b["text"].as_str().map(|t| serde_json::from_str::<Value>(t).unwrap_or(json!(t)))
                    });
                let found = std::iter::once(v["result"]["structuredContent"].clone())
                    .chain(texts)
                    .chain(std::iter::once(v.clone()))
                    .find_map(|x| leak_path(&x, &marker, String::new()));
                if let Some(path) = found {
                    report.leaks.push(format!("{name} with {} leaked {path}", Value::Object(args.clone())));
                    report.leaky_tools.insert(name.clone());
                }
                match answer(self.last()?) {
                    Ok(_) => use_of.results.push(Value::Object(args.clone()).to_string()),
                    Err(why) => {
                        use_of.refusals.insert(why);
                    }
                }
            }
            self.probe.evidence.push(use_of.describe());
            report.exercised.push(use_of);
        }
        self.probe.evidence.push(format!(
            "system-mode probe: {} read tools, {} calls, {} leaks; write tools left to the write probe (HG-SYS-02): [{}]",
            report.tools.len(),
            report.calls,
            report.leaks.len(),
            report.writes_left.join(", ")
        ));
        self.sys = Some(report);
        Ok(())
    }
}
