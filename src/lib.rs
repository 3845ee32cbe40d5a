//! headless-gate: runs the Gherkin controls against a target, writes the reports, and says whether
//! the rollout may go.

pub mod app_metadata;
pub mod bench;
pub mod catalog;
pub mod file_target;
pub mod login_cmd;
pub mod mock_target;
pub mod reports;
pub mod results;
pub mod selftest;
pub mod target_file;

use cucumber::World as _;
use cucumber::event::ScenarioFinished;
use cucumber::tag::Ext as _;
use results::{ControlResult, Status};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use steps::GateWorld;
use steps::target::McpEra;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A target file: run against a real deployment instead of the embedded mock.
    pub target: Option<PathBuf>,
    /// The mock's org file; the compiled-in default fixture when absent.
    pub org: Option<PathBuf>,
    /// SHOULD controls count as MUST: downgrades in the target file are ignored.
    pub strict: bool,
    pub features: PathBuf,
    /// A cucumber tag expression, e.g. `@C4 and not @HG-PERM-07`.
    pub tags: Option<String>,
    pub concurrency: usize,
    pub reports: PathBuf,
    /// Faults to switch on in the embedded mock (names from `mock_org::faults::TABLE`).
    pub faults: Vec<String>,
    /// The MCP protocol the embedded mock is spoken to in (`McpEra::CHOICES`); default 2025-11-25.
    /// A target file states its own (`endpoints.mcp_protocol`).
    pub mcp_protocol: Option<String>,
}

impl RunOptions {
    /// Every feature against the embedded mock's default org, 8 scenarios at once: the options
    /// the CLI's `run` has with no flags. Callers change what they need with `..`.
    pub fn mock(features: PathBuf, reports: PathBuf) -> RunOptions {
        RunOptions {
            target: None,
            org: None,
            strict: false,
            features,
            tags: None,
            concurrency: 8,
            reports,
            faults: Vec::new(),
            mcp_protocol: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
    Interrupted,
}

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("{0}")]
    OrgFile(#[from] mock_org::OrgFileError),
    #[error("cannot start the mock org: {0}")]
    Start(std::io::Error),
    #[error("--tags: {0}")]
    Tags(String),
    #[error("features folder {0} does not exist")]
    Features(String),
    #[error("{0}")]
    Target(#[from] file_target::TargetError),
    #[error("{0}")]
    TargetFile(#[from] target_file::TargetFileError),
    #[error("--org, --fault and --mcp-protocol apply to the embedded mock only, not with --target")]
    MockOptionWithTarget,
    #[error("--mcp-protocol: '{0}' is not one of 2025-11-25 (sessions) or 2026-07-28 (stateless)")]
    McpProtocol(String),
    #[error("--fault: {0}")]
    Fault(String),
    #[error("cannot write the reports to {dir}: {source}")]
    Reports { dir: String, source: std::io::Error },
}

pub struct RunOutcome {
    pub verdict: Verdict,
    pub results: Vec<ControlResult>,
    /// Every credential the run saw, so the project's own tests can prove none reached a report.
    pub secrets: steps::evidence::Secrets,
    /// HTTP requests the embedded mock answered (none for a target file).
    pub requests_served: Option<u64>,
}

fn now() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
    mock_org::clock::format_datetime(ms)
}

/// The text of a failed step: our steps fail with "expected ..., observed ..." messages.
fn failure_text(ev: &ScenarioFinished) -> Option<String> {
    match ev {
        ScenarioFinished::StepPassed => None,
        ScenarioFinished::StepSkipped => Some("a step matched no step definition: the control was not run".into()),
        ScenarioFinished::BeforeHookFailed(_) => Some("the scenario's set-up failed".into()),
        ScenarioFinished::StepFailed(_, _, err) => Some(match err {
            cucumber::event::StepError::Panic(info) => info
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| info.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the step failed".into()),
            other => other.to_string(),
        }),
    }
}

/// Runs every selected scenario against the target (a target file, or the embedded mock org),
/// writes the reports (also when interrupted by Ctrl-C) and gives the verdict.
pub async fn run(opts: RunOptions) -> Result<RunOutcome, GateError> {
    if !opts.features.is_dir() {
        return Err(GateError::Features(opts.features.display().to_string()));
    }
    let cli: cucumber::cli::Opts<_, _, _, cucumber::cli::Empty> = cucumber::cli::Opts::default();
    // The tag expression is evaluated in our own filter: given to cucumber's CLI options, it would
    // replace the filter, and with it the exclusions.
    let selection: Option<cucumber::gherkin::tagexpr::TagOperation> = match &opts.tags {
        Some(t) => Some(t.parse().map_err(|e| GateError::Tags(format!("{e}")))?),
        None => None,
    };
    // Scenarios find their target through a process-wide slot (cucumber builds Worlds without
    // arguments), so runs in one process take turns.
    static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_RUN_AT_A_TIME.lock().await;
    let started = now();
    let mut faults_on: Vec<String> = Vec::new();
    let (target, mock, file) = match &opts.target {
        Some(path) => {
            if opts.org.is_some() || !opts.faults.is_empty() || opts.mcp_protocol.is_some() {
                return Err(GateError::MockOptionWithTarget);
            }
            let f = target_file::load(path)?;
            (file_target::build(&path.display().to_string(), &f).await?, None, Some(f))
        }
        None => {
            let era = match opts.mcp_protocol.as_deref() {
                None => McpEra::Sessions,
                Some(v) => McpEra::parse(v).ok_or_else(|| GateError::McpProtocol(v.into()))?,
            };
            let mut org = match &opts.org {
                Some(p) => mock_org::Org::load(p)?,
                None => mock_org::Org::default_fixture(),
            };
            for f in &opts.faults {
                org.enable_fault(f).map_err(GateError::Fault)?;
            }
            faults_on = org.faults.names().into_iter().map(str::to_string).collect();
            let declarations = mock_target::declarations_for(opts.org.as_deref())?;
            let running = mock_org::start(org).await.map_err(GateError::Start)?;
            (mock_target::for_mock(&running, declarations, Default::default(), era), Some(running), None)
        }
    };
    let target = steps::target::install(target);
    // Excluded controls with the reason each report states.
    let mut excluded: Vec<(String, String)> = file
        .iter()
        .flat_map(|f| f.exclude.iter().map(|x| (x.id.clone(), format!("excluded by the target file: {}", x.reason))))
        .collect();
    let mut auto_exclude = |id: &str, why: &str| {
        if !excluded.iter().any(|(x, _)| x == id) {
            excluded.push((id.into(), why.into()));
        }
    };
    if target.per_user_requests_per_minute.is_none() {
        auto_exclude(
            "HG-LIM-01",
            "not run: opt-in, since its burst spends the org's API limits (set limits.per_user_requests_per_minute)",
        );
    }
    if target.app_metadata.is_none() {
        auto_exclude(
            "HG-DECL-02",
            "not run: the target names no External Client App metadata to read (set app.metadata)",
        );
    }
    if target.apex_root.is_none() {
        for id in ["HG-SYS-03", "HG-SYS-04"] {
            auto_exclude(id, "not run: the target names no Apex source to scan (set apex.source and apex.tools)");
        }
    }
    // Scenarios that cannot run on this target, by tag, with the reason (the control's other
    // scenarios still run).
    let mut not_applicable: Vec<(&'static str, String)> = Vec::new();
    if target.mcp_era == McpEra::Stateless {
        not_applicable.push((
            "mcp-sessions",
            format!("not run: the target speaks MCP {}, which has no sessions", McpEra::Stateless.version()),
        ));
    }
    if !target.mcp_servers.contains_key("all") && !target.other_mcp_servers.contains_key("all") {
        not_applicable.push((
            "mcp-writes",
            "not run: the target names no MCP server with the write tools (set endpoints.other_mcp_servers.all)".into(),
        ));
    }
    if target.flavor == steps::target::Flavor::OAuth21 {
        not_applicable.push((
            "client-introspection",
            "not run: RFC 7662 leaves introspection to resource servers; a generic OAuth 2.1 server's public client may not introspect".into(),
        ));
    }
    if !target.personas.contains_key("admin") {
        not_applicable.push(("org-admin", "not run: the target names no admin persona (personas.admin)".into()));
    }
    if target.flavor == steps::target::Flavor::OAuth21 && target.agent_callbacks.len() == 1 {
        not_applicable.push((
            "redirect-omitted",
            "not run: the agent's client registers one callback, which OAuth 2.1 lets an authorization request omit"
                .into(),
        ));
    }
    let downgraded: Vec<(String, String)> = match (&file, opts.strict) {
        (Some(f), false) => f.downgrade.iter().map(|x| (x.id.clone(), x.reason.clone())).collect(),
        _ => Vec::new(),
    };
    let collected: Arc<Mutex<Vec<ControlResult>>> = Arc::default();
    let (sink, skipped) = (collected.clone(), collected.clone());
    let (excluded_in_filter, downgrades) = (excluded.clone(), downgraded.clone());
    let not_applicable_in_filter = not_applicable.clone();
    // Scenarios are independent (each World signs in for itself), so they run concurrently; no
    // retries anywhere: a control that passes only on a second try has failed.
    let cucumber = GateWorld::cucumber()
        .max_concurrent_scenarios(opts.concurrency.max(1))
        .fail_on_skipped()
        .after(move |feature, _, scenario, ev, world| {
            let sink = sink.clone();
            let downgrades = downgrades.clone();
            Box::pin(async move {
                let tags: Vec<String> = feature.tags.iter().chain(scenario.tags.iter()).cloned().collect();
                let mut r = ControlResult::from_tags(&scenario.name, &feature.name, &tags);
                if let Some(w) = world {
                    w.run_cleanup().await;
                    r.duration_ms = w.started.elapsed().as_millis();
                    r.evidence = w.probe.evidence.iter().map(|e| w.probe.secrets.redact(e)).collect();
                }
                if let Some(text) = failure_text(ev) {
                    r.status = Status::Failed;
                    r.message = Some(results::one_line(&text));
                    // Only a SHOULD can be downgraded; a MUST always fails the gate.
                    if r.severity == "SHOULD" {
                        r.downgraded = downgrades.iter().find(|(id, _)| *id == r.id).map(|(_, why)| why.clone());
                    }
                }
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(r);
            })
        })
        .with_cli(cli)
        .filter_run(opts.features.clone(), move |feature, _, scenario| {
            let tags: Vec<String> = feature.tags.iter().chain(scenario.tags.iter()).cloned().collect();
            if selection.as_ref().is_some_and(|s| !s.eval(tags.iter())) {
                return false;
            }
            let mut r = ControlResult::from_tags(&scenario.name, &feature.name, &tags);
            let by_tag = not_applicable_in_filter.iter().find(|(tag, _)| tags.iter().any(|t| t == tag));
            match excluded_in_filter.iter().find(|(id, _)| *id == r.id).map(|(_, why)| why).or(by_tag.map(|(_, w)| w)) {
                Some(why) => {
                    r.status = Status::Excluded;
                    r.message = Some(why.clone());
                    skipped.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                    false
                }
                None => true,
            }
        });
    let interrupted = tokio::select! {
        _ = cucumber => false,
        _ = interruption() => true,
    };
    let requests_served = mock.as_ref().map(|m| m.state.requests_served.load(std::sync::atomic::Ordering::Relaxed));
    if let Some(m) = mock {
        m.shutdown().await;
    }
    let mut results = collected.lock().unwrap_or_else(|p| p.into_inner()).clone();
    results.sort_by(|a, b| a.id.cmp(&b.id).then(a.title.cmp(&b.title)));
    let info = reports::RunInfo {
        tool: "headless-gate",
        version: env!("CARGO_PKG_VERSION"),
        target: target.name.clone(),
        started,
        finished: now(),
        interrupted,
        exclusions: excluded
            .iter()
            .map(|(id, why)| format!("{id}: {why}"))
            .chain(not_applicable.iter().map(|(tag, why)| format!("scenarios tagged @{tag}: {why}")))
            .collect(),
        downgrades: downgraded.iter().map(|(id, why)| format!("{id}: {why}")).collect(),
        strict: opts.strict,
        faults: faults_on,
    };
    reports::write_all(&opts.reports, &info, &results)
        .map_err(|source| GateError::Reports { dir: opts.reports.display().to_string(), source })?;
    let verdict = match (interrupted, reports::gate_passed(&results)) {
        (true, _) => Verdict::Interrupted,
        (false, true) => Verdict::Passed,
        (false, false) => Verdict::Failed,
    };
    Ok(RunOutcome { verdict, results, secrets: target.secrets.clone(), requests_served })
}

/// Ctrl-C, or SIGTERM (what CI sends a cancelled or timed-out job): either ends the run with
/// partial reports. A signal that cannot be watched never fires, rather than ending the run.
async fn interruption() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// The console summary: the checklist table, then the gate verdict.
pub fn summary(outcome: &RunOutcome) -> String {
    let mut s = String::from("\nRollout checklist\n");
    for i in results::checklist(&outcome.results) {
        s.push_str(&format!(
            "  {}  {:<56} {:<14} ({} passed, {} failed)\n",
            i.item,
            i.title,
            i.verdict.label(),
            i.passed,
            i.failed
        ));
    }
    let failed: Vec<&ControlResult> = outcome.results.iter().filter(|r| r.status == Status::Failed).collect();
    let run = outcome.results.iter().filter(|r| r.status != Status::Excluded).count();
    let controls: std::collections::BTreeSet<&str> =
        outcome.results.iter().filter(|r| r.status != Status::Excluded).map(|r| r.id.as_str()).collect();
    for r in &failed {
        let downgraded = r.downgraded.as_ref().map(|why| format!(" (SHOULD, downgraded: {why})")).unwrap_or_default();
        s.push_str(&format!("  FAILED {}: {}{downgraded}\n", r.title, r.message.as_deref().unwrap_or_default()));
    }
    for r in outcome.results.iter().filter(|r| r.status == Status::Excluded) {
        s.push_str(&format!("  EXCLUDED {}: {}\n", r.title, r.message.as_deref().unwrap_or_default()));
    }
    let label = match outcome.verdict {
        Verdict::Passed => "PASSED",
        Verdict::Failed => "FAILED",
        Verdict::Interrupted => "INTERRUPTED (reports are partial)",
    };
    s.push_str(&format!("{} controls in {run} scenarios, {} failed\ngate: {label}\n", controls.len(), failed.len()));
    s
}
