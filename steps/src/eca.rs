//! HG-ECA-*: the agent's External Client App's security settings as the org's metadata states
//! them, judged against what the rollout requires. One rule per setting, here; the steps only
//! name the setting.

use crate::target::{AppMetadata, Target};

/// A setting of the app, as the Gherkin names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "eca_setting",
    regex = "the client-credentials flow|PKCE|refresh-token rotation|its refresh-token policy|its OAuth scopes|its permitted users|its IP policy"
)]
pub enum Setting {
    ClientCredentials,
    Pkce,
    Rotation,
    RefreshPolicy,
    Scopes,
    PermittedUsers,
    IpPolicy,
}

impl std::str::FromStr for Setting {
    type Err = String;

    fn from_str(s: &str) -> Result<Setting, String> {
        Ok(match s {
            "the client-credentials flow" => Setting::ClientCredentials,
            "PKCE" => Setting::Pkce,
            "refresh-token rotation" => Setting::Rotation,
            "its refresh-token policy" => Setting::RefreshPolicy,
            "its OAuth scopes" => Setting::Scopes,
            "its permitted users" => Setting::PermittedUsers,
            "its IP policy" => Setting::IpPolicy,
            other => return Err(format!("no External Client App setting '{other}'")),
        })
    }
}

/// Scopes no agent app may have unless the rollout declares them.
const BROAD: &[&str] = &["api", "full", "web", "sfap_api"];

/// What the metadata states for the setting (`None`: the retrieved files hold no such setting).
pub fn stated(setting: Setting, app: &AppMetadata) -> Option<String> {
    let p = &app.posture;
    let flag = |b: Option<bool>| b.map(|b| b.to_string());
    match setting {
        Setting::ClientCredentials => flag(p.client_credentials),
        Setting::Pkce => flag(p.pkce_required),
        Setting::Rotation => flag(p.rotation),
        Setting::RefreshPolicy => p.refresh_policy.clone(),
        Setting::Scopes => (!app.scopes.is_empty()).then(|| app.scopes.join(", ")),
        Setting::PermittedUsers => {
            p.permitted_users.as_ref().map(|u| format!("{u}; permission sets [{}]", p.permission_sets.join(", ")))
        }
        Setting::IpPolicy => p.ip_policy.clone(),
    }
}

/// Where the setting lives, for a not-verifiable reason.
fn file_of(setting: Setting) -> &'static str {
    match setting {
        Setting::Pkce | Setting::Rotation => {
            "the global OAuth settings (*.ecaGlblOauth-meta.xml: retrieved only where the org lets the Metadata API read consumer secrets)"
        }
        Setting::Scopes => "the OAuth settings (*.ecaOauth-meta.xml)",
        Setting::ClientCredentials => "the global OAuth settings or the OAuth policy (*.ecaOauthPlcy-meta.xml)",
        _ => "the OAuth policy (*.ecaOauthPlcy-meta.xml)",
    }
}

/// The verdict on one setting: `Ok(what was seen)`, or `Err((expected, observed))`; the outer
/// `Err` is why it cannot be judged (the setting is not in the retrieved metadata).
pub fn judge(setting: Setting, app: &AppMetadata, t: &Target) -> Result<Result<String, (String, String)>, String> {
    let seen = stated(setting, app).ok_or_else(|| {
        format!("the metadata of {} holds no {setting:?} setting: retrieve {}", app.name, file_of(setting))
    })?;
    let p = &app.posture;
    let verdict = match setting {
        Setting::ClientCredentials => {
            (p.client_credentials == Some(false), "false (the client-credentials flow off)".to_string())
        }
        Setting::Pkce => (p.pkce_required == Some(true), "true (PKCE required)".into()),
        Setting::Rotation => (p.rotation == Some(true), "true (refresh tokens rotated)".into()),
        Setting::RefreshPolicy => {
            let kind = seen.split_whitespace().next().unwrap_or_default();
            (!kind.eq_ignore_ascii_case("Infinite"), "a lifetime or an idle limit (not Infinite)".into())
        }
        Setting::Scopes => {
            let outside: Vec<&String> = app.scopes.iter().filter(|s| !t.scopes.contains(s)).collect();
            let broad: Vec<&String> = outside.iter().copied().filter(|s| BROAD.contains(&s.as_str())).collect();
            let expected =
                format!("scopes within [{}] (never {} unless declared)", t.scopes.join(", "), BROAD.join(", "));
            if outside.is_empty() {
                (true, expected)
            } else {
                let observed = outside.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                let note = if broad.is_empty() { String::new() } else { " (broad)".into() };
                return Ok(Err((expected, format!("{observed}{note}"))));
            }
        }
        Setting::PermittedUsers => {
            let admin =
                p.permitted_users.as_deref().is_some_and(|u| u.eq_ignore_ascii_case("AdminApprovedPreAuthorized"));
            (admin && !p.permission_sets.is_empty(), "AdminApprovedPreAuthorized through a permission set".into())
        }
        Setting::IpPolicy => {
            (p.ip_policy.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(&t.app_ip_policy)), t.app_ip_policy.clone())
        }
    };
    Ok(if verdict.0 { Ok(seen) } else { Err((verdict.1, seen)) })
}
