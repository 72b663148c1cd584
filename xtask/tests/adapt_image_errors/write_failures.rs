//! adapt-image on a destination that fills up half-way: the error says which
//! write failed and what to do, and nothing is left behind.

use std::os::unix::process::CommandExt;

use super::adapt_image_harness::*;
use super::listing;

/// A file size limit (RLIMIT_FSIZE, `ulimit -f`) on the child: its writes
/// fail with EFBIG, as on a filesystem that cannot hold so large a file
/// (FAT32: 4 GiB). The limits stop the copy and then the growing of the
/// output.
#[test]
fn a_file_size_limit_leaves_nothing_behind() {
    let dir = workdir();
    let d = dir.path();
    let (iso, tarball) = (hybrid_iso(d), good_tarball(d));
    for (limit, stage) in [(512 * 1024u64, "cannot copy"), (8 << 20, "cannot grow")] {
        let before = listing(d);
        let mut cmd = xtask();
        cmd.arg("adapt-image")
            .arg(&iso)
            .arg("-o")
            .arg(d.join("out.img"))
            .arg("--tarball")
            .arg(&tarball);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let res = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&res.stderr);
        eprintln!("--- file size limit {limit}\n{err}");
        assert!(
            !res.status.success(),
            "succeeded with a {limit}-byte file size limit"
        );
        assert!(
            err.contains("out.img cannot grow to 18 MiB")
                && err.contains("choose another -o")
                && err.contains(stage),
            "{err}"
        );
        assert_eq!(listing(d), before, "files left behind");
    }
}

/// A really full filesystem: a small tmpfs mounted in a private mount
/// namespace (as root), or in a user and mount namespace (as another
/// user), so nothing outside the test sees it and no root is needed where
/// the kernel allows unprivileged user namespaces. One size stops the copy,
/// a larger one the writing of bootx64.efi into the new FAT filesystem.
#[test]
fn a_full_filesystem_leaves_nothing_behind() {
    const SCRIPT: &str = r#"
        mount -t tmpfs -o size="$1",mode=0777 gen-kexec-test "$2" || exit 100
        dir=$2; shift 2
        "$@"; rc=$?
        echo "left in the full filesystem: [$(ls -A "$dir")]"
        exit $rc
    "#;
    let unshare = need("unshare", "util-linux");
    let dir = workdir();
    let d = dir.path();
    let (iso, tarball) = (hybrid_iso(d), good_tarball(d));
    let small = d.join("small");
    std::fs::create_dir(&small).unwrap();
    for (size, stage) in [
        ("512k", "cannot copy"),
        ("2m", "cannot write /EFI/Boot/bootx64.efi on the ESP"),
    ] {
        let mut cmd = std::process::Command::new(&unshare);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            cmd.args(["--user", "--map-root-user"]);
        }
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            SCRIPT,
            "sh",
        ])
        .arg(size)
        .arg(&small)
        .arg(xtask_bin())
        .arg("adapt-image")
        .arg(&iso)
        .arg("-o")
        .arg(small.join("out.img"))
        .arg("--tarball")
        .arg(&tarball)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("GEN_KEXEC_MIRROR")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
        let res = cmd.output().unwrap();
        let (out, err) = (
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr),
        );
        assert!(
            res.status.code() != Some(100) && !err.starts_with("unshare:"),
            "cannot mount a small tmpfs in a private mount namespace ({err}): this test needs root \
             with CAP_SYS_ADMIN (in Docker: --cap-add=SYS_ADMIN --security-opt apparmor=unconfined), \
             or unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, \
             kernel.apparmor_restrict_unprivileged_userns=0)"
        );
        eprintln!("--- tmpfs of {size}\n{err}");
        assert!(!res.status.success(), "succeeded on a {size} tmpfs");
        assert!(
            err.contains("no space left for")
                && err.contains("out.img")
                && err.contains("free some space or choose another -o")
                && err.contains(stage)
                && err.contains("No space left on device (os error 28)"),
            "{err}"
        );
        assert!(
            out.contains("left in the full filesystem: []"),
            "files left behind: {out}"
        );
        assert!(listing(&small).is_empty());
    }
}
