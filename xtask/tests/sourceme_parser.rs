//! The syslinux-config half of `scripts/kexec.sourceme`, run under busybox
//! ash on real-world-shaped boot partitions (tests/sourceme/*): which label,
//! kernel, initrds and command line the script hands to kexec.

mod sourceme_harness;

use sourceme_harness::{fixture, plan, tree, Plan, BOOTLOADER_CMDLINE};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn ok(planned: sourceme_harness::Planned) -> Plan {
    planned
        .plan
        .unwrap_or_else(|e| panic!("kexec.sourceme refused:\n{e}"))
}

#[test]
fn gentoo_minimal_boots_its_default_label() {
    // Nobody at the keyboard: isolinux's boot: prompt times out into
    // `ontimeout localhost` (LOCALBOOT), which gen-kexec cannot do, so it
    // does not boot anything by itself (the menu waits for a choice).
    let err = plan(&fixture("gentoo-minimal"), None, BOOTLOADER_CMDLINE)
        .plan
        .unwrap_err();
    assert!(
        err.contains("label 'localhost' in /isolinux/isolinux.cfg (ONTIMEOUT localhost) is not a Linux kernel: LOCALBOOT"),
        "{err}"
    );
    // What a person choosing DEFAULT's label `gentoo` gets.
    let p = ok(plan(
        &fixture("gentoo-minimal"),
        Some("label=gentoo\n"),
        BOOTLOADER_CMDLINE,
    ));
    assert_eq!(
        p,
        Plan {
            config: "/isolinux/isolinux.cfg".into(),
            label: "gentoo".into(),
            kernel: "/isolinux/gentoo".into(),
            initrds: strings(&["/isolinux/gentoo.igz"]),
            cmdline: "BOOT_IMAGE=gentoo root=/dev/ram0 init=/linuxrc dokeymap looptype=squashfs \
                      loop=/image.squashfs cdroot vga=791 console=ttyS0,115200 console=tty0"
                .into(),
        }
    );
}

#[test]
fn gen_kexec_conf_picks_the_label_and_appends_arguments() {
    // Written on Windows: CRLF, a comment, quotes, blanks around `=`.
    let conf = "# boot without framebuffer, log to serial\r\n\
                label = gentoo-nofb\r\n\
                append=\"console=ttyS0,115200n8 gentoo.debug\"\r\n\
                timeout=7\r\n";
    let p = ok(plan(
        &fixture("gentoo-minimal"),
        Some(conf),
        BOOTLOADER_CMDLINE,
    ));
    assert_eq!(p.label, "gentoo-nofb");
    assert_eq!(p.kernel, "/isolinux/gentoo");
    assert_eq!(p.initrds, strings(&["/isolinux/gentoo.igz"]));
    // The user chose a console: the bootloader's are not carried over.
    assert_eq!(
        p.cmdline,
        "BOOT_IMAGE=gentoo root=/dev/ram0 init=/linuxrc dokeymap looptype=squashfs \
         loop=/image.squashfs cdroot console=ttyS0,115200n8 gentoo.debug"
    );
}

#[test]
fn a_label_that_does_not_exist_is_refused_with_the_list_of_labels() {
    let err = plan(
        &fixture("gentoo-minimal"),
        Some("label=Gentoo\n"),
        BOOTLOADER_CMDLINE,
    )
    .plan
    .unwrap_err();
    assert!(
        err.contains("/isolinux/isolinux.cfg has no label 'Gentoo'")
            && err.contains("labels: gentoo gentoo-nofb memtest86 localhost"),
        "{err}"
    );
}

#[test]
fn debian_installer_menu_default_through_includes() {
    let planned = plan(&fixture("debian-installer"), None, BOOTLOADER_CMDLINE);
    // isolinux.cfg -> menu.cfg -> adspkgtk.cfg is missing: skipped, as syslinux does.
    assert!(
        planned.stderr.contains(
            "gen-kexec: warning: /isolinux/menu.cfg:17: include /isolinux/adspkgtk.cfg: \
             no such file; skipped (as syslinux does)"
        ),
        "{}",
        planned.stderr
    );
    // `default vesamenu.c32` is the last DEFAULT (gtk.cfg's `default
    // installgui` came before): the menu starts on its `menu default`.
    assert_eq!(
        ok(planned),
        Plan {
            config: "/isolinux/isolinux.cfg".into(),
            label: "installgui".into(),
            kernel: "/install.amd/vmlinuz".into(),
            initrds: strings(&["/install.amd/gtk/initrd.gz"]),
            cmdline: "BOOT_IMAGE=/install.amd/vmlinuz vga=788 --- quiet \
                      console=ttyS0,115200 console=tty0"
                .into(),
        }
    );
}

#[test]
fn debian_installer_label_from_a_submenu_and_a_nested_include() {
    // `rescue` sits in the Advanced submenu, in rqtxt.cfg included by adtxt.cfg.
    let p = ok(plan(
        &fixture("debian-installer"),
        Some("label=rescue\n"),
        "",
    ));
    assert_eq!(p.kernel, "/install.amd/vmlinuz");
    assert_eq!(p.initrds, strings(&["/install.amd/initrd.gz"]));
    assert_eq!(
        p.cmdline,
        "BOOT_IMAGE=/install.amd/vmlinuz vga=788 rescue/enable=true --- quiet"
    );
    // `help` is `config prompt.cfg`: syslinux starts over with that file
    // (a boot: prompt over the same menu), whose DEFAULT is installgui.
    let planned = plan(&fixture("debian-installer"), Some("label=help\n"), "");
    assert!(
        planned.stdout_has("CONFIG /isolinux/prompt.cfg (label help in /isolinux/isolinux.cfg): reading it, working directory /isolinux"),
        "{}",
        planned.stdout
    );
    assert_eq!(ok(planned).label, "installgui");
}

#[test]
fn ubuntu_ui_without_menu_default_boots_the_first_menu_entry() {
    let p = ok(plan(&fixture("ubuntu-casper"), None, BOOTLOADER_CMDLINE));
    assert_eq!(p.label, "live");
    assert_eq!(p.kernel, "/casper/vmlinuz.efi");
    assert_eq!(p.initrds, strings(&["/casper/initrd.lz"]));
    assert_eq!(
        p.cmdline,
        "BOOT_IMAGE=/casper/vmlinuz.efi file=/cdrom/preseed/ubuntu.seed boot=casper quiet splash \
         --- console=ttyS0,115200 console=tty0"
    );
}

#[test]
fn arch_initrd_directive_with_two_files_and_parent_relative_paths() {
    let p = ok(plan(&fixture("arch-syslinux"), None, BOOTLOADER_CMDLINE));
    assert_eq!(
        p,
        Plan {
            config: "/boot/syslinux/syslinux.cfg".into(),
            label: "arch".into(),
            kernel: "/boot/vmlinuz-linux".into(),
            initrds: strings(&["/boot/intel-ucode.img", "/boot/initramfs-linux.img"]),
            cmdline:
                "BOOT_IMAGE=../vmlinuz-linux root=/dev/sda3 rw console=ttyS0,115200 console=tty0"
                    .into(),
        }
    );
    let p = ok(plan(
        &fixture("arch-syslinux"),
        Some("label=archfallback"),
        "",
    ));
    assert_eq!(p.initrds, strings(&["/boot/initramfs-linux-fallback.img"]));
    let err = plan(&fixture("arch-syslinux"), Some("label=hdt"), "")
        .plan
        .unwrap_err();
    assert!(
        err.contains("label 'hdt'") && err.contains("not a Linux kernel"),
        "{err}"
    );
}

#[test]
fn crlf_tabs_mixed_case_and_an_append_initrd_list() {
    // /syslinux.cfg: `DEFAULT\trescue`, `KERNEL\t/boot/...`, `Append\tinitrd=a,b`.
    let p = ok(plan(&fixture("rescue-stick"), None, BOOTLOADER_CMDLINE));
    assert_eq!(
        p,
        Plan {
            config: "/syslinux.cfg".into(),
            label: "rescue".into(),
            kernel: "/boot/vmlinuz-lts".into(),
            // Absolute from the partition root, and relative to the config's directory.
            initrds: strings(&["/boot/amd-ucode.img", "/initramfs-lts.img"]),
            cmdline: "BOOT_IMAGE=/boot/vmlinuz-lts root=LABEL=RESCUE rw quiet \
                      console=ttyS0,115200 console=tty0"
                .into(),
        }
    );
}

#[test]
fn extlinux_on_ext4_keeps_the_targets_own_console() {
    let planned = plan(&fixture("debian-extlinux"), None, BOOTLOADER_CMDLINE);
    assert!(
        planned.stderr.contains(
            "/boot/extlinux/extlinux.conf:12: include /boot/extlinux/themes/debian/theme.cfg: \
             no such file; skipped"
        ),
        "{}",
        planned.stderr
    );
    assert_eq!(
        ok(planned),
        Plan {
            config: "/boot/extlinux/extlinux.conf".into(),
            label: "l0".into(),
            kernel: "/boot/vmlinuz-6.1.0-13-amd64".into(),
            initrds: strings(&["/boot/initrd.img-6.1.0-13-amd64"]),
            cmdline: "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 \
                      root=UUID=5b1a7ad2-0c4e-4b8a-9a43-7d5c2c9e1f10 ro console=ttyS0,115200n8 quiet"
                .into(),
        }
    );
}

#[test]
fn default_label_running_a_module_falls_back_to_menu_default() {
    let root = tree(&[
        (
            "isolinux/isolinux.cfg",
            "APPEND quiet\nDEFAULT start\nLABEL start\n  KERNEL vesamenu.c32\n  APPEND menu.cfg\n\
             MENU INCLUDE menu.cfg\n",
        ),
        (
            "isolinux/menu.cfg",
            "label plain\n  linux /live/vmlinuz\n\
             label toram\n  menu default\n  linux /live/vmlinuz\n  append boot=live toram\n  initrd /live/initrd.img\n\
             text help\n  Append single to the command line for a rescue shell.\nendtext\n\
             label nomodeset\n  linux /live/vmlinuz\n  append -\n",
        ),
    ]);
    let p = ok(plan(root.path(), None, ""));
    assert_eq!(p.label, "toram");
    assert_eq!(p.kernel, "/live/vmlinuz");
    assert_eq!(p.initrds, strings(&["/live/initrd.img"]));
    assert_eq!(p.cmdline, "BOOT_IMAGE=/live/vmlinuz boot=live toram");
    // A label without APPEND inherits the global one; `append -` means none.
    let p = ok(plan(root.path(), Some("label=plain"), ""));
    assert_eq!(
        (p.initrds.len(), p.cmdline.as_str()),
        (0, "BOOT_IMAGE=/live/vmlinuz quiet")
    );
    let p = ok(plan(root.path(), Some("label=nomodeset"), ""));
    assert_eq!(p.cmdline, "BOOT_IMAGE=/live/vmlinuz");
}

#[test]
fn default_with_options_and_arguments_for_init() {
    let root = tree(&[(
        "extlinux.conf",
        "default linux single\nlabel linux\nkernel vmlinuz\n\
         append root=/dev/vda1 initrd=first.img -- init-arg\ninitrd second.img\n",
    )]);
    let p = ok(plan(
        root.path(),
        Some("append=earlyprintk=ttyS0"),
        BOOTLOADER_CMDLINE,
    ));
    // syslinux loads the first initrd= only; the INITRD directive comes after APPEND.
    assert_eq!(p.initrds, strings(&["/first.img"]));
    // What gen-kexec adds goes before `--`, which hands the rest to init.
    assert_eq!(
        p.cmdline,
        "BOOT_IMAGE=vmlinuz root=/dev/vda1 console=ttyS0,115200 console=tty0 earlyprintk=ttyS0 \
         -- init-arg single"
    );
}

#[test]
fn an_include_loop_is_cut_with_a_warning() {
    let root = tree(&[
        (
            "syslinux/syslinux.cfg",
            "include loop.cfg\nlabel a\nlinux /a\n",
        ),
        ("syslinux/loop.cfg", "include /syslinux/loop.cfg\n"),
    ]);
    let planned = plan(root.path(), None, "");
    assert!(
        planned.stderr.contains("nested more than 16 deep"),
        "{}",
        planned.stderr
    );
    assert_eq!(ok(planned).kernel, "/a");
}

#[test]
fn a_config_without_a_linux_label_is_refused() {
    let root = tree(&[(
        "isolinux/isolinux.cfg",
        "default menu.c32\nlabel hd\n  localboot 0x80\nlabel hdt\n  kernel hdt.c32\n",
    )]);
    let err = plan(root.path(), None, "").plan.unwrap_err();
    assert!(
        err.contains(
            "/isolinux/isolinux.cfg has no label that boots a Linux kernel; labels: hd hdt"
        ),
        "{err}"
    );
}
