//! `cargo xtask schema`: checks that `migrations/postgres` is
//! `migrations/sqlite` written in PostgreSQL's dialect, and nothing more. The
//! gateway runs the same SQL text on both backends (ARCHITECTURE.md, "Storage"),
//! so the two schemas must not drift; the test at the bottom runs this check in
//! `cargo test`, so a migration changed on one side only fails the suite.
//!
//! Both directories must hold the same file names. Each pair of files is
//! compared statement by statement after normalising what does not change the
//! schema, and the documented dialect differences:
//!
//! - comments (`--` to the end of the line, `/* … */`) are dropped: each file's
//!   header names the *other* directory, and prose is not schema;
//! - whitespace and line breaks only separate tokens (alignment differs);
//! - unquoted words are compared upper-cased: keywords and unquoted
//!   identifiers are case-insensitive in both databases;
//! - the column types of [`TYPE_PAIRS`]: SQLite's `INTEGER` and PostgreSQL's
//!   `BIGINT` (both a 64-bit signed integer; the gateway stores times, counters
//!   and sequence numbers in them), SQLite's `BLOB` and PostgreSQL's `BYTEA`.
//!   The mapping goes one way per dialect: a PostgreSQL `INTEGER` (32 bits) or
//!   a SQLite `BIGINT` (not a rowid alias as a primary key) is drift.
//!
//! String literals and quoted identifiers are compared exactly.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// (SQLite type, PostgreSQL type) of the same column, as the migrations write
/// them. Anything else must be written the same in both dialects.
pub const TYPE_PAIRS: [(&str, &str); 2] = [("INTEGER", "BIGINT"), ("BLOB", "BYTEA")];

/// Which side of the pair a file is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// `cargo xtask schema`: the check on the workspace's migrations.
pub fn run(ws: &Path) -> Result<()> {
    let n = check_dirs(&ws.join("migrations/sqlite"), &ws.join("migrations/postgres"))?;
    println!(
        "migrations/sqlite and migrations/postgres agree: {n} files (types normalised: INTEGER=BIGINT, BLOB=BYTEA)"
    );
    Ok(())
}

/// Compares every migration of the two directories; returns how many files.
pub fn check_dirs(sqlite: &Path, postgres: &Path) -> Result<usize> {
    let a = file_names(sqlite)?;
    let b = file_names(postgres)?;
    if a != b {
        let only_a: Vec<_> = a.difference(&b).collect();
        let only_b: Vec<_> = b.difference(&a).collect();
        bail!(
            "the migration directories hold different files: only in {}: {only_a:?}; only in {}: {only_b:?}",
            sqlite.display(),
            postgres.display()
        );
    }
    let mut problems = Vec::new();
    for name in &a {
        let read = |dir: &Path| {
            std::fs::read_to_string(dir.join(name)).with_context(|| format!("read {}", dir.join(name).display()))
        };
        if let Err(e) = compare(&read(sqlite)?, &read(postgres)?) {
            problems.push(format!("{name}: {e}"));
        }
    }
    if !problems.is_empty() {
        bail!(
            "migrations/postgres has drifted from migrations/sqlite (after normalising comments, whitespace, case and the types INTEGER=BIGINT, BLOB=BYTEA):\n{}",
            problems.join("\n")
        );
    }
    Ok(a.len())
}

fn file_names(dir: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        names.insert(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// Compares one migration in both dialects, statement by statement.
pub fn compare(sqlite: &str, postgres: &str) -> Result<()> {
    let a = statements(sqlite, Dialect::Sqlite)?;
    let b = statements(postgres, Dialect::Postgres)?;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            let at = x.iter().zip(y).take_while(|(p, q)| p == q).count();
            bail!(
                "statement {} differs at token {}:\n  sqlite:   {}\n  postgres: {}",
                i + 1,
                at + 1,
                x.join(" "),
                y.join(" ")
            );
        }
    }
    if a.len() != b.len() {
        let (longer, side) = if a.len() > b.len() { (&a, "sqlite") } else { (&b, "postgres") };
        bail!(
            "{} statements in sqlite, {} in postgres; the first extra one ({side}): {}",
            a.len(),
            b.len(),
            longer[a.len().min(b.len())].join(" ")
        );
    }
    Ok(())
}

/// The file's statements (split at `;`), each a list of normalised tokens.
pub fn statements(sql: &str, dialect: Dialect) -> Result<Vec<Vec<String>>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for token in tokens(sql)? {
        if token == ";" {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(normalise_type(token, dialect));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// A type word of the dialect becomes the pair's common name (`<INTEGER=BIGINT>`,
/// which no SQL word can be); every other token is left as it is.
fn normalise_type(token: String, dialect: Dialect) -> String {
    for (sqlite, postgres) in TYPE_PAIRS {
        let own = if dialect == Dialect::Sqlite { sqlite } else { postgres };
        if token == own {
            return format!("<{sqlite}={postgres}>");
        }
    }
    token
}

/// SQL tokens without comments or whitespace: unquoted words upper-cased,
/// string literals and quoted identifiers verbatim, runs of operator
/// characters as one token, other punctuation one character each.
fn tokens(sql: &str) -> Result<Vec<String>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest = |k: usize| chars.get(i + k).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && rest(1) == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && rest(1) == Some('*') {
            let end = (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == '*' && chars[j + 1] == '/');
            i = end.context("a /* comment is not closed")? + 2;
        } else if c == '\'' || c == '"' {
            // A quoted literal or identifier; the quote doubled stands for itself.
            let start = i;
            i += 1;
            loop {
                match chars.get(i) {
                    None => bail!("a {c} quote is not closed"),
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => break,
                    Some(_) => i += 1,
                }
            }
            i += 1;
            out.push(chars[start..i].iter().collect());
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect::<String>().to_uppercase());
        } else if "<>=!|".contains(c) {
            let start = i;
            while i < chars.len() && "<>=!|".contains(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQLITE: &str = "-- Blobs. Must stay equivalent to migrations/postgres.\n\
        CREATE TABLE blobs (\n    id      TEXT PRIMARY KEY,\n    size    INTEGER NOT NULL,  -- bytes\n    \
        content BLOB NOT NULL,\n    note    TEXT NOT NULL DEFAULT '-- not a comment; nor a split'\n);\n\
        /* an index */ CREATE INDEX blobs_size ON blobs (size) WHERE size > 0;\n";

    const POSTGRES: &str = "-- Blobs. Must stay equivalent to migrations/sqlite.\n\
        create table blobs (\n  id TEXT PRIMARY KEY,\n  size BIGINT NOT NULL,\n  content BYTEA NOT NULL,\n  \
        note TEXT NOT NULL DEFAULT '-- not a comment; nor a split'\n);\nCREATE INDEX blobs_size ON blobs (size)\n    WHERE size > 0;\n";

    #[test]
    fn the_workspace_migrations_agree() {
        let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let n = check_dirs(&ws.join("migrations/sqlite"), &ws.join("migrations/postgres")).unwrap();
        assert!(n >= 10, "only {n} migrations found");
    }

    #[test]
    fn comments_whitespace_case_and_the_type_pairs_are_normalised() {
        compare(SQLITE, POSTGRES).unwrap();
        let s = statements(SQLITE, Dialect::Sqlite).unwrap();
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].contains(&"'-- not a comment; nor a split'".to_owned()), "{:?}", s[0]);
    }

    #[test]
    fn a_drifted_pair_fails() {
        let drifted = [
            // A column dropped on one side.
            POSTGRES.replace("  note TEXT NOT NULL DEFAULT '-- not a comment; nor a split'\n", ""),
            // A constraint lost.
            POSTGRES.replace("size BIGINT NOT NULL", "size BIGINT"),
            // PostgreSQL's INTEGER is 32 bits: not SQLite's INTEGER.
            POSTGRES.replace("BIGINT", "INTEGER"),
            // The pairs do not cross: BLOB is not a PostgreSQL type, BYTEA not SQLite's.
            POSTGRES.replace("BYTEA", "BLOB"),
            // A literal is compared exactly.
            POSTGRES.replace("not a comment", "not a Comment"),
            // A renamed index.
            POSTGRES.replace("blobs_size", "blobs_by_size"),
            // A statement only on one side.
            format!("{POSTGRES}CREATE INDEX blobs_content ON blobs (content);\n"),
            POSTGRES.replace("CREATE INDEX blobs_size ON blobs (size)\n    WHERE size > 0;\n", ""),
        ];
        for postgres in &drifted {
            assert_ne!(postgres, POSTGRES);
            let e = compare(SQLITE, postgres).expect_err(postgres);
            assert!(e.to_string().contains("statement"), "{e}");
        }
        // A SQLite BIGINT primary key is not a rowid alias: drift too.
        let e = compare(&SQLITE.replace("size    INTEGER", "size    BIGINT"), POSTGRES).unwrap_err();
        assert!(e.to_string().contains("statement 1 differs"), "{e}");
        // An operator is one token: `> =` is not `>=`.
        assert!(compare("SELECT 1 >= 0;", "SELECT 1 > = 0;").is_err());
        // Unterminated quotes and comments are errors, not silently equal.
        assert!(compare("SELECT 'a;", "SELECT 'a;").is_err());
        assert!(compare("SELECT 1; /* open", "SELECT 1; /* open").is_err());
    }

    #[test]
    fn the_directories_must_hold_the_same_files() {
        let root = std::env::temp_dir().join(format!("xtask-schema-{}", std::process::id()));
        let (sqlite, postgres) = (root.join("sqlite"), root.join("postgres"));
        std::fs::create_dir_all(&sqlite).unwrap();
        std::fs::create_dir_all(&postgres).unwrap();
        std::fs::write(sqlite.join("0001_blobs.sql"), SQLITE).unwrap();
        std::fs::write(postgres.join("0001_blobs.sql"), POSTGRES).unwrap();
        assert_eq!(check_dirs(&sqlite, &postgres).unwrap(), 1);
        // A migration added on one side only.
        std::fs::write(sqlite.join("0002_more.sql"), "CREATE TABLE more (id TEXT);").unwrap();
        let e = check_dirs(&sqlite, &postgres).unwrap_err();
        assert!(e.to_string().contains("0002_more.sql"), "{e}");
        // Both sides, but drifted: the file is named.
        std::fs::write(postgres.join("0002_more.sql"), "CREATE TABLE more (id TEXT, n BIGINT);").unwrap();
        let e = check_dirs(&sqlite, &postgres).unwrap_err();
        assert!(e.to_string().contains("0002_more.sql: statement 1 differs"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
