//! JUnit XML: a testsuite per feature, a testcase per control. The testcase name starts with the
//! control ID, `classname` is checklist item and area, a failure's message is one line and its
//! body the redacted evidence.

use super::RunInfo;
use crate::results::{ControlResult, Status};
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
            let evidence = r.evidence.join("\n\n");
            let mut case = match r.status {
                Status::Passed => TestCaseBuilder::success(&r.title, time),
                Status::Excluded => TestCaseBuilder::skipped_with_cause(
                    &r.title,
                    "excluded",
                    r.message.as_deref().unwrap_or("excluded"),
                ),
                Status::Failed => {
                    let mut c =
                        TestCaseBuilder::failure(&r.title, time, &r.severity, r.message.as_deref().unwrap_or("failed"));
                    c.set_trace(&evidence);
                    c
                }
            };
            case.set_classname(&classname);
            case.set_system_out(&evidence);
            suite.add_testcase(case.build());
        }
        if info.interrupted {
            suite.set_system_err("the run was interrupted: controls that had not finished are missing");
        }
        report.add_testsuite(suite.build());
    }
    let mut out = Vec::new();
    report.build().write_xml(&mut out).expect("writing XML to memory");
    out
}
