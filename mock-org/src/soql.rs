//! A parser for the SOQL subset the mock answers:
//! `SELECT fields|COUNT() FROM Type [WHERE cond] [WITH USER_MODE|SYSTEM_MODE|SECURITY_ENFORCED]
//!  [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`, where a condition uses
//! =, !=, <>, <, <=, >, >=, LIKE, [NOT] IN (...), AND, OR, NOT and parentheses.
//! Errors carry the column of the offending token, as Salesforce's MALFORMED_QUERY does.

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    /// 1-based column in the query text.
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    Fields(Vec<Ident>),
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    UserMode,
    SystemMode,
    SecurityEnforced,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Cmp { field: Ident, op: CmpOp, value: Literal },
    In { field: Ident, negated: bool, values: Vec<Literal> },
}

impl Cond {
    /// Every field the condition names, for field-level security checks.
    pub fn fields(&self) -> Vec<&Ident> {
        match self {
            Cond::And(a, b) | Cond::Or(a, b) => {
                let mut v = a.fields();
                v.extend(b.fields());
                v
            }
            Cond::Not(c) => c.fields(),
            Cond::Cmp { field, .. } | Cond::In { field, .. } => vec![field],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub field: Ident,
    pub descending: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Select,
    pub object: Ident,
    pub filter: Option<Cond>,
    pub security: Option<Security>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl ParseError {
    /// The message Salesforce puts in a MALFORMED_QUERY error: the query, a caret, the position.
    pub fn render(&self, query: &str) -> String {
        let caret = " ".repeat(self.column.saturating_sub(1));
        format!("\n{query}\n{caret}^\nERROR at Row:1:Column:{}\n{}", self.column, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Sym(&'static str),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    column: usize,
    text: String,
}

const MAX_QUERY_CHARS: usize = 100_000;
const MAX_NESTING: usize = 64;

fn lex(q: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = q.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(ParseError {
            column: 1,
            message: format!("query exceeds the maximum length of {MAX_QUERY_CHARS} characters"),
        });
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token { tok: Tok::Word(text.clone()), column, text });
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse::<f64>()
                .map_err(|_| ParseError { column, message: format!("unexpected token: '{text}'") })?;
            out.push(Token { tok: Tok::Num(n), column, text });
            continue;
        }
        if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(ParseError { column, message: "unterminated string literal".into() });
                    }
                    Some('\\') => {
                        let esc = chars
                            .get(i + 1)
                            .ok_or(ParseError { column, message: "unterminated string literal".into() })?;
                        s.push(match esc {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => *other,
                        });
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Token { tok: Tok::Str(s), column, text: "'...'".into() });
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let sym = match two.as_str() {
            "!=" => Some("!="),
            "<>" => Some("<>"),
            "<=" => Some("<="),
            ">=" => Some(">="),
            _ => None,
        };
        if let Some(s) = sym {
            out.push(Token { tok: Tok::Sym(s), column, text: s.into() });
            i += 2;
            continue;
        }
        let one = match c {
            '=' => "=",
            '<' => "<",
            '>' => ">",
            '(' => "(",
            ')' => ")",
            ',' => ",",
            _ => {
                return Err(ParseError { column, message: format!("unexpected token: '{c}'") });
            }
        };
        out.push(Token { tok: Tok::Sym(one), column, text: one.into() });
        i += 1;
    }
    out.push(Token { tok: Tok::End, column: chars.len() + 1, text: "<EOF>".into() });
    Ok(out)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "WITH", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT", "IN", "LIKE", "ASC",
    "DESC", "NULLS", "NULL", "TRUE", "FALSE",
];

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self) -> ParseError {
        let t = self.peek();
        ParseError { column: t.column, message: format!("unexpected token: '{}'", t.text) }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), ParseError> {
        if self.eat_kw(kw) { Ok(()) } else { Err(self.unexpected()) }
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(&self.peek().tok, Tok::Sym(x) if *x == s) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat_sym(s) { Ok(()) } else { Err(self.unexpected()) }
    }

    fn ident(&mut self) -> Result<Ident, ParseError> {
        match &self.peek().tok {
            Tok::Word(w) if !RESERVED.iter().any(|k| k.eq_ignore_ascii_case(w)) => {
                let t = self.next();
                Ok(Ident { name: t.text, column: t.column })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn number(&mut self) -> Result<u64, ParseError> {
        match self.peek().tok {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 && n <= 1e15 => {
                self.next();
                Ok(n as u64)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, ParseError> {
        self.expect_kw("SELECT")?;
        let select = if self.is_kw("COUNT") {
            self.next();
            self.expect_sym("(")?;
            self.expect_sym(")")?;
            Select::Count
        } else {
            let mut fields = vec![self.ident()?];
            while self.eat_sym(",") {
                fields.push(self.ident()?);
            }
            Select::Fields(fields)
        };
        self.expect_kw("FROM")?;
        let object = self.ident()?;
        let filter = if self.eat_kw("WHERE") { Some(self.or()?) } else { None };
        let security = if self.eat_kw("WITH") {
            let t = self.peek().clone();
            let s = match &t.tok {
                Tok::Word(w) if w.eq_ignore_ascii_case("USER_MODE") => Security::UserMode,
                Tok::Word(w) if w.eq_ignore_ascii_case("SYSTEM_MODE") => Security::SystemMode,
                Tok::Word(w) if w.eq_ignore_ascii_case("SECURITY_ENFORCED") => Security::SecurityEnforced,
                _ => return Err(self.unexpected()),
            };
            self.next();
            Some(s)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let field = self.ident()?;
                let descending = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                // Salesforce's defaults: nulls first when ascending, last when descending.
                let mut nulls_last = descending;
                if self.eat_kw("NULLS") {
                    if self.eat_kw("FIRST") {
                        nulls_last = false;
                    } else {
                        self.expect_kw("LAST")?;
                        nulls_last = true;
                    }
                }
                order_by.push(OrderItem { field, descending, nulls_last });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let limit = if self.eat_kw("LIMIT") { Some(self.number()?) } else { None };
        let offset = if self.eat_kw("OFFSET") { Some(self.number()?) } else { None };
        if self.peek().tok != Tok::End {
            return Err(self.unexpected());
        }
        Ok(Query { select, object, filter, security, order_by, limit, offset })
    }

    fn nest(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(ParseError { column: self.peek().column, message: "conditions nested too deeply".into() });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Cond, ParseError> {
        self.nest()?;
        let mut left = self.and()?;
        while self.eat_kw("OR") {
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, ParseError> {
        let mut left = self.unary()?;
        while self.eat_kw("AND") {
            left = Cond::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Cond, ParseError> {
        if self.eat_kw("NOT") {
            self.nest()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        if self.eat_sym("(") {
            let c = self.or()?;
            self.expect_sym(")")?;
            return Ok(c);
        }
        let field = self.ident()?;
        if self.is_kw("NOT") || self.is_kw("IN") {
            let negated = self.eat_kw("NOT");
            self.expect_kw("IN")?;
            self.expect_sym("(")?;
            let mut values = vec![self.literal()?];
            while self.eat_sym(",") {
                values.push(self.literal()?);
            }
            self.expect_sym(")")?;
            return Ok(Cond::In { field, negated, values });
        }
        let op = if self.eat_kw("LIKE") {
            CmpOp::Like
        } else {
            let op = match &self.peek().tok {
                Tok::Sym("=") => CmpOp::Eq,
                Tok::Sym("!=") | Tok::Sym("<>") => CmpOp::Ne,
                Tok::Sym("<") => CmpOp::Lt,
                Tok::Sym("<=") => CmpOp::Le,
                Tok::Sym(">") => CmpOp::Gt,
                Tok::Sym(">=") => CmpOp::Ge,
                _ => return Err(self.unexpected()),
            };
            self.next();
            op
        };
        let value = self.literal()?;
        if op == CmpOp::Like && !matches!(value, Literal::Str(_)) {
            return Err(ParseError { column: field.column, message: "LIKE takes a string pattern".into() });
        }
        Ok(Cond::Cmp { field, op, value })
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        let t = self.peek().clone();
        let lit = match &t.tok {
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Num(n) => Literal::Num(*n),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            _ => return Err(self.unexpected()),
        };
        self.next();
        Ok(lit)
    }
}

pub fn parse(q: &str) -> Result<Query, ParseError> {
    Parser { toks: lex(q)?, pos: 0, depth: 0 }.query()
}

/// SOQL LIKE: `%` any run, `_` one character, case-insensitive.
pub fn like(value: &str, pattern: &str) -> bool {
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    // Iterative wildcard match with backtracking to the last '%': linear-ish, no recursion.
    let (mut vi, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == v[vi]) {
            vi += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_supported_subset() {
        let q = parse("select Id, Name from Account where (Industry = 'Tech' or Name like 'Ac%') and not Phone != null and Id in ('001', '002') with USER_MODE order by Name desc nulls first, Id limit 5 offset 1").unwrap();
        assert_eq!(q.object.name, "Account");
        assert_eq!(q.security, Some(Security::UserMode));
        assert_eq!(q.limit, Some(5));
        assert_eq!(q.offset, Some(1));
        assert_eq!(q.order_by.len(), 2);
        assert!(q.order_by[0].descending && !q.order_by[0].nulls_last);
        assert_eq!(q.filter.unwrap().fields().len(), 4);
        assert_eq!(parse("SELECT COUNT() FROM Case").unwrap().select, Select::Count);
    }

    #[test]
    fn errors_name_the_column() {
        let e = parse("SELECT Name FRM Account").unwrap_err();
        assert_eq!(e.column, 13);
        assert_eq!(e.message, "unexpected token: 'FRM'");
        assert!(e.render("SELECT Name FRM Account").contains("ERROR at Row:1:Column:13"));
        assert_eq!(
            parse("SELECT Name FROM Account WHERE Name = 'x").unwrap_err().message,
            "unterminated string literal"
        );
        assert_eq!(parse("SELECT FROM Account").unwrap_err().column, 8);
        assert_eq!(parse("SELECT Id FROM Account LIMIT -1").unwrap_err().column, 30);
        assert!(parse("SELECT Id FROM Account WHERE Name LIKE 5").is_err());
        assert!(parse("SELECT Id FROM Account extra").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let q = format!("SELECT Id FROM Account WHERE {}Name = 'x'{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(parse(&q).unwrap_err().message, "conditions nested too deeply");
        let q = format!("SELECT Id FROM Account WHERE {}Name = 'x'", "NOT ".repeat(10_000));
        assert!(parse(&q).is_err());
    }

    #[test]
    fn like_matches_wildcards() {
        assert!(like("Acme Corp", "ac%"));
        assert!(like("Acme", "A_me"));
        assert!(like("Acme", "%"));
        assert!(!like("Acme", "A_e"));
        assert!(like("a%b", "a%b"));
        assert!(!like("Acme", "%x%"));
    }
}
