//! report.html in a real headless browser (Debian's chromium, installed by .ci/run): it loads with
//! no console error, and the verdict and the checklist table are there to see.

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
    let dir = std::env::temp_dir().join(format!("hg-html-{}", std::process::id()));
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
        page,
    ]);
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a rendered page, not a blank one ({} bytes)",
        png.len()
    );
}
