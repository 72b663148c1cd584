//! `reproducible.sha256`: the sha256 of `dist/efi.tar.xz` and
//! `dist/bootx64.efi` that a clean build of this tree produces, committed
//! (as Heads keeps its hashes.txt). `cargo xtask test` and the nightly
//! workflow build and compare (`pin-hashes --check`), so every CI run on
//! every machine is a cross-machine reproducibility check;
//! `cargo xtask pin-hashes` rewrites the file after an input changed on
//! purpose.

use anyhow::{bail, Context, Result};
use camino::Utf8PathBuf;

use crate::kconfig::profile;
use crate::recipes::Target;
use crate::tarball::TARBALL;
use crate::ws::Ws;

pub const FILE: &str = "reproducible.sha256";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compare instead of writing: fail when the build differs from the file.
    #[arg(long)]
    pub check: bool,
}

/// The pinned artifacts: name in the file, path after the build.
fn artifacts(ws: &Ws) -> Vec<(String, Utf8PathBuf)> {
    let efi = crate::bootloader::outputs(ws, Target::X86_64, profile::DEFAULT_PROFILE).efi;
    vec![
        (TARBALL.to_owned(), ws.dist.join(TARBALL)),
        ("bootx64.efi".to_owned(), efi),
    ]
}

/// Build the tarball (a no-op when up to date) and hash its artifacts.
fn build_and_hash(ws: &Ws) -> Result<Vec<(String, String)>> {
    crate::tarball::run(
        ws,
        &crate::tarball::Args {
            profile: crate::kconfig::profile::DEFAULT_PROFILE.to_owned(),
            target: Target::X86_64,
        },
    )?;
    artifacts(ws)
        .into_iter()
        .map(|(name, path)| Ok((name, crate::stamp::sha256_file(&path)?)))
        .collect()
}

/// `sha256sum` format, so `cd dist && sha256sum -c ../reproducible.sha256` works.
fn render(hashes: &[(String, String)]) -> String {
    let mut s = String::from(
        "# sha256 of a clean build of this tree (x86_64, default profile).\n\
         # `cargo xtask test` checks it; after changing an input on purpose\n\
         # (scripts/kexec.sourceme, initramfs-skel/, kconfig-fragments/,\n\
         # sources.lock, the recipes), run `cargo xtask pin-hashes` and commit.\n",
    );
    for (name, sha) in hashes {
        s += &format!("{sha}  {name}\n");
    }
    s
}

fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once("  "))
        .map(|(sha, name)| (name.trim().to_owned(), sha.trim().to_owned()))
        .collect()
}

/// Differences between what the file pins and what was built, one line each.
fn compare(pinned: &[(String, String)], built: &[(String, String)]) -> Vec<String> {
    built
        .iter()
        .filter_map(|(name, sha)| match pinned.iter().find(|(n, _)| n == name) {
            Some((_, want)) if want == sha => None,
            Some((_, want)) => Some(format!("{name}: built {sha}, pinned {want}")),
            None => Some(format!("{name}: built {sha}, not pinned")),
        })
        .collect()
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    if args.check {
        return check(ws);
    }
    let built = build_and_hash(ws)?;
    let path = ws.root.join(FILE);
    crate::fsutil::write_atomic(&path, render(&built).as_bytes())?;
    for (name, sha) in &built {
        println!("pin-hashes: {sha}  {name}");
    }
    println!("pin-hashes: wrote {FILE}; commit it (`git diff {FILE}`)");
    Ok(())
}

/// Build, then fail unless the bytes are the pinned ones.
pub fn check(ws: &Ws) -> Result<()> {
    let path = ws.root.join(FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    if ws.dry_run {
        println!("pin-hashes: plan: build the tarball, compare its files with {FILE}");
        return Ok(());
    }
    let built = build_and_hash(ws)?;
    let diffs = compare(&parse(&text), &built);
    if !diffs.is_empty() {
        bail!(
            "this build is not the one {FILE} pins:\n  {}\n\
             If an input changed on purpose (scripts/kexec.sourceme, initramfs-skel/, \
             kconfig-fragments/, sources.lock, a recipe), run `cargo xtask pin-hashes` \
             and commit {FILE}. If nothing did, the build is not reproducible here: \
             compare with `cargo xtask repro-check`.",
            diffs.join("\n  ")
        );
    }
    println!(
        "pin-hashes: the build equals {FILE} ({} files)",
        built.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_a_difference_is_named() {
        let built = vec![
            ("efi.tar.xz".to_owned(), "a".repeat(64)),
            ("bootx64.efi".to_owned(), "b".repeat(64)),
        ];
        let text = render(&built);
        assert!(text.contains(&format!("{}  efi.tar.xz\n", "a".repeat(64))));
        assert!(compare(&parse(&text), &built).is_empty());
        let mut other = built.clone();
        other[0].1 = "c".repeat(64);
        assert_eq!(
            compare(&parse(&text), &other),
            [format!(
                "efi.tar.xz: built {}, pinned {}",
                "c".repeat(64),
                "a".repeat(64)
            )]
        );
    }

    #[test]
    fn the_committed_file_pins_both_artifacts() {
        let root = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let text = std::fs::read_to_string(root.join(FILE)).unwrap();
        let names: Vec<String> = parse(&text).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["efi.tar.xz", "bootx64.efi"]);
        for (_, sha) in parse(&text) {
            assert!(
                sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{sha}"
            );
        }
    }
}
