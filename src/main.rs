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
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { org, features, tags, concurrency } => {
            match headless_gate::run(RunOptions { org, features, tags, concurrency }).await {
                Ok(Verdict::Passed) => {
                    println!("gate: PASSED");
                    ExitCode::SUCCESS
                }
                Ok(Verdict::Failed) => {
                    println!("gate: FAILED");
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
