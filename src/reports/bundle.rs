//! `--bundle out.zip`: the evidence an auditor files: the run's reports, the file that described
//! the target (every secret the run knew replaced), the gate's version, the catalog it judged by,
//! and `MANIFEST.sha256` over all of them (`sha256sum -c` checks it). Written to a temporary file
//! and renamed, like the reports.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// The reports a run writes, in the bundle's `reports/`.
const REPORTS: &[&str] = &["junit.xml", "results.json", "report.html", "summary.md", "results.sarif"];

/// Writes the bundle. `source` is the target or org file (name and text, redacted by the caller).
pub fn write(path: &Path, reports: &Path, source: (&str, &str), catalog: &str) -> std::io::Result<()> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for name in REPORTS {
        files.push((format!("reports/{name}"), std::fs::read(reports.join(name))?));
    }
    files.push((format!("target/{}", source.0), source.1.as_bytes().to_vec()));
    files.push(("VERSION".into(), format!("headless-gate {}\n", env!("CARGO_PKG_VERSION")).into_bytes()));
    files.push(("catalog.txt".into(), catalog.as_bytes().to_vec()));
    let manifest: String =
        files.iter().map(|(name, bytes)| format!("{}  {name}\n", hex(&Sha256::digest(bytes)))).collect();
    files.push(("MANIFEST.sha256".into(), manifest.into_bytes()));

    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("bundle.zip");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&tmp)?);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in &files {
        zip.start_file(name.as_str(), options).map_err(std::io::Error::other)?;
        zip.write_all(bytes)?;
    }
    zip.finish().map_err(std::io::Error::other)?;
    std::fs::rename(&tmp, path)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
