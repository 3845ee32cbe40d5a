//! The org's External Client Apps from SFDX metadata (`sf project retrieve start`), for HG-DECL-02:
//! callbacks and consumer keys from `*.ecaGlblOauth-meta.xml`, scopes from `*.ecaOauth-meta.xml`,
//! joined by `externalClientApplication`.

use std::collections::BTreeMap;
use std::path::Path;
use steps::target::AppMetadata;

/// Metadata scope names as OAuth scope strings (the form the target file declares).
fn oauth_scope(name: &str) -> String {
    match name {
        "RefreshToken" | "OfflineAccess" => "refresh_token",
        "Api" => "api",
        "Web" => "web",
        "Full" => "full",
        "OpenID" => "openid",
        "Basic" => "id",
        "McpApi" | "Mcp" => "mcp_api",
        other => other,
    }
    .to_string()
}

fn files(dir: &Path, suffix: &str, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, suffix, out)?;
        } else if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(suffix)) {
            out.push(path);
        }
    }
    Ok(())
}

/// The text of each top-level element of one metadata file, by element name.
fn elements(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: not XML: {e}", path.display()))?;
    Ok(doc
        .root_element()
        .children()
        .filter(|n| n.is_element())
        .map(|n| (n.tag_name().name().to_string(), n.text().unwrap_or_default().trim().to_string()))
        .collect())
}

/// Every app with global OAuth settings under `dir`, with its scopes where its settings file is there.
pub fn read(dir: &Path) -> Result<Vec<AppMetadata>, String> {
    let (mut global, mut settings) = (Vec::new(), Vec::new());
    files(dir, ".ecaGlblOauth-meta.xml", &mut global).map_err(|e| format!("{}: {e}", dir.display()))?;
    files(dir, ".ecaOauth-meta.xml", &mut settings).map_err(|e| format!("{}: {e}", dir.display()))?;
    if global.is_empty() {
        return Err(format!(
            "{}: no *.ecaGlblOauth-meta.xml (External Client App global OAuth settings)",
            dir.display()
        ));
    }
    let mut scopes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &settings {
        let e = elements(f)?;
        let app = e.get("externalClientApplication").cloned().unwrap_or_default();
        let list = e.get("commaSeparatedOauthScopes").cloned().unwrap_or_default();
        scopes.insert(app, list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(oauth_scope).collect());
    }
    let mut apps = Vec::new();
    for f in &global {
        let e = elements(f)?;
        let name = e
            .get("externalClientApplication")
            .cloned()
            .ok_or_else(|| format!("{}: externalClientApplication is missing", f.display()))?;
        apps.push(AppMetadata {
            consumer_key: e.get("consumerKey").cloned().unwrap_or_default(),
            // Several callbacks are one per line.
            callback_urls: e
                .get("callbackUrl")
                .map(|c| c.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            scopes: scopes.get(&name).cloned().unwrap_or_default(),
            name,
        });
    }
    Ok(apps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_are_joined_from_their_two_metadata_files() {
        let dir = std::env::temp_dir().join(format!("hg-eca-{}", std::process::id()));
        let (g, s) = (dir.join("extlClntAppGlobalOauthSets"), dir.join("extlClntAppOauthSettings"));
        std::fs::create_dir_all(&g).unwrap();
        std::fs::create_dir_all(&s).unwrap();
        std::fs::write(
            g.join("Agent.ecaGlblOauth-meta.xml"),
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <callbackUrl>https://agent.example.com/cb
https://staging.agent.example.com/cb</callbackUrl>
    <consumerKey>3MVG9KEY</consumerKey>
    <externalClientApplication>Agent</externalClientApplication>
</ExtlClntAppGlobalOauthSettings>"#,
        )
        .unwrap();
        std::fs::write(
            s.join("Agent.ecaOauth-meta.xml"),
            r#"<ExtlClntAppOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <commaSeparatedOauthScopes>McpApi, RefreshToken</commaSeparatedOauthScopes>
    <externalClientApplication>Agent</externalClientApplication>
</ExtlClntAppOauthSettings>"#,
        )
        .unwrap();
        let apps = read(&dir).unwrap();
        assert_eq!(
            apps,
            vec![AppMetadata {
                name: "Agent".into(),
                consumer_key: "3MVG9KEY".into(),
                callback_urls: vec![
                    "https://agent.example.com/cb".into(),
                    "https://staging.agent.example.com/cb".into()
                ],
                scopes: vec!["mcp_api".into(), "refresh_token".into()],
            }]
        );
        std::fs::write(s.join("Broken.ecaOauth-meta.xml"), "<not-closed>").unwrap();
        assert!(read(&dir).unwrap_err().contains("Broken.ecaOauth-meta.xml: not XML"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read(&dir).is_err());
    }
}
