//! End-to-end tests of config extraction: made-up bzImages in every
//! compression format, ISO images made by xorriso (Rock Ridge, Joliet, plain
//! ISO names), the host's real Debian kernel (built without IKCONFIG), and
//! broken inputs.

use camino::{Utf8Path, Utf8PathBuf};
use xshell::{cmd, Shell};

use super::bzimage::tests::fake_bzimage;
use super::decompress::tests::{compress, sample};
use super::decompress::Format;
use super::ikcfg::tests::{fake_vmlinux, CONFIG};
use super::*;

/// A made-up compressed kernel: kernel-like bytes around the config.
pub(crate) fn fake_kernel(format: Format, config: &str) -> Vec<u8> {
    let mut vmlinux = fake_vmlinux(config);
    vmlinux.extend(sample(300_000));
    let mut payload = compress(format, &vmlinux);
    payload.truncate(payload.len() - 4); // fake_bzimage appends the size
    fake_bzimage(27, 0x3a5, &payload)
}

#[test]
fn bzimage_in_every_format_gives_the_config_back() {
    for f in Format::ALL.into_iter().filter(|f| *f != Format::Lzo) {
        let x = from_kernel_image("k", &fake_kernel(f, CONFIG)).unwrap();
        assert_eq!(String::from_utf8(x.config).unwrap(), CONFIG, "{}", f.name());
        assert!(
            x.origin.contains(&format!("{} payload", f.name())),
            "{}",
            x.origin
        );
    }
}

#[test]
fn elf_and_compressed_vmlinux_are_read_too() {
    let vmlinux = fake_vmlinux(CONFIG);
    assert_eq!(
        from_kernel_image("vmlinux", &vmlinux).unwrap().config,
        CONFIG.as_bytes()
    );
    let gz = compress(Format::Gzip, &vmlinux);
    assert_eq!(
        from_kernel_image("vmlinux.gz", &gz).unwrap().config,
        CONFIG.as_bytes()
    );
}

#[test]
fn a_kernel_without_ikconfig_says_so() {
    let img = fake_bzimage(27, 0x3a5, &compress(Format::Xz, &sample(100_000)));
    let e = format!(
        "{:#}",
        from_kernel_image("/boot/vmlinuz-x", &img).unwrap_err()
    );
    assert!(
        e.starts_with("/boot/vmlinuz-x: this kernel was built without CONFIG_IKCONFIG"),
        "{e}"
    );
    assert!(e.contains("xz payload"), "{e}");
}

#[test]
fn unknown_payloads_and_corrupt_streams_are_named() {
    let img = fake_bzimage(27, 0, b"\x00\x01\x02\x03\x04\x05 not compressed");
    let e = format!("{:#}", from_kernel_image("k", &img).unwrap_err());
    assert!(e.contains("none of the compression formats"), "{e}");
    let mut payload = compress(Format::Zstd, &fake_vmlinux(CONFIG));
    let n = payload.len();
    payload[n / 2..].fill(0x55);
    let e = format!(
        "{:#}",
        from_kernel_image("k", &fake_bzimage(4, 0, &payload)).unwrap_err()
    );
    assert!(
        e.contains("k: bzImage") && e.contains("zstd data is corrupt or truncated"),
        "{e}"
    );
}

/// The host's distribution kernel (Debian's is built without IKCONFIG).
#[test]
fn the_debian_kernel_is_refused_clearly() {
    let kernel = std::fs::read_dir("/boot")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .expect("no /boot/vmlinuz-*: install linux-image-amd64 (`cargo xtask host-deps --test`)");
    let kernel = Utf8PathBuf::try_from(kernel).unwrap();
    match from_kernel_file(&kernel) {
        Err(e) => {
            let e = format!("{e:#}");
            assert!(
                e.contains("without CONFIG_IKCONFIG") && e.contains("bzImage"),
                "{e}"
            );
            assert!(
                e.contains(
                    "Here its distribution's configuration is next to it: use `file:/boot/config-"
                ),
                "{e}"
            );
        }
        // A host whose kernel has IKCONFIG: then it must be a real config.
        Ok(x) => assert!(String::from_utf8(x.config)
            .unwrap()
            .contains("CONFIG_IKCONFIG=y")),
    }
}

/// Build an ISO with xorriso from `files` (path, contents) and `options`.
fn make_iso(dir: &Utf8Path, files: &[(&str, &[u8])], options: &[&str]) -> Utf8PathBuf {
    let tree = dir.join("tree");
    for (path, data) in files {
        let p = tree.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let iso = dir.join("image.iso");
    let sh = Shell::new().unwrap();
    cmd!(
        sh,
        "xorriso -as mkisofs -quiet -V ISOIMAGE {options...} -o {iso} {tree}"
    )
    .quiet()
    .run()
    .expect("xorriso failed: is it installed? (`cargo xtask host-deps --test`)");
    iso
}

pub(crate) fn tempdir() -> (tempfile::TempDir, Utf8PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = Utf8PathBuf::try_from(t.path().to_owned()).unwrap();
    (t, p)
}

const ISOLINUX_CFG: &str = "default gentoo\ntimeout 150\n\nlabel gentoo\n  kernel gentoo\n  \
    append root=/dev/ram0 init=/linuxrc looptype=squashfs loop=/image.squashfs cdroot initrd=gentoo.igz\n";

#[test]
fn gentoo_like_isolinux_iso_with_rock_ridge_and_joliet() {
    let (_t, dir) = tempdir();
    let kernel = fake_kernel(Format::Xz, CONFIG);
    let decoy = fake_kernel(Format::Gzip, "CONFIG_WRONG=y\n");
    let iso = make_iso(
        &dir,
        &[
            ("isolinux/isolinux.cfg", ISOLINUX_CFG.as_bytes()),
            ("isolinux/gentoo", &kernel),
            ("isolinux/gentoo.igz", b"initramfs"),
            ("boot/gentoo", &decoy),
            ("image.squashfs", &sample(50_000)),
        ],
        &["-R", "-J"],
    );
    let x = from_iso(&iso).unwrap();
    assert_eq!(String::from_utf8(x.config).unwrap(), CONFIG);
    assert!(
        x.origin
            .contains(":/isolinux/gentoo (isolinux/isolinux.cfg: default label `gentoo`)"),
        "{}",
        x.origin
    );
    assert_eq!(from_spec(iso.as_str()).unwrap().config, CONFIG.as_bytes());
}

#[test]
fn grub_iso_with_long_names_through_rock_ridge_or_joliet() {
    let grub = "menuentry 'Gentoo' {\n  linux /boot/vmlinuz-6.12.107-gentoo-dist cdroot\n}\n";
    let kernel = fake_kernel(Format::Zstd, CONFIG);
    for options in [&["-R"][..], &["-J"], &["-R", "-J"]] {
        let (_t, dir) = tempdir();
        let files: &[(&str, &[u8])] = &[
            ("boot/grub/grub.cfg", grub.as_bytes()),
            ("boot/vmlinuz-6.12.107-gentoo-dist", &kernel),
        ];
        let iso = make_iso(&dir, files, options);
        let x = from_iso(&iso).unwrap_or_else(|e| panic!("{options:?}: {e:#}"));
        assert_eq!(x.config, CONFIG.as_bytes(), "{options:?}");
    }
}

#[test]
fn plain_iso_names_are_matched_case_insensitively() {
    let (_t, dir) = tempdir();
    let files: &[(&str, &[u8])] = &[("boot/gentoo", &fake_kernel(Format::Lz4Legacy, CONFIG))];
    let iso = make_iso(&dir, files, &[]);
    let x = from_iso(&iso).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(x.config, CONFIG.as_bytes());
    assert!(
        x.origin.contains("Gentoo's usual kernel path"),
        "{}",
        x.origin
    );
}

#[test]
fn truncated_and_non_iso_files_are_clear_errors() {
    let (_t, dir) = tempdir();
    let files: &[(&str, &[u8])] = &[
        ("isolinux/isolinux.cfg", ISOLINUX_CFG.as_bytes()),
        ("isolinux/gentoo", &fake_kernel(Format::Xz, CONFIG)),
    ];
    let iso = make_iso(&dir, files, &["-R"]);
    let data = std::fs::read(&iso).unwrap();
    let cut = dir.join("cut.iso");
    std::fs::write(&cut, &data[..data.len() * 2 / 3]).unwrap();
    let e = format!("{:#}", from_iso(&cut).unwrap_err());
    assert!(
        e.contains("cut.iso: truncated ISO9660 image") && e.contains("download or copy it again"),
        "{e}"
    );

    let text = dir.join("notes.txt");
    std::fs::write(&text, "hello\n".repeat(10_000)).unwrap();
    let e = format!("{:#}", from_iso(&text).unwrap_err());
    assert!(
        e.contains("notes.txt: not an ISO9660 image: no volume descriptor"),
        "{e}"
    );
    let small = dir.join("small.bin");
    std::fs::write(&small, b"tiny").unwrap();
    let e = format!("{:#}", from_iso(&small).unwrap_err());
    assert!(
        e.contains("small.bin: not an ISO9660 image: 4 bytes"),
        "{e}"
    );
    let e = format!("{:#}", from_spec(text.as_str()).unwrap_err());
    assert!(
        e.contains("notes.txt: cannot read it as a kernel: not a Linux kernel image"),
        "{e}"
    );
}

#[test]
fn an_iso_naming_a_missing_kernel_says_which_config_named_it() {
    let (_t, dir) = tempdir();
    let iso = make_iso(
        &dir,
        &[("isolinux/isolinux.cfg", ISOLINUX_CFG.as_bytes())],
        &["-R"],
    );
    let e = format!("{:#}", from_iso(&iso).unwrap_err());
    assert!(
        e.contains("isolinux/isolinux.cfg: default label `gentoo` names the kernel `isolinux/gentoo`, which the image does not hold"),
        "{e}"
    );
}

#[test]
fn the_gentoo_profile_takes_its_base_from_the_minimal_iso() {
    let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let p = crate::kconfig::profile::load(root, "gentoo").unwrap();
    assert_eq!(
        p.base,
        crate::kconfig::profile::Base::IsoComponent("gentoo-minimal-iso".into())
    );
    // The same from a file of one's own.
    let local = crate::kconfig::profile::load(root, "gentoo-local").unwrap();
    let iso = root.join("downloads/install-amd64-minimal.iso");
    assert_eq!(local.base, crate::kconfig::profile::Base::Iso(iso));
    assert_eq!(local.fragments, p.fragments);
    let tiny = crate::kconfig::profile::load(root, "tiny").unwrap();
    assert_eq!(p.fragments[..tiny.fragments.len()], tiny.fragments[..]);
    assert_eq!(
        p.fragments.last().unwrap().file_name(),
        Some("ikconfig.config")
    );
    for f in &p.fragments {
        assert!(f.is_file(), "{f} is missing");
    }
    // The test profile reads the ISO `cargo xtask ikconfig-check` makes.
    let fixture = crate::kconfig::profile::load(root, "gentoo-fixture").unwrap();
    assert_eq!(
        fixture.base,
        crate::kconfig::profile::Base::Iso(root.join("build").join(buildcheck::FIXTURE))
    );
    assert_eq!(fixture.fragments, p.fragments);
}
