//! The load check, small: many agents at once mixing REST reads, tool calls, refreshes and
//! revocations against the mock. Bounded in count (not in time); it asserts what the org did
//! (no 5xx, every answer the expected one, one audit record per request), never how fast.
//! `headless-gate-bench load` runs the same with larger numbers (BENCHMARKS.md).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_mixed_traffic_gets_no_5xx_and_loses_no_audit_record() {
    let r = headless_gate::bench::load(16, 20).await;
    assert_eq!(r.total(), 16 * (20 * 3 + 4), "every request was sent: {:?}", r.sent);
    assert_eq!(r.server_errors(), 0, "{:?}", r.statuses);
    assert!(r.unexpected().is_empty(), "{:?}", r.unexpected());
    assert_eq!(r.served, r.total(), "the org answered every request");
    assert_eq!(r.audited, r.total(), "one audit record per request, nothing lost");
}
