//! The files a run reads from disk, written out from the binary: the shipped feature files
//! (cucumber reads a folder), a team's own feature files beside them (`--features DIR`), and the
//! mock org's Apex sources. They go to a private temporary folder that is removed when the run
//! ends, so an installed binary works from any directory and needs no checkout.

use std::path::{Path, PathBuf};

mod apex {
    include!(concat!(env!("OUT_DIR"), "/shipped_apex.rs"));
}

/// A private folder with `features/` (and, on demand, `apex/`); removed on drop.
pub struct RunFiles {
    root: PathBuf,
}

impl RunFiles {
    /// Writes the shipped feature files and the `.feature` files under `extra`. A team's file at a
    /// shipped path must be the shipped text (a copy of the whole folder is fine); one that
    /// differs is an error, since the catalog's controls must mean what they say.
    pub fn new(extra: Option<&Path>) -> Result<RunFiles, String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("headless-gate-{}-{n}", std::process::id()));
        let files = RunFiles { root };
        let _ = std::fs::remove_dir_all(&files.root);
        let features = files.features();
        for (path, text) in crate::catalog::shipped_files() {
            write(&features.join(path), text)?;
        }
        if let Some(dir) = extra {
            if !dir.is_dir() {
                return Err(format!(
                    "features folder {} does not exist (--features adds a folder of your own feature files)",
                    dir.display()
                ));
            }
            for f in crate::catalog::feature_files_under(dir)? {
                let rel = f.strip_prefix(dir).unwrap_or(&f).to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                let same = |shipped: &str| shipped.replace("\r\n", "\n") == text.replace("\r\n", "\n");
                if crate::catalog::shipped_files().iter().any(|(_, shipped)| same(shipped)) {
                    continue; // a copy of a shipped file: it runs once, from the binary
                }
                if crate::catalog::shipped_files().iter().any(|(p, _)| *p == rel) {
                    return Err(format!(
                        "{}: {rel} differs from the catalog built into this binary; keep the shipped feature files as they are (a team's own scenarios go in files of their own)",
                        dir.display()
                    ));
                }
                write(&features.join(&rel), &text)?;
            }
        }
        Ok(files)
    }

    /// The folder of feature files cucumber runs.
    pub fn features(&self) -> PathBuf {
        self.root.join("features")
    }

    /// The mock org's Apex sources, written out.
    pub fn apex(&self) -> Result<PathBuf, String> {
        let dir = self.root.join("apex");
        for (path, text) in apex::FILES {
            write(&dir.join(path), text)?;
        }
        Ok(dir)
    }
}

impl Drop for RunFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_are_written_out_and_removed_and_a_teams_own_join_them() {
        let team = std::env::temp_dir().join(format!("hg-team-features-{}", std::process::id()));
        std::fs::create_dir_all(team.join("acme")).unwrap();
        std::fs::write(team.join("acme/own.feature"), "Feature: own\n").unwrap();
        let (shipped_path, shipped_text) = crate::catalog::shipped_files()[0];
        std::fs::create_dir_all(team.join(shipped_path).parent().unwrap()).unwrap();
        std::fs::write(team.join(shipped_path), shipped_text).unwrap();
        let files = RunFiles::new(Some(&team)).unwrap();
        let root = files.features();
        assert_eq!(std::fs::read_to_string(root.join("acme/own.feature")).unwrap(), "Feature: own\n");
        for (path, text) in crate::catalog::shipped_files() {
            assert_eq!(&std::fs::read_to_string(root.join(path)).unwrap(), text);
        }
        let apex = files.apex().unwrap();
        assert!(std::fs::read_dir(apex.join("classes")).is_ok_and(|mut d| d.next().is_some()));
        drop(files);
        assert!(!root.exists(), "removed when the run ends");

        // A shipped file edited in place is refused, naming it.
        std::fs::write(team.join(shipped_path), format!("{shipped_text}\n# edited")).unwrap();
        let e = RunFiles::new(Some(&team)).err().unwrap();
        assert!(e.contains(shipped_path) && e.contains("differs from the catalog"), "{e}");
        std::fs::remove_dir_all(&team).unwrap();
    }
}
