//! Why a symbol was dropped: its `depends on` and `select` lines, read from
//! the kernel's Kconfig files, with the current value of every symbol they
//! name.
//!
//! This is a reader for error messages, not a Kconfig evaluator: it finds
//! `config SYM` / `menuconfig SYM` blocks, their `depends on` and `select`
//! lines (with `\` continuations), and the conditions of enclosing
//! `if ... endif` blocks of the same file.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use camino::Utf8Path;

use super::config::Value;

/// What one definition of a symbol requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definition {
    /// Source file (relative to the kernel tree) and line of `config SYM`.
    pub location: String,
    pub depends_on: Vec<String>,
    pub selects: Vec<String>,
}

/// A `select` line naming a symbol: what forces it on against a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The selecting symbol.
    pub symbol: String,
    /// Where it is defined.
    pub location: String,
    /// The `select` line's argument (`SYM` or `SYM if COND`).
    pub select: String,
}

/// What Kconfig says about some symbols.
#[derive(Debug, Default)]
pub struct Found {
    pub defs: BTreeMap<String, Vec<Definition>>,
    pub selected_by: BTreeMap<String, Vec<Selector>>,
}

/// Find every definition of the given symbols below `src` (the kernel
/// tree), and every `select` of them, skipping `arch/` directories other
/// than `arch/<srcarch>`.
pub fn find(src: &Utf8Path, srcarch: &str, symbols: &[&str]) -> Result<Found> {
    let mut out = Found::default();
    let mut files = Vec::new();
    collect_kconfig_files(src, src, srcarch, &mut files)?;
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?;
        let rel = file.strip_prefix(src).unwrap_or(&file);
        for (sym, def) in parse_file(rel.as_str(), &text) {
            for sel in &def.selects {
                let target = sel.split_whitespace().next().unwrap_or_default();
                if symbols.contains(&target) {
                    out.selected_by
                        .entry(target.to_owned())
                        .or_default()
                        .push(Selector {
                            symbol: sym.clone(),
                            location: def.location.clone(),
                            select: sel.clone(),
                        });
                }
            }
            if symbols.contains(&sym.as_str()) {
                out.defs.entry(sym).or_default().push(def);
            }
        }
    }
    Ok(out)
}

fn collect_kconfig_files(
    root: &Utf8Path,
    dir: &Utf8Path,
    srcarch: &str,
    out: &mut Vec<camino::Utf8PathBuf>,
) -> Result<()> {
    for entry in dir
        .read_dir_utf8()
        .with_context(|| format!("cannot read directory {dir}"))?
    {
        let entry = entry?;
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            let rel = path.strip_prefix(root).unwrap_or(path);
            let mut comps = rel.components();
            let skip = match (
                comps.next().map(|c| c.as_str()),
                comps.next().map(|c| c.as_str()),
            ) {
                (Some("arch"), Some(a)) => a != srcarch,
                (Some("Documentation" | "tools" | "scripts" | ".git"), _) => true,
                _ => false,
            };
            if !skip {
                collect_kconfig_files(root, path, srcarch, out)?;
            }
        } else if ft.is_file() && entry.file_name().starts_with("Kconfig") {
            out.push(path.to_owned());
        }
    }
    Ok(())
}

/// Keywords that start a new block, indented or not: each ends the entry
/// before it, so its `depends on`/`select` lines stop there.
const BLOCK_KEYWORDS: &[&str] = &[
    "config",
    "menuconfig",
    "choice",
    "endchoice",
    "menu",
    "endmenu",
    "if",
    "endif",
    "source",
    "comment",
];

/// Every `config`/`menuconfig` definition in one Kconfig file.
pub fn parse_file(name: &str, text: &str) -> Vec<(String, Definition)> {
    let mut out = Vec::new();
    let mut ifs: Vec<String> = Vec::new();
    let mut current: Option<(String, Definition)> = None;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        // Join `\` continuations.
        let mut line = raw.to_owned();
        while line.trim_end().ends_with('\\') {
            let t = line.trim_end();
            line = t[..t.len() - 1].to_owned();
            match lines.next() {
                Some((_, next)) => line.push_str(next),
                None => break,
            }
        }
        let indented = line.starts_with([' ', '\t']);
        let t = line.trim();
        let word = t.split_whitespace().next().unwrap_or("");
        let is_block = BLOCK_KEYWORDS.contains(&word);
        if !indented || is_block {
            if is_block || word == "mainmenu" {
                if let Some(done) = current.take() {
                    out.push(done);
                }
            }
            match word {
                "config" | "menuconfig" => {
                    if let Some(sym) = t.split_whitespace().nth(1) {
                        let def = Definition {
                            location: format!("{name}:{}", i + 1),
                            depends_on: ifs
                                .iter()
                                .map(|c| format!("{c} (enclosing `if`)"))
                                .collect(),
                            selects: Vec::new(),
                        };
                        current = Some((sym.to_owned(), def));
                    }
                }
                "if" => ifs.push(strip_comment(t["if".len()..].trim()).to_owned()),
                "endif" => {
                    ifs.pop();
                }
                _ => {}
            }
            continue;
        }
        if let Some((_, def)) = current.as_mut() {
            if let Some(expr) = t.strip_prefix("depends on") {
                def.depends_on.push(strip_comment(expr.trim()).to_owned());
            } else if let Some(sel) = t.strip_prefix("select ") {
                def.selects.push(strip_comment(sel.trim()).to_owned());
            } else if matches!(word, "help" | "---help---") {
                // The help text runs until the indentation drops; its words
                // must not be read as keywords.
                let base_indent = indent_width(&line);
                while let Some((_, next)) = lines.peek() {
                    if next.trim().is_empty() || indent_width(next) > base_indent {
                        lines.next();
                    } else {
                        break;
                    }
                }
            }
        }
    }
    if let Some(done) = current.take() {
        out.push(done);
    }
    out
}

fn indent_width(line: &str) -> usize {
    let mut w = 0;
    for c in line.chars() {
        match c {
            ' ' => w += 1,
            '\t' => w = (w / 8 + 1) * 8,
            _ => break,
        }
    }
    w
}

fn strip_comment(s: &str) -> &str {
    match s.find('#') {
        Some(i) if !s[..i].contains('"') => s[..i].trim_end(),
        _ => s,
    }
}

/// The symbols an expression names (`A && (B || !C) && D = y` -> A, B, C, D).
pub fn symbols_in(expr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_string = false;
    for tok in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '"')) {
        if tok.is_empty() {
            continue;
        }
        if tok.contains('"') {
            in_string = tok.matches('"').count() % 2 == 1 && !in_string;
            continue;
        }
        if in_string
            || matches!(tok, "y" | "n" | "m" | "if")
            || tok.bytes().all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if tok.bytes().any(|b| b.is_ascii_uppercase()) && !out.iter().any(|o| o == tok) {
            out.push(tok.to_owned());
        }
    }
    out
}

/// `expr   [A=y B=not set]`: an expression followed by the current values
/// of the symbols in it.
pub fn annotate(expr: &str, values: &BTreeMap<String, Value>) -> String {
    let vals: Vec<String> = symbols_in(expr)
        .iter()
        .map(|s| format!("{s}={}", values.get(s).cloned().unwrap_or(Value::NotSet)))
        .collect();
    if vals.is_empty() {
        expr.to_owned()
    } else {
        format!("{expr}   [{}]", vals.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KCONFIG: &str = "\
config SHMEM
\tbool \"Use full shmem filesystem\" if EXPERT
\tdefault y
\tdepends on MMU

config TMPFS
\tbool \"Tmpfs virtual memory file system support (former shm fs)\"
\tdepends on SHMEM && \\
\t\t(MMU || !NOMMU)
\tselect MEMFD_CREATE
\thelp
\t  Tmpfs is a file system. This line says depends on NOTHING
\t  and the help must not be parsed.

if BLOCK
menuconfig EXT4_FS
\ttristate \"ext4\"
\tselect JBD2 if EXT4_JOURNAL # comment
endif
config AFTER
\tbool
";

    #[test]
    fn reads_depends_select_continuations_and_enclosing_if() {
        let defs = parse_file("fs/Kconfig", KCONFIG);
        let names: Vec<_> = defs.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["SHMEM", "TMPFS", "EXT4_FS", "AFTER"]);
        let tmpfs = &defs[1].1;
        assert_eq!(tmpfs.location, "fs/Kconfig:6");
        assert_eq!(tmpfs.depends_on.len(), 1);
        assert!(
            tmpfs.depends_on[0].starts_with("SHMEM &&"),
            "{:?}",
            tmpfs.depends_on
        );
        assert!(tmpfs.depends_on[0].contains("(MMU || !NOMMU)"));
        assert_eq!(tmpfs.selects, ["MEMFD_CREATE"]);
        let ext4 = &defs[2].1;
        assert_eq!(ext4.depends_on, ["BLOCK (enclosing `if`)"]);
        assert_eq!(ext4.selects, ["JBD2 if EXT4_JOURNAL"]);
        assert!(defs[3].1.depends_on.is_empty(), "endif closes the if block");
    }

    #[test]
    fn symbols_in_expressions_skip_literals_and_strings() {
        assert_eq!(
            symbols_in("SHMEM && (MMU || !NOMMU)"),
            ["SHMEM", "MMU", "NOMMU"]
        );
        assert_eq!(symbols_in("FB = y && ARCH != \"um\""), ["FB", "ARCH"]);
        assert_eq!(symbols_in("X86_64 || X86_32"), ["X86_64", "X86_32"]);
    }

    #[test]
    fn annotate_shows_current_values() {
        let mut v = BTreeMap::new();
        v.insert("MMU".to_owned(), Value::Set("y".into()));
        assert_eq!(
            annotate("SHMEM && MMU", &v),
            "SHMEM && MMU   [SHMEM=not set MMU=y]"
        );
    }
}
