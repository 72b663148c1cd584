//! busybox's `.config` from a fragment over "everything off".
//!
//! busybox 1.37's kconfig is too old for `allnoconfig KCONFIG_ALLCONFIG=`:
//! it reads the fragment and then turns every bool off anyway. So the
//! recipe does what that option does in Linux, in three steps:
//! `make allyesconfig` lists every symbol (the "universe"); [`merge`]
//! writes a complete `.config` where each bool is off unless the fragment
//! says otherwise (no symbol is left NEW, so `make oldconfig` asks nothing
//! and takes no defaults); `make oldconfig` resolves dependencies; then
//! [`verify`] fails if a fragment line did not survive (a typo, a symbol
//! that does not exist in this version, or an unmet dependency).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use camino::{Utf8Path, Utf8PathBuf};

/// One `CONFIG_NAME=value` of a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where it was written: `file:line`, for error messages.
    pub origin: String,
    /// Without the `CONFIG_` prefix.
    pub symbol: String,
    /// `y`, `n`, a number or a `"quoted string"`, as in `.config`.
    pub value: String,
}

impl Entry {
    /// The `.config` line for this entry.
    pub fn config_line(&self) -> String {
        if self.value == "n" {
            format!("# CONFIG_{} is not set", self.symbol)
        } else {
            format!("CONFIG_{}={}", self.symbol, self.value)
        }
    }
}

/// Parse a fragment: `CONFIG_NAME=value` lines, optionally followed by a
/// `# comment`; `# CONFIG_NAME is not set`; blank lines and `#` comments.
pub fn parse(path: &Utf8Path, text: &str) -> Result<Vec<Entry>> {
    let mut entries: Vec<Entry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let origin = format!("{path}:{}", i + 1);
        let line = raw.trim();
        let (symbol, value) = if let Some(rest) = line.strip_prefix("# CONFIG_") {
            match rest.strip_suffix(" is not set") {
                Some(sym) => (sym.to_owned(), "n".to_owned()),
                None => continue,
            }
        } else if line.is_empty() || line.starts_with('#') {
            continue;
        } else {
            let Some((sym, value)) = line.strip_prefix("CONFIG_").and_then(|r| r.split_once('='))
            else {
                bail!("{origin}: expected `CONFIG_NAME=value` or a `#` comment, found `{raw}`");
            };
            (sym.to_owned(), strip_comment(value)?.to_owned())
        };
        if symbol.is_empty()
            || !symbol
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            bail!("{origin}: `{symbol}` is not a kconfig symbol name (A-Z, 0-9, _)");
        }
        if value.is_empty() {
            bail!("{origin}: CONFIG_{symbol} has no value (use y, n, a number or \"text\")");
        }
        if let Some(prev) = entries.iter().find(|e| e.symbol == symbol) {
            bail!(
                "{origin}: CONFIG_{symbol} is already set at {}",
                prev.origin
            );
        }
        entries.push(Entry {
            origin,
            symbol,
            value,
        });
    }
    Ok(entries)
}

/// A value with its trailing `# comment` removed (not inside quotes).
fn strip_comment(value: &str) -> Result<&str> {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('"') {
        let end = inner
            .find('"')
            .map(|i| i + 2)
            .ok_or_else(|| anyhow::anyhow!("unterminated string `{value}`"))?;
        let rest = value[end..].trim();
        if !(rest.is_empty() || rest.starts_with('#')) {
            bail!("unexpected `{rest}` after {}", &value[..end]);
        }
        return Ok(&value[..end]);
    }
    Ok(value.split('#').next().unwrap_or("").trim())
}

/// The symbol and value of a `.config` line (`n` for "is not set").
fn config_entry(line: &str) -> Option<(&str, &str)> {
    if let Some(rest) = line.strip_prefix("# CONFIG_") {
        return rest.strip_suffix(" is not set").map(|s| (s, "n"));
    }
    line.strip_prefix("CONFIG_")?.split_once('=')
}

/// A complete `.config`: every symbol of `universe` (the output of `make
/// allyesconfig`), bools off, other values at their defaults, then
/// `entries` on top. Errors name every fragment symbol busybox lacks.
pub fn merge(universe: &str, entries: &[Entry]) -> Result<String> {
    let wanted: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.symbol.as_str(), e)).collect();
    let mut known = BTreeMap::new();
    let mut out = String::new();
    for line in universe.lines() {
        let Some((symbol, value)) = config_entry(line) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        known.insert(symbol.to_owned(), ());
        let merged = match wanted.get(symbol) {
            Some(e) => e.config_line(),
            None if matches!(value, "y" | "m" | "n") => format!("# CONFIG_{symbol} is not set"),
            None => line.to_owned(),
        };
        out.push_str(&merged);
        out.push('\n');
    }
    let unknown: Vec<String> = entries
        .iter()
        .filter(|e| !known.contains_key(&e.symbol))
        .map(|e| format!("{}: CONFIG_{}", e.origin, e.symbol))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "not a busybox option (misspelt, or gone from this version):\n  {}",
            unknown.join("\n  ")
        );
    }
    Ok(out)
}

/// Check that every entry holds in the final `.config` (after `make
/// oldconfig` resolved dependencies).
pub fn verify(config_path: &Utf8Path, config: &str, entries: &[Entry]) -> Result<()> {
    let actual: BTreeMap<&str, &str> = config.lines().filter_map(config_entry).collect();
    let mut lost = Vec::new();
    for e in entries {
        let got = actual.get(e.symbol.as_str()).copied().unwrap_or("n");
        if got != e.value {
            lost.push(format!(
                "{}: CONFIG_{}={} but {config_path} has {}",
                e.origin, e.symbol, e.value, got
            ));
        }
    }
    if !lost.is_empty() {
        bail!(
            "busybox config lost fragment settings (a dependency is off, or a \
             choice conflicts); enable what they depend on:\n  {}",
            lost.join("\n  ")
        );
    }
    Ok(())
}

/// The busybox config fragment kept in the repository.
pub fn fragment_path(ws_root: &Utf8Path) -> Utf8PathBuf {
    ws_root.join("kconfig-fragments/busybox/initramfs.config")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Utf8Path {
        Utf8Path::new("frag.config")
    }

    #[test]
    fn parses_values_comments_and_not_set() {
        let text = "# header\n\nCONFIG_CAT=y   # cat\n# CONFIG_TC is not set\n\
                    CONFIG_EDIT_LEN=1024 # n\nCONFIG_S=\"a # b\"  # c\nCONFIG_X=n\n";
        let e = parse(p(), text).unwrap();
        let got: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.symbol.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("CAT", "y"),
                ("TC", "n"),
                ("EDIT_LEN", "1024"),
                ("S", "\"a # b\""),
                ("X", "n")
            ]
        );
        assert_eq!(e[0].origin, "frag.config:3");
    }

    #[test]
    fn bad_lines_are_errors_with_their_place() {
        let err = parse(p(), "CONFIG_CAT=y\nCAT=y\n").unwrap_err().to_string();
        assert!(
            err.contains("frag.config:2: expected `CONFIG_NAME=value`"),
            "{err}"
        );
        let err = parse(p(), "CONFIG_CAT=y\nCONFIG_CAT=n\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("frag.config:2: CONFIG_CAT is already set at frag.config:1"));
        let err = parse(p(), "CONFIG_cat=y\n").unwrap_err().to_string();
        assert!(err.contains("not a kconfig symbol name"));
        let err = parse(p(), "CONFIG_CAT=  # nothing\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no value"));
    }

    #[test]
    fn merge_turns_every_other_bool_off_and_keeps_other_defaults() {
        let universe = "#\n# Busybox\n#\nCONFIG_CAT=y\nCONFIG_TC=y\n# CONFIG_LS is not set\n\
                        CONFIG_PREFIX=\"./_install\"\nCONFIG_COPYBUF_KB=4\nCONFIG_EXTRA_CFLAGS=\"\"\n";
        let entries = parse(p(), "CONFIG_LS=y\nCONFIG_EXTRA_CFLAGS=\"-Os\"\n").unwrap();
        let merged = merge(universe, &entries).unwrap();
        assert_eq!(
            merged,
            "#\n# Busybox\n#\n# CONFIG_CAT is not set\n# CONFIG_TC is not set\nCONFIG_LS=y\n\
             CONFIG_PREFIX=\"./_install\"\nCONFIG_COPYBUF_KB=4\nCONFIG_EXTRA_CFLAGS=\"-Os\"\n"
        );
        let entries = parse(p(), "CONFIG_LS=y\nCONFIG_FLOAT_SLEEP=y\n").unwrap();
        let err = merge(universe, &entries).unwrap_err().to_string();
        assert!(err.contains("frag.config:2: CONFIG_FLOAT_SLEEP"), "{err}");
    }

    #[test]
    fn verify_reports_lost_settings() {
        let entries = parse(p(), "CONFIG_LS=y\nCONFIG_TC=n\nCONFIG_LEN=64\n").unwrap();
        let cfg = Utf8Path::new("obj/.config");
        verify(
            cfg,
            "CONFIG_LS=y\n# CONFIG_TC is not set\nCONFIG_LEN=64\n",
            &entries,
        )
        .unwrap();
        verify(cfg, "CONFIG_LS=y\nCONFIG_LEN=64\n", &entries).unwrap();
        let err = verify(
            cfg,
            "# CONFIG_LS is not set\nCONFIG_TC=y\nCONFIG_LEN=64\n",
            &entries,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("frag.config:1: CONFIG_LS=y but obj/.config has n"),
            "{err}"
        );
        assert!(
            err.contains("frag.config:2: CONFIG_TC=n but obj/.config has y"),
            "{err}"
        );
    }
}
