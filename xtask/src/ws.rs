//! The workspace: where things live, and the one `xshell::Shell` rooted there.

use std::sync::OnceLock;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use crate::lock::{Lock, LOCK_FILE};

/// Options every subcommand shares (flattened into each by clap).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Common {
    /// Download cache [default: $XDG_CACHE_HOME/gen-kexec/distfiles].
    #[arg(long, global = true, value_name = "DIR")]
    pub distfiles: Option<Utf8PathBuf>,
    /// Read-only folder of pinned sources to look in before downloading
    /// (repeatable; also $GEN_KEXEC_MIRROR, colon-separated).
    #[arg(long = "mirror", global = true, value_name = "DIR")]
    pub mirrors: Vec<Utf8PathBuf>,
    /// Build directory [default: ./build].
    #[arg(long, global = true, value_name = "DIR")]
    pub build_dir: Option<Utf8PathBuf>,
    /// Print the plan instead of running it.
    #[arg(long, global = true)]
    pub dry_run: bool,
}

pub struct Ws {
    /// The workspace root (where `sources.lock` is).
    pub root: Utf8PathBuf,
    pub sh: Shell,
    pub build: Utf8PathBuf,
    pub dist: Utf8PathBuf,
    pub distfiles: Utf8PathBuf,
    pub mirrors: Vec<Utf8PathBuf>,
    pub dry_run: bool,
    lock: OnceLock<Lock>,
}

impl Ws {
    pub fn new(common: &Common) -> Result<Ws> {
        let root = workspace_root();
        if !root.join(LOCK_FILE).is_file() {
            anyhow::bail!(
                "this xtask binary was built for the workspace {root}, which has no {LOCK_FILE} \
                 (any more): run it as `cargo xtask ...` from the gen-kexec checkout, which \
                 rebuilds it for that checkout (a binary in a shared target directory may \
                 belong to another checkout, e.g. after `cargo xtask repro-check`)"
            );
        }
        let sh = Shell::new().context("cannot create a shell")?;
        sh.change_dir(&root);
        let abs = |p: &Utf8Path| -> Utf8PathBuf {
            if p.is_absolute() {
                p.to_owned()
            } else {
                cwd().join(p)
            }
        };
        let build = common
            .build_dir
            .as_deref()
            .map(abs)
            .unwrap_or_else(|| root.join("build"));
        let distfiles = match &common.distfiles {
            Some(d) => abs(d),
            None => default_cache_dir()?.join("distfiles"),
        };
        let mut mirrors: Vec<Utf8PathBuf> = common.mirrors.iter().map(|m| abs(m)).collect();
        if let Ok(env) = std::env::var("GEN_KEXEC_MIRROR") {
            mirrors.extend(
                env.split(':')
                    .filter(|s| !s.is_empty())
                    .map(|s| abs(Utf8Path::new(s))),
            );
        }
        Ok(Ws {
            dist: root.join("dist"),
            root,
            sh,
            build,
            distfiles,
            mirrors,
            dry_run: common.dry_run,
            lock: OnceLock::new(),
        })
    }

    /// The parsed `sources.lock`, read once.
    pub fn lock(&self) -> Result<&Lock> {
        if let Some(l) = self.lock.get() {
            return Ok(l);
        }
        let lock = Lock::load(&self.root.join(LOCK_FILE))?;
        Ok(self.lock.get_or_init(|| lock))
    }

    /// `SOURCE_DATE_EPOCH`: from the environment when set, else the lock's.
    pub fn source_date_epoch(&self) -> Result<u64> {
        if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
            return v
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={v}: expected whole seconds"));
        }
        Ok(self.lock()?.source_date_epoch)
    }

    /// `--distfiles DIR --mirror M...`: the same sources for a nested
    /// `cargo xtask` (clear GEN_KEXEC_MIRROR there, it is in here already).
    pub fn source_args(&self) -> Vec<String> {
        let mut args = vec!["--distfiles".to_owned(), self.distfiles.to_string()];
        for m in &self.mirrors {
            args.extend(["--mirror".to_owned(), m.to_string()]);
        }
        args
    }

    pub fn jobs(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

fn workspace_root() -> Utf8PathBuf {
    // Set by .cargo/config.toml so that cargo rebuilds xtask when it is run
    // from another worktree sharing the target directory (CARGO_MANIFEST_DIR
    // changes do not make cargo rebuild). Without that config (cargo run
    // from outside the tree), xtask/ is one level below the workspace root.
    if let Some(root) = option_env!("GEN_KEXEC_WORKSPACE") {
        return Utf8Path::new(root.trim_end_matches('/')).to_owned();
    }
    Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_owned()
}

pub fn cwd() -> Utf8PathBuf {
    let cwd = std::env::current_dir().expect("the current directory exists");
    Utf8PathBuf::from_path_buf(cwd).expect("the current directory is UTF-8")
}

fn default_cache_dir() -> Result<Utf8PathBuf> {
    let dir = dirs::cache_dir().context("no cache directory: set --distfiles DIR")?;
    let dir = Utf8PathBuf::from_path_buf(dir)
        .map_err(|p| anyhow::anyhow!("cache directory {} is not UTF-8", p.display()))?;
    Ok(dir.join("gen-kexec"))
}

/// `cmd` without what `cargo run` put in our environment for us (the
/// xtask package's CARGO_PKG_*, CARGO_MANIFEST_*, ...). A nested cargo
/// would otherwise see them change and rebuild every crate whose build
/// script watches them (ring does), and the next `cargo xtask` would
/// rebuild them back.
pub fn without_cargo_run_env(mut cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    const SET_BY_CARGO_RUN: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "OUT_DIR",
    ];
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_") || SET_BY_CARGO_RUN.contains(&key) {
            cmd = cmd.env_remove(key);
        }
    }
    cmd
}

/// The cargo target directory this xtask was built in (nested cargo runs
/// share it, so dependencies compile once).
pub fn target_dir() -> Option<Utf8PathBuf> {
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        return Some(Utf8PathBuf::from(t));
    }
    // <target>/<profile>/xtask
    let exe = Utf8PathBuf::from_path_buf(std::env::current_exe().ok()?).ok()?;
    Some(exe.parent()?.parent()?.to_owned())
}
