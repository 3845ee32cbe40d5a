//! The Apex API surface that touches records or starts work elsewhere, in one table: every static
//! method of `Database` and `Search`, and the `System` methods that start asynchronous work, each
//! with what it does, whether it takes a `System.AccessLevel`, and the API version the Apex
//! reference gives for it. A `Database`/`Search` method not in the table is reported by the scan,
//! never taken as harmless.

/// What a call does with records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Reads records (a SOQL or SOSL query underneath).
    Read,
    /// Writes records (DML underneath).
    Write,
    /// Starts work that runs later: these methods of the argument at `arg` run.
    Async { arg: usize, runs: &'static [&'static str] },
    /// Neither (savepoints, results of earlier asynchronous DML).
    Other,
}

pub struct Entry {
    /// `Database`, `Search` or `System`.
    pub class: &'static str,
    pub method: &'static str,
    pub uses: Use,
    /// Takes `System.AccessLevel` (user or system mode); without it a read or write runs in the
    /// class's default mode, and one that has no such overload always runs in system mode.
    pub access_level: bool,
    /// The API version the Apex reference gives for the access-level overload (user mode for
    /// database operations went GA in 57.0) or, for a method without one, for the method; `None`
    /// where the reference states none.
    pub since: Option<&'static str>,
}

const BATCH: &[&str] = &["start", "execute", "finish"];
const EXECUTE: &[&str] = &["execute"];

const fn e(
    class: &'static str,
    method: &'static str,
    uses: Use,
    access_level: bool,
    since: Option<&'static str>,
) -> Entry {
    Entry { class, method, uses, access_level, since }
}

use Use::{Other, Read, Write};

pub const SURFACE: &[Entry] = &[
    e("Database", "query", Read, true, Some("57.0")),
    e("Database", "queryWithBinds", Read, true, Some("57.0")),
    e("Database", "countQuery", Read, true, Some("57.0")),
    e("Database", "countQueryWithBinds", Read, true, Some("57.0")),
    e("Database", "getQueryLocator", Read, true, Some("57.0")),
    e("Database", "getQueryLocatorWithBinds", Read, true, Some("57.0")),
    e("Database", "getCursor", Read, true, Some("63.0")),
    e("Database", "getCursorWithBinds", Read, true, Some("63.0")),
    e("Database", "getPaginationCursor", Read, true, Some("66.0")),
    e("Database", "getPaginationCursorWithBinds", Read, true, Some("66.0")),
    e("Database", "getDeleted", Read, false, None),
    e("Database", "getUpdated", Read, false, None),
    e("Database", "insert", Write, true, Some("57.0")),
    e("Database", "update", Write, true, Some("57.0")),
    e("Database", "upsert", Write, true, Some("57.0")),
    e("Database", "delete", Write, true, Some("57.0")),
    e("Database", "undelete", Write, true, Some("57.0")),
    e("Database", "merge", Write, true, Some("57.0")),
    e("Database", "convertLead", Write, true, Some("57.0")),
    e("Database", "emptyRecycleBin", Write, false, None),
    e("Database", "insertImmediate", Write, true, None),
    e("Database", "updateImmediate", Write, true, None),
    e("Database", "deleteImmediate", Write, true, None),
    e("Database", "insertAsync", Write, true, None),
    e("Database", "updateAsync", Write, true, None),
    e("Database", "deleteAsync", Write, true, None),
    e("Database", "executeBatch", Use::Async { arg: 0, runs: BATCH }, false, None),
    e("Database", "setSavepoint", Other, false, None),
    e("Database", "rollback", Other, false, None),
    e("Database", "releaseSavepoint", Other, false, Some("60.0")),
    e("Database", "getAsyncDeleteResult", Other, false, None),
    e("Database", "getAsyncSaveResult", Other, false, None),
    e("Database", "getAsyncLocator", Other, false, None),
    e("Search", "query", Read, true, Some("57.0")),
    e("Search", "find", Read, true, None),
    e("Search", "suggest", Read, true, None),
    e("System", "enqueueJob", Use::Async { arg: 0, runs: EXECUTE }, false, None),
    e("System", "schedule", Use::Async { arg: 2, runs: EXECUTE }, false, None),
    e("System", "scheduleBatch", Use::Async { arg: 0, runs: BATCH }, false, None),
    e("System", "attachFinalizer", Use::Async { arg: 0, runs: EXECUTE }, false, None),
];

/// The entry for `Class.method` (the class as written, with or without `System.`).
pub fn lookup(class: &str, method: &str) -> Option<&'static Entry> {
    let class = class.strip_prefix("System.").unwrap_or(class);
    SURFACE.iter().find(|x| x.class.eq_ignore_ascii_case(class) && x.method.eq_ignore_ascii_case(method))
}

/// A class whose every static method must be in the table (an unknown one is reported).
pub fn is_record_api(class: &str) -> bool {
    let class = class.strip_prefix("System.").unwrap_or(class);
    class.eq_ignore_ascii_case("Database") || class.eq_ignore_ascii_case("Search")
}
