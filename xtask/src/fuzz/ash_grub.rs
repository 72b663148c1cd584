//! GRUB trees for the `ash-syslinux` target (fuzz/ash.rs): a config of the
//! GRUB corpus (xtask/tests/corpus/grub) with lines dropped, repeated or
//! replaced by random GRUB script (unbalanced braces and quotes, `source`
//! and `configfile` of itself, recursive functions, loops), parsed by the
//! runtime's grub.sh under busybox ash with the same time limit.

use anyhow::Result;
use camino::Utf8Path;

const WORDS: &[&str] = &[
    "menuentry 'x' {",
    "submenu \"s\" --id s {",
    "}",
    "{",
    "if [ x$a = xy ]; then",
    "elif [ -s $prefix/grubenv ]",
    "else",
    "fi",
    "function f { f; }",
    "f",
    "source $prefix/grub.cfg",
    "configfile /boot/grub/grub.cfg",
    "set default=\"1>0\"",
    "set a='",
    "\"",
    "linux /vmlinuz $kernelopts",
    "initrd /initrd.img /x",
    "search --fs-uuid --set=root x",
    "load_env",
    "blscfg",
    "for i in a b; do",
    "done",
    "while true; do",
    "\\",
    "$",
    "${",
    "set timeout=-1",
    "export a",
    "[ ]",
    "chainloader +1",
    "\u{0}",
    "set a=$a$a$a$a",
];

fn line(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut l = Vec::new();
    for i in 0..rng.usize(1..5) {
        if i > 0 {
            l.push(if rng.bool() { b' ' } else { b';' });
        }
        l.extend_from_slice(WORDS[rng.usize(..WORDS.len())].as_bytes());
    }
    l
}

/// A mutated GRUB corpus config at ROOT/boot/grub/grub.cfg (with stand-in
/// kernels); its path from the tree's root.
pub fn mutated(rng: &mut fastrand::Rng, repo: &Utf8Path, root: &Utf8Path) -> Result<String> {
    let dir = repo.join("xtask/tests/corpus/grub");
    let mut cfgs: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cfg"))
        .collect();
    cfgs.sort();
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root.join("boot/grub"))?;
    let text = match cfgs.get(rng.usize(..cfgs.len().max(1))) {
        Some(p) => std::fs::read(p)?,
        None => Vec::new(),
    };
    let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    for _ in 0..rng.usize(1..8) {
        let at = rng.usize(..=lines.len());
        match rng.u8(..4) {
            0 if !lines.is_empty() => {
                lines.remove(at.min(lines.len() - 1));
            }
            1 if !lines.is_empty() => {
                let l = lines[at.min(lines.len() - 1)].clone();
                lines.insert(at, l);
            }
            _ => lines.insert(at, line(rng)),
        }
    }
    std::fs::write(root.join("boot/grub/grub.cfg"), lines.join(&b'\n'))?;
    std::fs::write(root.join("vmlinuz"), b"k")?;
    std::fs::write(
        root.join("boot/grub/grubenv"),
        b"# GRUB Environment Block\nsaved_entry=0\n",
    )?;
    Ok("/boot/grub/grub.cfg".into())
}
