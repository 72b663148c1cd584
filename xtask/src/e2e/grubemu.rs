//! GRUB 2 itself as the oracle for GRUB configs (issue 14): Debian's
//! `grub-emu` (GRUB built for user space) reads a config, on disk image
//! files named in a device.map when it needs them, and boots its default
//! entry after the timeout as GRUB does, with stand-in loaders: `linux`,
//! `initrd` & co. are GRUB script functions that print what they receive
//! (grub-emu has no such commands, so the functions are what runs; a
//! function cannot shadow a command grub-emu has, e.g. `ls`). So what
//! GRUB would boot (entry, `$chosen`, `$root`, kernel, arguments, initrds)
//! is measured, GRUB's own quirks included.
//!
//! How: a wrapper `grub.cfg` in a directory of symlinks to
//! /usr/lib/grub/x86_64-emu (the `-d` directory is grub-emu's prefix, whose
//! grub.cfg it runs) loads the modules a generated config needs, defines
//! the stand-ins, sets `$root` and `$prefix` as core.img would, `source`s
//! the config (as GRUB runs its grub.cfg: the top level, not a new context),
//! prints the `default` and `timeout` the config left, and sets `timeout=0`
//! so the menu boots the default entry at once. grub-emu runs on a
//! pseudo-terminal 4000 columns wide (on a pipe it writes nothing usable, on
//! a narrow terminal GRUB wraps long lines); its output is read until GRUB
//! gives up on the entries ("Failed to boot both default and fallback
//! entries"), its command line prompt (no entries), or the deadline; when
//! GRUB says "Press any key to continue" (an error in an entry, e.g. a
//! `search` that found nothing) a space is typed.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

// Standalone on purpose (no `crate::`): tests/grub_corpus.rs includes this
// file with #[path], as a cross-check of another GRUB parser can.

#[path = "grubemu/output.rs"]
mod output;
pub use output::{clean, parse};

pub const GRUB_EMU: &str = "/usr/bin/grub-emu";
pub const EMU_MODULES: &str = "/usr/lib/grub/x86_64-emu";

/// Loaders the wrapper stands in for: (command, what its arguments are).
const LOADERS: &[&str] = &[
    "linux",
    "linux16",
    "linuxefi",
    "chainloader",
    "multiboot",
    "multiboot2",
];
const INITRDS: &[&str] = &["initrd", "initrd16", "initrdefi", "module", "module2"];
/// Modules the wrapper loads first: a generated config's `insmod`s of them
/// then find them loaded whatever `$prefix` says.
const PRELOAD: &[&str] = &[
    "part_msdos",
    "part_gpt",
    "ext2",
    "fat",
    "iso9660",
    "search",
    "search_fs_uuid",
    "search_fs_file",
    "search_label",
    "loadenv",
    "test",
    "echo",
    "regexp",
    "configfile",
    "gzio",
    "normal",
    "sleep",
    "true",
    "all_video",
];

/// What to run GRUB on.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The config, as GRUB names it: `(hd0,msdos1)/boot/grub/grub.cfg`, or
    /// a host file as `(host)/abs/path`.
    pub config: String,
    /// Disk image files: `(hd0)`, `(hd1)`, ... in the device.map.
    pub disks: Vec<Utf8PathBuf>,
    /// `$root` and `$prefix` when the config starts, as core.img sets them
    /// (e.g. `hd0,msdos1`, `(hd0,msdos1)/boot/grub`); None: grub-emu's.
    pub root: Option<String>,
    pub prefix: Option<String>,
    /// Where the wrapper directory and the log go (created, emptied).
    pub work: Utf8PathBuf,
    /// Give up after this long (default 20 s).
    pub deadline: Option<Duration>,
    /// A GRUB legacy menu.lst (a host file) to run instead of `config`:
    /// GRUB's own `grub-menulst2cfg` translates it (the translation
    /// `legacy_configfile` runs), and its `legacy_kernel`/`legacy_initrd`
    /// are renamed to stand-ins (grub-emu has those commands, and a function
    /// cannot shadow a command).
    pub menu_lst: Option<Utf8PathBuf>,
}

/// One entry GRUB tried to boot (the default, then any fallback).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempt {
    /// From GRUB's "Booting `TITLE'" line.
    pub title: String,
    /// `$chosen`: the entry's id (or title) path, `sub>entry` in a submenu.
    pub chosen: String,
    /// `$root` when the loader ran.
    pub root: String,
    /// The loader command (`linux`, `linux16`, `chainloader`, ...).
    pub loader: String,
    /// Its first argument (the kernel) and the others (the command line).
    pub kernel: String,
    pub args: Vec<String>,
    /// Every initrd/module argument, in order.
    pub initrds: Vec<String>,
}

impl Attempt {
    pub fn cmdline(&self) -> String {
        self.args.join(" ")
    }
}

/// What grub-emu did with the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// `$default` and `$timeout` as the config left them.
    pub default: String,
    pub timeout: String,
    /// The entries GRUB tried, the default first.
    pub attempts: Vec<Attempt>,
    /// GRUB's `error: ...` lines.
    pub errors: Vec<String>,
    /// Every line of output, escape sequences removed.
    pub lines: Vec<String>,
    /// Why reading stopped: "failed to boot" (the entries ran), "prompt"
    /// (no entry), "deadline", "exited".
    pub ended: String,
}

impl Run {
    /// The entry GRUB boots by default (its first attempt).
    pub fn booted(&self) -> Option<&Attempt> {
        self.attempts.first()
    }
}

/// The wrapper config.
pub fn wrapper(req: &Request, preload: &[&str]) -> String {
    let mut w = String::from("# gen-kexec's grub-emu oracle (xtask/src/e2e/grubemu.rs)\n");
    for m in preload {
        w += &format!("insmod {m}\n");
    }
    for l in LOADERS {
        w += &format!(
            "function {l} {{\n  echo \"GK-LOADER: [{l}]\"\n  echo \"GK-CHOSEN: [$chosen]\"\n  \
             echo \"GK-ROOT: [$root]\"\n  for a in \"$@\"; do echo \"GK-ARG: [$a]\"; done\n}}\n"
        );
    }
    for i in INITRDS {
        w +=
            &format!("function {i} {{\n  for a in \"$@\"; do echo \"GK-INITRD: [$a]\"; done\n}}\n");
    }
    // grub-menulst2cfg writes `legacy_kernel FILE NAME ARGS...`: NAME
    // becomes the command line's BOOT_IMAGE=, ARGS the rest.
    w += "function gk_legacy_kernel {\n  echo \"GK-LOADER: [legacy_kernel]\"\n  \
          echo \"GK-CHOSEN: [$chosen]\"\n  echo \"GK-ROOT: [$root]\"\n  \
          if [ \"$1\" = --no-mem-option ]; then shift; fi\n  \
          if regexp '^--type=' \"$1\"; then shift; fi\n  \
          echo \"GK-ARG: [$1]\"\n  shift\n  shift\n  \
          for a in \"$@\"; do echo \"GK-ARG: [$a]\"; done\n}\n\
          function gk_legacy_initrd {\n  echo \"GK-INITRD: [$1]\"\n}\n";
    if let Some(r) = &req.root {
        w += &format!("set root='{r}'\n");
    }
    if let Some(p) = &req.prefix {
        w += &format!("set prefix='{p}'\n");
    }
    let dir = req.config.rsplit_once('/').map_or("", |(d, _)| d);
    w += &format!(
        "set config_file='{}'\nset config_directory='{dir}'\nexport config_file\nexport config_directory\n",
        req.config
    );
    w += &format!("source '{}'\n", req.config);
    w += "echo \"GK-DEFAULT: [$default]\"\necho \"GK-TIMEOUT: [$timeout]\"\nset timeout=0\n";
    w
}

/// Runs grub-emu on `req` and parses what it printed.
pub fn run(req: &Request) -> Result<Run> {
    if !Utf8Path::new(GRUB_EMU).is_file() {
        bail!("{GRUB_EMU} is missing: install grub-emu (cargo xtask host-deps --test)");
    }
    let work = &req.work;
    if work.exists() {
        std::fs::remove_dir_all(work).with_context(|| format!("cannot remove {work}"))?;
    }
    let dir = work.join("prefix");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
    let mut have = Vec::new();
    for e in Utf8Path::new(EMU_MODULES)
        .read_dir_utf8()
        .with_context(|| format!("cannot list {EMU_MODULES}"))?
    {
        let e = e?;
        std::os::unix::fs::symlink(e.path(), dir.join(e.file_name()))
            .with_context(|| format!("cannot link {} into {dir}", e.path()))?;
        have.push(e.file_name().to_owned());
    }
    let preload: Vec<&str> = (PRELOAD.iter().copied())
        .filter(|m| have.iter().any(|h| *h == format!("{m}.mod")))
        .collect();
    let mut req = req.clone();
    if let Some(lst) = &req.menu_lst {
        let cfg = work.join("menu.lst.cfg");
        from_menu_lst(lst, &cfg)?;
        req.config = format!("(host){cfg}");
    }
    let req = &req;
    write(&dir.join("grub.cfg"), wrapper(req, &preload).as_bytes())?;
    let map = work.join("device.map");
    let mut text = String::new();
    for (i, d) in req.disks.iter().enumerate() {
        let abs = d
            .canonicalize_utf8()
            .with_context(|| format!("no disk image {d}"))?;
        text += &format!("(hd{i}) {abs}\n");
    }
    write(&map, text.as_bytes())?;

    let (master, slave) = pty(100, 4000)?;
    let mut child = Command::new(GRUB_EMU)
        .args(["-d", dir.as_str(), "-m", map.as_str()])
        .env("TERM", "vt100")
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave))
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {GRUB_EMU}"))?;
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let mut keyboard = std::fs::File::from(master.try_clone()?);
    let mut reader = std::fs::File::from(master);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + req.deadline.unwrap_or(Duration::from_secs(20));
    let mut out = Vec::new();
    let mut pressed = 0;
    let ended = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break "deadline";
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(b) => out.extend_from_slice(&b),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break "exited",
        }
        let text = String::from_utf8_lossy(&out);
        if text.contains("Failed to boot both default and fallback entries") {
            break "failed to boot";
        }
        if text.contains("GK-TIMEOUT") && clean(&text).contains("grub> ") {
            break "prompt";
        }
        // An error inside an entry: GRUB waits (10 s) for a key.
        let waits = text.matches("Press any key to continue").count();
        if waits > pressed {
            pressed = waits;
            let _ = std::io::Write::write_all(&mut keyboard, b" ");
        }
        if let Ok(Some(_)) = child.try_wait() {
            break "exited";
        }
    };
    // SAFETY: kill(2) on the process group grub-emu leads; no memory involved.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
    write(&work.join("grub-emu.log"), &out)?;
    let text = String::from_utf8_lossy(&out);
    let run = parse(&text, ended);
    if !text.contains("GK-TIMEOUT") {
        bail!(
            "grub-emu never finished the wrapper config ({ended}); its output is in {}",
            work.join("grub-emu.log")
        );
    }
    Ok(run)
}

/// `grub-menulst2cfg MENU_LST OUT`, with the legacy loaders renamed to
/// the wrapper's stand-ins.
pub fn from_menu_lst(menu_lst: &Utf8Path, out: &Utf8Path) -> Result<()> {
    let raw = out.with_extension("raw");
    let status = Command::new("grub-menulst2cfg")
        .args([menu_lst.as_str(), raw.as_str()])
        .status()
        .context("cannot run grub-menulst2cfg (grub-common)")?;
    if !status.success() {
        bail!("grub-menulst2cfg {menu_lst}: {status}");
    }
    let text = std::fs::read_to_string(&raw).with_context(|| format!("cannot read {raw}"))?;
    write(out, rename_legacy_loaders(&text).as_bytes())
}

/// `legacy_kernel`, `legacy_initrd` and `legacy_initrd_nounzip` as the
/// first word of a line become `gk_legacy_kernel`, `gk_legacy_initrd`.
pub fn rename_legacy_loaders(cfg: &str) -> String {
    let mut out = String::with_capacity(cfg.len() + 64);
    for line in cfg.split_inclusive('\n') {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let word = body.split(|c: char| c.is_whitespace()).next().unwrap_or("");
        let rest = &body[word.len()..];
        match word {
            "legacy_kernel" => out += &format!("{indent}gk_legacy_kernel{rest}"),
            "legacy_initrd" | "legacy_initrd_nounzip" => {
                out += &format!("{indent}gk_legacy_initrd{rest}")
            }
            _ => out += line,
        }
    }
    out
}

/// A pseudo-terminal of `rows` x `cols`: (master, slave).
fn pty(rows: u16, cols: u16) -> Result<(OwnedFd, OwnedFd)> {
    let (mut m, mut s) = (-1, -1);
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into m and s; the name and
    // termios pointers may be null; winsize is read only.
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if r != 0 {
        bail!("openpty: {}", std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned here only.
    Ok(unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) })
}

/// Writes a file (its directory made first).
fn write(path: &Utf8Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {path}"))
}
