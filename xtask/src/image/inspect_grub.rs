//! `inspect` for GRUB configs: the entries gen-kexec would offer for a
//! GRUB config of an ISO 9660 image (the Rust model of the runtime's GRUB
//! parser, crate::bootcfg::grub), its default and what boots by itself.

use std::fmt::Write as _;

use anyhow::Result;

use crate::bootcfg::grub::{parse, Files, Part};

/// Where gen-kexec looks for a GRUB config (gk_find_grub_config), but
/// /EFI/*/grub.cfg, which inspect cannot glob: /EFI/BOOT/grub.cfg instead.
pub const GRUB_CONFIGS: &[&str] = &[
    "boot/grub/grub.cfg",
    "boot/grub2/grub.cfg",
    "grub/grub.cfg",
    "grub2/grub.cfg",
    "boot/grub/menu.lst",
    "boot/grub/grub.conf",
    "grub/menu.lst",
    "grub/grub.conf",
    "EFI/BOOT/grub.cfg",
];

struct Reader<'r, 'a>(&'r mut crate::bootcfg::ReadFile<'a>);

impl Files for Reader<'_, '_> {
    fn read(&mut self, p: &str) -> Option<Vec<u8>> {
        (self.0)(p).ok().flatten()
    }
    fn list(&mut self, _dir: &str) -> Vec<String> {
        Vec::new()
    }
}

/// What gen-kexec would offer for GRUB config CFG of the image (one
/// device, the whole disk) read through READ.
pub fn offer(
    o: &mut String,
    read: &mut crate::bootcfg::ReadFile,
    cfg: &str,
    fstype: &str,
) -> Result<()> {
    let part = Part {
        name: "image".into(),
        num: None,
        fstype: fstype.into(),
        uuid: String::new(),
        label: String::new(),
        files: Some(Box::new(Reader(read))),
    };
    offer_parts(o, vec![part], "image", cfg)
}

/// What gen-kexec would offer for GRUB config CFG of partition CFGNAME
/// (a `Part::name`) of the disk's PARTS (gk_grub_parts).
pub fn offer_parts(o: &mut String, parts: Vec<Part>, cfgname: &str, cfg: &str) -> Result<()> {
    let g = parse(parts, cfgname, cfg, "msdos");
    writeln!(o, "  gen-kexec's menu for {cfg} (GRUB):")?;
    for w in &g.warnings {
        writeln!(o, "    warning: {w}")?;
    }
    let mut n = 0;
    for r in &g.records {
        match r.kind {
            'm' => writeln!(o, "         {}{}:", "  ".repeat(r.depth - 1), r.title)?,
            'e' => {
                n += 1;
                let what = if r.typ == "linux" {
                    "bootable".to_owned()
                } else {
                    r.append.clone()
                };
                let def = if r.mdef { " [GRUB's default]" } else { "" };
                writeln!(
                    o,
                    "    {n:>3}. {}{}{def}: {what}",
                    "  ".repeat(r.depth),
                    r.title
                )?;
            }
            _ => {}
        }
    }
    let wait = g.wait();
    writeln!(
        o,
        "    GRUB: timeout {}, timeout_style {}, default {:?}; gen-kexec waits {}",
        g.timeout,
        if g.timeout_style.is_empty() {
            "menu"
        } else {
            &g.timeout_style
        },
        g.default,
        if wait < 0 {
            "forever (boots after 10 s)".to_owned()
        } else {
            format!("{} s", wait as f64 / 100.0)
        }
    )?;
    match g.plan() {
        Ok(p) => writeln!(
            o,
            "    nobody at the keyboard: {}: {} initrd {} cmdline {}",
            p.label,
            p.kernel,
            if p.initrds.is_empty() {
                "(none)".to_owned()
            } else {
                p.initrds.join(",")
            },
            p.cmdline
        )?,
        Err(e) => writeln!(o, "    nobody at the keyboard: nothing ({e})")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    #[test]
    fn offer_lists_grub_entries_the_default_and_the_plan() {
        let files: BTreeMap<&str, &str> = [
            (
                "/boot/grub/grub.cfg",
                "set default='S>B'\nset timeout=3\nmenuentry 'A' {\nlinux /vmlinuz a\n}\nsubmenu 'S' {\nmenuentry 'B' {\nlinux /vmlinuz b\ninitrd /initrd.img\n}\n}\nmenuentry 'X' { multiboot /xen }\n",
            ),
            ("/vmlinuz", "k"),
            ("/initrd.img", "i"),
        ]
        .into_iter()
        .collect();
        let mut read = |p: &str| Ok(files.get(p).map(|t| t.as_bytes().to_vec()));
        let mut o = String::new();
        super::offer(&mut o, &mut read, "/boot/grub/grub.cfg", "iso9660").unwrap();
        for line in [
            "  gen-kexec's menu for /boot/grub/grub.cfg (GRUB):",
            "      1. A: bootable",
            "         S:",
            "      2.   B [GRUB's default]: bootable",
            "      3. X: multiboot starts a multiboot kernel",
            "    GRUB: timeout 3, timeout_style menu, default \"S>B\"; gen-kexec waits 3 s",
            "    nobody at the keyboard: S>B: /vmlinuz initrd /initrd.img cmdline BOOT_IMAGE=/vmlinuz b",
        ] {
            assert!(o.contains(line), "no {line:?} in\n{o}");
        }
    }
}
