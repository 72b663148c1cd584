//! `cargo xtask repro-check`: build `dist/efi.tar.xz` twice from scratch,
//! from two copies of the tracked tree at different paths, each with its own
//! build directory, under a different umask, time zone, locale, user name
//! and home; then compare the tarballs and every file inside. On a
//! difference it names the files (and runs diffoscope when installed).

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::cmd;

use crate::stamp::{sha256_bytes, sha256_file};
use crate::tarball::TARBALL;
use crate::ws::Ws;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the two copies go [default: <build dir>/repro].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<Utf8PathBuf>,
}

/// One of the two builds: where, and under which environment.
pub struct Variant {
    pub name: &'static str,
    /// Relative to the repro directory; the two differ in length and depth.
    pub subdir: &'static str,
    pub umask: u32,
    pub env: &'static [(&'static str, &'static str)],
}

pub const VARIANTS: [Variant; 2] = [
    Variant {
        name: "first",
        subdir: "a",
        umask: 0o022,
        env: &[
            ("TZ", "UTC"),
            ("LC_ALL", "C"),
            ("LANG", "C"),
            ("USER", "builder"),
            ("LOGNAME", "builder"),
        ],
    },
    Variant {
        name: "second",
        subdir: "a-much-longer/and-deeper-path/b",
        umask: 0o077,
        env: &[
            ("TZ", "Pacific/Kiritimati"),
            ("LC_ALL", "C.UTF-8"),
            ("LANG", "C.UTF-8"),
            ("USER", "someone-else"),
            ("LOGNAME", "someone-else"),
            ("HOSTNAME", "elsewhere"),
            ("KBUILD_BUILD_USER", "leak"),
            ("KBUILD_BUILD_HOST", "leak"),
        ],
    },
];

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let root = args.dir.clone().unwrap_or_else(|| ws.build.join("repro"));
    let files = tracked_files(ws)?;
    let mut tarballs = Vec::new();
    for v in &VARIANTS {
        let tree = root.join(v.subdir);
        println!(
            "repro-check: {} build in {tree} (umask {:03o}, {:?})",
            v.name, v.umask, v.env
        );
        copy_tree(&ws.root, &tree, &files)
            .with_context(|| format!("repro-check: copying the tree to {tree}"))?;
        build(ws, &tree, v)
            .with_context(|| format!("repro-check: the {} build in {tree} failed", v.name))?;
        tarballs.push(tree.join("dist").join(TARBALL));
    }
    compare(&tarballs[0], &tarballs[1], &root)
}

/// The files git tracks (working-tree contents, so uncommitted edits count).
fn tracked_files(ws: &Ws) -> Result<Vec<Utf8PathBuf>> {
    let out = cmd!(ws.sh, "git ls-files -z")
        .read()
        .context("repro-check: `git ls-files` failed: is this a git checkout?")?;
    Ok(out
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(Utf8PathBuf::from)
        .collect())
}

fn copy_tree(from: &Utf8Path, to: &Utf8Path, files: &[Utf8PathBuf]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    crate::fsutil::remove_dir_all_if_exists(to)?;
    for f in files {
        let (src, dst) = (from.join(f), to.join(f));
        let Ok(meta) = std::fs::symlink_metadata(&src) else {
            continue; // deleted in the working tree
        };
        if let Some(d) = dst.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {d}"))?;
        }
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("cannot copy {src} to {dst}"))?;
            let exec = meta.permissions().mode() & 0o111 != 0;
            std::fs::set_permissions(
                &dst,
                std::fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }),
            )?;
        }
    }
    Ok(())
}

fn build(ws: &Ws, tree: &Utf8Path, v: &Variant) -> Result<()> {
    let manifest = tree.join("Cargo.toml");
    let build_dir = tree.join("build");
    let sources = ws.source_args();
    let sh = xshell::Shell::new()?;
    sh.change_dir(tree);
    // Only what cargo needs comes from our environment (PATH, where the
    // toolchain and the compiled dependencies are); the rest is the
    // variant's, including a home directory of its own.
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let var = |k: &str, default: String| std::env::var(k).unwrap_or(default);
    let mut keep = vec![
        ("PATH", var("PATH", "/usr/bin:/bin".into())),
        ("CARGO_HOME", var("CARGO_HOME", format!("{home}/.cargo"))),
        ("RUSTUP_HOME", var("RUSTUP_HOME", format!("{home}/.rustup"))),
        ("HOME", tree.join("home").into_string()),
    ];
    // One target directory for both builds and ours: the xtask's
    // dependencies compile once, not twice (the xtask itself is rebuilt
    // per tree, see .cargo/config.toml). It holds no build output.
    if let Some(t) = crate::ws::target_dir() {
        keep.push(("CARGO_TARGET_DIR", t.into_string()));
    }
    std::fs::create_dir_all(tree.join("home"))?;
    let mut cmd = cmd!(
        sh,
        "cargo run --quiet --locked --manifest-path {manifest} -p xtask -- tarball --build-dir {build_dir} {sources...}"
    );
    cmd = cmd.env_clear();
    for (k, val) in keep {
        cmd = cmd.env(k, val);
    }
    for (k, val) in v.env {
        cmd = cmd.env(k, val);
    }
    let old = set_umask(v.umask);
    let result = cmd.run();
    set_umask(old);
    result?;
    Ok(())
}

fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask(2) cannot fail; the xtask is single-threaded here.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

/// Compare the two tarballs; on a difference, name each differing member.
fn compare(a: &Utf8Path, b: &Utf8Path, dir: &Utf8Path) -> Result<()> {
    let (ha, hb) = (sha256_file(a)?, sha256_file(b)?);
    let (ma, mb) = (members(a)?, members(b)?);
    println!("repro-check: {ha}  {a}");
    println!("repro-check: {hb}  {b}");
    for (name, data) in &ma {
        let other = mb
            .get(name)
            .map(|d| sha256_bytes(d))
            .unwrap_or_else(|| "(missing)".into());
        let mark = if Some(data) == mb.get(name) {
            "same"
        } else {
            "DIFFERENT"
        };
        println!("  {mark:<9} {}  {other}  {name}", sha256_bytes(data));
    }
    if ha == hb {
        println!(
            "repro-check: OK, {TARBALL} is bit-for-bit identical ({} members)",
            ma.len()
        );
        return Ok(());
    }
    let mut differing: Vec<&String> = ma.keys().filter(|k| ma.get(*k) != mb.get(*k)).collect();
    differing.extend(mb.keys().filter(|k| !ma.contains_key(*k)));
    diffoscope(a, b, dir);
    bail!(
        "repro-check: the two {TARBALL} differ ({}); the members that differ: {}",
        if differing.is_empty() {
            "only in the archive itself".to_owned()
        } else {
            format!("{} member(s)", differing.len())
        },
        differing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn members(tarball: &Utf8Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let bytes = std::fs::read(tarball).with_context(|| format!("cannot read {tarball}"))?;
    let mut ar = tar::Archive::new(xz2::read::XzDecoder::new(bytes.as_slice()));
    let mut out = BTreeMap::new();
    for e in ar
        .entries()
        .with_context(|| format!("{tarball}: not a tar.xz"))?
    {
        let mut e = e?;
        let name = e.path()?.to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data)?;
        out.insert(name, data);
    }
    Ok(out)
}

fn diffoscope(a: &Utf8Path, b: &Utf8Path, dir: &Utf8Path) {
    let report = dir.join("diffoscope.txt");
    match std::process::Command::new("diffoscope").arg("--text").arg(&report).arg(a).arg(b).status() {
        Ok(_) => println!("repro-check: diffoscope report: {report}"),
        Err(_) => println!("repro-check: diffoscope is not installed (apt-get install diffoscope) for a detailed report"),
    }
}
