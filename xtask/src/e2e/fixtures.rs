//! The legacy images the end-to-end tests boot, made at run time from Debian
//! packages (never committed): a real distro kernel (`linux-image-amd64`), a
//! tiny marker initramfs around a static busybox (`busybox-static`), and
//! the BIOS bootloaders (`isolinux`, `syslinux`, `syslinux-common`).
//!
//! Two layouts, as users meet them:
//! - `iso`: a Gentoo-minimal-like isolinux hybrid ISO (xorriso +
//!   isohdpfx.bin), `isolinux/gentoo` + `isolinux/gentoo.igz`;
//! - `gpt`: a GPT disk whose FAT partition 1 holds a Debian-installer-like
//!   menu (`syslinux/syslinux.cfg` with `include`, `default vesamenu.c32`,
//!   `menu default`, relative and absolute paths), made bootable for BIOS
//!   without root: `syslinux --install` works on the FAT image file through
//!   mtools, gptmbr.bin goes into the protective MBR, and partition 1 gets
//!   the LegacyBIOSBootable attribute;
//! - `ext4`: a GPT disk whose ext4 partition 1 (`mkfs.ext4 -d`, no mount)
//!   holds an Arch-like `boot/extlinux/extlinux.conf` (`LINUX`, `INITRD`
//!   directive, `UI menu.c32`). UEFI only: installing extlinux's boot
//!   sector needs the filesystem mounted, so root; gen-kexec does not care.
//!
//! Each fixture is one plan step behind a stamp: a no-op run only hashes
//! the inputs.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::cmd;

use super::initrd;
use crate::fsutil;
use crate::plan::{Command, Stage, Step};
use crate::stamp::Input;
use crate::ws::Ws;

pub const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
pub const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
pub const BIOS_MODULES: &str = "/usr/lib/syslinux/modules/bios";
pub const GPTMBR: &str = "/usr/lib/syslinux/mbr/gptmbr.bin";
pub const BUSYBOX: &str = "/bin/busybox";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    IsolinuxIso,
    GptSyslinuxFat,
    GptExtlinuxExt4,
}

/// A legacy image to build, and what booting it must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixture {
    pub name: &'static str,
    pub layout: Layout,
    /// The `e2e.label=` word of the label that must boot: proves the
    /// right label was chosen (DEFAULT, MENU DEFAULT).
    pub label: &'static str,
    /// The default label's kernel is missing (negative case).
    pub broken: bool,
}

/// Every fixture the cases use.
pub const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "iso",
        layout: Layout::IsolinuxIso,
        label: "gentoo",
        broken: false,
    },
    Fixture {
        name: "gpt",
        layout: Layout::GptSyslinuxFat,
        label: "live",
        broken: false,
    },
    Fixture {
        name: "ext4",
        layout: Layout::GptExtlinuxExt4,
        label: "arch",
        broken: false,
    },
    Fixture {
        name: "iso-missing-kernel",
        layout: Layout::IsolinuxIso,
        label: "gentoo",
        broken: true,
    },
];

impl Layout {
    /// Can SeaBIOS boot it? (extlinux's boot sector needs a mounted
    /// filesystem to install, so root; the ext4 fixture is UEFI only.)
    #[cfg(test)]
    pub fn bios_bootable(self) -> bool {
        self != Layout::GptExtlinuxExt4
    }
}

impl Fixture {
    pub fn path(&self, ws: &Ws) -> Utf8PathBuf {
        dir(ws).join(format!("{}.img", self.name))
    }
    /// What its /init prints last: `E2E-TARGET: marker <this>`.
    pub fn marker(&self) -> String {
        format!("{}-reached-init", self.name)
    }
    /// The kernel the broken fixture's config names (and does not ship).
    pub const MISSING_KERNEL: &'static str = "gentoo-missing";
}

pub fn dir(ws: &Ws) -> Utf8PathBuf {
    ws.build.join("e2e/fixtures")
}

/// The Debian kernel the fixtures boot: the newest `/boot/vmlinuz-*`.
#[derive(Debug, Clone)]
pub struct DistroKernel {
    pub path: Utf8PathBuf,
    /// Its release, as in its `Linux version` banner (`6.1.0-56-amd64`).
    pub release: String,
}

pub fn distro_kernel() -> Result<DistroKernel> {
    let mut found: Vec<(Vec<u64>, String)> = Vec::new();
    for entry in Utf8Path::new("/boot")
        .read_dir_utf8()
        .context("cannot list /boot")?
    {
        let name = entry?.file_name().to_owned();
        if let Some(release) = name.strip_prefix("vmlinuz-") {
            let key = release
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect();
            found.push((key, release.to_owned()));
        }
    }
    found.sort();
    let Some((_, release)) = found.pop() else {
        bail!("no /boot/vmlinuz-*: the tests boot Debian's kernel; install `linux-image-amd64` (cargo xtask host-deps --test)");
    };
    let path = Utf8PathBuf::from(format!("/boot/vmlinuz-{release}"));
    std::fs::File::open(&path).with_context(|| {
        format!("cannot read {path}: Debian makes it readable by root only; run the tests as root or `chmod a+r {path}`")
    })?;
    Ok(DistroKernel { path, release })
}

/// The plan steps that build every fixture in `fixtures`.
pub fn steps(ws: &Ws, kernel: &DistroKernel, fixtures: &[Fixture]) -> Result<Vec<Step>> {
    for tool in [ISOHDPFX, ISOLINUX_BIN, GPTMBR, BUSYBOX] {
        if !Utf8Path::new(tool).is_file() {
            bail!("{tool} is missing: install the test packages (cargo xtask host-deps --test)");
        }
    }
    let busybox = std::fs::read(BUSYBOX).with_context(|| format!("cannot read {BUSYBOX}"))?;
    if !initrd::is_static_elf(&busybox) {
        bail!("{BUSYBOX} is dynamically linked, but the marker initramfs has no libc: install `busybox-static`");
    }
    let epoch = ws.source_date_epoch()?;
    Ok(fixtures
        .iter()
        .map(|f| step(ws, kernel, *f, epoch))
        .collect())
}

fn step(ws: &Ws, kernel: &DistroKernel, f: Fixture, epoch: u64) -> Step {
    let out = f.path(ws);
    let work = dir(ws).join(f.name);
    let tree = work.join("tree");
    let partial = fsutil::partial_path(&out);
    let mut s = Step::new(&format!("e2e-{}", f.name), Stage::Build)
        .value("fixture", format!("{f:?}"))
        .input(Input::File(kernel.path.clone()))
        .input(Input::File(BUSYBOX.into()));
    let (kernel_src, cfgs) = (kernel.path.clone(), configs(f));
    let files = cfgs.clone();
    s = s.native(
        format!("stage {tree}: kernel, marker initramfs, configs"),
        move |_| {
            fsutil::remove_dir_all_if_exists(&work)?;
            stage(&tree, f, &kernel_src, &files, epoch)
        },
    );
    for (path, text) in &cfgs {
        s = s.value(path, text.clone());
    }
    let work_dir = dir(ws).join(f.name);
    let tree = work_dir.join("tree");
    match f.layout {
        Layout::IsolinuxIso => {
            s = s
                .input(Input::File(ISOHDPFX.into()))
                .input(Input::File(ISOLINUX_BIN.into()))
                .input(Input::Tool("xorriso".into()))
                .run(Command::new("xorriso", &tree).args([
                    "-as",
                    "mkisofs",
                    "-quiet",
                    "-o",
                    partial.as_str(),
                    "-isohybrid-mbr",
                    ISOHDPFX,
                    "-c",
                    "isolinux/boot.cat",
                    "-b",
                    "isolinux/isolinux.bin",
                    "-no-emul-boot",
                    "-boot-load-size",
                    "4",
                    "-boot-info-table",
                    "-V",
                    "GENTOO_E2E",
                    "-R",
                    "-J",
                    ".",
                ]));
        }
        Layout::GptSyslinuxFat => {
            let fat = work_dir.join("fat.img");
            s = s
                .input(Input::File(GPTMBR.into()))
                .input(Input::Tool("syslinux".into()))
                .input(Input::Tool("mcopy".into()))
                .run(Command::new("mkfs.vfat", &tree).args([
                    "-C",
                    "--invariant",
                    "-i",
                    "0e2e0002",
                    "-n",
                    "LEGACY",
                    fat.as_str(),
                    &(FS_SECTORS / 2).to_string(),
                ]))
                .run(
                    Command::new("mcopy", &tree)
                        .env("MTOOLS_SKIP_CHECK", "1")
                        .args(["-s", "-m", "-i", fat.as_str(), "boot", "syslinux", "::/"]),
                )
                .run(Command::new("syslinux", &tree).args([
                    "--install",
                    "--directory",
                    "/syslinux",
                    fat.as_str(),
                ]));
            let part = partial.clone();
            s = s.native(
                format!("GPT disk {part}: FAT at sector {FS_START}, gptmbr.bin"),
                move |ws| gpt_disk(ws, &fat, &part, BASIC_DATA, true),
            );
        }
        Layout::GptExtlinuxExt4 => {
            let ext4 = work_dir.join("ext4.img");
            s = s.input(Input::Tool("mkfs.ext4".into())).run(
                Command::new("mkfs.ext4", &tree).args([
                    "-q",
                    "-F",
                    "-d",
                    ".",
                    "-L",
                    "legacy-root",
                    "-U",
                    "0e2e0003-0000-4000-8000-000000000003",
                    "-E",
                    "root_owner=0:0",
                    ext4.as_str(),
                    &format!("{}k", FS_SECTORS / 2),
                ]),
            );
            let part = partial.clone();
            s = s.native(
                format!("GPT disk {part}: ext4 at sector {FS_START}"),
                move |ws| gpt_disk(ws, &ext4, &part, LINUX_FS, false),
            );
        }
    }
    let (from, to) = (partial, out.clone());
    s.native(format!("rename to {to}"), move |_| {
        fsutil::rename(&from, &to)
    })
    .output(out)
}

/// The syslinux configs of a fixture: (path in the image, text).
pub fn configs(f: Fixture) -> Vec<(String, String)> {
    let kernel = if f.broken {
        Fixture::MISSING_KERNEL
    } else {
        "gentoo"
    };
    match f.layout {
        Layout::IsolinuxIso => vec![(
            "isolinux/isolinux.cfg".into(),
            format!(
                "# Like Gentoo's minimal install CD, with the kernel's output on serial.\n\
                 serial 0 115200\ndefault gentoo\ntimeout 1\nprompt 0\n\n\
                 label gentoo\n  kernel {kernel}\n  append root=/dev/ram0 init=/linuxrc initrd=gentoo.igz \
                 console=ttyS0,115200 e2e.label=gentoo\n"
            ),
        )],
        Layout::GptSyslinuxFat => vec![
            (
                "syslinux/syslinux.cfg".into(),
                "# Like a Debian installer image: the menu lives in included files.\n\
                 serial 0 115200\npath\ninclude menu.cfg\ndefault vesamenu.c32\nprompt 0\ntimeout 5\n"
                    .into(),
            ),
            (
                "syslinux/menu.cfg".into(),
                "menu hshift 4\nmenu title gen-kexec e2e fixture\ninclude stdmenu.cfg\ninclude missing-theme.cfg\n\
                 LABEL rescue\n\tmenu label ^Rescue mode\n\tkernel /boot/vmlinuz\n\
                 \tappend initrd=/boot/initrd.gz console=ttyS0,115200 e2e.label=rescue\n\
                 Label live\n\tmenu label ^Live\n\tMENU DEFAULT\n\tlinux ../boot/vmlinuz\n\
                 \tAPPEND initrd=../boot/initrd.gz console=ttyS0,115200 e2e.label=live\n"
                    .into(),
            ),
            ("syslinux/stdmenu.cfg".into(), "menu color title 1;36;44 #ff8bc2ff #00000000 std\n".into()),
        ],
        Layout::GptExtlinuxExt4 => vec![(
            "boot/extlinux/extlinux.conf".into(),
            "# Like Arch Linux's syslinux-install_update layout.\n\
             UI menu.c32\nPROMPT 0\nTIMEOUT 50\nDEFAULT arch\n\n\
             LABEL arch\n    MENU LABEL Arch Linux\n    LINUX ../vmlinuz-linux\n\
             \x20   APPEND root=/dev/disk/by-label/legacy-root rw console=ttyS0,115200 e2e.label=arch\n\
             \x20   INITRD ../initramfs-linux.img\n\n\
             LABEL archfallback\n    MENU LABEL Arch Linux Fallback\n    LINUX ../vmlinuz-linux\n\
             \x20   APPEND root=/dev/disk/by-label/legacy-root rw e2e.label=fallback\n\
             \x20   INITRD ../initramfs-linux-fallback.img\n"
                .into(),
        )],
    }
}

/// Copy the kernel, write the marker initramfs and the configs into `tree`.
fn stage(
    tree: &Utf8Path,
    f: Fixture,
    kernel: &Utf8Path,
    cfgs: &[(String, String)],
    epoch: u64,
) -> Result<()> {
    let (kdir, kname, iname) = match f.layout {
        Layout::IsolinuxIso => ("isolinux", "gentoo", "gentoo.igz"),
        Layout::GptSyslinuxFat => ("boot", "vmlinuz", "initrd.gz"),
        Layout::GptExtlinuxExt4 => ("boot", "vmlinuz-linux", "initramfs-linux.img"),
    };
    let kdir = tree.join(kdir);
    std::fs::create_dir_all(&kdir).with_context(|| format!("cannot create {kdir}"))?;
    std::fs::copy(kernel, kdir.join(kname))
        .with_context(|| format!("cannot copy {kernel} into {kdir}"))?;
    let initramfs = initrd::marker_initramfs(f.name, &f.marker(), epoch)?;
    fsutil::write_atomic(&kdir.join(iname), &initramfs)?;
    for (path, text) in cfgs {
        fsutil::write_atomic(&tree.join(path), text.as_bytes())?;
    }
    let modules: &[&str] = match f.layout {
        Layout::IsolinuxIso => &["isolinux/ldlinux.c32"],
        Layout::GptSyslinuxFat => &[
            "syslinux/vesamenu.c32",
            "syslinux/libcom32.c32",
            "syslinux/libutil.c32",
        ],
        Layout::GptExtlinuxExt4 => &["boot/extlinux/menu.c32", "boot/extlinux/libutil.c32"],
    };
    for m in modules {
        let name = Utf8Path::new(m)
            .file_name()
            .expect("module paths have a name");
        let src = Utf8Path::new(BIOS_MODULES).join(name);
        std::fs::copy(&src, tree.join(m))
            .with_context(|| format!("cannot copy {src}: install syslinux-common"))?;
    }
    if f.layout == Layout::IsolinuxIso {
        std::fs::copy(ISOLINUX_BIN, tree.join("isolinux/isolinux.bin"))
            .with_context(|| format!("cannot copy {ISOLINUX_BIN}"))?;
    }
    Ok(())
}

/// Partition 1 of the GPT fixtures: 24 MiB from sector 2048 (1 MiB aligned).
const FS_START: u64 = 2048;
const FS_SECTORS: u64 = 24 * 2048;
const BASIC_DATA: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
const LINUX_FS: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

/// A GPT disk around the filesystem image `fs`: partition 1 of type
/// `type_guid`; `bios` makes it bootable by SeaBIOS (gptmbr.bin in the
/// protective MBR, LegacyBIOSBootable attribute).
fn gpt_disk(ws: &Ws, fs: &Utf8Path, out: &Utf8Path, type_guid: &str, bios: bool) -> Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let fs_bytes = std::fs::read(fs).with_context(|| format!("cannot read {fs}"))?;
    if fs_bytes.len() as u64 != FS_SECTORS * 512 {
        bail!(
            "{fs}: expected {} bytes, got {}",
            FS_SECTORS * 512,
            fs_bytes.len()
        );
    }
    let total = FS_START + FS_SECTORS + 2048;
    let mut disk = std::fs::File::create(out).with_context(|| format!("cannot create {out}"))?;
    disk.set_len(total * 512)?;
    let script = format!(
        "label: gpt\nlabel-id: 0E2E0000-0000-4000-8000-000000000002\nunit: sectors\nfirst-lba: 2048\n\
         start={FS_START}, size={FS_SECTORS}, type={type_guid}, \
         uuid=0E2E0001-0000-4000-8000-000000000002, name=\"legacy\"{}\n",
        if bios { ", attrs=\"LegacyBIOSBootable\"" } else { "" }
    );
    let sh = &ws.sh;
    cmd!(sh, "sfdisk --quiet --no-reread --no-tell-kernel {out}")
        .stdin(script)
        .quiet()
        .ignore_stdout()
        .run()
        .with_context(|| format!("sfdisk could not write a GPT on {out}"))?;
    disk.seek(SeekFrom::Start(FS_START * 512))?;
    disk.write_all(&fs_bytes)?;
    if !bios {
        disk.sync_all()?;
        return Ok(());
    }
    let mbr = std::fs::read(GPTMBR).with_context(|| format!("cannot read {GPTMBR}"))?;
    if mbr.len() < 440 {
        bail!(
            "{GPTMBR}: expected at least 440 bytes of boot code, got {}",
            mbr.len()
        );
    }
    disk.seek(SeekFrom::Start(0))?;
    disk.write_all(&mbr[..440])?;
    disk.sync_all()?;
    Ok(())
}
