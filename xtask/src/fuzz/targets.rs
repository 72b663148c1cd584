//! The fuzz targets: one per reader of untrusted bytes, each a function
//! from bytes to an outcome (a normalised text, used to keep inputs that
//! reach something new) or a clean error. A panic or a hang is the bug.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::seeds;
use crate::ikconfig::{bootcfg, decompress, ikcfg};
use crate::image::{adapt, eltorito, fat, inspect};

/// The decompression limit during fuzzing (the real one is 1 GiB): a run
/// must stay under 256 MiB of memory.
pub const FUZZ_DECOMPRESS_LIMIT: u64 = 48 << 20;

pub struct Target {
    pub name: &'static str,
    pub what: &'static str,
    /// Seed inputs, made in-process or with xorriso in `scratch`.
    pub seeds: fn(scratch: &Utf8Path) -> Result<Vec<Vec<u8>>>,
    pub run: fn(&mut Ctx, &[u8]) -> Result<String>,
    /// Repairs checksums after a mutation, so it gets past them.
    pub fixup: Option<fn(&mut [u8])>,
    /// Whether mutations may change the length (text, streams).
    pub resizable: bool,
    /// Text-like input: mutations also insert these tokens.
    pub tokens: &'static [&'static str],
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "mbr",
        what: "MBR disk images: inspect + adapt-image's checks (FAT partitions too)",
        seeds: seeds::mbr_images,
        run: run_image,
        fixup: None,
        resizable: false,
        tokens: &[],
    },
    Target {
        name: "gpt",
        what: "GPT disk images (CRCs repaired after mutation): inspect + adapt-image's checks",
        seeds: seeds::gpt_images,
        run: run_image,
        fixup: Some(seeds::fix_gpt_crcs),
        resizable: false,
        tokens: &[],
    },
    Target {
        name: "eltorito",
        what: "El Torito boot catalogs (checksum repaired): parse + add the UEFI entry",
        seeds: seeds::catalogs,
        run: run_catalog,
        fixup: Some(seeds::fix_catalog_checksum),
        resizable: false,
        tokens: &[],
    },
    Target {
        name: "iso9660",
        what: "ISO 9660 images with Rock Ridge, Joliet, El Torito (xorriso): inspect + extract-config iso:",
        seeds: seeds::isos,
        run: run_iso,
        fixup: None,
        resizable: false,
        tokens: &[],
    },
    Target {
        name: "fat",
        what: "FAT12/16 filesystems: the directory walk and file reads",
        seeds: seeds::fat_volumes,
        run: run_fat,
        fixup: None,
        resizable: false,
        tokens: &[],
    },
    Target {
        name: "ext4",
        what: "ext2/3/4 filesystems (mkfs.ext4 -d): inspect through ext4-view, GRUB and extlinux configs",
        seeds: super::seeds_ext::ext4_images,
        run: run_ext4,
        fixup: None,
        resizable: false,
        tokens: &[],
    },
    Target {
        name: "bzimage",
        what: "bzImage setup header + payload decompression (gzip, xz, lzma, bzip2, lz4, zstd) + IKCONFIG",
        seeds: seeds::kernels,
        run: run_kernel,
        fixup: None,
        resizable: true,
        tokens: &["HdrS", "IKCFG_ST", "IKCFG_ED", "\u{1f}\u{8b}\u{8}"],
    },
    Target {
        name: "ikconfig",
        what: "IKCFG_ST..IKCFG_ED in a vmlinux, gunzipped",
        seeds: seeds::vmlinuxes,
        run: run_ikcfg,
        fixup: None,
        resizable: true,
        tokens: &["IKCFG_ST", "IKCFG_ED", "\u{1f}\u{8b}\u{8}"],
    },
    Target {
        name: "bootcfg",
        what: "the Rust isolinux and GRUB config models (bootcfg/, through ikconfig/bootcfg.rs) on file trees",
        seeds: seeds::boot_trees,
        run: run_bootcfg,
        fixup: None,
        resizable: true,
        tokens: &[
            "\ninclude ",
            "\nmenu include ",
            "\nlabel ",
            "\nkernel ",
            "\ndefault ",
            "\nmenu default\n",
            "isolinux/isolinux.cfg",
            "../",
            "/",
            "\nconfigfile ",
            "\nmenuentry 'x' {\n linux /k\n}\n",
            "{",
            "}",
            "\0",
        ],
    },
];

pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// What a run needs: an in-memory file (memfd) the image readers can open
/// by path.
pub struct Ctx {
    pub file: File,
    pub path: Utf8PathBuf,
}

impl Ctx {
    pub fn new() -> Result<Ctx> {
        // SAFETY: memfd_create returns a new owned descriptor or -1.
        let fd = unsafe { libc::memfd_create(c"gen-kexec-fuzz".as_ptr(), 0) };
        anyhow::ensure!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` is ours and open.
        let file = unsafe { File::from_raw_fd(fd) };
        Ok(Ctx {
            file,
            path: Utf8PathBuf::from(format!("/proc/self/fd/{fd}")),
        })
    }

    fn load(&mut self, data: &[u8]) -> Result<()> {
        self.file.set_len(0)?;
        use std::os::unix::fs::FileExt;
        self.file.write_all_at(data, 0).context("memfd write")?;
        self.file.flush()?;
        Ok(())
    }
}

fn run_image(ctx: &mut Ctx, data: &[u8]) -> Result<String> {
    ctx.load(data)?;
    let report = inspect::report(&ctx.path)?;
    let adapt = match adapt::precheck(&ctx.path) {
        Ok(()) => "adaptable".to_owned(),
        Err(e) => format!("{e:#}"),
    };
    Ok(format!("{report}\n{adapt}"))
}

fn run_iso(ctx: &mut Ctx, data: &[u8]) -> Result<String> {
    ctx.load(data)?;
    let report = inspect::report(&ctx.path).unwrap_or_else(|e| format!("{e:#}"));
    let config = match crate::ikconfig::from_iso(&ctx.path) {
        Ok(x) => format!("config {} bytes from {}", x.config.len(), x.origin),
        Err(e) => format!("{e:#}"),
    };
    Ok(format!("{report}\n{config}"))
}

fn run_catalog(_: &mut Ctx, data: &[u8]) -> Result<String> {
    let mut cat = data.to_vec();
    cat.resize(2048, 0);
    let mut c = eltorito::Catalog::parse(&cat)?;
    let n = c.entries.len();
    let added = c.add_efi_entry(&mut cat, 1000, 32768);
    Ok(format!(
        "{n} entries, add: {:?}",
        added.map_err(|e| e.to_string())
    ))
}

fn run_fat(ctx: &mut Ctx, data: &[u8]) -> Result<String> {
    ctx.load(data)?;
    let len = data.len() as u64;
    let s = fat::summarize(&ctx.file, 0, len)?;
    let mut out = format!("{:?} {:?} {} files", s.fat_type, s.label, s.files.len());
    for (name, _) in s.files.iter().take(16) {
        match fat::read_file_max(&ctx.file, 0, len, name, 1 << 20) {
            Ok(b) => out.push_str(&format!(" {name}:{}", b.len())),
            Err(e) => out.push_str(&format!(" {name}:{e}")),
        }
    }
    Ok(out)
}

fn run_ext4(ctx: &mut Ctx, data: &[u8]) -> Result<String> {
    ctx.load(data)?;
    let report = inspect::report(&ctx.path).unwrap_or_else(|e| format!("{e:#}"));
    let walk = crate::image::ext_walk(&ctx.file, data.len() as u64);
    Ok(format!("{report}\n{walk}"))
}

fn run_kernel(_: &mut Ctx, data: &[u8]) -> Result<String> {
    decompress::set_limit(FUZZ_DECOMPRESS_LIMIT);
    let x = crate::ikconfig::from_kernel_image("fuzz", data)?;
    Ok(format!("{} {}", x.config.len(), x.origin))
}

fn run_ikcfg(_: &mut Ctx, data: &[u8]) -> Result<String> {
    Ok(format!("{:?}", ikcfg::extract(data)?.map(|c| c.len())))
}

/// A file tree as bytes: `path \0 contents \0 path \0 contents ...`.
pub fn decode_tree(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut parts = data.split(|&b| b == 0);
    let mut files = BTreeMap::new();
    while let (Some(p), Some(c)) = (parts.next(), parts.next()) {
        let p = String::from_utf8_lossy(p)
            .trim_start_matches('/')
            .to_lowercase();
        files.insert(p, c.to_vec());
    }
    files
}

pub fn encode_tree(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (p, c) in files {
        out.extend_from_slice(p.as_bytes());
        out.push(0);
        out.extend_from_slice(c.as_bytes());
        out.push(0);
    }
    out
}

fn run_bootcfg(_: &mut Ctx, data: &[u8]) -> Result<String> {
    let files = decode_tree(data);
    let c = bootcfg::choose(&mut |p: &str| Ok(files.get(&p.to_lowercase()).cloned()))?;
    Ok(format!("{} {}", c.kernel, c.reason))
}
