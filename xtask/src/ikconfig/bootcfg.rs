//! Which kernel a boot image boots by default, read from its boot loader
//! configuration: isolinux/syslinux or GRUB, through [`crate::bootcfg`]
//! (the models of gen-kexec's runtime parsers, syslinux and GRUB). Gentoo's
//! minimal ISO boots `isolinux/gentoo` (older releases) or `boot/gentoo`
//! (GRUB).

use anyhow::{bail, Result};

const GRUB: &[&str] = &[
    "boot/grub/grub.cfg",
    "boot/grub2/grub.cfg",
    "grub/grub.cfg",
    "grub2/grub.cfg",
    "EFI/BOOT/grub.cfg",
];
/// Where Gentoo puts its kernel, when no configuration says.
const WELL_KNOWN: &[&str] = &["boot/gentoo", "isolinux/gentoo"];
/// Files that include each other (or themselves) several times would
/// otherwise be parsed exponentially often: at most this many config
/// files are read, and this many bytes of them, in all.
const MAX_FILES: usize = 256;
const MAX_BYTES: usize = 16 << 20;

/// The kernel to use and how it was chosen (for messages).
#[derive(Debug, PartialEq, Eq)]
pub struct Choice {
    /// Path relative to the image root, without a leading `/`.
    pub kernel: String,
    pub reason: String,
}

/// Reads a file of the image: `Ok(None)` when there is none.
pub type ReadFile<'a> = dyn FnMut(&str) -> Result<Option<Vec<u8>>> + 'a;

/// Find the default kernel of an image, given a way to read its files.
pub fn choose(read: &mut ReadFile) -> Result<Choice> {
    let (mut files, mut bytes) = (0usize, 0usize);
    let read = &mut |p: &str| -> Result<Option<Vec<u8>>> {
        files += 1;
        if files > MAX_FILES {
            bail!("reading `{p}`: more than {MAX_FILES} config files read: includes in a loop?");
        }
        let text = read(p)?;
        bytes += text.as_ref().map_or(0, Vec::len);
        if bytes > MAX_BYTES {
            bail!("reading `{p}`: more than {MAX_BYTES} bytes of config files read: includes in a loop?");
        }
        Ok(text)
    };
    // Paths from the image root, as the syslinux model reads them.
    let mut rooted = |p: &str| read(p.trim_start_matches('/'));
    if let Some(cfg) = crate::bootcfg::find_config(&mut rooted)? {
        if let Some(c) = syslinux(&cfg, &mut rooted)? {
            return Ok(c);
        }
    }
    for cfg in GRUB {
        if let Some(text) = read(cfg)? {
            let _ = text;
            if let Some(c) = grub(cfg, read)? {
                return Ok(c);
            }
        }
    }
    for k in WELL_KNOWN {
        if read(k)?.is_some() {
            return Ok(Choice {
                kernel: k.to_string(),
                reason: "Gentoo's usual kernel path".into(),
            });
        }
    }
    bail!(
        "found no kernel: no boot configuration naming one ({} or {}) and none of {}",
        "isolinux/isolinux.cfg (or syslinux.cfg, extlinux.conf)",
        GRUB.join(", "),
        WELL_KNOWN.join(", ")
    )
}

/// What boots with nobody at the keyboard; when that is nothing or names
/// a kernel the image does not hold (Gentoo's `ontimeout localhost`), the
/// menu's default entry, else its first bootable entry with a kernel.
fn syslinux(cfg: &str, read: &mut ReadFile) -> Result<Option<Choice>> {
    use crate::bootcfg::{model, syslinux::parse, Cpu};
    let cpu = Cpu::x86_64();
    let m = crate::bootcfg::entries::Machine {
        fstype: "iso9660",
        cpu: &cpu,
    };
    let config = parse(cfg, None, read)?;
    let menu = model::menu(&config, &m);
    let mut labels: Vec<Option<String>> = vec![None];
    if menu.default != 0 {
        labels.push(Some(menu.entries[menu.default - 1].label.clone()));
    }
    labels.extend(
        menu.entries
            .iter()
            .filter(|e| e.why.is_empty())
            .take(8)
            .map(|e| Some(e.label.clone())),
    );
    let mut fallback = None;
    for label in labels {
        if let Ok(plan) = model::plan(read, cfg, "iso9660", &cpu, label.as_deref())? {
            let choice = Choice {
                kernel: plan.kernel.trim_start_matches('/').to_owned(),
                reason: format!(
                    "{}: {} `{}`",
                    plan.cfg.trim_start_matches('/'),
                    if plan.label == config.default.split(' ').next().unwrap_or("") {
                        "default label"
                    } else {
                        &plan.reason
                    },
                    plan.label
                )
                // A fallback label is not gen-kexec.conf's.
                .replace("label= in gen-kexec.conf", "fallback label"),
            };
            if read(&plan.kernel)?.is_some() {
                return Ok(Some(choice));
            }
            fallback = fallback.or(Some(choice));
        }
    }
    Ok(fallback)
}

/// GRUB's default entry, through the model of gen-kexec's runtime GRUB
/// parser ([`crate::bootcfg::grub`]) on the image as one device (the
/// whole disk, as an ISO is); else its first bootable entry.
fn grub(cfg: &str, read: &mut ReadFile) -> Result<Option<Choice>> {
    use crate::bootcfg::grub::{parse, Files, Part};
    struct Image<'r, 'a>(&'r mut ReadFile<'a>);
    impl Files for Image<'_, '_> {
        fn read(&mut self, p: &str) -> Option<Vec<u8>> {
            (self.0)(p.trim_start_matches('/')).ok().flatten()
        }
        fn list(&mut self, _dir: &str) -> Vec<String> {
            Vec::new()
        }
    }
    let part = Part {
        name: "image".into(),
        num: None,
        fstype: "iso9660".into(),
        uuid: String::new(),
        label: String::new(),
        files: Some(Box::new(Image(read))),
    };
    let parsed = parse(vec![part], "image", &format!("/{cfg}"), "msdos");
    let entry = match parsed.start().filter(|r| r.typ == "linux") {
        Some(r) => Some((r, "menuentry")),
        None => parsed
            .records
            .iter()
            .find(|r| r.kind == 'e' && r.typ == "linux")
            .map(|r| (r, "first bootable menuentry")),
    };
    Ok(entry.map(|(r, how)| Choice {
        kernel: r.kernel.trim_start_matches('/').to_owned(),
        reason: format!("{cfg}: {how} `{}`", r.label),
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn choose_in(files: &[(&str, &str)]) -> Result<Choice> {
        let files: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, t)| (p.to_lowercase(), t.as_bytes().to_vec()))
            .collect();
        choose(&mut |p: &str| Ok(files.get(&p.to_lowercase()).cloned()))
    }

    const GENTOO_ISOLINUX: &str = "default gentoo\ntimeout 150\nontimeout localhost\nprompt 1\n\
        display boot.msg\nF1 kernels.msg\n\nlabel gentoo\n  kernel gentoo\n  append root=/dev/ram0 \
        init=/linuxrc dokeymap looptype=squashfs loop=/image.squashfs cdroot initrd=gentoo.igz\n\n\
        label gentoo-nofb\n  kernel gentoo\n  append nofb\n\nlabel memtest86\n  kernel memtest86\n";

    #[test]
    fn gentoo_isolinux_default_label() {
        // `ontimeout localhost` names no kernel the image holds: the default label.
        let c = choose_in(&[
            ("isolinux/isolinux.cfg", GENTOO_ISOLINUX),
            ("isolinux/gentoo", "k"),
        ])
        .unwrap();
        assert_eq!(c.kernel, "isolinux/gentoo");
        assert_eq!(c.reason, "isolinux/isolinux.cfg: default label `gentoo`");
    }

    #[test]
    fn menu_default_when_default_is_a_module_and_includes() {
        let main = "UI vesamenu.c32\nDEFAULT vesamenu.c32\nINCLUDE menu.cfg\n";
        let menu = "LABEL rescue\n\tKERNEL /boot/rescue\nLABEL live\n\tMENU DEFAULT\n\tLINUX ../live/vmlinuz\n\tinclude missing.cfg\n";
        let c = choose_in(&[("isolinux/isolinux.cfg", main), ("isolinux/menu.cfg", menu)]).unwrap();
        assert_eq!(c.kernel, "live/vmlinuz");
        assert!(
            c.reason.contains("menu entry 2 (live) `live`"),
            "{}",
            c.reason
        );
        let c = choose_in(&[("syslinux.cfg", "default vmlinuz initrd=initrd.img\n")]).unwrap();
        assert_eq!(c.kernel, "vmlinuz");
    }

    #[test]
    fn gentoo_grub_cfg() {
        let grub = "set default=0\nset timeout=10\n\
            menuentry 'Boot LiveCD (kernel: gentoo)' --class gnu-linux --class os {\n\
            \tsearch --no-floppy --set=root -l 'ISOIMAGE'\n\
            \tlinux ($root)/boot/gentoo dokeymap looptype=squashfs loop=/image.squashfs cdroot\n\
            \tinitrd /boot/gentoo.igz\n}\n\
            menuentry 'Boot LiveCD (kernel: gentoo) (cached)' {\n\tlinux /boot/other docache\n}\n";
        let k = [
            ("boot/gentoo", "k"),
            ("boot/other", "k"),
            ("boot/gentoo.igz", "i"),
        ];
        let with = |f: &[(&'static str, &'static str)]| [f, &k[..]].concat();
        let c = choose_in(&with(&[("boot/grub/grub.cfg", grub)])).unwrap();
        assert_eq!(c.kernel, "boot/gentoo");
        assert_eq!(
            c.reason,
            "boot/grub/grub.cfg: menuentry `Boot LiveCD (kernel: gentoo)`"
        );
        let g1 = grub.replace("default=0", "default=\"1\"");
        let g1: &'static str = Box::leak(g1.into_boxed_str());
        let c = choose_in(&with(&[("boot/grub/grub.cfg", g1)])).unwrap();
        assert_eq!(c.kernel, "boot/other");
        let stub = "search --set=root --file /boot/gentoo\nconfigfile ($root)/boot/grub/real.cfg\n";
        let c = choose_in(&with(&[
            ("EFI/BOOT/grub.cfg", stub),
            ("boot/grub/real.cfg", grub),
        ]))
        .unwrap();
        assert_eq!(c.kernel, "boot/gentoo");
    }

    #[test]
    fn well_known_path_then_a_clear_error() {
        let c = choose_in(&[("boot/gentoo", "kernel")]).unwrap();
        assert_eq!(c.kernel, "boot/gentoo");
        let e = choose_in(&[("readme.txt", "hi")]).unwrap_err().to_string();
        assert!(
            e.contains("found no kernel") && e.contains("isolinux/isolinux.cfg"),
            "{e}"
        );
    }
}
