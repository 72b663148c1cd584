//! gen-kexec's build system. `cargo xtask --help` lists the commands; each
//! lives in a module of its own and this file only dispatches.

mod bench;
mod bootcfg;
mod bootloader;
mod bump;
mod cilint;
mod e2e;
mod extract;
mod fetch;
mod fsutil;
mod fuzz;
mod hostdeps;
mod ikconfig;
mod image;
mod initramfs;
mod kconfig;
mod lock;
mod pinhashes;
mod plan;
mod recipes;
mod release;
mod repro;
mod sbom;
mod stamp;
mod tarball;
mod testsuite;
mod userland;
mod utc;
mod ws;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build gen-kexec, a kexec bootloader that boots legacy BIOS images on UEFI",
    arg_required_else_help = true
)]
struct Cli {
    #[command(flatten)]
    common: ws::Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Find or download every pinned source and verify it (sha256, OpenPGP).
    Fetch(fetch::FetchArgs),
    /// Re-check every file in the download cache against sources.lock.
    Verify(fetch::FetchArgs),
    /// Install the Debian packages the build and the tests need (as root).
    HostDeps(hostdeps::Args),
    /// Boot adapted legacy images in QEMU (OVMF and SeaBIOS) and check the kexec.
    E2e(e2e::Args),
    /// Print the kernel config embedded (IKCONFIG) in a kernel image or in
    /// the default kernel of a boot ISO, read without mounting anything.
    ExtractConfig(ikconfig::Args),
    /// Put the built bootx64.efi on a Gentoo-like ISO and check that the
    /// config extracted from it equals the build's .config byte for byte.
    IkconfigCheck(ikconfig::buildcheck::Args),
    /// Append a gen-kexec ESP to a legacy BIOS image (no root needed).
    AdaptImage(image::adapt::Args),
    /// Print an image's partition tables, El Torito entries, filesystems and boot configs.
    Inspect(image::inspect::Args),
    /// Build static busybox and kexec against musl (sysroot from pinned sources).
    Userland(userland::Args),
    /// Produce and check the kernel configuration (base + fragments).
    Kconfig(kconfig::Args),
    /// Build dist/bootx64.efi (kernel + initramfs) and its manifest.
    Bootloader(bootloader::Args),
    /// Build dist/efi.tar.xz: EFI/Boot/bootx64.efi and kexec.sourceme.
    Tarball(tarball::Args),
    /// Build the tarball twice in different places and environments; compare.
    ReproCheck(repro::Args),
    /// Run every test: cargo test, then the QEMU end-to-end boots (what CI runs).
    Test(testsuite::Args),
    /// Move a component of sources.lock to a new upstream version, verified by its signature.
    Bump(bump::Args),
    /// Build and collect a release into dist/: tarball, EFI file, manifest, SBOM, SHA256SUMS(.asc).
    Release(release::Args),
    /// Measure the figures the project sets targets for (no-op runs,
    /// adapt-image on a 1 GiB image, sizes; --cold adds a cold build).
    Bench(bench::Args),
    /// Fuzz every reader of untrusted bytes (images, kernels, boot configs)
    /// and the boot-time syslinux parser; print exec/s, peak RSS, panics, hangs.
    Fuzz(fuzz::Args),
    /// Build the tarball and write the sha256s of efi.tar.xz and bootx64.efi
    /// into reproducible.sha256 (--check: compare instead).
    PinHashes(pinhashes::Args),
    /// Lint .github/workflows/ with actionlint and GitHub's workflow schema (whichever is installed).
    LintCi,
}

impl Command {
    /// Commands that run build steps, and so need the build's host packages.
    fn builds(&self) -> bool {
        matches!(
            self,
            Command::Userland(_)
                | Command::Kconfig(_)
                | Command::Bootloader(_)
                | Command::Tarball(_)
                | Command::Release(_)
                | Command::Bench(_)
                | Command::ReproCheck(_)
                | Command::PinHashes(_)
        )
    }
    /// Commands that write without a plan to print: `--dry-run` refuses
    /// them rather than run them (read-only ones just run).
    fn without_plan(&self) -> Option<&'static str> {
        match self {
            Command::Fetch(_) => Some("fetch"),
            Command::AdaptImage(_) => Some("adapt-image"),
            Command::ReproCheck(_) => Some("repro-check"),
            Command::PinHashes(_) => Some("pin-hashes"),
            _ => None,
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let ws = ws::Ws::new(&cli.common)?;
    if let Some(name) = cli.command.without_plan().filter(|_| ws.dry_run) {
        anyhow::bail!(
            "--dry-run: `cargo xtask {name}` has no plan to print (it writes as it goes); \
             `cargo xtask tarball --dry-run` prints the build steps"
        );
    }
    if cli.command.builds() {
        // Before any step: a missing rsync must not surface minutes later
        // in a make log.
        hostdeps::ensure_build(&ws)?;
    }
    match cli.command {
        Command::Fetch(args) => fetch::run(&ws, &args),
        Command::Verify(args) => fetch::verify(&ws, &args),
        Command::HostDeps(args) => hostdeps::run(&ws, &args),
        Command::E2e(args) => e2e::run(&ws, &args),
        Command::ExtractConfig(args) => ikconfig::run(&ws, &args),
        Command::IkconfigCheck(args) => ikconfig::buildcheck::run(&ws, &args),
        Command::AdaptImage(args) => image::adapt::run(&ws, &args),
        Command::Inspect(args) => image::inspect::run(&args),
        Command::Userland(args) => userland::run(&ws, &args),
        Command::Kconfig(args) => kconfig::run(&ws, &args),
        Command::Bootloader(args) => bootloader::run(&ws, &args),
        Command::Tarball(args) => tarball::run(&ws, &args),
        Command::ReproCheck(args) => repro::run(&ws, &args),
        Command::Test(args) => testsuite::run(&ws, &args),
        Command::Bump(args) => bump::run(&ws, &args),
        Command::Release(args) => release::run(&ws, &args),
        Command::Bench(args) => bench::run(&ws, &args),
        Command::Fuzz(args) => fuzz::run(&ws, &args),
        Command::PinHashes(args) => pinhashes::run(&ws, &args),
        Command::LintCi => cilint::run(&ws),
    }
}
