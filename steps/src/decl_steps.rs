//! Steps that hold the target against what the rollout declares: the use case (C1), the tool
//! catalog and least privilege (C2), and the human-approval list (C6).

use crate::platform;
use crate::target::{AppMetadata, Declarations};
use crate::world::{GateWorld, StepError, expect, is_read_only, tool_name};
use cucumber::{then, when};
use reqwest::Method;
use serde_json::Value;

pub(crate) fn declarations(w: &GateWorld) -> Result<Declarations, StepError> {
    w.target.declarations.clone().ok_or_else(|| {
        StepError::NotVerifiable("the target declares no rollout ([declarations] in the target file)".into())
    })
}

#[then("the rollout declares its use case and its justification")]
async fn use_case(w: &mut GateWorld) -> Result<(), StepError> {
    let d = declarations(w)?;
    expect(!d.use_case.trim().is_empty(), "a use case", || "none".into())?;
    expect(!d.justification.trim().is_empty(), "a justification", || "none".into())?;
    w.probe.evidence.push(format!("use case: {}\njustification: {}", d.use_case, d.justification));
    Ok(())
}

/// The org's External Client Apps and the agent's among them (by its client id).
fn agent_app(w: &GateWorld) -> Result<(Vec<AppMetadata>, AppMetadata), StepError> {
    let apps = w.target.app_metadata.clone().ok_or_else(|| {
        StepError::NotVerifiable(
            "the target names no External Client App metadata (set app.metadata to the SFDX files)".into(),
        )
    })?;
    let agent =
        apps.iter().find(|a| a.consumer_key == w.target.client_id).cloned().ok_or_else(|| StepError::Expectation {
            expected: "the agent's client id among the org's External Client Apps".into(),
            observed: format!("apps {}", apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")),
        })?;
    Ok((apps, agent))
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

/// All three checks of HG-DECL-02, each problem named: an auditor sees every way the app is shared.
#[then("the agent's app lists exactly its callbacks and declared scopes, and no other integration uses it")]
async fn app_dedicated(w: &mut GateWorld) -> Result<(), StepError> {
    let (apps, app) = agent_app(w)?;
    let d = declarations(w)?;
    let mut problems = Vec::new();
    let (listed, declared) = (sorted(&app.callback_urls), sorted(&w.target.agent_callbacks));
    let extra: Vec<&String> = listed.iter().filter(|c| !declared.contains(c)).collect();
    let missing: Vec<&String> = declared.iter().filter(|c| !listed.contains(c)).collect();
    if !extra.is_empty() || !missing.is_empty() {
        problems.push(format!("callbacks not the agent's {extra:?}, the agent's missing {missing:?}"));
    }
    let (granted, wanted) = (sorted(&app.scopes), sorted(&w.target.scopes));
    if granted != wanted {
        problems.push(format!("scopes {granted:?} where {wanted:?} are declared"));
    }
    for (name, client_id) in &d.other_integrations {
        if *client_id == app.consumer_key {
            problems.push(format!("{name} is declared with the agent's client id"));
        } else if !apps.iter().any(|a| a.consumer_key == *client_id) {
            problems.push(format!("{name}'s client id is no app in the org: it has no app of its own"));
        }
    }
    w.probe.evidence.push(format!(
        "{}: callbacks {}; scopes {}; other integrations {:?}",
        app.name,
        listed.join(" "),
        granted.join(" "),
        d.other_integrations
    ));
    expect(problems.is_empty(), "an app dedicated to the agent", || problems.join("; "))
}

#[then("the org's metadata names the agent's app with its callbacks and scopes")]
async fn app_metadata_present(w: &mut GateWorld) -> Result<(), StepError> {
    let (apps, agent) = agent_app(w)?;
    w.probe.evidence.push(format!(
        "External Client Apps: {}",
        apps.iter().map(|a| format!("{} ({} callbacks)", a.name, a.callback_urls.len())).collect::<Vec<_>>().join(", ")
    ));
    expect(!agent.callback_urls.is_empty() && !agent.scopes.is_empty(), "the agent's callbacks and scopes", || {
        "none in the metadata: the checks would pass vacuously".into()
    })
}

/// Every tool the persona can list on every MCP server, with its definition.
async fn all_tools(w: &mut GateWorld, persona: &str) -> Result<Vec<Value>, StepError> {
    let mut tools = Vec::new();
    let servers: Vec<String> = w.target.mcp_servers.keys().cloned().collect();
    for server in servers {
        tools.extend(w.list_tools(persona, &server).await?);
    }
    w.probe.evidence.push(format!(
        "tools {persona} can list: {}",
        tools.iter().filter_map(|t| t["name"].as_str()).collect::<Vec<_>>().join(", ")
    ));
    Ok(tools)
}

#[when(expr = "{word} lists the tools of every MCP server")]
async fn list_all(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let tools = all_tools(w, &persona).await?;
    w.listed = Some(tools);
    Ok(())
}

/// The tools listed earlier in the scenario; none at all leaves nothing to judge, so the catalog
/// checks are not verifiable rather than vacuously passed.
pub(crate) fn listed(w: &GateWorld) -> Result<Vec<Value>, StepError> {
    let tools = w.listed.clone().ok_or(StepError::NothingSent)?;
    match tools.is_empty() {
        true => Err(StepError::NotVerifiable("the persona lists no tool on any of the target's MCP servers".into())),
        false => Ok(tools),
    }
}

#[then("every listed tool is on the declared allowlist")]
async fn allowlisted(w: &mut GateWorld) -> Result<(), StepError> {
    let d = declarations(w)?;
    let extras: Vec<String> = listed(w)?.iter().map(tool_name).filter(|n| !d.tool_allowlist.contains(n)).collect();
    expect(extras.is_empty(), "only allowlisted tools", || format!("not on the allowlist: {}", extras.join(", ")))
}

#[then("the agent can list at least one allowlisted tool")]
async fn some_allowlisted(w: &mut GateWorld) -> Result<(), StepError> {
    let d = declarations(w)?;
    let n = listed(w)?.iter().map(tool_name).filter(|n| d.tool_allowlist.contains(n)).count();
    expect(n > 0, "at least one allowlisted tool listed", || "none".into())
}

#[then("every tool with side effects is marked and listed as approval-required")]
async fn side_effects(w: &mut GateWorld) -> Result<(), StepError> {
    let d = declarations(w)?;
    let mut problems = Vec::new();
    for t in listed(w)? {
        let n = tool_name(&t);
        let read_only = is_read_only(&t);
        if read_only {
            continue;
        }
        if d.read_only_phase {
            problems.push(format!("{n} has side effects in a read-only rollout"));
        }
        if !d.approval_required.contains(&n) {
            problems.push(format!("{n} is not approval-required"));
        }
        let overwrites =
            ["delete", "update", "remove", "overwrite", "upsert"].iter().any(|k| n.to_ascii_lowercase().contains(k));
        if overwrites && t["annotations"]["destructiveHint"] != Value::Bool(true) {
            problems.push(format!("{n} deletes or overwrites without destructiveHint"));
        }
    }
    expect(problems.is_empty(), "side effects marked, approved and allowed by the phase", || problems.join("; "))
}

#[then("the rollout declares which tools need a human's approval")]
async fn approvals_declared(w: &mut GateWorld) -> Result<(), StepError> {
    let d = declarations(w)?;
    expect(d.approval_declared, "an approval_required list in the declarations", || "none is declared".into())?;
    w.probe.evidence.push(format!("approval required: [{}]", d.approval_required.join(", ")));
    if d.approval_required.is_empty() {
        // An empty list says "nothing here needs a human": true only if nothing has side effects.
        let writers: Vec<String> = listed(w)?.iter().filter(|t| !is_read_only(t)).map(tool_name).collect();
        expect(writers.is_empty(), "an empty approval list only where every tool is read-only", || {
            format!("no approval declared, yet these tools are not read-only: {}", writers.join(", "))
        })?;
    }
    Ok(())
}

#[then("no broad tool is offered unless the rollout names it")]
async fn broad(w: &mut GateWorld) -> Result<(), StepError> {
    let d = declarations(w)?;
    let broad: Vec<String> = listed(w)?
        .iter()
        .map(tool_name)
        .filter(|n| crate::world::is_broad(n))
        .filter(|n| !d.broad_tools.contains(n))
        .collect();
    expect(broad.is_empty(), "no undeclared broad tool", || format!("undeclared: {}", broad.join(", ")))
}

#[then("no tool definition carries a credential")]
async fn no_credentials(w: &mut GateWorld) -> Result<(), StepError> {
    let patterns = [
        (r"sk-[A-Za-z0-9_-]{16,}", "an API key (sk-...)"),
        (r"AKIA[0-9A-Z]{16}", "an AWS access key"),
        (r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", "a JWT"),
        (r"(?i)bearer\s+[A-Za-z0-9._~+/-]{16,}", "a bearer token"),
        (r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}", "a Salesforce session id"),
        (r"(?i)(password|passwd|secret|api[_-]?key|token)\s*[:=]\s*\S{6,}", "an inline secret"),
    ];
    let mut found = Vec::new();
    for t in listed(w)? {
        let text = t.to_string();
        for (p, what) in &patterns {
            if regex::Regex::new(p).is_ok_and(|re| re.is_match(&text)) {
                found.push(format!("{} carries {what}", tool_name(&t)));
            }
        }
    }
    expect(found.is_empty(), "no credential in names, descriptions, schemas or annotations", || found.join("; "))
}

#[then(expr = "{word} sees no object beyond its action list")]
async fn objects_within(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let d = declarations(w)?;
    w.rest(&persona, Method::GET, "/sobjects", None).await?;
    let r = w.last()?;
    let names: Option<Vec<String>> = r.json().and_then(|v| {
        v["sobjects"].as_array().map(|a| a.iter().filter_map(|o| o["name"].as_str().map(str::to_string)).collect())
    });
    // A refused or unreadable list is no evidence either way (the twin shows the reach it needs).
    let names = names.filter(|_| r.status == 200).ok_or_else(|| {
        StepError::NotVerifiable(format!(
            "the persona's object list could not be read: {} {}",
            r.status,
            r.body.chars().take(160).collect::<String>()
        ))
    })?;
    // The platform's own setup objects, and the objects associated with a listed one (its share,
    // history, feed), come with every user or with the listed object (`platform`).
    let listed = |n: &str| d.action_list.contains_key(n);
    let extra: Vec<&String> = names
        .iter()
        .filter(|n| !listed(n) && !platform::EVERY_USER_OBJECTS.contains(&n.as_str()))
        .filter(|n| !platform::parent_of_associated(n).is_some_and(|p| listed(&p)))
        .collect();
    w.probe.evidence.push(format!("objects {persona} sees: {}", names.join(", ")));
    expect(extra.is_empty(), "no object beyond the action list", || format!("beyond it: {extra:?}"))
}

#[then(expr = "{word} reads and edits no field beyond its action list")]
async fn fields_within(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let d = declarations(w)?;
    let mut problems = Vec::new();
    for (object, (read, edit)) in &d.action_list {
        for f in w.describe_fields(&persona, object).await? {
            let n = f["name"].as_str().unwrap_or_default().to_string();
            let editable = f["updateable"] == Value::Bool(true) || f["createable"] == Value::Bool(true);
            if platform::SYSTEM_FIELDS.contains(&n.as_str()) {
                // Everyone who reads the record reads these; editing the owner hands it away.
                if editable && platform::POWERFUL_EDITS.contains(&n.as_str()) && !edit.contains(&n) {
                    problems.push(format!("{object}.{n} editable (the persona can give records away)"));
                }
                continue;
            }
            let may_read = read.contains(&n) || edit.contains(&n);
            if !may_read {
                problems.push(format!("{object}.{n} readable"));
            }
            if editable && !edit.contains(&n) {
                problems.push(format!("{object}.{n} editable"));
            }
        }
    }
    expect(problems.is_empty(), "no field beyond the action list", || problems.join(", "))
}

/// Rights that make a user an administrator whatever its object permissions say.
const ADMIN_RIGHTS: &[&str] =
    &["ViewAllData", "ModifyAllData", "ModifyMetadata", "CustomizeApplication", "ManageUsers", "AuthorApex"];

/// The persona's own effective admin-level rights, read from UserPermissionAccess as the persona.
pub(crate) async fn admin_rights(w: &mut GateWorld, persona: &str) -> Result<Vec<String>, StepError> {
    let fields: Vec<String> = ADMIN_RIGHTS.iter().map(|r| format!("Permissions{r}")).collect();
    let soql = format!("SELECT {} FROM UserPermissionAccess", fields.join(", "));
    w.rest(persona, Method::GET, &crate::world::query_path(&soql), None).await?;
    let r = w.last()?;
    let row = r.json().and_then(|v| v["records"].get(0).cloned()).ok_or_else(|| StepError::Expectation {
        expected: "the persona's UserPermissionAccess row".into(),
        observed: format!("{} {}", r.status, r.body.chars().take(160).collect::<String>()),
    })?;
    Ok(ADMIN_RIGHTS
        .iter()
        .filter(|p| row[format!("Permissions{p}")] == Value::Bool(true))
        .map(|p| p.to_string())
        .collect())
}

#[then(expr = "{word} holds no admin-level right")]
async fn no_admin_rights(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let rights = admin_rights(w, &persona).await?;
    expect(
        rights.is_empty(),
        "none of ViewAllData, ModifyAllData, ModifyMetadata, CustomizeApplication, ManageUsers, AuthorApex",
        || rights.join(", "),
    )?;
    let username = w.persona(&persona)?.username;
    let user = crate::world::soql_string(&username);
    let profile_id =
        admin_reads(w, &format!("SELECT ProfileId FROM User WHERE Username = {user}"), "ProfileId").await?;
    let id = crate::world::soql_string(&profile_id);
    let profile = admin_reads(w, &format!("SELECT Name FROM Profile WHERE Id = {id}"), "Name").await?;
    w.probe.evidence.push(format!("{username}'s profile: {profile}"));
    expect(!profile.to_ascii_lowercase().contains("administrator"), "not an administrator profile", || profile)
}

/// One field of the first row the admin's query returns. A query the org refuses, or that finds
/// nothing, is not verifiable with what came back: never an empty value that passes a check.
async fn admin_reads(w: &mut GateWorld, soql: &str, field: &str) -> Result<String, StepError> {
    w.rest("admin", Method::GET, &crate::world::query_path(soql), None).await?;
    let r = w.last()?;
    let value = r.json().and_then(|v| v["records"][0][field].as_str().map(str::to_string));
    value.filter(|_| r.status == 200).ok_or_else(|| {
        StepError::NotVerifiable(format!(
            "the admin could not read {field} ({soql}): {} {}",
            r.status,
            r.body.chars().take(160).collect::<String>()
        ))
    })
}

#[then(expr = "{word} holds the admin-level right {word}")]
async fn has_admin_right(w: &mut GateWorld, persona: String, right: String) -> Result<(), StepError> {
    let rights = admin_rights(w, &persona).await?;
    expect(rights.contains(&right), format!("{right} held"), || format!("{rights:?}"))
}

#[then(expr = "{word} sees every object and field on its action list")]
async fn action_list_visible(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let d = declarations(w)?;
    let mut missing = Vec::new();
    for (object, (read, edit)) in &d.action_list {
        let names: Vec<String> = w
            .describe_fields(&persona, object)
            .await?
            .iter()
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .collect();
        if names.is_empty() {
            missing.push(object.clone());
            continue;
        }
        missing.extend(read.iter().chain(edit).filter(|f| !names.contains(f)).map(|f| format!("{object}.{f}")));
    }
    expect(missing.is_empty(), "every declared object and field visible to the persona", || {
        format!("not visible: {}", missing.join(", "))
    })
}

/// HG-ECA-*: one setting of the agent's app, as its metadata states it, against the rollout's rule.
#[then(expr = "the agent's app has {eca_setting} as the rollout requires")]
async fn eca_setting(w: &mut GateWorld, setting: crate::eca::Setting) -> Result<(), StepError> {
    let app = eca_app(w)?;
    let verdict = crate::eca::judge(setting, &app, &w.target).map_err(StepError::NotVerifiable)?;
    match verdict {
        Ok(seen) => {
            w.probe.evidence.push(format!("{}: {setting:?} = {seen}", app.name));
            Ok(())
        }
        Err((expected, observed)) => Err(StepError::Expectation { expected, observed }),
    }
}

/// The positive twin: the metadata is the agent's app's and states the setting, so the check
/// above judged something that exists.
#[then(expr = "the org's metadata states {eca_setting} of the agent's app")]
async fn eca_stated(w: &mut GateWorld, setting: crate::eca::Setting) -> Result<(), StepError> {
    let app = eca_app(w)?;
    let seen = crate::eca::stated(setting, &app);
    w.probe.evidence.push(format!("{} ({}): {setting:?} = {seen:?}", app.name, app.consumer_key));
    expect(seen.is_some(), format!("{setting:?} stated in {}'s metadata", app.name), || "no such setting".into())
}

/// The agent's app from the org's metadata; External Client Apps are Salesforce's.
fn eca_app(w: &GateWorld) -> Result<AppMetadata, StepError> {
    if w.target.flavor != crate::target::Flavor::Salesforce {
        return Err(StepError::NotApplicable("External Client Apps are a Salesforce org's".into()));
    }
    agent_app(w).map(|(_, app)| app)
}
