//! The Apex source as the rules see it: classes (inner ones on their own: they do not inherit the
//! outer class's sharing keyword), their methods and property accessors, and inside each the
//! calls, SOQL/SOSL queries, `Database` calls and DML statements, each with its position.

use tree_sitter::Node;

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
    /// The `-meta.xml` beside the class, if any (it carries `<apiVersion>`).
    pub meta: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    With,
    Without,
    Inherited,
    Omitted,
}

/// A mode a query, `Database` call or DML statement asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    User,
    System,
    /// `WITH SECURITY_ENFORCED`: object and field checks on SELECT fields only.
    SecurityEnforced,
    Unstated,
}

#[derive(Debug, Clone)]
pub struct At {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone)]
pub struct Call {
    /// `Helper` in `Helper.run()`; `None` for a call in the same class.
    pub class: Option<String>,
    pub method: String,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub at: At,
    /// `SOQL`, `SOSL`, `Database.query`, `update` ...
    pub what: String,
    pub mode: Mode,
}

#[derive(Debug, Clone)]
pub struct Method {
    pub name: String,
    pub at: At,
    pub annotations: Vec<String>,
    /// A property's `get`/`set` block: reached whenever its class is.
    pub accessor: bool,
    pub calls: Vec<Call>,
    pub queries: Vec<Operation>,
    pub database: Vec<Operation>,
    pub dml: Vec<Operation>,
}

impl Method {
    /// Exposed to clients: invocable (agents' actions), Aura/LWC, or a REST resource handler.
    pub fn exposed(&self, class: &ApexClass) -> bool {
        let has = |a: &str| self.annotations.iter().any(|x| x == a);
        has("invocablemethod")
            || has("auraenabled")
            || (class.rest_resource
                && ["httpget", "httppost", "httpput", "httppatch", "httpdelete"].iter().any(|h| has(h)))
    }
}

#[derive(Debug, Clone)]
pub struct ApexClass {
    /// `Outer` or `Outer.Inner`.
    pub name: String,
    pub file: String,
    pub at: At,
    pub sharing: Sharing,
    pub rest_resource: bool,
    /// Tenths: 66.0 -> 660. `None` when the `-meta.xml` is missing or unreadable.
    pub api_version: Option<u32>,
    pub methods: Vec<Method>,
}

impl ApexClass {
    pub fn outer_name(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }

    /// From API 67.0 an omitted sharing keyword means `with sharing` and database operations
    /// default to user mode; before it (or with no known version) they run in system mode.
    pub fn user_mode_by_default(&self) -> bool {
        self.api_version.is_some_and(|v| v >= 670)
    }
}

pub fn file_stem(path: &str) -> String {
    std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or(path).to_string()
}

fn api_version(meta: Option<&str>) -> Option<u32> {
    let m = meta?;
    let start = m.find("<apiVersion>")? + "<apiVersion>".len();
    let end = start + m[start..].find("</apiVersion>")?;
    let (major, minor) = m[start..end].trim().split_once('.')?;
    Some(major.parse::<u32>().ok()? * 10 + minor.parse::<u32>().ok()?.min(9))
}

fn at(n: Node) -> At {
    At { line: n.start_position().row + 1, column: n.start_position().column + 1 }
}

fn text<'a>(n: Node, src: &'a str) -> &'a str {
    n.utf8_text(src.as_bytes()).unwrap_or_default()
}

/// How deep a file's syntax tree may nest before the file is refused unanalysed. Far beyond real
/// Apex (a 500-term concatenation nests 500 deep); a file past it is reported, never a crash.
pub const MAX_DEPTH: usize = 1000;

/// Why a file was not analysed: the rule of its finding, where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unscanned {
    pub rule: &'static str,
    pub line: usize,
    pub column: usize,
    pub what: String,
}

/// Parses one file into its classes; a file that does not parse, or nests past `MAX_DEPTH`, is an
/// error with its location. Every walk of the tree is iterative: no input reaches the stack.
pub fn parse(f: &SourceFile) -> Result<Vec<ApexClass>, Unscanned> {
    let unscanned = |rule, a: At, what: String| Unscanned { rule, line: a.line, column: a.column, what };
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_sfapex::apex::LANGUAGE.into())
        .map_err(|e| unscanned(crate::rules::PARSE_ERROR, At { line: 1, column: 1 }, e.to_string()))?;
    let tree = parser.parse(&f.text, None).ok_or_else(|| {
        unscanned(crate::rules::PARSE_ERROR, At { line: 1, column: 1 }, "the parser gave no tree".into())
    })?;
    let root = tree.root_node();
    if let Some(deep) = deeper_than(root, MAX_DEPTH) {
        let what = format!("it nests deeper than {MAX_DEPTH} levels");
        return Err(unscanned(crate::rules::TOO_DEEP, at(deep), what));
    }
    if root.has_error() {
        let bad = first_error(root).unwrap_or(root);
        let what = if bad.is_missing() { format!("missing {}", bad.kind()) } else { "syntax error".to_string() };
        return Err(unscanned(crate::rules::PARSE_ERROR, at(bad), what));
    }
    let version = api_version(f.meta.as_deref());
    let mut out = Vec::new();
    let mut cursor = root.walk();
    for n in root.named_children(&mut cursor) {
        if n.kind() == "class_declaration" {
            class(n, None, f, version, &mut out);
        }
    }
    Ok(out)
}

/// The first node found below `limit` levels, walking with a cursor (no recursion).
fn deeper_than(root: Node, limit: usize) -> Option<Node> {
    let mut cursor = root.walk();
    let mut depth = 0;
    loop {
        if depth > limit {
            return Some(cursor.node());
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return None;
            }
            depth -= 1;
        }
    }
}

/// The first error or missing node in source order, descending only where an error is.
fn first_error(root: Node) -> Option<Node> {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.is_error() || n.is_missing() {
            return Some(n);
        }
        let mut cursor = n.walk();
        let below: Vec<Node> = n.children(&mut cursor).filter(|c| c.has_error() || c.is_missing()).collect();
        stack.extend(below.into_iter().rev());
    }
    None
}

fn annotations_and_sharing(modifiers: Option<Node>, src: &str) -> (Vec<String>, Sharing) {
    let mut annotations = Vec::new();
    let mut sharing = Sharing::Omitted;
    let Some(m) = modifiers else { return (annotations, sharing) };
    let mut cursor = m.walk();
    for c in m.named_children(&mut cursor) {
        match c.kind() {
            "annotation" => {
                if let Some(name) = c.child_by_field_name("name") {
                    annotations.push(text(name, src).to_ascii_lowercase());
                }
            }
            "modifier" => {
                let mut cc = c.walk();
                for k in c.named_children(&mut cc) {
                    sharing = match k.kind() {
                        "with_sharing" => Sharing::With,
                        "without_sharing" => Sharing::Without,
                        "inherited_sharing" => Sharing::Inherited,
                        _ => sharing,
                    };
                }
            }
            _ => {}
        }
    }
    (annotations, sharing)
}

fn modifiers_of(n: Node) -> Option<Node> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).find(|c| c.kind() == "modifiers")
}

fn class(n: Node, outer: Option<&str>, f: &SourceFile, version: Option<u32>, out: &mut Vec<ApexClass>) {
    let src = f.text.as_str();
    let short = n.child_by_field_name("name").map(|x| text(x, src)).unwrap_or("?");
    let name = match outer {
        Some(o) => format!("{o}.{short}"),
        None => short.to_string(),
    };
    let (annotations, sharing) = annotations_and_sharing(modifiers_of(n), src);
    let mut c = ApexClass {
        name: name.clone(),
        file: f.path.clone(),
        at: at(n.child_by_field_name("name").unwrap_or(n)),
        sharing,
        rest_resource: annotations.iter().any(|a| a == "restresource"),
        api_version: version,
        methods: Vec::new(),
    };
    let mut inner = Vec::new();
    if let Some(body) = n.child_by_field_name("body") {
        let mut cursor = body.walk();
        for m in body.named_children(&mut cursor) {
            match m.kind() {
                "method_declaration" | "constructor_declaration" => {
                    let mname = m.child_by_field_name("name").map(|x| text(x, src)).unwrap_or(short);
                    let (ann, _) = annotations_and_sharing(modifiers_of(m), src);
                    c.methods.push(method(m, mname, ann, false, src));
                }
                "field_declaration" => {
                    let prop = m
                        .child_by_field_name("declarator")
                        .and_then(|d| d.child_by_field_name("name"))
                        .map(|x| text(x, src))
                        .unwrap_or("?");
                    let mut mc = m.walk();
                    for list in m.named_children(&mut mc).filter(|x| x.kind() == "accessor_list") {
                        c.methods.push(method(list, prop, Vec::new(), true, src));
                    }
                }
                "class_declaration" => inner.push(m),
                _ => {}
            }
        }
    }
    out.push(c);
    for i in inner {
        class(i, Some(&name), f, version, out);
    }
}

const DATABASE_OPS: &[&str] = &[
    "query",
    "querywithbinds",
    "countquery",
    "countquerywithbinds",
    "getquerylocator",
    "getquerylocatorwithbinds",
    "insert",
    "update",
    "upsert",
    "delete",
    "undelete",
    "merge",
];

fn method(n: Node, name: &str, annotations: Vec<String>, accessor: bool, src: &str) -> Method {
    let mut m = Method {
        name: name.to_string(),
        at: at(n),
        annotations,
        accessor,
        calls: Vec::new(),
        queries: Vec::new(),
        database: Vec::new(),
        dml: Vec::new(),
    };
    walk(n, src, &mut m);
    m
}

/// Collects calls and operations below `root` in source order, without entering nested classes.
fn walk(root: Node, src: &str, m: &mut Method) {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.id() != root.id() && n.kind() == "class_declaration" {
            continue;
        }
        visit(n, src, m);
        let mut cursor = n.walk();
        let below: Vec<Node> = n.named_children(&mut cursor).collect();
        stack.extend(below.into_iter().rev());
    }
}

/// What one node adds to its method: a query, a `Database` call, DML, or a call.
fn visit(n: Node, src: &str, m: &mut Method) {
    match n.kind() {
        "query_expression" => {
            let what = if text(n, src).trim_start_matches('[').trim_start().to_ascii_uppercase().starts_with("FIND") {
                "SOSL"
            } else {
                "SOQL"
            };
            m.queries.push(Operation { at: at(n), what: what.into(), mode: query_mode(n, src) });
        }
        "dml_expression" => {
            let op = first_named(n, "dml_type");
            let what = op.map(|o| text(o, src).to_ascii_lowercase()).unwrap_or_else(|| "DML".into());
            // The grammar's `security_mode` field lands on the `as` token; the mode is its sibling.
            let mode = match first_named(n, "dml_security_mode").map(|s| text(s, src).to_ascii_lowercase()) {
                Some(s) if s.contains("user") => Mode::User,
                Some(s) if s.contains("system") => Mode::System,
                _ => Mode::Unstated,
            };
            m.dml.push(Operation { at: at(n), what, mode });
        }
        "method_invocation" => {
            let name = n.child_by_field_name("name").map(|x| text(x, src)).unwrap_or_default();
            let object = n.child_by_field_name("object");
            let object_text: String =
                object.map(|o| text(o, src)).unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
            let is_database =
                object_text.eq_ignore_ascii_case("Database") || object_text.eq_ignore_ascii_case("System.Database");
            if is_database && DATABASE_OPS.contains(&name.to_ascii_lowercase().as_str()) {
                let args = n.child_by_field_name("arguments").map(|a| text(a, src)).unwrap_or_default();
                let args: String = args.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
                let mode = if args.contains("ACCESSLEVEL.USER_MODE") {
                    Mode::User
                } else if args.contains("ACCESSLEVEL.SYSTEM_MODE") {
                    Mode::System
                } else {
                    Mode::Unstated
                };
                m.database.push(Operation { at: at(n), what: format!("Database.{name}"), mode });
            } else {
                let class = match object {
                    None => None,
                    Some(o) if o.kind() == "this" => None,
                    Some(o) if o.kind() == "identifier" => Some(text(o, src).to_string()),
                    Some(o) if o.kind() == "object_creation_expression" => {
                        o.child_by_field_name("type").map(|t| text(t, src).to_string())
                    }
                    Some(o) => Some(text(o, src).to_string()),
                };
                m.calls.push(Call { class, method: name.to_string() });
            }
        }
        "object_creation_expression" => {
            if let Some(t) = n.child_by_field_name("type") {
                let t = text(t, src).to_string();
                m.calls.push(Call { class: Some(t.clone()), method: t.rsplit('.').next().unwrap_or(&t).to_string() });
            }
        }
        _ => {}
    }
}

fn first_named<'a>(n: Node<'a>, kind: &str) -> Option<Node<'a>> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).find(|c| c.kind() == kind)
}

/// The mode of a query from its own `WITH` clause (not a subquery's).
fn query_mode(q: Node, src: &str) -> Mode {
    let mut cursor = q.walk();
    for body in q.named_children(&mut cursor) {
        let mut bc = body.walk();
        for w in body.named_children(&mut bc).filter(|c| c.kind() == "with_clause") {
            let t: String = text(w, src).split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_uppercase();
            if t.contains("USER_MODE") {
                return Mode::User;
            }
            if t.contains("SYSTEM_MODE") {
                return Mode::System;
            }
            if t.contains("SECURITY_ENFORCED") {
                return Mode::SecurityEnforced;
            }
        }
    }
    Mode::Unstated
}
