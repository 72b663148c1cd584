//! Merge and verification on a small made-up kernel tree (no toolchain).

use super::*;

struct Tree {
    _dir: tempfile::TempDir,
    src: Utf8PathBuf,
    obj: Utf8PathBuf,
    frag: Utf8PathBuf,
}

fn tree(fragment: &str, resolved: &str) -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    let (src, obj) = (root.join("src"), root.join("obj"));
    std::fs::create_dir_all(src.join("fs")).unwrap();
    std::fs::create_dir_all(src.join("arch/arm")).unwrap();
    std::fs::create_dir_all(&obj).unwrap();
    std::fs::write(
        src.join("fs/Kconfig"),
        "config SHMEM\n\tbool\nconfig TMPFS\n\tbool \"tmpfs\"\n\tdepends on SHMEM\n\tselect MEMFD_CREATE\nconfig MEMFD_CREATE\n\tbool\n",
    )
    .unwrap();
    // Another architecture's definition must not be reported.
    std::fs::write(
        src.join("arch/arm/Kconfig"),
        "config TMPFS\n\tdepends on ARM_ONLY\n",
    )
    .unwrap();
    let frag = root.join("test.config");
    std::fs::write(&frag, fragment).unwrap();
    std::fs::write(obj.join(".config"), resolved).unwrap();
    Tree {
        _dir: dir,
        src,
        obj,
        frag,
    }
}

/// The whole message of `verify` failing on the tree's fragment.
fn verify_error(t: &Tree) -> String {
    format!(
        "{:#}",
        verify(&t.src, &t.obj, std::slice::from_ref(&t.frag)).unwrap_err()
    )
}

const INITRAMFS_LINE: &str = "CONFIG_INITRAMFS_SOURCE=\"gen-kexec-initramfs.cpio\"\n";

#[test]
fn merge_writes_fragments_over_the_base() {
    let t = tree(
        "CONFIG_TMPFS=y\n# CONFIG_SHMEM is not set\n",
        "CONFIG_SHMEM=y\nCONFIG_OTHER=y\n",
    );
    merge_into(&t.obj, std::slice::from_ref(&t.frag)).unwrap();
    let out = std::fs::read_to_string(t.obj.join(".config")).unwrap();
    assert_eq!(
        out,
        format!("CONFIG_OTHER=y\n# gen-kexec fragments\n{INITRAMFS_LINE}# CONFIG_SHMEM is not set\nCONFIG_TMPFS=y\n")
    );
}

#[test]
fn verify_accepts_a_config_that_kept_every_wish() {
    let t = tree(
        "CONFIG_TMPFS=y\n# CONFIG_SHMEM is not set\n",
        &format!("CONFIG_TMPFS=y\n{INITRAMFS_LINE}"),
    );
    verify(&t.src, &t.obj, std::slice::from_ref(&t.frag)).unwrap();
}

#[test]
fn verify_names_each_dropped_symbol_and_what_it_depends_on() {
    let t = tree(
        "CONFIG_TMPFS=y\nCONFIG_NO_SUCH_THING=y\n",
        &format!("# CONFIG_TMPFS is not set\n{INITRAMFS_LINE}"),
    );
    let err = verify_error(&t);
    let frag = &t.frag;
    assert!(err.contains("2 symbol(s)"), "{err}");
    assert!(
        err.contains(&format!("CONFIG_TMPFS: wanted y ({frag}:1), got not set")),
        "{err}"
    );
    assert!(
        err.contains("fs/Kconfig:3: depends on SHMEM   [SHMEM=not set]"),
        "{err}"
    );
    // Its own selects do not explain why it is off.
    assert!(!err.contains("selects"), "{err}");
    assert!(
        !err.contains("ARM_ONLY"),
        "other architectures are skipped: {err}"
    );
    assert!(err.contains("CONFIG_NO_SUCH_THING: wanted y"), "{err}");
    assert!(
        err.contains("no `config` entry in any Kconfig file"),
        "{err}"
    );
    // The rejected config is moved away so nothing mistakes it for good.
    assert!(!t.obj.join(".config").exists());
    assert!(t.obj.join(".config.rejected").exists());
}

#[test]
fn verify_checks_the_generated_initramfs_source() {
    let t = tree(
        "CONFIG_TMPFS=y\n",
        "CONFIG_TMPFS=y\nCONFIG_INITRAMFS_SOURCE=\"/host/path.cpio\"\n",
    );
    let err = verify_error(&t);
    assert!(
        err.contains("CONFIG_INITRAMFS_SOURCE: wanted \"gen-kexec-initramfs.cpio\""),
        "{err}"
    );
}

#[test]
fn a_missing_fragment_is_named() {
    let err = format!(
        "{:#}",
        wishes(&["/nonexistent/x.config".into()]).unwrap_err()
    );
    assert!(err.contains("/nonexistent/x.config"), "{err}");
}

#[test]
fn configure_plan_runs_base_merge_olddefconfig_verify() {
    let profile = profile::Profile {
        name: "tiny".into(),
        base: Base::MakeTarget("tinyconfig".into()),
        fragments: vec!["/ws/kconfig-fragments/linux/storage.config".into()],
    };
    let step = configure_step(
        "linux-tiny",
        &profile,
        "/b/src/linux".into(),
        "/b/obj".into(),
    )
    .unwrap();
    let text = crate::plan::describe(&[step]);
    let expected = [
        "linux-tiny configure",
        "input  profile=tiny",
        "input  base=tinyconfig",
        "input  file /ws/kconfig-fragments/linux/storage.config",
        "(cd /b/src/linux && make O=/b/obj ARCH=x86_64 tinyconfig)",
        "[xtask] merge the fragments into .config",
        "(cd /b/src/linux && make O=/b/obj ARCH=x86_64 olddefconfig)",
        "[xtask] check that every fragment symbol kept its value",
        "output /b/obj/.config",
    ];
    let mut at = 0;
    for e in expected {
        let found = text[at..]
            .find(e)
            .unwrap_or_else(|| panic!("`{e}` missing or out of order in:\n{text}"));
        at += found + e.len();
    }
}

#[test]
fn kernel_and_iso_bases_extract_the_embedded_config() {
    for (base, spec) in [
        (Base::Iso("/x/install.iso".into()), "iso:/x/install.iso"),
        (Base::Kernel("/boot/vmlinuz".into()), "kernel:/boot/vmlinuz"),
    ] {
        let profile = profile::Profile {
            name: "gentoo".into(),
            base,
            fragments: vec![],
        };
        let step = configure_step("linux", &profile, "/s".into(), "/o".into()).unwrap();
        let text = crate::plan::describe(&[step]);
        let path = spec.split_once(':').unwrap().1;
        for e in [
            format!("input  base={spec}"),
            format!("input  file {path}"),
            format!("[xtask] extract the config embedded in {spec} to /o/.config"),
            "[xtask] merge the fragments into .config".to_owned(),
        ] {
            assert!(text.contains(&e), "`{e}` missing in:\n{text}");
        }
    }
}

#[test]
fn an_iso_component_base_waits_for_the_verified_image() {
    let profile = profile::Profile {
        name: "gentoo".into(),
        base: Base::IsoComponent("gentoo-minimal-iso".into()),
        fragments: vec![],
    };
    let step = configure_step("linux-gentoo", &profile, "/s".into(), "/o".into()).unwrap();
    let text = crate::plan::describe(&[step]);
    for e in [
        "input  base=iso:component:gentoo-minimal-iso",
        "after  gentoo-minimal-iso",
        "[xtask] extract the config embedded in iso:component:gentoo-minimal-iso to /o/.config",
        "[xtask] merge the fragments into .config",
    ] {
        assert!(text.contains(e), "`{e}` missing in:\n{text}");
    }
    // No file input: the image is keyed by its pins in sources.lock, through
    // the component's fetch step.
    assert!(!text.contains("input  file"), "{text}");
}

#[test]
fn the_gentoo_profile_says_how_to_pin_its_iso_while_the_lock_lacks_it() {
    let ws = crate::recipes::testutil::ws();
    if ws
        .lock()
        .unwrap()
        .component
        .contains_key("gentoo-minimal-iso")
    {
        // Pinned: the base is that component's fetch step.
        let p = profile::load(&ws.root, "gentoo").unwrap();
        let steps = base_steps(&ws, &p).unwrap();
        assert_eq!(steps[0].id(), "gentoo-minimal-iso fetch");
        return;
    }
    let p = profile::load(&ws.root, "gentoo").unwrap();
    let Err(e) = base_steps(&ws, &p) else {
        panic!("base_steps accepted a component the lock does not have")
    };
    let e = format!("{e:#}");
    for want in [
        "profile `gentoo`: its base `iso:component:gentoo-minimal-iso` names the component \
         `gentoo-minimal-iso`, which sources.lock does not have",
        "cargo xtask bump gentoo-minimal-iso STAMP",
        "gentoo-local",
    ] {
        assert!(e.contains(want), "`{want}` missing in: {e}");
    }
    let tiny = profile::load(&ws.root, "tiny").unwrap();
    assert!(base_steps(&ws, &tiny).unwrap().is_empty());
}

#[test]
fn a_symbol_forced_on_names_what_selects_it() {
    let t = tree(
        "# CONFIG_MEMFD_CREATE is not set\n",
        &format!("CONFIG_SHMEM=y\nCONFIG_TMPFS=y\nCONFIG_MEMFD_CREATE=y\n{INITRAMFS_LINE}"),
    );
    let err = verify_error(&t);
    assert!(err.contains("CONFIG_MEMFD_CREATE: wanted not set"), "{err}");
    assert!(
        err.contains("fs/Kconfig:3: selected by TMPFS (`select MEMFD_CREATE`)   [TMPFS=y]"),
        "{err}"
    );
}
