//! What the fragments changed against the base configuration, for people:
//! `cargo xtask kconfig --diff`. Compares the base `.config` (kept as
//! `.config.base` in the kernel's object tree) with the final one after
//! `make olddefconfig`, and tells for each change whether a fragment asked
//! for it (naming the line) or `olddefconfig` followed from it.
//!
//! "Not set" and "absent" are the same value (n); a symbol that only moved
//! between the two (a menu became visible) is counted, not listed.

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::config::{self, Value, Wish};

/// The base configuration kept next to `.config` for the diff.
pub const BASE_FILE: &str = ".config.base";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Not set in the base, set in the result.
    Added,
    /// Set in both, to different values.
    Changed,
    /// Set in the base, not set in the result.
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    pub symbol: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// `file:line` of the fragment line asking for the new value, if any.
    pub asked_by: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub changes: Vec<Change>,
    /// Fragment symbols whose value the base already had.
    pub already_in_base: usize,
    /// Symbols n in both that appeared or disappeared as "is not set".
    pub visibility_only: usize,
}

/// The `--diff` report for the kernel object tree `obj` configured from
/// `base` (for the heading) and `fragments`.
pub fn report(obj: &Utf8Path, base: &str, fragments: &[Utf8PathBuf]) -> Result<String> {
    let read = |name: &str| -> Result<BTreeMap<String, Value>> {
        let path = obj.join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {path}: configure the kernel first"))?;
        config::values(path.as_str(), &text)
    };
    let d = diff(
        &read(BASE_FILE)?,
        &read(".config")?,
        &super::wishes(fragments)?,
    );
    Ok(render(
        &d,
        &format!("base {base}"),
        obj.join(".config").as_str(),
    ))
}

fn set(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::Set(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Compare `base` and `result` (as `config::values` gives them).
pub fn diff(
    base: &BTreeMap<String, Value>,
    result: &BTreeMap<String, Value>,
    wishes: &BTreeMap<String, Wish>,
) -> Diff {
    let mut d = Diff::default();
    let symbols: std::collections::BTreeSet<&String> = base.keys().chain(result.keys()).collect();
    for sym in symbols {
        let (before, after) = (set(base.get(sym)), set(result.get(sym)));
        let kind = match (&before, &after) {
            (None, Some(_)) => Kind::Added,
            (Some(_), None) => Kind::Removed,
            (Some(b), Some(a)) if a != b => Kind::Changed,
            (None, None) if base.contains_key(sym) != result.contains_key(sym) => {
                d.visibility_only += 1;
                continue;
            }
            _ => continue,
        };
        let asked_by = wishes
            .get(sym)
            .filter(|w| set(Some(&w.value)) == after)
            .map(|w| w.origin.to_string());
        d.changes.push(Change {
            kind,
            symbol: sym.clone(),
            before,
            after,
            asked_by,
        });
    }
    d.already_in_base = wishes
        .iter()
        .filter(|(sym, w)| set(base.get(*sym)) == set(Some(&w.value)))
        .count();
    d.changes.sort_by(|a, b| {
        (a.kind, a.asked_by.is_none(), &a.symbol).cmp(&(b.kind, b.asked_by.is_none(), &b.symbol))
    });
    d
}

/// The diff as text: a summary line, then added, changed and removed
/// symbols, those a fragment asked for first.
pub fn render(d: &Diff, base_name: &str, result_name: &str) -> String {
    let count = |k: Kind| d.changes.iter().filter(|c| c.kind == k).count();
    let asked = d.changes.iter().filter(|c| c.asked_by.is_some()).count();
    let mut out = format!(
        "kernel config: {base_name} -> {result_name}\n  {} added, {} changed, {} removed: {asked} \
         asked for by a fragment, {} followed from them (olddefconfig); {} fragment \
         symbol(s) already had their value in the base; {} symbol(s) only appeared or \
         disappeared as \"is not set\"\n",
        count(Kind::Added),
        count(Kind::Changed),
        count(Kind::Removed),
        d.changes.len() - asked,
        d.already_in_base,
        d.visibility_only,
    );
    let width = d.changes.iter().map(|c| line(c).len()).max().unwrap_or(0);
    for (kind, title) in [
        (Kind::Added, "added"),
        (Kind::Changed, "changed"),
        (Kind::Removed, "removed"),
    ] {
        let list: Vec<&Change> = d.changes.iter().filter(|c| c.kind == kind).collect();
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for c in list {
            let why = c.asked_by.as_deref().unwrap_or("(olddefconfig)");
            let _ = writeln!(out, "  {:width$}  {why}", line(c));
        }
    }
    out
}

fn line(c: &Change) -> String {
    let none = || "n".to_owned();
    match c.kind {
        Kind::Added => format!(
            "+ CONFIG_{}={}",
            c.symbol,
            c.after.clone().unwrap_or_else(none)
        ),
        Kind::Removed => format!(
            "- CONFIG_{}={}",
            c.symbol,
            c.before.clone().unwrap_or_else(none)
        ),
        Kind::Changed => format!(
            "~ CONFIG_{} {} -> {}",
            c.symbol,
            c.before.clone().unwrap_or_else(none),
            c.after.clone().unwrap_or_else(none)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::config;
    use super::*;

    #[test]
    fn changes_are_classified_and_attributed() {
        let base = "CONFIG_A=y\nCONFIG_B=m\nCONFIG_C=\"x\"\n# CONFIG_D is not set\nCONFIG_KEEP=y\nCONFIG_GONE=y\n";
        let result = "CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=\"z\"\nCONFIG_D=y\nCONFIG_KEEP=y\nCONFIG_DEP=y\n# CONFIG_NEW is not set\n";
        let frag = "CONFIG_A=y\nCONFIG_B=y\nCONFIG_D=y\n# CONFIG_GONE is not set\n";
        let wishes = config::merge_wishes(&[config::parse("f.config", frag).unwrap()]);
        let d = diff(
            &config::values("base", base).unwrap(),
            &config::values("result", result).unwrap(),
            &wishes,
        );
        let summary: Vec<(Kind, &str, Option<&str>)> = d
            .changes
            .iter()
            .map(|c| (c.kind, c.symbol.as_str(), c.asked_by.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (Kind::Added, "D", Some("f.config:3")),
                (Kind::Added, "DEP", None),
                (Kind::Changed, "B", Some("f.config:2")),
                (Kind::Changed, "C", None),
                (Kind::Removed, "GONE", Some("f.config:4")),
            ]
        );
        assert_eq!((d.already_in_base, d.visibility_only), (1, 1));
        let text = render(&d, "base", "final");
        assert!(
            text.contains("2 added, 2 changed, 1 removed: 3 asked for by a fragment, 2 followed"),
            "{text}"
        );
        assert!(
            text.contains("\n  ~ CONFIG_B m -> y      f.config:2\n"),
            "{text}"
        );
        assert!(
            text.contains("\n  + CONFIG_DEP=y         (olddefconfig)\n"),
            "{text}"
        );
        assert!(
            text.ends_with("removed:\n  - CONFIG_GONE=y        f.config:4\n"),
            "{text}"
        );
    }
}
