//! Linux UAPI headers (`<linux/...>`, `<asm/...>`) into the target's sysroot.
//!
//! They come from the pinned kernel source, the very tree the kernel recipe
//! builds (one shared `linux` extract), with `make headers_install` run out
//! of tree (`O=`) so that tree stays clean. busybox (mount, blkid, mdev) and
//! kexec-tools include them; they must match the kernel we ship, which is
//! also why busybox's CONFIG_TC stays off (it does not build against 6.x).

use anyhow::Result;

use super::{fresh_dir, musl, src_dir, Dirs, Target};
use crate::plan::{Command, Stage, Step};
use crate::ws::Ws;

/// The `sources.lock` entry the headers come from.
pub const SOURCE: &str = "linux";
/// Plan component name (per target): `linux-headers-x86_64`.
pub const NAME: &str = "linux-headers";

/// One Install step; runs again when the kernel source or musl changes
/// (musl's install empties the sysroot first).
pub fn steps(ws: &Ws, target: Target) -> Result<Vec<Step>> {
    let dirs = Dirs::new(ws, target);
    let obj = dirs.obj_of(NAME);
    let install = Step::new(&target.component(NAME), Stage::Install)
        .dep(SOURCE)
        .dep(&target.component(musl::SOURCE))
        .native(format!("empty {obj}"), {
            let obj = obj.clone();
            move |_| fresh_dir(&obj)
        })
        .run(
            Command::new("make", &src_dir(ws, SOURCE))
                .arg(format!("O={obj}"))
                .arg(format!("ARCH={}", target.linux_arch()))
                .arg(format!("INSTALL_HDR_PATH={}", dirs.sysroot))
                .arg(format!("-j{}", ws.jobs()))
                .arg("headers_install"),
        )
        .output(dirs.sysroot.join("include/linux/version.h"));
    Ok(vec![install])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::describe;
    use crate::recipes::testutil;

    #[test]
    fn headers_from_the_shared_linux_tree_into_the_sysroot() {
        let ws = testutil::ws();
        let text = describe(&steps(&ws, Target::X86_64).unwrap());
        let b = "/nonexistent/gen-kexec-test/build";
        assert!(text.starts_with("linux-headers-x86_64 install\n"), "{text}");
        assert!(
            text.contains(&format!(
                "(cd {b}/src/linux && make O={b}/x86_64/obj/linux-headers ARCH=x86 \
             INSTALL_HDR_PATH={b}/x86_64/sysroot"
            )),
            "{text}"
        );
        assert!(text.contains("after  linux\n") && text.contains("after  musl-x86_64\n"));
    }
}
