//! The grub-emu oracle: its parser on recorded output, and GRUB itself on
//! the corpus (xtask/tests/corpus/grub/: the configs Debian's grub-mkconfig
//! wrote for the e2e fixtures, and GRUB's quirks).

use camino::{Utf8Path, Utf8PathBuf};

use super::grubemu::*;

/// Runs grub-emu on corpus config `name` (a host file, no disk).
fn emu(name: &str) -> Run {
    let corpus = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/grub");
    let work = Utf8PathBuf::from_path_buf(std::env::temp_dir())
        .unwrap()
        .join(format!("gk-grubemu-{}-{name}", std::process::id()));
    let req = Request {
        config: format!("(host){corpus}/{name}"),
        root: Some("hd0,msdos1".into()),
        prefix: Some(format!("(host){corpus}")),
        work: work.clone(),
        ..Request::default()
    };
    let run = run(&req).unwrap_or_else(|e| panic!("grub-emu on {name}: {e:#}"));
    let _ = std::fs::remove_dir_all(&work);
    run
}

const U1: &str = "0e2e0014-0001-4000-8000-000000000001";
const U2: &str = "0e2e0014-0002-4000-8000-000000000002";

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn parses_what_the_wrapper_prints() {
    // As grub-emu wrote it on its terminal (escapes, CR LF).
    let out = "\x1b[37m\x1b[40mWelcome to GRUB!\r\n\r\nerror: can't find command `serial'.\r\n\
        GK-DEFAULT: [1>0]\r\nGK-TIMEOUT: [5]\r\n\x1b[H\x1b[J  Booting `sub'\r\n\r\n  Booting `inside'\r\n\
        GK-LOADER: [linux]\r\nGK-CHOSEN: [sub>inside]\r\nGK-ROOT: [hd0,msdos1]\r\n\
        GK-ARG: [/vmlinuz]\r\nGK-ARG: [a b]\r\nGK-ARG: [ro]\r\nGK-INITRD: [/initrd.img]\r\n\r\n\
        \x20 Failed to boot both default and fallback entries.\r\n";
    let r = parse(out, "failed to boot");
    assert_eq!((r.default.as_str(), r.timeout.as_str()), ("1>0", "5"));
    assert_eq!(r.errors, ["error: can't find command `serial'."]);
    assert_eq!(
        r.booted(),
        Some(&Attempt {
            title: "inside".into(),
            chosen: "sub>inside".into(),
            root: "hd0,msdos1".into(),
            loader: "linux".into(),
            kernel: "/vmlinuz".into(),
            args: vec!["a b".into(), "ro".into()],
            initrds: vec!["/initrd.img".into()],
        })
    );
    assert_eq!(r.booted().unwrap().cmdline(), "a b ro");
    assert_eq!(clean("a\x1b[1;2Hb\x1b(Bc\r"), "abc");
}

#[test]
fn the_wrapper_stands_in_for_loaders_and_boots_at_once() {
    let w = wrapper(
        &Request {
            config: "(hd0,msdos1)/boot/grub/grub.cfg".into(),
            root: Some("hd0,msdos1".into()),
            prefix: Some("(hd0,msdos1)/boot/grub".into()),
            ..Request::default()
        },
        &["ext2"],
    );
    assert!(w.contains("insmod ext2\n"));
    assert!(w.contains("function linux {\n"));
    assert!(w.contains("function initrd {\n"));
    assert!(w.contains("set root='hd0,msdos1'\nset prefix='(hd0,msdos1)/boot/grub'\n"));
    assert!(w.contains("set config_directory='(hd0,msdos1)/boot/grub'\n"));
    assert!(w.contains("source '(hd0,msdos1)/boot/grub/grub.cfg'\n"));
    assert!(w.ends_with("set timeout=0\n"));
}

#[test]
fn grub_boots_the_debian_default_entry_of_the_fixture_config() {
    let r = emu("debian-mkconfig-onepart.cfg");
    assert_eq!((r.default.as_str(), r.timeout.as_str()), ("0", "1"));
    let b = r.booted().expect("an entry booted");
    assert_eq!(b.title, "Debian GNU/Linux");
    assert_eq!(b.chosen, format!("gnulinux-simple-{U1}"));
    assert_eq!(b.loader, "linux");
    assert_eq!(b.kernel, "/boot/vmlinuz-6.1.0-57-amd64");
    assert_eq!(
        b.args,
        words(&format!(
            "root=UUID={U1} ro console=ttyS0,115200 e2e.label=debian"
        ))
    );
    assert_eq!(b.initrds, ["/boot/initrd.img-6.1.0-57-amd64"]);
}

#[test]
fn grub_boots_the_separate_boot_fixture_config() {
    let r = emu("debian-mkconfig-sepboot.cfg");
    let b = r.booted().expect("an entry booted");
    assert_eq!(b.title, "Debian GNU/Linux");
    assert_eq!(b.kernel, "/vmlinuz-6.1.0-57-amd64");
    assert_eq!(
        b.args,
        words(&format!(
            "root=UUID={U2} ro console=ttyS0,115200 e2e.label=debian"
        ))
    );
    assert_eq!(b.initrds, ["/initrd.img-6.1.0-57-amd64"]);
}

#[test]
fn grub_follows_default_paths_saved_entries_and_submenus() {
    let r = emu("debian-mkconfig-3kernels-default-path.cfg");
    let b = r.booted().unwrap();
    assert_eq!(b.title, "Debian GNU/Linux, with Linux 6.1.0-56-amd64");
    assert_eq!(
        b.chosen,
        format!("gnulinux-advanced-{U1}>gnulinux-6.1.0-56-amd64-advanced-{U1}")
    );
    assert_eq!(b.kernel, "/boot/vmlinuz-6.1.0-56-amd64");

    // No grubenv: saved_entry is empty, so entry 0 (no submenu here).
    let r = emu("debian-mkconfig-saved-nosubmenu.cfg");
    assert_eq!(r.default, "");
    let b = r.booted().unwrap();
    assert_eq!(b.title, "Debian GNU/Linux, with Linux 6.1.0-57-amd64");
    assert_eq!(
        b.args,
        words(&format!(
            "root=UUID={U1} ro console=ttyS0,115200 quiet splash e2e.label=debian"
        ))
    );

    let r = emu("debian-mkconfig-norecovery-sepboot.cfg");
    assert_eq!((r.default.as_str(), r.timeout.as_str()), ("1>0", "5"));
    let b = r.booted().unwrap();
    assert_eq!(b.title, "Debian GNU/Linux, with Linux 6.1.0-57-amd64");
    assert_eq!(b.kernel, "/vmlinuz-6.1.0-57-amd64");
}

#[test]
fn grub_quirks_as_grub_has_them() {
    let b = emu("quirk-unset-is-true.cfg");
    assert_eq!(b.booted().unwrap().args, ["e2e.quirk=unset-is-true"]);

    let b = emu("quirk-submenu-exports.cfg");
    let inside = b.booted().unwrap();
    assert_eq!(
        (inside.title.as_str(), inside.chosen.as_str()),
        ("inside", "sub>inside")
    );
    assert_eq!(inside.args, ["plain=[]", "shared=[s]"]);

    let r = emu("quirk-syntax-error.cfg");
    assert!(
        r.errors.iter().any(|e| e.contains("syntax error")),
        "{:?}",
        r.errors
    );
    let one = r.booted().unwrap();
    assert_eq!(
        (one.title.as_str(), one.args.as_slice()),
        ("one", &["e2e.quirk=one".to_owned()][..])
    );
    assert_eq!(one.initrds, ["/initrd-a.img", "/initrd-b.img"]);

    let b = emu("quirk-default-by-title.cfg");
    let second = b.booted().unwrap();
    assert_eq!(
        (second.loader.as_str(), second.chosen.as_str()),
        ("linux16", "second")
    );
    assert_eq!(second.args, ["e2e.quirk=a b", "e2e.quirk=second"]);
    assert_eq!(second.initrds, ["/initrd.img"]);
}

#[test]
fn grub_reads_a_legacy_menu_lst_through_its_own_translation() {
    let corpus = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/grub");
    let lst = corpus.join("legacy-debian-menu.lst");
    // The corpus file is the grublegacy fixture's menu.lst.
    assert_eq!(
        std::fs::read_to_string(&lst).unwrap(),
        crate::e2e::fixtures::menulst_for_tests("6.1.0-57-amd64", U1)
    );
    let work = Utf8PathBuf::from_path_buf(std::env::temp_dir())
        .unwrap()
        .join(format!("gk-grubemu-{}-legacy", std::process::id()));
    let r = run(&Request {
        menu_lst: Some(lst),
        work: work.clone(),
        ..Request::default()
    })
    .unwrap();
    let _ = std::fs::remove_dir_all(&work);
    assert_eq!((r.default.as_str(), r.timeout.as_str()), ("0", "1"));
    let b = r.booted().unwrap();
    assert_eq!(b.title, "Debian GNU/Linux, kernel 6.1.0-57-amd64");
    assert_eq!(
        (b.loader.as_str(), b.root.as_str()),
        ("legacy_kernel", "hd0,1")
    );
    assert_eq!(b.kernel, "/boot/vmlinuz-6.1.0-57-amd64");
    assert_eq!(
        b.args,
        words(&format!(
            "root=UUID={U1} ro console=ttyS0,115200 e2e.label=legacy"
        ))
    );
    assert_eq!(b.initrds, ["/boot/initrd.img-6.1.0-57-amd64"]);
}

#[test]
fn legacy_loaders_are_renamed_to_the_stand_ins() {
    let cfg = "menuentry 'x' {\n  legacy_kernel   '/k' '/k' 'a'\n  legacy_initrd '/i' '/i'\n}\necho legacy_kernel\n";
    assert_eq!(
        rename_legacy_loaders(cfg),
        "menuentry 'x' {\n  gk_legacy_kernel   '/k' '/k' 'a'\n  gk_legacy_initrd '/i' '/i'\n}\necho legacy_kernel\n"
    );
}

/// grub-emu on corpus directory `dir` (grub.cfg and grubenv, copied to a
/// scratch directory first: save_env may write), `$prefix` being it.
fn emu_dir(dir: &str) -> Run {
    let corpus = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/grub");
    let scratch = Utf8PathBuf::from_path_buf(std::env::temp_dir())
        .unwrap()
        .join(format!("gk-grubemu-{}-{dir}-prefix", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    for f in ["grub.cfg", "grubenv"] {
        std::fs::copy(corpus.join(dir).join(f), scratch.join(f)).unwrap();
    }
    let work = scratch.with_extension("work");
    let r = run(&Request {
        config: format!("(host){scratch}/grub.cfg"),
        root: Some("hd0,msdos1".into()),
        prefix: Some(format!("(host){scratch}")),
        work: work.clone(),
        ..Request::default()
    })
    .unwrap_or_else(|e| panic!("grub-emu on {dir}: {e:#}"));
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_dir_all(&scratch);
    r
}

#[test]
fn grub_boots_the_saved_entry_or_next_entry_of_grubenv() {
    // GRUB_DEFAULT=saved: `load_env`, default="${saved_entry}" (an --id).
    let r = emu_dir("saved-entry");
    assert_eq!(r.default, format!("gnulinux-6.1.0-56-amd64-advanced-{U1}"));
    let b = r.booted().unwrap();
    assert_eq!(b.title, "Debian GNU/Linux, with Linux 6.1.0-56-amd64");
    assert_eq!(b.kernel, "/boot/vmlinuz-6.1.0-56-amd64");
    // next_entry wins over GRUB_DEFAULT=0, here a path into the submenu.
    let r = emu_dir("next-entry");
    assert_eq!(
        r.default,
        format!("gnulinux-advanced-{U1}>gnulinux-6.1.0-57-amd64-recovery-{U1}")
    );
    let b = r.booted().unwrap();
    assert_eq!(
        b.title,
        "Debian GNU/Linux, with Linux 6.1.0-57-amd64 (recovery mode)"
    );
    assert_eq!(
        b.args,
        words(&format!("root=UUID={U1} ro single console=ttyS0,115200"))
    );
}
