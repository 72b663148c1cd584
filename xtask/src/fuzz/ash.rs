//! The boot-time syslinux parser's harness (`cargo xtask fuzz --target
//! ash-syslinux`): random and mutated config trees (includes, MENU INCLUDE
//! with tags, self-includes, many labels, long lines, binary junk), each
//! parsed under busybox ash with a time limit, plus two fixed probes: a
//! config of 5,000 labels and a 1 MB line.
//!
//! The time limits are what issue 15 asks of the parser budgets; until
//! they are in, they are reported but do not fail the run unless
//! [`STRICT`] is true or `GK_FUZZ_ASH_STRICT=1` is set.

use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::ws::Ws;

/// Flip to `true` once the parser budgets (issue 15, item 3) are in.
pub const STRICT: bool = false;
pub const STRICT_ENV: &str = "GK_FUZZ_ASH_STRICT";
/// No generated tree may take longer than this.
pub const TREE_LIMIT: Duration = Duration::from_secs(2);
/// 5,000 labels and a 1 MB line: each under this.
pub const PROBE_LIMIT: Duration = Duration::from_secs(1);
/// A run is killed after this (it then counts as over the limit).
const KILL_AFTER: Duration = Duration::from_secs(4);
/// The busybox whose ash runs the parser: [`BUSYBOX_ENV`] when set (the
/// build's own, which `cargo xtask fuzz` and `cargo xtask test` set when it
/// exists), else Debian's busybox-static.
pub const BUSYBOX_ENV: &str = "GK_TEST_BUSYBOX";

static BUILT_BUSYBOX: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub fn busybox() -> String {
    std::env::var(BUSYBOX_ENV)
        .ok()
        .or_else(|| BUILT_BUSYBOX.get().cloned())
        .unwrap_or_else(|| "/bin/busybox".to_owned())
}

/// Use the bootloader's own busybox when it is built and [`BUSYBOX_ENV`]
/// does not choose another; which one runs, for the report.
pub fn prefer_built_busybox(ws: &Ws) -> String {
    let built = crate::userland::binaries(ws, crate::recipes::Target::X86_64).busybox;
    if built.is_file() {
        let _ = BUILT_BUSYBOX.set(built.into_string());
    }
    busybox()
}

pub fn strict() -> bool {
    STRICT || std::env::var(STRICT_ENV).is_ok_and(|v| v == "1")
}

/// How the harness loads and calls the runtime parser: the only place
/// that knows. `GK_LIB` is where the parser library goes once it moves
/// out of kexec.sourceme (which sources it from there when set).
pub fn parser_command(repo: &Utf8Path, tree: &Utf8Path, cfg: &str) -> Command {
    let mut c = Command::new(busybox());
    c.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .env("GK_NO_MAIN", "1")
        .env("GK_ROOT", tree)
        .env("GK_LIB", repo.join("initramfs-skel/lib/gen-kexec"))
        .env("GK_SCRIPT", repo.join("scripts/kexec.sourceme"))
        .args([
            "ash",
            "-c",
            "set -u\n. \"$GK_SCRIPT\"\ngk_parse_config \"$1\"\ngk_labels",
            "ash",
            cfg,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    c
}

/// Parse `cfg` of `tree`; the time it took (`None`: killed at `KILL_AFTER`).
pub fn time_parse(repo: &Utf8Path, tree: &Utf8Path, cfg: &str) -> Result<Option<Duration>> {
    let t = Instant::now();
    let mut child = parser_command(repo, tree, cfg).spawn().with_context(|| {
        format!(
            "cannot run {} (apt-get install busybox-static, or set {BUSYBOX_ENV})",
            busybox()
        )
    })?;
    loop {
        if child.try_wait()?.is_some() {
            return Ok(Some(t.elapsed()));
        }
        if t.elapsed() > KILL_AFTER {
            // SAFETY: signals our own child's process group.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

const FILES: &[&str] = &[
    "isolinux/isolinux.cfg",
    "isolinux/a.cfg",
    "isolinux/b.cfg",
    "isolinux/sub/c.cfg",
];

/// One random config line.
fn line(rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
    let file = |rng: &mut fastrand::Rng| {
        let f = FILES[rng.usize(..FILES.len())];
        match rng.u8(..3) {
            0 => format!("/{f}"),
            1 => f.rsplit('/').next().unwrap_or(f).to_owned(),
            _ => format!("../{f}"),
        }
    };
    let n = rng.u16(..);
    // Includes are one line in 20: most trees then include nothing twice.
    let mut kind = rng.u8(..20);
    if matches!(kind, 7..=9 | 15 | 16) && rng.u8(..5) != 0 {
        kind = 0;
    }
    let s = match kind {
        0..=2 => format!("label l{n}"),
        3 => format!("  kernel /boot/vmlinuz-{n}"),
        4 => format!("\tlinux vmlinuz{n}"),
        5 => format!("  append root=/dev/sda{n} {}", "x".repeat(rng.usize(..200))),
        6 => format!("  initrd /boot/initrd{n}.img,/boot/ucode.img"),
        7 | 8 => format!("include {}", file(rng)),
        9 => format!(
            "menu include {} {}",
            file(rng),
            if rng.bool() { "Tag" } else { "" }
        ),
        10 => [
            "menu begin x",
            "menu end",
            "menu default",
            "menu hide",
            "menu label L",
        ][rng.usize(..5)]
        .to_owned(),
        11 => format!("default l{n}"),
        12 => "text\nhelp text\nendtext".to_owned(),
        13 => format!("  append {}", "y".repeat(rng.usize(..20_000))),
        14 => {
            out.extend((0..rng.usize(..64)).map(|_| rng.u8(..)));
            String::new()
        }
        15 => "MENU INCLUDE isolinux.cfg Self".to_owned(),
        16 => "INCLUDE isolinux.cfg".to_owned(),
        17 => "# a comment\r".to_owned(),
        18 => "ui vesamenu.c32\nprompt 0\ntimeout 50".to_owned(),
        _ => String::new(),
    };
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(if rng.u8(..8) == 0 { b"\r\n" } else { b"\n" });
}

/// Write a random tree under `root` (replacing what was there).
pub fn random_tree(rng: &mut fastrand::Rng, root: &Utf8Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(root);
    for f in FILES.iter().take(1 + rng.usize(..FILES.len())) {
        let mut text = Vec::new();
        let max = rng.usize(1..80);
        for _ in 0..rng.usize(..max) {
            line(rng, &mut text);
        }
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().expect("has a parent"))?;
        std::fs::write(&p, text)?;
    }
    Ok(())
}

/// A fixture tree with a few lines of its configs changed.
fn mutated_fixture(rng: &mut fastrand::Rng, repo: &Utf8Path, root: &Utf8Path) -> Result<String> {
    let fixtures = repo.join("xtask/tests/sourceme");
    let names = ["gentoo-minimal", "debian-installer", "ubuntu-casper"];
    let name = names[rng.usize(..names.len())];
    let _ = std::fs::remove_dir_all(root);
    let mut cfgs = Vec::new();
    for e in walk(&fixtures.join(name))? {
        let rel = e.strip_prefix(fixtures.join(name))?.to_owned();
        let dst = root.join(&rel);
        std::fs::create_dir_all(dst.parent().expect("has a parent"))?;
        if rel.as_str().ends_with(".cfg") {
            let text = std::fs::read(&e)?;
            let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            for _ in 0..rng.usize(1..6) {
                let at = rng.usize(..=lines.len());
                match rng.u8(..4) {
                    0 if !lines.is_empty() => {
                        lines.remove(at.min(lines.len() - 1));
                    }
                    1 if !lines.is_empty() => {
                        let l = lines[at.min(lines.len() - 1)].clone();
                        lines.insert(at, l);
                    }
                    _ => {
                        let mut l = Vec::new();
                        line(rng, &mut l);
                        lines.insert(at, l);
                    }
                }
            }
            std::fs::write(&dst, lines.join(&b'\n'))?;
            cfgs.push(format!("/{rel}"));
        } else {
            std::fs::write(&dst, b"")?;
        }
    }
    cfgs.sort();
    Ok(cfgs
        .into_iter()
        .find(|c| c.ends_with("isolinux.cfg") || c.ends_with("syslinux.cfg"))
        .unwrap_or_else(|| "/isolinux/isolinux.cfg".into()))
}

fn walk(dir: &Utf8Path) -> Result<Vec<Utf8PathBuf>> {
    let mut out = Vec::new();
    for e in dir.read_dir_utf8()? {
        let p = e?.path().to_owned();
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Report {
    pub trees: usize,
    pub slowest: Duration,
    pub over: usize,
    pub saved: Vec<Utf8PathBuf>,
    pub labels_5000: Option<Duration>,
    pub line_1mb: Option<Duration>,
    pub strict: bool,
}

impl Report {
    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.over > 0 {
            f.push(format!(
                "{} of {} trees took over {:?}",
                self.over, self.trees, TREE_LIMIT
            ));
        }
        let slow = |d: Option<Duration>| d.is_none_or(|d| d >= PROBE_LIMIT);
        if slow(self.labels_5000) {
            f.push(format!(
                "5,000 labels: {} (limit {PROBE_LIMIT:?})",
                secs(self.labels_5000)
            ));
        }
        if slow(self.line_1mb) {
            f.push(format!(
                "a 1 MB line: {} (limit {PROBE_LIMIT:?})",
                secs(self.line_1mb)
            ));
        }
        f
    }

    pub fn passed(&self) -> bool {
        !self.strict || self.failures().is_empty()
    }
}

fn secs(d: Option<Duration>) -> String {
    d.map_or(format!("killed after {KILL_AFTER:?}"), |d| {
        format!("{:.2} s", d.as_secs_f64())
    })
}

/// Fuzz for `seconds` (at least one tree), then the two probes.
pub fn run(ws: &Ws, seconds: f64, seed: u64) -> Result<Report> {
    let repo = ws.root.clone();
    println!(
        "fuzz:   {}: the parser under {} ash",
        super::ASH,
        prefer_built_busybox(ws)
    );
    let out = ws.root.join("target/fuzz").join(super::ASH);
    let tmp = tempfile::tempdir()?;
    let base = Utf8Path::from_path(tmp.path()).context("UTF-8 temp dir")?;
    let tree = base.join("tree");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut r = Report {
        strict: strict(),
        ..Report::default()
    };
    let t0 = Instant::now();
    while r.trees == 0 || t0.elapsed().as_secs_f64() < seconds {
        let cfg = match rng.u8(..8) {
            0 | 1 => mutated_fixture(&mut rng, &repo, &tree)?,
            2 | 3 => super::ash_grub::mutated(&mut rng, &repo, &tree)?,
            _ => {
                random_tree(&mut rng, &tree)?;
                "/isolinux/isolinux.cfg".to_owned()
            }
        };
        let took = time_parse(&repo, &tree, &cfg)?;
        r.trees += 1;
        let d = took.unwrap_or(KILL_AFTER);
        r.slowest = r.slowest.max(d);
        if took.is_none_or(|d| d > TREE_LIMIT) {
            r.over += 1;
            if r.saved.len() < 10 {
                let keep = out.join(format!("slow-{seed}-{}", r.trees));
                let _ = std::fs::remove_dir_all(&keep);
                std::fs::create_dir_all(&out)?;
                std::fs::rename(&tree, &keep).or_else(|_| copy_tree(&tree, &keep))?;
                r.saved.push(keep);
            }
        }
    }
    let fuzz_secs = t0.elapsed().as_secs_f64();
    r.labels_5000 = probe(&repo, base, &labels(5000))?;
    r.line_1mb = probe(
        &repo,
        base,
        &format!("label big\n  kernel /k\n  append {}\n", "z".repeat(1 << 20)),
    )?;
    let mut o = String::new();
    writeln!(
        o,
        "fuzz: {:<10} {} trees in {fuzz_secs:.0} s ({:.1}/s), slowest {:.2} s, {} over {:?}",
        super::ASH,
        r.trees,
        r.trees as f64 / fuzz_secs,
        r.slowest.as_secs_f64(),
        r.over,
        TREE_LIMIT
    )?;
    writeln!(
        o,
        "fuzz:   5,000 labels parsed in {}; a 1 MB line: {}",
        secs(r.labels_5000),
        secs(r.line_1mb)
    )?;
    for p in &r.saved {
        writeln!(o, "fuzz:   slow tree kept: {p}")?;
    }
    for f in r.failures() {
        let verdict = if r.strict {
            "FAIL"
        } else {
            "would fail (strict limits off)"
        };
        writeln!(o, "fuzz:   {verdict}: {f}")?;
    }
    if !r.strict && !r.failures().is_empty() {
        writeln!(
            o,
            "fuzz:   turn the limits on with {STRICT_ENV}=1 (or ash::STRICT = true)"
        )?;
    }
    print!("{o}");
    Ok(r)
}

pub fn labels(n: usize) -> String {
    let mut s = String::from("default l1\n");
    for i in 0..n {
        let _ = write!(
            s,
            "label l{i}\n  kernel /boot/vmlinuz\n  append root=/dev/sda1 quiet\n"
        );
    }
    s
}

fn probe(repo: &Utf8Path, base: &Utf8Path, text: &str) -> Result<Option<Duration>> {
    let tree = base.join("probe");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(tree.join("isolinux"))?;
    std::fs::write(tree.join("isolinux/isolinux.cfg"), text)?;
    time_parse(repo, &tree, "/isolinux/isolinux.cfg")
}

fn copy_tree(from: &Utf8Path, to: &Utf8Path) -> std::io::Result<()> {
    for f in walk(from).map_err(std::io::Error::other)? {
        let dst = to.join(f.strip_prefix(from).map_err(std::io::Error::other)?);
        std::fs::create_dir_all(dst.parent().expect("has a parent"))?;
        std::fs::copy(&f, &dst)?;
    }
    Ok(())
}
