//! The Apex source as the rules see it: classes and interfaces (inner ones on their own: they do
//! not inherit the outer class's sharing keyword), their fields and properties, and every place
//! code runs (methods, constructors, property accessors, static and instance initializers), with
//! the calls, property reads and record operations inside each. `parse` builds it from the syntax
//! tree; `reach` resolves the calls.

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

/// The mode a record operation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    User,
    System,
    /// `WITH SECURITY_ENFORCED`: object and field checks on SELECT fields only, no sharing.
    SecurityEnforced,
    /// No mode written: the class's API version decides.
    Unstated,
    /// A mode chosen at run time (a parameter, a field): why it is not known.
    Unknown(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub line: usize,
    pub column: usize,
}

/// What an expression is, as far as syntax tells: resolved to a type by `reach`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A declared type: a local, a parameter, `new T()`, `(T) x`.
    Typed(String),
    /// A bare name that is no local: a field or property of the class, or a class.
    Name(String),
    This,
    Super,
    /// `recv.method(args)`; no receiver for a call in the same class.
    Call(Option<Box<Expr>>, String, usize),
    /// `recv.name`.
    Field(Box<Expr>, String),
    /// `list[i]`: the element type of the list.
    Index(Box<Expr>),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallKind {
    /// `recv.method(args)` (or `method(args)`).
    Call,
    /// `new T(args)`: constructors and initializers of `T` (the receiver is `Typed(T)`).
    New,
    /// Work started from here that runs later: these methods of the receiver's type
    /// (`Database.executeBatch(job)` runs `start`, `execute`, `finish`).
    Async(&'static str, &'static [&'static str]),
    /// `Type.forName(name)` with a name not known statically: any class could run.
    Dynamic,
}

#[derive(Debug, Clone)]
pub struct CallSite {
    pub at: At,
    pub kind: CallKind,
    pub receiver: Option<Expr>,
    pub method: String,
    /// One entry per argument: its declared type where syntax tells it (a local, a parameter,
    /// `new T()`).
    pub arg_types: Vec<Option<String>>,
}

/// A read or write of a name that may be a property (its accessor runs) or a class (its static
/// initializer runs on first use).
#[derive(Debug, Clone)]
pub struct Ref {
    pub at: At,
    pub target: Expr,
    pub write: bool,
}

/// What a record operation does: reads, writes, or (for the table's completeness) neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Query,
    Database,
    Dml,
}

/// Credit for a check in the code that enforces the user's object and field access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credit {
    None,
    /// The check covers every object and field the operation uses: which check, and what.
    Full(String),
    /// A check exists but leaves something unchecked: what.
    Partial(String),
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub at: At,
    /// `SOQL`, `SOSL`, `Database.query`, `Search.query`, `update` ...
    pub what: String,
    pub family: Family,
    pub mode: Mode,
    pub credit: Credit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Method,
    Constructor,
    Getter,
    Setter,
    /// Static field initializers and `static { }` blocks: run on the class's first use.
    StaticInit,
    /// Instance field initializers and `{ }` blocks: run on every `new`.
    InstanceInit,
}

#[derive(Debug, Clone)]
pub struct Method {
    pub name: String,
    pub kind: MethodKind,
    pub at: At,
    pub annotations: Vec<String>,
    pub params: usize,
    pub param_types: Vec<String>,
    pub return_type: Option<String>,
    pub calls: Vec<CallSite>,
    pub refs: Vec<Ref>,
    pub ops: Vec<Operation>,
    /// Classes this code makes instances of without `new`: `Type.forName('T')`, `T.class`.
    pub instantiates: Vec<String>,
}

impl Method {
    pub fn new(name: &str, kind: MethodKind, at: At) -> Method {
        Method {
            name: name.to_string(),
            kind,
            at,
            annotations: Vec::new(),
            params: 0,
            param_types: Vec::new(),
            return_type: None,
            calls: Vec::new(),
            refs: Vec::new(),
            ops: Vec::new(),
            instantiates: Vec::new(),
        }
    }

    /// Exposed to clients: invocable (agents' actions), Aura/LWC, or a REST resource handler.
    pub fn exposed(&self, class: &ApexClass) -> bool {
        let has = |a: &str| self.annotations.iter().any(|x| x == a);
        has("invocablemethod")
            || has("auraenabled")
            || (class.rest_resource
                && ["httpget", "httppost", "httpput", "httppatch", "httpdelete"].iter().any(|h| has(h)))
    }

    /// Code a caller can name: methods and constructors (accessors and initializers run by use).
    pub fn callable(&self) -> bool {
        matches!(self.kind, MethodKind::Method | MethodKind::Constructor)
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: String,
    pub property: bool,
}

#[derive(Debug, Clone)]
pub struct ApexClass {
    /// `Outer` or `Outer.Inner`.
    pub name: String,
    pub interface: bool,
    pub file: String,
    pub at: At,
    pub sharing: Sharing,
    pub rest_resource: bool,
    /// Tenths: 66.0 -> 660. `None` when the `-meta.xml` is missing or unreadable.
    pub api_version: Option<u32>,
    /// `extends` (for an interface: every interface it extends) and `implements`.
    pub supertypes: Vec<String>,
    pub fields: Vec<Field>,
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

    pub fn version(&self) -> String {
        self.api_version.map(|v| format!("{}.{}", v / 10, v % 10)).unwrap_or_else(|| "unknown: no -meta.xml".into())
    }
}

pub fn file_stem(path: &str) -> String {
    std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or(path).to_string()
}

/// `List<Case>` -> `List`, `Repo[]` -> `Repo`, ` Outer.Inner ` -> `Outer.Inner`.
pub fn base_type(t: &str) -> &str {
    let t = t.trim();
    let end = t.find(['<', '[']).unwrap_or(t.len());
    t[..end].trim()
}

/// The element type of a list, set or array type: `List<Repo>` and `Repo[]` -> `Repo`.
pub fn element_type(t: &str) -> Option<String> {
    let t = t.trim();
    if let Some(inner) = t.strip_suffix("[]") {
        return Some(inner.trim().to_string());
    }
    let open = t.find('<')?;
    let inner = t[open + 1..].strip_suffix('>')?;
    // `Map<K, V>`: the values are what a loop over `values()` yields; lists and sets have one.
    Some(inner.rsplit(',').next().unwrap_or(inner).trim().to_string())
}
