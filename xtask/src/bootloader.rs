//! `cargo xtask bootloader`: `dist/bootx64.efi` (kernel + EFI stub +
//! built-in initramfs with the musl busybox and kexec) and its manifest:
//! every input and output with its sha256, and the final kernel config.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::initramfs;
use crate::kconfig::profile::{self, Profile};
use crate::plan::{self, Stage, Step};
use crate::recipes::{self, linux, Target};
use crate::stamp::sha256_file;
use crate::userland;
use crate::ws::Ws;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kernel configuration profile (kconfig-fragments/linux/profiles.toml).
    #[arg(long, default_value = profile::DEFAULT_PROFILE)]
    pub profile: String,
    /// Architecture to build for.
    #[arg(long, value_enum, default_value_t = Target::X86_64)]
    pub target: Target,
}

/// What a bootloader build leaves in `dist/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// Plan component of the step that writes them.
    pub component: String,
    pub efi: Utf8PathBuf,
    pub manifest: Utf8PathBuf,
}

/// `dist/bootx64.efi` for the default profile, `dist/<profile>/bootx64.efi`
/// for the others (they never take the default's place).
pub fn outputs(ws: &Ws, target: Target, profile: &str) -> Outputs {
    let dir = if profile == profile::DEFAULT_PROFILE {
        ws.dist.clone()
    } else {
        ws.dist.join(profile)
    };
    Outputs {
        component: target.component(&format!("bootloader-{profile}")),
        efi: dir.join("bootx64.efi"),
        manifest: dir.join("bootx64.manifest.toml"),
    }
}

/// Every step from sources to `dist/bootx64.efi`.
pub fn steps(ws: &Ws, target: Target, profile_name: &str) -> Result<(Vec<Step>, Outputs)> {
    let profile = profile::load(&ws.root, profile_name)?;
    let binaries = userland::binaries(ws, target).by_name();
    let ramfs = initramfs::step(ws, target, binaries, &userland::components(target))?;
    let cpio = initramfs::cpio_path(ws, target);
    let kernel = linux::kernel(ws, target, profile_name);
    let out = outputs(ws, target, profile_name);
    let install = {
        let (k, out2, prof) = (kernel.clone(), out.clone(), profile.clone());
        Step::new(&out.component, Stage::Install)
            .dep(&kernel.component)
            .native(format!("install {} and its manifest", out.efi), move |ws| {
                install(ws, target, &prof, &k, &out2)
            })
            .output(out.efi.clone())
            .output(out.manifest.clone())
    };
    let steps = recipes::merge_plans([
        userland::steps(ws, target)?,
        recipes::source_steps(ws, linux::SOURCE)?,
        vec![ramfs],
        linux::steps(ws, target, &profile, &initramfs::component(target), &cpio)?,
        vec![install],
    ]);
    Ok((steps, out))
}

fn install(
    ws: &Ws,
    target: Target,
    profile: &Profile,
    k: &linux::Kernel,
    out: &Outputs,
) -> Result<()> {
    let image = std::fs::read(&k.image).with_context(|| format!("cannot read {}", k.image))?;
    recipes::refuse_host_paths(ws, "the kernel image", &image)?;
    let manifest = manifest(ws, target, profile, k)?;
    crate::fsutil::write_atomic(&out.efi, &image)?;
    crate::fsutil::write_atomic(&out.manifest, manifest.as_bytes())
}

/// A path as the manifest shows it: relative to the workspace or the build
/// directory, never this machine's absolute path.
fn shown(ws: &Ws, p: &Utf8Path) -> String {
    if let Ok(r) = p.strip_prefix(&ws.build) {
        format!("build/{r}")
    } else if let Ok(r) = p.strip_prefix(&ws.root) {
        r.to_string()
    } else {
        p.file_name().unwrap_or(p.as_str()).to_owned()
    }
}

fn manifest(ws: &Ws, target: Target, profile: &Profile, k: &linux::Kernel) -> Result<String> {
    let mut m = String::new();
    let epoch = ws.source_date_epoch()?;
    writeln!(
        m,
        "# gen-kexec bootloader manifest: every input and output with its sha256."
    )?;
    writeln!(
        m,
        "target = \"{target}\"\nprofile = \"{}\"\nbase = \"{}\"",
        profile.name, profile.base
    )?;
    let base_pin = base_pin(ws, profile)?;
    if let Some(pin) = &base_pin {
        writeln!(m, "{}", pin.toml)?;
    }
    writeln!(m, "source_date_epoch = {epoch}\n")?;
    let mut entry = |kind: &str, what: &str, p: &Utf8Path| -> Result<()> {
        let size = std::fs::metadata(p)
            .with_context(|| format!("cannot stat {p}"))?
            .len();
        writeln!(
            m,
            "[[{kind}]]\nwhat = \"{what}\"\npath = \"{}\"\nsize = {size}\nsha256 = \"{}\"\n",
            shown(ws, p),
            sha256_file(p)?
        )?;
        Ok(())
    };
    entry("input", "lock", &ws.root.join(crate::lock::LOCK_FILE))?;
    for c in ["musl", "linux", "busybox", "kexec-tools"] {
        let f = crate::fetch::ensure(ws, c).with_context(|| format!("manifest: source of {c}"))?;
        entry("input", &format!("{c} source"), &f.path)?;
    }
    entry(
        "input",
        "kernel profiles",
        &ws.root.join(profile::PROFILES_FILE),
    )?;
    if let Some(pin) = &base_pin {
        entry("input", "kernel config base", &pin.path)?;
    }
    for f in &profile.fragments {
        entry("input", "kernel config fragment", f)?;
    }
    let layout = initramfs::Layout::load(&ws.root)?;
    entry(
        "input",
        "initramfs layout",
        &ws.root.join(initramfs::LAYOUT_FILE),
    )?;
    for f in layout.sources(&ws.root) {
        entry("input", "initramfs file", &f)?;
    }
    let bins = userland::binaries(ws, target);
    entry("input", "busybox (static, musl)", &bins.busybox)?;
    entry("input", "kexec (static, musl)", &bins.kexec)?;
    entry("input", "initramfs", &initramfs::cpio_path(ws, target))?;
    entry("output", "kernel config", &k.config)?;
    entry("output", "bootx64.efi", &k.image)?;
    let config =
        std::fs::read_to_string(&k.config).with_context(|| format!("cannot read {}", k.config))?;
    writeln!(m, "kernel_config = '''\n{config}'''")?;
    Ok(m)
}

/// A base pinned in `sources.lock` (`iso:component:NAME`,
/// `file:component:NAME`): the manifest's `base_pin` lines, and the file.
struct BasePin {
    toml: String,
    path: Utf8PathBuf,
}

fn base_pin(ws: &Ws, profile: &Profile) -> Result<Option<BasePin>> {
    let Some(name) = crate::kconfig::base_component(&profile.base) else {
        return Ok(None);
    };
    let f = crate::fetch::ensure(ws, name).with_context(|| format!("manifest: base {name}"))?;
    let entry = ws.lock()?.get(name)?;
    let src = &entry.source[f.source_index];
    let mut toml = format!(
        "base_pin = {{ component = \"{name}\", version = \"{}\", file = \"{}\", sha256 = \"{}\"",
        entry.version, src.file, f.sha256
    );
    if let Some(origin) = &src.sha256_origin {
        toml.push_str(&format!(
            ", sha256_origin = {}",
            toml::Value::from(origin.as_str())
        ));
    }
    toml.push_str(" }");
    Ok(Some(BasePin { toml, path: f.path }))
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let (steps, out) = steps(ws, args.target, &args.profile)?;
    let outcomes = plan::execute(ws, &steps).context("bootloader")?;
    if !ws.dry_run {
        println!("  {}", plan::summary(&outcomes));
        report_sizes(ws, args.target, &[&out.efi])?;
    }
    Ok(())
}

/// Print the sizes of the artifacts and what goes into them.
pub fn report_sizes(ws: &Ws, target: Target, extra: &[&Utf8Path]) -> Result<()> {
    let bins = userland::binaries(ws, target);
    let cpio = initramfs::cpio_path(ws, target);
    for p in [bins.busybox.as_path(), bins.kexec.as_path(), cpio.as_path()]
        .into_iter()
        .chain(extra.iter().copied())
    {
        let size = std::fs::metadata(p)
            .with_context(|| format!("cannot stat {p}"))?
            .len();
        println!(
            "  {:>9} bytes {:>8.2} MiB  {}",
            size,
            size as f64 / 1048576.0,
            shown(ws, p)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipes::testutil;

    #[test]
    fn plan_goes_from_sources_through_userland_initramfs_and_kernel_to_dist() {
        let ws = testutil::ws();
        let (steps, out) = steps(&ws, Target::X86_64, "tiny").unwrap();
        let ids: Vec<String> = steps.iter().map(Step::id).collect();
        let pos = |id: &str| {
            ids.iter()
                .position(|i| i == id)
                .unwrap_or_else(|| panic!("{id} not in {ids:?}"))
        };
        assert!(pos("linux.extract") < pos("linux-tiny-x86_64.configure"));
        for c in userland::components(Target::X86_64) {
            let last = ids
                .iter()
                .rposition(|i| i.starts_with(&format!("{c}.")))
                .unwrap();
            assert!(
                last < pos("initramfs-x86_64.build"),
                "{c} is built before the initramfs"
            );
        }
        assert!(pos("initramfs-x86_64.build") < pos("linux-tiny-x86_64.link"));
        assert_eq!(ids.last().unwrap(), "bootloader-tiny-x86_64.install");
        assert_eq!(
            ids.iter().filter(|i| *i == "linux.extract").count(),
            1,
            "kernel and headers share the source"
        );
        assert_eq!(out.efi, ws.dist.join("bootx64.efi"));
        assert_eq!(
            outputs(&ws, Target::X86_64, "gentoo").efi,
            ws.dist.join("gentoo/bootx64.efi")
        );
    }
}
