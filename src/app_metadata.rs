//! The org's External Client Apps from SFDX metadata (`sf project retrieve start`), for HG-DECL-02
//! and HG-ECA-*: callbacks, consumer keys, PKCE, rotation and the developer's client-credentials
//! toggle from `*.ecaGlblOauth-meta.xml`; scopes from `*.ecaOauth-meta.xml`; the admin's policies
//! (client credentials, refresh tokens, permitted users, IP relaxation) from
//! `*.ecaOauthPlcy-meta.xml`; joined by `externalClientApplication`, never by file name (an app
//! made in Setup and one deployed as metadata name their files differently).

use std::collections::BTreeMap;
use std::path::Path;
use steps::target::{AppMetadata, Posture};

/// Metadata scope names as OAuth scope strings (the form the target file declares).
fn oauth_scope(name: &str) -> String {
    match name {
        "RefreshToken" | "OfflineAccess" => "refresh_token",
        "Api" => "api",
        "Web" => "web",
        "Full" => "full",
        "OpenID" => "openid",
        "Basic" => "id",
        "McpApi" | "Mcp" | "MCP" => "mcp_api",
        "SFApiPlatform" => "sfap_api",
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
    let mut policies: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut policy_files = Vec::new();
    files(dir, ".ecaOauthPlcy-meta.xml", &mut policy_files).map_err(|e| format!("{}: {e}", dir.display()))?;
    for f in &policy_files {
        let e = elements(f)?;
        policies.insert(e.get("externalClientApplication").cloned().unwrap_or_default(), e);
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
            posture: posture(&e, policies.get(&name)),
            name,
        });
    }
    Ok(apps)
}

/// The app's security settings from its global OAuth settings and its OAuth policy file.
fn posture(global: &BTreeMap<String, String>, policy: Option<&BTreeMap<String, String>>) -> Posture {
    let flag = |e: &BTreeMap<String, String>, k: &str| e.get(k).map(|v| v.eq_ignore_ascii_case("true"));
    let from_policy = |k: &str| policy.and_then(|p| p.get(k)).filter(|v| !v.is_empty()).cloned();
    let client_credentials = match (
        flag(global, "isClientCredentialsFlowEnabled"),
        policy.and_then(|p| flag(p, "isClientCredentialsFlowEnabled")),
    ) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
    };
    let refresh_policy = from_policy("refreshTokenPolicyType").map(|t| {
        match (from_policy("refreshTokenValidityPeriod"), from_policy("refreshTokenValidityUnit")) {
            (Some(n), Some(u)) => format!("{t} {n} {u}"),
            _ => t,
        }
    });
    Posture {
        client_credentials,
        pkce_required: flag(global, "isPkceRequired"),
        rotation: flag(global, "isRefreshTokenRotationEnabled"),
        refresh_policy,
        permitted_users: from_policy("permittedUsersPolicyType"),
        permission_sets: from_policy("commaSeparatedPermissionSet")
            .map(|l| l.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
            .unwrap_or_default(),
        ip_policy: from_policy("ipRelaxationPolicyType"),
    }
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
                posture: Posture::default(),
            }]
        );
        std::fs::write(s.join("Broken.ecaOauth-meta.xml"), "<not-closed>").unwrap();
        assert!(read(&dir).unwrap_err().contains("Broken.ecaOauth-meta.xml: not XML"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read(&dir).is_err());
    }

    /// An app made in Setup, as `sf project retrieve start` writes it (files named `_glbloauth`,
    /// `_oauth`, `_oauthPlcy`; elements alphabetical; scopes as metadata tokens): its posture.
    #[test]
    fn the_posture_comes_from_the_global_settings_and_the_oauth_policy() {
        let dir = tempfile::tempdir().unwrap();
        let write = |folder: &str, file: &str, body: &str| {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
            let xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n");
            std::fs::write(dir.path().join(folder).join(file), xml).unwrap();
        };
        write(
            "extlClntAppGlobalOauthSets",
            "Agent_Access_glbloauth.ecaGlblOauth-meta.xml",
            r#"<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <callbackUrl>https://agent.example.com/oauth/callback</callbackUrl>
    <consumerKey>3MVG9EXAMPLE</consumerKey>
    <externalClientApplication>Agent_Access</externalClientApplication>
    <isClientCredentialsFlowEnabled>false</isClientCredentialsFlowEnabled>
    <isPkceRequired>true</isPkceRequired>
    <isRefreshTokenRotationEnabled>true</isRefreshTokenRotationEnabled>
    <label>Agent_Access_glbloauth</label>
</ExtlClntAppGlobalOauthSettings>"#,
        );
        write(
            "extlClntAppOauthSettings",
            "Agent_Access_oauth.ecaOauth-meta.xml",
            r#"<ExtlClntAppOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <commaSeparatedOauthScopes>MCP, RefreshToken, SFApiPlatform</commaSeparatedOauthScopes>
    <externalClientApplication>Agent_Access</externalClientApplication>
</ExtlClntAppOauthSettings>"#,
        );
        write(
            "extlClntAppOauthPolicies",
            "Agent_Access_oauthPlcy.ecaOauthPlcy-meta.xml",
            r#"<ExtlClntAppOauthConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata">
    <commaSeparatedPermissionSet>Agent_Access_Users, Support_Agents</commaSeparatedPermissionSet>
    <externalClientApplication>Agent_Access</externalClientApplication>
    <ipRelaxationPolicyType>Enforce_relaxrefresh</ipRelaxationPolicyType>
    <isClientCredentialsFlowEnabled>true</isClientCredentialsFlowEnabled>
    <permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>
    <refreshTokenPolicyType>SpecificLifetime</refreshTokenPolicyType>
    <refreshTokenValidityPeriod>30</refreshTokenValidityPeriod>
    <refreshTokenValidityUnit>Days</refreshTokenValidityUnit>
</ExtlClntAppOauthConfigurablePolicies>"#,
        );
        let app = read(dir.path()).unwrap().remove(0);
        assert_eq!(app.scopes, ["mcp_api", "refresh_token", "sfap_api"]);
        assert_eq!(
            app.posture,
            Posture {
                // The admin's policy turned it on though the developer's setting is off.
                client_credentials: Some(true),
                pkce_required: Some(true),
                rotation: Some(true),
                refresh_policy: Some("SpecificLifetime 30 Days".into()),
                permitted_users: Some("AdminApprovedPreAuthorized".into()),
                permission_sets: vec!["Agent_Access_Users".into(), "Support_Agents".into()],
                ip_policy: Some("Enforce_relaxrefresh".into()),
            }
        );
    }
}
