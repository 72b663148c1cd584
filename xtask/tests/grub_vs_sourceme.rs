//! The host GRUB model (xtask/src/bootcfg/grub) against the runtime's ash
//! parser (initramfs-skel/lib/gen-kexec/grub.sh and grub-*.awk): on every
//! case of the GRUB corpus (xtask/tests/corpus/grub) and on a set of bad
//! inputs, both must give the same records (entries, titles, labels,
//! kernels, initrds, command lines, reasons, default), the same GRUB
//! variables, and the same plan.

#[path = "../src/bootcfg/mod.rs"]
mod bootcfg;
mod grub_cases;
mod sourceme_harness;

use std::path::PathBuf;

use bootcfg::grub::{self, Files, Part};

struct Dir(PathBuf);

impl Files for Dir {
    fn read(&mut self, path: &str) -> Option<Vec<u8>> {
        let p = self.0.join(path.trim_start_matches('/'));
        if p.is_file() {
            std::fs::read(p).ok()
        } else {
            None
        }
    }
    fn list(&mut self, dir: &str) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.0.join(dir.trim_start_matches('/'))) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        v.sort();
        v
    }
}

fn rust(case: &grub_cases::Case, cfgname: &str, cfg: &str) -> grub::Parsed {
    let parts = case
        .parts
        .iter()
        .map(|p| Part {
            name: p.name.clone(),
            num: p.num,
            fstype: p.fstype.clone(),
            uuid: p.uuid.clone(),
            label: p.label.clone(),
            files: p.dir.clone().map(|d| Box::new(Dir(d)) as Box<dyn Files>),
        })
        .collect();
    grub::parse(parts, cfgname, cfg, "msdos")
}

fn check(case: &grub_cases::Case) -> usize {
    let a = grub_cases::ash(case, "");
    let r = rust(case, &a.cfgname, &a.config);
    let rl: Vec<String> = r.records.iter().map(|x| x.line()).collect();
    assert_eq!(
        a.records, rl,
        "case {}: records differ (left ash, right Rust)\nash stderr: {}",
        case.name, a.stderr
    );
    assert_eq!(
        (a.timeout.as_str(), a.style.as_str(), a.default.as_str()),
        (
            r.timeout.as_str(),
            r.timeout_style.as_str(),
            r.default.as_str()
        ),
        "case {}: GRUB variables",
        case.name
    );
    match (&a.plan, r.plan()) {
        (Ok(p), Ok(q)) => {
            let q = [
                q.label,
                q.kernel,
                q.initrds.join(" "),
                q.cmdline,
                q.wait.to_string(),
            ];
            assert_eq!(p, &q, "case {}: plan", case.name);
        }
        (Err(_), Err(_)) => {}
        (p, q) => panic!("case {}: ash {p:?}, Rust {q:?}", case.name),
    }
    rl.len()
}

#[test]
fn corpus_ash_and_rust_agree() {
    let mut n = 0;
    let mut recs = 0;
    for case in grub_cases::cases() {
        recs += check(&case);
        n += 1;
    }
    assert!(n >= 9, "only {n} corpus cases");
    eprintln!("{n} corpus cases, {recs} records: ash and Rust agree");
}

/// Bad input: both recover the same way (and neither hangs).
#[test]
fn bad_input_ash_and_rust_agree() {
    let k = "linux /vmlinuz root=/dev/sda1\n";
    let cfgs: &[(&str, String)] = &[
        ("unbalanced-open", format!("menuentry 'A' {{\n{k}}}\nmenuentry 'B' {{\n{k}\nmenuentry 'C' {{\n{k}}}\n")),
        ("unbalanced-close", format!("menuentry 'A' {{\n{k}}}\n}}\nmenuentry 'B' {{\n{k}}}\nfi\nmenuentry 'C' {{ {k} }}\n")),
        ("if-without-fi", format!("if [ x = x ]; then\nset default=1\nmenuentry 'A' {{\n{k}}}\n")),
        ("unknown-commands", format!("frobnicate --now\nmenuentry 'A' {{\nfoo bar\n{k}baz\n}}\n")),
        ("missing-configfile", format!("source /nonexistent.cfg\nconfigfile /boot/grub/none.cfg\nmenuentry 'A' {{\n{k}}}\nmenuentry 'B' {{ configfile /none.cfg }}\n")),
        ("recursive-source", format!("source $prefix/grub.cfg\nmenuentry 'A' {{\n{k}}}\n")),
        ("recursive-function", format!("function f {{ f }}\nf\nmenuentry 'A' {{\n{k}}}\n")),
        ("search-nothing", format!("search --no-floppy --fs-uuid --set=root 1234-5678\nsearch --label --set=x NOPE\nsearch --file /nope --set\nmenuentry 'A' {{\n{k}}}\n")),
        ("no-linux", format!("menuentry 'Empty' {{\necho hi\n}}\nmenuentry 'Initrd first' {{\ninitrd /initrd.img\n{k}}}\nmenuentry 'Reboot' {{ reboot }}\nmenuentry 'Chain' {{ chainloader +1 }}\nmenuentry 'Missing' {{ linux /nonexistent }}\nmenuentry 'Other disk' {{ linux (hd1,1)/vmlinuz }}\n")),
        ("quoting", "set a='x y'\nset b=\"$a z\"\nset c=pre\\ fix\nmenuentry \"T $a\" {\nlinux /vmlinuz p=$a q=\"$b\" r=${c}s 'l=$a' \"d=\\$a\" e=\\\"\n}\nmenuentry 'multi\nline' {\nlinux /vmlinuz \\\n  cont=1\n}\n".to_string()),
        ("defaults", format!("set default='B>>C'\nmenuentry 'A' {{\n{k}}}\nmenuentry 'B>C' {{\n{k}}}\nsubmenu 'S' --id sid {{\nmenuentry 'X' --id xid {{\n{k}}}\n}}\n")),
        ("default-path-id", format!("set default='sid>xid'\nset timeout=-1\nmenuentry 'A' {{\n{k}}}\nsubmenu 'S' --id sid {{\nmenuentry 'W' {{\n{k}}}\nmenuentry 'X' --id xid {{\n{k}}}\n}}\n")),
        ("default-out-of-range", format!("set default=7\nset timeout=0\nmenuentry 'A' {{\n{k}}}\nmenuentry 'B' {{\n{k}}}\n")),
        ("export-submenu", "set x=1\nset y=2\nexport y\nsubmenu 'S' {\nmenuentry 'E' {\nlinux /vmlinuz x=$x y=$y\n}\n}\n".to_string()),
        ("tests", "if [ $unset ]; then set a=1; fi\nif [ -z \"$unset\" -a x$feature_menuentry_id = xy ]; then set b=1; fi\nif ! [ -f /vmlinuz ]; then set c=1; elif [ -s /initrd.img ]; then set c=2; else set c=3; fi\nif [ 10 -gt 9 -o 1 = 2 ]; then set d=1; fi\nmenuentry 'T' {\nlinux /vmlinuz a=$a b=$b c=$c d=$d\n}\n".to_string()),
        ("growth", "set a=x\nfor i in 1 2 3 4 5 6 7 8 9 10 11 12; do set a=$a$a$a$a; done\nmenuentry 'A' {\nlinux /vmlinuz l=$a\n}\n".to_string()),
        ("steps", format!("set w=\"{w}\"\nfor i in $w; do for j in $w; do set x=$i$j; done; done\nmenuentry 'A' {{\n{k}}}\n", w = "a ".repeat(200))),
        ("gpt-names", format!("set root='hd0,gpt1'\nsearch --no-floppy --fs-uuid --set=dev {u}\nmenuentry 'A' {{\nlinux ($dev)/vmlinuz\n}}\n", u = grub_cases::UUID1)),
        ("loops", format!("for k in a b c; do menuentry \"E $k\" {{\n{k}}}\ndone\nwhile false; do echo; done\nmenuentry 'L' {{\n{k}}}\n")),
    ];
    for (name, cfg) in cfgs {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("sda1");
        std::fs::create_dir_all(d.join("boot/grub")).unwrap();
        std::fs::write(d.join("boot/grub/grub.cfg"), cfg).unwrap();
        std::fs::write(d.join("vmlinuz"), "k").unwrap();
        std::fs::write(d.join("initrd.img"), "i").unwrap();
        let case = grub_cases::Case::one(name, d);
        check(&case);
    }
}

/// Broken versions of real configs (cut short anywhere, a line dropped):
/// both parsers recover the same way.
#[test]
fn truncated_and_damaged_corpus_configs_agree() {
    let text = std::fs::read_to_string(
        grub_cases::corpus().join("debian-mkconfig-3kernels-default-path.cfg"),
    )
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut n = 0;
    let mut variants: Vec<String> = Vec::new();
    for cut in (0..text.len()).step_by(331) {
        let mut c = cut;
        while !text.is_char_boundary(c) {
            c -= 1;
        }
        variants.push(text[..c].to_string());
    }
    for drop in (0..lines.len()).step_by(7) {
        let mut l = lines.clone();
        l.remove(drop);
        variants.push(l.join("\n"));
    }
    for v in variants {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("sda1");
        std::fs::create_dir_all(d.join("boot/grub")).unwrap();
        std::fs::write(d.join("boot/grub/grub.cfg"), &v).unwrap();
        for k in ["57", "56", "9"] {
            std::fs::write(d.join(format!("boot/vmlinuz-6.1.0-{k}-amd64")), "k").unwrap();
            std::fs::write(d.join(format!("boot/initrd.img-6.1.0-{k}-amd64")), "i").unwrap();
        }
        check(&grub_cases::Case::one(&format!("damaged {n}"), d));
        n += 1;
    }
    eprintln!("{n} damaged configs: ash and Rust agree");
}
