//! Seeds of the ext4 target: small ext2/3/4 filesystems made at run time
//! by mkfs.ext4 -d (e2fsprogs), as the ISO seeds are made by xorriso.

use anyhow::{Context, Result};
use camino::Utf8Path;
use xshell::{cmd, Shell};

use super::seeds::{GRUB_CFG, ISOLINUX_CFG};

/// Small ext2/3/4 filesystems made by mkfs.ext4 -d (e2fsprogs): a GRUB
/// config and the kernel it names, an extlinux.conf, a BLS-like directory;
/// with and without metadata checksums (without, mutations get further)
/// and a journal.
pub fn ext4_images(scratch: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    let sh = Shell::new()?;
    let root = scratch.join("ext4");
    let files: &[(&str, &str)] = &[
        ("boot/grub/grub.cfg", GRUB_CFG),
        ("boot/gentoo", "kernel"),
        ("boot/gentoo.igz", "initrd"),
        ("boot/extlinux/extlinux.conf", ISOLINUX_CFG),
        ("loader/entries/a.conf", "title A\nlinux /boot/gentoo\n"),
    ];
    for (p, c) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().expect("has a parent"))?;
        std::fs::write(&p, c)?;
    }
    let mut out = Vec::new();
    // The journal one is bigger: its journal needs 1024 blocks.
    for (i, (opts, size)) in [
        (&["-t", "ext4", "-O", "^has_journal"][..], "192k"),
        (
            &["-t", "ext4", "-O", "^has_journal,^metadata_csum"][..],
            "192k",
        ),
        (&["-t", "ext2"][..], "192k"),
        (&["-t", "ext4", "-J", "size=1"][..], "3M"),
    ]
    .into_iter()
    .enumerate()
    {
        let img = scratch.join(format!("seed{i}.ext4"));
        cmd!(sh, "mkfs.ext4 -q -F {opts...} -b 1024 -N 64 -d {root} -U 0e2e0014-0001-4000-8000-000000000001 -L GKFUZZ {img} {size}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .context("mkfs.ext4 (apt-get install e2fsprogs) making an ext4 seed")?;
        out.push(std::fs::read(&img)?);
    }
    Ok(out)
}
