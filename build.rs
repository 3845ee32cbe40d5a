//! Compiles the shipped feature files' text into the binary (the control catalog and the
//! scenarios a run executes, from any directory) and the mock org's Apex sources (scanned for
//! HG-SYS-03/04 on the embedded mock): an installed binary needs no checkout.

use std::path::{Path, PathBuf};

fn files_under(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, extensions, out);
        } else if p.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)) {
            out.push(p);
        }
    }
}

/// Writes `OUT_DIR/<name>`: a `FILES` table of (path under `dir`, text) for every file under `dir`
/// with one of `extensions`.
fn embed(dir: &str, extensions: &[&str], name: &str) {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join(dir);
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    files_under(&root, extensions, &mut files);
    let mut code = format!(
        "/// The files under {dir}/ compiled in: (path under {dir}/, text).\npub const FILES: &[(&str, &str)] = &[\n"
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f.strip_prefix(&root).expect("under its folder").to_string_lossy().replace('\\', "/");
        code.push_str(&format!("    ({rel:?}, include_str!({:?})),\n", f.display().to_string()));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join(name);
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

fn main() {
    embed("features", &["feature"], "shipped_features.rs");
    // The mock org's Apex sources (HG-SYS-03/04 scan them on the embedded mock).
    embed("mock-org/apex", &["cls", "xml", "json", "trigger"], "shipped_apex.rs");
}
