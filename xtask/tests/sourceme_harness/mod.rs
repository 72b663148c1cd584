//! Runs functions of `scripts/kexec.sourceme` on the host, under the same
//! busybox ash the initramfs uses, for the `sourceme_*` integration tests.
//! The script is sourced with `GK_NO_MAIN=1`, so it only defines its
//! functions; each test then calls the ones it checks, with the script's
//! paths (`GK_ROOT`, `GK_PROC`, `GK_SYS`, `GK_CONF`, ...) pointed at fixtures.

#![allow(dead_code)] // each test crate uses a different part of the harness

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's busybox-static (`apt-get install busybox-static`), unless
/// `GK_TEST_BUSYBOX` names another: `cargo xtask test` points it at the
/// bootloader's own busybox (built first), the ash and awk that ship.
pub const BUSYBOX: &str = "/bin/busybox";
pub const BUSYBOX_ENV: &str = "GK_TEST_BUSYBOX";

/// What gen-kexec's own kernel has in /proc/cmdline: its built-in command
/// line (UEFI passes none to EFI/Boot/bootx64.efi).
pub const BOOTLOADER_CMDLINE: &str = "console=ttyS0,115200 console=tty0 printk.devkmsg=on";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub fn script() -> PathBuf {
    workspace().join("scripts/kexec.sourceme")
}

/// The runtime library kexec.sourceme sources (/lib/gen-kexec at boot).
pub fn library() -> PathBuf {
    workspace().join("initramfs-skel/lib/gen-kexec")
}

/// A fixture tree: the files of a legacy image's boot partition.
pub fn fixture(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sourceme")
        .join(name);
    assert!(dir.is_dir(), "missing fixture {}", dir.display());
    dir
}

pub fn busybox() -> &'static str {
    static CHOSEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CHOSEN.get_or_init(|| {
        if let Ok(built) = std::env::var(BUSYBOX_ENV) {
            assert!(
                Path::new(&built).is_file(),
                "{BUSYBOX_ENV}={built}: no such file (the busybox these tests run)"
            );
            return built;
        }
        assert!(
            Path::new(BUSYBOX).exists(),
            "{BUSYBOX} not found: these tests run scripts/kexec.sourceme under busybox ash, \
             as the initramfs does. Install Debian's busybox-static \
             (`apt-get install busybox-static`, or `cargo xtask host-deps --test`), \
             or set {BUSYBOX_ENV} to a busybox (`cargo xtask test` uses the one it builds)."
        );
        BUSYBOX.to_owned()
    })
}

pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Source the script (functions only) in `busybox sh` with `set -u`, then
/// run `snippet`. `env` sets the script's path variables.
pub fn run(snippet: &str, env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(busybox());
    cmd.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .env("GK_NO_MAIN", "1")
        .env("GK_SCRIPT", script())
        .env("GK_LIB", library())
        .args(["sh", "-c", &format!("set -u\n. \"$GK_SCRIPT\"\n{snippet}")]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("running busybox sh");
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What kexec.sourceme would boot from a partition.
#[derive(Debug, PartialEq)]
pub struct Plan {
    pub config: String,
    pub label: String,
    pub kernel: String,
    pub initrds: Vec<String>,
    pub cmdline: String,
}

/// The result of the parsing half of the script on a partition tree `root`,
/// with an optional gen-kexec.conf text and the bootloader's /proc/cmdline.
/// `Err` holds the script's stderr when it refuses.
pub struct Planned {
    pub plan: Result<Plan, String>,
    /// Everything on stderr (warnings).
    pub stderr: String,
    /// Everything on stdout (the `gen-kexec:` lines).
    pub stdout: String,
}

impl Planned {
    pub fn stdout_has(&self, text: &str) -> bool {
        self.stdout.contains(text)
    }
}

pub fn plan(root: &Path, conf: Option<&str>, proc_cmdline: &str) -> Planned {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    std::fs::create_dir(&proc_dir).unwrap();
    std::fs::write(proc_dir.join("cmdline"), format!("{proc_cmdline}\n")).unwrap();
    let conf_path = tmp.path().join("gen-kexec.conf");
    if let Some(text) = conf {
        std::fs::write(&conf_path, text).unwrap();
    }
    let out = run(
        r#"cfg=$(gk_find_config) || { echo "no syslinux config under $GK_ROOT" >&2; exit 3; }
gk_read_conf "$GK_CONF"
gk_plan "$cfg" || exit 1
printf 'config=%s\nlabel=%s\nkernel=%s\ninitrds=%s\ncmdline=%s\n' \
    "$cfg" "$GK_LABEL" "$GK_KERNEL" "$GK_INITRDS" "$GK_CMDLINE""#,
        &[
            ("GK_ROOT", root),
            ("GK_PROC", &proc_dir),
            ("GK_CONF", &conf_path),
        ],
    );
    if !out.ok {
        return Planned {
            plan: Err(out.stderr.clone()),
            stderr: out.stderr,
            stdout: out.stdout,
        };
    }
    let field = |key: &str| -> String {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in output:\n{}", out.stdout))
            .to_owned()
    };
    let initrds = field("initrds");
    Planned {
        plan: Ok(Plan {
            config: field("config"),
            label: field("label"),
            kernel: field("kernel"),
            initrds: initrds.split_whitespace().map(str::to_owned).collect(),
            cmdline: field("cmdline"),
        }),
        stderr: out.stderr,
        stdout: out.stdout,
    }
}

/// Write `files` (path, content) under a fresh temporary directory.
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}
