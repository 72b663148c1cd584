//! Kernel configuration profiles (`kconfig-fragments/linux/profiles.toml`):
//! a base configuration plus named fragments.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;

/// Where the fragments and `profiles.toml` live, relative to the workspace.
pub const FRAGMENT_DIR: &str = "kconfig-fragments/linux";
pub const PROFILES_FILE: &str = "kconfig-fragments/linux/profiles.toml";
pub const DEFAULT_PROFILE: &str = "tiny";
/// `iso:component:NAME`, `file:component:NAME`: the ISO or the `.config`
/// is the file of lock component NAME.
pub const COMPONENT_PREFIX: &str = "component:";

/// The configuration a profile starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// A kernel make target writing `.config` (`tinyconfig`, `defconfig`).
    MakeTarget(String),
    /// A `.config` file (absolute, resolved against the workspace).
    File(Utf8PathBuf),
    /// The configuration embedded in a kernel image.
    Kernel(Utf8PathBuf),
    /// The configuration of the kernel on a boot ISO.
    Iso(Utf8PathBuf),
    /// The same, from the ISO a `sources.lock` component pins
    /// (`iso:component:gentoo-minimal-iso`), fetched and verified first.
    IsoComponent(String),
    /// A `.config` file a `sources.lock` component pins
    /// (`file:component:gentoo-kconfig-2018`), fetched and verified first.
    FileComponent(String),
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base::MakeTarget(t) => f.write_str(t),
            Base::File(p) => write!(f, "file:{p}"),
            Base::Kernel(p) => write!(f, "kernel:{p}"),
            Base::Iso(p) => write!(f, "iso:{p}"),
            Base::IsoComponent(c) => write!(f, "iso:{COMPONENT_PREFIX}{c}"),
            Base::FileComponent(c) => write!(f, "file:{COMPONENT_PREFIX}{c}"),
        }
    }
}

impl Base {
    pub fn parse(spec: &str, root: &Utf8Path) -> Result<Base> {
        let path = |p: &str| {
            let p = Utf8Path::new(p);
            if p.is_absolute() {
                p.to_owned()
            } else {
                root.join(p)
            }
        };
        Ok(match spec.split_once(':') {
            None if matches!(spec, "tinyconfig" | "defconfig") => Base::MakeTarget(spec.to_owned()),
            Some(("kernel", p)) if !p.is_empty() => Base::Kernel(path(p)),
            Some((kind @ ("file" | "iso"), p)) => match p.strip_prefix(COMPONENT_PREFIX) {
                Some(c) if !c.is_empty() && !c.contains(['/', ':']) => match kind {
                    "iso" => Base::IsoComponent(c.to_owned()),
                    _ => Base::FileComponent(c.to_owned()),
                },
                Some(_) => bail!(
                    "kernel config base `{spec}`: expected `{kind}:component:NAME` with NAME a \
                     component of sources.lock, e.g. `{}`",
                    match kind {
                        "iso" => "iso:component:gentoo-minimal-iso",
                        _ => "file:component:gentoo-kconfig-2018",
                    }
                ),
                None if !p.is_empty() => match kind {
                    "iso" => Base::Iso(path(p)),
                    _ => Base::File(path(p)),
                },
                None => bail!("kernel config base `{spec}`: no path after `{kind}:`"),
            },
            _ => bail!(
                "unknown kernel config base `{spec}`: expected `tinyconfig`, `defconfig`, \
                 `file:PATH`, `file:component:NAME`, `kernel:PATH`, `iso:PATH` or \
                 `iso:component:NAME`"
            ),
        })
    }
}

/// A resolved profile: base plus fragment files in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub base: Base,
    pub fragments: Vec<Utf8PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    profile: BTreeMap<String, RawProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    base: Option<String>,
    extends: Option<String>,
    #[serde(default)]
    fragments: Vec<String>,
}

/// Read `profiles.toml` below `root` and resolve profile `name`.
pub fn load(root: &Utf8Path, name: &str) -> Result<Profile> {
    let path = root.join(PROFILES_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    resolve(root, &path, &text, name)
}

/// Resolve profile `name` from the text of a profiles file.
pub fn resolve(root: &Utf8Path, path: &Utf8Path, text: &str, name: &str) -> Result<Profile> {
    let file: File =
        toml::from_str(text).with_context(|| format!("{path}: not a valid profiles file"))?;
    let mut chain = Vec::new();
    let mut cur = name.to_owned();
    loop {
        if chain.contains(&cur) {
            bail!("{path}: profile `{name}`: `extends` loops through `{cur}`");
        }
        let Some(p) = file.profile.get(&cur) else {
            let known: Vec<_> = file.profile.keys().map(String::as_str).collect();
            bail!("{path}: no profile `{cur}` (known: {})", known.join(", "));
        };
        chain.push(cur.clone());
        match &p.extends {
            Some(parent) => cur = parent.clone(),
            None => break,
        }
    }
    let mut base = None;
    let mut fragments = Vec::new();
    for pname in chain.iter().rev() {
        let p = &file.profile[pname];
        if let Some(b) = &p.base {
            base =
                Some(Base::parse(b, root).with_context(|| format!("{path}: profile `{pname}`"))?);
        }
        for f in &p.fragments {
            if f.contains('/') || f.ends_with(".config") || f.is_empty() {
                bail!("{path}: profile `{pname}`: fragment `{f}`: give the bare name, e.g. `storage` for {FRAGMENT_DIR}/storage.config");
            }
            fragments.push(root.join(FRAGMENT_DIR).join(format!("{f}.config")));
        }
    }
    let base = base.with_context(|| {
        format!("{path}: profile `{name}` has no `base` (nor does any profile it extends)")
    })?;
    Ok(Profile {
        name: name.to_owned(),
        base,
        fragments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
[profile.tiny]
base = "tinyconfig"
fragments = ["a", "b"]
[profile.test]
extends = "tiny"
fragments = ["c"]
[profile.mine]
extends = "tiny"
base = "file:configs/my.config"
[profile.loop1]
extends = "loop2"
[profile.loop2]
extends = "loop1"
"#;

    fn res(name: &str) -> Result<Profile> {
        resolve(
            Utf8Path::new("/ws"),
            Utf8Path::new("/ws/profiles.toml"),
            TEXT,
            name,
        )
    }

    #[test]
    fn extends_appends_fragments_and_inherits_base() {
        let p = res("test").unwrap();
        assert_eq!(p.base, Base::MakeTarget("tinyconfig".into()));
        let f: Vec<_> = p.fragments.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            f,
            [
                "/ws/kconfig-fragments/linux/a.config",
                "/ws/kconfig-fragments/linux/b.config",
                "/ws/kconfig-fragments/linux/c.config"
            ]
        );
        assert_eq!(
            res("mine").unwrap().base,
            Base::File("/ws/configs/my.config".into())
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = format!("{:#}", res("nope").unwrap_err());
        assert!(
            e.contains("no profile `nope`") && e.contains("known: loop1, loop2, mine, test, tiny"),
            "{e}"
        );
        let e = format!("{:#}", res("loop1").unwrap_err());
        assert!(e.contains("loops"), "{e}");
        let e = Base::parse("allyesconfig", Utf8Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected `tinyconfig`, `defconfig`"), "{e}");
    }

    #[test]
    fn bases_parse() {
        let r = Utf8Path::new("/ws");
        assert_eq!(
            Base::parse("defconfig", r).unwrap(),
            Base::MakeTarget("defconfig".into())
        );
        assert_eq!(
            Base::parse("kernel:/boot/vmlinuz", r).unwrap(),
            Base::Kernel("/boot/vmlinuz".into())
        );
        assert_eq!(
            Base::parse("iso:g.iso", r).unwrap(),
            Base::Iso("/ws/g.iso".into())
        );
        let pinned = Base::parse("iso:component:gentoo-minimal-iso", r).unwrap();
        assert_eq!(pinned, Base::IsoComponent("gentoo-minimal-iso".into()));
        assert_eq!(pinned.to_string(), "iso:component:gentoo-minimal-iso");
        let pinned = Base::parse("file:component:gentoo-kconfig-2018", r).unwrap();
        assert_eq!(pinned, Base::FileComponent("gentoo-kconfig-2018".into()));
        assert_eq!(pinned.to_string(), "file:component:gentoo-kconfig-2018");
        assert_eq!(
            Base::parse("file:my.config", r).unwrap(),
            Base::File("/ws/my.config".into())
        );
        for bad in [
            "iso:component:",
            "iso:component:a/b",
            "iso:",
            "file:",
            "file:component:",
        ] {
            let e = format!("{:#}", Base::parse(bad, r).unwrap_err());
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn the_shipped_profiles_resolve_to_existing_fragments() {
        let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for name in [DEFAULT_PROFILE] {
            let p = load(root, name).unwrap();
            assert_eq!(p.base, Base::MakeTarget("tinyconfig".into()));
            for f in &p.fragments {
                assert!(f.exists(), "{name}: {f} is missing");
                let text = std::fs::read_to_string(f).unwrap();
                super::super::config::parse(f.as_str(), &text).unwrap();
            }
        }
    }

    #[test]
    fn the_gentoo_profiles_start_from_pinned_optional_configs_then_tinys_fragments() {
        let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let lock = crate::lock::Lock::load(&root.join(crate::lock::LOCK_FILE)).unwrap();
        let tiny = load(root, DEFAULT_PROFILE).unwrap();
        for (name, component) in [
            ("gentoo-2018", "gentoo-kconfig-2018"),
            ("gentoo-2024", "gentoo-kconfig-2024"),
        ] {
            let p = load(root, name).unwrap();
            assert_eq!(p.base, Base::FileComponent(component.into()));
            assert!(p.fragments.starts_with(&tiny.fragments), "{name}");
            assert!(p.fragments.iter().all(|f| f.exists()), "{name}");
            let c = lock.get(component).unwrap();
            assert!(c.optional, "{component} stays out of the default build");
            assert!(c.dir.is_none(), "{component} is used as is");
            let src = &c.source[0];
            assert!(src.sha256.is_some(), "{component} is pinned by sha256");
            let origin = src.sha256_origin.as_deref().unwrap();
            assert!(origin.contains("gentoo/releng commit") && origin.contains("git blob"));
            assert!(src.urls[0].contains("raw.githubusercontent.com/gentoo/releng/"));
        }
    }
}
