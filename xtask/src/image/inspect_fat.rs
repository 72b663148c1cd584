//! `inspect` for FAT filesystems (a syslinux stick, a vfat /boot): the menu
//! gen-kexec would offer for the syslinux or GRUB config it would find there
//! (gk_find_config, then gk_find_grub_config), as for ISO 9660 and ext.

use std::fs::File;

use anyhow::Result;

use super::inspect::{offer as offer_syslinux, show_config, MAX_CONFIG};
use super::{fat, inspect_grub};

/// Reads of kernels and initrds stop here (the model only needs to know
/// they exist and what their header says).
const MAX_READ: u64 = 4 << 20;

/// The FAT filesystem at `[start, start + len)` of `file`, partition
/// `number`: its config's menu, or nothing when it has no config (the
/// gen-kexec ESP). Its syslinux configs' text is already shown.
pub fn offer(o: &mut String, file: &File, number: usize, start: u64, len: u64) -> Result<()> {
    // FAT is case-insensitive, as fatfs's open is; a file that is not
    // there (or does not read) is absent, as at boot.
    let mut read = |p: &str| -> Result<Option<Vec<u8>>> {
        Ok(fat::read_file_max(file, start, len, p.trim_start_matches('/'), MAX_READ).ok())
    };
    if let Some(cfg) = crate::bootcfg::find_config(&mut read)? {
        return offer_syslinux(o, &mut read, &cfg, "vfat");
    }
    for p in inspect_grub::GRUB_CONFIGS {
        let cfg = format!("/{p}");
        let Some(text) = read(&cfg)? else { continue };
        let text = &text[..text.len().min(MAX_CONFIG as usize)];
        show_config(o, &format!("{cfg} (partition {number})"), text)?;
        return inspect_grub::offer(o, &mut read, &cfg, "vfat");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use camino::Utf8Path;

    /// A FAT filesystem with a syslinux config and one with a GRUB config:
    /// each gets the menu gen-kexec would show.
    #[test]
    fn a_fat_partition_gets_its_menu() {
        let syslinux = "DEFAULT rescue\nLABEL linux\n KERNEL /vmlinuz\n APPEND root=/dev/sda2\nLABEL rescue\n MENU LABEL Rescue\n KERNEL /vmlinuz\n APPEND single\n";
        let grub = "set default=1\nmenuentry 'One' {\n linux /vmlinuz one\n}\nmenuentry 'Two' {\n linux /vmlinuz two\n}\n";
        for (cfg_path, cfg, want) in [
            (
                "syslinux/syslinux.cfg",
                syslinux,
                &[
                    "gen-kexec's menu for /syslinux/syslinux.cfg:",
                    "1. linux: bootable",
                    "2. Rescue: bootable",
                    "default: entry 2",
                ][..],
            ),
            (
                "boot/grub/grub.cfg",
                grub,
                &[
                    "boot config /boot/grub/grub.cfg (partition 1):",
                    "gen-kexec's menu for /boot/grub/grub.cfg (GRUB):",
                    "2. Two [GRUB's default]: bootable",
                ][..],
            ),
        ] {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().join("fat.img");
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&p)
                .unwrap();
            f.set_len(8 << 20).unwrap();
            let files = vec![
                (cfg_path.to_owned(), cfg.as_bytes().to_vec()),
                ("vmlinuz".to_owned(), b"not really a kernel".to_vec()),
            ];
            super::fat::make(
                &f,
                Utf8Path::from_path(&p).unwrap(),
                0,
                8 << 20,
                None,
                0,
                &files,
            )
            .unwrap();
            let mut o = String::new();
            super::offer(&mut o, &f, 1, 0, 8 << 20).unwrap();
            for w in want {
                assert!(o.contains(w), "{w:?} not in:\n{o}");
            }
        }
    }
}
