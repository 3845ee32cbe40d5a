//! headless-gate: runs the Gherkin controls against a target, writes the reports, and says whether
//! the rollout may go.

pub mod app_metadata;
pub mod audit_reconcile;
pub mod baseline;
pub mod bench;
pub mod catalog;
pub mod file_target;
pub mod latency_proxy;
pub mod login_cmd;
pub mod mock_target;
pub mod progress;
pub mod reports;
pub mod results;
pub mod run_files;
pub mod selftest;
pub mod target_file;

use cucumber::World as _;
use cucumber::event::ScenarioFinished;
use cucumber::tag::Ext as _;
use reports::RunInfo;
pub use results::GateVerdict;
use results::{ControlResult, Outcome};
use std::path::{Path, PathBuf};
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
    /// A folder of the team's own feature files, run beside the shipped ones (compiled in).
    pub features: Option<PathBuf>,
    /// A cucumber tag expression, e.g. `@C4 and not @HG-PERM-07`.
    pub tags: Option<String>,
    /// Print every step as it runs (cucumber's own output) instead of a progress bar.
    pub verbose: bool,
    /// Also write the evidence bundle (reports, redacted target file, version, catalog, manifest).
    pub bundle: Option<PathBuf>,
    pub concurrency: usize,
    pub reports: PathBuf,
    /// Faults to switch on in the embedded mock (names from `mock_org::faults::TABLE`).
    pub faults: Vec<String>,
    /// The MCP protocol the embedded mock is spoken to in (`McpEra::CHOICES`); default 2025-11-25.
    /// A target file states its own (`endpoints.mcp_protocol`).
    pub mcp_protocol: Option<String>,
    /// A drift baseline (`headless-gate baseline write`): a deny that became an allow since it
    /// fails the gate, and `drift.md` names every change.
    pub baseline: Option<PathBuf>,
}

impl RunOptions {
    /// Every feature against the embedded mock's default org, 8 scenarios at once: the options
    /// the CLI's `run` has with no flags. Callers change what they need with `..`.
    pub fn mock(reports: PathBuf) -> RunOptions {
        RunOptions {
            target: None,
            org: None,
            strict: false,
            features: None,
            tags: None,
            verbose: false,
            bundle: None,
            concurrency: 8,
            reports,
            faults: Vec::new(),
            mcp_protocol: None,
            baseline: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("{0}")]
    OrgFile(#[from] mock_org::OrgFileError),
    #[error("cannot start the mock org: {0}")]
    Start(std::io::Error),
    #[error("--tags: {0}")]
    Tags(String),
    #[error("{0}")]
    Features(String),
    /// A feature file that does not parse, a folder missing catalog controls, a control that
    /// produced no row: the run cannot be trusted to have evidenced what it says.
    #[error("{0}")]
    Catalog(String),
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
    #[error("--baseline: {0}")]
    Baseline(String),
}

pub struct RunOutcome {
    pub verdict: results::GateVerdict,
    /// What decided the verdict, one line each.
    pub reasons: Vec<String>,
    pub results: Vec<ControlResult>,
    /// Every credential the run saw, so the project's own tests can prove none reached a report.
    pub secrets: steps::evidence::Secrets,
    /// HTTP requests the embedded mock answered (none for a target file).
    pub requests_served: Option<u64>,
    /// Changes the run made to the org and could not undo.
    pub undo_outstanding: Vec<String>,
    /// The requests the run sent to the target, by kind.
    pub requests: steps::traffic::Summary,
}

/// How long an interrupted run waits for the scenarios under way to run their undo.
const UNDO_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// The message of a row the run's interruption cut short or never reached.
const INTERRUPTED: &str = "the run was interrupted before this control finished";

impl RunInfo {
    /// A run's facts with nothing ruled by a target file (the caller adds what applies).
    fn new(target: String, started: String, judgement: results::Judgement, interrupted: bool) -> RunInfo {
        RunInfo {
            tool: "headless-gate",
            version: env!("CARGO_PKG_VERSION"),
            target,
            source: "mock-org/orgs/default.toml".into(),
            started,
            finished: now(),
            interrupted,
            verdict: judgement.verdict,
            reasons: judgement.reasons,
            exclusions: Vec::new(),
            expired: Vec::new(),
            not_run: Vec::new(),
            downgrades: Vec::new(),
            strict: false,
            faults: Vec::new(),
            undo_outstanding: Vec::new(),
            client_deviations: Vec::new(),
            requests: Default::default(),
            drift: None,
        }
    }
}

/// The command that runs one control again as this run did: the same target (or org file, faults
/// and protocol), that control's tag. Paths are quoted for a POSIX shell; no secret is in it, since
/// the target file names the variables that hold them.
fn reproduce(opts: &RunOptions, id: &str) -> String {
    let quote = |s: &str| {
        if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=@:".contains(c)) {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    let mut cmd = String::from("headless-gate run");
    let mut flag = |name: &str, value: &str| cmd.push_str(&format!(" --{name} {}", quote(value)));
    if let Some(t) = &opts.target {
        flag("target", &t.display().to_string());
    }
    if let Some(o) = &opts.org {
        flag("org", &o.display().to_string());
    }
    if let Some(f) = &opts.features {
        flag("features", &f.display().to_string());
    }
    for f in &opts.faults {
        flag("fault", f);
    }
    if let Some(p) = &opts.mcp_protocol {
        flag("mcp-protocol", p);
    }
    flag("tags", &format!("@{id}"));
    if opts.strict {
        cmd.push_str(" --strict");
    }
    cmd
}

/// Writes `--bundle` from the reports just written: the file that described the target with every
/// secret the run knew replaced (and, in an org file, every password and consumer secret), the
/// catalog, the version and the manifest.
fn write_bundle(opts: &RunOptions, secrets: &steps::evidence::Secrets) -> Result<(), GateError> {
    let Some(path) = &opts.bundle else { return Ok(()) };
    let failed = |source: std::io::Error| GateError::Reports { dir: path.display().to_string(), source };
    let source = source_of(opts);
    let text = match opts.target.as_ref().or(opts.org.as_ref()) {
        Some(file) => std::fs::read_to_string(file).map_err(failed)?,
        None => mock_org::Org::DEFAULT_TEXT.to_string(),
    };
    let in_org = regex::Regex::new(r#"(?im)^(\s*(?:password|consumerSecret)\s*=\s*)"[^"\n]*""#).expect("valid");
    let text = in_org.replace_all(&secrets.redact(&text), r#"${1}"[REDACTED]""#).into_owned();
    let name = Path::new(&source).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(source.clone());
    let catalog = catalog::render_table(&catalog::shipped());
    reports::bundle::write(path, &opts.reports, (&name, &text), &catalog).map_err(failed)
}

/// The file that described the target, as given: the target file, else the mock's org file.
fn source_of(opts: &RunOptions) -> String {
    opts.target
        .as_ref()
        .or(opts.org.as_ref())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "mock-org/orgs/default.toml".into())
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

/// A tag expression checked against the catalog: every tag it names exists on some control, and
/// it selects at least one. A typo would otherwise drop a whole area silently.
fn selection(expr: &str, catalog: &[ControlResult]) -> Result<cucumber::gherkin::tagexpr::TagOperation, GateError> {
    let op: cucumber::gherkin::tagexpr::TagOperation = expr.parse().map_err(|e| GateError::Tags(format!("{e}")))?;
    let known: std::collections::BTreeSet<&str> =
        catalog.iter().flat_map(|c| c.tags.iter().map(String::as_str)).collect();
    for tag in expr.split(|c: char| c.is_whitespace() || c == '(' || c == ')').filter_map(|w| w.strip_prefix('@')) {
        if !known.contains(tag) {
            return Err(GateError::Tags(format!(
                "@{tag} is not a tag of any control (headless-gate controls lists the IDs)"
            )));
        }
    }
    if !catalog.iter().any(|c| op.eval(c.tags.iter())) {
        return Err(GateError::Tags(format!("'{expr}' selects no control")));
    }
    Ok(op)
}

/// Rows that cannot run on this target, decided before the run from what it declares, by tag:
/// not applicable where the catalog says the control does not apply to the target's kind, not
/// verifiable (with the key to set) where the target lacks what the control needs.
fn not_run_here(target: &steps::target::Target) -> Vec<(&'static str, Outcome, String)> {
    let mut out = Vec::new();
    if target.mcp_era == McpEra::Stateless {
        out.push((
            "mcp-sessions",
            Outcome::NotApplicable,
            format!("the target speaks MCP {}, which has no sessions", McpEra::Stateless.version()),
        ));
    }
    if target.flavor == steps::target::Flavor::OAuth21 {
        out.push((
            "client-introspection",
            Outcome::NotApplicable,
            "RFC 7662 leaves introspection to resource servers; a generic OAuth 2.1 server's public client may not introspect".into(),
        ));
    }
    if target.flavor == steps::target::Flavor::OAuth21 && target.agent_callbacks.len() == 1 {
        out.push((
            "redirect-omitted",
            Outcome::NotApplicable,
            "the agent's client registers one callback, which OAuth 2.1 lets an authorization request omit".into(),
        ));
    }
    match &target.token_audience {
        steps::target::TokenAudience::PerServer => out.push((
            "audience-platform",
            Outcome::NotApplicable,
            "the target declares per-server token audiences (endpoints.token_audience)".into(),
        )),
        steps::target::TokenAudience::Platform(aud) => out.push((
            "audience-per-server",
            Outcome::NotApplicable,
            format!("the target declares one platform audience for every server's tokens ({aud}), so no server refuses another's"),
        )),
    }
    if target.flavor == steps::target::Flavor::OAuth21 {
        out.push((
            "salesforce-rest",
            Outcome::NotApplicable,
            "a generic OAuth 2.1 stack has no Salesforce REST API".into(),
        ));
    }
    if !target.mcp_servers.contains_key("all") && !target.other_mcp_servers.contains_key("all") {
        out.push((
            "mcp-writes",
            Outcome::NotVerifiable,
            "the target names no MCP server with the write tools (set endpoints.other_mcp_servers.all)".into(),
        ));
    }
    if let Some(why) = target.unavailable.get(target.persona_name("admin")) {
        out.push(("org-admin", Outcome::NotVerifiable, format!("the admin persona sits out this run: {why}")));
    } else if target.persona_for("admin").is_none() {
        out.push((
            "org-admin",
            Outcome::NotVerifiable,
            "the target names no admin persona (add personas.admin, or roles.admin naming one)".into(),
        ));
    }
    out
}

/// An exclusion from the target file as the run honours it.
#[derive(Debug, Clone)]
struct Excluded {
    reason: String,
    /// Still run, for information (a stale exclusion shows).
    run: bool,
}

/// What the target file rules about rows: exclusions by ID (expired ones left out) and SHOULD
/// downgrades. `settle` is the one place a row's own outcome meets them, for rows that ran and
/// rows decided before the run alike.
#[derive(Debug, Clone, Default)]
struct Rulings {
    excluded: std::collections::BTreeMap<String, Excluded>,
    downgrades: Vec<(String, String)>,
}

impl Rulings {
    /// An excluded row becomes excluded, keeping what it would have been (`informational`,
    /// where it was decided at all); a failing or not verifiable SHOULD is marked downgraded.
    fn settle(&self, r: &mut ControlResult, decided: bool) {
        if let Some(x) = self.excluded.get(&r.id) {
            r.informational = decided.then_some(r.status);
            (r.status, r.message) = (Outcome::Excluded, Some(x.reason.clone()));
        } else if r.severity == "SHOULD" && r.fails_gate() {
            r.downgraded = self.downgrades.iter().find(|(id, _)| *id == r.id).map(|(_, why)| why.clone());
        }
    }

    /// Excluded with `run = false`: not run at all.
    fn keeps_off(&self, id: &str) -> bool {
        self.excluded.get(id).is_some_and(|x| !x.run)
    }
}

/// An exclusion's date as the reports show it.
fn until(x: &target_file::Exclusion) -> String {
    x.expires.as_deref().map(|d| format!(" (until {d})")).unwrap_or_default()
}

/// Runs every selected scenario against the target (a target file, or the embedded mock org),
/// writes the reports (also when interrupted) with every catalog control and its outcome, and
/// gives the verdict.
pub async fn run(opts: RunOptions) -> Result<RunOutcome, GateError> {
    // Read before anything runs: a baseline that cannot be read is a usage error, not a late surprise.
    let baseline = opts.baseline.as_deref().map(baseline::Baseline::read).transpose().map_err(GateError::Baseline)?;
    // The shipped feature files (and a team's own) written out for cucumber; removed at the end.
    let files = run_files::RunFiles::new(opts.features.as_deref()).map_err(GateError::Features)?;
    let catalog = catalog::for_run(&files.features()).map_err(GateError::Catalog)?;
    // The tag expression is evaluated in our own filter: given to cucumber's CLI options, it would
    // replace the filter, and with it the exclusions.
    let selection = opts.tags.as_deref().map(|t| selection(t, &catalog)).transpose()?;
    let selected: std::collections::BTreeSet<String> = catalog
        .iter()
        .filter(|c| selection.as_ref().is_none_or(|s| s.eval(c.tags.iter())))
        .map(|c| c.title.clone())
        .collect();
    let selected_rows = selected.clone();
    let mut cli: cucumber::cli::Opts<_, _, cucumber::writer::basic::Cli, cucumber::cli::Empty> =
        cucumber::cli::Opts::default();
    // Every step as it runs only with --verbose; colour only on a terminal without NO_COLOR.
    let coloring =
        if progress::colour() { cucumber::writer::Coloring::Auto } else { cucumber::writer::Coloring::Never };
    cli.writer.color = coloring;
    let steps_out: Box<dyn std::io::Write + Send> =
        if opts.verbose { Box::new(std::io::stdout()) } else { Box::new(std::io::sink()) };
    let writer = cucumber::WriterExt::summarized(cucumber::writer::Basic::new(
        steps_out,
        coloring,
        cucumber::writer::Verbosity::Default,
    ));
    // Scenarios find their target through a process-wide slot (cucumber builds Worlds without
    // arguments), so runs in one process take turns.
    static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_RUN_AT_A_TIME.lock().await;
    let mut signals = Interruptions::watch();
    let started = now();
    steps::stop::RUN.reset();
    let today = started.get(..10).unwrap_or_default().to_string();
    let mut faults_on: Vec<String> = Vec::new();
    let tally: Arc<Mutex<steps::traffic::Tally>> = Arc::default();
    let tally_in_hook = tally.clone();
    let (mut target, mock, file) = match &opts.target {
        Some(path) => {
            if opts.org.is_some() || !opts.faults.is_empty() || opts.mcp_protocol.is_some() {
                return Err(GateError::MockOptionWithTarget);
            }
            let f = target_file::load(path)?;
            // An ID may be downgraded where any of its rows is a SHOULD (only those rows are).
            let mut ids: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
            for c in &catalog {
                *ids.entry(c.id.as_str()).or_default() |= c.severity == "SHOULD";
            }
            f.check_ids(&path.display().to_string(), &ids)?;
            // Discovery talks to the target too: a signal during it still leaves reports.
            let shown = path.display().to_string();
            let built = tokio::select! {
                built = file_target::build(&shown, &f) => built?,
                _ = signals.next() => {
                    let (results, _) = account_for_every_control(&catalog, Vec::new(), &selected_rows, opts.tags.as_deref(), true);
                    let judgement = results::gate_verdict(&results, &[], true);
                    let mut info = RunInfo::new(f.name.clone(), started, judgement.clone(), true);
                    info.reasons.push("interrupted while discovering the target's endpoints".into());
                    info.source = source_of(&opts);
                    reports::write_all(&opts.reports, &info, &results)
                        .map_err(|source| GateError::Reports { dir: opts.reports.display().to_string(), source })?;
                    write_bundle(&opts, &Default::default())?;
                    return Ok(RunOutcome {
                        verdict: judgement.verdict,
                        reasons: info.reasons,
                        results,
                        secrets: Default::default(),
                        requests_served: None,
                        undo_outstanding: Vec::new(),
                        requests: Default::default(),
                    });
                }
            };
            // Discovery read the authorization server's metadata: one request.
            tally.lock().unwrap_or_else(|p| p.into_inner()).add_before_scenarios(steps::traffic::Kind::Discovery, 1);
            (built, None, Some(f))
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
            // The catalog the fault-free org offers is the mock's pin (HG-PIN-01).
            let clean = org.clone();
            for f in &opts.faults {
                org.enable_fault(f).map_err(GateError::Fault)?;
            }
            faults_on = org.faults.names().into_iter().map(str::to_string).collect();
            let declarations = mock_target::declarations_for(opts.org.as_deref())?;
            let running = mock_org::start(org).await.map_err(GateError::Start)?;
            let mut target = mock_target::for_mock(&running, declarations, Default::default(), era);
            target.apex_root = Some(files.apex().map_err(GateError::Features)?);
            target.catalog_pin = Some(mock_target::catalog_pin(&clean, &target));
            (target, Some(running), None)
        }
    };
    // A baseline that holds a catalog pins it, over the mock's own.
    let pinned = baseline.as_ref().map(|b| steps::catalog_pin::from_decisions(&b.decisions)).filter(|p| !p.is_empty());
    if let Some(pin) = pinned {
        target.catalog_pin = Some(pin);
    }
    let target = steps::target::install(target);
    let exclusions: Vec<&target_file::Exclusion> = file.iter().flat_map(|f| f.exclude.iter()).collect();
    let expired: Vec<String> = exclusions
        .iter()
        .filter(|x| x.expired(&today))
        .map(|x| format!("{} (expired {}): {}", x.id, x.expires.as_deref().unwrap_or_default(), x.reason))
        .collect();
    // An expired exclusion is not honoured: its control counts with its own outcome.
    let rulings = Rulings {
        excluded: exclusions
            .iter()
            .filter(|x| !x.expired(&today))
            .map(|x| {
                let reason = match &x.profile {
                    Some(p) => format!(
                        "excluded as a known platform deviation (exclusion profile {p}{}): {}{}",
                        until(x),
                        x.reason,
                        x.source.as_deref().map(|s| format!("; reported in {s}")).unwrap_or_default()
                    ),
                    None => format!("excluded by the target file{}: {}", until(x), x.reason),
                };
                (x.id.clone(), Excluded { reason, run: x.run })
            })
            .collect(),
        downgrades: match (&file, opts.strict) {
            (Some(f), false) => f.downgrade.iter().map(|x| (x.id.clone(), x.reason.clone())).collect(),
            _ => Vec::new(),
        },
    };
    let not_run = not_run_here(&target);
    let collected: Arc<Mutex<Vec<ControlResult>>> = Arc::default();
    let (sink, skipped) = (collected.clone(), collected.clone());
    let (rulings_in_hook, rulings_in_filter) = (rulings.clone(), rulings.clone());
    let not_run_in_filter = not_run.clone();
    let secrets = target.secrets.clone();
    // Scenarios are independent (each World signs in for itself), so they run concurrently; no
    // retries anywhere: a control that passes only on a second try has failed.
    let progress = Arc::new(progress::Progress::new(selected_rows.len(), opts.verbose));
    let (progress_in_hook, progress_in_filter) = (progress.clone(), progress.clone());
    let cucumber = GateWorld::cucumber()
        .with_writer(writer)
        .max_concurrent_scenarios(opts.concurrency.max(1))
        .fail_on_skipped()
        .before(|_, _, scenario, world| {
            world.scenario = scenario.name.clone();
            Box::pin(async {})
        })
        .after(move |feature, _, scenario, ev, world| {
            let sink = sink.clone();
            let rulings = rulings_in_hook.clone();
            let secrets = secrets.clone();
            let progress = progress_in_hook.clone();
            let tally = tally_in_hook.clone();
            Box::pin(async move {
                let tags: Vec<String> = feature.tags.iter().chain(scenario.tags.iter()).cloned().collect();
                let mut r = ControlResult::from_tags(&scenario.name, &feature.name, &tags);
                let mut cut_short = false;
                let mut curl = None;
                if let Some(w) = world {
                    // Before the undo: its requests are not what the row judged.
                    curl = w.probe.last_request.as_ref().map(|q| steps::reproduce::curl(q, &w.probe.secrets));
                    cut_short = w.probe.interrupted;
                    w.run_cleanup().await;
                    let serial = tags.iter().any(|t| t == "serial");
                    let sent = w.probe.sent.take();
                    tally.lock().unwrap_or_else(|p| p.into_inner()).add_scenario(&w.target, &sent, serial);
                    r.duration_ms = w.started.elapsed().as_millis();
                    r.planned = steps::audit_plan::planned(&r.id, w);
                    r.evidence = w.probe.evidence.iter().map(|e| w.probe.secrets.redact(e)).collect();
                    // Redacted like the evidence: a decision names a request, and a request may
                    // carry what a target sent back.
                    r.decisions = std::mem::take(&mut w.decisions)
                        .into_iter()
                        .map(|mut d| {
                            d.what = w.probe.secrets.redact(&d.what);
                            d
                        })
                        .collect();
                }
                // Failure texts may quote what a target sent: redacted like the evidence.
                let failure = failure_text(ev).map(|t| secrets.redact(&t));
                (r.status, r.message) = Outcome::of_run(failure.as_deref());
                // Cut short by the run's interruption: whatever the step made of it, not a verdict.
                if cut_short && r.status != Outcome::Passed {
                    (r.status, r.message) = (Outcome::NotVerifiable, Some(INTERRUPTED.into()));
                }
                r.curl = curl.filter(|_| r.status == Outcome::Failed);
                rulings.settle(&mut r, true);
                progress.row_done(r.status);
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(r);
            })
        })
        .with_cli(cli)
        .filter_run(files.features(), move |feature, _, scenario| {
            if !selected.contains(&scenario.name) {
                return false;
            }
            let tags: Vec<String> = feature.tags.iter().chain(scenario.tags.iter()).cloned().collect();
            let mut r = ControlResult::from_tags(&scenario.name, &feature.name, &tags);
            match not_run_in_filter.iter().find(|(tag, _, _)| tags.iter().any(|t| t == tag)) {
                Some((_, outcome, why)) => {
                    (r.status, r.message) = (*outcome, Some(why.clone()));
                    rulings_in_filter.settle(&mut r, true);
                }
                None if rulings_in_filter.keeps_off(&r.id) => rulings_in_filter.settle(&mut r, false),
                None => return true,
            }
            progress_in_filter.row_done(r.status);
            skipped.lock().unwrap_or_else(|p| p.into_inner()).push(r);
            false
        });
    let mut cucumber = std::pin::pin!(cucumber);
    let interrupted = tokio::select! {
        _ = &mut cucumber => false,
        _ = signals.next() => true,
    };
    if interrupted {
        // Scenarios under way stop sending and run their undo (each exchange bounded by the
        // request timeout); the grace bounds it all, and a second signal ends it at once.
        steps::stop::RUN.begin();
        tokio::select! {
            _ = &mut cucumber => {}
            _ = tokio::time::sleep(UNDO_GRACE) => {}
            _ = signals.next() => {}
        }
    }
    progress.finish();
    let requests_served = mock.as_ref().map(|m| m.state.requests_served.load(std::sync::atomic::Ordering::Relaxed));
    if let Some(m) = mock {
        m.shutdown().await;
    }
    let ran = collected.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (mut results, no_row) =
        account_for_every_control(&catalog, ran, &selected_rows, opts.tags.as_deref(), interrupted);
    for r in results.iter_mut().filter(|r| matches!(r.status, Outcome::Failed | Outcome::NotVerifiable)) {
        r.reproduce = Some(reproduce(&opts, &r.id));
    }
    let mut judgement = results::gate_verdict(&results, &expired, interrupted);
    let drift =
        baseline.as_ref().map(|b| baseline::compare(b, &baseline::Baseline::of(&target.name, &now(), &results)));
    if let Some(d) = &drift {
        judgement.reasons.push(d.reason());
        // A deny that became an allow is a failure whatever else the run could conclude.
        if d.fails_gate() && !matches!(judgement.verdict, results::GateVerdict::Interrupted) {
            judgement.verdict = results::GateVerdict::Failed;
        }
    }
    let mut info = RunInfo::new(target.name.clone(), started, judgement.clone(), interrupted);
    info.drift = drift.clone();
    info.source = source_of(&opts);
    info.exclusions = exclusions
        .iter()
        .map(|x| {
            let from = x.profile.as_deref().map(|p| format!(" (profile {p})")).unwrap_or_default();
            format!("{}{from}{}{}: {}", x.id, until(x), if x.run { "" } else { " (not run)" }, x.reason)
        })
        .collect();
    info.expired = expired;
    info.not_run =
        not_run.iter().map(|(tag, o, why)| format!("scenarios tagged @{tag} are {}: {why}", o.label())).collect();
    info.downgrades = rulings.downgrades.iter().map(|(id, why)| format!("{id}: {why}")).collect();
    info.strict = opts.strict;
    info.faults = faults_on;
    info.requests =
        steps::traffic::Summary::of(&tally.lock().unwrap_or_else(|p| p.into_inner()), opts.concurrency.max(1));
    info.undo_outstanding = steps::stop::RUN.outstanding().iter().map(|u| target.secrets.redact(u)).collect();
    if let Some(f) = file.as_ref().filter(|f| !f.app.resource_indicators) {
        let why = f.app.resource_indicators_off_because.clone().unwrap_or_default();
        info.client_deviations
            .push(format!("RFC 8707 resource indicators are not sent (app.resource_indicators = false): {why}"));
    }
    reports::write_all(&opts.reports, &info, &results)
        .map_err(|source| GateError::Reports { dir: opts.reports.display().to_string(), source })?;
    reports::write_audit_plan(&opts.reports, &info, &results, &target.secrets)
        .map_err(|source| GateError::Reports { dir: opts.reports.display().to_string(), source })?;
    if let (Some(d), Some(path)) = (&drift, &opts.baseline) {
        reports::atomic_write(&opts.reports.join("drift.md"), baseline::markdown(d, path).as_bytes())
            .map_err(|source| GateError::Reports { dir: opts.reports.display().to_string(), source })?;
    }
    write_bundle(&opts, &target.secrets)?;
    if !no_row.is_empty() {
        return Err(GateError::Catalog(format!(
            "{} selected controls produced no result (first: '{}'): the reports mark them not verifiable",
            no_row.len(),
            no_row[0]
        )));
    }
    Ok(RunOutcome {
        verdict: judgement.verdict,
        reasons: judgement.reasons,
        results,
        secrets: target.secrets.clone(),
        requests_served,
        undo_outstanding: info.undo_outstanding,
        requests: info.requests,
    })
}

/// Every catalog row, each with exactly one outcome: the run's own row where it produced one;
/// not selected where `--tags` left it out; not verifiable where it was selected but produced
/// nothing (an interrupted run, or a harness fault, returned as the second list). Sorted by ID.
fn account_for_every_control(
    catalog: &[ControlResult],
    ran: Vec<ControlResult>,
    selected: &std::collections::BTreeSet<String>,
    tags: Option<&str>,
    interrupted: bool,
) -> (Vec<ControlResult>, Vec<String>) {
    let mut by_title: std::collections::HashMap<String, ControlResult> =
        ran.into_iter().map(|r| (r.title.clone(), r)).collect();
    let mut no_row = Vec::new();
    let mut out: Vec<ControlResult> = catalog
        .iter()
        .map(|c| {
            if let Some(r) = by_title.remove(&c.title) {
                return r;
            }
            let mut r = c.clone();
            (r.status, r.message) = if !selected.contains(&c.title) {
                (Outcome::NotSelected, Some(format!("outside --tags {}", tags.unwrap_or_default())))
            } else if interrupted {
                (Outcome::NotVerifiable, Some(INTERRUPTED.into()))
            } else {
                no_row.push(c.title.clone());
                (Outcome::NotVerifiable, Some("selected, but the run produced no result for it".into()))
            };
            r
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id).then(a.title.cmp(&b.title)));
    (out, no_row)
}

/// Ctrl-C, SIGTERM (what CI sends a cancelled or timed-out job) or SIGHUP (a closed terminal or
/// SSH session): each ends the run with partial reports. Watched from the start of the run (a
/// signal before the first await would otherwise kill the process with no reports); a signal
/// that cannot be watched never fires, rather than ending the run.
struct Interruptions {
    #[cfg(unix)]
    watched: Vec<tokio::signal::unix::Signal>,
}

impl Interruptions {
    fn watch() -> Interruptions {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let kinds = [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()];
            Interruptions { watched: kinds.into_iter().filter_map(|k| signal(k).ok()).collect() }
        }
        #[cfg(not(unix))]
        Interruptions {}
    }

    /// Resolves on the next signal.
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            let waits = self.watched.iter_mut().map(|s| Box::pin(s.recv()));
            match waits.len() {
                0 => std::future::pending::<()>().await,
                _ => {
                    first_of(waits.collect()).await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The first of several futures to finish.
#[cfg(unix)]
async fn first_of<F: std::future::Future + Unpin>(mut futures: Vec<F>) {
    std::future::poll_fn(|cx| {
        for f in futures.iter_mut() {
            if std::pin::Pin::new(&mut *f).poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// The console summary: the checklist table, the rows that need a look, then the gate verdict.
pub fn summary(outcome: &RunOutcome) -> String {
    summary_styled(outcome, false)
}

/// A verdict word, in colour where asked: green for passed, red for failed, yellow for what needs
/// a look but is no failure of the target.
fn paint(label: &str, colour: bool) -> String {
    let code = match label.trim() {
        "PASSED" => "32",
        "FAILED" => "31",
        _ => "33",
    };
    if colour { format!("\x1b[{code}m{label}\x1b[0m") } else { label.to_string() }
}

/// The checklist, every row that needs a look with its one line, the counts and the verdict;
/// coloured verdict words with `colour` (a terminal without NO_COLOR).
pub fn summary_styled(outcome: &RunOutcome, colour: bool) -> String {
    let mut s = String::from("\nRollout checklist\n");
    for i in results::checklist(&outcome.results) {
        let verdict = paint(&format!("{:<14}", i.verdict.label()), colour);
        s.push_str(&format!("  {}  {:<56} {verdict} ({})\n", i.item, i.title, i.counts()));
    }
    for r in &outcome.results {
        let why = r.message.as_deref().unwrap_or_default();
        match r.status {
            Outcome::Failed | Outcome::NotVerifiable => {
                let downgraded =
                    r.downgraded.as_ref().map(|why| format!(" (SHOULD, downgraded: {why})")).unwrap_or_default();
                s.push_str(&format!("  {} {}: {why}{downgraded}\n", r.status.label().to_uppercase(), r.title));
            }
            Outcome::NotApplicable => s.push_str(&format!("  NOT APPLICABLE {}: {why}\n", r.title)),
            Outcome::Excluded => {
                let stale = if r.stale_exclusion() { " (stale: it passes; remove the exclusion)" } else { "" };
                s.push_str(&format!("  EXCLUDED {}: {why}{stale}\n", r.title));
            }
            Outcome::Passed | Outcome::NotSelected => {}
        }
    }
    let ids = |o: Outcome| outcome.results.iter().filter(|r| r.status == o).count();
    let controls: std::collections::BTreeSet<&str> = outcome.results.iter().map(|r| r.id.as_str()).collect();
    let counts: Vec<String> = Outcome::ALL
        .iter()
        .map(|o| (o, ids(*o)))
        .filter(|(_, n)| *n > 0)
        .map(|(o, n)| format!("{n} {}", o.label()))
        .collect();
    s.push_str(&format!("{} controls in {} rows: {}\n", controls.len(), outcome.results.len(), counts.join(", ")));
    for why in &outcome.reasons {
        s.push_str(&format!("  because: {why}\n"));
    }
    for undo in &outcome.undo_outstanding {
        s.push_str(&format!("  NOT UNDONE (put it back by hand): {undo}\n"));
    }
    if outcome.requests.total > 0 {
        s.push_str(&format!("{}\n", outcome.requests.line()));
    }
    s.push_str(&format!("gate: {}\n", paint(outcome.verdict.label(), colour)));
    s
}

#[cfg(test)]
mod reproduce_tests {
    use super::*;

    #[test]
    fn the_reproduction_command_names_the_same_target_and_quotes_paths() {
        let mut opts = RunOptions::mock(PathBuf::from("reports"));
        assert_eq!(reproduce(&opts, "HG-RS-03"), "headless-gate run --tags @HG-RS-03");
        opts.target = Some(PathBuf::from("ci/acme prod's.toml"));
        opts.strict = true;
        assert_eq!(
            reproduce(&opts, "HG-RS-03"),
            "headless-gate run --target 'ci/acme prod'\\''s.toml' --tags @HG-RS-03 --strict"
        );
    }
}
