//! report.html in a real headless browser (Debian's chromium, installed by .ci/run): it loads with
//! no console error, and the verdict and the checklist table are there to see.

mod support;

use headless_gate::{GateVerdict, RunOptions};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(args: &[String]) -> (String, String) {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "this test needs Debian's chromium: apt-get install chromium (.ci/run installs it)"
    );
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .output()
        .expect("chromium runs");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn the_report_renders_with_verdict_and_checklist_and_no_console_error() {
    let dir = support::scratch("html");
    let _ = std::fs::remove_dir_all(&dir);
    let opts = RunOptions { tags: Some("@C4 or @HG-META-01".into()), ..RunOptions::mock(dir.clone()) };
    let outcome = headless_gate::run(opts).await.unwrap();
    // A selection never passes the gate: the rest of the checklist is not evidenced.
    assert_eq!(outcome.verdict, GateVerdict::Inconclusive);
    let page = format!("file://{}", dir.join("report.html").display());
    let profile = dir.join("chromium-profile");
    let shot = dir.join("report.png");
    let (dom, stderr) =
        chromium(&[format!("--user-data-dir={}", profile.display()), "--dump-dom".into(), page.clone()]);
    assert!(
        dom.contains("id=\"verdict\"")
            && dom.contains("Gate verdict: <strong><span class=\"inconclusive\">INCONCLUSIVE</span>"),
        "the verdict:\n{dom}"
    );
    let table = dom.split("id=\"checklist\"").nth(1).expect("the checklist table");
    for item in ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"] {
        assert!(table.contains(&format!("<td>{item}</td>")), "{item} in the checklist table");
    }
    assert!(table.contains("NOT EVIDENCED"), "items without controls say so");
    for line in stderr.lines().filter(|l| l.contains("CONSOLE")) {
        assert!(!line.contains("ERROR") && !line.contains("Uncaught"), "a console error: {line}");
    }
    let (_, _) = chromium(&[
        format!("--user-data-dir={}", profile.display()),
        format!("--screenshot={}", shot.display()),
        "--window-size=1200,900".into(),
        page.clone(),
    ]);
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a rendered page, not a blank one ({} bytes)",
        png.len()
    );
    // Printed to PDF: each checklist item with rows starts a page of its own.
    let pdf_path = dir.join("report.pdf");
    let (_, _) = chromium(&[
        format!("--user-data-dir={}", profile.display()),
        format!("--print-to-pdf={}", pdf_path.display()),
        "--no-pdf-header-footer".into(),
        page,
    ]);
    let pdf = std::fs::read(&pdf_path).expect("a PDF");
    assert!(pdf.starts_with(b"%PDF"), "a PDF file");
    let text = String::from_utf8_lossy(&pdf);
    let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
    let sections = dom.matches("<section class=\"item\"").count();
    assert!(sections >= 2 && pages > sections, "{pages} pages for {sections} checklist sections");
}

/// A failing run's page puts what fails the gate first, under its checklist item, with what to
/// change to fix it and how to run it again; the filter is there to use.
#[tokio::test]
async fn failures_come_first_grouped_by_item_with_their_fix() {
    let dir = support::scratch("html-failing");
    let _ = std::fs::remove_dir_all(&dir);
    let opts =
        RunOptions { faults: vec!["password-grant".into()], tags: Some("@C3".into()), ..RunOptions::mock(dir.clone()) };
    let outcome = headless_gate::run(opts).await.unwrap();
    assert_eq!(outcome.verdict, GateVerdict::Failed);
    let page = format!("file://{}", dir.join("report.html").display());
    let (dom, stderr) =
        chromium(&[format!("--user-data-dir={}", dir.join("profile").display()), "--dump-dom".into(), page]);
    for line in stderr.lines().filter(|l| l.contains("CONSOLE")) {
        assert!(!line.contains("ERROR") && !line.contains("Uncaught"), "a console error: {line}");
    }
    let c3 = dom.split("id=\"item-C3\"").nth(1).expect("the C3 section");
    let first_row = c3.split("<details").nth(1).expect("a row");
    assert!(first_row.contains("data-outcome=\"failed\"") && first_row.contains("HG-GRANT-01"), "{first_row}");
    assert!(
        first_row.contains("To fix:</strong> Salesforce: Setup &gt; OAuth and OpenID Connect Settings"),
        "{first_row}"
    );
    assert!(first_row.contains("headless-gate run --fault password-grant --tags @HG-GRANT-01"), "{first_row}");
    assert!(dom.contains("id=\"f-outcome\"") && dom.contains("<option value=\"failed\">failed</option>"));
}
