//! `mock-org`: the mock org on its own, for exploring it with curl or an MCP client.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Runs the headless-gate mock Salesforce org standalone")]
struct Args {
    /// The org file (TOML).
    #[arg(long, default_value = "mock-org/orgs/default.toml")]
    org: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let org = match mock_org::Org::load(&args.org) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let running = match mock_org::server::start_on(org, SocketAddr::from(([127, 0, 0, 1], args.port))).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{}: {e}", args.port);
            std::process::exit(2);
        }
    };
    println!("mock org '{}' listening", running.state.org.name);
    println!("  instance URL: {}", running.url);
    println!("  REST API:     {}/services/data/v{}.0/", running.url, running.state.org.max_api_version / 10);
    for s in &running.state.org.mcp_servers {
        println!("  MCP server:   {}/platform/mcp/v1/{}", running.url, s.name);
    }
    println!("Ctrl-C stops it.");
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
}
