//! JUnit XML: a testsuite per feature, a testcase per control. The testcase name starts with the
//! control ID, `classname` is checklist item and area, a failure's message is one line and its
//! body the redacted evidence.

use super::RunInfo;
use crate::results::{ControlResult, Outcome};
use junit_report::{Duration, ReportBuilder, TestCaseBuilder, TestSuiteBuilder};

pub fn render(info: &RunInfo, results: &[ControlResult]) -> Vec<u8> {
    let mut features: Vec<&str> = results.iter().map(|r| r.feature.as_str()).collect();
    features.dedup();
    features.sort();
    features.dedup();
    let mut report = ReportBuilder::new();
    for feature in features {
        let mut suite = TestSuiteBuilder::new(feature);
        for r in results.iter().filter(|r| r.feature == feature) {
            let time = Duration::milliseconds(r.duration_ms as i64);
            let area = r.id.split('-').nth(1).unwrap_or("GATE");
            let classname = format!("{}.{area}", r.checklist.first().map(String::as_str).unwrap_or("C0"));
            let rerun = r.reproduce.as_ref().map(|c| format!("reproduce: {c}\n\n")).unwrap_or_default();
            let rerun =
                rerun + &r.curl.as_ref().map(|c| format!("the last request, by hand:\n{c}\n\n")).unwrap_or_default();
            let evidence = format!("{rerun}{}", r.evidence.join("\n\n"));
            let why = r.message.as_deref().unwrap_or(r.status.label());
            // JUnit has pass, failure and skipped: a row that counts against the gate is a
            // failure (type: its outcome and severity), every other row that did not pass is
            // skipped with its outcome as the type.
            let mut case = match r.status {
                Outcome::Passed => TestCaseBuilder::success(&r.title, time),
                _ if r.fails_gate() => {
                    let kind = format!("{} {}", r.status.label(), r.severity);
                    let mut c = TestCaseBuilder::failure(&r.title, time, &kind, why);
                    c.set_trace(&evidence);
                    c
                }
                Outcome::Failed | Outcome::NotVerifiable => {
                    let cause = format!(
                        "{} (SHOULD, downgraded: {})",
                        r.status.label(),
                        r.downgraded.as_deref().unwrap_or_default()
                    );
                    TestCaseBuilder::skipped_with_cause(&r.title, &cause, why)
                }
                Outcome::Excluded if r.stale_exclusion() => {
                    TestCaseBuilder::skipped_with_cause(&r.title, "excluded (stale: it passes)", why)
                }
                other => TestCaseBuilder::skipped_with_cause(&r.title, other.label(), why),
            };
            case.set_classname(&classname);
            case.set_system_out(&evidence);
            suite.add_testcase(case.build());
        }
        let mut notes = Vec::new();
        if info.interrupted {
            notes.push("the run was interrupted: controls that had not finished are not verifiable".to_string());
        }
        notes.extend(info.undo_outstanding.iter().map(|u| format!("not undone (put it back by hand): {u}")));
        if !notes.is_empty() {
            suite.set_system_err(&notes.join("\n"));
        }
        report.add_testsuite(suite.build());
    }
    let mut out = Vec::new();
    report.build().write_xml(&mut out).expect("writing XML to memory");
    out
}
