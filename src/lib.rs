//! headless-gate: runs the Gherkin controls against a target and says whether the rollout may go.

pub mod mock_target;

use cucumber::World as _;
use cucumber::writer::Stats as _;
use std::path::PathBuf;
use steps::GateWorld;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The mock's org file; the compiled-in default fixture when absent.
    pub org: Option<PathBuf>,
    pub features: PathBuf,
    /// A cucumber tag expression, e.g. `@C4 and not @HG-PERM-07`.
    pub tags: Option<String>,
    pub concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
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
}

/// Starts the embedded mock org, runs every selected scenario against it, and gives the verdict.
pub async fn run(opts: RunOptions) -> Result<Verdict, GateError> {
    let org = match &opts.org {
        Some(p) => mock_org::Org::load(p)?,
        None => mock_org::Org::default_fixture(),
    };
    if !opts.features.is_dir() {
        return Err(GateError::Features(opts.features.display().to_string()));
    }
    let mut cli: cucumber::cli::Opts<_, _, _, cucumber::cli::Empty> = cucumber::cli::Opts::default();
    if let Some(t) = &opts.tags {
        cli.tags_filter = Some(t.parse().map_err(|e| GateError::Tags(format!("{e}")))?);
    }
    let running = mock_org::start(org).await.map_err(GateError::Start)?;
    steps::target::install(mock_target::for_mock(&running, Default::default()));
    // Scenarios are independent (each World signs in for itself), so they run concurrently; no
    // retries anywhere: a control that passes only on a second try has failed.
    let writer = GateWorld::cucumber()
        .max_concurrent_scenarios(opts.concurrency.max(1))
        .fail_on_skipped()
        .after(|_, _, _, _, world| {
            Box::pin(async move {
                if let Some(w) = world {
                    w.run_cleanup().await;
                }
            })
        })
        .with_cli(cli)
        .run(opts.features.clone())
        .await;
    running.shutdown().await;
    let failed = writer.execution_has_failed() || writer.passed_steps() == 0;
    Ok(if failed { Verdict::Failed } else { Verdict::Passed })
}
