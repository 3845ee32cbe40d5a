//! The rules, each with an ID, what it catches, and what to change. One place: the scanner, the
//! SARIF writer and the docs read this table.

use crate::Finding;
use crate::model::{ApexClass, Method, Mode, Operation, Sharing};

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub fix: &'static str,
}

pub const PARSE_ERROR: &str = "APEX-PARSE";
pub const TOO_DEEP: &str = "APEX-TOO-DEEP";
pub const WITHOUT_SHARING: &str = "APEX-WITHOUT-SHARING";
pub const SHARING_NOT_DECLARED: &str = "APEX-SHARING-NOT-DECLARED";
pub const INHERITED_SHARING_ENTRY: &str = "APEX-INHERITED-SHARING-ENTRY";
pub const QUERY_SYSTEM_MODE: &str = "APEX-QUERY-SYSTEM-MODE";
pub const QUERY_NO_USER_MODE: &str = "APEX-QUERY-NO-USER-MODE";
pub const QUERY_SECURITY_ENFORCED: &str = "APEX-QUERY-SECURITY-ENFORCED";
pub const DATABASE_SYSTEM_MODE: &str = "APEX-DATABASE-SYSTEM-MODE";
pub const DATABASE_NO_ACCESS_LEVEL: &str = "APEX-DATABASE-NO-ACCESS-LEVEL";
pub const DML_AS_SYSTEM: &str = "APEX-DML-AS-SYSTEM";
pub const DML_NO_AS_USER: &str = "APEX-DML-NO-AS-USER";

pub const RULES: &[Rule] = &[
    Rule { id: PARSE_ERROR, title: "The file does not parse", fix: "fix the syntax; an unparsed file is not cleared" },
    Rule {
        id: TOO_DEEP,
        title: "The file nests too deep to analyse",
        fix: "split the nesting or the long expression into methods or variables; a file not analysed is not cleared",
    },
    Rule {
        id: WITHOUT_SHARING,
        title: "`without sharing` on a class reached from an entry point",
        fix: "declare the class `with sharing` (or `inherited sharing` for a helper only ever called from user-mode code)",
    },
    Rule {
        id: SHARING_NOT_DECLARED,
        title: "Entry-point class without a sharing keyword before API 67.0 (runs without sharing)",
        fix: "declare the class `with sharing`, or raise its apiVersion to 67.0 or later",
    },
    Rule {
        id: INHERITED_SHARING_ENTRY,
        title: "`inherited sharing` on an entry-point class (an entry point inherits nothing: it runs without sharing)",
        fix: "declare the entry-point class `with sharing`",
    },
    Rule {
        id: QUERY_SYSTEM_MODE,
        title: "SOQL/SOSL `WITH SYSTEM_MODE`",
        fix: "use `WITH USER_MODE` so object permissions, field-level security and sharing apply",
    },
    Rule {
        id: QUERY_NO_USER_MODE,
        title: "SOQL/SOSL without `WITH USER_MODE` before API 67.0 (runs in system mode)",
        fix: "add `WITH USER_MODE`",
    },
    Rule {
        id: QUERY_SECURITY_ENFORCED,
        title: "`WITH SECURITY_ENFORCED` is weaker than user mode (WHERE and ORDER BY fields, and sharing, unchecked)",
        fix: "replace `WITH SECURITY_ENFORCED` with `WITH USER_MODE`",
    },
    Rule {
        id: DATABASE_SYSTEM_MODE,
        title: "`Database` method with `AccessLevel.SYSTEM_MODE`",
        fix: "pass `AccessLevel.USER_MODE`",
    },
    Rule {
        id: DATABASE_NO_ACCESS_LEVEL,
        title: "`Database` query or DML method without an access level before API 67.0 (runs in system mode)",
        fix: "pass `AccessLevel.USER_MODE` as the access level argument",
    },
    Rule { id: DML_AS_SYSTEM, title: "DML statement `as system`", fix: "write the DML `as user`" },
    Rule {
        id: DML_NO_AS_USER,
        title: "DML statement without `as user` before API 67.0 (ignores CRUD and field-level security)",
        fix: "write the DML `as user` (e.g. `update as user records;`)",
    },
];

pub fn rule(id: &str) -> &'static Rule {
    RULES.iter().find(|r| r.id == id).expect("every rule id has a row")
}

fn finding(
    rule_id: &'static str,
    c: &ApexClass,
    method: Option<&str>,
    line: usize,
    column: usize,
    what: &str,
    reached: &[String],
) -> Finding {
    let r = rule(rule_id);
    Finding {
        rule: rule_id,
        file: c.file.clone(),
        line,
        column,
        class: c.name.clone(),
        method: method.map(str::to_string),
        message: format!("{what}: {}; {}", r.title, r.fix),
        reached_from: reached.to_vec(),
    }
}

/// Sharing findings for a class some entry point reaches.
pub fn class_findings(c: &ApexClass, entry_class: bool, reached: &[String]) -> Vec<Finding> {
    let f = |id, what: &str| finding(id, c, None, c.at.line, c.at.column, what, reached);
    match c.sharing {
        Sharing::Without => vec![f(WITHOUT_SHARING, &format!("class {}", c.name))],
        Sharing::Inherited if entry_class => vec![f(INHERITED_SHARING_ENTRY, &format!("class {}", c.name))],
        Sharing::Omitted if entry_class && !c.user_mode_by_default() => {
            vec![f(SHARING_NOT_DECLARED, &format!("class {} (apiVersion {})", c.name, version(c)))]
        }
        _ => Vec::new(),
    }
}

fn version(c: &ApexClass) -> String {
    c.api_version.map(|v| format!("{}.{}", v / 10, v % 10)).unwrap_or_else(|| "unknown: no -meta.xml".into())
}

/// Query, `Database` and DML findings in one reached method.
pub fn method_findings(c: &ApexClass, m: &Method, reached: &[String]) -> Vec<Finding> {
    let default_user = c.user_mode_by_default();
    let mut out = Vec::new();
    let mut add = |id, op: &Operation| {
        let what = format!("{} in {}.{}", op.what, c.name, m.name);
        out.push(finding(id, c, Some(&m.name), op.at.line, op.at.column, &what, reached));
    };
    for q in &m.queries {
        match q.mode {
            Mode::System => add(QUERY_SYSTEM_MODE, q),
            Mode::SecurityEnforced => add(QUERY_SECURITY_ENFORCED, q),
            Mode::Unstated if !default_user => add(QUERY_NO_USER_MODE, q),
            _ => {}
        }
    }
    for d in &m.database {
        match d.mode {
            Mode::System => add(DATABASE_SYSTEM_MODE, d),
            Mode::Unstated if !default_user => add(DATABASE_NO_ACCESS_LEVEL, d),
            _ => {}
        }
    }
    for d in &m.dml {
        match d.mode {
            Mode::System => add(DML_AS_SYSTEM, d),
            Mode::Unstated if !default_user => add(DML_NO_AS_USER, d),
            _ => {}
        }
    }
    out
}
