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
        /// A target file: run against a real deployment instead of the embedded mock org.
        #[arg(long, conflicts_with = "org")]
        target: Option<PathBuf>,
        /// A failed SHOULD fails the gate even where the target file downgrades it.
        #[arg(long)]
        strict: bool,
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

    /// List every control: ID, checklist item, severity, spec and title (from the feature files).
    Controls {
        #[arg(long, default_value = "features")]
        features: PathBuf,
    },
    /// Write a commented target-file template.
    Init {
        /// Where to write it.
        #[arg(default_value = "headless-gate.toml")]
        path: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { target, strict, org, features, tags, concurrency, reports } => {
            match headless_gate::run(RunOptions {
                target,
                org,
                strict,
                features,
                tags,
                concurrency,
                reports: reports.clone(),
            })
            .await
            {
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
        Command::Controls { features } => match headless_gate::catalog::controls(&features) {
            Ok(c) => {
                print!("{}", headless_gate::catalog::render_table(&c));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Init { path, force } => {
            if path.exists() && !force {
                eprintln!("error: {} exists (use --force to replace it)", path.display());
                return ExitCode::from(2);
            }
            match headless_gate::reports::atomic_write(&path, headless_gate::target_file::TEMPLATE.as_bytes()) {
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
