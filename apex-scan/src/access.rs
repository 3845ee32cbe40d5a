//! Access levels and the checks that enforce the user's access, read from the syntax tree.
//!
//! - A query's mode is its own `WITH` clause (not a subquery's). A dynamic query's mode is read
//!   from the string literals it is built from (`+`, `+=`, a local assigned literals, a constant).
//! - An access level is an `AccessLevel.USER_MODE`/`SYSTEM_MODE` expression, or a variable
//!   followed to every value assigned to it: system mode if any is, "not known statically" if any
//!   is unknown (a parameter, a call, a non-final field), user mode only if all are.
//! - Credit (the code enforces object and field access itself, so a system-mode default is not a
//!   leak of those): `Security.stripInaccessible` with the access type of the operation on its
//!   records, or describe checks (`isAccessible`, `isDeletable` ...) guarding the operation on the
//!   object and every field it uses. Neither enforces sharing, so neither clears a sharing finding.
//!   A guard is an `if` whose condition holds the check positively (no `||` on the way) around
//!   the operation, or an earlier `if (!check ...)` that throws or returns (no `&&` on the way).

use crate::model::{Credit, Family, Field, Mode, Operation, base_type, element_type};
use crate::parse::{first_named, named, text};
use crate::surface::Entry;
use std::collections::{BTreeMap, BTreeSet};
use tree_sitter::Node;

/// Names in scope in one method: locals and parameters with their declared types, and every value
/// assigned to each; the class's fields; the class's final fields' initializers.
pub struct Scope<'a> {
    locals: BTreeMap<String, String>,
    params: BTreeSet<String>,
    defs: BTreeMap<String, Vec<(bool, Node<'a>)>>,
    fields: BTreeMap<String, String>,
    constants: &'a BTreeMap<String, Node<'a>>,
}

/// The initializers of a class's `final` fields: the only fields whose value is known statically.
pub fn class_constants<'a>(members: &[Node<'a>], src: &str) -> BTreeMap<String, Node<'a>> {
    let mut out = BTreeMap::new();
    for m in members.iter().filter(|m| m.kind() == "field_declaration") {
        let is_final = first_named(*m, "modifiers").is_some_and(|mods| {
            named(mods).iter().any(|x| x.kind() == "modifier" && text(*x, src).eq_ignore_ascii_case("final"))
        });
        if !is_final {
            continue;
        }
        for d in named(*m).into_iter().filter(|d| d.kind() == "variable_declarator") {
            if let (Some(n), Some(v)) = (d.child_by_field_name("name"), d.child_by_field_name("value")) {
                out.insert(text(n, src).to_ascii_lowercase(), v);
            }
        }
    }
    out
}

impl<'a> Scope<'a> {
    pub fn of_method(
        params: Option<Node<'a>>,
        body: Node<'a>,
        fields: &[Field],
        constants: &'a BTreeMap<String, Node<'a>>,
        src: &str,
    ) -> Scope<'a> {
        let mut s = Scope {
            locals: BTreeMap::new(),
            params: BTreeSet::new(),
            defs: BTreeMap::new(),
            fields: fields.iter().map(|f| (f.name.to_ascii_lowercase(), f.ty.clone())).collect(),
            constants,
        };
        if let Some(p) = params {
            for fp in named(p).into_iter().filter(|x| x.kind() == "formal_parameter") {
                if let (Some(t), Some(n)) = (fp.child_by_field_name("type"), fp.child_by_field_name("name")) {
                    let name = text(n, src).to_ascii_lowercase();
                    s.locals.insert(name.clone(), text(t, src).to_string());
                    s.params.insert(name);
                }
            }
        }
        // Depth-first in source order: values are assigned in the order they are written.
        let mut stack = vec![body];
        while let Some(n) = stack.pop() {
            if n.id() != body.id() && matches!(n.kind(), "class_declaration" | "interface_declaration") {
                continue;
            }
            match n.kind() {
                "local_variable_declaration" => {
                    let ty = n.child_by_field_name("type").map(|t| text(t, src).to_string()).unwrap_or_default();
                    for d in named(n).into_iter().filter(|d| d.kind() == "variable_declarator") {
                        if let Some(name) = d.child_by_field_name("name") {
                            let name = text(name, src).to_ascii_lowercase();
                            s.locals.insert(name.clone(), ty.clone());
                            if let Some(v) = d.child_by_field_name("value") {
                                s.defs.entry(name).or_default().push((false, v));
                            }
                        }
                    }
                }
                "enhanced_for_statement" => {
                    if let (Some(t), Some(name)) = (n.child_by_field_name("type"), n.child_by_field_name("name")) {
                        s.locals.insert(text(name, src).to_ascii_lowercase(), text(t, src).to_string());
                    }
                }
                "catch_clause" => {
                    if let Some(fp) =
                        first_named(n, "formal_parameter").or_else(|| first_named(n, "catch_formal_parameter"))
                        && let (Some(t), Some(name)) = (fp.child_by_field_name("type"), fp.child_by_field_name("name"))
                    {
                        s.locals.insert(text(name, src).to_ascii_lowercase(), text(t, src).to_string());
                    }
                }
                "assignment_expression" => {
                    let left = n.child_by_field_name("left").filter(|l| l.kind() == "identifier");
                    if let (Some(l), Some(r)) = (left, n.child_by_field_name("right")) {
                        let append = n.child_by_field_name("operator").is_some_and(|o| text(o, src) == "+=");
                        s.defs.entry(text(l, src).to_ascii_lowercase()).or_default().push((append, r));
                    }
                }
                _ => {}
            }
            let mut cursor = n.walk();
            let below: Vec<Node> = n.named_children(&mut cursor).collect();
            stack.extend(below.into_iter().rev());
        }
        s
    }

    /// The declared type of a local or parameter.
    pub fn local_type(&self, name: &str) -> Option<&str> {
        self.locals.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    fn declared_type(&self, name: &str) -> Option<&str> {
        let key = name.to_ascii_lowercase();
        self.locals.get(&key).or_else(|| self.fields.get(&key)).map(String::as_str)
    }

    /// Values assigned to a local in source order (`true` for `+=`), or a final field's initializer.
    fn values(&self, name: &str) -> Vec<(bool, Node<'a>)> {
        let key = name.to_ascii_lowercase();
        if self.locals.contains_key(&key) {
            return self.defs.get(&key).cloned().unwrap_or_default();
        }
        self.constants.get(&key).map(|v| vec![(false, *v)]).unwrap_or_default()
    }
}

/// `Schema.SObjectType.Case.fields.Subject` as `schema.sobjecttype.case.fields.subject`, a call
/// with no arguments as `name()`; `None` for anything else. Comments are not part of it.
pub fn dotted(n: Node, src: &str) -> Option<String> {
    match n.kind() {
        "identifier" | "type_identifier" => Some(text(n, src).to_ascii_lowercase()),
        "scoped_type_identifier" => {
            let parts: Vec<String> = named(n).iter().map(|p| dotted(*p, src)).collect::<Option<_>>()?;
            Some(parts.join("."))
        }
        "field_access" => {
            let object = dotted(n.child_by_field_name("object")?, src)?;
            Some(format!("{object}.{}", text(n.child_by_field_name("field")?, src).to_ascii_lowercase()))
        }
        "method_invocation" => {
            let args = n.child_by_field_name("arguments").map(named).unwrap_or_default();
            if !args.is_empty() {
                return None;
            }
            let name = text(n.child_by_field_name("name")?, src).to_ascii_lowercase();
            match n.child_by_field_name("object") {
                Some(o) => Some(format!("{}.{name}()", dotted(o, src)?)),
                None => Some(format!("{name}()")),
            }
        }
        _ => None,
    }
}

/// The mode a query asks for in its own `WITH` clause.
pub fn query_mode(q: Node, src: &str) -> Mode {
    for body in named(q) {
        if body.is_error()
            && let Some(m) = crate::parse::sosl_mode(body, src)
        {
            return m;
        }
        for w in named(body).into_iter().filter(|c| c.kind() == "with_clause") {
            for t in named(w).into_iter().filter(|c| c.kind() == "with_type") {
                match text(t, src).trim().to_ascii_uppercase().as_str() {
                    "USER_MODE" => return Mode::User,
                    "SYSTEM_MODE" => return Mode::System,
                    "SECURITY_ENFORCED" => return Mode::SecurityEnforced,
                    _ => {}
                }
            }
        }
    }
    Mode::Unstated
}

/// The worst of several modes: system, then unknown, then SECURITY_ENFORCED, then unstated, then user.
fn worst(modes: impl IntoIterator<Item = Mode>) -> Option<Mode> {
    let rank = |m: &Mode| match m {
        Mode::System => 0,
        Mode::Unknown(_) => 1,
        Mode::SecurityEnforced => 2,
        Mode::Unstated => 3,
        Mode::User => 4,
    };
    modes.into_iter().min_by_key(rank)
}

/// The mode of a `Database`/`Search` call: its access level argument and, for a query, the
/// string it runs. A method with no access-level form always runs in system mode.
pub fn api_mode(entry: &Entry, args: &[Node], scope: &Scope, src: &str) -> Mode {
    if !entry.access_level {
        return Mode::System;
    }
    let mut level = args.iter().rev().find_map(|a| level_of(*a, scope, src, 0));
    if level.is_none() && args.len() >= 2 {
        // The last argument is where an access level goes; a call there is chosen at run time.
        let last = args[args.len() - 1];
        if last.kind() == "method_invocation" && dotted(last, src).is_none_or(|d| !d.ends_with("getrecords()")) {
            level = Some(Mode::Unknown("the access level is the result of a call, not known statically".into()));
        }
    }
    let query = matches!(entry.uses, crate::surface::Use::Read)
        .then(|| args.first().map(|q| string_mode(*q, scope, src)))
        .flatten();
    match (level, query) {
        // The access level decides; a query string asking for system mode as well stays system.
        (Some(_), Some(Mode::System)) => Mode::System,
        (Some(l), Some(_)) => l,
        (Some(l), None) => l,
        (None, Some(q)) => q,
        (None, None) => Mode::Unstated,
    }
}

const MAX_FOLLOW: usize = 8;

/// The access level an argument names, if it is one (`None` when it is something else).
fn level_of(n: Node, scope: &Scope, src: &str, depth: usize) -> Option<Mode> {
    if depth > MAX_FOLLOW {
        return Some(Mode::Unknown("the access level is assigned through too many variables to follow".into()));
    }
    match n.kind() {
        "field_access" => {
            let d = dotted(n, src)?;
            let d = d.strip_prefix("system.").unwrap_or(&d);
            match d {
                "accesslevel.user_mode" => Some(Mode::User),
                "accesslevel.system_mode" => Some(Mode::System),
                _ => None,
            }
        }
        "parenthesized_expression" => named(n).first().and_then(|x| level_of(*x, scope, src, depth + 1)),
        "ternary_expression" => {
            let branches = ["consequence", "alternative"].map(|f| n.child_by_field_name(f));
            let modes: Vec<Mode> =
                branches.iter().flatten().filter_map(|b| level_of(*b, scope, src, depth + 1)).collect();
            worst(modes)
        }
        "identifier" => {
            let name = text(n, src);
            let ty = scope.declared_type(name)?;
            if !base_type(ty).trim_start_matches("System.").eq_ignore_ascii_case("AccessLevel") {
                return None;
            }
            if scope.params.contains(&name.to_ascii_lowercase()) {
                return Some(Mode::Unknown(format!("the access level comes from parameter `{name}`")));
            }
            let values = scope.values(name);
            if values.is_empty() {
                return Some(Mode::Unknown(format!("the access level is `{name}`, whose value is set elsewhere")));
            }
            worst(values.iter().map(|(_, v)| {
                level_of(*v, scope, src, depth + 1)
                    .unwrap_or_else(|| Mode::Unknown(format!("`{name}` is assigned a value not known statically")))
            }))
        }
        _ => None,
    }
}

/// The mode a dynamic query string asks for, from the literals it is built from.
fn string_mode(n: Node, scope: &Scope, src: &str) -> Mode {
    let mut parts = Vec::new();
    string_parts(n, scope, src, 0, &mut parts);
    let soql: String =
        strip_quoted(&parts.join(" ").to_ascii_uppercase()).split_whitespace().collect::<Vec<_>>().join(" ");
    if soql.contains("WITH SYSTEM_MODE") {
        Mode::System
    } else if soql.contains("WITH SECURITY_ENFORCED") {
        Mode::SecurityEnforced
    } else if soql.contains("WITH USER_MODE") {
        Mode::User
    } else {
        Mode::Unstated
    }
}

/// SOQL text with its quoted values removed (`WHERE Name = 'WITH USER_MODE'` asks for nothing).
fn strip_quoted(s: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        match (quoted, escaped, c) {
            (true, false, '\\') => escaped = true,
            (true, true, _) => escaped = false,
            (_, false, '\'') => quoted = !quoted,
            (false, _, c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// An Apex string literal's value.
fn unquote(lit: &str) -> String {
    let inner = lit.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')).unwrap_or(lit);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(match n {
                    'n' | 't' | 'r' => ' ',
                    other => other,
                });
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The literals a string expression is built from. Each variable is expanded once (a builder
/// like `q = q + '...'` names itself), so the work is linear in the code.
fn string_parts(n: Node, scope: &Scope, src: &str, depth: usize, out: &mut Vec<String>) {
    string_parts_once(n, scope, src, depth, &mut BTreeSet::new(), out);
}

fn string_parts_once(
    n: Node,
    scope: &Scope,
    src: &str,
    depth: usize,
    expanded: &mut BTreeSet<String>,
    out: &mut Vec<String>,
) {
    if depth > MAX_FOLLOW * 4 {
        return;
    }
    match n.kind() {
        "string_literal" => out.push(unquote(text(n, src))),
        "binary_expression" | "parenthesized_expression" => {
            for c in named(n) {
                string_parts_once(c, scope, src, depth + 1, expanded, out);
            }
        }
        "identifier" if expanded.insert(text(n, src).to_ascii_lowercase()) => {
            for (_, v) in scope.values(text(n, src)) {
                string_parts_once(v, scope, src, depth + 1, expanded, out);
            }
        }
        "method_invocation" => {
            // `String.format(template, args)`, `String.join(parts, sep)`: their literals count.
            let is_string = n.child_by_field_name("object").and_then(|o| dotted(o, src)).is_some_and(|d| d == "string");
            if is_string {
                for a in n.child_by_field_name("arguments").map(named).unwrap_or_default() {
                    string_parts_once(a, scope, src, depth + 1, expanded, out);
                }
            }
        }
        // `new List<Object>{ ..., CLAUSE }` as `String.format`'s arguments: the values in it.
        "object_creation_expression" | "array_creation_expression" | "array_initializer" | "ternary_expression" => {
            for c in named(n) {
                string_parts_once(c, scope, src, depth + 1, expanded, out);
            }
        }
        _ => {}
    }
}

const READ: &str = "accesstype.readable";

/// The credit an operation gets from the checks around it.
pub fn credit(op: &Operation, node: Node, root: Node, scope: &Scope, src: &str) -> Credit {
    match op.family {
        Family::Query if op.what == "SOQL" => soql_credit(node, root, scope, src),
        Family::Database if op.what.ends_with(".query") || op.what.contains("Query") => {
            match stripped_as(node, root, src, READ) {
                true => Credit::Partial(
                    "Security.stripInaccessible covers the returned fields, but the fields a dynamic query filters on are not known statically".into(),
                ),
                false => Credit::None,
            }
        }
        Family::Dml | Family::Database => dml_credit(op, node, root, scope, src),
        Family::Query => Credit::None,
    }
}

/// Whether a query's records (the node itself, or a local it is assigned to) are passed through
/// `Security.stripInaccessible` with this access type in the same method.
fn stripped_as(node: Node, root: Node, src: &str, access: &str) -> bool {
    let assigned_to = node.parent().and_then(|p| match p.kind() {
        "variable_declarator" => p.child_by_field_name("name").map(|x| text(x, src).to_ascii_lowercase()),
        "assignment_expression" => p.child_by_field_name("left").map(|x| text(x, src).to_ascii_lowercase()),
        _ => None,
    });
    strip_calls(root, src).into_iter().any(|(call, kind, records)| {
        let raw = (records.kind() == "identifier").then(|| text(records, src).to_ascii_lowercase());
        kind == access
            && (records.id() == node.id() || (raw.is_some() && assigned_to == raw))
            && result_used(call, root, src)
            && raw.is_none_or(|r| !read_after(&r, call, root, src))
    })
}

/// Whether the stripped records are what the code goes on with: `getRecords()` is called on the
/// decision, directly or through the local it is assigned to.
fn result_used(call: Node, root: Node, src: &str) -> bool {
    let parent = call.parent();
    let called_on = |p: Node| {
        p.kind() == "method_invocation"
            && p.child_by_field_name("name").is_some_and(|x| text(x, src).eq_ignore_ascii_case("getRecords"))
    };
    if parent.is_some_and(called_on) {
        return true;
    }
    let decision = parent.and_then(|p| match p.kind() {
        "variable_declarator" => p.child_by_field_name("name"),
        "assignment_expression" => p.child_by_field_name("left"),
        _ => None,
    });
    let Some(d) = decision.map(|d| text(d, src).to_ascii_lowercase()) else { return false };
    below(root)
        .into_iter()
        .any(|n| called_on(n) && n.child_by_field_name("object").is_some_and(|o| text(o, src).eq_ignore_ascii_case(&d)))
}

/// Whether a local is read after a node (other than being assigned again): the unstripped
/// records used after all.
fn read_after(name: &str, after: Node, root: Node, src: &str) -> bool {
    below(root).into_iter().any(|n| {
        n.kind() == "identifier"
            && n.start_byte() >= after.end_byte()
            && text(n, src).eq_ignore_ascii_case(name)
            && !n.parent().is_some_and(|p| {
                p.kind() == "assignment_expression" && p.child_by_field_name("left").is_some_and(|l| l.id() == n.id())
            })
    })
}

/// Every node below `root`, in no particular order.
fn below(root: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        out.push(n);
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    out
}

/// Every `Security.stripInaccessible(AccessType.X, records)` below `root`: (the call,
/// `accesstype.x`, records).
fn strip_calls<'a>(root: Node<'a>, src: &str) -> Vec<(Node<'a>, String, Node<'a>)> {
    below(root).into_iter().filter_map(|n| strip_call(n, src).map(|(k, r)| (n, k, r))).collect()
}

fn strip_call<'a>(n: Node<'a>, src: &str) -> Option<(String, Node<'a>)> {
    if n.kind() != "method_invocation" {
        return None;
    }
    let name = text(n.child_by_field_name("name")?, src);
    let object = dotted(n.child_by_field_name("object")?, src)?;
    if !name.eq_ignore_ascii_case("stripInaccessible") || object.trim_start_matches("system.") != "security" {
        return None;
    }
    let args = named(n.child_by_field_name("arguments")?);
    let kind = dotted(*args.first()?, src)?;
    Some((kind.trim_start_matches("system.").to_string(), *args.get(1)?))
}

/// Object, selected fields and filter fields (WHERE, ORDER BY, GROUP BY) of a static SOQL query.
fn soql_parts(q: Node, src: &str) -> Option<(String, BTreeSet<String>, BTreeSet<String>)> {
    let body = first_named(q, "soql_query_body")?;
    let object = first_named(body.child_by_field_name("from_clause")?, "storage_identifier")?;
    let fields_below = |n: Node| {
        let mut out = BTreeSet::new();
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if x.kind() == "field_identifier" {
                out.insert(text(x, src).to_ascii_lowercase());
                continue;
            }
            if x.kind() == "subquery" || x.kind() == "bound_apex_expression" {
                continue;
            }
            let mut cursor = x.walk();
            stack.extend(x.named_children(&mut cursor));
        }
        out
    };
    let select = body.child_by_field_name("select_clause").map(fields_below).unwrap_or_default();
    let mut filter = BTreeSet::new();
    for part in named(body) {
        if matches!(part.kind(), "where_clause" | "order_by_clause" | "group_by_clause" | "having_clause") {
            filter.extend(fields_below(part));
        }
    }
    Some((text(object, src).to_ascii_lowercase(), select, filter))
}

fn soql_credit(q: Node, root: Node, scope: &Scope, src: &str) -> Credit {
    let Some((object, select, filter)) = soql_parts(q, src) else { return Credit::None };
    if stripped_as(q, root, src, READ) {
        let unchecked: Vec<&String> = filter.iter().filter(|f| !select.contains(*f) && *f != "id").collect();
        return if unchecked.is_empty() {
            Credit::Full(format!(
                "Security.stripInaccessible(AccessType.READABLE) checks {object} and strips the fields it returns"
            ))
        } else {
            Credit::Partial(format!(
                "Security.stripInaccessible covers the returned fields, not the filter on {}",
                join(unchecked)
            ))
        };
    }
    let checks = guards(q, root, src, scope);
    if checks.is_empty() {
        return Credit::None;
    }
    if below(q).iter().any(|n| n.kind() == "subquery") {
        return Credit::Partial("the describe checks do not reach the objects of its subqueries".into());
    }
    let object_ok = checks.contains(&("isaccessible".into(), object.clone(), None));
    let used: BTreeSet<&String> = select.iter().chain(filter.iter()).filter(|f| *f != "id").collect();
    let missing: Vec<&String> = used
        .iter()
        .copied()
        .filter(|f| !checks.contains(&("isaccessible".into(), object.clone(), Some((*f).clone()))))
        .collect();
    match (object_ok, missing.is_empty()) {
        (true, true) => Credit::Full(format!(
            "describe checks isAccessible() on {object} and every field it uses ({})",
            join(used.into_iter().collect())
        )),
        (false, _) => Credit::Partial(format!("the describe checks do not check {object} itself")),
        (true, false) => Credit::Partial(format!("the describe checks leave {} unchecked", join(missing))),
    }
}

fn join(v: Vec<&String>) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// The records a DML statement or `Database` write works on.
fn dml_target<'a>(op: &Operation, node: Node<'a>) -> Option<Node<'a>> {
    match op.family {
        Family::Dml => node.child_by_field_name("target"),
        _ => node.child_by_field_name("arguments").and_then(|a| named(a).first().copied()),
    }
}

fn dml_credit(op: &Operation, node: Node, root: Node, scope: &Scope, src: &str) -> Credit {
    let verb = op.what.rsplit('.').next().unwrap_or(&op.what).to_ascii_lowercase();
    let Some(target) = dml_target(op, node) else { return Credit::None };
    let strip_kind = match verb.as_str() {
        "insert" => Some("accesstype.creatable"),
        "update" => Some("accesstype.updatable"),
        "upsert" => Some("accesstype.upsertable"),
        _ => None,
    };
    if let Some(kind) = strip_kind
        && records_stripped(target, scope, src, kind, 0)
    {
        return Credit::Full(format!(
            "Security.stripInaccessible({}) checks the object and removes the fields the user cannot write",
            kind.replace("accesstype.", "AccessType.").to_ascii_uppercase().replace("ACCESSTYPE", "AccessType")
        ));
    }
    let object = target_object(target, scope, src);
    let checks = guards(node, root, src, scope);
    let needed = match verb.as_str() {
        "delete" => "isdeletable",
        "undelete" => "isundeletable",
        "insert" => "iscreateable",
        "update" | "upsert" | "merge" => "isupdateable",
        _ => return Credit::None,
    };
    let Some(object) = object else { return Credit::None };
    if !checks.contains(&(needed.into(), object.clone(), None)) {
        return Credit::None;
    }
    if matches!(verb.as_str(), "delete" | "undelete") {
        Credit::Full(format!("describe check {needed}() on {object} (a {verb} writes no fields)"))
    } else {
        Credit::Partial(format!(
            "the describe checks cover {object} but not the fields written, which are not known statically"
        ))
    }
}

/// Whether records are `stripInaccessible(kind, ...).getRecords()`, directly or through locals.
fn records_stripped(n: Node, scope: &Scope, src: &str, kind: &str, depth: usize) -> bool {
    if depth > MAX_FOLLOW {
        return false;
    }
    match n.kind() {
        "method_invocation" => {
            let name = n.child_by_field_name("name").map(|x| text(x, src).to_ascii_lowercase());
            let object = n.child_by_field_name("object");
            match (name.as_deref(), object) {
                (Some("getrecords"), Some(o)) => {
                    strip_call(o, src).is_some_and(|(k, _)| k == kind)
                        || records_stripped(o, scope, src, kind, depth + 1)
                }
                _ => false,
            }
        }
        "identifier" => {
            let values = scope.values(text(n, src));
            !values.is_empty()
                && values.iter().all(|(_, v)| {
                    strip_call(*v, src).is_some_and(|(k, _)| k == kind)
                        || records_stripped(*v, scope, src, kind, depth + 1)
                })
        }
        "parenthesized_expression" | "cast_expression" => {
            named(n).last().is_some_and(|x| records_stripped(*x, scope, src, kind, depth + 1))
        }
        _ => false,
    }
}

/// The SObject a DML target holds: `new Case(...)`, or a local declared `Case` or `List<Case>`.
fn target_object(n: Node, scope: &Scope, src: &str) -> Option<String> {
    let ty = match n.kind() {
        "object_creation_expression" => text(n.child_by_field_name("type")?, src).to_string(),
        "identifier" => scope.declared_type(text(n, src))?.to_string(),
        _ => return None,
    };
    let t = if base_type(&ty).eq_ignore_ascii_case("List") { element_type(&ty)? } else { ty };
    Some(base_type(&t).to_ascii_lowercase())
}

/// Describe checks guarding `node`: (`isaccessible`, object, field) triples.
fn guards(node: Node, root: Node, src: &str, scope: &Scope) -> BTreeSet<(String, String, Option<String>)> {
    let mut out = BTreeSet::new();
    let mut child = node;
    let mut cur = node.parent();
    while let Some(p) = cur {
        if p.kind() == "if_statement" {
            let in_consequence = p.child_by_field_name("consequence").is_some_and(|c| c.id() == child.id());
            if in_consequence && let Some(cond) = p.child_by_field_name("condition") {
                out.extend(checks_in(cond, src, true));
            }
        }
        // Earlier statements in the same block: `if (!check) { throw ...; }`.
        if matches!(p.kind(), "block" | "constructor_body") {
            for s in named(p) {
                if s.end_byte() > child.start_byte() {
                    break;
                }
                out.extend(exit_guards(s, src, scope));
            }
        }
        if p.id() == root.id() {
            break;
        }
        child = p;
        cur = p.parent();
    }
    out
}

/// Checks an earlier statement enforces by leaving: `if (!check) { throw ...; }`, or such an `if`
/// in a loop over a constant list of fields (`for (SObjectField f : FIELDS) { if
/// (!f.getDescribe().isAccessible()) throw ...; }`), which checks each field of the list.
fn exit_guards(s: Node, src: &str, scope: &Scope) -> Vec<(String, String, Option<String>)> {
    match s.kind() {
        "if_statement" => {
            let leaves = s.child_by_field_name("consequence").is_some_and(exits);
            match (leaves, s.child_by_field_name("condition")) {
                (true, Some(cond)) => checks_in(cond, src, false),
                _ => Vec::new(),
            }
        }
        "enhanced_for_statement" => {
            let (Some(var), Some(list), Some(body)) =
                (s.child_by_field_name("name"), s.child_by_field_name("value"), s.child_by_field_name("body"))
            else {
                return Vec::new();
            };
            let var = text(var, src).to_ascii_lowercase();
            let fields: Vec<(String, String)> = scope
                .values(text(list, src))
                .iter()
                .flat_map(|(_, v)| below(*v))
                .filter(|n| n.kind() == "field_access")
                .filter_map(|n| dotted(n, src))
                .filter_map(|d| d.split_once('.').map(|(o, f)| (o.to_string(), f.to_string())))
                .collect();
            let mut out = Vec::new();
            for inner in named(body).into_iter().filter(|x| x.kind() == "if_statement") {
                for (check, object, field) in exit_guards(inner, src, scope) {
                    if object == LOOP_FIELD && field.as_deref() == Some(var.as_str()) {
                        out.extend(fields.iter().map(|(o, f)| (check.clone(), o.clone(), Some(f.clone()))));
                    } else {
                        out.push((check, object, field));
                    }
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The object `describe_target` gives `f.getDescribe()` for a loop variable `f` (an SObjectField).
const LOOP_FIELD: &str = "<loop field>";

/// A branch that always leaves: it is a `throw` or a `return`, or a block whose last statement is
/// (a `throw` under a further condition does not count).
fn exits(n: Node) -> bool {
    match n.kind() {
        "throw_statement" | "return_statement" => true,
        "block" => named(n).last().is_some_and(|l| exits(*l)),
        _ => false,
    }
}

const CHECKS: &[&str] = &["isaccessible", "iscreateable", "isupdateable", "isdeletable", "isundeletable"];

/// Checks in a condition that hold when the branch is taken (`positive`) or that the branch's
/// exit enforces (`!positive`).
fn checks_in(cond: Node, src: &str, positive: bool) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![cond];
    while let Some(n) = stack.pop() {
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
        if n.kind() != "method_invocation" {
            continue;
        }
        let Some(name) = n.child_by_field_name("name").map(|x| text(x, src).to_ascii_lowercase()) else { continue };
        if !CHECKS.contains(&name.as_str()) {
            continue;
        }
        let Some(target) =
            n.child_by_field_name("object").and_then(|o| dotted(o, src)).and_then(|d| describe_target(&d))
        else {
            continue;
        };
        if polarity_holds(n, cond, src, positive) {
            out.push((name, target.0, target.1));
        }
    }
    out
}

/// Whether a check holds on the taken branch: an even number of `!` and no `||` on the way up for
/// a positive guard; an odd number and no `&&` for an exit guard.
fn polarity_holds(check: Node, cond: Node, src: &str, positive: bool) -> bool {
    let mut negations = 0;
    let mut cur = check.parent();
    while let Some(p) = cur {
        match p.kind() {
            "unary_expression" if text(p, src).trim_start().starts_with('!') => negations += 1,
            "binary_expression" => {
                let op = p.child_by_field_name("operator").map(|o| text(o, src)).unwrap_or_else(|| {
                    let mut cursor = p.walk();
                    p.children(&mut cursor).find(|c| !c.is_named()).map(|c| text(c, src)).unwrap_or_default()
                });
                let breaks = if positive { "||" } else { "&&" };
                if op == breaks {
                    return false;
                }
            }
            _ => {}
        }
        if p.id() == cond.id() {
            break;
        }
        cur = p.parent();
    }
    (negations % 2 == 0) == positive
}

/// (object, field) a describe expression is about.
fn describe_target(d: &str) -> Option<(String, Option<String>)> {
    let parts: Vec<&str> = d.split('.').collect();
    let parts = if parts.first() == Some(&"schema") { &parts[1..] } else { &parts[..] };
    match parts {
        ["sobjecttype", obj] | ["sobjecttype", obj, "getdescribe()"] => Some((obj.to_string(), None)),
        ["sobjecttype", obj, "fields", f] | ["sobjecttype", obj, "fields", f, "getdescribe()"] => {
            Some((obj.to_string(), Some(f.to_string())))
        }
        [obj, "sobjecttype", "getdescribe()"] | [obj, "getsobjecttype()", "getdescribe()"] => {
            Some((obj.to_string(), None))
        }
        [obj, f, "getdescribe()"] => Some((obj.to_string(), Some(f.to_string()))),
        [var, "getdescribe()"] => Some((LOOP_FIELD.to_string(), Some(var.to_string()))),
        _ => None,
    }
}
