//! musl libc, static only, into the target's sysroot.
//!
//! Built with the target's gcc (the host gcc for x86_64), out of tree; its
//! `make install` also installs `bin/musl-gcc`, a wrapper around that same
//! gcc with a specs file pointing at the sysroot. busybox and kexec-tools are
//! compiled with that wrapper only: no host musl-tools, no host libc.

use anyhow::Result;

use super::{fresh_dir, src_dir, target_cflags, Dirs, Target};
use crate::fsutil;
use crate::plan::{Command, Stage, Step};
use crate::stamp::Input;
use crate::ws::Ws;

/// The `sources.lock` entry.
pub const SOURCE: &str = "musl";

/// The musl steps after its source steps; the last one is the plan
/// component [`Target::component`]`("musl")`.
pub fn steps(ws: &Ws, target: Target) -> Result<Vec<Step>> {
    let dirs = Dirs::new(ws, target);
    let component = target.component(SOURCE);
    let src = src_dir(ws, SOURCE);
    let obj = dirs.obj_of(SOURCE);
    let sysroot = dirs.sysroot.clone();
    let gcc = target.tool("gcc");

    let mut configure = Command::new(src.join("configure").into_string(), &obj)
        .arg(format!("--prefix={sysroot}"))
        // Static only: the initramfs has no dynamic loader.
        .arg("--disable-shared")
        // musl's previous allocator: busybox awk (the boot-time GRUB
        // parser) runs 20-25 % faster with it than with mallocng, whose
        // hardening guards nothing here (the image that feeds the parser
        // chooses the kernel gen-kexec boots anyway).
        .arg("--with-malloc=oldmalloc")
        .arg(format!("CC={gcc}"))
        // musl picks its own optimisation per file (-O2 for string/malloc,
        // -Os elsewhere); we only add the path mapping.
        .arg(format!("CFLAGS={}", target_cflags(ws, "")));
    if !target.tool_prefix().is_empty() {
        configure = configure.arg(format!("CROSS_COMPILE={}", target.tool_prefix()));
    }
    let configure = Step::new(&component, Stage::Configure)
        .dep(SOURCE)
        .input(Input::Tool(gcc))
        .native(format!("empty {obj}"), {
            let obj = obj.clone();
            move |_| fresh_dir(&obj)
        })
        .run(configure)
        .output(obj.join("config.mak"));

    let build = Step::new(&component, Stage::Build)
        .run(Command::new("make", &obj).arg(format!("-j{}", ws.jobs())))
        .output(obj.join("lib/libc.a"));

    let install = Step::new(&component, Stage::Install)
        .native(format!("empty {sysroot}"), {
            let sysroot = sysroot.clone();
            move |_| fsutil::remove_dir_all_if_exists(&sysroot)
        })
        .run(Command::new("make", &obj).arg("install"))
        .output(sysroot.join("lib/libc.a"))
        .output(dirs.musl_gcc());

    Ok(vec![configure, build, install])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::describe;
    use crate::recipes::testutil;

    #[test]
    fn static_musl_into_the_sysroot_with_the_host_gcc() {
        let ws = testutil::ws();
        let steps = steps(&ws, Target::X86_64).unwrap();
        let ids: Vec<String> = steps.iter().map(Step::id).collect();
        assert_eq!(
            ids,
            [
                "musl-x86_64.configure",
                "musl-x86_64.build",
                "musl-x86_64.install"
            ]
        );
        let text = describe(&steps);
        let b = "/nonexistent/gen-kexec-test/build";
        assert!(
            text.contains(&format!(
                "(cd {b}/x86_64/obj/musl && {b}/src/musl/configure --prefix={b}/x86_64/sysroot \
             --disable-shared --with-malloc=oldmalloc CC=gcc CFLAGS=-ffile-prefix-map={b}=.)"
            )),
            "{text}"
        );
        assert!(
            text.contains("input  tool gcc"),
            "a new compiler must rebuild musl"
        );
        assert!(
            text.contains("after  musl"),
            "musl's source key must chain in"
        );
        assert!(text.contains(&format!("output {b}/x86_64/sysroot/bin/musl-gcc")));
    }
}
