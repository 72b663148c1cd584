//! The fixtures' initramfs: a static busybox and an `/init` that reports
//! how the target kernel was booted (EFI or not, its command line), prints
//! a marker unique to the fixture, and powers the machine off. It says it on
//! the console (the serial port, which the verdict reads) and on the screen
//! (tty0, which the target's screenshot shows), as a distribution's init
//! would, and waits a second before powering off so that the screenshot
//! taken on its marker line sees it. Written in Rust as a gzip'd newc cpio
//! (device nodes included, so no root needed).

use std::io::Write;

use anyhow::{Context, Result};

use super::fixtures::BUSYBOX;
use super::serial::TARGET;

/// The `/init` script of fixture `name`.
pub fn marker_init(name: &str, marker: &str) -> String {
    format!(
        r#"#!/bin/busybox sh
# Marker init of the gen-kexec e2e fixture `{name}`: proves that the target
# kernel and its initramfs started, and how (EFI or not, command line).
bb=/bin/busybox
say() {{
	echo "$1"
	echo "$1" >/dev/tty0 2>/dev/null
}}
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
if [ -d /sys/firmware/efi ]; then
	say "{TARGET} efi=yes /sys/firmware/efi: $($bb ls /sys/firmware/efi | $bb tr '\n' ' ')"
else
	say "{TARGET} efi=no"
fi
say "{TARGET} cmdline=$($bb cat /proc/cmdline)"
say "{TARGET} marker {marker}"
$bb sleep 1
$bb poweroff -f
"#
    )
}

struct Entry<'a> {
    name: &'a str,
    mode: u32,
    data: &'a [u8],
    rdev: Option<(u32, u32)>,
}

/// The gzip'd cpio archive: sorted entries, fixed owner and mtime.
pub fn marker_initramfs(name: &str, marker: &str, epoch: u64) -> Result<Vec<u8>> {
    let busybox = std::fs::read(BUSYBOX).with_context(|| format!("cannot read {BUSYBOX}"))?;
    let init = marker_init(name, marker);
    let dir = |name| Entry {
        name,
        mode: 0o040755,
        data: b"",
        rdev: None,
    };
    let entries = [
        dir("bin"),
        Entry {
            name: "bin/busybox",
            mode: 0o100755,
            data: &busybox,
            rdev: None,
        },
        dir("dev"),
        Entry {
            name: "dev/console",
            mode: 0o020600,
            data: b"",
            rdev: Some((5, 1)),
        },
        Entry {
            name: "dev/tty0",
            mode: 0o020620,
            data: b"",
            rdev: Some((4, 0)),
        },
        Entry {
            name: "init",
            mode: 0o100755,
            data: init.as_bytes(),
            rdev: None,
        },
        dir("proc"),
        dir("sys"),
    ];
    let mtime = u32::try_from(epoch).context("SOURCE_DATE_EPOCH does not fit a cpio mtime")?;
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::new(6));
    let mut w = gz;
    for (ino, e) in entries.iter().enumerate() {
        let mut b = cpio::newc::Builder::new(e.name)
            .ino(ino as u32 + 1)
            .mode(e.mode)
            .uid(0)
            .gid(0)
            .nlink(if e.mode & 0o040000 != 0 { 2 } else { 1 })
            .mtime(mtime);
        if let Some((major, minor)) = e.rdev {
            b = b.rdev_major(major).rdev_minor(minor);
        }
        let mut f = b.write(&mut w, e.data.len() as u32);
        f.write_all(e.data)?;
        f.finish()?;
    }
    let w = cpio::newc::trailer(w)?;
    Ok(w.finish()?)
}

/// A 64-bit ELF executable without a PT_INTERP program header runs with
/// no dynamic loader (what an initramfs without libc needs).
pub fn is_static_elf(bytes: &[u8]) -> bool {
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    if bytes.get(..5) != Some(b"\x7fELF\x02") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum).all(|i| matches!(u32_at(phoff + i * phentsize), Some(t) if t != 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_holds_init_busybox_and_console() {
        let gz = marker_initramfs("t", "t-marker", 1_700_000_000).unwrap();
        let mut cpio = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut cpio).unwrap();
        let mut r = &cpio[..];
        let mut names = Vec::new();
        loop {
            let entry = cpio::newc::Reader::new(r).unwrap();
            if entry.entry().is_trailer() {
                break;
            }
            let e = entry.entry();
            names.push(e.name().to_owned());
            assert_eq!((e.uid(), e.gid(), e.mtime()), (0, 0, 1_700_000_000));
            if e.name() == "dev/console" {
                assert_eq!((e.mode(), e.rdev_major(), e.rdev_minor()), (0o020600, 5, 1));
            }
            r = entry.finish().unwrap();
        }
        assert_eq!(
            names,
            [
                "bin",
                "bin/busybox",
                "dev",
                "dev/console",
                "dev/tty0",
                "init",
                "proc",
                "sys"
            ]
        );
        // Same inputs, same bytes.
        assert_eq!(
            gz,
            marker_initramfs("t", "t-marker", 1_700_000_000).unwrap()
        );
    }

    #[test]
    fn init_prints_what_the_verdict_reads() {
        let init = marker_init("iso", "iso-reached-init");
        assert!(init.contains("say \"E2E-TARGET: marker iso-reached-init\""));
        assert!(init.contains("echo \"$1\" >/dev/tty0"));
        assert!(init.contains("E2E-TARGET: efi=yes"));
        assert!(init.contains("E2E-TARGET: cmdline="));
        assert!(init.ends_with("$bb poweroff -f\n"));
    }

    #[test]
    fn static_elf_check() {
        assert!(is_static_elf(
            &std::fs::read(BUSYBOX).expect("busybox-static is installed (test dependency)")
        ));
        assert!(!is_static_elf(&std::fs::read("/bin/sh").unwrap()));
        assert!(!is_static_elf(b"#!/bin/sh\n"));
    }
}
