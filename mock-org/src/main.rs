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
    /// Port on 127.0.0.1 for the org's instance (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Port on 127.0.0.1 for the API host, where the MCP servers answer (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    api_port: u16,
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
    let at = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let running = match mock_org::server::start_on(org, at(args.port), at(args.api_port)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{} and :{}: {e}", args.port, args.api_port);
            std::process::exit(2);
        }
    };
    println!("mock org '{}' listening", running.state.org.name);
    println!("  instance URL: {}", running.url);
    println!("  REST API:     {}/services/data/v{}.0/", running.url, running.state.org.max_api_version / 10);
    println!("  API host:     {}", running.api_url);
    for s in &running.state.org.mcp_servers {
        println!("  MCP server:   {}", running.state.mcp_url(&s.name));
    }
    println!("Ctrl-C stops it.");
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
}
