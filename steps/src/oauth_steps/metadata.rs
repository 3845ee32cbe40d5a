//! The authorization server metadata (RFC 8414): issuer, PKCE methods, grants, endpoints.

use super::*;

#[when("the client reads the authorization server metadata")]
async fn read_metadata(w: &mut GateWorld) -> Result<(), StepError> {
    let url = w.target.metadata_url.clone();
    w.last = Some(w.probe.send(Request::new(Method::GET, url)).await?);
    Ok(())
}

fn metadata(w: &GateWorld) -> Result<Value, StepError> {
    let r = w.last()?;
    expect(r.status == 200, "the metadata document served (200)", || format!("{}", r.status))?;
    r.json().filter(Value::is_object).ok_or_else(|| StepError::Expectation {
        expected: "a JSON metadata document".into(),
        observed: "not JSON".into(),
    })
}

fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key)?.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
}

#[then("the metadata issuer is exactly the configured issuer")]
async fn meta_issuer(w: &mut GateWorld) -> Result<(), StepError> {
    let m = metadata(w)?;
    let issuer = m.get("issuer").and_then(Value::as_str).unwrap_or("(missing)").to_string();
    expect(issuer == w.target.issuer, format!("issuer {}", w.target.issuer), || format!("issuer {issuer}"))
}

#[then("the metadata offers S256 and not plain for PKCE")]
async fn meta_pkce(w: &mut GateWorld) -> Result<(), StepError> {
    let methods = strings(&metadata(w)?, "code_challenge_methods_supported").unwrap_or_default();
    expect(methods.iter().any(|m| m == "S256") && !methods.iter().any(|m| m == "plain"), "[S256] without plain", || {
        format!("{methods:?}")
    })
}

#[then("the metadata offers no password, implicit or client-credentials grant")]
async fn meta_grants(w: &mut GateWorld) -> Result<(), StepError> {
    let m = metadata(w)?;
    let grants = strings(&m, "grant_types_supported").ok_or_else(|| StepError::Expectation {
        expected: "grant_types_supported present".into(),
        observed: "absent (the default includes implicit)".into(),
    })?;
    let bad: Vec<&String> =
        grants.iter().filter(|g| ["password", "implicit", "client_credentials"].contains(&g.as_str())).collect();
    expect(bad.is_empty(), "none of password, implicit, client_credentials", || format!("{bad:?}"))?;
    let types = strings(&m, "response_types_supported").unwrap_or_default();
    let token_types: Vec<&String> = types.iter().filter(|t| t.split(' ').any(|p| p == "token")).collect();
    expect(token_types.is_empty(), "no response type containing token", || format!("{token_types:?}"))
}

#[then("the metadata advertises revocation and introspection endpoints that answer")]
async fn meta_endpoints(w: &mut GateWorld) -> Result<(), StepError> {
    let m = metadata(w)?;
    let mut wanted = vec!["revocation_endpoint"];
    if w.target.flavor == Flavor::Salesforce {
        wanted.push("introspection_endpoint");
    }
    for key in wanted {
        let url = m.get(key).and_then(Value::as_str).map(str::to_string);
        let url = url.ok_or_else(|| StepError::Expectation {
            expected: format!("{key} advertised"),
            observed: "absent".into(),
        })?;
        let form = pairs(&[("token", "hg-not-a-token"), ("client_id", &w.target.client_id.clone())]);
        let r = w.probe.send(Request::new(Method::POST, url).form(form)).await?;
        if key == "revocation_endpoint" && w.target.flavor == Flavor::OAuth21 {
            // RFC 7009 2.2: an unknown token is answered 200, with nothing to say.
            expect(r.status == 200, "revocation_endpoint answering 200 (RFC 7009 2.2)", || format!("{}", r.status))?;
            continue;
        }
        expect(r.status < 500 && r.status != 404 && r.json().is_some(), format!("{key} answering with JSON"), || {
            format!("{}", r.status)
        })?;
    }
    Ok(())
}
