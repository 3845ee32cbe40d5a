//! The MCP controls in both protocol eras: sessions (2025-11-25, the default) and stateless
//! (2026-07-28, no `initialize`, the protocol version in every request's `_meta`).

mod support;

use headless_gate::{GateError, GateVerdict, RunOptions, results::Outcome};

fn options(dir: &str, mcp_protocol: Option<&str>) -> RunOptions {
    let reports = support::scratch(&format!("eras-{dir}"));
    RunOptions {
        // Every MCP control, plus the ones that call MCP servers from other areas.
        tags: Some("@mcp or @HG-REV-01 or @C2 or @C7".into()),
        mcp_protocol: mcp_protocol.map(str::to_string),
        ..RunOptions::mock(reports)
    }
}

const SESSION_CONTROLS: &[&str] = &["HG-PIN-03", "HG-RS-09", "HG-RS-10", "HG-TRN-03"];

#[tokio::test]
async fn the_stateless_era_runs_every_mcp_control_that_has_no_session() {
    let outcome = headless_gate::run(options("stateless", Some("2026-07-28"))).await.expect("the run completes");
    let failed: Vec<&str> = outcome.results.iter().filter(|r| r.fails_gate()).map(|r| r.title.as_str()).collect();
    assert!(failed.is_empty(), "failed: {failed:?}");
    // A tag selection never passes the gate: the rest of the checklist was not run.
    assert_eq!(outcome.verdict, GateVerdict::Inconclusive, "{:?}", outcome.reasons);
    assert!(outcome.reasons.iter().all(|r| r.contains("not selected")), "{:?}", outcome.reasons);

    // The session controls are not applicable in this era, with the reason; nothing else is.
    let not_applicable: Vec<&headless_gate::results::ControlResult> = outcome
        .results
        .iter()
        .filter(|r| {
            let message = r.message.as_deref().unwrap_or_default();
            r.status == Outcome::NotApplicable
                && message != "the persona can list no write tool"
                && !message.starts_with("the target declares one platform audience")
        })
        .collect();
    assert_eq!(not_applicable.len(), 8, "{not_applicable:?}");
    for r in &not_applicable {
        assert!(SESSION_CONTROLS.contains(&r.id.as_str()), "{} not applicable", r.id);
        assert_eq!(r.message.as_deref(), Some("the target speaks MCP 2026-07-28, which has no sessions"));
    }
    // The other RS and TRN controls ran and passed in this era.
    for id in ["HG-RS-01", "HG-RS-04", "HG-RS-08", "HG-TRN-01", "HG-TRN-02", "HG-SYS-01", "HG-CAT-01"] {
        assert!(outcome.results.iter().any(|r| r.id == id && r.status == Outcome::Passed), "{id} passed");
    }

    // On the wire: no handshake, and the version in every request's _meta.
    let evidence: Vec<&String> = outcome.results.iter().flat_map(|r| r.evidence.iter()).collect();
    assert!(!evidence.iter().any(|e| e.contains(r#""method":"initialize""#)), "no initialize in this era");
    assert!(evidence.iter().any(|e| e.contains(r#""io.modelcontextprotocol/protocolVersion":"2026-07-28""#)));
}

#[tokio::test]
async fn an_unknown_protocol_version_is_a_usage_error() {
    let err = headless_gate::run(options("bad", Some("2024-01-01"))).await.err().expect("refused");
    assert!(matches!(err, GateError::McpProtocol(ref v) if v == "2024-01-01"), "{err}");
}
