//! GRUB itself (grub-emu, xtask/src/e2e/grubemu.rs) on every config of the
//! GRUB corpus (tests/corpus/grub/: Debian grub-mkconfig output, quirk
//! configs, a GRUB legacy menu.lst): each must make GRUB boot an entry with
//! a kernel, and the table printed (`cargo test --test grub_corpus --
//! --nocapture`) is what a second GRUB parser is to be checked against.
//! The exact expectations per file are in src/e2e/grubemu_tests.rs.

#[path = "../src/e2e/grubemu.rs"]
#[allow(dead_code)]
mod grubemu;

use camino::{Utf8Path, Utf8PathBuf};

#[test]
fn grub_boots_an_entry_of_every_corpus_config() {
    let corpus = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/grub");
    let mut names: Vec<String> = (corpus.read_dir_utf8().unwrap())
        .map(|e| e.unwrap().file_name().to_owned())
        .filter(|n| n.ends_with(".cfg") || n.ends_with(".lst"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    let tmp = tempfile::tempdir().unwrap();
    for name in &names {
        let file = corpus.join(name);
        let legacy = name.ends_with(".lst");
        let req = grubemu::Request {
            config: format!("(host){file}"),
            root: Some("hd0,msdos1".into()),
            prefix: Some(format!("(host){corpus}")),
            work: Utf8PathBuf::from_path_buf(tmp.path().join(name)).unwrap(),
            menu_lst: legacy.then(|| file.clone()),
            ..grubemu::Request::default()
        };
        let run = grubemu::run(&req).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let b = (run.booted()).unwrap_or_else(|| panic!("{name}: GRUB booted nothing: {run:?}"));
        assert!(!b.kernel.is_empty(), "{name}: {b:?}");
        println!(
            "{name}: default `{}` -> '{}' ({}): {} {} {} | initrd {}",
            run.default,
            b.title,
            b.chosen,
            b.loader,
            b.kernel,
            b.cmdline(),
            b.initrds.join(" ")
        );
    }
}
