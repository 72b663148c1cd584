//! `cargo xtask test`: the README's test command, and what CI runs.
//!
//! In order: the host packages (installed when root, else the exact
//! `apt-get` line), the bootloader's busybox and kexec (so that the tests
//! below run the busybox that ships), every Rust test of the workspace (unit tests, the
//! fetch tests against a local HTTP server, the kexec.sourceme tests under
//! busybox ash, the adapt-image tests with sfdisk/mtools/xorriso), a few
//! seconds of every fuzz target (`fuzz/`), then the
//! end-to-end QEMU boots, which build (or reuse) the bootloader itself,
//! after checking that build against the committed `reproducible.sha256`.

use std::time::Instant;

use anyhow::{Context, Result};
use xshell::cmd;

use crate::{e2e, hostdeps, ws::Ws};

/// How long `cargo xtask test` fuzzes each target.
const FUZZ_SECONDS: f64 = 3.0;

#[derive(Debug, clap::Args)]
#[group(id = "test-args")]
pub struct Args {
    /// Skip the QEMU boots (they build the kernel: minutes when cold).
    #[arg(long)]
    pub no_e2e: bool,
    /// Extra arguments for the end-to-end run (e.g. `--case iso-ovmf-usb`).
    #[command(flatten)]
    pub e2e: e2e::Args,
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let started = Instant::now();
    // The Rust tests need the test packages too (sfdisk, mtools, xorriso,
    // busybox), so they are wanted even with --no-e2e.
    let mut wanted: Vec<&str> = hostdeps::BUILD.to_vec();
    wanted.extend_from_slice(hostdeps::TEST);
    hostdeps::ensure(ws, &wanted, ws.dry_run).context("test: host packages")?;

    let sh = &ws.sh;
    // The bootloader's own busybox first: the runtime library's tests and
    // the ash fuzz target run under the ash and awk that ship (patched,
    // patches/busybox/), not only Debian's.
    let target = crate::recipes::Target::X86_64;
    crate::plan::execute(ws, &crate::userland::steps(ws, target)?)
        .context("test: build busybox and kexec (cargo xtask userland)")?;
    let busybox = crate::userland::binaries(ws, target).busybox;
    if ws.dry_run {
        println!("test: plan: GK_TEST_BUSYBOX={busybox} cargo test --workspace --locked");
    }
    let unit = Instant::now();
    if !ws.dry_run {
        crate::ws::without_cargo_run_env(cmd!(sh, "cargo test --workspace --locked"))
            .env(crate::fuzz::ash::BUSYBOX_ENV, busybox.as_str())
            .run()
            .context("test: cargo test (unit and integration tests)")?;
    }
    let unit = unit.elapsed();

    // Every fuzz target briefly (seeds, regression inputs, then mutations),
    // and the boot-time parser's harness; `cargo xtask fuzz` runs longer.
    let fuzz = Instant::now();
    crate::fuzz::run(
        ws,
        &crate::fuzz::Args {
            targets: Vec::new(),
            seconds: FUZZ_SECONDS,
            hang_seconds: 10.0,
            seed: None,
            child: None,
        },
    )
    .context("test: fuzz")?;
    let fuzz = fuzz.elapsed();

    let e2e = if args.no_e2e {
        None
    } else {
        let t = Instant::now();
        // The committed hashes first: the boots below use the same build.
        crate::pinhashes::check(ws).context("test: reproducible.sha256")?;
        e2e::run(ws, &args.e2e).context("test: end-to-end QEMU boots")?;
        crate::ikconfig::buildcheck::run(ws, &Default::default())
            .context("test: ikconfig-check")?;
        Some(t.elapsed())
    };

    if ws.dry_run {
        println!("test: --dry-run: the plan above, nothing ran");
        return Ok(());
    }
    println!("test: cargo test {:.0} s", unit.as_secs_f64());
    println!("test: fuzz {:.0} s", fuzz.as_secs_f64());
    match e2e {
        Some(t) => println!("test: e2e {:.0} s", t.as_secs_f64()),
        None => println!("test: e2e skipped (--no-e2e)"),
    }
    println!(
        "test: all passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
