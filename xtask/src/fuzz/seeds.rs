//! Seed inputs, made at run time from small synthetic images shaped like
//! the e2e fixtures (nothing here is a committed blob): disk images with
//! MBR or GPT tables and FAT partitions made by `image::fat::make`, ISO
//! images made by xorriso, made-up kernels in every compression format,
//! and boot-config trees.

use std::io::Write;
use std::os::unix::fs::FileExt;

use anyhow::{Context, Result};
use camino::Utf8Path;
use fatfs::FatType;
use xshell::{cmd, Shell};

use super::targets::{encode_tree, Ctx};
use crate::ikconfig::decompress::Format;
use crate::image::{fat, gpt, mbr};

const EPOCH: u64 = 1_700_000_000;
const SECTOR: usize = 512;

pub(super) const ISOLINUX_CFG: &str = "default gentoo\ntimeout 150\nprompt 1\ninclude menu.cfg\n\
    label gentoo\n  kernel gentoo\n  append root=/dev/ram0 cdroot initrd=gentoo.igz\n\
    label nofb\n  menu default\n  kernel gentoo\n  append nofb\n";
const MENU_CFG: &str = "menu include sub.cfg Submenu\nlabel memtest\n  kernel memtest86\n";
pub(super) const GRUB_CFG: &str =
    "set default=0\nmenuentry 'Gentoo' {\n\tlinux ($root)/boot/gentoo cdroot\n\
    \tinitrd /boot/gentoo.igz\n}\n";

/// The files the FAT seeds hold: boot configs in the places inspect looks.
fn fat_files() -> Vec<(String, Vec<u8>)> {
    [
        ("syslinux.cfg", ISOLINUX_CFG),
        ("boot/syslinux/syslinux.cfg", ISOLINUX_CFG),
        ("EFI/Boot/bootx64.efi", "MZ not really an EFI application"),
        ("a/b/c/d/deep.txt", "deep"),
        ("gen-kexec.conf", "label=nofb\n"),
    ]
    .iter()
    .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
    .collect()
}

/// `bytes` with a FAT filesystem made at `[start, start + len)`.
fn with_fat(bytes: Vec<u8>, start: u64, len: u64, t: FatType) -> Result<Vec<u8>> {
    let ctx = Ctx::new()?;
    ctx.file.write_all_at(&bytes, 0)?;
    fat::make(
        &ctx.file,
        &ctx.path,
        start,
        len,
        Some(t),
        EPOCH,
        &fat_files(),
    )?;
    let mut out = vec![0u8; bytes.len()];
    ctx.file.read_exact_at(&mut out, 0)?;
    Ok(out)
}

/// Relabel a FAT12/16 filesystem made by `with_fat` (boot sector label),
/// so that adapt-image's checks go past "already adapted".
fn legacy(mut img: Vec<u8>, start: u64) -> Vec<u8> {
    let at = start as usize + 43;
    img[at..at + 11].copy_from_slice(b"LEGACY     ");
    img
}

pub fn fat_volumes(_: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    Ok(vec![
        with_fat(vec![0; 256 << 10], 0, 256 << 10, FatType::Fat12)?,
        with_fat(vec![0; 2560 << 10], 0, 2560 << 10, FatType::Fat16)?,
    ])
}

fn mbr_sector(entries: &[(usize, mbr::Entry)]) -> Vec<u8> {
    let mut s = vec![0u8; SECTOR];
    s[440..444].copy_from_slice(&0x1234_5678u32.to_le_bytes());
    s[510] = 0x55;
    s[511] = 0xAA;
    for (slot, e) in entries {
        mbr::write_entry(&mut s, *slot, e);
    }
    s
}

fn entry(kind: u8, start: u32, sectors: u32) -> mbr::Entry {
    mbr::Entry {
        status: 0,
        kind,
        start,
        sectors,
    }
}

pub fn mbr_images(_: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    // A stick-like image: one FAT partition at sector 64.
    let mut img = mbr_sector(&[(0, entry(0x0c, 64, 512))]);
    img.resize(640 * SECTOR, 0);
    let stick = legacy(
        with_fat(img, 64 * 512, 512 * 512, FatType::Fat12)?,
        64 * 512,
    );
    // An adapted-looking image: a Linux partition and the gen-kexec ESP.
    let mut img = mbr_sector(&[(0, entry(0x83, 8, 56)), (1, entry(0xEF, 64, 512))]);
    img.resize(640 * SECTOR, 0);
    let adapted = with_fat(img, 64 * 512, 512 * 512, FatType::Fat12)?;
    // All four slots used.
    let mut full = mbr_sector(&[
        (0, entry(0x83, 8, 8)),
        (1, entry(0x82, 16, 8)),
        (2, entry(0x05, 24, 8)),
        (3, entry(0x07, 32, 8)),
    ]);
    full.resize(64 * SECTOR, 0);
    Ok(vec![stick, adapted, full])
}

/// A GPT disk of `sectors` with `count` entries of 128 bytes and the given
/// partitions (first, last, type), primary and backup tables, CRCs set.
pub fn gpt_image(sectors: u64, count: u32, parts: &[(u64, u64, [u8; 16])]) -> Vec<u8> {
    let total = sectors as usize * SECTOR;
    let array = count as usize * 128;
    let array_sectors = array.div_ceil(SECTOR) as u64;
    let mut img = mbr_sector(&[(0, entry(mbr::TYPE_GPT, 1, (sectors - 1) as u32))]);
    img.resize(total, 0);
    let mut entries = vec![0u8; array];
    for (i, (first, last, kind)) in parts.iter().enumerate() {
        let e = &mut entries[i * 128..(i + 1) * 128];
        e[0..16].copy_from_slice(kind);
        e[16..32].copy_from_slice(&[i as u8 + 1; 16]);
        e[32..40].copy_from_slice(&first.to_le_bytes());
        e[40..48].copy_from_slice(&last.to_le_bytes());
        for (j, c) in "part".encode_utf16().enumerate() {
            e[56 + 2 * j..58 + 2 * j].copy_from_slice(&c.to_le_bytes());
        }
    }
    let header = |my: u64, alt: u64, entries_lba: u64| {
        let mut h = vec![0u8; SECTOR];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&my.to_le_bytes());
        h[32..40].copy_from_slice(&alt.to_le_bytes());
        h[40..48].copy_from_slice(&(2 + array_sectors).to_le_bytes());
        h[48..56].copy_from_slice(&(sectors - 2 - array_sectors).to_le_bytes());
        h[56..72].copy_from_slice(&[0xAB; 16]);
        h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
        h[80..84].copy_from_slice(&count.to_le_bytes());
        h[84..88].copy_from_slice(&128u32.to_le_bytes());
        h[88..92].copy_from_slice(&crc32fast::hash(&entries).to_le_bytes());
        let crc = crc32fast::hash(&h[..92]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    };
    let last = sectors - 1;
    let backup_entries = last - array_sectors;
    img[SECTOR..2 * SECTOR].copy_from_slice(&header(1, last, 2));
    img[2 * SECTOR..2 * SECTOR + array].copy_from_slice(&entries);
    let b = backup_entries as usize * SECTOR;
    img[b..b + array].copy_from_slice(&entries);
    img[last as usize * SECTOR..].copy_from_slice(&header(last, 1, backup_entries));
    img
}

/// Recompute the primary header's CRCs (entry array first) after a mutation.
pub fn fix_gpt_crcs(img: &mut [u8]) {
    let h = SECTOR;
    if img.len() < 2 * SECTOR || &img[h..h + 8] != b"EFI PART" {
        return;
    }
    let rd32 = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let lba = u64::from_le_bytes(img[h + 72..h + 80].try_into().unwrap());
    let bytes = u64::from(rd32(img, h + 80)) * u64::from(rd32(img, h + 84));
    let start = lba.saturating_mul(SECTOR as u64);
    if start.saturating_add(bytes) <= img.len() as u64 {
        let crc = crc32fast::hash(&img[start as usize..(start + bytes) as usize]);
        img[h + 88..h + 92].copy_from_slice(&crc.to_le_bytes());
    }
    let size = (rd32(img, h + 12) as usize).clamp(92, SECTOR);
    img[h + 16..h + 20].fill(0);
    let crc = crc32fast::hash(&img[h..h + size]);
    img[h + 16..h + 20].copy_from_slice(&crc.to_le_bytes());
}

pub fn gpt_images(_: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    let linux = [
        0x0F, 0xC6, 0x3D, 0xAF, 0x84, 0x83, 0x72, 0x47, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D,
        0xE4,
    ];
    let esp = gpt_image(704, 128, &[(64, 575, gpt::TYPE_ESP)]);
    let esp = legacy(
        with_fat(esp, 64 * 512, 512 * 512, FatType::Fat12)?,
        64 * 512,
    );
    let small = gpt_image(96, 4, &[(8, 39, linux), (40, 87, gpt::TYPE_ESP)]);
    Ok(vec![esp, small])
}

fn validation_entry() -> Vec<u8> {
    let mut cat = vec![0u8; 2048];
    cat[0] = 1;
    cat[30] = 0x55;
    cat[31] = 0xAA;
    cat
}

pub fn fix_catalog_checksum(cat: &mut [u8]) {
    if cat.len() < 32 {
        return;
    }
    cat[28..30].fill(0);
    let sum = (0..16).fold(0u16, |s, i| {
        s.wrapping_add(u16::from_le_bytes([cat[2 * i], cat[2 * i + 1]]))
    });
    cat[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
}

pub fn catalogs(_: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    let mut bios = validation_entry();
    bios[32] = 0x88;
    bios[32 + 6] = 4;
    bios[32 + 8] = 35;
    fix_catalog_checksum(&mut bios);
    // BIOS default entry, a 0x90 section with an extension, a final UEFI one.
    let mut multi = bios.clone();
    multi[64] = 0x90;
    multi[66] = 1;
    multi[96] = 0x88;
    multi[128] = 0x44;
    multi[160] = 0x91;
    multi[161] = 0xEF;
    multi[162] = 1;
    multi[192] = 0x88;
    multi[192 + 6] = 0xFF;
    multi[192 + 8] = 200;
    Ok(vec![bios, multi])
}

/// Compress like the kernel build does: the stream, then the size.
fn compress(format: Format, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = match format {
        Format::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(data)?;
            e.finish()?
        }
        Format::Xz => {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(data)?;
            e.finish()?
        }
        Format::Lzma => {
            let opts = xz2::stream::LzmaOptions::new_preset(6)?;
            let s = xz2::stream::Stream::new_lzma_encoder(&opts)?;
            let mut e = xz2::write::XzEncoder::new_stream(Vec::new(), s);
            e.write_all(data)?;
            e.finish()?
        }
        Format::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
            e.write_all(data)?;
            e.finish()?
        }
        Format::Lz4Legacy => {
            let mut out = 0x184C_2102u32.to_le_bytes().to_vec();
            let block = lz4_flex::block::compress(data);
            out.extend_from_slice(&(block.len() as u32).to_le_bytes());
            out.extend_from_slice(&block);
            out
        }
        Format::Zstd => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
        Format::Lzo => b"\x89LZO\0\r\n\x1a\n".to_vec(),
    };
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

/// A made-up vmlinux: ELF magic, code-like bytes, the embedded config.
pub fn vmlinux(config: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(config.as_bytes()).expect("in memory");
    let mut v = b"\x7fELF\x02\x01\x01 code code IKCFG_ST_sym ".to_vec();
    v.extend_from_slice(b"IKCFG_ST");
    v.extend_from_slice(&gz.finish().expect("in memory"));
    v.extend_from_slice(b"IKCFG_ED");
    v.extend((0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    v
}

const CONFIG: &str = "CONFIG_64BIT=y\nCONFIG_IKCONFIG=y\n# CONFIG_IKCONFIG_PROC is not set\n";

/// A bzImage (boot protocol 2.15) around `payload`, as Linux lays it out.
pub fn bzimage(setup_sects: u8, payload: &[u8]) -> Vec<u8> {
    let sects = if setup_sects == 0 {
        4
    } else {
        usize::from(setup_sects)
    };
    let pad = 0x40;
    let mut img = vec![0u8; (sects + 1) * 512 + pad];
    img[0..2].copy_from_slice(b"MZ");
    img[0x1f1] = setup_sects;
    img[0x1fe..0x200].copy_from_slice(&[0x55, 0xaa]);
    img[0x202..0x206].copy_from_slice(b"HdrS");
    img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    img[0x248..0x24c].copy_from_slice(&(pad as u32).to_le_bytes());
    img[0x24c..0x250].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    img.extend_from_slice(payload);
    img.extend_from_slice(b"trailer");
    img
}

pub fn kernels(_: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    let v = vmlinux(CONFIG);
    let mut seeds = Vec::new();
    for f in Format::ALL {
        seeds.push(bzimage(2, &compress(f, &v)?));
    }
    seeds.push(compress(Format::Xz, &v)?); // vmlinux.xz
    seeds.push(v);
    Ok(seeds)
}

pub fn vmlinuxes(_: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    let mut two = vmlinux("CONFIG_A=y\n");
    two.extend(vmlinux(CONFIG));
    Ok(vec![
        vmlinux(CONFIG),
        two,
        b"IKCFG_ST\x1f\x8b\x08IKCFG_ED".to_vec(),
    ])
}

pub fn boot_trees(_: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    Ok(vec![
        encode_tree(&[
            ("isolinux/isolinux.cfg", ISOLINUX_CFG),
            ("isolinux/menu.cfg", MENU_CFG),
            ("isolinux/sub.cfg", "label sub\n kernel /boot/sub\n"),
        ]),
        encode_tree(&[(
            "syslinux.cfg",
            "UI vesamenu.c32\nDEFAULT vesamenu.c32\nINCLUDE syslinux.cfg\nLABEL a\n LINUX ../a\n",
        )]),
        encode_tree(&[
            (
                "EFI/BOOT/grub.cfg",
                "configfile ($root)/boot/grub/grub.cfg\n",
            ),
            ("boot/grub/grub.cfg", GRUB_CFG),
        ]),
        encode_tree(&[("boot/gentoo", "kernel")]),
        // GRUB (the model of the runtime's GRUB parser): Debian's real
        // grub-mkconfig output, a grubenv, GRUB legacy.
        encode_tree(&[
            ("boot/grub/grub.cfg", DEBIAN_GRUB_CFG),
            (
                "boot/grub/grubenv",
                "# GRUB Environment Block\nnext_entry=1>2\n",
            ),
            ("boot/vmlinuz-6.1.0-56-amd64", "k"),
            ("boot/initrd.img-6.1.0-56-amd64", "i"),
        ]),
        encode_tree(&[
            (
                "boot/grub/menu.lst",
                "default 1\ntitle a\nroot (hd0,0)\nkernel /boot/k ro\ntitle b\nchainloader +1\n",
            ),
            ("boot/k", "k"),
        ]),
    ])
}

const DEBIAN_GRUB_CFG: &str =
    include_str!("../../tests/corpus/grub/debian-mkconfig-3kernels-default-path.cfg");

/// ISO images made by xorriso: Rock Ridge + Joliet + El Torito, and plain.
pub fn isos(scratch: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    let sh = Shell::new()?;
    let kernel = bzimage(2, &compress(Format::Gzip, &vmlinux(CONFIG))?);
    let long = "a-rock-ridge-name-long-enough-to-need-a-continuation-area-".repeat(4);
    let mut out = Vec::new();
    for (i, flags) in [&["-R", "-J"][..], &[][..]].into_iter().enumerate() {
        let root = scratch.join(format!("iso{i}"));
        let files: Vec<(String, Vec<u8>)> = vec![
            ("isolinux/isolinux.bin".into(), vec![0xEB; 2048]),
            ("isolinux/isolinux.cfg".into(), ISOLINUX_CFG.into()),
            ("isolinux/menu.cfg".into(), MENU_CFG.into()),
            ("isolinux/gentoo".into(), kernel.clone()),
            ("boot/grub/grub.cfg".into(), GRUB_CFG.into()),
            (format!("{long}/{long}.txt"), b"x".to_vec()),
        ];
        for (p, c) in &files {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().expect("has a parent"))?;
            std::fs::write(&p, c)?;
        }
        let iso = scratch.join(format!("seed{i}.iso"));
        cmd!(sh, "xorriso -as mkisofs -quiet {flags...} -V GKFUZZ -b isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -c isolinux/boot.cat -o {iso} {root}")
            .quiet()
            .ignore_stderr()
            .run()
            .context("xorriso (apt-get install xorriso) making an ISO seed")?;
        out.push(std::fs::read(&iso)?);
    }
    Ok(out)
}
