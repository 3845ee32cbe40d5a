//! The `headless-gate` command line.

use clap::{Parser, Subcommand};
use headless_gate::RunOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "headless-gate",
    version,
    about = "Proves an agent rollout to a Salesforce org refuses what it must refuse"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum BaselineAction {
    /// Write the baseline from a run's results.json (run the gate first).
    Write {
        /// The baseline file to write (commit it).
        file: PathBuf,
        /// The run's results.json.
        #[arg(long, default_value = "reports/results.json")]
        from: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// HG-AUD-01..04 from the org's event log files (EventLogFile, ApiTotalUsage), for a run made
    /// earlier: each call of the run's audit-plan.json is passed, failed, or pending while the
    /// platform's documented delay has not passed. Writes audit-reconcile.json beside the run's
    /// reports. Exit 0 all passed, 1 a failure, 3 pending or not verifiable, 2 a usage error.
    Reconcile {
        /// The run's reports folder (with its audit-plan.json).
        #[arg(long)]
        run: PathBuf,
        /// The target file the run used (the admin persona reads the event log files).
        #[arg(long)]
        target: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the controls (against the embedded mock org).
    Run {
        /// A target file: run against a real deployment instead of the embedded mock org.
        #[arg(long, conflicts_with = "org")]
        target: Option<PathBuf>,
        /// A failed SHOULD fails the gate even where the target file downgrades it.
        #[arg(long)]
        strict: bool,
        /// Org file for the embedded mock (default: the compiled-in mock-org/orgs/default.toml).
        #[arg(long)]
        org: Option<PathBuf>,
        /// A folder of your own feature files, run beside the shipped ones (which are compiled in).
        #[arg(long)]
        features: Option<PathBuf>,
        /// Cucumber tag expression selecting controls, e.g. "@C4 and not @HG-PERM-07".
        #[arg(long)]
        tags: Option<String>,
        /// Scenarios run at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Print every step as it runs, instead of a progress bar (or progress lines off a terminal).
        #[arg(long, short)]
        verbose: bool,
        /// Also write an evidence bundle for auditors: the reports, the target (or org) file with
        /// secrets removed, the version, the catalog and a SHA-256 manifest, in one zip file.
        #[arg(long, value_name = "ZIP")]
        bundle: Option<PathBuf>,
        /// Where junit.xml, results.json and report.html are written.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// Switch a fault on in the embedded mock (repeatable; see `headless-gate selftest`).
        #[arg(long = "fault", value_name = "NAME", conflicts_with = "target")]
        faults: Vec<String>,
        /// The MCP protocol to speak to the embedded mock: 2025-11-25 (sessions, the default) or
        /// 2026-07-28 (stateless). A target file states its own.
        #[arg(long, value_name = "VERSION", conflicts_with = "target")]
        mcp_protocol: Option<String>,
        /// A drift baseline (`headless-gate baseline write`): fail on any deny that became an
        /// allow since, and name every fixed and broken row in drift.md.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },

    /// The authorization drift baseline: every row's outcome and every allow/deny decision of a
    /// run, for `run --baseline` to compare later runs with.
    Baseline {
        #[command(subcommand)]
        action: BaselineAction,
    },

    /// Prove the gate can fail: run it against the mock once per fault and print the matrix of
    /// fault, expected controls and detection. Exits non-zero unless every fault is caught precisely.
    Selftest {
        /// A folder of your own feature files, run beside the shipped ones in every run.
        #[arg(long)]
        features: Option<PathBuf>,
        /// Where the matrix (matrix.txt, matrix.json) and each run's reports are written.
        #[arg(long, default_value = "reports/selftest")]
        reports: PathBuf,
        /// Runs at once (default: twice the cores; each run is mostly waiting on loopback I/O).
        #[arg(long)]
        parallel: Option<usize>,
        /// Only these faults (repeatable); the clean org always runs.
        #[arg(long = "fault", value_name = "NAME")]
        only: Vec<String>,
        /// List the fault table and exit.
        #[arg(long)]
        list: bool,
    },

    /// Scan the Apex behind custom tools for system-mode code (HG-SYS-03's rules), with
    /// file:line:column and what to change. Exit 0 clean, 1 findings, 2 unreadable tree.
    ScanApex {
        /// An SFDX source tree (`**/classes/*.cls` with their `-meta.xml`).
        path: PathBuf,
        /// Write the findings as SARIF 2.1.0 here, for code-scanning dashboards.
        #[arg(long)]
        sarif: Option<PathBuf>,
        /// A class backing a tool: all its methods are entry points (repeatable).
        #[arg(long = "tool-class", value_name = "CLASS")]
        tool_classes: Vec<String>,
    },

    /// List every control: ID, checklist item, severity, spec and title (from the feature files).
    Controls {
        /// A folder of your own feature files, listed beside the shipped ones.
        #[arg(long)]
        features: Option<PathBuf>,
    },
    /// The org's own audit trail, read after a run.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Sign a persona in to a real target (Authorization Code + PKCE through a browser and a
    /// loopback callback) and store its refresh token in a file only you can read, for CI to pass
    /// in through the persona's refresh_token_env.
    Login {
        /// The target file.
        #[arg(long)]
        target: PathBuf,
        /// The persona to sign in (a key of the target file's [personas]).
        #[arg(long)]
        persona: String,
        /// A loopback callback registered on the app (default: the file's app.callback_url).
        #[arg(long)]
        callback: Option<String>,
        /// Where to store the token (default: ~/.config/headless-gate/<target>/<persona>.refresh-token).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seconds to wait for the browser to come back.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Write a commented target-file template.
    Init {
        /// Where to write it.
        #[arg(default_value = "headless-gate.toml")]
        path: PathBuf,
        /// Which template: a Salesforce org's, or any OAuth 2.1 authorization server and MCP server.
        #[arg(long, default_value = "salesforce", value_parser = ["salesforce", "oauth2.1"])]
        flavor: String,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            target,
            strict,
            org,
            features,
            tags,
            concurrency,
            verbose,
            bundle,
            reports,
            faults,
            mcp_protocol,
            baseline,
        } => {
            match headless_gate::run(RunOptions {
                target,
                org,
                strict,
                features,
                tags,
                verbose,
                bundle,
                concurrency,
                reports: reports.clone(),
                faults,
                mcp_protocol,
                baseline,
            })
            .await
            {
                Ok(outcome) => {
                    print!("{}", headless_gate::summary_styled(&outcome, headless_gate::progress::colour()));
                    println!("reports: {}", reports.display());
                    ExitCode::from(outcome.verdict.exit_code())
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Selftest { features, reports, parallel, only, list } => {
            selftest(features, reports, parallel, only, list).await
        }
        Command::Baseline { action: BaselineAction::Write { file, from } } => write_baseline(&file, &from),
        Command::ScanApex { path, sarif, tool_classes } => scan_apex(&path, sarif.as_deref(), &tool_classes),
        Command::Audit { action: AuditAction::Reconcile { run, target } } => {
            match headless_gate::audit_reconcile::reconcile(&run, &target).await {
                Ok(r) => {
                    for v in &r.verdicts {
                        println!("  {:<16} {} {}", v.status.to_uppercase(), v.id, v.message.as_deref().unwrap_or(""));
                        for line in &v.calls {
                            println!("      {line}");
                        }
                    }
                    let read = r.interval.as_deref().unwrap_or("no");
                    println!(
                        "{} {read} event log files, {} rows read; {}/audit-reconcile.json",
                        r.files,
                        r.rows,
                        run.display()
                    );
                    ExitCode::from(r.exit_code())
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Login { target, persona, callback, out, timeout } => {
            let opts = headless_gate::login_cmd::LoginOptions {
                target,
                persona,
                callback,
                out,
                timeout: std::time::Duration::from_secs(timeout),
            };
            match headless_gate::login_cmd::login(&opts, |text| println!("{text}")).await {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Controls { features } => match headless_gate::run_files::RunFiles::new(features.as_deref())
            .and_then(|files| headless_gate::catalog::controls(&files.features()))
        {
            Ok(c) => {
                print!("{}", headless_gate::catalog::render_table(&c));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Init { path, force, flavor } => {
            if path.exists() && !force {
                eprintln!("error: {} exists (use --force to replace it)", path.display());
                return ExitCode::from(2);
            }
            let template = match flavor.as_str() {
                "oauth2.1" => headless_gate::target_file::TEMPLATE_OAUTH21,
                _ => headless_gate::target_file::TEMPLATE,
            };
            match headless_gate::reports::atomic_write(&path, template.as_bytes()) {
                Ok(()) => {
                    println!(
                        "wrote {}: fill it in, set the password variables it names, then: headless-gate run --target {}",
                        path.display(),
                        path.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    ExitCode::from(2)
                }
            }
        }
    }
}

async fn selftest(
    features: Option<PathBuf>,
    reports: PathBuf,
    parallel: Option<usize>,
    only: Vec<String>,
    list: bool,
) -> ExitCode {
    use headless_gate::selftest;
    if list {
        for c in selftest::cases() {
            let controls: std::collections::BTreeSet<&str> = c.expected.iter().map(|x| x.control()).collect();
            println!("{:<32} {:<60} {}", c.name, controls.into_iter().collect::<Vec<_>>().join(" "), c.what);
            for x in &c.expected {
                println!("{:<32}   caught by {} saying '{}'", "", x.row, x.says);
            }
        }
        return ExitCode::SUCCESS;
    }
    if let Some(bad) = only.iter().find(|n| mock_org::faults::lookup(n).is_none()) {
        eprintln!("error: --fault: {}", mock_org::faults::unknown_fault(bad));
        return ExitCode::from(2);
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot find this program to run it per fault: {e}");
            return ExitCode::from(2);
        }
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let parallel = parallel.unwrap_or(cores * 2);
    let started = std::time::Instant::now();
    let rows = selftest::run_matrix(&exe, features.as_deref(), &reports.join("runs"), parallel, &only).await;
    let text = selftest::render(&rows);
    print!("{text}");
    println!(
        "{} runs in {:.1} s, {parallel} at a time; reports: {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        reports.display()
    );
    let json = serde_json::json!({"passed": selftest::passed(&rows), "rows": rows});
    let written = headless_gate::reports::atomic_write(&reports.join("matrix.txt"), text.as_bytes())
        .and_then(|_| headless_gate::reports::atomic_write(&reports.join("matrix.json"), json.to_string().as_bytes()));
    if let Err(e) = written {
        eprintln!("error: cannot write the matrix to {}: {e}", reports.display());
        return ExitCode::from(2);
    }
    if selftest::passed(&rows) { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn scan_apex(path: &std::path::Path, sarif: Option<&std::path::Path>, tool_classes: &[String]) -> ExitCode {
    let files = match apex_scan::read_tree(path) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            eprintln!("error: no classes/*.cls under {}", path.display());
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let scan = apex_scan::scan(&files, tool_classes);
    for f in &scan.findings {
        let reached = if f.reached_from.is_empty() {
            String::new()
        } else {
            format!(" (reached from {})", f.reached_from.join(", "))
        };
        println!("{}:{}:{}: {} {}{reached}", f.file, f.line, f.column, f.rule, f.message);
        if !f.paths.is_empty() {
            println!("    path: {}", f.path_text());
        }
    }
    for c in &scan.cleared {
        println!("{}:{}: cleared: {} ({})", c.file, c.line, c.what, c.by);
    }
    println!(
        "{} files, {} classes, {} entry points, {} findings",
        scan.files,
        scan.classes.len(),
        scan.entry_points.len(),
        scan.findings.len()
    );
    if let Some(out) = sarif {
        let doc = apex_scan::sarif::to_sarif(&scan, env!("CARGO_PKG_VERSION"));
        if let Err(e) = headless_gate::reports::atomic_write(out, doc.to_string().as_bytes()) {
            eprintln!("error: cannot write {}: {e}", out.display());
            return ExitCode::from(2);
        }
    }
    if scan.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn write_baseline(file: &std::path::Path, from: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(from) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "error: cannot read {}: {e} (run the gate first, or name its results.json with --from)",
                from.display()
            );
            return ExitCode::from(2);
        }
    };
    let verdict = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["verdict"].as_str().map(str::to_string))
        .unwrap_or_default();
    if verdict == "interrupted" {
        eprintln!(
            "error: {} is of an interrupted run, whose decisions are partial: run the gate to the end first",
            from.display()
        );
        return ExitCode::from(2);
    }
    if verdict == "failed" {
        eprintln!("warning: the run in {} failed: what it allowed becomes the baseline", from.display());
    }
    let b = match headless_gate::baseline::Baseline::from_results_json(&text) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", from.display());
            return ExitCode::from(2);
        }
    };
    if let Err(e) = headless_gate::reports::atomic_write(file, b.to_json().as_bytes()) {
        eprintln!("error: cannot write {}: {e}", file.display());
        return ExitCode::from(2);
    }
    let allowed = b.decisions.iter().filter(|d| d.allowed).count();
    println!(
        "baseline: {} rows and {} decisions ({allowed} allow, {} deny) from {} written to {}",
        b.rows.len(),
        b.decisions.len(),
        b.decisions.len() - allowed,
        from.display(),
        file.display()
    );
    ExitCode::SUCCESS
}
