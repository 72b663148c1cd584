//! busybox, static against the musl sysroot: the initramfs's shell and tools.
//!
//! Its configuration is the repository's fragment
//! (`kconfig-fragments/busybox/initramfs.config`) over "everything off",
//! see [`busybox_config`](super::busybox_config) for how and why. Built out
//! of tree (`O=`) with the sysroot's `musl-gcc`; busybox's own link step
//! strips it (`strip -s --remove-section=.note --remove-section=.comment`).
//! Reproducible: `KCONFIG_NOTIMESTAMP=1` (no build date in the banner),
//! `SOURCE_DATE_EPOCH`, and `-ffile-prefix-map` through CONFIG_EXTRA_CFLAGS.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::busybox_config::{self, Entry};
use super::{fresh_dir, install_file, linux_headers, src_dir, target_cflags, Dirs, Target};
use crate::fsutil;
use crate::plan::{Command, Stage, Step};
use crate::stamp::Input;
use crate::ws::Ws;

/// The `sources.lock` entry.
pub const SOURCE: &str = "busybox";

/// Applets the bootloader runs, by who runs them. The runtime library
/// (what `kexec.sourceme` calls) declares its own in its `# applets:` line, read by [`required_applets`].
/// The fragment must enable all of them (a unit test checks it) and the
/// built binary must list them (the install step checks it).
pub const REQUIRED_APPLETS: &[(&str, &[&str])] = &[
    (
        "initramfs-skel/init",
        &[
            "sh", "echo", "printf", "setsid", "cttyhack", "sleep", "usleep", "mount", "cat",
            "findfs", "[",
        ],
    ),
    (
        "the rescue shell",
        &[
            "ash", "test", "[[", "printf", "blkid", "mdev", "sed", "awk", "grep", "umount",
            "poweroff", "reboot", "halt", "ls", "mkdir", "ln", "cp", "mv", "rm", "head", "tr",
            "cut", "basename", "dirname", "readlink", "dmesg", "uname", "true", "false",
        ],
    ),
];

/// The runtime library file whose `# applets:` line lists what it runs.
pub const SOURCEME: &str = "initramfs-skel/lib/gen-kexec/gen-kexec.sh";

/// Every required applet, with who needs it.
pub fn required_applets(root: &Utf8Path) -> Result<BTreeMap<String, String>> {
    let mut need = BTreeMap::new();
    for (who, applets) in REQUIRED_APPLETS {
        for a in *applets {
            need.entry(a.to_string()).or_insert_with(|| who.to_string());
        }
    }
    let path = root.join(SOURCEME);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let header = text
        .lines()
        .find_map(|l| l.strip_prefix("# applets:"))
        .with_context(|| {
            format!("{path}: no `# applets: ...` header line listing the busybox applets it runs")
        })?;
    for a in header.split_whitespace() {
        need.entry(a.to_owned())
            .or_insert_with(|| SOURCEME.to_owned());
    }
    Ok(need)
}

/// The kconfig symbol that enables an applet.
pub fn applet_symbol(applet: &str) -> String {
    match applet {
        "[" => "TEST1".to_owned(),
        "[[" => "TEST2".to_owned(),
        "sh" => "SH_IS_ASH".to_owned(),
        other => other.to_uppercase().replace('-', "_"),
    }
}

/// Run the built busybox (when this machine can) and compare `--list`
/// with [`required_applets`].
fn check_applets(root: &Utf8Path, target: Target, binary: &Utf8Path) -> Result<()> {
    if target.name() != std::env::consts::ARCH {
        return Ok(()); // a foreign binary: the unit test on the fragment has to do
    }
    let out = std::process::Command::new(binary)
        .arg("--list")
        .output()
        .with_context(|| format!("cannot run {binary} --list"))?;
    let listed = String::from_utf8_lossy(&out.stdout);
    let listed: BTreeSet<&str> = listed.lines().collect();
    let missing: Vec<String> = required_applets(root)?
        .into_iter()
        .filter(|(a, _)| !listed.contains(a.as_str()))
        .map(|(a, who)| format!("{a} (for {who}: CONFIG_{})", applet_symbol(&a)))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{binary} lacks applets: {}; enable them in {}",
            missing.join(", "),
            busybox_config::fragment_path(root)
        );
    }
    Ok(())
}

/// Settings the recipe adds on top of the fragment (and checks like it).
fn recipe_entries(ws: &Ws) -> Vec<Entry> {
    let entry = |symbol: &str, value: String, why: &str| Entry {
        origin: format!("recipes/busybox.rs ({why})"),
        symbol: symbol.to_owned(),
        value,
    };
    vec![
        entry(
            "EXTRA_CFLAGS",
            format!("\"{}\"", target_cflags(ws, "")),
            "reproducible paths",
        ),
        // networking/tc.c uses TCA_CBQ_* which Linux 6.x's UAPI dropped.
        entry("TC", "n".to_owned(), "does not build with 6.x UAPI headers"),
    ]
}

pub fn steps(ws: &Ws, target: Target) -> Result<Vec<Step>> {
    let dirs = Dirs::new(ws, target);
    let component = target.component(SOURCE);
    let src = src_dir(ws, SOURCE);
    let obj = dirs.obj_of(SOURCE);
    let fragment = busybox_config::fragment_path(&ws.root);
    let config = obj.join(".config");
    let kmake = |goal: &str| {
        Command::new("make", &src)
            .arg(format!("O={obj}"))
            .arg("HOSTCC=gcc")
            .arg(goal)
            .env("KCONFIG_NOTIMESTAMP", "1")
    };

    let merge = {
        let (fragment, config) = (fragment.clone(), config.clone());
        let extra = recipe_entries(ws);
        move |_: &Ws| -> Result<()> {
            let mut entries = read_fragment(&fragment)?;
            entries.extend(extra.iter().cloned());
            let universe = std::fs::read_to_string(&config)
                .with_context(|| format!("cannot read {config}"))?;
            let merged = busybox_config::merge(&universe, &entries)?;
            fsutil::write_atomic(&config, merged.as_bytes())
        }
    };
    let verify = {
        let (fragment, config) = (fragment.clone(), config.clone());
        let extra = recipe_entries(ws);
        move |_: &Ws| -> Result<()> {
            let mut entries = read_fragment(&fragment)?;
            entries.extend(extra.iter().cloned());
            let text = std::fs::read_to_string(&config)
                .with_context(|| format!("cannot read {config}"))?;
            busybox_config::verify(&config, &text, &entries)
        }
    };
    let recipe_settings: Vec<String> = recipe_entries(ws).iter().map(Entry::config_line).collect();
    let recipe_settings = recipe_settings.join(" ");
    let configure = Step::new(&component, Stage::Configure)
        .dep(SOURCE)
        .dep(&target.component(linux_headers::NAME))
        .input(Input::File(fragment.clone()))
        .value("recipe-settings", recipe_settings)
        .input(Input::Tool(target.tool("gcc")))
        .native(format!("empty {obj}"), {
            let obj = obj.clone();
            move |_| fresh_dir(&obj)
        })
        // Lists every symbol; `merge` then turns all but the fragment's off.
        .run(kmake("allyesconfig"))
        .native(
            format!("write {config}: {fragment} over everything off"),
            merge,
        )
        .run(kmake("oldconfig"))
        .native(
            format!("check that {config} has every setting of {fragment}"),
            verify,
        )
        .output(config);

    let build = Step::new(&component, Stage::Build)
        .run(
            kmake("busybox")
                .arg(format!("CC={}", dirs.musl_gcc()))
                .arg(format!("CROSS_COMPILE={}", target.tool_prefix()))
                .arg("V=1")
                .arg(format!("-j{}", ws.jobs())),
        )
        .output(obj.join("busybox"));

    let out = binary(ws, target);
    // Keyed by the applet list, not by the whole script: editing
    // kexec.sourceme must not re-install busybox (and so re-link the kernel)
    // unless its `# applets:` header changed.
    let applets: Vec<String> = required_applets(&ws.root)?.into_keys().collect();
    let install = Step::new(&component, Stage::Install)
        .value("required applets", applets.join(" "))
        .native(
            format!("check that {obj}/busybox has every required applet"),
            {
                let (root, binary) = (ws.root.clone(), obj.join("busybox"));
                move |_| check_applets(&root, target, &binary)
            },
        )
        .native(format!("install {obj}/busybox as {out}"), {
            let (from, to) = (obj.join("busybox"), out.clone());
            move |ws| install_file(ws, &from, &to, 0o755)
        })
        .output(out);

    Ok(vec![configure, build, install])
}

/// Where the finished binary goes.
pub fn binary(ws: &Ws, target: Target) -> Utf8PathBuf {
    Dirs::new(ws, target).out.join("busybox")
}

fn read_fragment(path: &Utf8Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the busybox config fragment {path}"))?;
    busybox_config::parse(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::describe;
    use crate::recipes::testutil;

    const B: &str = "/nonexistent/gen-kexec-test/build";

    #[test]
    fn static_busybox_with_musl_gcc_out_of_tree() {
        let ws = testutil::ws();
        let text = describe(&steps(&ws, Target::X86_64).unwrap());
        assert!(
            text.contains(&format!(
                "(cd {B}/src/busybox && KCONFIG_NOTIMESTAMP=1 make O={B}/x86_64/obj/busybox \
             HOSTCC=gcc busybox CC={B}/x86_64/sysroot/bin/musl-gcc CROSS_COMPILE= V=1 -j"
            )),
            "{text}"
        );
        assert!(text.contains(&format!("{B}/x86_64/obj/busybox HOSTCC=gcc allyesconfig")));
        assert!(text.contains(&format!("{B}/x86_64/obj/busybox HOSTCC=gcc oldconfig")));
        assert!(text.contains("kconfig-fragments/busybox/initramfs.config"));
        assert!(text.contains("after  linux-headers-x86_64"), "{text}");
        assert!(text.contains("input  tool gcc"));
        assert!(text.contains(&format!("output {B}/x86_64/out/busybox")));
    }

    #[test]
    fn shipped_fragment_enables_every_required_applet_and_no_tc() {
        let ws = testutil::ws();
        let path = busybox_config::fragment_path(&ws.root);
        let entries = read_fragment(&path).unwrap();
        let on = |sym: &str| entries.iter().any(|e| e.symbol == sym && e.value == "y");
        for (applet, who) in required_applets(&ws.root).unwrap() {
            let sym = applet_symbol(&applet);
            assert!(
                on(&sym),
                "{path}: CONFIG_{sym}=y missing ({applet}, needed by {who})"
            );
        }
        for sym in [
            "STATIC",
            "ASH",
            "FEATURE_SH_MATH",
            "FEATURE_FANCY_SLEEP",
            "FLOAT_DURATION",
            "VOLUMEID",
            "FEATURE_VOLUMEID_FAT",
            "FEATURE_VOLUMEID_ISO9660",
            "FEATURE_VOLUMEID_EXT",
        ] {
            assert!(on(sym), "{path}: CONFIG_{sym}=y missing");
        }
        assert!(!on("TC") && !on("MODPROBE") && !on("INSMOD"));
        let need = required_applets(&ws.root).unwrap();
        assert!(
            need.values().any(|who| who == SOURCEME),
            "the sourceme header is read"
        );
    }

    #[test]
    fn built_binary_missing_a_required_applet_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let ws = testutil::ws();
        let dir = tempfile::tempdir().unwrap();
        let fake = Utf8PathBuf::from_path_buf(dir.path().join("busybox")).unwrap();
        let mut all: Vec<String> = required_applets(&ws.root).unwrap().into_keys().collect();
        let write = |applets: &[String]| {
            let script = format!(
                "#!/bin/sh\nprintf '%s\\n' {}\n",
                applets
                    .iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            std::fs::write(&fake, script).unwrap();
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        write(&all);
        check_applets(&ws.root, Target::X86_64, &fake).unwrap();
        all.retain(|a| a != "findfs");
        write(&all);
        let err = check_applets(&ws.root, Target::X86_64, &fake)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lacks applets: findfs (for initramfs-skel/init: CONFIG_FINDFS)"),
            "{err}"
        );
    }

    #[test]
    fn recipe_adds_reproducible_cflags_and_keeps_tc_off() {
        let ws = testutil::ws();
        let lines: Vec<String> = recipe_entries(&ws).iter().map(Entry::config_line).collect();
        assert_eq!(
            lines,
            [
                format!("CONFIG_EXTRA_CFLAGS=\"-ffile-prefix-map={B}=.\""),
                "# CONFIG_TC is not set".to_owned()
            ]
        );
    }
}
