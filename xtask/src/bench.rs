//! `cargo xtask bench`: the figures the project sets targets for, measured
//! the way a user meets them (wall clock of `cargo xtask ...` as typed, so
//! cargo's own freshness check counts), printed as one table.
//!
//! Not a test: the figures depend on the machine. Inputs are never touched:
//! the cold build goes to a scratch build directory, the adapt-image image
//! is made in the build directory.

use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::cmd;

use crate::image::{self, adapt};
use crate::recipes::Target;
use crate::ws::Ws;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also time a cold build (userland, then the tarball) in a scratch
    /// build directory: minutes.
    #[arg(long)]
    pub cold: bool,
    /// Size of the disk image adapt-image is timed on (K, M, G).
    #[arg(long, default_value = "1G", value_parser = image::parse_size)]
    pub image_size: u64,
    /// Skip the boot figures (the timed `cargo xtask e2e` cases, with the
    /// boot menu's: a few minutes under TCG).
    #[arg(long)]
    pub no_boot: bool,
    /// Compare these kernel profiles with `tiny` instead (repeatable): build
    /// time, bootx64.efi and efi.tar.xz sizes and boot figures, one column
    /// each. The build time is what each step took when it last ran (with
    /// `--cold`: a build from nothing, timed now; tens of minutes for a
    /// distribution config).
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,
}

mod profiles;

/// One line of the table.
struct Row {
    what: String,
    figure: String,
    target: &'static str,
    ok: bool,
}

fn row(what: impl Into<String>, figure: String, target: &'static str, ok: bool) -> Row {
    Row {
        what: what.into(),
        figure,
        target,
        ok,
    }
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    if !args.profiles.is_empty() {
        return profiles::run(ws, &args.profiles, args.cold, args.no_boot);
    }
    if ws.dry_run {
        println!(
            "bench would: {}bring {} up to date, time no-op `cargo xtask fetch`, `userland` and \
             `tarball`, adapt a {} MiB disk image made in {}, report the sizes{}",
            if args.cold {
                "build userland and tarball cold in <build>/bench-cold, "
            } else {
                ""
            },
            ws.build,
            args.image_size / image::MIB,
            ws.build.join("bench"),
            if args.no_boot {
                String::new()
            } else {
                let cases: Vec<&str> = crate::e2e::benchmarked_cases()
                    .iter()
                    .map(|c| c.name)
                    .collect();
                format!(
                    ", and boot the e2e cases {} for the boot figures",
                    cases.join(", ")
                )
            }
        );
        return Ok(());
    }
    let mut rows = Vec::new();
    if args.cold {
        let scratch = ws.build.join("bench-cold");
        crate::fsutil::remove_dir_all_if_exists(&scratch)?;
        let userland = timed(ws, &scratch, &["userland"], true).context("bench: cold userland")?;
        let kernel = timed(ws, &scratch, &["tarball"], true).context("bench: cold tarball")?;
        rows.push(row(
            "cold: musl + headers + busybox + kexec",
            secs(userland),
            "<= 120 s",
            userland <= 120.0,
        ));
        rows.push(row(
            "cold: whole tarball (userland + kernel)",
            secs(userland + kernel),
            "<= 540 s",
            userland + kernel <= 540.0,
        ));
        crate::fsutil::remove_dir_all_if_exists(&scratch)?;
    }
    println!("bench: bringing {} up to date (not timed)", ws.build);
    timed(ws, &ws.build, &["tarball"], true).context("bench: preparing the build")?;
    for (sub, target, limit) in [
        ("fetch", "< 1 s", 1.0),
        ("userland", "< 1 s", 1.0),
        ("tarball", "about 1 s", 1.5),
    ] {
        let t = timed(ws, &ws.build, &[sub], false).with_context(|| format!("bench: {sub}"))?;
        rows.push(row(
            format!("no-op `cargo xtask {sub}`"),
            secs(t),
            target,
            t < limit,
        ));
    }
    rows.extend(adapt_rows(ws, args.image_size).context("bench: adapt-image")?);
    rows.extend(size_rows(ws)?);
    if !args.no_boot {
        rows.extend(boot_rows(ws, None)?);
    }
    print_table(&rows);
    Ok(())
}

/// The timed e2e boots: gen-kexec's own part (ESP found -> `kexec -e`),
/// its `kexec -l`, and device probing, reported apart as the target says.
fn boot_rows(ws: &Ws, profile: Option<&str>) -> Result<Vec<Row>> {
    let cases = crate::e2e::benchmarked_cases();
    let results = crate::e2e::boot(ws, &cases, crate::e2e::AccelChoice::Auto, None, profile)
        .context("bench: boot figures (cargo xtask e2e)")?;
    let failed = crate::e2e::report::failed(&results);
    if !failed.is_empty() {
        bail!(
            "failed: {} (`cargo xtask e2e --case NAME` shows why)",
            failed.join(", ")
        );
    }
    let timed = crate::e2e::report::timed_boots(&results);
    let spread =
        |spans: Vec<std::time::Duration>| crate::e2e::report::median_max(spans.into_iter());
    let fig = |(median, max, _): (std::time::Duration, std::time::Duration, usize)| {
        format!("{:.3} / {:.3} s", median.as_secs_f64(), max.as_secs_f64())
    };
    let mut rows = Vec::new();
    if let Some(own) = spread(timed.iter().filter_map(|t| t.esp_to_exec).collect()) {
        rows.push(row(
            format!(
                "boot: ESP found -> kexec -e, median / max of {} boots",
                own.2
            ),
            fig(own),
            "<= 0.30 s",
            own.1.as_secs_f64() <= 0.30,
        ));
    }
    if let Some(load) = spread(timed.iter().filter_map(|t| t.kexec_load).collect()) {
        rows.push(row(
            "boot:   of which `kexec -l`",
            fig(load),
            "(reported)",
            true,
        ));
    }
    for family in crate::e2e::report::MENU_FAMILIES {
        let menus = crate::e2e::report::menu_boots(&results, family);
        for (what, spans) in [
            (
                "ESP found -> menu on the screen",
                menus.iter().filter_map(|t| t.esp_to_menu).collect(),
            ),
            (
                "choice made -> kexec -e",
                menus.iter().filter_map(|t| t.choice_to_exec).collect(),
            ),
        ] {
            if let Some(s) = spread(spans) {
                rows.push(row(
                    format!(
                        "boot ({family} menu): {what}, median / max of {} boots",
                        s.2
                    ),
                    fig(s),
                    "<= 0.30 s median",
                    s.0.as_secs_f64() <= 0.30,
                ));
            }
        }
    }
    if let Some(probe) = spread(timed.iter().filter_map(|t| t.probing).collect()) {
        rows.push(row(
            "boot: init -> ESP found (device probing)",
            fig(probe),
            "(reported)",
            true,
        ));
    }
    if let Some(start) = spread(timed.iter().filter_map(|t| t.to_init).collect()) {
        rows.push(row(
            "boot: QEMU start -> /init (firmware, kernel)",
            fig(start),
            "(reported)",
            true,
        ));
    }
    if rows.is_empty() {
        bail!("no timed boot: every case was left out (host I/O stalls?); see `cargo xtask e2e`");
    }
    Ok(rows)
}

/// Run `cargo xtask --build-dir BUILD ARGS...` from the workspace with the
/// same sources; its wall-clock seconds.
fn timed(ws: &Ws, build: &Utf8Path, args: &[&str], show: bool) -> Result<f64> {
    let sh = &ws.sh;
    let mut global = vec!["--build-dir".to_owned(), build.to_string()];
    global.extend(ws.source_args());
    let cmd = crate::ws::without_cargo_run_env(cmd!(sh, "cargo xtask {global...} {args...}"))
        .env_remove("GEN_KEXEC_MIRROR")
        .quiet();
    let started = Instant::now();
    if show {
        cmd.run()?;
    } else {
        let out = cmd.ignore_status().output()?;
        if !out.status.success() {
            std::io::stderr().write_all(&out.stderr)?;
            bail!("`cargo xtask {}` failed ({})", args.join(" "), out.status);
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// adapt-image on a full (not sparse) MBR disk image of `size` bytes.
fn adapt_rows(ws: &Ws, size: u64) -> Result<Vec<Row>> {
    let dir = ws.build.join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
    let input = dir.join("disk.img");
    let output = dir.join("disk-efi.img");
    make_disk(ws, &input, size)?;
    let args = adapt::Args {
        input: input.clone(),
        output: output.clone(),
        tarball: None,
        esp_size: None,
        append: None,
        settings: Vec::new(),
        force: true,
        disable_el_torito: false,
    };
    let r = adapt::adapt(ws, &args)?;
    let _ = std::fs::remove_file(&output);
    let mib = size / image::MIB;
    Ok(vec![
        row(
            format!("adapt-image {mib} MiB: copy ({})", r.method),
            secs(r.copy_secs),
            "(reported)",
            true,
        ),
        row(
            format!("adapt-image {mib} MiB: flush to disk (fsync)"),
            secs(r.flush_secs),
            "(reported)",
            true,
        ),
        row(
            format!("adapt-image {mib} MiB: beyond copy + flush"),
            secs(r.beyond_copy_secs()),
            "<= 2 s",
            r.beyond_copy_secs() <= 2.0,
        ),
    ])
}

/// A disk image full of data with one Linux partition (reused when it is
/// already there with that size).
fn make_disk(ws: &Ws, path: &Utf8PathBuf, size: u64) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == size) {
        return Ok(());
    }
    // sfdisk: Debian's fdisk package (not installed on a minimal system).
    crate::hostdeps::ensure(ws, &["fdisk"], false).context("bench: host packages")?;
    let partial = crate::fsutil::partial_path(path);
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&partial).with_context(|| format!("cannot create {partial}"))?,
    );
    // Incompressible-looking data, so no filesystem can store it as holes.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; image::MIB as usize];
    for _ in 0..size / image::MIB {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&chunk)
            .with_context(|| format!("cannot write {partial}"))?;
    }
    f.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot write {partial}"))?;
    let sh = &ws.sh;
    cmd!(sh, "sfdisk --quiet --no-reread --no-tell-kernel {partial}")
        .stdin("label: dos\nstart=2048, type=83\n")
        .quiet()
        .run()
        .with_context(|| format!("cannot partition {partial} (sfdisk, Debian package fdisk)"))?;
    crate::fsutil::rename(&partial, path)
}

fn size_rows(ws: &Ws) -> Result<Vec<Row>> {
    let bins = crate::userland::binaries(ws, Target::X86_64);
    let efi = ws.dist.join("bootx64.efi");
    let tar = ws.dist.join(crate::tarball::TARBALL);
    let mut rows = Vec::new();
    for (what, path, target, limit) in [
        (
            "size: busybox (static, stripped)",
            &bins.busybox,
            "<= 800 KB",
            Some(800_000),
        ),
        (
            "size: kexec (static, stripped)",
            &bins.kexec,
            "<= 250 KB",
            Some(250_000),
        ),
        ("size: dist/bootx64.efi", &efi, "<= 2.5 MB", Some(2_500_000)),
        ("size: dist/efi.tar.xz", &tar, "(reported)", None),
    ] {
        let len = std::fs::metadata(path)
            .with_context(|| format!("cannot stat {path}"))?
            .len();
        rows.push(row(
            what,
            format!("{len} B"),
            target,
            limit.is_none_or(|l| len <= l),
        ));
    }
    Ok(rows)
}

fn secs(s: f64) -> String {
    format!("{s:.2} s")
}

fn print_table(rows: &[Row]) {
    let w = rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
    println!(
        "\n{:<w$}  {:>12}  {:<10}  verdict",
        "measure", "figure", "target"
    );
    for r in rows {
        println!(
            "{:<w$}  {:>12}  {:<10}  {}",
            r.what,
            r.figure,
            r.target,
            if r.ok { "ok" } else { "MISSED" }
        );
    }
}
