//! `cargo xtask kconfig --profile A --against B`: whether two profiles give
//! the same kernel configuration after `make olddefconfig` on the same
//! kernel source, and if not, every symbol that differs. Meant for the
//! Gentoo bases: the config extracted from a pinned ISO (`gentoo`) against
//! the releng file it was built from (`gentoo-2018`, `gentoo-2024`).

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::{Context, Result};
use camino::Utf8Path;

use super::config::{self, Value};

/// The report comparing `.config` files `a` and `b` (named `a_name`,
/// `b_name`); the bool says whether they are the same.
pub fn report(a_name: &str, a: &Utf8Path, b_name: &str, b: &Utf8Path) -> Result<(bool, String)> {
    let read = |p: &Utf8Path| -> Result<BTreeMap<String, Value>> {
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {p}"))?;
        config::values(p.as_str(), &text)
    };
    let (va, vb) = (read(a)?, read(b)?);
    Ok(compare(a_name, &va, b_name, &vb))
}

/// "Not set" and absent are the same value, as in `--diff`.
pub fn compare(
    a_name: &str,
    a: &BTreeMap<String, Value>,
    b_name: &str,
    b: &BTreeMap<String, Value>,
) -> (bool, String) {
    let get = |m: &BTreeMap<String, Value>, s: &str| m.get(s).cloned().unwrap_or(Value::NotSet);
    let mut symbols: Vec<&String> = a.keys().chain(b.keys()).collect();
    symbols.sort();
    symbols.dedup();
    let differ: Vec<(&String, Value, Value)> = symbols
        .into_iter()
        .map(|s| (s, get(a, s), get(b, s)))
        .filter(|(_, x, y)| x != y)
        .collect();
    if differ.is_empty() {
        return (
            true,
            format!("{a_name} and {b_name}: the same configuration after olddefconfig\n"),
        );
    }
    let mut out = format!(
        "{a_name} and {b_name}: {} symbol(s) differ after olddefconfig ({a_name} | {b_name}):\n",
        differ.len()
    );
    for (s, x, y) in differ {
        let _ = writeln!(out, "  CONFIG_{s}: {x} | {y}");
    }
    (false, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_listed_and_not_set_equals_absent() {
        let a = config::values("a", "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\n").unwrap();
        let b = config::values("b", "CONFIG_A=y\nCONFIG_C=y\nCONFIG_D=\"x\"\n").unwrap();
        let (same, text) = compare("gentoo", &a, "gentoo-2024", &b);
        assert!(!same);
        assert!(text.contains("2 symbol(s) differ"), "{text}");
        assert!(text.contains("CONFIG_C: m | y"), "{text}");
        assert!(text.contains("CONFIG_D: not set | \"x\""), "{text}");
        assert!(compare("x", &a, "y", &a).0);
    }
}
