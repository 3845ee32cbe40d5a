//! The `headless-gate` command line.

use clap::{Parser, Subcommand};
use headless_gate::{RunOptions, Verdict};
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
enum Command {
    /// Run the controls (against the embedded mock org).
    Run {
        /// Org file for the embedded mock (default: the compiled-in mock-org/orgs/default.toml).
        #[arg(long)]
        org: Option<PathBuf>,
        /// Folder of feature files.
        #[arg(long, default_value = "features")]
        features: PathBuf,
        /// Cucumber tag expression selecting controls, e.g. "@C4 and not @HG-PERM-07".
        #[arg(long)]
        tags: Option<String>,
        /// Scenarios run at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Where junit.xml, results.json and report.html are written.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { org, features, tags, concurrency, reports } => {
            match headless_gate::run(RunOptions { org, features, tags, concurrency, reports: reports.clone() }).await {
                Ok(outcome) => {
                    print!("{}", headless_gate::summary(&outcome));
                    println!("reports: {}", reports.display());
                    match outcome.verdict {
                        Verdict::Passed => ExitCode::SUCCESS,
                        Verdict::Failed => ExitCode::from(1),
                        Verdict::Interrupted => ExitCode::from(130),
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
