//! `cargo xtask inspect IMAGE`: print the partition table(s), the El Torito
//! entries, the filesystems and the boot configs found in a disk image.
//! Read-only.

use std::fmt::Write as _;
use std::fs::File;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::table::{probe, Image, Table};
use super::{eltorito, extread, fat, gpt, inspect_ext, iso9660, mbr, read_at, MIB, SECTOR};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The disk image or ISO to look at (only read).
    #[arg(required_unless_present = "source_id")]
    pub image: Option<Utf8PathBuf>,
    /// Print a hash of the image modules' sources (for the tests).
    #[arg(long, hide = true)]
    pub source_id: bool,
}

/// Where syslinux and its siblings look for their config, as kexec.sourceme does.
const CONFIG_DIRS: &[&str] = &[
    "boot/isolinux",
    "isolinux",
    "boot/syslinux",
    "syslinux",
    "boot/extlinux",
    "extlinux",
    "",
];
const CONFIG_NAMES: &[&str] = &["isolinux.cfg", "syslinux.cfg", "extlinux.conf"];
/// How much of a boot config `inspect` shows.
pub(super) const MAX_CONFIG: u64 = 64 << 10;

pub fn run(args: &Args) -> Result<()> {
    match &args.image {
        Some(image) if !args.source_id => print!("{}", report(image)?),
        _ => println!("{}", super::source_id()),
    }
    Ok(())
}

pub fn report(path: &Utf8Path) -> Result<String> {
    let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
    let image = match probe(&file, path) {
        Ok(image) => image,
        Err(e) => return bare_ext(&file, path).unwrap_or(Err(e)),
    };
    let mut out = String::new();
    let o = &mut out;
    writeln!(
        o,
        "{path}: {} bytes ({} sectors of 512 bytes)",
        image.len,
        image.sectors()
    )?;
    tables(o, &image)?;
    el_torito(o, &image)?;
    filesystems(o, &file, path, &image)?;
    Ok(out)
}

/// An image that is one ext2/3/4 filesystem (no partition table), as
/// gen-kexec mounts a whole disk; None if it is not one.
fn bare_ext(file: &File, path: &Utf8Path) -> Option<Result<String>> {
    let len = file.metadata().ok()?.len();
    let sb = read_at(file, path, 1024, 1024).ok()?;
    if len < 2048 || !extread::looks_like_ext(&sb) {
        return None;
    }
    let mut o = format!(
        "{path}: {len} bytes\npartition table: none (an ext2/3/4 filesystem)\nfilesystems:\n"
    );
    Some(inspect_ext::show(&mut o, file, path, None, None, 0, len).map(|()| o))
}

fn tables(o: &mut String, image: &Image) -> Result<()> {
    match &image.table {
        Table::None => writeln!(
            o,
            "partition table: none (an ISO 9660 image that is not isohybrid)"
        )?,
        Table::Mbr(m) => writeln!(
            o,
            "partition table: MBR, disk signature 0x{:08x}",
            m.disk_signature
        )?,
        Table::Gpt(_, g) => {
            writeln!(
                o,
                "partition table: GPT, disk GUID {}, {} entries, usable sectors {}..={}, backup header at sector {}",
                gpt::guid_string(&g.disk_guid),
                g.entry_count,
                g.first_usable,
                g.last_usable,
                g.alternate_lba
            )?;
            let hybrid = image.table.hybrid_mbr_entries();
            if hybrid.is_empty() {
                writeln!(o, "  (protective MBR in sector 0)")?;
            } else if let Table::Gpt(m, _) = &image.table {
                writeln!(o, "  hybrid MBR in sector 0:")?;
                for (i, e) in m.used() {
                    writeln!(
                        o,
                        "    MBR partition {}: sectors {}..{}, 0x{:02x} {}",
                        i + 1,
                        e.start,
                        e.end(),
                        e.kind,
                        mbr::type_name(e.kind)
                    )?;
                }
            }
        }
    }
    for p in image.partitions() {
        writeln!(
            o,
            "  partition {}: sectors {}..{} ({:.1} MiB), {}",
            p.number,
            p.start,
            p.start + p.sectors,
            (p.sectors * SECTOR) as f64 / MIB as f64,
            p.kind
        )?;
    }
    Ok(())
}

fn el_torito(o: &mut String, image: &Image) -> Result<()> {
    let Some(vol) = &image.iso else { return Ok(()) };
    writeln!(
        o,
        "ISO 9660: volume {:?}, {} CD sectors of 2048 bytes",
        vol.volume_id, vol.volume_sectors
    )?;
    let Some(et) = &image.el_torito else {
        if vol.boot_record.is_some() {
            writeln!(
                o,
                "El Torito: none (boot record says {:?})",
                vol.boot_system_id
            )?;
        } else {
            writeln!(o, "El Torito: none")?;
        }
        return Ok(());
    };
    writeln!(
        o,
        "El Torito: boot catalog at CD sector {}",
        et.offset / iso9660::CD_SECTOR
    )?;
    let parts = image.partitions();
    for e in &et.catalog.entries {
        let what = if e.section == 0 {
            "default entry".to_owned()
        } else {
            format!("section {}", e.section)
        };
        let media = match e.media {
            0 => "no emulation",
            1..=3 => "floppy emulation",
            4 => "hard disk emulation",
            _ => "unknown media",
        };
        let start = u64::from(e.load_rba) * iso9660::CD_SECTOR / SECTOR;
        let target = parts
            .iter()
            .find(|p| p.start == start)
            .map(|p| format!(" = partition {}", p.number))
            .unwrap_or_default();
        writeln!(
            o,
            "  {what}: platform 0x{:02x} {}, {}, {media}, load RBA {} (sector {start}{target}), {} sectors of 512 bytes",
            e.platform,
            eltorito::platform_name(e.platform),
            if e.bootable { "bootable" } else { "not bootable" },
            e.load_rba,
            e.sectors
        )?;
    }
    Ok(())
}

/// The boot config `p` of the ISO 9660 volume, if it is there: its text,
/// then what `offer` (the syslinux or the GRUB model) makes of it, reading
/// further files from the same volume. Whether it was there.
fn iso_config(
    o: &mut String,
    file: &File,
    path: &Utf8Path,
    vol: &iso9660::Volume,
    p: &str,
    offer: fn(&mut String, &mut crate::bootcfg::ReadFile, &str, &str) -> Result<()>,
) -> Result<bool> {
    let Some(e) = iso9660::find(file, path, vol, p)? else {
        return Ok(false);
    };
    let text = iso9660::read_extent(file, path, "config file", e.extent, e.size.min(MAX_CONFIG))?;
    show_config(o, &format!("/{p} (ISO 9660)"), &text)?;
    let mut read = |q: &str| -> Result<Option<Vec<u8>>> {
        match iso9660::find(file, path, vol, q.trim_start_matches('/'))? {
            Some(e) => Ok(Some(read_at(
                file,
                path,
                e.extent * iso9660::CD_SECTOR,
                e.size.min(4 << 20) as usize,
            )?)),
            None => Ok(None),
        }
    };
    offer(o, &mut read, &format!("/{p}"), "iso9660")?;
    Ok(true)
}

fn filesystems(o: &mut String, file: &File, path: &Utf8Path, image: &Image) -> Result<()> {
    writeln!(o, "filesystems:")?;
    if let Some(vol) = &image.iso {
        writeln!(o, "  whole image (sector 0): ISO 9660 {:?}", vol.volume_id)?;
        for dir in CONFIG_DIRS {
            for name in CONFIG_NAMES {
                let p = if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                };
                iso_config(o, file, path, vol, &p, offer)?;
            }
        }
        for p in super::inspect_grub::GRUB_CONFIGS {
            if iso_config(o, file, path, vol, p, super::inspect_grub::offer)? {
                break;
            }
        }
    }
    for p in image.partitions() {
        let (start, len) = (p.start * SECTOR, p.sectors * SECTOR);
        if p.start == 0 || start + SECTOR > image.len {
            continue;
        }
        let boot = read_at(file, path, start, SECTOR as usize)?;
        if !fat::looks_like_fat(&boot) {
            let sb = if start + 2048 <= image.len {
                read_at(file, path, start + 1024, 1024)?
            } else {
                vec![]
            };
            if extread::looks_like_ext(&sb) {
                let len = len.min(image.len - start);
                inspect_ext::show(o, file, path, Some(image), Some(p.number), start, len)?;
            } else {
                writeln!(o, "  partition {}: not recognised", p.number)?;
            }
            continue;
        }
        match fat::summarize(file, start, len) {
            Err(e) => writeln!(
                o,
                "  partition {}: FAT boot sector, but it does not mount: {e}",
                p.number
            )?,
            Ok(s) => {
                writeln!(
                    o,
                    "  partition {}: {}, label {:?}{}, volume id {:08X}",
                    p.number,
                    fat_name(s.fat_type),
                    s.label.trim_end(),
                    root_label_note(s.label.trim_end(), s.root_label.as_deref()),
                    s.volume_id
                )?;
                for (name, size) in &s.files {
                    writeln!(o, "    /{name} ({size} bytes)")?;
                }
                let configs = s.files.iter().filter(|(n, _)| {
                    let n = n.to_ascii_lowercase();
                    n == "gen-kexec.conf" || CONFIG_NAMES.iter().any(|c| n.ends_with(c))
                });
                for (name, _) in configs {
                    let text = fat::read_file_max(file, start, len, name, MAX_CONFIG)?;
                    show_config(o, &format!("/{name} (partition {})", p.number), &text)?;
                }
                super::inspect_fat::offer(o, file, p.number, start, len)?;
            }
        }
    }
    Ok(())
}

fn fat_name(t: fatfs::FatType) -> &'static str {
    match t {
        fatfs::FatType::Fat12 => "FAT12",
        fatfs::FatType::Fat16 => "FAT16",
        fatfs::FatType::Fat32 => "FAT32",
    }
}

/// The boot sector's label is what most tools show; Linux's blkid (and
/// busybox findfs) prefer the volume label entry in the root directory.
/// Say so only when the two disagree.
fn root_label_note(boot_sector: &str, root_dir: Option<&str>) -> String {
    match root_dir.map(str::trim_end) {
        Some(l) if l == boot_sector => String::new(),
        Some(l) => format!(" (but the root directory's volume label is {l:?})"),
        None => " (no volume label entry in the root directory)".to_owned(),
    }
}

pub(super) fn show_config(o: &mut String, title: &str, text: &[u8]) -> Result<()> {
    writeln!(o, "boot config {title}:")?;
    for line in String::from_utf8_lossy(text).lines() {
        writeln!(o, "    | {}", line.trim_end_matches('\r'))?;
    }
    Ok(())
}

/// What gen-kexec would offer for a syslinux config (the Rust model of its
/// runtime parser): the numbered entries, the default, what boots by itself.
pub(super) fn offer(
    o: &mut String,
    read: &mut crate::bootcfg::ReadFile,
    cfg: &str,
    fstype: &str,
) -> Result<()> {
    use crate::bootcfg::{entries::Machine, model, syslinux::parse, Cpu};
    let cpu = Cpu::x86_64();
    let m = Machine { fstype, cpu: &cpu };
    let c = parse(cfg, None, read)?;
    let menu = model::menu(&c, &m);
    writeln!(o, "  gen-kexec's menu for {cfg}:")?;
    for (i, e) in menu.entries.iter().enumerate() {
        let what = if e.why.is_empty() {
            "bootable".to_owned()
        } else {
            e.why.clone()
        };
        writeln!(
            o,
            "    {:>3}. {}{}: {what}",
            i + 1,
            "  ".repeat(e.depth),
            e.title
        )?;
    }
    writeln!(
        o,
        "    default: entry {}; waits {} ({})",
        menu.default,
        if menu.wait_cs < 0 {
            "forever".to_owned()
        } else {
            format!("{} s", menu.wait_cs as f64 / 100.0)
        },
        menu.wait_why
    )?;
    match model::plan(read, cfg, fstype, &cpu, None)? {
        Ok(p) => writeln!(
            o,
            "    nobody at the keyboard: {} ({}): {} initrd {} cmdline {}",
            p.label,
            p.reason,
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
