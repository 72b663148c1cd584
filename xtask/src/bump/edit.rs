//! Rewriting one `[component.NAME]` entry of `sources.lock` in place with
//! toml_edit: values are replaced where they stand, so comments, trailing
//! comments, array layout and every other entry stay byte-for-byte as they
//! were.

use anyhow::{Context, Result};
use toml_edit::{Array, DocumentMut, Item, Table, Value};

use crate::lock::Source;

/// The entry after the bump.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub version: String,
    /// `None` for a component without `dir` (used as is, not unpacked).
    pub dir: Option<String>,
    /// The alternatives kept, by their index in the current entry, with
    /// their new values (sha256 and provenance filled in). Others go.
    pub sources: Vec<(usize, Source)>,
}

/// `text` (a valid sources.lock) with `[component.NAME]` rewritten.
pub fn rewrite(text: &str, name: &str, entry: &NewEntry) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("not valid TOML")?;
    let comp = doc
        .get_mut("component")
        .and_then(|c| c.get_mut(name))
        .and_then(Item::as_table_mut)
        .with_context(|| format!("no [component.{name}] table"))?;
    set_str(comp, "version", &entry.version);
    if let Some(dir) = &entry.dir {
        set_str(comp, "dir", dir);
    }
    let sources = comp
        .get_mut("source")
        .and_then(Item::as_array_of_tables_mut)
        .with_context(|| format!("[component.{name}] has no [[component.{name}.source]]"))?;
    for i in (0..sources.len()).rev() {
        match entry.sources.iter().find(|(k, _)| *k == i) {
            None => {
                sources.remove(i);
            }
            Some((_, src)) => {
                let table = sources.get_mut(i).expect("index in range");
                update_source(table, src)
                    .with_context(|| format!("[component.{name}] source #{}", i + 1))?;
            }
        }
    }
    Ok(doc.to_string())
}

fn update_source(t: &mut Table, src: &Source) -> Result<()> {
    let mut inserted = false;
    set_str(t, "file", &src.file);
    inserted |= set_opt(t, "sha256", src.sha256.as_deref());
    inserted |= set_opt(t, "sha256_origin", src.sha256_origin.as_deref());
    set_array(t, "urls", &src.urls);
    if src.debian.is_none() {
        t.remove("debian");
    }
    if let Some(sig) = &src.signature {
        let st = t
            .get_mut("signature")
            .and_then(Item::as_table_like_mut)
            .context("the lock has a signature but the TOML has no signature table")?;
        set_str_like(st, "file", &sig.file);
        set_array_like(st, "urls", &sig.urls);
        if let Some(h) = &sig.sha256 {
            set_str_like(st, "sha256", h);
        } else {
            st.remove("sha256");
        }
    }
    if inserted {
        // New keys go where a reader expects them, not at the end.
        const ORDER: [&str; 6] = [
            "file",
            "sha256",
            "sha256_origin",
            "urls",
            "debian",
            "signature",
        ];
        let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
        t.sort_values_by(|a, _, b, _| rank(a.get()).cmp(&rank(b.get())));
    }
    Ok(())
}

/// Replace a value keeping its decoration (spacing, trailing comment).
fn replace_keeping_decor(slot: &mut Value, new: Value) {
    let decor = slot.decor().clone();
    *slot = new;
    *slot.decor_mut() = decor;
}

fn set_str(t: &mut Table, key: &str, v: &str) {
    set_str_like(t, key, v)
}

fn set_str_like(t: &mut dyn toml_edit::TableLike, key: &str, v: &str) {
    match t.get_mut(key).and_then(Item::as_value_mut) {
        Some(slot) => replace_keeping_decor(slot, Value::from(v)),
        None => {
            t.insert(key, toml_edit::value(v));
        }
    }
}

/// Set or remove `key`; true when it was not there before.
fn set_opt(t: &mut Table, key: &str, v: Option<&str>) -> bool {
    let had = t.contains_key(key);
    match v {
        Some(v) => set_str(t, key, v),
        None => {
            t.remove(key);
        }
    }
    v.is_some() && !had
}

fn set_array(t: &mut Table, key: &str, values: &[String]) {
    set_array_like(t, key, values)
}

/// Element by element when the length is unchanged (layout kept).
fn set_array_like(t: &mut dyn toml_edit::TableLike, key: &str, values: &[String]) {
    if let Some(arr) = t.get_mut(key).and_then(Item::as_array_mut) {
        if arr.len() == values.len() {
            for (i, v) in values.iter().enumerate() {
                arr.replace(i, v.as_str());
            }
            return;
        }
    }
    let arr: Array = values.iter().map(String::as_str).collect();
    t.insert(key, Item::Value(Value::Array(arr)));
}

/// Comment lines of `[component.NAME]` that still mention `old_version`:
/// kept as they are, but worth a human look.
pub fn stale_comments(text: &str, name: &str, old_version: &str) -> Vec<String> {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(header) = t.strip_prefix("[[").or_else(|| t.strip_prefix('[')) {
            if let Some(rest) = header.strip_prefix("component.") {
                current = rest
                    .split(['.', ']'])
                    .next()
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_owned();
            }
        }
        if current == name {
            if let Some((_, comment)) = line.split_once('#') {
                if comment.contains(old_version) {
                    out.push(line.trim().to_owned());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# header comment
schema = 1
source_date_epoch = 1 # trailing

[component.pkg]
version = "1.0" # the version
license = "MIT"
dir = "pkg-1.0"

# Distro repack of 1.0.
[[component.pkg.source]]
file = "pkg_1.0.orig.tar.gz"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
urls = ["https://example.org/pkg_1.0.orig.tar.gz"]
debian = "pkg=1.0-1"

# Upstream, signed.
[[component.pkg.source]]
file = "pkg-1.0.tar.gz"
urls = [
  "https://a.example.org/pkg-1.0.tar.gz",
  "https://b.example.org/pkg-1.0.tar.gz", # mirror
]

[component.pkg.source.signature]
file = "pkg-1.0.tar.gz.sig"
urls = ["https://a.example.org/pkg-1.0.tar.gz.sig"]
covers = "file"
keyring = "keys/pkg.asc"
signers = ["0123456789ABCDEF0123456789ABCDEF01234567"] # Someone

[component.other]
version = "1.0"
"#;

    #[test]
    fn rewrites_one_entry_in_place() {
        let lock =
            crate::lock::Lock::parse(&LOCK.replace("[component.other]\nversion = \"1.0\"\n", ""))
                .unwrap();
        let mut src = lock.get("pkg").unwrap().source[1].clone();
        src.file = "pkg-1.1.tar.gz".into();
        src.sha256 = Some("1".repeat(64));
        src.sha256_origin = Some("verified".into());
        src.urls = vec![
            "https://a.example.org/pkg-1.1.tar.gz".into(),
            "https://b.example.org/pkg-1.1.tar.gz".into(),
        ];
        let sig = src.signature.as_mut().unwrap();
        sig.file = "pkg-1.1.tar.gz.sig".into();
        sig.urls = vec!["https://a.example.org/pkg-1.1.tar.gz.sig".into()];
        let entry = NewEntry {
            version: "1.1".into(),
            dir: Some("pkg-1.1".into()),
            sources: vec![(1, src)],
        };
        let out = rewrite(LOCK, "pkg", &entry).unwrap();
        let expected = LOCK
            .replace("version = \"1.0\" # the version", "version = \"1.1\" # the version")
            .replace("dir = \"pkg-1.0\"", "dir = \"pkg-1.1\"")
            .replace(
                "# Distro repack of 1.0.\n[[component.pkg.source]]\nfile = \"pkg_1.0.orig.tar.gz\"\nsha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\nurls = [\"https://example.org/pkg_1.0.orig.tar.gz\"]\ndebian = \"pkg=1.0-1\"\n\n",
                "",
            )
            .replace(
                "file = \"pkg-1.0.tar.gz\"\n",
                &format!(
                    "file = \"pkg-1.1.tar.gz\"\nsha256 = \"{}\"\nsha256_origin = \"verified\"\n",
                    "1".repeat(64)
                ),
            )
            .replace("a.example.org/pkg-1.0.tar.gz", "a.example.org/pkg-1.1.tar.gz")
            .replace("b.example.org/pkg-1.0.tar.gz", "b.example.org/pkg-1.1.tar.gz")
            .replace("file = \"pkg-1.0.tar.gz.sig\"", "file = \"pkg-1.1.tar.gz.sig\"");
        assert_eq!(out, expected);
        assert_eq!(
            stale_comments(&out, "pkg", "1.0"),
            Vec::<String>::new(),
            "the repack's comment went with it"
        );
        assert_eq!(
            stale_comments(LOCK, "pkg", "1.0"),
            ["# Distro repack of 1.0."]
        );
    }
}
