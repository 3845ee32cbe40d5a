//! HG-SYS-04 at its root: for every Apex-backed tool the mock org can expose (the clean fixture
//! and every fault that changes a tool), the scanner's verdict on the class behind it matches the
//! mode the org runs it in.

use mock_org::Org;
use mock_org::faults::TABLE;

#[test]
fn the_scanners_verdict_matches_each_tools_runtime_mode() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-org/apex");
    let files = apex_scan::read_tree(&root).expect("the mock's Apex");
    let mut orgs = vec![("(clean)".to_string(), Org::default_fixture())];
    for spec in TABLE {
        let mut org = Org::default_fixture();
        org.enable_fault(spec.name).unwrap();
        orgs.push((spec.name.to_string(), org));
    }
    let mut compared = 0;
    for (label, org) in &orgs {
        for tool in org.mcp_servers.iter().flat_map(|s| &s.custom_tools) {
            let scan = apex_scan::scan(&files, std::slice::from_ref(&tool.apex_class));
            let flagged = !scan.findings_for_class(&tool.apex_class).is_empty();
            assert_eq!(
                flagged,
                tool.system_mode,
                "{label}: {} runs {} in {} mode but the scan says {}",
                tool.name,
                tool.apex_class,
                if tool.system_mode { "system" } else { "user" },
                if flagged { "system" } else { "user" }
            );
            compared += 1;
        }
    }
    assert!(compared > orgs.len(), "every org has at least one Apex-backed tool, some two");
}
