//! Kernel `.config` files and fragments as data: parse, merge, compare.
//!
//! A fragment is a small `.config`: `CONFIG_FOO=value` lines and
//! `# CONFIG_FOO is not set` lines; other comments and blank lines are
//! ignored. Fragments apply in order (a later line wins), then the merged
//! wishes are laid over the base `.config` the way the kernel's own
//! `merge_config.sh` does it: the base's lines for those symbols go away and
//! the wishes are appended, for `make olddefconfig` to resolve.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Result};

/// The value of one symbol. `=n` and "is not set" are the same thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    NotSet,
    /// The right-hand side exactly as `.config` writes it (`y`, `m`,
    /// `"quoted string"`, `0x1000`, `42`).
    Set(String),
}

impl Value {
    fn from_rhs(rhs: &str) -> Value {
        if rhs == "n" {
            Value::NotSet
        } else {
            Value::Set(rhs.to_owned())
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::NotSet => f.write_str("not set"),
            Value::Set(v) => f.write_str(v),
        }
    }
}

/// Where a wish came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One symbol's wanted value and where it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wish {
    pub value: Value,
    pub origin: Origin,
}

/// Parse one `.config`-style text. Symbols are returned without `CONFIG_`.
/// `name` is used in error messages and origins.
pub fn parse(name: &str, text: &str) -> Result<Vec<(String, Wish)>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let origin = Origin {
            file: name.to_owned(),
            line: i + 1,
        };
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim();
            if let Some(sym) = rest
                .strip_prefix("CONFIG_")
                .and_then(|r| r.strip_suffix(" is not set"))
            {
                check_symbol(sym, &origin)?;
                out.push((
                    sym.to_owned(),
                    Wish {
                        value: Value::NotSet,
                        origin,
                    },
                ));
            }
            continue;
        }
        let Some((lhs, rhs)) = line.split_once('=') else {
            bail!("{origin}: expected `CONFIG_NAME=value` or `# CONFIG_NAME is not set`, found `{raw}`");
        };
        let Some(sym) = lhs.strip_prefix("CONFIG_") else {
            bail!("{origin}: expected a symbol starting with CONFIG_, found `{lhs}`");
        };
        check_symbol(sym, &origin)?;
        if rhs.is_empty() {
            bail!("{origin}: CONFIG_{sym} has no value (write `# CONFIG_{sym} is not set` to unset it)");
        }
        if rhs.starts_with('"') && (rhs.len() < 2 || !rhs.ends_with('"')) {
            bail!("{origin}: CONFIG_{sym}: unterminated string {rhs}");
        }
        out.push((
            sym.to_owned(),
            Wish {
                value: Value::from_rhs(rhs),
                origin,
            },
        ));
    }
    Ok(out)
}

fn check_symbol(sym: &str, origin: &Origin) -> Result<()> {
    if sym.is_empty() || !sym.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        bail!(
            "{origin}: `CONFIG_{sym}` is not a valid Kconfig symbol (letters, digits and _ only)"
        );
    }
    Ok(())
}

/// Apply fragments in order; a later fragment's line for the same symbol
/// wins.
pub fn merge_wishes(fragments: &[Vec<(String, Wish)>]) -> BTreeMap<String, Wish> {
    let mut all = BTreeMap::new();
    for frag in fragments {
        for (sym, wish) in frag {
            all.insert(sym.clone(), wish.clone());
        }
    }
    all
}

/// The base `.config` with every wished symbol replaced: base lines for
/// those symbols are dropped and the wishes appended in symbol order.
pub fn apply(base: &str, wishes: &BTreeMap<String, Wish>) -> String {
    let mut out = String::new();
    for line in base.lines() {
        if let Some(sym) = line_symbol(line) {
            if wishes.contains_key(sym) {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("# gen-kexec fragments\n");
    for (sym, wish) in wishes {
        match &wish.value {
            Value::NotSet => out.push_str(&format!("# CONFIG_{sym} is not set\n")),
            Value::Set(v) => out.push_str(&format!("CONFIG_{sym}={v}\n")),
        }
    }
    out
}

fn line_symbol(line: &str) -> Option<&str> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("# CONFIG_") {
        return rest.strip_suffix(" is not set");
    }
    line.strip_prefix("CONFIG_")?
        .split_once('=')
        .map(|(s, _)| s)
}

/// The resolved values of a `.config` (absent symbols are not set).
pub fn values(name: &str, text: &str) -> Result<BTreeMap<String, Value>> {
    Ok(parse(name, text)?
        .into_iter()
        .map(|(s, w)| (s, w.value))
        .collect())
}

/// A wish that `make olddefconfig` did not honour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub symbol: String,
    pub wanted: Value,
    pub got: Value,
    pub origin: Origin,
}

/// Every wish whose value differs in the resolved configuration.
pub fn dropped(wishes: &BTreeMap<String, Wish>, result: &BTreeMap<String, Value>) -> Vec<Dropped> {
    wishes
        .iter()
        .filter_map(|(sym, wish)| {
            let got = result.get(sym).cloned().unwrap_or(Value::NotSet);
            (got != wish.value).then(|| Dropped {
                symbol: sym.clone(),
                wanted: wish.value.clone(),
                got,
                origin: wish.origin.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wishes(parts: &[(&str, &str)]) -> BTreeMap<String, Wish> {
        let frags: Vec<_> = parts.iter().map(|(n, t)| parse(n, t).unwrap()).collect();
        merge_wishes(&frags)
    }

    #[test]
    fn parses_set_unset_strings_and_ignores_comments() {
        let text = "# a comment\n\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_D=n\nCONFIG_E=0x10\n";
        let p = parse("f.config", text).unwrap();
        let got: Vec<(&str, String)> = p
            .iter()
            .map(|(s, w)| (s.as_str(), w.value.to_string()))
            .collect();
        let got: Vec<(&str, &str)> = got.iter().map(|(s, v)| (*s, v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("A", "y"),
                ("B", "not set"),
                ("C", "\"x y\""),
                ("D", "not set"),
                ("E", "0x10")
            ]
        );
        assert_eq!(p[1].1.origin.to_string(), "f.config:4");
    }

    #[test]
    fn rejects_malformed_lines_naming_file_and_line() {
        let err = parse("frag.config", "CONFIG_A=y\nFOO\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("frag.config:2"), "{err}");
        assert!(err.contains("CONFIG_NAME=value"), "{err}");
        let err = parse("frag.config", "CONFIG_a-b=y\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid Kconfig symbol"), "{err}");
        let err = parse("frag.config", "CONFIG_S=\"open\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unterminated"), "{err}");
        let err = parse("frag.config", "CONFIG_S=\n").unwrap_err().to_string();
        assert!(err.contains("has no value"), "{err}");
    }

    #[test]
    fn later_fragment_wins() {
        let w = wishes(&[
            ("a", "CONFIG_X=y\nCONFIG_Y=y\n"),
            ("b", "# CONFIG_X is not set\n"),
        ]);
        assert_eq!(w["X"].value, Value::NotSet);
        assert_eq!(w["X"].origin.file, "b");
        assert_eq!(w["Y"].value, Value::Set("y".into()));
    }

    #[test]
    fn apply_replaces_base_lines_and_appends_wishes() {
        let base = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\n#\n# Section\n#\n";
        let w = wishes(&[("f", "CONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D=\"s\"\n")]);
        let out = apply(base, &w);
        assert_eq!(
            out,
            "CONFIG_A=y\n#\n# Section\n#\n# gen-kexec fragments\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D=\"s\"\n"
        );
    }

    #[test]
    fn dropped_lists_only_what_changed_treating_absent_as_not_set() {
        let w = wishes(&[(
            "f",
            "CONFIG_KEPT=y\nCONFIG_LOST=y\n# CONFIG_OFF is not set\n# CONFIG_ABSENT is not set\nCONFIG_STR=\"a\"\n",
        )]);
        let result = values(
            ".config",
            "CONFIG_KEPT=y\n# CONFIG_LOST is not set\nCONFIG_OFF=y\nCONFIG_STR=\"b\"\n",
        )
        .unwrap();
        let d = dropped(&w, &result);
        let names: Vec<_> = d.iter().map(|d| d.symbol.as_str()).collect();
        assert_eq!(names, ["LOST", "OFF", "STR"]);
        assert_eq!(d[0].wanted, Value::Set("y".into()));
        assert_eq!(d[0].got, Value::NotSet);
        assert_eq!(d[2].got, Value::Set("\"b\"".into()));
    }
}
