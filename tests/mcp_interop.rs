//! Interop: the official MCP Rust SDK's client (rmcp) connects to the mock's servers with a real
//! token from the mock's OAuth flow, lists tools and calls one.

mod support;

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use support::*;

#[tokio::test]
async fn the_rmcp_client_lists_and_calls_tools_with_a_real_token() {
    let org = TestOrg::start().await;
    let url = format!("{}/platform/mcp/v1/platform/sobject-reads", org.running.api_url);
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str()).auth_header(org.token(AGENT));
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("the client connects");
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(names.contains(&"soqlQuery") && names.contains(&"getRecord"), "{names:?}");
    let query = serde_json::json!({"q": "SELECT Id FROM Case"}).as_object().cloned().unwrap();
    let result =
        client.call_tool(CallToolRequestParams::new("soqlQuery").with_arguments(query)).await.expect("tools/call");
    assert_ne!(result.is_error, Some(true));
    let records =
        result.structured_content.as_ref().and_then(|v| v["records"].as_array()).map(|a| a.len()).unwrap_or(0);
    assert!(records >= 3, "the agent's shared cases: {records}");
    let _ = client.cancel().await;

    // Twin: the same client without a token is refused at connect.
    let bare = StreamableHttpClientTransportConfig::with_uri(url.as_str());
    assert!(().serve(StreamableHttpClientTransport::from_config(bare)).await.is_err(), "no token, no session");
}
