//! The figures of BENCHMARKS.md, and the flakiness check. Build with `--release`; everything runs
//! on loopback against servers this process starts, with bounded counts.

use clap::{Parser, Subcommand};
use headless_gate::bench;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "headless-gate-bench", about = "Benchmarks and the flakiness check of headless-gate")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole suite against the embedded mock, in process: median wall time, requests, and the
    /// harness overhead against the loopback floor.
    Suite {
        #[arg(long, default_value_t = 7)]
        runs: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// The mock's MCP tool-call throughput next to a bare axum handler.
    Mcp {
        #[arg(long, default_value_t = 20_000)]
        calls: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Many clients mixing REST reads, tool calls, refreshes and revocations; exits 1 on any 5xx,
    /// any unexpected answer, or a request the audit log does not hold.
    Load {
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        rounds: usize,
    },
    /// Floods the mock (one user opening MCP sessions, or requests nobody signed) and reports its
    /// answers, what it kept, and resident memory before, at the peak and after.
    Flood {
        #[arg(long, value_parser = ["sessions", "garbage"])]
        kind: String,
        #[arg(long, default_value_t = 3_000)]
        requests: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// The gate against the mock behind a latency-injecting proxy, as against a remote org: wall
    /// time, the floor (its longest chain of dependent requests x the round trip) and the
    /// requests by kind, per round-trip time (e.g. `--rtt 0ms,20ms,50ms,100ms`).
    Remote {
        #[arg(long, value_delimiter = ',', value_parser = parse_rtt, default_value = "50ms")]
        rtt: Vec<std::time::Duration>,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// `scan-apex` over a synthetic service-layer tree: read and scan time per run.
    Apex {
        #[arg(long, default_value_t = 1_000)]
        classes: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Runs the suite and the fault matrix several times and reports any outcome that differs.
    Flakiness {
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long, default_value_t = 20)]
        matrix_runs: usize,
    },
}

/// Every run's reports go under one folder, removed when the bench ends.
fn scratch_root() -> PathBuf {
    std::env::temp_dir().join(format!("hg-bench-{}", std::process::id()))
}

fn scratch(name: &str) -> PathBuf {
    let dir = scratch_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::main]
async fn main() -> ExitCode {
    let code = bench(Cli::parse().command).await;
    if std::env::var_os("HG_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(scratch_root());
    }
    code
}

async fn bench(command: Command) -> ExitCode {
    match command {
        Command::Apex { classes, runs } => apex(classes, runs),
        Command::Suite { runs, concurrency } => {
            let mut walls = Vec::new();
            let mut requests = Vec::new();
            for i in 0..runs {
                match bench::suite_once(&scratch(&format!("suite-{i}")), concurrency).await {
                    Ok(r) if r.passed => {
                        println!("run {}: {:.3} s, {} requests", i + 1, r.wall.as_secs_f64(), r.requests);
                        walls.push(r.wall.as_secs_f64());
                        requests.push(r.requests as f64);
                    }
                    Ok(_) => {
                        eprintln!("run {}: the gate failed against the clean mock", i + 1);
                        return ExitCode::from(1);
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            let (wall, reqs) = (bench::median(walls), bench::median(requests));
            let rtt = bench::loopback_round_trip(2_000).await.as_secs_f64();
            let floor = reqs * rtt / concurrency as f64;
            println!("suite: median {wall:.3} s over {runs} runs, median {reqs:.0} requests");
            println!(
                "loopback round trip: median {:.1} us; floor = requests x round trip / concurrency = {:.3} s",
                rtt * 1e6,
                floor
            );
            println!("harness overhead: {:.1}x the loopback floor", wall / floor);
            ExitCode::SUCCESS
        }
        Command::Mcp { calls, concurrency, runs } => {
            let (mut mock, mut bare) = (Vec::new(), Vec::new());
            for i in 0..runs {
                let t = bench::mcp_throughput(calls, concurrency).await;
                let ok = t.mock_statuses.get(&200).copied().unwrap_or_default();
                println!(
                    "run {}: mock {:.0} calls/s ({ok} of {calls} answered 200), bare axum {:.0} calls/s",
                    i + 1,
                    t.mock_per_sec,
                    t.bare_per_sec
                );
                if ok != calls as u64 {
                    eprintln!("the mock answered other than 200: {:?}", t.mock_statuses);
                    return ExitCode::from(1);
                }
                mock.push(t.mock_per_sec);
                bare.push(t.bare_per_sec);
            }
            let (m, b) = (bench::median(mock), bench::median(bare));
            println!(
                "MCP tools/call: mock median {m:.0}/s, bare axum median {b:.0}/s, ratio {:.2} (mock / bare)",
                m / b
            );
            ExitCode::SUCCESS
        }
        Command::Load { clients, rounds } => {
            let r = bench::load(clients, rounds).await;
            println!("load: {clients} clients x {rounds} rounds in {:.2} s", r.wall.as_secs_f64());
            for (kind, n) in &r.sent {
                println!("  {kind}: {n}");
            }
            println!("  answered by the org: {} of {}; audit records: {}", r.served, r.total(), r.audited);
            let unexpected = r.unexpected();
            let ok = r.server_errors() == 0 && unexpected.is_empty() && r.audited == r.total() && r.served == r.total();
            if !unexpected.is_empty() {
                println!("  unexpected answers: {}", unexpected.join(", "));
            }
            println!("load check: {}", if ok { "PASSED" } else { "FAILED" });
            if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Command::Flood { kind, requests, concurrency } => {
            let flood = if kind == "sessions" { bench::Flood::Sessions } else { bench::Flood::Garbage };
            let r = bench::flood(flood, requests, concurrency).await;
            println!("flood ({kind}): {requests} requests, {concurrency} at a time, in {:.2} s", r.wall.as_secs_f64());
            println!("  answers (status: count): {:?}", r.statuses);
            println!(
                "  resident memory: {:.0} MB before, {:.0} MB at the peak, {:.0} MB after",
                r.rss_before, r.rss_peak, r.rss_after
            );
            println!(
                "  audit records held: {}; the admin's SELECT COUNT() FROM ApiEvent took {:.1} ms",
                r.audit_records,
                r.count_query.as_secs_f64() * 1e3
            );
            ExitCode::SUCCESS
        }
        Command::Remote { rtt, concurrency } => remote(&rtt, concurrency).await,
        Command::Flakiness { runs, matrix_runs } => flakiness(runs, matrix_runs).await,
    }
}

/// Outcome per key (scenario title, or fault row) across runs; keys whose outcomes differ.
fn differing(runs: &[std::collections::BTreeMap<String, String>]) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = runs.iter().flat_map(|r| r.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let seen: std::collections::BTreeSet<&str> =
                runs.iter().map(|r| r.get(k).map(String::as_str).unwrap_or("(absent)")).collect();
            (seen.len() > 1).then(|| format!("{k}: {}", seen.into_iter().collect::<Vec<_>>().join(" / ")))
        })
        .collect()
}

/// `50ms`, `0.1s` or a bare number of milliseconds.
fn parse_rtt(s: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = match s.strip_suffix("ms") {
        Some(n) => (n, 1e-3),
        None => s.strip_suffix('s').map_or((s, 1e-3), |n| (n, 1.0)),
    };
    let v: f64 = n.trim().parse().map_err(|_| format!("'{s}' is not a duration such as 50ms"))?;
    if !(0.0..=10.0).contains(&(v * unit)) {
        return Err(format!("'{s}': a round trip between 0 and 10 s"));
    }
    Ok(std::time::Duration::from_secs_f64(v * unit))
}

/// The `headless-gate` binary built beside this one.
fn gate_binary() -> Option<PathBuf> {
    let gate = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("headless-gate")));
    gate.filter(|g| g.is_file())
}

async fn remote(rtts: &[std::time::Duration], concurrency: usize) -> ExitCode {
    let Some(gate) = gate_binary() else {
        eprintln!("error: the headless-gate binary is not beside this one (cargo build --release)");
        return ExitCode::from(2);
    };
    println!(
        "rtt      wall      floor     wall/floor  exit  requests (discovery/login/token/REST/MCP/other)  REST+MCP  mock answered"
    );
    let mut ok = true;
    for (i, rtt) in rtts.iter().enumerate() {
        match bench::remote_once(&gate, &scratch(&format!("remote-{i}")), *rtt, concurrency).await {
            Ok(r) => {
                let k = |kind: &str| r.requests["by_kind"][kind].as_u64().unwrap_or(0);
                let floor = r.floor();
                let ratio = if floor.is_zero() {
                    "-".to_string()
                } else {
                    format!("{:.2}", r.wall.as_secs_f64() / floor.as_secs_f64())
                };
                println!(
                    "{:<8} {:<9} {:<9} {:<11} {:<5} {} = {}/{}/{}/{}/{}/{}{:>20}  {:>8}  {}",
                    format!("{} ms", rtt.as_millis()),
                    format!("{:.2} s", r.wall.as_secs_f64()),
                    format!("{:.2} s", floor.as_secs_f64()),
                    ratio,
                    r.exit.map_or("-".into(), |c| c.to_string()),
                    r.requests["total"],
                    k("discovery"),
                    k("login"),
                    k("token"),
                    k("rest"),
                    k("mcp"),
                    k("other"),
                    "",
                    r.requests["rest_and_mcp"],
                    r.served,
                );
                // 0, 1 and 3 are verdicts (passed, failed, inconclusive); anything else is an error.
                ok &= matches!(r.exit, Some(0 | 1 | 3));
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

async fn flakiness(runs: usize, matrix_runs: usize) -> ExitCode {
    let mut suites = Vec::new();
    for i in 0..runs {
        match bench::suite_once(&scratch(&format!("flaky-{i}")), 8).await {
            Ok(r) => suites.push(r.outcomes),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let suite_diff = differing(&suites);
    println!("suite: {runs} runs, {} scenarios, {} differ", suites.first().map_or(0, |s| s.len()), suite_diff.len());
    let Some(gate) = gate_binary() else {
        eprintln!("error: the headless-gate binary is not beside this one (cargo build --release)");
        return ExitCode::from(2);
    };
    let mut matrices = Vec::new();
    for i in 0..matrix_runs {
        let dir = scratch(&format!("matrix-{i}"));
        let out = std::process::Command::new(&gate).arg("selftest").arg("--reports").arg(&dir).output();
        let rows = out
            .ok()
            .and_then(|_| std::fs::read_to_string(dir.join("matrix.json")).ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["rows"].as_array().cloned())
            .unwrap_or_default();
        matrices.push(
            rows.iter().map(|r| (r["fault"].as_str().unwrap_or("?").to_string(), r["failed"].to_string())).collect(),
        );
    }
    let matrix_diff = differing(&matrices);
    println!(
        "fault matrix: {matrix_runs} runs, {} rows, {} differ",
        matrices.first().map_or(0, |m| m.len()),
        matrix_diff.len()
    );
    for d in suite_diff.iter().chain(&matrix_diff) {
        println!("  DIFFERS {d}");
    }
    if suite_diff.is_empty() && matrix_diff.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn apex(classes: usize, runs: usize) -> ExitCode {
    let root = scratch("apex");
    if let Err(e) = bench::write_apex_tree(&root, classes) {
        eprintln!("error: cannot write the tree under {}: {e}", root.display());
        return ExitCode::from(2);
    }
    let (mut reads, mut scans) = (Vec::new(), Vec::new());
    for i in 0..runs {
        match bench::apex_scan_once(&root) {
            Ok(r) => {
                println!(
                    "run {}: read {:.1} ms, scan {:.1} ms; {} files, {} lines, {} entry points, {} findings",
                    i + 1,
                    r.read.as_secs_f64() * 1e3,
                    r.scan.as_secs_f64() * 1e3,
                    r.files,
                    r.lines,
                    r.entry_points,
                    r.findings
                );
                reads.push(r.read.as_secs_f64() * 1e3);
                scans.push(r.scan.as_secs_f64() * 1e3);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "apex: {classes} classes, median read {:.1} ms, median scan {:.1} ms over {runs} runs",
        bench::median(reads),
        bench::median(scans)
    );
    ExitCode::SUCCESS
}
