//! Host packages: what the build and the tests need from Debian, and a way
//! to install the missing ones.
//!
//! Every command that builds calls [`ensure_build`] before any step runs
//! (`main.rs`): as root on Debian/Ubuntu the missing packages are installed,
//! as anyone else the command stops with the exact `sudo apt-get install`
//! line, and `--dry-run` only says what would be installed.

use anyhow::{bail, Context, Result};
use xshell::cmd;

use crate::ws::Ws;

/// Debian packages, by what needs them.
/// The kernel's `headers_install` needs rsync, its Kconfig flex and bison,
/// its timeconst bc, objtool libelf, the EFI stub's signing tool libssl.
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
    "patch",
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
    // The GRUB fixtures and the grub-emu oracle (issue 14). Not grub-pc:
    // it would install GRUB on this host's own disk.
    "grub-common",
    "grub2-common",
    "grub-pc-bin",
    "grub-emu",
    // mkfs.ext4 -d: the ext4 images of the inspect tests and fuzz seeds.
    "e2fsprogs",
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

/// The packages of `packages` that dpkg does not list as installed (one
/// `dpkg-query` for all of them: unknown names print nothing).
pub fn missing(ws: &Ws, packages: &[&str]) -> Result<Vec<String>> {
    let sh = &ws.sh;
    let format = "${Package} ${Status}\\n";
    let out = cmd!(sh, "dpkg-query -W -f={format} {packages...}")
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .read()
        .unwrap_or_default();
    Ok(not_installed(packages, &out))
}

fn not_installed(packages: &[&str], dpkg_query: &str) -> Vec<String> {
    let installed: Vec<&str> = dpkg_query
        .lines()
        .filter(|l| l.ends_with(" install ok installed"))
        .filter_map(|l| l.split_whitespace().next())
        // `libssl-dev:amd64` is `libssl-dev`.
        .map(|p| p.split(':').next().unwrap_or(p))
        .collect();
    packages
        .iter()
        .filter(|p| !installed.contains(p))
        .map(|p| (*p).to_owned())
        .collect()
}

/// Before a build: the [`BUILD`] packages, installed if missing (as root on
/// Debian/Ubuntu), else stop with the install line; `--dry-run` only says.
pub fn ensure_build(ws: &Ws) -> Result<()> {
    if ws.dry_run {
        if !ws.sh.path_exists("/usr/bin/dpkg-query") {
            println!("host-deps: not a Debian system: would check nothing");
            return Ok(());
        }
        let missing = missing(ws, BUILD)?;
        if missing.is_empty() {
            println!("host-deps: all {} build packages installed", BUILD.len());
        } else if is_root(ws) {
            println!(
                "host-deps: would install: apt-get install -y --no-install-recommends {}",
                missing.join(" ")
            );
        } else {
            println!(
                "host-deps: missing, would stop before building with: sudo apt-get install {}",
                missing.join(" ")
            );
        }
        return Ok(());
    }
    ensure(ws, BUILD, false).context("host packages for the build (`cargo xtask host-deps`)")
}

fn is_root(ws: &Ws) -> bool {
    cmd!(ws.sh, "id -u").quiet().read().unwrap_or_default() == "0"
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
        if is_root(ws) && !check_only {
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
            let still = self::missing(ws, packages)?;
            if !still.is_empty() {
                bail!(
                    "host-deps: still not installed after apt-get install: {}",
                    still.join(" ")
                );
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_query_output_gives_what_is_missing() {
        let out = "bc install ok installed\nflex deinstall ok config-files\n\
                   libssl-dev:amd64 install ok installed\n";
        assert_eq!(
            not_installed(&["bc", "flex", "libssl-dev", "rsync"], out),
            ["flex", "rsync"]
        );
    }

    #[test]
    fn the_build_needs_what_the_kernel_build_runs() {
        for p in [
            "rsync",
            "flex",
            "bison",
            "bc",
            "libelf-dev",
            "build-essential",
        ] {
            assert!(BUILD.contains(&p), "{p}");
        }
    }
}
