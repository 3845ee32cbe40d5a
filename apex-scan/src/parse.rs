//! Syntax tree to model. Everything is read from nodes, never from source text matched by
//! pattern: a comment is an extra node and never counts; an access level is an `AccessLevel.X`
//! expression, or a variable followed to what is assigned to it; a dynamic query's mode is read
//! from the string literals it is built from.

use crate::access::{self, Scope};
use crate::model::*;
use crate::surface::{self, Use};
use tree_sitter::Node;

pub fn at(n: Node) -> At {
    At { line: n.start_position().row + 1, column: n.start_position().column + 1 }
}

pub fn text<'a>(n: Node, src: &'a str) -> &'a str {
    n.utf8_text(src.as_bytes()).unwrap_or_default()
}

pub fn named<'a>(n: Node<'a>) -> Vec<Node<'a>> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).filter(|c| !is_comment(*c)).collect()
}

pub fn is_comment(n: Node) -> bool {
    matches!(n.kind(), "line_comment" | "block_comment")
}

pub fn first_named<'a>(n: Node<'a>, kind: &str) -> Option<Node<'a>> {
    named(n).into_iter().find(|c| c.kind() == kind)
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
/// error with its location. Walks over whole trees are iterative; the per-expression recursion is
/// bounded by `MAX_DEPTH`, checked first.
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
    if let Some(bad) = first_error(root, &f.text) {
        let what = if bad.is_missing() { format!("missing {}", bad.kind()) } else { "syntax error".to_string() };
        return Err(unscanned(crate::rules::PARSE_ERROR, at(bad), what));
    }
    let version = api_version(f.meta.as_deref());
    let mut out = Vec::new();
    for n in named(root) {
        if matches!(n.kind(), "class_declaration" | "interface_declaration") {
            class(n, None, f, version, &mut out);
        }
    }
    Ok(out)
}

fn api_version(meta: Option<&str>) -> Option<u32> {
    let m = meta?;
    let start = m.find("<apiVersion>")? + "<apiVersion>".len();
    let end = start + m[start..].find("</apiVersion>")?;
    let (major, minor) = m[start..end].trim().split_once('.')?;
    major.parse::<u32>().ok()?.checked_mul(10)?.checked_add(minor.parse::<u32>().ok()?.min(9))
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

/// The first error or missing node in source order, descending only where an error is. The
/// grammar does not know SOSL's `WITH USER_MODE`/`SYSTEM_MODE`/`SECURITY_ENFORCED` (valid Apex):
/// that one error shape is read as the clause it is (`sosl_mode`), not as a syntax error.
fn first_error<'a>(root: Node<'a>, src: &str) -> Option<Node<'a>> {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if (n.is_error() && sosl_mode(n, src).is_none()) || n.is_missing() {
            return Some(n);
        }
        let mut cursor = n.walk();
        let below: Vec<Node> = n.children(&mut cursor).filter(|c| c.has_error() || c.is_missing()).collect();
        stack.extend(below.into_iter().rev());
    }
    None
}

/// The mode of a SOSL `WITH` clause the grammar leaves as an error node directly in the query.
pub fn sosl_mode(error: Node, src: &str) -> Option<Mode> {
    let parent = error.parent()?;
    if parent.kind() != "query_expression" || first_named(parent, "sosl_query_body").is_none() {
        return None;
    }
    let words: Vec<String> = {
        let mut cursor = error.walk();
        error.children(&mut cursor).map(|c| text(c, src).to_ascii_uppercase()).collect()
    };
    let prev = error.prev_sibling().map(|p| text(p, src).to_ascii_uppercase());
    let with_before =
        prev.as_deref().is_some_and(|p| p.ends_with("WITH")) || words.first().is_some_and(|w| w == "WITH");
    let mode = words.iter().find_map(|w| match w.as_str() {
        "USER_MODE" => Some(Mode::User),
        "SYSTEM_MODE" => Some(Mode::System),
        "SECURITY_ENFORCED" => Some(Mode::SecurityEnforced),
        _ => None,
    })?;
    (with_before
        && words.iter().all(|w| matches!(w.as_str(), "WITH" | "USER_MODE" | "SYSTEM_MODE" | "SECURITY_ENFORCED")))
    .then_some(mode)
}

fn annotations_and_sharing(modifiers: Option<Node>, src: &str) -> (Vec<String>, Sharing, bool) {
    let mut annotations = Vec::new();
    let mut sharing = Sharing::Omitted;
    let mut is_static = false;
    let Some(m) = modifiers else { return (annotations, sharing, is_static) };
    for c in named(m) {
        match c.kind() {
            "annotation" => {
                if let Some(name) = c.child_by_field_name("name") {
                    annotations.push(text(name, src).to_ascii_lowercase());
                }
            }
            "modifier" => {
                let mut cc = c.walk();
                for k in c.children(&mut cc) {
                    match k.kind() {
                        "with_sharing" => sharing = Sharing::With,
                        "without_sharing" => sharing = Sharing::Without,
                        "inherited_sharing" => sharing = Sharing::Inherited,
                        "static" => is_static = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    (annotations, sharing, is_static)
}

fn modifiers_of(n: Node) -> Option<Node> {
    first_named(n, "modifiers")
}

/// Type names listed under a `superclass`, `interfaces` or `extends_interfaces` node.
fn type_names(n: Node, src: &str) -> Vec<String> {
    let list = first_named(n, "type_list").unwrap_or(n);
    named(list).into_iter().map(|t| base_type(text(t, src)).to_string()).collect()
}

fn class(n: Node, outer: Option<&str>, f: &SourceFile, version: Option<u32>, out: &mut Vec<ApexClass>) {
    let src = f.text.as_str();
    let short = n.child_by_field_name("name").map(|x| text(x, src)).unwrap_or("?");
    let name = match outer {
        Some(o) => format!("{o}.{short}"),
        None => short.to_string(),
    };
    let (annotations, sharing, _) = annotations_and_sharing(modifiers_of(n), src);
    let mut supertypes = Vec::new();
    for part in named(n) {
        if matches!(part.kind(), "superclass" | "interfaces" | "extends_interfaces") {
            supertypes.extend(type_names(part, src));
        }
    }
    let mut c = ApexClass {
        name: name.clone(),
        interface: n.kind() == "interface_declaration",
        file: f.path.clone(),
        at: at(n.child_by_field_name("name").unwrap_or(n)),
        sharing,
        rest_resource: annotations.iter().any(|a| a == "restresource"),
        api_version: version,
        supertypes,
        fields: Vec::new(),
        methods: Vec::new(),
    };
    let class_at = c.at;
    let mut static_init = Method::new("<static initializer>", MethodKind::StaticInit, class_at);
    let mut instance_init = Method::new("<instance initializer>", MethodKind::InstanceInit, class_at);
    let mut inner = Vec::new();
    let body = n.child_by_field_name("body");
    let members = body.map(named).unwrap_or_default();
    // Fields first: a method body's names resolve against every field, wherever declared.
    let finals = access::class_constants(&members, src);
    for m in &members {
        if m.kind() != "field_declaration" {
            continue;
        }
        let ty = m.child_by_field_name("type").map(|t| text(t, src).to_string()).unwrap_or_default();
        let accessors = first_named(*m, "accessor_list");
        for d in named(*m).into_iter().filter(|d| d.kind() == "variable_declarator") {
            let fname = d.child_by_field_name("name").map(|x| text(x, src)).unwrap_or("?");
            c.fields.push(Field { name: fname.to_string(), ty: ty.clone(), property: accessors.is_some() });
        }
    }
    for m in members {
        match m.kind() {
            "method_declaration" | "constructor_declaration" => {
                let kind =
                    if m.kind() == "constructor_declaration" { MethodKind::Constructor } else { MethodKind::Method };
                let mname = m.child_by_field_name("name").map(|x| text(x, src)).unwrap_or(short);
                let (ann, _, _) = annotations_and_sharing(modifiers_of(m), src);
                let mut method = Method::new(mname, kind, at(m.child_by_field_name("name").unwrap_or(m)));
                method.annotations = ann;
                method.return_type =
                    m.child_by_field_name("type").filter(|t| t.kind() != "void_type").map(|t| text(t, src).to_string());
                let params = m.child_by_field_name("parameters");
                method.param_types = params
                    .map(|p| {
                        named(p)
                            .into_iter()
                            .filter(|x| x.kind() == "formal_parameter")
                            .map(|x| {
                                x.child_by_field_name("type").map(|t| text(t, src).to_string()).unwrap_or_default()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                method.params = method.param_types.len();
                // An interface or abstract method has no body: nothing of its own runs.
                if let Some(b) = m.child_by_field_name("body") {
                    let scope = Scope::of_method(params, b, &c.fields, &finals, src);
                    collect(b, &scope, src, &mut method);
                }
                c.methods.push(method);
            }
            "field_declaration" => {
                let (_, _, is_static) = annotations_and_sharing(modifiers_of(m), src);
                let init = if is_static { &mut static_init } else { &mut instance_init };
                for d in named(m).into_iter().filter(|d| d.kind() == "variable_declarator") {
                    if let Some(v) = d.child_by_field_name("value") {
                        let scope = Scope::of_method(None, v, &c.fields, &finals, src);
                        collect(v, &scope, src, init);
                    }
                }
                if let Some(list) = first_named(m, "accessor_list") {
                    let pname = m
                        .child_by_field_name("declarator")
                        .and_then(|d| d.child_by_field_name("name"))
                        .map(|x| text(x, src));
                    for acc in named(list).into_iter().filter(|a| a.kind() == "accessor_declaration") {
                        let Some(b) = acc.child_by_field_name("body") else { continue };
                        let setter = {
                            let mut cursor = acc.walk();
                            acc.children(&mut cursor).any(|k| text(k, src).eq_ignore_ascii_case("set"))
                        };
                        let kind = if setter { MethodKind::Setter } else { MethodKind::Getter };
                        let mut method = Method::new(pname.unwrap_or("?"), kind, at(acc));
                        let scope = Scope::of_method(None, b, &c.fields, &finals, src);
                        collect(b, &scope, src, &mut method);
                        c.methods.push(method);
                    }
                }
            }
            "static_initializer" => {
                let scope = Scope::of_method(None, m, &c.fields, &finals, src);
                collect(m, &scope, src, &mut static_init);
            }
            "block" => {
                let scope = Scope::of_method(None, m, &c.fields, &finals, src);
                collect(m, &scope, src, &mut instance_init);
            }
            "class_declaration" | "interface_declaration" => inner.push(m),
            _ => {}
        }
    }
    for init in [static_init, instance_init] {
        if !init.calls.is_empty() || !init.ops.is_empty() || !init.refs.is_empty() {
            c.methods.push(init);
        }
    }
    out.push(c);
    for i in inner {
        class(i, Some(&name), f, version, out);
    }
}

/// Collects calls, property and class references, and record operations below `root`, without
/// entering nested classes; then credits each operation for the checks that guard it.
fn collect(root: Node, scope: &Scope, src: &str, m: &mut Method) {
    let first_op = m.ops.len();
    let mut op_nodes: Vec<Node> = Vec::new();
    // (node, inside a query outside its bind expressions)
    let mut stack = vec![(root, false)];
    while let Some((n, in_query)) = stack.pop() {
        if n.id() != root.id() && matches!(n.kind(), "class_declaration" | "interface_declaration") {
            continue;
        }
        if !in_query {
            visit(n, scope, src, m, &mut op_nodes);
        }
        let below_in_query = match n.kind() {
            "query_expression" => true,
            "bound_apex_expression" => false,
            _ => in_query,
        };
        let mut cursor = n.walk();
        let below: Vec<Node> = n.named_children(&mut cursor).collect();
        stack.extend(below.into_iter().rev().map(|c| (c, below_in_query)));
    }
    for (op, node) in m.ops[first_op..].iter_mut().zip(op_nodes) {
        op.credit = access::credit(op, node, root, scope, src);
    }
}

/// A node's own contribution: a query, DML, a record API call, a call, a `new`, or a reference.
fn visit<'a>(n: Node<'a>, scope: &Scope, src: &str, m: &mut Method, op_nodes: &mut Vec<Node<'a>>) {
    match n.kind() {
        "query_expression" => {
            let sosl = first_named(n, "sosl_query_body").is_some();
            let what = if sosl { "SOSL" } else { "SOQL" };
            m.ops.push(Operation {
                at: at(n),
                what: what.into(),
                family: Family::Query,
                mode: access::query_mode(n, src),
                credit: Credit::None,
            });
            op_nodes.push(n);
        }
        "dml_expression" => {
            let op = first_named(n, "dml_type");
            let what = op.map(|o| text(o, src).to_ascii_lowercase()).unwrap_or_else(|| "DML".into());
            let mode = match first_named(n, "dml_security_mode").map(|s| text(s, src).to_ascii_lowercase()) {
                Some(s) if s == "user" => Mode::User,
                Some(s) if s == "system" => Mode::System,
                _ => Mode::Unstated,
            };
            m.ops.push(Operation { at: at(n), what, family: Family::Dml, mode, credit: Credit::None });
            op_nodes.push(n);
        }
        "method_invocation" => invocation(n, scope, src, m, op_nodes),
        "object_creation_expression" => {
            if let Some(t) = n.child_by_field_name("type") {
                let ty = text(t, src).to_string();
                let arg_types = arg_types(n, scope, src);
                let short = base_type(&ty).rsplit('.').next().unwrap_or_default().to_string();
                m.calls.push(CallSite {
                    at: at(n),
                    kind: CallKind::New,
                    receiver: Some(Expr::Typed(ty)),
                    method: short,
                    arg_types,
                });
            }
        }
        "field_access" => {
            // The outermost access of a chain; inner links resolve as part of it.
            let inner_link = n.parent().is_some_and(|p| {
                (p.kind() == "field_access" || p.kind() == "method_invocation")
                    && p.child_by_field_name("object").is_some_and(|o| o.id() == n.id())
            });
            let field = n.child_by_field_name("field").map(|f| text(f, src));
            if field.is_some_and(|f| f.eq_ignore_ascii_case("class")) {
                // `T.class`: an instance of T can be made from it (`JSON.deserialize`, `newInstance`).
                if let Some(o) = n.child_by_field_name("object") {
                    m.instantiates.push(text(o, src).to_string());
                }
            } else if !inner_link {
                m.refs.push(Ref { at: at(n), target: expr(n, scope, src), write: is_assigned(n) });
            }
        }
        "identifier" if is_name_reference(n) => {
            let name = text(n, src);
            if scope.local_type(name).is_none() {
                m.refs.push(Ref { at: at(n), target: Expr::Name(name.to_string()), write: is_assigned(n) });
            }
        }
        _ => {}
    }
}

fn is_assigned(n: Node) -> bool {
    n.parent().is_some_and(|p| {
        p.kind() == "assignment_expression" && p.child_by_field_name("left").is_some_and(|l| l.id() == n.id())
    })
}

/// An identifier used as a value (not a declaration's name, a member name, or part of a chain).
fn is_name_reference(n: Node) -> bool {
    let Some(p) = n.parent() else { return false };
    let is = |field: &str| p.child_by_field_name(field).is_some_and(|c| c.id() == n.id());
    match p.kind() {
        "field_access" | "method_invocation" => false,
        "variable_declarator" | "formal_parameter" | "catch_formal_parameter" | "enhanced_for_statement" => is("value"),
        "annotation"
        | "annotation_argument_list"
        | "element_value_pair"
        | "class_declaration"
        | "interface_declaration"
        | "method_declaration"
        | "constructor_declaration"
        | "enum_declaration"
        | "enum_constant"
        | "storage_identifier"
        | "field_identifier" => false,
        _ => true,
    }
}

/// A `recv.name(args)` call: the record API table first, then asynchronous starts, then a call.
fn invocation<'a>(n: Node<'a>, scope: &Scope, src: &str, m: &mut Method, op_nodes: &mut Vec<Node<'a>>) {
    let name = n.child_by_field_name("name").map(|x| text(x, src)).unwrap_or_default().to_string();
    let object = n.child_by_field_name("object");
    let args: Vec<Node> = n.child_by_field_name("arguments").map(named).unwrap_or_default();
    let api_class = object.and_then(|o| access::dotted(o, src)).map(|d| match d.strip_prefix("system.") {
        Some(rest) => rest.to_string(),
        None => d,
    });
    let api_class = api_class.filter(|d| d == "database" || d == "search" || d == "system");
    if let Some(class) = api_class.as_deref() {
        let class = if class == "system" { "System" } else { class };
        match surface::lookup(class, &name) {
            Some(entry) => match entry.uses {
                Use::Read | Use::Write => {
                    let mode = access::api_mode(entry, &args, scope, src);
                    let family = Family::Database;
                    let what = format!("{}.{}", entry.class, entry.method);
                    m.ops.push(Operation { at: at(n), what, family, mode, credit: Credit::None });
                    op_nodes.push(n);
                    return;
                }
                Use::Async { arg, runs } => {
                    let receiver = args.get(arg).map(|a| expr(*a, scope, src));
                    let started = format!("{}.{}", entry.class, entry.method);
                    let kind = CallKind::Async(entry.method, runs);
                    m.calls.push(CallSite { at: at(n), kind, receiver, method: started, arg_types: Vec::new() });
                    return;
                }
                Use::Other => return,
            },
            None if surface::is_record_api(class) => {
                let what = format!("{}.{name}", if class.contains("search") { "Search" } else { "Database" });
                let mode = Mode::Unknown(format!("{what} is not in the scanner's table of the Apex reference"));
                m.ops.push(Operation { at: at(n), what, family: Family::Database, mode, credit: Credit::None });
                op_nodes.push(n);
                return;
            }
            None => {}
        }
    }
    let is_type_for_name = name.eq_ignore_ascii_case("forName")
        && object.and_then(|o| access::dotted(o, src)).is_some_and(|d| d == "type" || d == "system.type");
    if is_type_for_name {
        match args.last().filter(|a| a.kind() == "string_literal") {
            // `Type.forName('T')`: T is named; `newInstance()` on it runs T's constructors.
            Some(lit) => {
                let name = text(*lit, src).trim_matches('\'').to_string();
                m.instantiates.push(name.clone());
                let receiver = Some(Expr::Typed(name.clone()));
                m.calls.push(CallSite {
                    at: at(n),
                    kind: CallKind::New,
                    receiver,
                    method: name,
                    arg_types: Vec::new(),
                });
            }
            None => {
                let method = "Type.forName".to_string();
                let (kind, arg_types) = (CallKind::Dynamic, Vec::new());
                m.calls.push(CallSite { at: at(n), kind, receiver: None, method, arg_types });
            }
        }
        return;
    }
    let receiver = object.map(|o| expr(o, scope, src));
    let arg_types = arg_types(n, scope, src);
    m.calls.push(CallSite { at: at(n), kind: CallKind::Call, receiver, method: name, arg_types });
}

/// The declared type of each argument of a call or `new`, where syntax tells it.
fn arg_types(n: Node, scope: &Scope, src: &str) -> Vec<Option<String>> {
    let args = n.child_by_field_name("arguments").map(named).unwrap_or_default();
    args.into_iter()
        .map(|a| match expr(a, scope, src) {
            Expr::Typed(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// What an expression is, as far as syntax and declarations tell (bounded by `MAX_DEPTH`).
pub fn expr(n: Node, scope: &Scope, src: &str) -> Expr {
    match n.kind() {
        "identifier" => {
            let name = text(n, src);
            match scope.local_type(name) {
                Some(t) => Expr::Typed(t.to_string()),
                None => Expr::Name(name.to_string()),
            }
        }
        "this" => Expr::This,
        "super" => Expr::Super,
        "object_creation_expression" | "cast_expression" => {
            n.child_by_field_name("type").map(|t| Expr::Typed(text(t, src).to_string())).unwrap_or(Expr::Unknown)
        }
        "string_literal" => Expr::Typed("String".into()),
        "parenthesized_expression" => named(n).first().map(|x| expr(*x, scope, src)).unwrap_or(Expr::Unknown),
        "method_invocation" => {
            let name = n.child_by_field_name("name").map(|x| text(x, src)).unwrap_or_default().to_string();
            let args = n.child_by_field_name("arguments").map(|a| named(a).len()).unwrap_or(0);
            let recv = n.child_by_field_name("object").map(|o| Box::new(expr(o, scope, src)));
            Expr::Call(recv, name, args)
        }
        "field_access" => {
            let field = n.child_by_field_name("field").map(|x| text(x, src)).unwrap_or_default().to_string();
            match n.child_by_field_name("object") {
                Some(o) => Expr::Field(Box::new(expr(o, scope, src)), field),
                None => Expr::Unknown,
            }
        }
        "array_access" => {
            n.child_by_field_name("array").map(|a| Expr::Index(Box::new(expr(a, scope, src)))).unwrap_or(Expr::Unknown)
        }
        _ => Expr::Unknown,
    }
}
