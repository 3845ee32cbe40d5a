//! A small reader for login and consent forms: finds a form, its action, its fields and buttons.
//! Generic on purpose: it fills any form with a username and a password input, so it works on the
//! mock's login page and on other authorization servers' pages alike.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub action: String,
    pub method: String,
    pub fields: Vec<Field>,
}

impl Form {
    pub fn has_input(&self, kind: &str) -> bool {
        self.fields.iter().any(|f| f.kind == kind)
    }
}

/// Every `<form>` in the page, in order.
pub fn forms(html: &str) -> Vec<Form> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(start) = lower[pos..].find("<form").map(|i| i + pos) {
        let end = lower[start..].find("</form>").map(|i| i + start).unwrap_or(html.len());
        let open_end = lower[start..].find('>').map(|i| i + start).unwrap_or(end);
        let open = &html[start..open_end];
        let action = attr(open, "action").unwrap_or_default();
        let method = attr(open, "method").unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
        let inner = &html[open_end.min(end)..end];
        out.push(Form { action, method, fields: fields(inner) });
        pos = end.max(start + 5);
    }
    out
}

fn fields(html: &str) -> Vec<Field> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    for tag in ["<input", "<button"] {
        let mut pos = 0;
        while let Some(start) = lower[pos..].find(tag).map(|i| i + pos) {
            let end = lower[start..].find('>').map(|i| i + start).unwrap_or(html.len());
            let t = &html[start..end];
            let is_button = tag == "<button";
            // A button counts without a name too (a consent page's "Continue"); its label is its
            // value when it has none. Nameless fields are never sent.
            let name = attr(t, "name").or_else(|| is_button.then(String::new));
            if let Some(name) = name {
                let default_kind = if is_button { "submit" } else { "text" };
                let kind = attr(t, "type").unwrap_or_else(|| default_kind.into()).to_ascii_lowercase();
                // The label is the text up to `</button>`, searched no further than the next
                // button, so a page of unclosed buttons stays linear; tags inside it are dropped.
                let label = || {
                    let limit = lower[end..].find("<button").map(|i| i + end).unwrap_or(html.len());
                    let close = lower[end..limit].find("</button>").map(|i| i + end).unwrap_or(limit);
                    let text = &html[(end + 1).min(close)..close];
                    let mut plain = String::new();
                    let mut in_tag = false;
                    for c in text.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => plain.push(c),
                            _ => {}
                        }
                    }
                    unescape(plain.trim())
                };
                let value = attr(t, "value").unwrap_or_else(|| if is_button { label() } else { String::new() });
                out.push(Field { name, value, kind });
            }
            pos = end;
        }
    }
    out
}

/// An attribute's value, quoted with " or ', HTML entities decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| i + from) {
        let before_ok = i == 0 || lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = lower[i + name.len()..].trim_start();
        if before_ok && rest.starts_with('=') {
            let vstart = tag.len() - rest.len() + 1;
            let v = tag[vstart..].trim_start();
            let q = v.chars().next()?;
            let value = if q == '"' || q == '\'' {
                v[1..].split(q).next()?
            } else {
                v.split(|c: char| c.is_whitespace() || c == '>').next()?
            };
            return Some(unescape(value));
        }
        from = i + name.len();
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    /// A page of 100,000 unclosed, nameless buttons is read in one pass (it took a minute when
    /// each label was searched to the page's end). Counted, not timed: every button is a field.
    #[test]
    fn a_page_of_unclosed_buttons_is_read_whole() {
        let page = format!("<form action=/x>{}</form>", "<button>Go".repeat(100_000));
        let f = super::forms(&page);
        assert_eq!(f[0].fields.len(), 100_000);
        assert_eq!(f[0].fields[0].value, "Go");
        let nested = super::forms("<form action=/c><button type=submit><span>Allow</span></button></form>");
        assert_eq!(nested[0].fields[0].value, "Allow");
    }

    use super::*;

    #[test]
    fn reads_login_and_consent_forms() {
        let html = r#"<form method="POST" action="/login" id="x"><input type="hidden" name="state" value="a&amp;b"><input type="text" name="username"><input type="password" name="password"><button type="submit" name="decision" value="allow">Allow</button></form><FORM action='/other'></FORM>"#;
        let f = forms(html);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].action, "/login");
        assert_eq!(f[0].method, "POST");
        assert!(f[0].has_input("password"));
        assert_eq!(f[0].fields[0], Field { name: "state".into(), value: "a&b".into(), kind: "hidden".into() });
        assert_eq!(f[0].fields.last().unwrap().name, "decision");
        assert_eq!(f[1].action, "/other");
        assert_eq!(f[1].method, "GET");
    }
}
