//! The kernel configuration: a profile's base, its fragments merged in Rust,
//! `make olddefconfig`, then a check that every symbol a fragment sets kept
//! its value. When one did not, the error lists each dropped symbol with the
//! `depends on`/`select` lines Kconfig gives for it.

mod cmd;
pub mod compare;
pub mod config;
pub mod deps;
pub mod diff;
pub mod profile;

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::fsutil;
use crate::plan::{Command, Stage, Step};
use crate::stamp::Input;
pub use cmd::{run, Args};
use config::{Origin, Value, Wish};
use profile::{Base, Profile};

/// `ARCH=` for every kernel make invocation, and the matching `arch/` dir.
pub const ARCH: &str = "x86_64";
pub const SRCARCH: &str = "x86";
/// The initramfs file name, relative to the kernel's object tree: kbuild
/// reads `CONFIG_INITRAMFS_SOURCE` relative to where it runs (`O=`), so the
/// configuration holds no host path.
pub const INITRAMFS_FILE: &str = "gen-kexec-initramfs.cpio";

/// A kernel make command: `make -C SRC O=OBJ ARCH=x86_64 TARGETS...`.
pub fn make(src: &Utf8Path, obj: &Utf8Path) -> Command {
    Command::new("make", src)
        .arg(format!("O={obj}"))
        .arg(format!("ARCH={ARCH}"))
}

/// The wishes every profile gets on top of its fragments.
fn generated_wishes() -> Vec<(String, Wish)> {
    vec![(
        "INITRAMFS_SOURCE".to_owned(),
        Wish {
            value: Value::Set(format!("\"{INITRAMFS_FILE}\"")),
            origin: Origin {
                file: "(gen-kexec: the built-in initramfs)".to_owned(),
                line: 0,
            },
        },
    )]
}

/// Read and merge the fragments of a profile (plus extra fragment files).
pub fn wishes(fragments: &[Utf8PathBuf]) -> Result<BTreeMap<String, Wish>> {
    let mut parsed = Vec::new();
    for f in fragments {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read kernel config fragment {f}: does it exist?"))?;
        parsed.push(config::parse(f.as_str(), &text)?);
    }
    parsed.push(generated_wishes());
    Ok(config::merge_wishes(&parsed))
}

/// The configure step of a kernel build in object tree `obj`: writes
/// `obj/.config`.
pub fn configure_step(
    component: &str,
    profile: &Profile,
    src: &Utf8Path,
    obj: &Utf8Path,
) -> Result<Step> {
    let mut step = Step::new(component, Stage::Configure)
        .value("profile", profile.name.clone())
        .value("base", profile.base.to_string())
        .value("arch", ARCH);
    for f in &profile.fragments {
        step = step.input(Input::File(f.clone()));
    }
    step = match &profile.base {
        Base::MakeTarget(t) => step.run(make(src, obj).arg(t.clone())),
        Base::File(p) => {
            let (p, obj) = (p.clone(), obj.to_owned());
            step.input(Input::File(p.clone())).native(
                format!("copy {p} to {obj}/.config"),
                move |_| {
                    let text = std::fs::read(&p)
                        .with_context(|| format!("cannot read base config {p}"))?;
                    fsutil::write_atomic(&obj.join(".config"), &text)
                },
            )
        }
        Base::Kernel(p) | Base::Iso(p) => {
            let (base, obj) = (profile.base.clone(), obj.to_owned());
            step.input(Input::File(p.clone())).native(
                format!("extract the config embedded in {base} to {obj}/.config"),
                move |_| {
                    let x = match &base {
                        Base::Iso(iso) => crate::ikconfig::from_iso(iso),
                        Base::Kernel(kernel) => crate::ikconfig::from_kernel_file(kernel),
                        _ => unreachable!("only kernel: and iso: bases are extracted"),
                    }
                    .with_context(|| format!("kernel config base `{base}`"))?;
                    fsutil::write_atomic(&obj.join(".config"), &x.config)
                },
            )
        }
        // Keyed by the component's Fetch step (its pins in sources.lock),
        // which [`base_steps`] puts before this one.
        Base::IsoComponent(name) => {
            let (base, name, obj) = (profile.base.clone(), name.clone(), obj.to_owned());
            step.dep(&name).native(
                format!("extract the config embedded in {base} to {obj}/.config"),
                move |ws| {
                    let iso = crate::fetch::ensure(ws, &name)
                        .with_context(|| format!("kernel config base `{base}`"))?;
                    let x = crate::ikconfig::from_iso(&iso.path)
                        .with_context(|| format!("kernel config base `{base}`"))?;
                    fsutil::write_atomic(&obj.join(".config"), &x.config)
                },
            )
        }
        Base::FileComponent(name) => {
            let (base, name, obj) = (profile.base.clone(), name.clone(), obj.to_owned());
            step.dep(&name).native(
                format!("copy the config pinned as {base} to {obj}/.config"),
                move |ws| {
                    let file = crate::fetch::ensure(ws, &name)
                        .with_context(|| format!("kernel config base `{base}`"))?;
                    let text = std::fs::read(&file.path)
                        .with_context(|| format!("cannot read base config {}", file.path))?;
                    // `ensure` may trust an unchanged file from an earlier
                    // run; these are the bytes used, so hash them again.
                    let sha256 = crate::stamp::sha256_bytes(&text);
                    if sha256 != file.sha256 {
                        bail!(
                            "kernel config base `{base}`: {} changed while it was read \
                             (sha256 {sha256}, pinned {})",
                            file.path,
                            file.sha256
                        );
                    }
                    fsutil::write_atomic(&obj.join(".config"), &text)
                },
            )
        }
    };
    let frags = profile.fragments.clone();
    let obj_m = obj.to_owned();
    let frags_v = profile.fragments.clone();
    let (src_v, obj_v) = (src.to_owned(), obj.to_owned());
    Ok(step
        .native("merge the fragments into .config", move |_| {
            merge_into(&obj_m, &frags)
        })
        .run(make(src, obj).arg("olddefconfig"))
        .native(
            "check that every fragment symbol kept its value",
            move |_| verify(&src_v, &obj_v, &frags_v),
        )
        .output(obj.join(".config"))
        .output(obj.join(diff::BASE_FILE)))
}

/// The `sources.lock` component a base is pinned as, if any.
pub fn base_component(base: &Base) -> Option<&str> {
    match base {
        Base::IsoComponent(name) | Base::FileComponent(name) => Some(name),
        _ => None,
    }
}

/// What the base needs before [`configure_step`]: for
/// `iso:component:NAME` and `file:component:NAME`, the Fetch step of NAME
/// (the ISO or the config, verified against sources.lock); nothing for the
/// other bases.
pub fn base_steps(ws: &crate::ws::Ws, profile: &Profile) -> Result<Vec<Step>> {
    let Some(name) = base_component(&profile.base) else {
        return Ok(Vec::new());
    };
    let lock = ws.lock()?;
    if !lock.component.contains_key(name) {
        bail!(
            "profile `{}`: its base `{}` {}",
            profile.name,
            profile.base,
            not_in_lock(name)
        );
    }
    let what = match profile.base {
        Base::IsoComponent(_) => "image",
        _ => "kernel configuration",
    };
    Ok(vec![crate::recipes::fetch_step(ws, name, what)?])
}

/// Why an `iso:component:NAME` base cannot be had when the lock lacks NAME,
/// and what to do.
pub fn not_in_lock(name: &str) -> String {
    if name != "gentoo-minimal-iso" {
        return format!(
            "names the component `{name}`, which {} does not have",
            crate::lock::LOCK_FILE
        );
    }
    format!(
        "names the component `{name}`, which {} does not have.\n  For \
         `gentoo-minimal-iso`: its entry in sources.lock is a commented-out template until a \
         release is pinned; uncomment it and run `cargo xtask bump gentoo-minimal-iso STAMP` \
         (README: \"Pinning the Gentoo minimal ISO\"), or use the profile `gentoo-local` with \
         an ISO you downloaded and checked yourself.",
        crate::lock::LOCK_FILE
    )
}

fn merge_into(obj: &Utf8Path, fragments: &[Utf8PathBuf]) -> Result<()> {
    let path = obj.join(".config");
    let base = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read base config {path}"))?;
    // Kept for `cargo xtask kconfig --diff`.
    fsutil::write_atomic(&obj.join(diff::BASE_FILE), base.as_bytes())?;
    let merged = config::apply(&base, &wishes(fragments)?);
    fsutil::write_atomic(&path, merged.as_bytes())
}

/// Check `obj/.config` against the fragments; on failure explain each
/// dropped symbol from the Kconfig files in `src`.
pub fn verify(src: &Utf8Path, obj: &Utf8Path, fragments: &[Utf8PathBuf]) -> Result<()> {
    let path = obj.join(".config");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let result = config::values(path.as_str(), &text)?;
    let dropped = config::dropped(&wishes(fragments)?, &result);
    let rejected = obj.join(".config.rejected");
    if dropped.is_empty() {
        return match std::fs::remove_file(&rejected) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {rejected}"))
            }
            _ => Ok(()),
        };
    }
    let names: Vec<&str> = dropped.iter().map(|d| d.symbol.as_str()).collect();
    let found = deps::find(src, SRCARCH, &names)?;
    crate::fsutil::rename(&path, &rejected)?;
    bail!("{}", explain(&dropped, &found, &result))
}

/// The error text for dropped symbols.
pub fn explain(
    dropped: &[config::Dropped],
    found: &deps::Found,
    result: &BTreeMap<String, Value>,
) -> String {
    let mut msg = format!(
        "kernel config: {} symbol(s) set by the fragments did not survive `make olddefconfig`:\n",
        dropped.len()
    );
    for d in dropped {
        msg.push_str(&format!(
            "  CONFIG_{}: wanted {} ({}), got {}\n",
            d.symbol, d.wanted, d.origin, d.got
        ));
        match found.defs.get(&d.symbol) {
            None => msg.push_str("      no `config` entry in any Kconfig file: misspelt, or not in this kernel version?\n"),
            Some(list) => {
                for def in list {
                    if def.depends_on.is_empty() {
                        msg.push_str(&format!("      {}: no `depends on`\n", def.location));
                    }
                    for dep in &def.depends_on {
                        msg.push_str(&format!("      {}: depends on {}\n", def.location, deps::annotate(dep, result)));
                    }
                }
            }
        }
        // Turned on against the fragment's wish: by whom (only selectors
        // that are on themselves).
        if d.got != config::Value::NotSet {
            for sel in found.selected_by.get(&d.symbol).into_iter().flatten() {
                if result
                    .get(&sel.symbol)
                    .is_some_and(|v| *v != config::Value::NotSet)
                {
                    msg.push_str(&format!(
                        "      {}: selected by {} (`select {}`)   [{}={}]\n",
                        sel.location, sel.symbol, sel.select, sel.symbol, result[&sel.symbol]
                    ));
                }
            }
        }
    }
    msg.push_str(
        "Set what they depend on in a fragment too (kconfig-fragments/linux/), or drop the line; \
         the rejected config is kept as .config.rejected in the kernel build directory.",
    );
    msg
}

#[cfg(test)]
mod tests;
