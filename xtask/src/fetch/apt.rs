//! Last resort: `apt-get source --download-only PACKAGE=VERSION` with a
//! private apt configuration, then the file with the pinned sha256 is
//! picked among what apt downloaded (Debian renames upstream tarballs to
//! `PACKAGE_VERSION.orig.tar.*`; the content is what counts).
//!
//! A stock Debian box has no `deb-src` lines, and the pinned versions are
//! those of one suite (trixie): so gen-kexec never relies on /etc/apt and
//! never edits it. Under the download cache, `.apt/SUITE/` holds a
//! `sources.list` with one `deb-src` line for that suite, signed by
//! Debian's archive keyring (`signed-by=`, so apt checks the Release
//! signature, hence every Sources index and every file it lists), its own
//! lists and its own cache; every apt-get call is pointed at them with
//! `-o Dir::Etc::SourceList=... -o Dir::State::Lists=... -o Dir::Cache=...`.
//! The file apt hands back is verified against the lock like any other.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{cmd, Shell};

use super::{http::Downloaded, locate, Ctx, Origin};
use crate::lock::Source;

/// The Debian archive the private apt configuration points at.
#[derive(Debug, Clone)]
pub struct Archive {
    /// `$GEN_KEXEC_DEBIAN_ARCHIVE`, else deb.debian.org.
    pub url: String,
    /// The keyring that signs its Release files.
    pub keyring: Utf8PathBuf,
    /// Suites to try; `None`: the one the version names (`suites_for`).
    pub suites: Option<Vec<String>>,
}

impl Default for Archive {
    fn default() -> Archive {
        Archive {
            url: std::env::var("GEN_KEXEC_DEBIAN_ARCHIVE")
                .unwrap_or_else(|_| "https://deb.debian.org/debian".to_owned()),
            keyring: "/usr/share/keyrings/debian-archive-keyring.gpg".into(),
            suites: None,
        }
    }
}

/// Whether `apt-get` is on PATH.
pub fn available() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("apt-get").is_file()))
}

/// The suite holding a pinned Debian version: a stable update names its
/// release (`~deb13u1`, `+deb12u2`); anything else is trixie's, where the
/// lock's versions come from.
pub fn suites_for(debian: &str) -> Vec<String> {
    let codename = |n: &str| match n {
        "11" => Some("bullseye"),
        "12" => Some("bookworm"),
        "13" => Some("trixie"),
        "14" => Some("forky"),
        _ => None,
    };
    let release = debian
        .split(['~', '+'])
        .filter_map(|part| part.strip_prefix("deb"))
        .filter_map(|rest| codename(rest.split('u').next().unwrap_or("")))
        .next_back();
    vec![release.unwrap_or("trixie").to_owned()]
}

/// Fetch `src` with apt-get; the file (sha256-checked when pinned) is left
/// at `Downloaded::partial`, for the caller to move into place.
pub fn source(ctx: &Ctx, src: &Source, debian: &str) -> Result<Downloaded> {
    let suites = ctx
        .debian
        .suites
        .clone()
        .unwrap_or_else(|| suites_for(debian));
    let mut failures = Vec::new();
    for suite in &suites {
        let tmp = Utf8PathBuf::from(format!("{}/.apt-{}", ctx.cache, std::process::id()));
        crate::fsutil::remove_dir_all_if_exists(&tmp)?;
        std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {tmp}"))?;
        let result = source_in(ctx, src, debian, suite, &tmp);
        let _ = std::fs::remove_dir_all(&tmp);
        match result {
            Ok(got) => return Ok(got),
            Err(e) => failures.push(format!("{suite}: {e:#}")),
        }
    }
    bail!("{}", failures.join("\n  "))
}

/// `.apt/SUITE/` under the cache: sources.list, lists, cache. Returns the
/// `-o` options that point apt-get there.
fn private_config(ctx: &Ctx, suite: &str) -> Result<Vec<String>> {
    let dir = ctx.cache.join(".apt").join(suite);
    for d in ["lists/partial", "cache/archives/partial", "sources.list.d"] {
        let d = dir.join(d);
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {d}"))?;
    }
    let list = dir.join("sources.list");
    let line = format!(
        "deb-src [signed-by={}] {} {suite} main\n",
        ctx.debian.keyring, ctx.debian.url
    );
    crate::fsutil::write_atomic(&list, line.as_bytes())?;
    let mut opts = vec![
        format!("Dir::Etc::SourceList={list}"),
        format!("Dir::Etc::SourceParts={dir}/sources.list.d"),
        format!("Dir::State::Lists={dir}/lists"),
        format!("Dir::Cache={dir}/cache"),
        "Acquire::Languages=none".to_owned(),
    ];
    if unsafe { libc::geteuid() } == 0 {
        // The `_apt` user cannot enter a private cache under a 0700 home.
        opts.push("APT::Sandbox::User=root".to_owned());
    }
    Ok(opts
        .into_iter()
        .flat_map(|o| ["-o".to_owned(), o])
        .collect())
}

fn source_in(
    ctx: &Ctx,
    src: &Source,
    debian: &str,
    suite: &str,
    tmp: &Utf8Path,
) -> Result<Downloaded> {
    let opts = private_config(ctx, suite)?;
    let sh = Shell::new()?;
    sh.change_dir(tmp);
    let url = &ctx.debian.url;
    eprintln!(
        "{}: trying `apt-get source --download-only {debian}` from Debian {suite} ({url}), \
         private apt state in {}/.apt/{suite} (/etc/apt untouched)",
        src.file, ctx.cache
    );
    let run = |what: &str, c: xshell::Cmd| -> Result<()> {
        let out = c
            .ignore_status()
            .quiet()
            .output()
            .context("cannot run apt-get")?;
        if !out.status.success() {
            bail!(
                "`apt-get {what}` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    };
    let update_opts = opts.clone();
    run("update", cmd!(sh, "apt-get {update_opts...} -q update"))?;
    run(
        &format!("source --download-only {debian}"),
        cmd!(sh, "apt-get {opts...} source --download-only {debian}"),
    )?;
    let names = locate::candidate_names(src);
    let mut seen = Vec::new();
    for entry in crate::fsutil::walk_sorted(tmp)? {
        if !entry.is_file() {
            continue;
        }
        let name = entry.file_name().unwrap_or_default();
        let sha256 = crate::stamp::sha256_file(&entry)?;
        let wanted = match &src.sha256 {
            Some(expected) => *expected == sha256,
            None => names.iter().any(|n| n == name),
        };
        if wanted {
            let partial = crate::fsutil::partial_path(&ctx.cache.join(&src.file));
            crate::fsutil::rename(&entry, &partial)?;
            eprintln!("{}: got {name} from Debian {suite}", src.file);
            return Ok(Downloaded {
                partial,
                sha256,
                origin: Origin::Apt(format!("{debian} ({suite})")),
            });
        }
        seen.push(format!("{name} (sha256 {sha256})"));
    }
    bail!(
        "`apt-get source {debian}` gave no file with sha256 {}; it gave:\n    {}\n  \
         likely cause: sources.lock's `debian` coordinates or sha256 are out of date",
        src.sha256.as_deref().unwrap_or("(not pinned)"),
        seen.join("\n    ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_comes_from_the_version() {
        assert_eq!(suites_for("musl=1.2.5-3.1~deb13u1"), ["trixie"]);
        assert_eq!(suites_for("foo=1.0-1+deb12u2"), ["bookworm"]);
        assert_eq!(suites_for("linux=6.12.107-1"), ["trixie"]);
        assert_eq!(suites_for("busybox=1:1.37.0-6"), ["trixie"]);
    }
}
