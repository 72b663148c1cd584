//! kexec-tools: the `kexec` binary, static against the musl sysroot.
//!
//! Decisions, made explicit in the configure flags:
//! - `--without-zlib --without-lzma`: kexec-tools uses them only to read
//!   gzip/xz-compressed ELF kernels (vmlinux.gz, some vmlinuz on other
//!   architectures). gen-kexec loads x86 bzImages (`--type=bzImage64`),
//!   which decompress themselves. Under musl-gcc the sysroot has no zlib or
//!   liblzma, and configure would silently drop them anyway; saying so keeps
//!   the result the same on a host that happens to have them.
//! - `--without-xen`: no Xen dom0 support (no libxenctrl in the sysroot).
//! - `--build=<host>-pc-linux-gnu --host=<target>-linux-musl`: a cross
//!   build, so configure compiles its helper `bin-to-hex` (run during the
//!   build) with the host's gcc (`BUILD_CC`), and what ships with musl-gcc.
//!   With `build == host`, bin-to-hex would be a dynamic musl program that
//!   cannot run here (no musl loader on the host).
//!
//! Built in a copy of the source tree: the release tarball ships a stale
//! `include/config.h` (with `HAVE_LIBZ 1`) that an out-of-tree build would
//! include before the one configure writes.

use anyhow::{bail, Context, Result};
use camino::Utf8PathBuf;

use super::{fresh_dir, install_file, linux_headers, src_dir, target_cflags, Dirs, Target};
use crate::plan::{Command, Stage, Step};
use crate::stamp::Input;
use crate::ws::Ws;

/// The `sources.lock` entry.
pub const SOURCE: &str = "kexec-tools";

/// `configure` arguments for `target`: the whole build decision.
pub fn configure_args(ws: &Ws, target: Target) -> Vec<String> {
    let dirs = Dirs::new(ws, target);
    vec![
        // Explicit: config.guess would ask musl-gcc and answer "musl" too.
        format!("--build={}-pc-linux-gnu", std::env::consts::ARCH),
        format!("--host={}", target.musl_triplet()),
        "--without-zlib".to_owned(),
        "--without-lzma".to_owned(),
        "--without-xen".to_owned(),
        format!("CC={}", dirs.musl_gcc()),
        "BUILD_CC=gcc".to_owned(),
        format!("CFLAGS={}", target_cflags(ws, "-Os")),
        "LDFLAGS=-static".to_owned(),
    ]
}

pub fn steps(ws: &Ws, target: Target) -> Result<Vec<Step>> {
    let dirs = Dirs::new(ws, target);
    let component = target.component(SOURCE);
    let src = src_dir(ws, SOURCE);
    let obj = dirs.obj_of(SOURCE);

    let configure = Step::new(&component, Stage::Configure)
        .dep(SOURCE)
        .dep(&target.component(linux_headers::NAME))
        .input(Input::Tool(target.tool("gcc")))
        .native(format!("empty {obj}"), {
            let obj = obj.clone();
            move |_| fresh_dir(&obj)
        })
        // `-a` keeps mtimes: configure must stay newer than configure.ac.
        .run(Command::new("cp", &obj).args(["-a", &format!("{src}/."), "."]))
        .run(
            Command::new(obj.join("configure").into_string(), &obj)
                .args(configure_args(ws, target)),
        )
        .native("check that include/config.h has no zlib/lzma/xen", {
            let config_h = obj.join("include/config.h");
            move |_| check_config_h(&config_h)
        })
        .output(obj.join("Makefile"));

    let unstripped = obj.join("build/sbin/kexec");
    let build = Step::new(&component, Stage::Build)
        .run(
            Command::new("make", &obj)
                .arg(format!("-j{}", ws.jobs()))
                .arg("build/sbin/kexec"),
        )
        .output(unstripped.clone());

    let stripped = obj.join("kexec.stripped");
    let out = binary(ws, target);
    let install = Step::new(&component, Stage::Install)
        .run(
            Command::new(target.tool("strip"), &obj)
                .args(["-s", "-R", ".comment", "-R", ".note", "-o"])
                .arg(stripped.as_str())
                .arg(unstripped.as_str()),
        )
        .native(format!("install {stripped} as {out}"), {
            let (from, to) = (stripped.clone(), out.clone());
            move |ws| install_file(ws, &from, &to, 0o755)
        })
        .output(out);

    Ok(vec![configure, build, install])
}

/// Where the finished binary goes.
pub fn binary(ws: &Ws, target: Target) -> Utf8PathBuf {
    Dirs::new(ws, target).out.join("kexec")
}

/// configure's verdict must match the flags: no optional library crept in.
fn check_config_h(path: &camino::Utf8Path) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    let enabled: Vec<&str> = ["HAVE_LIBZ", "HAVE_LIBLZMA", "HAVE_LIBXENCTRL"]
        .into_iter()
        .filter(|m| {
            text.lines()
                .any(|l| l.starts_with(&format!("#define {m} ")))
        })
        .collect();
    if !enabled.is_empty() {
        bail!(
            "{path} defines {}: configure ignored --without-zlib/--without-lzma/--without-xen",
            enabled.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::describe;
    use crate::recipes::testutil;

    const B: &str = "/nonexistent/gen-kexec-test/build";

    #[test]
    fn static_kexec_without_zlib_or_lzma_against_the_sysroot() {
        let ws = testutil::ws();
        let args = configure_args(&ws, Target::X86_64);
        for want in [
            "--build=x86_64-pc-linux-gnu",
            "--host=x86_64-linux-musl",
            "--without-zlib",
            "--without-lzma",
            "--without-xen",
            "LDFLAGS=-static",
            "BUILD_CC=gcc",
            &format!("CC={B}/x86_64/sysroot/bin/musl-gcc"),
            &format!("CFLAGS=-Os -ffile-prefix-map={B}=."),
        ] {
            assert!(args.iter().any(|a| a == want), "missing {want} in {args:?}");
        }
        assert!(!args
            .iter()
            .any(|a| a.starts_with("--with-zlib") || a == "--with-lzma"));
        let text = describe(&steps(&ws, Target::X86_64).unwrap());
        assert!(text.contains(&format!(
            "(cd {B}/x86_64/obj/kexec-tools && cp -a {B}/src/kexec-tools/. .)"
        )));
        assert!(
            text.contains(&format!(
            "(cd {B}/x86_64/obj/kexec-tools && strip -s -R .comment -R .note -o \
             {B}/x86_64/obj/kexec-tools/kexec.stripped {B}/x86_64/obj/kexec-tools/build/sbin/kexec)"
        )),
            "{text}"
        );
        assert!(text.contains("after  linux-headers-x86_64"));
        assert!(text.contains(&format!("output {B}/x86_64/out/kexec")));
    }

    #[test]
    fn config_h_with_zlib_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().join("config.h")).unwrap();
        std::fs::write(&path, "/* #undef HAVE_LIBLZMA */\n/* #undef HAVE_LIBZ */\n").unwrap();
        check_config_h(&path).unwrap();
        std::fs::write(&path, "/* #undef HAVE_LIBLZMA */\n#define HAVE_LIBZ 1\n").unwrap();
        let err = check_config_h(&path).unwrap_err().to_string();
        assert!(err.contains("defines HAVE_LIBZ"), "{err}");
    }
}
