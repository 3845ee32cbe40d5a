//! The rules, each with an ID, what it catches, and what to change. One place: the scanner, the
//! SARIF writer and the docs read this table.

use crate::model::{ApexClass, At, Credit, Family, Method, Mode, Operation};
use crate::reach::Ctx;

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub fix: &'static str,
}

pub const PARSE_ERROR: &str = "APEX-PARSE";
pub const TOO_DEEP: &str = "APEX-TOO-DEEP";
pub const WITHOUT_SHARING: &str = "APEX-WITHOUT-SHARING";
pub const SHARING_NOT_DECLARED: &str = "APEX-SHARING-NOT-DECLARED";
pub const QUERY_SYSTEM_MODE: &str = "APEX-QUERY-SYSTEM-MODE";
pub const QUERY_NO_USER_MODE: &str = "APEX-QUERY-NO-USER-MODE";
pub const QUERY_SECURITY_ENFORCED: &str = "APEX-QUERY-SECURITY-ENFORCED";
pub const DATABASE_SYSTEM_MODE: &str = "APEX-DATABASE-SYSTEM-MODE";
pub const DATABASE_NO_ACCESS_LEVEL: &str = "APEX-DATABASE-NO-ACCESS-LEVEL";
pub const DML_AS_SYSTEM: &str = "APEX-DML-AS-SYSTEM";
pub const DML_NO_AS_USER: &str = "APEX-DML-NO-AS-USER";
pub const ACCESS_LEVEL_UNKNOWN: &str = "APEX-ACCESS-LEVEL-UNKNOWN";
pub const UNRESOLVED_CALL: &str = "APEX-UNRESOLVED-CALL";

pub const RULES: &[Rule] = &[
    Rule { id: PARSE_ERROR, title: "The file does not parse", fix: "fix the syntax; an unparsed file is not cleared" },
    Rule {
        id: TOO_DEEP,
        title: "The file nests too deep to analyse",
        fix: "split the nesting or the long expression into methods or variables; a file not analysed is not cleared",
    },
    Rule {
        id: WITHOUT_SHARING,
        title: "`without sharing` class whose code (or code it calls) reads or writes records outside user mode",
        fix: "declare the class `with sharing` (or `inherited sharing`), or run its queries and DML in user mode",
    },
    Rule {
        id: SHARING_NOT_DECLARED,
        title: "Entry point with no sharing keyword before API 67.0 (runs without sharing unless @AuraEnabled) that reads or writes records outside user mode",
        fix: "declare the class `with sharing`, or raise its apiVersion to 67.0 or later",
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
    Rule {
        id: ACCESS_LEVEL_UNKNOWN,
        title: "Record access whose mode is not known statically (an access level from a parameter, a call or a field; a `Database`/`Search` method the scanner does not know)",
        fix: "pass `AccessLevel.USER_MODE` (or a local or final field assigned only that) where the operation is",
    },
    Rule {
        id: UNRESOLVED_CALL,
        title: "A call the scan cannot follow (the class is chosen at run time): the code it runs is not cleared",
        fix: "name the class statically, or map the classes it can be to tools so they are scanned as entry points",
    },
];

pub fn rule(id: &str) -> &'static Rule {
    RULES.iter().find(|r| r.id == id).expect("every rule id has a row")
}

/// One violation before it is charged to entry points: rule, where, and what.
pub struct Hit {
    pub rule: &'static str,
    pub class: usize,
    pub method: Option<String>,
    pub at: At,
    pub message: String,
}

fn hit(rule_id: &'static str, class: usize, method: Option<&str>, at: At, what: &str) -> Hit {
    let r = rule(rule_id);
    Hit {
        rule: rule_id,
        class,
        method: method.map(str::to_string),
        at,
        message: format!("{what}: {}; {}", r.title, r.fix),
    }
}

/// The mode an operation runs in: its own, or its class's API-version default.
pub fn effective(c: &ApexClass, op: &Operation) -> Mode {
    match &op.mode {
        Mode::Unstated if c.user_mode_by_default() => Mode::User,
        m => m.clone(),
    }
}

/// What one operation, run in one sharing context, violates. Credit for checks that enforce
/// object and field access clears the mode rules, never the sharing ones.
pub fn op_hits(classes: &[ApexClass], ci: usize, m: &Method, op: &Operation, ctx: Ctx) -> Vec<Hit> {
    let c = &classes[ci];
    let mode = effective(c, op);
    let what = format!("{} in {}.{}", op.what, c.name, m.name);
    let partial = match &op.credit {
        Credit::Partial(p) => format!(" ({p})"),
        _ => String::new(),
    };
    let credited = matches!(op.credit, Credit::Full(_));
    let mut out = Vec::new();
    let mut add = |id, extra: &str| out.push(hit(id, ci, Some(&m.name), op.at, &format!("{what}{extra}")));
    let (system, unstated) = match op.family {
        Family::Query => (QUERY_SYSTEM_MODE, QUERY_NO_USER_MODE),
        Family::Database => (DATABASE_SYSTEM_MODE, DATABASE_NO_ACCESS_LEVEL),
        Family::Dml => (DML_AS_SYSTEM, DML_NO_AS_USER),
    };
    match &mode {
        Mode::System if !credited => add(system, &partial),
        Mode::SecurityEnforced => add(QUERY_SECURITY_ENFORCED, ""),
        Mode::Unstated if !credited => add(unstated, &format!(" (apiVersion {}){partial}", c.version())),
        Mode::Unknown(why) => add(ACCESS_LEVEL_UNKNOWN, &format!(" ({why})")),
        _ => {}
    }
    if let Ctx::Without { origin, omitted } = ctx
        && mode != Mode::User
    {
        let o = &classes[origin];
        let (id, why) = if omitted {
            (SHARING_NOT_DECLARED, format!("class {} (apiVersion {}, no sharing keyword)", o.name, o.version()))
        } else {
            (WITHOUT_SHARING, format!("class {}", o.name))
        };
        out.push(hit(id, origin, None, o.at, &format!("{why}: {what} runs without sharing")));
    }
    out
}
