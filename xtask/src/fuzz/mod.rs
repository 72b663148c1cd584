//! `cargo xtask fuzz`: mutation fuzzing of every reader of untrusted bytes
//! (issue 15), on stable Rust. Each target runs in a child process (this
//! binary, `fuzz --child`) for `--seconds`, with a hang timeout per run
//! and an address-space limit; the parent prints, per target, executions
//! per second, peak RSS (at most [`MAX_RSS_MIB`]), panics and hangs, and
//! fails if there was any. Failing inputs are saved under
//! `target/fuzz/TARGET/`; put them (a few KB; `gzip -9` disk images) in
//! `xtask/fuzz/regressions/TARGET/` and `cargo test` replays them.
//! `--target ash-syslinux` is the boot-time parser's harness ([`ash`]).

pub mod ash;
mod ash_grub;
mod engine;
mod mutate;
pub mod seeds;
mod seeds_ext;
pub mod targets;
#[cfg(test)]
mod tests;

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::ws::Ws;
use engine::{Stats, STATS_PREFIX};
use targets::TARGETS;

/// The memory a run may use, as the issue asks.
pub const MAX_RSS_MIB: u64 = 256;
/// The address space of a child: an allocation past it fails (and aborts
/// the child, which is reported) instead of eating the machine.
const ADDRESS_SPACE: u64 = 2 << 30;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// One target (repeatable; default: all): mbr, gpt, eltorito, iso9660,
    /// fat, ext4, bzimage, ikconfig, bootcfg, ash-syslinux.
    #[arg(long = "target", value_name = "T")]
    pub targets: Vec<String>,
    /// How long to fuzz each target.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// A run taking longer than this is a hang.
    #[arg(long, default_value_t = 10.0)]
    pub hang_seconds: f64,
    /// Random seed (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Internal: fuzz this target in this process.
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

pub const ASH: &str = "ash-syslinux";

/// Files of `xtask/fuzz/regressions/TARGET/`, sorted.
pub fn regressions(target: &str) -> Result<Vec<(Utf8PathBuf, Vec<u8>)>> {
    let dir = Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut out = Vec::new();
    if let Ok(rd) = dir.read_dir_utf8() {
        for e in rd {
            let p = e?.path().to_owned();
            let mut bytes = std::fs::read(&p).with_context(|| format!("cannot read {p}"))?;
            if p.extension() == Some("gz") {
                // Mostly-empty disk images are kept gzipped (a few KB).
                let mut raw = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut raw)
                    .with_context(|| format!("cannot gunzip {p}"))?;
                bytes = raw;
            }
            out.push((p, bytes));
        }
    }
    out.sort();
    Ok(out)
}

/// `--dry-run`: each target, what it feeds, and how many regression
/// inputs it replays first; nothing runs.
fn print_plan(names: &[String]) -> Result<()> {
    for name in names {
        if name == ASH {
            println!("fuzz: plan: {ASH}: generated and mutated syslinux and GRUB config trees under busybox ash (time limit per tree), then 5,000 labels and a 1 MB line");
            continue;
        }
        let Some(t) = targets::find(name) else {
            bail!(
                "fuzz: no target {name:?}; targets: {}, {ASH}",
                target_names()
            );
        };
        println!(
            "fuzz: plan: {name}: {}; seeds, then {} regression inputs (xtask/fuzz/regressions/{name}/), then mutations",
            t.what,
            regressions(name)?.len()
        );
    }
    Ok(())
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    if let Some(name) = &args.child {
        return child(ws, args, name);
    }
    let names: Vec<String> = if args.targets.is_empty() {
        TARGETS
            .iter()
            .map(|t| t.name.to_owned())
            .chain([ASH.to_owned()])
            .collect()
    } else {
        args.targets.clone()
    };
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!(
        "fuzz: {} s per target, hang timeout {} s, seed {seed}",
        args.seconds, args.hang_seconds
    );
    if ws.dry_run {
        return print_plan(&names);
    }
    println!(
        "fuzz: {:<10} {:>9} {:>9} {:>9} {:>6} {:>5} {:>9} {:>6}",
        "target", "execs", "exec/s", "peak RSS", "panics", "hangs", "slowest", "corpus"
    );
    let mut failed = Vec::new();
    for name in &names {
        if name == ASH {
            let r = ash::run(ws, args.seconds, seed)?;
            if !r.passed() {
                failed.push(name.clone());
            }
            continue;
        }
        if targets::find(name).is_none() {
            bail!(
                "fuzz: no target {name:?}; targets: {}, {ASH}",
                target_names()
            );
        }
        let s = spawn(ws, args, name, seed)?;
        let rss_mib = s.peak_rss_kib.div_ceil(1024);
        println!(
            "fuzz: {:<10} {:>9} {:>9.0} {:>5} MiB {:>6} {:>5} {:>6} ms {:>6}",
            s.target,
            s.execs,
            s.execs as f64 / s.secs.max(1e-9),
            rss_mib,
            s.panics,
            s.hangs,
            s.slowest_ms,
            s.corpus
        );
        if let Some(f) = &s.first_failure {
            println!("fuzz:   {name}: {}", f.lines().next().unwrap_or_default());
        }
        for p in &s.saved {
            println!("fuzz:   saved {p}");
        }
        if s.panics > 0 || s.hangs > 0 || rss_mib > MAX_RSS_MIB {
            failed.push(name.clone());
        }
    }
    if !failed.is_empty() {
        bail!(
            "fuzz: failures in {} (inputs saved under target/fuzz/; once fixed, copy them to \
             xtask/fuzz/regressions/TARGET/ so cargo test replays them)",
            failed.join(", ")
        );
    }
    println!("fuzz: no panic, no hang, every target under {MAX_RSS_MIB} MiB");
    Ok(())
}

fn target_names() -> String {
    TARGETS
        .iter()
        .map(|t| format!("{} ({})", t.name, t.what))
        .collect::<Vec<_>>()
        .join(", ")
}

fn out_dir(ws: &Ws, name: &str) -> Utf8PathBuf {
    ws.root.join("target/fuzz").join(name)
}

/// Run one target in a child process and collect its stats.
fn spawn(ws: &Ws, args: &Args, name: &str, seed: u64) -> Result<Stats> {
    // /proc/self/exe, not current_exe(): `cargo xtask test` runs `cargo test`
    // first, which replaces target/debug/xtask under the running binary, and
    // current_exe() then names a deleted file. The kernel still has it.
    let exe = match std::path::Path::new("/proc/self/exe").exists() {
        true => std::path::PathBuf::from("/proc/self/exe"),
        false => std::env::current_exe().context("cannot find the xtask binary")?,
    };
    let out = Command::new(exe)
        .args(["fuzz", "--child", name, "--seconds"])
        .arg(args.seconds.to_string())
        .arg("--hang-seconds")
        .arg(args.hang_seconds.to_string())
        .arg("--seed")
        .arg(seed.to_string())
        .current_dir(&ws.root)
        .output()
        .with_context(|| format!("fuzz {name}: cannot start the child"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stats = stdout.lines().find_map(|l| l.strip_prefix(STATS_PREFIX));
    match stats {
        Some(json) => serde_json::from_str(json).context("fuzz: the child's stats"),
        None => Ok(Stats {
            target: name.to_owned(),
            panics: 1,
            first_failure: Some(format!(
                "the child died ({}; out of memory?): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            )),
            saved: vec![out_dir(ws, name).join("current.bin").to_string()],
            ..Stats::default()
        }),
    }
}

fn child(ws: &Ws, args: &Args, name: &str) -> Result<()> {
    let t = targets::find(name).with_context(|| format!("no target {name}"))?;
    let limit = libc::rlimit {
        rlim_cur: ADDRESS_SPACE,
        rlim_max: ADDRESS_SPACE,
    };
    // SAFETY: plain syscall on a valid struct.
    unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    let out = out_dir(ws, name);
    let stats = engine::fuzz(
        t,
        args.seconds,
        Duration::from_secs_f64(args.hang_seconds),
        &out,
        args.seed.unwrap_or(1),
    )?;
    println!("{STATS_PREFIX}{}", serde_json::to_string(&stats)?);
    Ok(())
}
