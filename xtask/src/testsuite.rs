//! `cargo xtask test`: the one command that tests everything, as CI runs it.
//!
//! 1. host packages (installed when root on Debian, else the exact command),
//! 2. `cargo test` (unit tests, the local HTTP/OpenPGP/extraction tests, the
//!    kexec.sourceme parser under busybox sh, adapt-image against real tools),
//! 3. the end-to-end QEMU boots (builds the bootloader first, or reuses it).

use std::time::Instant;

use anyhow::{Context, Result};
use xshell::cmd;

use crate::hostdeps;
use crate::ws::Ws;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Skip the QEMU end-to-end boots (and so the kernel build).
    #[arg(long)]
    pub no_e2e: bool,
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let started = Instant::now();
    let mut wanted: Vec<&str> = hostdeps::BUILD.to_vec();
    wanted.extend_from_slice(hostdeps::TEST);
    hostdeps::ensure(ws, &wanted, false).context("test: host packages")?;

    let sh = &ws.sh;
    let t = Instant::now();
    cmd!(sh, "cargo test --workspace --locked")
        .run()
        .context("test: cargo test")?;
    let unit = t.elapsed().as_secs_f64();

    let mut e2e = None;
    if !args.no_e2e {
        let t = Instant::now();
        crate::e2e::run(ws, &crate::e2e::Args::default()).context("test: e2e")?;
        e2e = Some(t.elapsed().as_secs_f64());
    }
    println!("test: cargo test {unit:.0} s");
    if let Some(s) = e2e {
        println!("test: e2e {s:.0} s");
    }
    println!("test: all passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
