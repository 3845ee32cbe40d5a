//! The probe: raw HTTP with reqwest. No redirect is ever followed, every call has a timeout, bodies
//! are capped, and every exchange is kept as redacted evidence.

use crate::evidence::Secrets;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::Duration;

/// Bodies beyond this are cut: a hostile target cannot make the gate buffer without bound.
pub const BODY_CAP: usize = 1 << 20;
/// The default bound on one exchange, body included (a slow drip ends here too).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The default bound on all of one scenario's exchanges.
pub const SCENARIO_BUDGET: Duration = Duration::from_secs(120);

/// What a probe may do: how long an exchange and a scenario may take, and which hosts may see a
/// bearer token (the hosts the target names; a redirect or a hostile document never widens it).
#[derive(Debug, Clone)]
pub struct Limits {
    pub request_timeout: Duration,
    pub scenario_budget: Duration,
    /// `host:port` authorities; empty: any.
    pub trusted: Vec<String>,
}

impl Limits {
    /// Whether a URL is on a host the target names (any, where it names none: the mock).
    pub fn trusts(&self, url: &str) -> bool {
        self.trusted.is_empty() || authority(url).is_some_and(|a| self.trusted.contains(&a))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits { request_timeout: TIMEOUT, scenario_budget: SCENARIO_BUDGET, trusted: Vec::new() }
    }
}

/// `host:port` of a URL (the port made explicit), as `Limits::trusted` holds them.
pub fn authority(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?))
}

/// One connection pool for every scenario of the process: no redirect is ever followed.
fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(TIMEOUT)
                .build()
                .expect("an HTTP client without TLS options always builds")
        })
        .clone()
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub truncated: bool,
}

impl Reply {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no answer from {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("not sent: {url} is on a host the target does not name, and the request carries a bearer token")]
    Untrusted { url: String },
    #[error("not sent: the scenario used up its time budget of {0} s")]
    OverBudget(u64),
    #[error("{}the run was interrupted before this control finished", crate::world::NOT_VERIFIABLE)]
    Interrupted,
}

/// One request to send: a method, a URL and what goes with it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub bearer: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
}

#[derive(Debug, Clone)]
pub enum Body {
    Json(Value),
    Form(Vec<(String, String)>),
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request { method, url: url.into(), bearer: None, headers: Vec::new(), body: None }
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_string());
        self
    }

    pub fn json(mut self, v: Value) -> Self {
        self.body = Some(Body::Json(v));
        self
    }

    pub fn form(mut self, pairs: Vec<(String, String)>) -> Self {
        self.body = Some(Body::Form(pairs));
        self
    }
}

#[derive(Clone)]
pub struct Probe {
    client: reqwest::Client,
    pub limits: Limits,
    started: std::time::Instant,
    pub secrets: Secrets,
    pub evidence: Vec<String>,
    /// Sending a scenario's undo: an interrupted run still lets it out.
    pub undoing: bool,
    /// The run's interruption stopped an exchange of this scenario.
    pub interrupted: bool,
    /// Every request that went out, the lanes' included.
    pub sent: crate::traffic::SentLog,
    /// The scenario's last request (its undo aside), for a failed row's curl reproduction. In
    /// memory only: it is written out through `reproduce::curl`, which redacts every secret.
    pub last_request: Option<Request>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probe({} exchanges)", self.evidence.len())
    }
}

/// Whether a request may go out, and for how long: nothing once the run is interrupted or the
/// scenario's budget is spent (but an undo, which an exchange's timeout bounds), and no bearer
/// token to a host the target does not name. The one rule for the probe and its lanes.
fn admission(
    limits: &Limits,
    started: std::time::Instant,
    req: &Request,
    undoing: bool,
) -> Result<Duration, ProbeError> {
    let left = limits.scenario_budget.saturating_sub(started.elapsed());
    if crate::stop::RUN.requested() && !undoing {
        Err(ProbeError::Interrupted)
    } else if left.is_zero() && !undoing {
        Err(ProbeError::OverBudget(limits.scenario_budget.as_secs()))
    } else if req.bearer.is_some() && !limits.trusts(&req.url) {
        Err(ProbeError::Untrusted { url: req.url.clone() })
    } else if undoing {
        Ok(limits.request_timeout)
    } else {
        Ok(left.min(limits.request_timeout))
    }
}

/// One exchange, its body read up to `cap` bytes; cut short when the run is interrupted (but an
/// undo).
async fn exchange(
    b: reqwest::RequestBuilder,
    timeout: Duration,
    cap: usize,
    undoing: bool,
) -> Result<Result<Reply, reqwest::Error>, ProbeError> {
    let b = b.timeout(timeout);
    let answer = async {
        let mut resp = b.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = resp.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() > cap {
                body.truncate(cap);
                truncated = true;
                break;
            }
        }
        Ok(Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned(), truncated })
    };
    tokio::select! {
        a = answer => Ok(a),
        _ = crate::stop::RUN.requested_now(), if !undoing => Err(ProbeError::Interrupted),
    }
}

/// Many requests at once (a burst, callers racing a revocation) under the probe's rules: the
/// scenario's budget and timeouts, trusted hosts, no redirects, capped bodies, the interruption.
/// Exchanges are not written down one by one: the step writes what they add up to.
#[derive(Clone)]
pub struct Lane {
    client: reqwest::Client,
    limits: Limits,
    started: std::time::Instant,
    sent: crate::traffic::SentLog,
}

impl Lane {
    /// The answer, its body read up to `cap` bytes (what the caller needs of it).
    pub async fn send(&self, req: &Request, cap: usize) -> Result<Reply, ProbeError> {
        let timeout = admission(&self.limits, self.started, req, false)?;
        let start = std::time::Instant::now();
        let answer = exchange(builder(&self.client, req).0, timeout, cap, false).await;
        self.sent.push(&req.url, start);
        answer?.map_err(|e| ProbeError::Unreachable { url: String::new(), reason: without_url(&e) })
    }
}

impl Probe {
    pub fn new(secrets: Secrets, limits: Limits) -> Self {
        Probe {
            client: client(),
            limits,
            started: std::time::Instant::now(),
            secrets,
            evidence: Vec::new(),
            undoing: false,
            interrupted: false,
            sent: Default::default(),
            last_request: None,
        }
    }

    /// What is left of the scenario's time budget.
    pub fn budget_left(&self) -> Duration {
        self.limits.scenario_budget.saturating_sub(self.started.elapsed())
    }

    /// A lane for concurrent requests under this probe's rules and budget.
    pub fn lane(&self) -> Lane {
        Lane {
            client: self.client.clone(),
            limits: self.limits.clone(),
            started: self.started,
            sent: self.sent.clone(),
        }
    }

    pub async fn send(&mut self, req: Request) -> Result<Reply, ProbeError> {
        if let Ok(u) = url::Url::parse(&req.url) {
            self.learn_userinfo(&u);
        }
        let line = format!("{} {}{}", req.method, req.url, if req.bearer.is_some() { " (bearer token)" } else { "" });
        if !self.undoing {
            self.last_request = Some(req.clone());
        }
        // Built once: the request that goes out, and its body as the evidence shows it.
        let (b, sent_body) = builder(&self.client, &req);
        let result = match admission(&self.limits, self.started, &req, self.undoing) {
            Ok(timeout) => {
                let start = std::time::Instant::now();
                let answer = exchange(b, timeout, BODY_CAP, self.undoing).await;
                self.sent.push(&req.url, start);
                answer
            }
            Err(e) => Err(e),
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                // Refused before or cut during the exchange: written down like one.
                self.interrupted |= matches!(e, ProbeError::Interrupted);
                self.evidence.push(self.secrets.redact(&format!("{line}\n  -> {e}")));
                return Err(match e {
                    ProbeError::Untrusted { url } => ProbeError::Untrusted { url: self.secrets.redact(&url) },
                    e => e,
                });
            }
        };
        // The request's own headers (`>`) and the answer's (`<`), so variants that differ only in a
        // header (malformed authorization, a foreign Origin) read differently; redacted like all.
        let mut sent: String = req.bearer.iter().map(|t| format!("\n  > authorization: Bearer {t}")).collect();
        sent.extend(req.headers.iter().map(|(k, v)| format!("\n  > {}: {v}", k.to_ascii_lowercase())));
        if !sent_body.is_empty() {
            sent.push_str(&format!("\n  sent: {}", self.clip_redacted(&sent_body)));
        }
        match result {
            Ok(reply) => {
                self.learn_secrets(&reply);
                let headers: String = reply
                    .headers
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "date" | "content-length" | "connection" | "vary"))
                    .take(24)
                    .map(|(k, v)| format!("\n  < {k}: {}", String::from_utf8_lossy(v.as_bytes())))
                    .collect();
                let body = self.clip_redacted(&reply.body);
                let record = format!("{line}{sent}\n  -> {}{headers}\n  body: {body}", reply.status);
                self.evidence.push(self.secrets.redact(&record));
                Ok(reply)
            }
            Err(e) => {
                // reqwest's error text can include the URL with query parameters (codes): redact it too.
                let reason = self.secrets.redact(&without_url(&e));
                self.evidence.push(self.secrets.redact(&format!("{line}{sent}\n  -> no answer: {reason}")));
                Err(ProbeError::Unreachable { url: self.secrets.redact(&req.url), reason })
            }
        }
    }
}

/// The reqwest request for a probe request, and the body as sent (for the evidence).
pub fn builder(client: &reqwest::Client, req: &Request) -> (reqwest::RequestBuilder, String) {
    let mut b = client.request(req.method.clone(), &req.url);
    if let Some(t) = &req.bearer {
        b = b.bearer_auth(t);
    }
    for (k, v) in &req.headers {
        b = b.header(k, v);
    }
    let sent_body = match &req.body {
        Some(Body::Json(v)) => {
            b = b.json(v);
            v.to_string()
        }
        Some(Body::Form(pairs)) => {
            b = b.form(pairs);
            pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
        }
        None => String::new(),
    };
    (b, sent_body)
}

impl Probe {
    /// Registers every credential an answer carries (tokens in a token response, a code in a
    /// redirect) before the answer is written down anywhere.
    /// A body as the evidence keeps it: redacted first, then cut, so a secret straddling the cut
    /// leaves nothing behind. Only the part that can reach the evidence is searched (the cut plus
    /// room for the longest escaped secret).
    fn clip_redacted(&self, body: &str) -> String {
        const ROOM: usize = 16 * 1024;
        let window = floor_boundary(body, CLIP + ROOM);
        let redacted = self.secrets.redact(&body[..window]);
        if window == body.len() && redacted.len() <= CLIP {
            return redacted;
        }
        format!("{}... ({} bytes in all)", &redacted[..floor_boundary(&redacted, CLIP)], body.len())
    }

    /// Registers every credential an answer carries, before anything writes it down: values of
    /// JSON fields and redirect parameters whose name ends in `code`, `token` or `verifier`
    /// (whatever comes before: `access_token`, `hg?code`), the `signature`, cookies, CSRF fields
    /// of a page's forms, and the userinfo of a redirect URL.
    pub fn learn_secrets(&self, reply: &Reply) {
        // An MCP session id and a multi round-trip request's state are handles to a user's
        // standing (HG-ISO-01): whoever holds one may try to act on it.
        if let Some(session) = reply.header("mcp-session-id").filter(|s| !s.is_empty()) {
            self.secrets.add(session, "MCP session id");
        }
        if let Some(state) = crate::world::rpc(reply)["result"]["requestState"].as_str() {
            self.secrets.add(state, "request state");
        }
        if let Some(serde_json::Value::Object(o)) = reply.json() {
            for (k, x) in &o {
                let kind = secret_kind(k).or((k == "signature").then_some("signature"));
                if let (Some(kind), Some(s)) = (kind, x.as_str()) {
                    self.secrets.add(s, kind);
                }
            }
        }
        if let Some(loc) = reply.header("location").and_then(|l| url::Url::parse(l).ok()) {
            for (k, v) in loc
                .query_pairs()
                .chain(loc.fragment().map(|f| url::form_urlencoded::parse(f.as_bytes())).into_iter().flatten())
            {
                if let Some(kind) = secret_kind(&k) {
                    self.secrets.add(&v, kind);
                }
            }
            self.learn_userinfo(&loc);
        }
        for set in reply.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            if let Some((_, v)) = set.split(';').next().and_then(|pair| pair.split_once('=')) {
                self.secrets.add(v.trim(), "session cookie");
            }
        }
        if reply.body.contains("<form") || reply.body.contains("<FORM") {
            for form in crate::html_form::forms(&reply.body) {
                for f in form.fields.iter().filter(|f| f.kind == "hidden") {
                    let n = f.name.to_ascii_lowercase();
                    if n.contains("csrf") || n.contains("xsrf") || secret_kind(&n).is_some() {
                        self.secrets.add(&f.value, "form token");
                    }
                }
            }
        }
    }

    /// A URL's userinfo (`https://user:password@host`) is a credential wherever it shows.
    pub fn learn_userinfo(&self, u: &url::Url) {
        if let Some(p) = u.password() {
            self.secrets.add(p, "password");
            self.secrets.add(&format!("{}:{p}", u.username()), "password");
        }
    }
}

/// The kind of secret a parameter or field holds, by its name's ending.
fn secret_kind(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    // Codes that are no credential: an error's or a status's.
    if ["errorcode", "error_code", "statuscode", "status_code", "responsecode", "response_code"]
        .iter()
        .any(|x| n.ends_with(x))
    {
        return None;
    }
    Some(match () {
        _ if n.ends_with("access_token") => "access token",
        _ if n.ends_with("refresh_token") => "refresh token",
        _ if n.ends_with("id_token") => "id token",
        _ if n.ends_with("code") => "authorization code",
        _ if n.ends_with("verifier") => "code verifier",
        _ if n.ends_with("token") => "token",
        _ => return None,
    })
}

fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the body could not be read"
    } else {
        "request failed"
    };
    // The innermost cause says what the target did ("connection closed before message
    // completed"); reqwest's own text is left out since it carries the URL.
    let mut cause = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = Some(s.to_string());
        source = s.source();
    }
    match cause {
        Some(c) if !c.is_empty() => format!("{kind} ({c})"),
        _ => kind.to_string(),
    }
}

/// How much of a body the evidence keeps: enough to show what came back.
const CLIP: usize = 2000;

/// The largest char boundary at or below `at`.
fn floor_boundary(s: &str, at: usize) -> usize {
    let mut end = at.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that counts the connections it is offered.
    async fn counting_listener() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((_sock, _)) = listener.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        (url, count)
    }

    #[tokio::test]
    async fn a_bearer_token_never_goes_to_a_host_the_target_does_not_name() {
        let (url, count) = counting_listener().await;
        let limits = Limits { trusted: vec!["127.0.0.1:1".into()], ..Limits::default() };
        let mut probe = Probe::new(Secrets::default(), limits);
        let err = probe.send(Request::new(Method::GET, url.clone()).bearer("secret-token-value")).await.unwrap_err();
        assert!(matches!(err, ProbeError::Untrusted { .. }), "{err}");
        assert!(probe.evidence[0].contains("not sent"), "{:?}", probe.evidence);
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the host");
    }

    #[tokio::test]
    async fn nothing_is_sent_once_the_scenario_budget_is_spent() {
        let (url, count) = counting_listener().await;
        let limits = Limits { scenario_budget: Duration::ZERO, ..Limits::default() };
        let mut probe = Probe::new(Secrets::default(), limits);
        let err = probe.send(Request::new(Method::GET, url)).await.unwrap_err();
        assert!(matches!(err, ProbeError::OverBudget(0)), "{err}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    /// A loopback server that answers every request with `size` bytes of body.
    async fn big_answers(size: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
                    let _ = sock.write_all(head.as_bytes()).await;
                    let chunk = vec![b'a'; 64 * 1024];
                    let mut left = size;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        if sock.write_all(&chunk[..n]).await.is_err() {
                            break;
                        }
                        left -= n;
                    }
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn a_lane_reads_no_more_of_an_answer_than_its_cap_and_keeps_the_probe_rules() {
        let url = big_answers(8 << 20).await;
        let probe = Probe::new(Secrets::default(), Limits::default());
        let reply = probe.lane().send(&Request::new(Method::GET, url.clone()), 1024).await.unwrap();
        assert_eq!((reply.status, reply.body.len(), reply.truncated), (200, 1024, true));
        let (other, count) = counting_listener().await;
        let limits = Limits { trusted: vec![authority(&url).unwrap()], ..Limits::default() };
        let lane = Probe::new(Secrets::default(), limits).lane();
        let err = lane.send(&Request::new(Method::GET, other).bearer("secret-token-value"), 1024).await.unwrap_err();
        assert!(matches!(err, ProbeError::Untrusted { .. }), "{err}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
        let spent = Probe::new(Secrets::default(), Limits { scenario_budget: Duration::ZERO, ..Limits::default() });
        assert!(matches!(
            spent.lane().send(&Request::new(Method::GET, url), 1024).await,
            Err(ProbeError::OverBudget(0))
        ));
    }
}
