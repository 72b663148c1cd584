//! `cargo xtask ikconfig-check`: the round trip an `iso:` base relies on,
//! on this project's own kernel. Builds (or reuses, behind stamps) the
//! bootloader, puts its `bootx64.efi` on an ISO laid out like Gentoo's
//! minimal install CD (`isolinux/gentoo`, `isolinux/gentoo.igz`,
//! `isolinux/isolinux.cfg`, isolinux El Torito boot; made by xorriso as the
//! e2e fixtures are), extracts the configuration from that ISO exactly as an
//! `iso:` base does, and requires it to equal the build's `.config` byte for
//! byte; the build's manifest must record both files' sha256.
//!
//! The ISO stays at `build/ikconfig/gentoo-like.iso`, where the
//! `gentoo-fixture` kernel profile takes its base from it.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{cmd, Shell};

use crate::bootloader;
use crate::fsutil;
use crate::kconfig::profile::DEFAULT_PROFILE;
use crate::plan::{self, Stage, Step};
use crate::recipes::{linux, Target};
use crate::stamp::{sha256_bytes, sha256_file, Input};
use crate::ws::Ws;

/// The fixture ISO, relative to the build directory.
pub const FIXTURE: &str = "ikconfig/gentoo-like.iso";
/// What makes the fixture bootable by BIOS, as Gentoo's is (Debian's
/// `isolinux` and `syslinux-common`).
const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const LDLINUX_C32: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";

/// Gentoo's `isolinux/isolinux.cfg`, as on install-amd64-minimal ISOs
/// with isolinux (the message files left out).
pub const ISOLINUX_CFG: &str = "default gentoo\ntimeout 150\nontimeout localhost\nprompt 1\n\n\
    label gentoo\n  kernel gentoo\n  append root=/dev/ram0 init=/linuxrc  dokeymap \
    looptype=squashfs loop=/image.squashfs  cdroot initrd=gentoo.igz vga=791\n\n\
    label gentoo-nofb\n  kernel gentoo\n  append root=/dev/ram0 init=/linuxrc  dokeymap \
    looptype=squashfs loop=/image.squashfs  cdroot initrd=gentoo.igz\n\n\
    label memtest86\n  kernel memtest86\n\n\
    label localhost\n  localboot -1\n  MENU HIDE\n";

#[derive(Debug, clap::Args)]
#[group(id = "ikconfig-check-args")]
pub struct Args {
    /// The bootloader's kernel configuration profile.
    #[arg(long, default_value = DEFAULT_PROFILE)]
    pub profile: String,
    /// Architecture of the bootloader.
    #[arg(long, value_enum, default_value_t = Target::X86_64)]
    pub target: Target,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            profile: DEFAULT_PROFILE.to_owned(),
            target: Target::X86_64,
        }
    }
}

pub fn fixture_path(ws: &Ws) -> Utf8PathBuf {
    ws.build.join(FIXTURE)
}

/// Write the Gentoo-like ISO holding `kernel` as `isolinux/gentoo` to `out`
/// (through `out.partial`), staging its tree in `work`.
pub fn make_fixture(sh: &Shell, kernel: &Utf8Path, work: &Utf8Path, out: &Utf8Path) -> Result<()> {
    for f in [ISOLINUX_BIN, LDLINUX_C32] {
        if !Utf8Path::new(f).is_file() {
            bail!("{f} is missing: install the test packages (cargo xtask host-deps --test)");
        }
    }
    fsutil::remove_dir_all_if_exists(work)?;
    let tree = work.join("tree");
    let iso_dir = tree.join("isolinux");
    std::fs::create_dir_all(&iso_dir).with_context(|| format!("cannot create {iso_dir}"))?;
    let copy = |from: &Utf8Path, name: &str| {
        std::fs::copy(from, iso_dir.join(name))
            .with_context(|| format!("cannot copy {from} to {iso_dir}/{name}"))
    };
    copy(kernel, "gentoo")?;
    copy(ISOLINUX_BIN.into(), "isolinux.bin")?;
    copy(LDLINUX_C32.into(), "ldlinux.c32")?;
    let placeholder = b"placeholder: the ikconfig check only reads the kernel\n";
    fsutil::write_atomic(&iso_dir.join("isolinux.cfg"), ISOLINUX_CFG.as_bytes())?;
    fsutil::write_atomic(&iso_dir.join("gentoo.igz"), placeholder)?;
    fsutil::write_atomic(&tree.join("image.squashfs"), placeholder)?;
    let partial = fsutil::partial_path(out);
    cmd!(
        sh,
        "xorriso -as mkisofs -quiet -o {partial} -c isolinux/boot.cat -b isolinux/isolinux.bin
            -no-emul-boot -boot-load-size 4 -boot-info-table -V ISOIMAGE -R -J {tree}"
    )
    .quiet()
    .run()
    .with_context(|| format!("xorriso could not make {out} (is xorriso installed?)"))?;
    fsutil::rename(&partial, out)?;
    fsutil::remove_dir_all_if_exists(work)
}

/// The plan step writing the fixture ISO around the bootloader `out`.
fn fixture_step(ws: &Ws, out: &bootloader::Outputs) -> Step {
    let (efi, iso) = (out.efi.clone(), fixture_path(ws));
    let work = ws.build.join("ikconfig/tree");
    Step::new("ikconfig-fixture", Stage::Build)
        .dep(&out.component)
        .input(Input::File(efi.clone()))
        .input(Input::File(ISOLINUX_BIN.into()))
        .input(Input::File(LDLINUX_C32.into()))
        .input(Input::Tool("xorriso".into()))
        .value("isolinux.cfg", ISOLINUX_CFG)
        .native(
            format!("Gentoo-like ISO {iso}: {efi} as isolinux/gentoo (xorriso)"),
            move |ws| make_fixture(&ws.sh, &efi, &work, &iso),
        )
        .output(fixture_path(ws))
}

/// What the build says it made: the kernel image's and the config's sha256
/// in the manifest.
fn manifest_sha256(manifest: &Utf8Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read the bootloader manifest {manifest}"))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("{manifest}: not valid TOML"))?;
    doc.get("output")
        .and_then(|o| o.as_array())
        .into_iter()
        .flatten()
        .find(|o| o.get("what").and_then(|w| w.as_str()) == Some(what))
        .and_then(|o| o.get("sha256")?.as_str().map(str::to_owned))
        .with_context(|| format!("{manifest}: no [[output]] with what = \"{what}\" and a sha256"))
}

/// The first line where two configs differ, for the error.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (mut al, mut bl) = (a.lines(), b.lines());
    for n in 1.. {
        match (al.next(), bl.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return "they differ only in line endings".into(),
            (x, y) => {
                return format!(
                    "line {n}: the build has `{}`, the ISO's kernel `{}`",
                    x.unwrap_or("(end of file)"),
                    y.unwrap_or("(end of file)")
                )
            }
        }
    }
    unreachable!()
}

/// Extract the config of `iso`'s default kernel and compare it with the
/// build's `config`, and both files with what `manifest` records for
/// them. Returns one line saying what was checked.
pub fn verify(
    iso: &Utf8Path,
    efi: &Utf8Path,
    config: &Utf8Path,
    manifest: &Utf8Path,
) -> Result<String> {
    let x = super::from_iso(iso)?;
    let built = std::fs::read(config)
        .with_context(|| format!("cannot read the build's config {config}"))?;
    if x.config != built {
        let kept = iso.with_extension("extracted.config");
        fsutil::write_atomic(&kept, &x.config)?;
        bail!(
            "the config extracted from {} ({} bytes, kept as {kept}) differs from the build's \
             {config} ({} bytes): {}",
            x.origin,
            x.config.len(),
            built.len(),
            first_difference(&built, &x.config)
        );
    }
    let digest = sha256_bytes(&built);
    let recorded = manifest_sha256(manifest, "kernel config")?;
    if recorded != digest {
        bail!("{manifest} records the kernel config's sha256 as {recorded}, but {config} has {digest}: rebuild (cargo xtask bootloader)");
    }
    let efi_digest = sha256_file(efi)?;
    let recorded = manifest_sha256(manifest, "bootx64.efi")?;
    if recorded != efi_digest {
        bail!("{manifest} records bootx64.efi's sha256 as {recorded}, but {efi} has {efi_digest}: rebuild (cargo xtask bootloader)");
    }
    Ok(format!(
        "the config extracted from {} equals {config} byte for byte ({} bytes, sha256 {digest}); \
         {manifest} records it and bootx64.efi (sha256 {efi_digest})",
        x.origin,
        built.len()
    ))
}

/// `cargo xtask ikconfig-check`, and the last step of `cargo xtask test`.
pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let (mut steps, out) = bootloader::steps(ws, args.target, &args.profile)?;
    steps.push(fixture_step(ws, &out));
    plan::execute(ws, &steps).context("ikconfig-check: bootloader and its Gentoo-like ISO")?;
    if ws.dry_run {
        return Ok(());
    }
    let k = linux::kernel(ws, args.target, &args.profile);
    let line =
        verify(&fixture_path(ws), &out.efi, &k.config, &out.manifest).context("ikconfig-check")?;
    println!("ikconfig-check: {line}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikconfig::tests::{fake_kernel, tempdir};

    use crate::ikconfig::decompress::Format;

    fn manifest(config: &[u8], efi: &Utf8Path) -> String {
        format!(
            "profile = \"tiny\"\n[[output]]\nwhat = \"kernel config\"\nsha256 = \"{}\"\n\n\
             [[output]]\nwhat = \"bootx64.efi\"\nsha256 = \"{}\"\n",
            sha256_bytes(config),
            sha256_file(efi).unwrap()
        )
    }

    #[test]
    fn the_round_trip_passes_only_on_the_same_bytes() {
        let (_t, dir) = tempdir();
        let config = "CONFIG_64BIT=y\nCONFIG_IKCONFIG=y\n# CONFIG_IKCONFIG_PROC is not set\n";
        let efi = dir.join("bootx64.efi");
        std::fs::write(&efi, fake_kernel(Format::Xz, config)).unwrap();
        let cfg = dir.join(".config");
        std::fs::write(&cfg, config).unwrap();
        let man = dir.join("manifest.toml");
        std::fs::write(&man, manifest(config.as_bytes(), &efi)).unwrap();
        let iso = dir.join("gentoo-like.iso");
        make_fixture(&Shell::new().unwrap(), &efi, &dir.join("work"), &iso).unwrap();
        assert!(!dir.join("work").exists() && !fsutil::partial_path(&iso).exists());

        let line = verify(&iso, &efi, &cfg, &man).unwrap();
        assert!(
            line.contains(":/isolinux/gentoo (isolinux/isolinux.cfg: default label `gentoo`)"),
            "{line}"
        );
        assert!(line.contains("byte for byte"), "{line}");

        // The build's config has one more line than the kernel carries.
        std::fs::write(&cfg, format!("{config}CONFIG_EXTRA=y\n")).unwrap();
        let e = format!("{:#}", verify(&iso, &efi, &cfg, &man).unwrap_err());
        assert!(e.contains("differs from the build's"), "{e}");
        assert!(
            e.contains("line 4: the build has `CONFIG_EXTRA=y`, the ISO's kernel `(end of file)`"),
            "{e}"
        );
        assert!(dir.join("gentoo-like.extracted.config").is_file());

        // Same config, but the manifest describes another bootx64.efi.
        std::fs::write(&cfg, config).unwrap();
        std::fs::write(&man, manifest(config.as_bytes(), &cfg)).unwrap();
        let e = format!("{:#}", verify(&iso, &efi, &cfg, &man).unwrap_err());
        assert!(e.contains("records bootx64.efi's sha256"), "{e}");
    }

    #[test]
    fn the_plan_builds_the_bootloader_then_the_iso() {
        let ws = crate::recipes::testutil::ws();
        let (mut steps, out) = bootloader::steps(&ws, Target::X86_64, "tiny").unwrap();
        steps.push(fixture_step(&ws, &out));
        let text = plan::describe(&steps);
        let at = |s: &str| {
            text.find(s)
                .unwrap_or_else(|| panic!("`{s}` missing in:\n{text}"))
        };
        assert!(at("bootloader-tiny-x86_64 install") < at("ikconfig-fixture build"));
        assert!(text.contains(&format!("input  file {}", out.efi)));
        assert!(text.contains("output /nonexistent/gen-kexec-test/build/ikconfig/gentoo-like.iso"));
    }
}
