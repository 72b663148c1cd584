//! The cpio is read back with the cpio crate: names, order, modes, owners,
//! device numbers, mtimes and contents are what the layout declares.

use super::*;

struct Read {
    name: String,
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u32,
    rdev: (u32, u32),
    data: Vec<u8>,
}

fn read_back(mut bytes: &[u8]) -> Vec<Read> {
    let mut out = Vec::new();
    loop {
        let mut r = cpio::NewcReader::new(bytes).unwrap();
        if r.entry().is_trailer() {
            break;
        }
        let e = r.entry();
        let mut item = Read {
            name: e.name().to_owned(),
            ino: e.ino(),
            mode: e.mode(),
            uid: e.uid(),
            gid: e.gid(),
            mtime: e.mtime(),
            rdev: (e.rdev_major(), e.rdev_minor()),
            data: Vec::new(),
        };
        std::io::Read::read_to_end(&mut r, &mut item.data).unwrap();
        bytes = r.finish().unwrap();
        out.push(item);
    }
    out
}

fn workspace() -> &'static Utf8Path {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The shipped layout with stand-in programs.
fn shipped(dir: &Utf8Path) -> (Layout, BTreeMap<String, Utf8PathBuf>) {
    let layout = Layout::load(workspace()).unwrap();
    let mut bins = BTreeMap::new();
    for name in ["busybox", "kexec"] {
        let p = dir.join(name);
        std::fs::write(&p, format!("\x7fELF {name}")).unwrap();
        bins.insert(name.to_owned(), p);
    }
    (layout, bins)
}

fn tmp() -> (tempfile::TempDir, Utf8PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = Utf8Path::from_path(d.path()).unwrap().to_owned();
    (d, p)
}

#[test]
fn shipped_layout_gives_sorted_entries_with_declared_modes_devices_and_mtime() {
    let (_d, dir) = tmp();
    let (layout, bins) = shipped(&dir);
    let es = entries(&layout, workspace(), &bins).unwrap();
    let cpio = write_cpio(&es, 1735689600).unwrap();
    let got = read_back(&cpio);

    let names: Vec<&str> = got.iter().map(|r| r.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted by path");
    for want in [
        "bin",
        "bin/busybox",
        "boot",
        "dev/console",
        "init",
        "proc",
        "sbin/kexec",
        "sys",
        "usr/sbin",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for (i, r) in got.iter().enumerate() {
        assert_eq!((r.uid, r.gid), (0, 0), "{}", r.name);
        assert_eq!(r.mtime, 1735689600, "{}", r.name);
        assert_eq!(r.ino, i as u32 + 1, "{}", r.name);
    }
    let by = |n: &str| got.iter().find(|r| r.name == n).unwrap();
    assert_eq!(
        (by("dev/console").mode, by("dev/console").rdev),
        (0o020600, (5, 1))
    );
    assert_eq!(
        (by("dev/null").mode, by("dev/null").rdev),
        (0o020666, (1, 3))
    );
    assert_eq!((by("dev/tty").mode, by("dev/tty").rdev), (0o020666, (5, 0)));
    assert_eq!(by("bin").mode, 0o040755);
    assert_eq!(by("bin/busybox").mode, 0o100755);
    assert_eq!(by("bin/busybox").data, b"\x7fELF busybox");
    assert_eq!(by("sbin/kexec").data, b"\x7fELF kexec");
    let init = by("init");
    assert_eq!(init.mode, 0o100755);
    assert_eq!(
        init.data,
        std::fs::read(workspace().join("initramfs-skel/init")).unwrap()
    );
    assert!(init.data.starts_with(b"#!/bin/busybox sh\n"));
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let (_d, dir) = tmp();
    let (layout, bins) = shipped(&dir);
    let a = write_cpio(&entries(&layout, workspace(), &bins).unwrap(), 7).unwrap();
    let b = write_cpio(&entries(&layout, workspace(), &bins).unwrap(), 7).unwrap();
    assert_eq!(a, b);
    let c = write_cpio(&entries(&layout, workspace(), &bins).unwrap(), 8).unwrap();
    assert_ne!(a, c, "the mtime is in the archive");
}

fn layout(text: &str) -> Layout {
    toml::from_str(text).unwrap()
}

#[test]
fn bad_layouts_are_refused_with_the_reason() {
    let (_d, dir) = tmp();
    let none = BTreeMap::new();
    let err = |l: &Layout, b: &BTreeMap<String, Utf8PathBuf>| {
        format!("{:#}", entries(l, &dir, b).unwrap_err())
    };

    let e = err(&layout("directories = [\"dev\"]\n[[device]]\npath=\"x/null\"\ntype=\"char\"\nmajor=1\nminor=3\nmode=0o666\n"), &none);
    assert!(e.contains("`x/null` needs its parent directory `x`"), "{e}");
    let e = err(&layout("directories = [\"/abs\"]"), &none);
    assert!(e.contains("expected a relative path"), "{e}");
    let e = err(&layout("directories = [\"a\", \"a\"]"), &none);
    assert!(e.contains("declared twice"), "{e}");
    let e = err(
        &layout("directories = [\"bin\"]\n[binaries]\nbusybox = \"bin/busybox\"\n"),
        &none,
    );
    assert!(e.contains("binary `busybox` is not built"), "{e}");
    let mut extra = BTreeMap::new();
    extra.insert("kexec".to_owned(), dir.join("kexec"));
    let e = err(&layout("directories = []"), &extra);
    assert!(e.contains("does not say where `kexec` goes"), "{e}");
    let e = err(
        &layout("directories = []\n[[file]]\npath=\"init\"\nsource=\"init\"\nmode=0o755\n"),
        &none,
    );
    assert!(e.contains("cannot read `init`"), "{e}");
    std::fs::create_dir_all(dir.join(SKEL_DIR)).unwrap();
    std::fs::write(dir.join(SKEL_DIR).join("init"), "#!/bin/sh\n").unwrap();
    let e = err(
        &layout("directories = []\n[[file]]\npath=\"init\"\nsource=\"init\"\nmode=0o4755\n"),
        &none,
    );
    assert!(e.contains("permission bits only"), "{e}");
}
