//! Host packages: what the build and the tests need from Debian, and a way
//! to install the missing ones.

use anyhow::{bail, Context, Result};
use xshell::cmd;

use crate::ws::Ws;

/// Debian packages, by what needs them.
pub const BUILD: &[&str] = &[
    "build-essential",
    "bc",
    "bison",
    "flex",
    "libelf-dev",
    "libssl-dev",
    "cpio",
    "rsync",
    "xz-utils",
    "bzip2",
    "file",
];
pub const TEST: &[&str] = &[
    "qemu-system-x86",
    "ovmf",
    "seabios",
    "xorriso",
    "isolinux",
    "syslinux-common",
    "dosfstools",
    "mtools",
    "syslinux",
    "busybox-static",
    "linux-image-amd64",
    "fdisk",
    "sqv",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also the packages the tests need (QEMU, OVMF, xorriso, ...).
    #[arg(long)]
    pub test: bool,
    /// Only print what is missing.
    #[arg(long)]
    pub check: bool,
}

pub fn missing(ws: &Ws, packages: &[&str]) -> Result<Vec<String>> {
    let sh = &ws.sh;
    let mut missing = Vec::new();
    for p in packages {
        let format = "${Status}";
        let status = cmd!(sh, "dpkg-query -W -f={format} {p}")
            .quiet()
            .ignore_status()
            .ignore_stderr()
            .read()
            .unwrap_or_default();
        if !status.ends_with("install ok installed") {
            missing.push((*p).to_owned());
        }
    }
    Ok(missing)
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let mut wanted: Vec<&str> = BUILD.to_vec();
    if args.test {
        wanted.extend_from_slice(TEST);
    }
    ensure(ws, &wanted, args.check)
}

/// Install what is missing when we are root on Debian/Ubuntu; otherwise
/// say exactly what to run.
pub fn ensure(ws: &Ws, packages: &[&str], check_only: bool) -> Result<()> {
    if ws.sh.path_exists("/usr/bin/dpkg-query") {
        let missing = missing(ws, packages)?;
        if missing.is_empty() {
            return Ok(());
        }
        let is_root = cmd!(ws.sh, "id -u").quiet().read().unwrap_or_default() == "0";
        if is_root && !check_only {
            eprintln!("host-deps: installing {}", missing.join(" "));
            let sh = &ws.sh;
            cmd!(sh, "apt-get update -q")
                .run()
                .context("host-deps: apt-get update")?;
            cmd!(
                sh,
                "apt-get install -y -q --no-install-recommends {missing...}"
            )
            .env("DEBIAN_FRONTEND", "noninteractive")
            .run()
            .context("host-deps: apt-get install")?;
            return Ok(());
        }
        bail!(
            "missing Debian packages: {0}\n  install them with: sudo apt-get install {0}",
            missing.join(" ")
        );
    }
    eprintln!(
        "host-deps: not a Debian system; make sure these (Debian names) are installed: {}",
        packages.join(" ")
    );
    Ok(())
}
