//! The kernel configuration embedded in a kernel image (`CONFIG_IKCONFIG`),
//! read in process from a kernel file or from a boot ISO, without mounting
//! anything and without root: what scripts/extract-ikconfig does after the
//! Gentoo guide loop-mounts the minimal install ISO.
//!
//! `kernel:PATH` and `iso:PATH` kernel-config bases come from here, and so
//! does `cargo xtask extract-config`. Steps: find the kernel on the ISO from
//! its boot configuration ([`bootcfg`], [`iso`]), find the compressed kernel
//! in the bzImage ([`bzimage`]), decompress it ([`decompress`]), then gunzip
//! the config between `IKCFG_ST` and `IKCFG_ED` ([`ikcfg`]).

pub mod bootcfg;
pub mod buildcheck;
pub mod bzimage;
pub mod decompress;
pub mod ikcfg;
pub mod iso;

use anyhow::{anyhow, bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use bzimage::Kernel;

/// An extracted `.config` and where it came from.
#[derive(Debug)]
pub struct Extracted {
    pub config: Vec<u8>,
    /// One line for humans: which kernel, what kind of image.
    pub origin: String,
}

/// The configuration embedded in the kernel image file at `path`.
pub fn from_kernel_file(path: &Utf8Path) -> Result<Extracted> {
    let image = std::fs::read(path).with_context(|| format!("cannot read kernel image {path}"))?;
    from_kernel_image(path.as_str(), &image).map_err(|e| match distro_config_next_to(path) {
        Some(cfg) if e.to_string().contains("without CONFIG_IKCONFIG") => {
            anyhow!("{e}.\nHere its distribution's configuration is next to it: use `file:{cfg}`")
        }
        _ => e,
    })
}

/// The configuration embedded in `image`; `name` says where it came from.
pub fn from_kernel_image(name: &str, image: &[u8]) -> Result<Extracted> {
    let kernel =
        bzimage::locate(image).with_context(|| format!("{name}: cannot read it as a kernel"))?;
    let what = kernel.describe();
    let decompressed;
    let vmlinux: &[u8] = match kernel {
        Kernel::Elf(data) => data,
        Kernel::BzImage { payload, .. } => {
            let format = decompress::Format::detect(payload).with_context(|| {
                format!(
                    "{name}: {what}: the payload starts with {:02x?}, which is none of the \
                     compression formats Linux uses (gzip, xz, lzma, bzip2, lz4, zstd, lzo)",
                    &payload[..payload.len().min(6)]
                )
            })?;
            decompressed = format
                .decompress(payload)
                .with_context(|| format!("{name}: {what}"))?;
            &decompressed
        }
        Kernel::Compressed(format, data) => {
            decompressed = format
                .decompress(data)
                .with_context(|| format!("{name}: {what}"))?;
            &decompressed
        }
    };
    match ikcfg::extract(vmlinux).with_context(|| format!("{name}: {what}"))? {
        Some(config) => Ok(Extracted {
            config,
            origin: format!("{name}: {what}"),
        }),
        None => bail!(
            "{name}: this kernel was built without CONFIG_IKCONFIG: its {what} (decompressed: {}) \
             holds no embedded configuration (no `IKCFG_ST` marker). Use the configuration file \
             it was built from as a `file:PATH` base (distributions ship it, e.g. \
             /boot/config-VERSION), or a kernel built with CONFIG_IKCONFIG=y",
            bzimage::size(vmlinux.len())
        ),
    }
}

/// Debian and Gentoo install `/boot/config-V` next to `/boot/vmlinuz-V`.
fn distro_config_next_to(kernel: &Utf8Path) -> Option<Utf8PathBuf> {
    let name = kernel.file_name()?;
    let version = ["vmlinuz-", "vmlinux-", "kernel-"]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    let cfg = kernel.with_file_name(format!("config-{version}"));
    cfg.is_file().then_some(cfg)
}

/// The configuration embedded in the default kernel of the boot ISO at
/// `path`, found through its isolinux or GRUB configuration.
pub fn from_iso(path: &Utf8Path) -> Result<Extracted> {
    let iso = iso::Iso::open(path)?;
    let choice = bootcfg::choose(&mut |p: &str| iso.read_file(p))
        .with_context(|| format!("{path}: cannot tell which kernel it boots"))?;
    let image = iso.read_file(&choice.kernel)?.with_context(|| {
        format!(
            "{path}: {} names the kernel `{}`, which the image does not hold",
            choice.reason, choice.kernel
        )
    })?;
    let name = format!("{path}:/{} ({})", choice.kernel, choice.reason);
    from_kernel_image(&name, &image)
}

/// A base for `extract-config`: `iso:PATH`, `kernel:PATH`, or a bare path
/// (an ISO9660 image if it has one's volume descriptor, else a kernel).
pub fn from_spec(spec: &str) -> Result<Extracted> {
    match spec.split_once(':') {
        Some(("iso", p)) => from_iso(Utf8Path::new(p)),
        Some(("kernel", p)) => from_kernel_file(Utf8Path::new(p)),
        _ if looks_like_iso(Utf8Path::new(spec)) => from_iso(Utf8Path::new(spec)),
        _ => from_kernel_file(Utf8Path::new(spec)),
    }
}

fn looks_like_iso(path: &Utf8Path) -> bool {
    use std::os::unix::fs::FileExt;
    let mut magic = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|f| f.read_exact_at(&mut magic, 0x8001))
        .is_ok()
        && &magic == b"CD001"
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `iso:PATH` (a boot ISO: its default kernel), `kernel:PATH` (a bzImage,
    /// vmlinux or compressed vmlinux), a bare PATH of either kind, or
    /// `iso:component:NAME` (the ISO sources.lock pins as NAME, fetched and
    /// verified first, e.g. `iso:component:gentoo-minimal-iso`).
    pub source: String,
    /// Write the configuration here (atomically) instead of to stdout.
    #[arg(short, long)]
    pub output: Option<Utf8PathBuf>,
}

/// `cargo xtask extract-config`: print or write the embedded `.config`.
pub fn run(ws: &crate::ws::Ws, args: &Args) -> Result<()> {
    let prefix = format!("iso:{}", crate::kconfig::profile::COMPONENT_PREFIX);
    let x = match args.source.strip_prefix(&prefix) {
        // The ISO a sources.lock component pins, verified first.
        Some(name) => {
            if !ws.lock()?.component.contains_key(name) {
                bail!("`{}` {}", args.source, crate::kconfig::not_in_lock(name));
            }
            let iso = crate::fetch::ensure(ws, name)
                .with_context(|| format!("extract-config {}", args.source))?;
            from_iso(&iso.path)?
        }
        None => from_spec(&args.source)?,
    };
    eprintln!(
        "extract-config: {} ({} bytes of .config)",
        x.origin,
        x.config.len()
    );
    match &args.output {
        Some(out) => crate::fsutil::write_atomic(out, &x.config),
        None => {
            use std::io::Write;
            match std::io::stdout().write_all(&x.config) {
                // `| head` read what it wanted: not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("cannot write to stdout"),
            }
        }
    }
}

#[cfg(test)]
mod tests;
