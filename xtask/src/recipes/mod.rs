//! Recipes: one small module per component, all on one stage pipeline.
//!
//! A component is one entry of `sources.lock` plus one recipe here. Every
//! recipe is a pure function from (workspace paths, lock entry, [`Target`])
//! to [`Step`]s; [`plan::execute`](crate::plan::execute) runs them behind
//! stamps. The shared part lives in this module:
//!
//! - [`source_steps`]: fetch (verify the pinned tarball) and extract it,
//!   once, into `build/src/<component>`. Source trees do not depend on the
//!   architecture, so every target (and every recipe: the kernel and the
//!   UAPI headers both use `linux`) shares one extracted, stamped copy, and
//!   recipes build out of tree so that copy stays pristine.
//! - [`Target`] and [`Dirs`]: per-target `build/<target>/{obj,sysroot,out}`.
//! - [`target_cflags`]: deterministic C flags (`-ffile-prefix-map`).
//! - [`install_file`] and [`refuse_host_paths`]: atomic installs of outputs
//!   that contain no path of the machine that built them.
//! - [`merge_plans`]: concatenates plans that share source steps.

pub mod busybox;
pub mod busybox_config;
pub mod kexec_tools;
pub mod linux;
pub mod linux_headers;
pub mod musl;

use std::collections::BTreeSet;
use std::fmt;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::fsutil;
use crate::plan::{Stage, Step};
use crate::stamp::Input;
use crate::ws::Ws;

/// The architecture the bootloader is built for. Only the host architecture
/// is wired up today; the methods are what a recipe needs to know, so adding
/// `Aarch64` means filling in these `match`es (and installing a cross gcc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Target {
    #[value(name = "x86_64")]
    X86_64,
}

impl Target {
    /// Name in paths, stamps and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::X86_64 => "x86_64",
        }
    }

    /// Linux's `ARCH=` for this target.
    pub fn linux_arch(self) -> &'static str {
        match self {
            Target::X86_64 => "x86",
        }
    }

    /// GNU triplet of the musl userland (autoconf's `--host`).
    pub fn musl_triplet(self) -> &'static str {
        match self {
            Target::X86_64 => "x86_64-linux-musl",
        }
    }

    /// Prefix of the binutils/gcc that produce code for this target: empty
    /// for the host's own tools (x86_64), `aarch64-linux-gnu-` for a cross
    /// gcc later. musl is built with `{prefix}gcc`, and its `musl-gcc`
    /// wrapper then drives that same compiler.
    pub fn tool_prefix(self) -> &'static str {
        match self {
            Target::X86_64 => "",
        }
    }

    /// A tool for this target: `gcc`, `strip`, ...
    pub fn tool(self, name: &str) -> String {
        format!("{}{name}", self.tool_prefix())
    }

    /// The plan component of a per-target step: `busybox-x86_64`. Stamps and
    /// logs are named after it, so two targets never share a stamp.
    pub fn component(self, name: &str) -> String {
        format!("{name}-{}", self.name())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where one target's builds go: `build/<target>/...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// Object directories, one per component: `obj/<component>`.
    pub obj: Utf8PathBuf,
    /// musl + Linux UAPI headers: what target programs compile against.
    pub sysroot: Utf8PathBuf,
    /// Finished, stripped binaries and images.
    pub out: Utf8PathBuf,
}

impl Dirs {
    pub fn new(ws: &Ws, target: Target) -> Dirs {
        let base = ws.build.join(target.name());
        Dirs {
            obj: base.join("obj"),
            sysroot: base.join("sysroot"),
            out: base.join("out"),
        }
    }

    /// The object directory of one component.
    pub fn obj_of(&self, component: &str) -> Utf8PathBuf {
        self.obj.join(component)
    }

    /// The C compiler that targets the musl sysroot (installed by musl).
    pub fn musl_gcc(&self) -> Utf8PathBuf {
        self.sysroot.join("bin/musl-gcc")
    }
}

/// The extracted source tree of a component (shared by all targets).
pub fn src_dir(ws: &Ws, component: &str) -> Utf8PathBuf {
    ws.build.join("src").join(component)
}

/// Fetch + Extract steps of a component, as plan components named after it
/// (`linux fetch`, `linux extract`), so that every plan using the same
/// source shares the same stamps and the tree is extracted once.
///
/// Fetch's key is the lock entry's pins (file names, sha256s, signers):
/// changing a pin re-verifies and re-extracts. Extract asks
/// [`crate::fetch::ensure`] for the verified tarball (quick when cached)
/// and unpacks it with [`crate::extract::unpack`] into [`src_dir`], which
/// hashes the bytes it unpacks: a tarball changed since it was verified is
/// refused, whatever the quick check of `ensure` said.
pub fn source_steps(ws: &Ws, component: &str) -> Result<Vec<Step>> {
    let entry = ws.lock()?.get(component)?;
    let fetch = fetch_step(ws, component, "tarball")?;
    let name = component.to_owned();
    let dest = src_dir(ws, component);
    let patches = crate::extract::patch::of(&ws.root, component)?;
    let mut extract = Step::new(component, Stage::Extract);
    for patch in &patches {
        extract = extract.input(Input::File(patch.clone()));
    }
    let applying = match patches.len() {
        0 => String::new(),
        1 => format!(", applying {}", patches[0]),
        n => format!(
            ", applying the {n} patches in {}",
            patches[0].parent().unwrap_or(&ws.root)
        ),
    };
    let extract = extract
        .native(
            format!("unpack {component} {} into {dest}{applying}", entry.version),
            {
                let dest = dest.clone();
                move |ws| {
                    let tarball = crate::fetch::ensure(ws, &name)?;
                    crate::extract::unpack(&tarball.path, &tarball.sha256, &dest, &patches)
                }
            },
        )
        .output(dest);
    Ok(vec![fetch, extract])
}

/// The Fetch step of a component alone (`NAME fetch`), keyed by the lock
/// entry's pins: for a file used as is, such as the ISO a kernel
/// configuration base comes from, and as the first of [`source_steps`].
/// `what` the file is ("tarball") goes into the step's description.
pub fn fetch_step(ws: &Ws, component: &str, what: &str) -> Result<Step> {
    let entry = ws.lock()?.get(component)?;
    let mut fetch = Step::new(component, Stage::Fetch).value("version", &entry.version);
    for (i, s) in entry.source.iter().enumerate() {
        let mut pin = format!("{} sha256={}", s.file, s.sha256.as_deref().unwrap_or("-"));
        if let Some(sig) = &s.signature {
            pin.push_str(&format!(" signed-by={}", sig.signers.join(",")));
        }
        fetch = fetch.value(&format!("source{i}"), pin);
    }
    let name = component.to_owned();
    Ok(fetch.native(
        format!("verify the pinned {component} {} {what}", entry.version),
        move |ws| crate::fetch::ensure(ws, &name).map(|_| ()),
    ))
}

/// Concatenate plans, keeping only the first of steps with the same id (the
/// `linux fetch`/`linux extract` steps that both the kernel and the UAPI
/// headers bring). Their keys then chain once, as they would alone.
pub fn merge_plans(plans: impl IntoIterator<Item = Vec<Step>>) -> Vec<Step> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for plan in plans {
        for step in plan {
            if seen.insert(step.id()) {
                out.push(step);
            }
        }
    }
    out
}

/// C flags that make target objects independent of where the build runs:
/// every path below the build directory (sources, objects, the sysroot)
/// is recorded as `./...` in debug info, `__FILE__` and assertions.
pub fn target_cflags(ws: &Ws, optimize: &str) -> String {
    let map = format!("-ffile-prefix-map={}=.", ws.build);
    if optimize.is_empty() {
        map
    } else {
        format!("{optimize} {map}")
    }
}

/// Fail when `bytes` (a finished binary) contain a path of this machine:
/// such a path means the output depends on where it was built.
pub fn refuse_host_paths(ws: &Ws, what: &str, bytes: &[u8]) -> Result<()> {
    let mut paths = vec![ws.build.as_str(), ws.root.as_str()];
    paths.retain(|p| p.len() > 1);
    for p in paths {
        if bytes.windows(p.len()).any(|w| w == p.as_bytes()) {
            bail!(
                "{what} contains the host path {p}: the build is not \
                 reproducible (a -ffile-prefix-map is missing)"
            );
        }
    }
    Ok(())
}

/// Copy a finished file to `to` with `mode`, atomically (`to.partial`, then
/// rename), after checking it carries no host path.
pub fn install_file(ws: &Ws, from: &Utf8Path, to: &Utf8Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {from}"))?;
    refuse_host_paths(ws, from.as_str(), &bytes)?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    }
    let tmp = fsutil::partial_path(to);
    let result = (|| -> Result<()> {
        std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {tmp}"))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot chmod {tmp}"))?;
        fsutil::rename(&tmp, to)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Remove and recreate an empty directory (a clean object directory).
pub fn fresh_dir(dir: &Utf8Path) -> Result<()> {
    fsutil::remove_dir_all_if_exists(dir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))
}

#[cfg(test)]
pub(crate) mod testutil {
    use crate::ws::{Common, Ws};

    /// A workspace on the repository's own sources.lock, with its build
    /// directory somewhere that does not exist (plans never touch it).
    pub fn ws() -> Ws {
        let common = Common {
            build_dir: Some("/nonexistent/gen-kexec-test/build".into()),
            ..Common::default()
        };
        Ws::new(&common).expect("workspace")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::describe;

    #[test]
    fn per_target_layout() {
        let ws = testutil::ws();
        let d = Dirs::new(&ws, Target::X86_64);
        assert_eq!(d.obj, "/nonexistent/gen-kexec-test/build/x86_64/obj");
        assert_eq!(
            d.sysroot,
            "/nonexistent/gen-kexec-test/build/x86_64/sysroot"
        );
        assert_eq!(d.out, "/nonexistent/gen-kexec-test/build/x86_64/out");
        assert_eq!(
            d.musl_gcc(),
            "/nonexistent/gen-kexec-test/build/x86_64/sysroot/bin/musl-gcc"
        );
        assert_eq!(
            src_dir(&ws, "linux"),
            "/nonexistent/gen-kexec-test/build/src/linux"
        );
        assert_eq!(Target::X86_64.component("busybox"), "busybox-x86_64");
        assert_eq!(Target::X86_64.linux_arch(), "x86");
    }

    #[test]
    fn source_steps_pin_the_lock_entry_and_extract_once() {
        let ws = testutil::ws();
        let steps = source_steps(&ws, "busybox").unwrap();
        let ids: Vec<String> = steps.iter().map(Step::id).collect();
        assert_eq!(ids, ["busybox.fetch", "busybox.extract"]);
        let text = describe(&steps);
        assert!(text.contains(
            "busybox-1.37.0.tar.bz2 sha256=3311dff32e746499f4df0d5df04d7eb396382d7e108bb9250e7b519b837043a4"
        ));
        assert!(text.contains("signed-by=C9E9416F76E610DBD09D040F47B70C55ACC9965B"));
        assert!(text.contains("output /nonexistent/gen-kexec-test/build/src/busybox"));
        let err = source_steps(&ws, "no-such-thing").err().unwrap();
        assert!(format!("{err:#}").contains("no component `no-such-thing`"));
    }

    #[test]
    fn merged_plans_keep_shared_source_steps_once() {
        let ws = testutil::ws();
        let a = source_steps(&ws, "linux").unwrap();
        let mut b = source_steps(&ws, "linux").unwrap();
        b.push(Step::new("linux-headers-x86_64", Stage::Install).dep("linux"));
        let ids: Vec<String> = merge_plans([a, b]).iter().map(Step::id).collect();
        assert_eq!(
            ids,
            [
                "linux.fetch",
                "linux.extract",
                "linux-headers-x86_64.install"
            ]
        );
    }

    #[test]
    fn cflags_map_the_build_dir_away() {
        let ws = testutil::ws();
        assert_eq!(
            target_cflags(&ws, "-Os"),
            "-Os -ffile-prefix-map=/nonexistent/gen-kexec-test/build=."
        );
        assert_eq!(
            target_cflags(&ws, ""),
            "-ffile-prefix-map=/nonexistent/gen-kexec-test/build=."
        );
    }

    #[test]
    fn host_paths_in_outputs_are_refused() {
        let ws = testutil::ws();
        let leaky = b"\x7fELF...assert failed at /nonexistent/gen-kexec-test/build/src/x.c";
        let err = refuse_host_paths(&ws, "busybox", leaky).unwrap_err();
        assert!(err.to_string().contains("busybox contains the host path"));
        refuse_host_paths(&ws, "busybox", b"\x7fELF... ./src/x.c").unwrap();
    }
}
