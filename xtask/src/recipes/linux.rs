//! The bootloader kernel: configure (profile), compile, then link in the
//! initramfs.
//!
//! Out of tree (`O=`) in `build/<target>/obj/linux-<profile>`, with
//! `KBUILD_BUILD_*` fixed so the image does not depend on who built it or
//! when. The initramfs is an input of the last step only: a changed `/init`
//! reruns that step, in which kbuild only regenerates `usr/` and relinks.
//! The compile step builds `vmlinux` with `CONFIG_INITRAMFS_SOURCE`
//! overridden to empty, so that it needs no initramfs and its stamp does not
//! depend on one.

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::kconfig::{self, profile::Profile};
use crate::plan::{Command, Stage, Step};
use crate::recipes::{self, Dirs, Target};
use crate::stamp::Input;
use crate::utc::Utc;
use crate::ws::Ws;

pub const SOURCE: &str = "linux";

/// Where one profile's kernel build lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// Plan component of the configure/compile/link steps.
    pub component: String,
    pub src: Utf8PathBuf,
    pub obj: Utf8PathBuf,
    /// The resolved configuration.
    pub config: Utf8PathBuf,
    /// The EFI-bootable image (bzImage with the EFI stub and the initramfs).
    pub image: Utf8PathBuf,
}

pub fn kernel(ws: &Ws, target: Target, profile: &str) -> Kernel {
    let component = target.component(&format!("{SOURCE}-{profile}"));
    let obj = Dirs::new(ws, target).obj_of(&format!("{SOURCE}-{profile}"));
    Kernel {
        src: recipes::src_dir(ws, SOURCE),
        config: obj.join(".config"),
        image: obj.join("arch/x86/boot/bzImage"),
        obj,
        component,
    }
}

/// `KBUILD_BUILD_*`: what `uname -v`, `/proc/version` and the image header
/// say instead of this machine's user, host name, build count and clock.
pub fn kbuild_env(epoch: u64) -> [(&'static str, String); 4] {
    [
        ("KBUILD_BUILD_TIMESTAMP", utc_date(epoch)),
        ("KBUILD_BUILD_USER", "gen-kexec".to_owned()),
        ("KBUILD_BUILD_HOST", "gen-kexec".to_owned()),
        ("KBUILD_BUILD_VERSION", "1".to_owned()),
    ]
}

fn kbuild(ws: &Ws, k: &Kernel, epoch: u64) -> Command {
    let mut c = kconfig::make(&k.src, &k.obj).arg(format!("-j{}", ws.jobs()));
    for (key, v) in kbuild_env(epoch) {
        c = c.env(key, v);
    }
    c
}

/// The kernel's steps after its sources (`linux fetch`/`extract`, from
/// [`recipes::source_steps`]): configure, compile, link. `initramfs` is the
/// plan component whose last step wrote the cpio at `cpio`.
pub fn steps(
    ws: &Ws,
    target: Target,
    profile: &Profile,
    initramfs: &str,
    cpio: &Utf8Path,
) -> Result<Vec<Step>> {
    let k = kernel(ws, target, &profile.name);
    let epoch = ws.source_date_epoch()?;
    let configure = kconfig::configure_step(&k.component, profile, &k.src, &k.obj)
        .context("linux: configure")?
        .dep(SOURCE);
    let compile = Step::new(&k.component, Stage::Build)
        .input(Input::Tool("gcc".into()))
        .input(Input::Tool("ld".into()))
        .run(
            kbuild(ws, &k, epoch)
                .arg("vmlinux")
                .arg("CONFIG_INITRAMFS_SOURCE="),
        )
        .output(k.obj.join("vmlinux"));
    let in_tree = k.obj.join(kconfig::INITRAMFS_FILE);
    let from = cpio.to_owned();
    let link = Step::new(&k.component, Stage::Link)
        .dep(initramfs)
        .native(format!("copy {from} to {in_tree}"), {
            let in_tree = in_tree.clone();
            move |_| copy_if_changed(&from, &in_tree)
        })
        .run(kbuild(ws, &k, epoch).arg("bzImage"))
        .output(k.image.clone());
    let mut steps = kconfig::base_steps(ws, profile)?;
    steps.extend([configure, compile, link]);
    Ok(steps)
}

/// Copy unless `to` already holds the same bytes (kbuild goes by mtime).
fn copy_if_changed(from: &Utf8Path, to: &Utf8Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {from}"))?;
    if std::fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    crate::fsutil::write_atomic(to, &bytes)
}

/// `date -u` style text for a Unix time: `Wed Jan  1 00:00:00 UTC 2025`.
pub fn utc_date(epoch: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = Utc::from_epoch(epoch);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} UTC {}",
        WEEKDAYS[t.weekday as usize],
        MONTHS[(t.month - 1) as usize],
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::describe;
    use crate::recipes::testutil;

    #[test]
    fn utc_dates_match_date_u() {
        assert_eq!(utc_date(0), "Thu Jan  1 00:00:00 UTC 1970");
        assert_eq!(utc_date(1_735_689_600), "Wed Jan  1 00:00:00 UTC 2025");
        assert_eq!(utc_date(951_827_696), "Tue Feb 29 12:34:56 UTC 2000");
    }

    #[test]
    fn plan_configures_compiles_without_initramfs_then_links_it_in() {
        let ws = testutil::ws();
        let profile = kconfig::profile::load(&ws.root, "tiny").unwrap();
        let cpio = Utf8Path::new("/nonexistent/gen-kexec-test/build/x86_64/initramfs.cpio");
        let steps = steps(&ws, Target::X86_64, &profile, "initramfs-x86_64", cpio).unwrap();
        let ids: Vec<String> = steps.iter().map(Step::id).collect();
        assert_eq!(
            ids,
            [
                "linux-tiny-x86_64.configure",
                "linux-tiny-x86_64.build",
                "linux-tiny-x86_64.link"
            ]
        );
        assert_eq!(steps[0].deps, ["linux"]);
        assert!(
            steps[1].deps.is_empty(),
            "compiling does not wait for the initramfs"
        );
        assert_eq!(steps[2].deps, ["initramfs-x86_64"], "linking does");
        let text = describe(&steps);
        let obj = "/nonexistent/gen-kexec-test/build/x86_64/obj/linux-tiny";
        for want in [
            format!("make O={obj} ARCH=x86_64 tinyconfig"),
            format!("input  file {}/kconfig-fragments/linux/storage.config", ws.root),
            "KBUILD_BUILD_HOST=gen-kexec KBUILD_BUILD_TIMESTAMP='Wed Jan  1 00:00:00 UTC 2025' KBUILD_BUILD_USER=gen-kexec KBUILD_BUILD_VERSION=1 make".to_owned(),
            "vmlinux CONFIG_INITRAMFS_SOURCE=)".to_owned(),
            format!("copy {cpio} to {obj}/gen-kexec-initramfs.cpio"),
            format!("-j{} bzImage)", ws.jobs()),
            format!("output {obj}/arch/x86/boot/bzImage"),
        ] {
            assert!(text.contains(&want), "`{want}` missing from:\n{text}");
        }
    }
}
