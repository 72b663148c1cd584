//! `cargo xtask userland`: the initramfs's programs, static against musl.
//!
//! musl into a sysroot, the pinned kernel's UAPI headers next to it, then
//! busybox and kexec-tools compiled against that sysroot only. Other plans
//! (the bootloader image) include [`steps`] and depend on
//! [`components`], then read the files at [`binaries`].

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use camino::Utf8PathBuf;

use crate::plan::{self, Step};
use crate::recipes::{self, busybox, kexec_tools, linux_headers, musl, Target};
use crate::ws::Ws;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Architecture to build for.
    #[arg(long, value_enum, default_value_t = Target::X86_64)]
    pub target: Target,
}

/// The finished, stripped, static binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub busybox: Utf8PathBuf,
    pub kexec: Utf8PathBuf,
}

impl Binaries {
    /// Program name -> file, as `initramfs-skel/layout.toml`'s `[binaries]`
    /// names them.
    pub fn by_name(&self) -> BTreeMap<String, Utf8PathBuf> {
        BTreeMap::from([
            ("busybox".to_owned(), self.busybox.clone()),
            ("kexec".to_owned(), self.kexec.clone()),
        ])
    }
}

pub fn binaries(ws: &Ws, target: Target) -> Binaries {
    Binaries {
        busybox: busybox::binary(ws, target),
        kexec: kexec_tools::binary(ws, target),
    }
}

/// Plan components whose last step produces [`binaries`]: `.dep()` on them.
pub fn components(target: Target) -> [String; 2] {
    [
        target.component(busybox::SOURCE),
        target.component(kexec_tools::SOURCE),
    ]
}

/// Every step, sources included, in order. Combine with other plans using
/// [`recipes::merge_plans`] (the `linux` source steps are shared).
pub fn steps(ws: &Ws, target: Target) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    for source in [
        musl::SOURCE,
        linux_headers::SOURCE,
        busybox::SOURCE,
        kexec_tools::SOURCE,
    ] {
        steps.extend(recipes::source_steps(ws, source)?);
    }
    steps.extend(musl::steps(ws, target)?);
    steps.extend(linux_headers::steps(ws, target)?);
    steps.extend(busybox::steps(ws, target)?);
    steps.extend(kexec_tools::steps(ws, target)?);
    Ok(steps)
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let steps = steps(ws, args.target)?;
    let outcomes = plan::execute(ws, &steps).context("userland")?;
    if ws.dry_run {
        return Ok(());
    }
    println!("  {}", plan::summary(&outcomes));
    let bins = binaries(ws, args.target);
    for path in [&bins.busybox, &bins.kexec] {
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot stat {path}"))?
            .len();
        println!(
            "  {:>9} bytes ({:>4} KiB)  {path}",
            size,
            size.div_ceil(1024)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipes::testutil;

    #[test]
    fn plan_order_sources_then_sysroot_then_programs() {
        let ws = testutil::ws();
        let ids: Vec<String> = steps(&ws, Target::X86_64)
            .unwrap()
            .iter()
            .map(Step::id)
            .collect();
        assert_eq!(
            ids,
            [
                "musl.fetch",
                "musl.extract",
                "linux.fetch",
                "linux.extract",
                "busybox.fetch",
                "busybox.extract",
                "kexec-tools.fetch",
                "kexec-tools.extract",
                "musl-x86_64.configure",
                "musl-x86_64.build",
                "musl-x86_64.install",
                "linux-headers-x86_64.install",
                "busybox-x86_64.configure",
                "busybox-x86_64.build",
                "busybox-x86_64.install",
                "kexec-tools-x86_64.configure",
                "kexec-tools-x86_64.build",
                "kexec-tools-x86_64.install",
            ]
        );
        assert_eq!(
            components(Target::X86_64),
            ["busybox-x86_64", "kexec-tools-x86_64"]
        );
        let b = binaries(&ws, Target::X86_64);
        assert_eq!(
            b.busybox,
            "/nonexistent/gen-kexec-test/build/x86_64/out/busybox"
        );
        assert_eq!(
            b.kexec,
            "/nonexistent/gen-kexec-test/build/x86_64/out/kexec"
        );
    }
}
