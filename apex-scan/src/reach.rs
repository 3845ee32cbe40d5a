//! Which code runs when a tool's entry method runs, and in which sharing context.
//!
//! How one piece of code reaches another (each edge of the call graph):
//! - A call `m(...)`, `this.m(...)`: the method in the class or its ancestors, and every override
//!   in a subclass (the object may be one). `super.m(...)`: the ancestor's method only.
//! - A call on a receiver (`repo.find()`, `this.repo.find()`, `Repo.find()`, `make().find()`,
//!   `items[0].find()`): the receiver's declared type (local, parameter, field, property, return
//!   type, cast, `new`), then the method there or in its ancestors, and every override in every
//!   subtype. An interface's method resolves to every implementation in the tree.
//! - A receiver whose type is not known statically: every method of that name in the tree (said on
//!   the path). A call on a type outside the tree (the platform's) reaches nothing of the tree.
//! - `new T(...)`: T's constructors, its instance initializers (field initializers and `{ }`
//!   blocks) and those of its ancestors; and T's static initializers.
//! - A property read or write (`obj.Total`, `Total`): its getter or setter, when it has a body.
//! - First use of a class (a static call, a static field, `new`): its static initializers (static
//!   field initializers and `static { }` blocks).
//! - Work started for later: `Database.executeBatch(job)` and `System.scheduleBatch` run the job's
//!   `start`, `execute` and `finish`; `System.enqueueJob`, `System.schedule` and
//!   `System.attachFinalizer` run its `execute`. Each runs as a new entry point (its own sharing).
//! - `Type.forName(name)` with a name not known statically: any class could run; reported as an
//!   unresolved call, never taken as clean.
//!
//! Sharing, from the Apex Developer Guide: a method runs with the sharing of the class that
//! declares it. `with`/`without sharing` are their own; `inherited sharing` takes the caller's and
//! is `with sharing` as an entry point (also for asynchronous work); no keyword takes the caller's
//! before API 67.0 and is, as an entry point, `with sharing` for `@AuraEnabled` methods and
//! `without sharing` for every other entry. From API 67.0 no keyword means `with sharing`, or the
//! parent's keyword for a class that extends one.

use crate::model::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// The sharing a method runs with, and where a `without` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ctx {
    With,
    /// Without sharing, because of this class: declared `without sharing` (`omitted: false`) or an
    /// entry-point class with no keyword before API 67.0.
    Without {
        origin: usize,
        omitted: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub to: (usize, usize),
    pub at: At,
    pub note: String,
    /// Runs later as its own entry point.
    pub fresh: bool,
}

/// What the call graph could not follow: reported on the path to it.
#[derive(Debug, Clone)]
pub struct Unresolved {
    pub at: At,
    pub what: String,
}

/// The tree's classes with names, subtypes and every method's outgoing edges resolved.
pub struct Graph<'a> {
    pub classes: &'a [ApexClass],
    by_name: HashMap<String, usize>,
    by_method: HashMap<String, Vec<(usize, usize)>>,
    subtypes: Vec<Vec<usize>>,
    /// Classes the tree makes instances of (`new`, `Type.forName('T')`, `T.class`); `None` when a
    /// class is chosen at run time somewhere, so any class may be.
    instantiated: Option<BTreeSet<usize>>,
    pub edges: Vec<Vec<Vec<Edge>>>,
    pub unresolved: Vec<Vec<Vec<Unresolved>>>,
}

enum Ty {
    Named(String, usize),
    Static(usize),
    This(usize),
    Super(usize),
    Library,
    Unknown,
}

impl<'a> Graph<'a> {
    pub fn new(classes: &'a [ApexClass]) -> Graph<'a> {
        let by_name: HashMap<String, usize> =
            classes.iter().enumerate().map(|(i, c)| (c.name.to_ascii_lowercase(), i)).collect();
        let mut by_method: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (ci, c) in classes.iter().enumerate() {
            for (mi, m) in c.methods.iter().enumerate().filter(|(_, m)| m.kind == MethodKind::Method) {
                by_method.entry(m.name.to_ascii_lowercase()).or_default().push((ci, mi));
            }
        }
        let mut g = Graph {
            classes,
            by_name,
            by_method,
            subtypes: vec![Vec::new(); classes.len()],
            instantiated: None,
            edges: Vec::new(),
            unresolved: Vec::new(),
        };
        for (ci, c) in classes.iter().enumerate() {
            for s in &c.supertypes {
                if let Some(p) = g.class_named(s, ci)
                    && p != ci
                {
                    g.subtypes[p].push(ci);
                }
            }
        }
        g.instantiated = g.instances();
        let (edges, unresolved): (Vec<_>, Vec<_>) = (0..classes.len())
            .map(|ci| {
                let per: Vec<(Vec<Edge>, Vec<Unresolved>)> =
                    (0..classes[ci].methods.len()).map(|mi| g.method_edges(ci, mi)).collect();
                per.into_iter().unzip::<_, _, Vec<_>, Vec<_>>()
            })
            .unzip();
        g.edges = edges;
        g.unresolved = unresolved;
        g
    }

    fn instances(&self) -> Option<BTreeSet<usize>> {
        let mut out = BTreeSet::new();
        for (ci, c) in self.classes.iter().enumerate() {
            for m in &c.methods {
                for call in &m.calls {
                    match (&call.kind, &call.receiver) {
                        (CallKind::Dynamic, _) => return None,
                        (CallKind::New, Some(Expr::Typed(t))) => out.extend(self.class_named(t, ci)),
                        _ => {}
                    }
                }
                out.extend(m.instantiates.iter().filter_map(|t| self.class_named(t, ci)));
            }
        }
        Some(out)
    }

    /// A type name seen from class `from`: an inner class of its outer class first, then the name.
    pub fn class_named(&self, name: &str, from: usize) -> Option<usize> {
        let t = base_type(name).trim_start_matches("System.").to_ascii_lowercase();
        let outer = self.classes[from].outer_name().to_ascii_lowercase();
        self.by_name.get(&format!("{outer}.{t}")).or_else(|| self.by_name.get(&t)).copied()
    }

    /// The class, then its supertypes breadth-first (each once).
    fn ancestors(&self, c: usize) -> Vec<usize> {
        let mut out = vec![c];
        let mut i = 0;
        while i < out.len() {
            for s in &self.classes[out[i]].supertypes {
                if let Some(p) = self.class_named(s, out[i])
                    && !out.contains(&p)
                {
                    out.push(p);
                }
            }
            i += 1;
        }
        out
    }

    fn all_subtypes(&self, c: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut queue = VecDeque::from([c]);
        while let Some(x) = queue.pop_front() {
            for &s in &self.subtypes[x] {
                if s != c && !out.contains(&s) {
                    out.push(s);
                    queue.push_back(s);
                }
            }
        }
        out
    }

    /// A field or property by name in the class, its ancestors, or its outer class.
    fn field(&self, c: usize, name: &str) -> Option<(usize, &'a Field)> {
        let mut owners = self.ancestors(c);
        if let Some(o) = self.by_name.get(&self.classes[c].outer_name().to_ascii_lowercase()) {
            owners.push(*o);
        }
        owners
            .into_iter()
            .find_map(|o| self.classes[o].fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| (o, f)))
    }

    fn methods_where(&self, c: usize, pred: impl Fn(&Method) -> bool) -> Vec<(usize, usize)> {
        self.classes[c].methods.iter().enumerate().filter(|(_, m)| pred(m)).map(|(i, _)| (c, i)).collect()
    }

    /// Methods named `name` taking these arguments in one class: by number, then by the declared
    /// types known at the call (an overload whose parameter type differs is left out); any arity
    /// when none has this one.
    fn named_in(&self, c: usize, name: &str, args: &[Option<String>]) -> Vec<(usize, usize)> {
        let by_name = self.methods_where(c, |m| m.kind == MethodKind::Method && m.name.eq_ignore_ascii_case(name));
        let method = |(ci, mi): &(usize, usize)| &self.classes[*ci].methods[*mi];
        let exact: Vec<_> = by_name.iter().copied().filter(|x| method(x).params == args.len()).collect();
        if exact.is_empty() {
            return by_name;
        }
        let typed: Vec<_> = exact
            .iter()
            .copied()
            .filter(|x| {
                method(x).param_types.iter().zip(args).all(|(p, a)| a.as_ref().is_none_or(|a| self.fits(a, p, c)))
            })
            .collect();
        if typed.is_empty() { exact } else { typed }
    }

    /// Whether an argument of declared type `arg` can be passed as `param`.
    fn fits(&self, arg: &str, param: &str, from: usize) -> bool {
        let (a, p) = (base_type(arg).to_ascii_lowercase(), base_type(param).to_ascii_lowercase());
        if a == p || matches!(p.as_str(), "object" | "sobject") {
            return true;
        }
        match (self.class_named(arg, from), self.class_named(param, from)) {
            (Some(x), Some(y)) => self.ancestors(x).contains(&y),
            // Platform types: equal names only (`Id` is no `Set<Id>`); an SObject type fits SObject.
            _ => false,
        }
    }

    /// The definition a call on an instance of class `c` runs: the nearest in `c` or its
    /// superclasses (an interface's declaration never runs).
    fn nearest(&self, c: usize, name: &str, args: &[Option<String>]) -> Vec<(usize, usize)> {
        self.ancestors(c)
            .into_iter()
            .filter(|a| !self.classes[*a].interface)
            .map(|a| self.named_in(a, name, args))
            .find(|v| !v.is_empty())
            .unwrap_or_default()
    }

    /// The method a call on type `c` runs. Not `virtual_` (static, `super.`): the nearest
    /// definition. Virtual: for every class the object can be (c and its subtypes the tree makes
    /// instances of), the definition nearest to it; where none is known to be made, the nearest
    /// definition and every override in a subtype.
    fn dispatch(&self, c: usize, name: &str, args: &[Option<String>], virtual_: bool) -> Vec<(usize, usize)> {
        let mut out = self.nearest(c, name, args);
        if virtual_ {
            let subtypes = self.all_subtypes(c);
            let runtime: Vec<usize> = std::iter::once(c)
                .chain(subtypes.iter().copied())
                .filter(|x| self.instantiated.as_ref().is_some_and(|made| made.contains(x)))
                .collect();
            if runtime.is_empty() {
                for s in subtypes {
                    out.extend(self.named_in(s, name, args));
                }
            } else {
                out = runtime.into_iter().flat_map(|r| self.nearest(r, name, args)).collect();
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn accessor(&self, c: usize, name: &str, write: bool) -> Vec<(usize, usize)> {
        let kind = if write { MethodKind::Setter } else { MethodKind::Getter };
        self.methods_where(c, |m| m.kind == kind && m.name.eq_ignore_ascii_case(name))
    }

    fn static_init(&self, c: usize) -> Vec<(usize, usize)> {
        self.methods_where(c, |m| m.kind == MethodKind::StaticInit)
    }

    /// The code `new T(...)` runs: T's static and instance initializers and constructors, and
    /// its ancestors' (their constructors run through `super(...)` or implicitly).
    fn construction(&self, c: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for a in self.ancestors(c) {
            if self.classes[a].interface {
                continue;
            }
            out.extend(self.static_init(a));
            out.extend(self.methods_where(a, |m| m.kind == MethodKind::InstanceInit));
            // Every constructor: one may call another through `this(...)` or `super(...)`.
            out.extend(self.methods_where(a, |m| m.kind == MethodKind::Constructor));
        }
        out
    }

    fn label(&self, (c, m): (usize, usize)) -> String {
        let method = &self.classes[c].methods[m];
        match method.kind {
            MethodKind::Getter => format!("{}.{} (getter)", self.classes[c].name, method.name),
            MethodKind::Setter => format!("{}.{} (setter)", self.classes[c].name, method.name),
            _ => format!("{}.{}", self.classes[c].name, method.name),
        }
    }

    /// The type of an expression seen from class `ctx`; property reads and class uses on the way
    /// are added to `side` as edges.
    fn type_of(&self, e: &Expr, ctx: usize, at: At, side: &mut Vec<Edge>) -> Ty {
        match e {
            Expr::Typed(t) => Ty::Named(t.clone(), ctx),
            Expr::This => Ty::This(ctx),
            Expr::Super => self.ancestors(ctx).get(1).map(|s| Ty::Super(*s)).unwrap_or(Ty::Library),
            Expr::Name(n) => {
                if let Some((owner, f)) = self.field(ctx, n) {
                    if f.property {
                        self.add(side, self.accessor(owner, n, false), at, |l| format!("reads property {l}"));
                    }
                    return Ty::Named(f.ty.clone(), owner);
                }
                match self.class_named(n, ctx) {
                    Some(c) => {
                        self.add(side, self.static_init(c), at, |_| {
                            format!("first use of {} runs its static initializer", self.classes[c].name)
                        });
                        Ty::Static(c)
                    }
                    None => Ty::Library,
                }
            }
            Expr::Field(recv, name) => {
                // `Outer.Inner` written as a field access names a class.
                if let Expr::Name(o) = recv.as_ref()
                    && let Some(c) = self.class_named(&format!("{o}.{name}"), ctx)
                {
                    return Ty::Static(c);
                }
                match self.class_of(&self.type_of(recv, ctx, at, side)) {
                    Some(c) => match self.field(c, name) {
                        Some((owner, f)) => {
                            if f.property {
                                self.add(side, self.accessor(owner, name, false), at, |l| {
                                    format!("reads property {l}")
                                });
                            }
                            Ty::Named(f.ty.clone(), owner)
                        }
                        None => Ty::Unknown,
                    },
                    None => Ty::Library,
                }
            }
            Expr::Index(inner) => match self.type_of(inner, ctx, at, side) {
                Ty::Named(t, from) => element_type(&t).map(|el| Ty::Named(el, from)).unwrap_or(Ty::Library),
                Ty::Unknown => Ty::Unknown,
                _ => Ty::Library,
            },
            Expr::Call(recv, name, args) => {
                // A platform collection hands back its elements: `map.get(k)`, `list.get(i)`,
                // `map.values()` are typed by the collection's declared element type.
                if let Some(r) = recv.as_deref() {
                    let side_len = side.len();
                    if let Ty::Named(t, from) = self.type_of(r, ctx, at, side)
                        && self.class_named(&t, from).is_none()
                        && let Some(el) = element_type(&t)
                    {
                        match name.to_ascii_lowercase().as_str() {
                            "get" | "remove" => return Ty::Named(el, from),
                            "values" => return Ty::Named(format!("List<{el}>"), from),
                            _ => {}
                        }
                    }
                    // Resolved again below: keep its side effects once.
                    side.truncate(side_len);
                }
                let targets = self.call_targets(recv.as_deref(), name, &vec![None; *args], ctx, at, side);
                match targets {
                    Some(t) if !t.is_empty() => {
                        let (c, m) = t[0];
                        match &self.classes[c].methods[m].return_type {
                            Some(rt) => Ty::Named(rt.clone(), c),
                            None => Ty::Library,
                        }
                    }
                    Some(_) => Ty::Library,
                    None => Ty::Unknown,
                }
            }
            Expr::Unknown => Ty::Unknown,
        }
    }

    fn class_of(&self, t: &Ty) -> Option<usize> {
        match t {
            Ty::Named(n, from) => self.class_named(n, *from),
            Ty::Static(c) | Ty::This(c) | Ty::Super(c) => Some(*c),
            _ => None,
        }
    }

    /// The methods a call runs: `Some(vec![])` for a call outside the tree, `None` when the
    /// receiver's type is not known.
    fn call_targets(
        &self,
        recv: Option<&Expr>,
        name: &str,
        args: &[Option<String>],
        ctx: usize,
        at: At,
        side: &mut Vec<Edge>,
    ) -> Option<Vec<(usize, usize)>> {
        let Some(recv) = recv else {
            // Same class (or an ancestor, or an override); or a static method of the outer class.
            let mut t = self.dispatch(ctx, name, args, true);
            if t.is_empty()
                && let Some(o) = self.by_name.get(&self.classes[ctx].outer_name().to_ascii_lowercase())
            {
                t = self.dispatch(*o, name, args, false);
            }
            return Some(t);
        };
        let ty = self.type_of(recv, ctx, at, side);
        match ty {
            Ty::Unknown => None,
            Ty::Library => Some(Vec::new()),
            Ty::Super(c) => Some(self.dispatch(c, name, args, false)),
            Ty::Static(c) => Some(self.dispatch(c, name, args, false)),
            ref t => Some(self.class_of(t).map(|c| self.dispatch(c, name, args, true)).unwrap_or_default()),
        }
    }

    fn add(&self, side: &mut Vec<Edge>, to: Vec<(usize, usize)>, at: At, note: impl Fn(String) -> String) {
        for t in to {
            side.push(Edge { to: t, at, note: note(self.label(t)), fresh: false });
        }
    }

    fn method_edges(&self, ci: usize, mi: usize) -> (Vec<Edge>, Vec<Unresolved>) {
        let m = &self.classes[ci].methods[mi];
        let mut out = Vec::new();
        let mut unresolved = Vec::new();
        for call in &m.calls {
            match &call.kind {
                CallKind::Call => {
                    match self.call_targets(
                        call.receiver.as_ref(),
                        &call.method,
                        &call.arg_types,
                        ci,
                        call.at,
                        &mut out,
                    ) {
                        Some(t) => self.add(&mut out, t, call.at, |l| format!("calls {l}")),
                        None => {
                            let all: Vec<(usize, usize)> =
                                self.by_method.get(&call.method.to_ascii_lowercase()).cloned().unwrap_or_default();
                            let name = call.method.clone();
                            self.add(&mut out, all, call.at, |l| {
                            format!("calls {l} (the receiver's type is not known statically: every `{name}` is followed)")
                        });
                        }
                    }
                }
                CallKind::New => {
                    let Some(Expr::Typed(t)) = &call.receiver else { continue };
                    if let Some(c) = self.class_named(t, ci) {
                        self.add(&mut out, self.construction(c), call.at, |l| {
                            format!("new {} runs {l}", self.classes[c].name)
                        });
                    }
                }
                CallKind::Async(started, runs) => {
                    let mut side = Vec::new();
                    let ty =
                        call.receiver.as_ref().map(|r| self.type_of(r, ci, call.at, &mut side)).unwrap_or(Ty::Unknown);
                    out.extend(side);
                    match self.class_of(&ty) {
                        Some(c) => {
                            for r in *runs {
                                for t in self.dispatch(c, r, &[None], true) {
                                    out.push(Edge {
                                        to: t,
                                        at: call.at,
                                        note: format!("{started} runs {} later, as its own entry point", self.label(t)),
                                        fresh: true,
                                    });
                                }
                            }
                        }
                        None if matches!(ty, Ty::Unknown) => unresolved.push(Unresolved {
                            at: call.at,
                            what: format!("{started}: the job's class is not known statically"),
                        }),
                        None => {}
                    }
                }
                CallKind::Dynamic => unresolved.push(Unresolved {
                    at: call.at,
                    what: "Type.forName with a class name not known statically: any class's code could run".into(),
                }),
            }
        }
        for r in &m.refs {
            if r.write {
                // A write runs the setter of the property written, and resolves what is before it.
                let (owner_ty, name) = match &r.target {
                    Expr::Name(n) => (Ty::This(ci), n.clone()),
                    Expr::Field(recv, n) => (self.type_of(recv, ci, r.at, &mut out), n.clone()),
                    _ => continue,
                };
                if let Some(c) = self.class_of(&owner_ty)
                    && let Some((owner, f)) = self.field(c, &name)
                    && f.property
                {
                    self.add(&mut out, self.accessor(owner, &name, true), r.at, |l| format!("writes property {l}"));
                }
            } else {
                self.type_of(&r.target, ci, r.at, &mut out);
            }
        }
        (out, unresolved)
    }

    /// How a class's own keyword sets sharing when it is called from `caller`.
    fn called(&self, c: usize, caller: Ctx) -> Ctx {
        let class = &self.classes[c];
        match class.sharing {
            Sharing::With => Ctx::With,
            Sharing::Without => Ctx::Without { origin: c, omitted: false },
            Sharing::Inherited => caller,
            Sharing::Omitted if class.user_mode_by_default() => self.parent_keyword(c).unwrap_or(Ctx::With),
            Sharing::Omitted => caller,
        }
    }

    /// From API 67.0 a class with no keyword that extends one takes the parent's keyword.
    /// Walked up the chain once per class: a cycle (`A extends B`, `B extends A`; not valid Apex,
    /// but input) ends the walk instead of the stack.
    fn parent_keyword(&self, c: usize) -> Option<Ctx> {
        let mut seen = vec![c];
        let mut cur = c;
        loop {
            let parent = self.classes[cur].supertypes.iter().find_map(|s| self.class_named(s, cur))?;
            if seen.contains(&parent) {
                return None;
            }
            seen.push(parent);
            match self.classes[parent].sharing {
                Sharing::Without => return Some(Ctx::Without { origin: parent, omitted: false }),
                Sharing::Omitted => cur = parent,
                _ => return Some(Ctx::With),
            }
        }
    }

    /// The sharing an entry point starts with.
    pub fn entry(&self, (c, m): (usize, usize)) -> Ctx {
        let class = &self.classes[c];
        match class.sharing {
            Sharing::With | Sharing::Inherited => Ctx::With,
            Sharing::Without => Ctx::Without { origin: c, omitted: false },
            Sharing::Omitted if class.user_mode_by_default() => self.parent_keyword(c).unwrap_or(Ctx::With),
            Sharing::Omitted => {
                let aura = class.methods[m].annotations.iter().any(|a| a == "auraenabled");
                if aura { Ctx::With } else { Ctx::Without { origin: c, omitted: true } }
            }
        }
    }
}

/// One state of a walk: a method running with a sharing context.
pub type State = (usize, usize, Ctx);

/// Everything one entry point reaches, with the edge each state was first reached by.
pub struct Walk {
    pub order: Vec<State>,
    pub parent: BTreeMap<State, (State, usize)>,
}

pub fn walk(g: &Graph, entry: (usize, usize)) -> Walk {
    let start = (entry.0, entry.1, g.entry(entry));
    let mut seen = BTreeSet::from([start]);
    let mut parent = BTreeMap::new();
    let mut order = Vec::new();
    let mut queue = VecDeque::from([start]);
    while let Some(s) = queue.pop_front() {
        order.push(s);
        let (c, m, ctx) = s;
        for (i, e) in g.edges[c][m].iter().enumerate() {
            let next_ctx = if e.fresh { g.entry(e.to) } else { g.called(e.to.0, ctx) };
            let next = (e.to.0, e.to.1, next_ctx);
            if seen.insert(next) {
                parent.insert(next, (s, i));
                queue.push_back(next);
            }
        }
    }
    Walk { order, parent }
}
