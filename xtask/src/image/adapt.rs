//! `cargo xtask adapt-image`: copy a legacy BIOS image and append a FAT
//! partition labelled `gen-kexec` holding the bootloader, so UEFI firmware
//! boots gen-kexec, which then kexecs the image's own isolinux/syslinux
//! entry. No root: plain file I/O on the output only.

use std::fs::{File, OpenOptions};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use fatfs::FatType;
use sha2::{Digest, Sha256};

use super::table::{probe, Table};
use super::{
    align_up, conf, copy, eltorito, fat, iso9660, mbr, parse_size, refuse, tarball, verify,
    write_at, ALIGN, MIB, SECTOR,
};
use crate::fsutil::partial_path;
use crate::ws::Ws;

const DEFAULT_ESP: u64 = 100 * MIB;
const DEFAULT_EL_TORITO_ESP: u64 = 16 * MIB;
/// Free room left after the ESP, as the guide does (and where a GPT's
/// backup table goes).
const SLACK: u64 = MIB;

#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The legacy image: an isohybrid ISO or a disk image with an MBR or
    /// GPT partition table. It is only read.
    pub input: Utf8PathBuf,
    /// Where to write the adapted image (written as OUTPUT.partial, then
    /// renamed once complete and verified).
    #[arg(short, long)]
    pub output: Utf8PathBuf,
    /// The bootloader tarball, holding EFI/Boot/bootx64.efi and
    /// kexec.sourceme [default: dist/efi.tar.xz of the workspace].
    #[arg(long)]
    pub tarball: Option<Utf8PathBuf>,
    /// Size of the new ESP (K, M, G: binary units) [default: 16M for
    /// images with an El Torito catalog, whose UEFI entry can describe at
    /// most 32M - 512 bytes; else 100M].
    #[arg(long, value_parser = parse_size)]
    pub esp_size: Option<u64>,
    /// Extra kernel arguments for the legacy image's kernel, written as
    /// `append="ARGS"` to gen-kexec.conf on the ESP (e.g. console=ttyS0,115200).
    #[arg(long, value_name = "ARGS")]
    pub append: Option<String>,
    /// A gen-kexec.conf setting for the ESP (repeatable): append, label,
    /// load_below or timeout (docs/kexec-sourceme.md), e.g. --set
    /// label=gentoo-nofb. `--append ARGS` is short for `--set append=ARGS`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = conf::parse_setting)]
    pub settings: Vec<(String, String)>,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Instead of adding a UEFI El Torito entry, disable El Torito
    /// altogether so UEFI firmware falls back to the MBR (see below).
    #[arg(long)]
    pub disable_el_torito: bool,
}

const AFTER_HELP: &str = "\
The new partition is appended after the image (aligned to 1 MiB, followed by 1 MiB of slack) and
added to the partition table: MBR (first free primary slot, type 0xEF; boot code, disk signature and
the other entries are kept, also for isohybrid ISOs) or GPT (an EFI System Partition entry; the backup
table moves to the new end). It holds a FAT filesystem labelled gen-kexec with the tarball's files.
Timestamps and the volume id come from SOURCE_DATE_EPOCH (default: sources.lock), so the same inputs
give a bit-identical output.

ISO images with an El Torito boot catalog: UEFI firmware built on edk2 (OVMF, most PCs) reads the El
Torito catalog before the MBR and stops there, so an MBR partition alone is not seen. adapt-image
therefore also adds a UEFI (platform 0xEF) no-emulation El Torito entry pointing at the new partition,
like modern hybrid ISOs, and keeps the BIOS entry untouched. That entry counts 512-byte sectors in 16
bits, so this ESP is at most 32 MiB - 512 bytes (default 16 MiB, FAT16; the payload is a few MB).

--disable-el-torito is the blunt alternative: it renames the El Torito boot record so firmware ignores
the catalog and falls back to the MBR, which allows a larger ESP (default 100 MiB). Trade-off: the
image then no longer boots as a CD/DVD at all (neither BIOS nor UEFI: both need El Torito there);
from a USB stick or hard disk it still boots in BIOS mode (isohybrid MBR) and in UEFI mode (MBR ESP).";

/// What [`adapt`] did, with its timings (for the user and `cargo xtask bench`).
pub struct Report {
    pub total_bytes: u64,
    pub esp_bytes: u64,
    pub first_sector: u64,
    pub el_torito_entry: bool,
    pub method: copy::Method,
    pub copy_secs: f64,
    pub flush_secs: f64,
    pub total_secs: f64,
}

impl Report {
    /// Everything but copying the input and flushing to disk.
    pub fn beyond_copy_secs(&self) -> f64 {
        self.total_secs - self.copy_secs - self.flush_secs
    }
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let r = adapt(ws, args)?;
    println!(
        "adapt-image: wrote {} ({} MiB): ESP {} MiB at sector {}{}; copied by {} in {:.2} s \
         (+ {:.2} s flushing to disk), the rest took {:.2} s",
        args.output,
        r.total_bytes / MIB,
        r.esp_bytes / MIB,
        r.first_sector,
        if r.el_torito_entry {
            ", with an El Torito UEFI entry"
        } else {
            ""
        },
        r.method,
        r.copy_secs,
        r.flush_secs,
        r.beyond_copy_secs()
    );
    Ok(())
}

/// Write the adapted image (see the module doc and [`Args`]).
pub fn adapt(ws: &Ws, args: &Args) -> Result<Report> {
    let t0 = Instant::now();
    let tarball_path = args
        .tarball
        .clone()
        .unwrap_or_else(|| ws.dist.join("efi.tar.xz"));
    refuse::paths(&args.input, &args.output, args.force)?;
    let mut files = tarball::read(&tarball_path)?;
    let settings: Vec<(String, String)> = (args.append.iter())
        .map(|a| ("append".to_owned(), a.clone()))
        .chain(args.settings.iter().cloned())
        .collect();
    if !settings.is_empty() {
        files.push(("gen-kexec.conf".to_owned(), conf::render(&settings)?));
        files.sort();
    }
    let epoch = ws.source_date_epoch()?;
    let input = File::open(&args.input)
        .with_context(|| format!("cannot open the input image {}", args.input))?;
    let image = probe(&input, &args.input)?;
    refuse::unsupported(&args.input, &image)?;
    refuse::adapted(&input, &args.input, &image)?;

    // Where the ESP goes and how big it is.
    let el_torito_entry = image.el_torito.is_some()
        && !args.disable_el_torito
        && matches!(image.table, Table::Mbr(_));
    let esp = args.esp_size.unwrap_or(if el_torito_entry {
        DEFAULT_EL_TORITO_ESP
    } else {
        DEFAULT_ESP
    });
    if !esp.is_multiple_of(SECTOR) {
        bail!("--esp-size {esp}: must be a multiple of 512 bytes");
    }
    if el_torito_entry && esp / SECTOR > eltorito::MAX_SECTORS {
        bail!(
            "--esp-size {} KiB is too large for {}: its El Torito UEFI entry can describe at most 32 MiB - 512 bytes \
             (use e.g. --esp-size 16M, or --disable-el-torito, see --help)",
            esp / 1024,
            args.input
        );
    }
    let fat_type = el_torito_entry.then_some(FatType::Fat16);
    fat::check_size(esp, fat_type)?;
    let start = align_up(image.end_sector() * SECTOR, ALIGN);
    let total = start + esp + SLACK;
    let (first, count) = (start / SECTOR, esp / SECTOR);
    let slot = refuse::free_slot(&image.table, &args.input, first + count)?;
    if let Some(et) = image.el_torito.as_ref().filter(|_| el_torito_entry) {
        if et
            .catalog
            .entries
            .iter()
            .any(|e| e.platform == eltorito::PLATFORM_EFI)
        {
            eprintln!(
                "adapt-image: note: {} already has a UEFI El Torito entry (it may boot on UEFI by itself); \
                 gen-kexec's entry is added after it",
                args.input
            );
        }
    }

    let out = Output::create(&args.output)?;
    let (mut copy_time, mut flush_time) = (0.0, 0.0);
    let result = (|| -> Result<copy::Method> {
        let t = Instant::now();
        let method = copy::copy(&input, &out.file)
            .with_context(|| format!("cannot copy {} to {}", args.input, out.partial))?;
        copy_time = t.elapsed().as_secs_f64();
        out.file
            .set_len(total)
            .with_context(|| format!("cannot grow {} to {total} bytes", out.partial))?;
        let (f, p) = (&out.file, out.partial.as_path());
        match &image.table {
            Table::None => unreachable!("refused earlier"),
            Table::Mbr(_) => {
                let mut s0 = image.sector0.clone();
                let entry = mbr::Entry {
                    status: 0,
                    kind: mbr::TYPE_ESP,
                    start: first as u32,
                    sectors: count as u32,
                };
                mbr::write_entry(&mut s0, slot, &entry);
                write_at(f, p, 0, &s0)?;
            }
            Table::Gpt(pmbr, g) => {
                let mut g = g.clone();
                g.set_esp(
                    slot,
                    unique_guid(&g.disk_guid, first, count),
                    first,
                    first + count - 1,
                    fat::LABEL,
                );
                g.write(f, p, total / SECTOR)?;
                update_protective_mbr(f, p, &image.sector0, pmbr, image.sectors(), total / SECTOR)?;
            }
        }
        if let Some(et) = &image.el_torito {
            if args.disable_el_torito {
                let record = image
                    .iso
                    .as_ref()
                    .and_then(|v| v.boot_record)
                    .expect("El Torito has a boot record");
                let mut id = [0u8; 32];
                id[..iso9660::DISABLED_ID.len()].copy_from_slice(iso9660::DISABLED_ID);
                write_at(f, p, record + 7, &id)?;
            } else if el_torito_entry {
                let mut bytes = et.bytes.clone();
                let mut catalog = et.catalog.clone();
                catalog
                    .add_efi_entry(
                        &mut bytes,
                        (start / iso9660::CD_SECTOR) as u32,
                        count as u16,
                    )
                    .map_err(|e| anyhow::anyhow!("{}: {e}", args.input))?;
                write_at(f, p, et.offset, &bytes)?;
            }
        } else if args.disable_el_torito {
            eprintln!(
                "adapt-image: {} has no El Torito catalog: --disable-el-torito changes nothing",
                args.input
            );
        }
        fat::make(f, p, start, esp, fat_type, epoch, &files)?;
        let t = Instant::now();
        // Flush before the rename, so a crash never leaves a short OUTPUT.
        f.sync_all()
            .with_context(|| format!("cannot write {}", out.partial))?;
        flush_time = t.elapsed().as_secs_f64();
        verify::output(
            &out.partial,
            start,
            esp,
            el_torito_entry,
            image.iso.is_some(),
            &files,
        )?;
        Ok(method)
    })();
    let method = result.map_err(|e| explain_no_space(e, &args.output, total))?;
    out.commit(&args.output)?;
    Ok(Report {
        total_bytes: total,
        esp_bytes: esp,
        first_sector: first,
        el_torito_entry,
        method,
        copy_secs: copy_time,
        flush_secs: flush_time,
        total_secs: t0.elapsed().as_secs_f64(),
    })
}

/// What `adapt` checks in the input before it writes anything, for the
/// fuzzer: the tables, "already adapted?", where the ESP would go.
pub fn precheck(input: &Utf8Path) -> Result<()> {
    let file = File::open(input).with_context(|| format!("cannot open {input}"))?;
    let image = probe(&file, input)?;
    refuse::unsupported(input, &image)?;
    refuse::adapted(&file, input, &image)?;
    let start = align_up(image.end_sector() * SECTOR, ALIGN);
    refuse::free_slot(&image.table, input, (start + DEFAULT_ESP) / SECTOR)?;
    Ok(())
}

/// The output being written: `OUTPUT.partial`, removed unless committed.
struct Output {
    partial: Utf8PathBuf,
    file: File,
    done: bool,
}

impl Output {
    fn create(output: &Utf8Path) -> Result<Output> {
        let partial = partial_path(output);
        let _ = std::fs::remove_file(&partial);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&partial)
            .with_context(|| format!("cannot create {partial}"))?;
        Ok(Output {
            partial,
            file,
            done: false,
        })
    }

    fn commit(mut self, output: &Utf8Path) -> Result<()> {
        crate::fsutil::rename(&self.partial, output)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// A partition GUID derived from the disk GUID and the partition's place:
/// unique per disk, yet the same for the same inputs (version 4 layout).
fn unique_guid(disk_guid: &[u8; 16], first: u64, count: u64) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"gen-kexec ESP\0");
    h.update(disk_guid);
    h.update(first.to_le_bytes());
    h.update(count.to_le_bytes());
    let mut g: [u8; 16] = h.finalize()[..16].try_into().unwrap();
    g[7] = (g[7] & 0x0F) | 0x40;
    g[8] = (g[8] & 0x3F) | 0x80;
    g
}

/// Grow the protective 0xEE entry if it covered the whole old disk.
fn update_protective_mbr(
    f: &File,
    p: &Utf8Path,
    s0: &[u8],
    pmbr: &mbr::Mbr,
    old: u64,
    new: u64,
) -> Result<()> {
    let capped = |n: u64| (n - 1).min(u64::from(u32::MAX)) as u32;
    let Some(slot) = pmbr.entries.iter().position(|e| e.kind == mbr::TYPE_GPT) else {
        return Ok(());
    };
    let e = pmbr.entries[slot];
    if e.start == 1
        && (e.sectors == capped(old) || e.sectors == u32::MAX)
        && e.sectors != capped(new)
    {
        let mut s0 = s0.to_vec();
        mbr::write_entry(
            &mut s0,
            slot,
            &mbr::Entry {
                sectors: capped(new),
                ..e
            },
        );
        write_at(f, p, 0, &s0)?;
    }
    Ok(())
}

/// Turn "disk full" and "file too large" write errors into a message
/// saying what happened and what to do.
fn explain_no_space(e: anyhow::Error, output: &Utf8Path, total: u64) -> anyhow::Error {
    let code = e.chain().find_map(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
            .filter(|&n| n == libc::ENOSPC || n == libc::EDQUOT || n == libc::EFBIG)
    });
    let mib = total.div_ceil(MIB);
    match code {
        Some(libc::EFBIG) => e.context(format!(
            "{output} cannot grow to {mib} MiB: its filesystem (e.g. FAT32: 4 GiB at most) or a file size \
             limit (ulimit -f) forbids it; nothing was written: choose another -o"
        )),
        Some(_) => e.context(format!(
            "no space left for {output} (it needs up to {mib} MiB, less where the input has holes); \
             nothing was written: free some space or choose another -o"
        )),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_is_stable_and_version_4() {
        let g = unique_guid(&[1; 16], 2048, 32768);
        assert_eq!(g, unique_guid(&[1; 16], 2048, 32768));
        assert_ne!(g, unique_guid(&[2; 16], 2048, 32768));
        assert_eq!(g[7] >> 4, 4);
    }
}
