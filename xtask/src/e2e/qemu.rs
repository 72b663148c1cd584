//! QEMU: the machine of a case as a command line (pure, unit-tested), the
//! KVM probe, and a runner that reads the serial port line by line as the
//! guest prints, timestamps each line on the host, lets the caller act on
//! each (type on the serial port, press keys and take screenshots through
//! QMP), and stops early when the verdict is known.
//!
//! The runner uses `std::process` rather than xshell: it must stream the
//! guest's serial output while QEMU runs, which `cmd!` cannot.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::monitor::Qmp;
use super::serial::{self, Line};
use super::verdict::Flow;
use super::{screen, script};

pub const QEMU: &str = "qemu-system-x86_64";
/// Guest memory: the Debian kernel and its initramfs are unpacked twice
/// during a kexec (bootloader's copy, then the target's).
pub const MEMORY_MIB: u32 = 768;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// OVMF (edk2), from pflash: CODE read-only + a fresh copy of VARS.
    Uefi,
    /// SeaBIOS, QEMU's default firmware: legacy boot.
    Bios,
}

/// How the disk is attached, as the firmware and the kernel see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// A USB stick on an xHCI controller.
    UsbXhci,
    /// A SATA disk on an AHCI controller.
    Ahci,
    Nvme,
    VirtioBlk,
}

impl Attach {
    pub fn name(self) -> &'static str {
        match self {
            Attach::UsbXhci => "usb-xhci",
            Attach::Ahci => "ahci",
            Attach::Nvme => "nvme",
            Attach::VirtioBlk => "virtio-blk",
        }
    }
}

/// The keyboard in front of the machine, which QMP `send-key` types on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyboard {
    /// The i8042 PS/2 keyboard every q35 machine has (a laptop's).
    Ps2,
    /// A USB keyboard on its own xHCI controller, with the i8042 switched
    /// off (`-machine q35,i8042=off`): a desktop's, and the only one there
    /// is, so the keys can only arrive through USB HID.
    Usb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

/// Where Debian's `ovmf` package puts the firmware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ovmf {
    pub code: Utf8PathBuf,
    pub vars: Utf8PathBuf,
}

impl Ovmf {
    pub fn find() -> Result<Ovmf> {
        let pairs = [
            (
                "/usr/share/OVMF/OVMF_CODE_4M.fd",
                "/usr/share/OVMF/OVMF_VARS_4M.fd",
            ),
            (
                "/usr/share/OVMF/OVMF_CODE.fd",
                "/usr/share/OVMF/OVMF_VARS.fd",
            ),
        ];
        for (code, vars) in pairs {
            if Utf8Path::new(code).is_file() && Utf8Path::new(vars).is_file() {
                return Ok(Ovmf {
                    code: code.into(),
                    vars: vars.into(),
                });
            }
        }
        bail!("no OVMF firmware in /usr/share/OVMF (looked for OVMF_CODE_4M.fd + OVMF_VARS_4M.fd and OVMF_CODE.fd + OVMF_VARS.fd): install the `ovmf` package (cargo xtask host-deps --test)")
    }
}

/// One boot: everything QEMU needs.
#[derive(Debug, Clone)]
pub struct Machine {
    pub firmware: Firmware,
    pub attach: Attach,
    pub keyboard: Keyboard,
    pub accel: Accel,
    pub disk: Utf8PathBuf,
    /// UEFI: the read-only CODE and this run's own copy of VARS.
    pub pflash: Option<(Utf8PathBuf, Utf8PathBuf)>,
    /// The QMP socket: screenshots and key presses (see `monitor`).
    pub qmp: Utf8PathBuf,
}

/// The arguments every run starts with: a q35 machine with `memory_mib` of
/// RAM, no window, no human monitor, no network, the serial port on stdio,
/// and no reboot (a guest reboot ends the run).
///
/// `-mem-prealloc`: QEMU backs guest RAM before the guest starts, as a real
/// machine's RAM simply is there. Without it every first write to a guest
/// page is a host page fault that the guest's clock counts; `kexec -l`
/// fills ~70 MiB of untouched RAM with the target kernel, and those faults
/// made it 0.17-0.21 s instead of 0.10 s in the timing table.
fn headless(accel: &str, memory_mib: u32) -> Vec<String> {
    [
        "-machine",
        "q35",
        "-accel",
        accel,
        "-m",
        &memory_mib.to_string(),
        "-mem-prealloc",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-nic",
        "none",
        "-no-reboot",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The QEMU command line (without the program name). The disk is opened
/// with `snapshot=on`: the guest's writes go to a temporary overlay, so one
/// adapted image serves every case and is never modified. The machine has
/// a screen (`-vga std`, drawn in memory only: `-display none` opens no
/// window) with a keyboard ([`Keyboard`]), both reached through QMP.
pub fn args(m: &Machine) -> Vec<String> {
    let accel = match m.accel {
        Accel::Kvm => "kvm",
        Accel::Tcg => "tcg",
    };
    let mut a = headless(accel, MEMORY_MIB);
    if m.keyboard == Keyboard::Usb {
        for arg in a.iter_mut().filter(|arg| *arg == "q35") {
            *arg = "q35,i8042=off".to_owned();
        }
    }
    let mut push = |s: &[&str]| a.extend(s.iter().map(|s| s.to_string()));
    if m.keyboard == Keyboard::Usb {
        push(&[
            "-device",
            "qemu-xhci,id=xhci-kbd",
            "-device",
            "usb-kbd,bus=xhci-kbd.0",
        ]);
    }
    push(&["-vga", "std", "-qmp", &super::monitor::qemu_option(&m.qmp)]);
    if let (Firmware::Uefi, Some((code, vars))) = (m.firmware, &m.pflash) {
        push(&[
            "-drive",
            &format!("if=pflash,format=raw,unit=0,readonly=on,file={code}"),
        ]);
        push(&[
            "-drive",
            &format!("if=pflash,format=raw,unit=1,file={vars}"),
        ]);
    }
    push(&[
        "-drive",
        &format!("if=none,id=disk,format=raw,snapshot=on,file={}", m.disk),
    ]);
    match m.attach {
        Attach::UsbXhci => push(&[
            "-device",
            "qemu-xhci,id=xhci",
            "-device",
            "usb-storage,bus=xhci.0,drive=disk,bootindex=1",
        ]),
        Attach::Ahci => push(&[
            "-device",
            "ahci,id=ahci",
            "-device",
            "ide-hd,bus=ahci.0,drive=disk,bootindex=1",
        ]),
        Attach::Nvme => push(&[
            "-device",
            "nvme,serial=gen-kexec-e2e,drive=disk,bootindex=1",
        ]),
        Attach::VirtioBlk => push(&["-device", "virtio-blk-pci,drive=disk,bootindex=1"]),
    }
    a
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// QEMU exited by itself (the guest powered off, or QEMU failed).
    Exited(Option<i32>),
    /// The watcher had seen enough; QEMU was stopped.
    Stopped,
    TimedOut,
}

pub struct Run {
    pub lines: Vec<Line>,
    pub ended: Ended,
}

/// After the watcher is done, how long to keep reading (the marker's
/// `poweroff -f`, the rescue shell's prompt) before stopping QEMU.
const GRACE: Duration = Duration::from_secs(2);

/// The running machine, as a [`script::Guest`]: its serial port (QEMU's
/// stdin) and, connected on first use, its QMP socket.
pub struct Controls {
    stdin: Option<ChildStdin>,
    qmp_socket: Option<Utf8PathBuf>,
    qmp: Option<Qmp>,
    /// Where screenshots go: `DIR/NAME.png`.
    pub dir: Utf8PathBuf,
    /// The screenshots taken, by name, in order.
    pub shots: Vec<(String, Utf8PathBuf)>,
}

impl Controls {
    fn qmp(&mut self) -> Result<&mut Qmp, String> {
        if self.qmp.is_none() {
            let socket = (self.qmp_socket.as_ref()).ok_or("this machine has no QMP socket")?;
            let qmp = Qmp::connect(socket, Duration::from_secs(5)).map_err(|e| format!("{e:#}"))?;
            self.qmp = Some(qmp);
        }
        Ok(self.qmp.as_mut().expect("connected above"))
    }
}

impl script::Guest for Controls {
    fn send_serial(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or("the serial port is not writable")?;
        stdin
            .write_all(bytes)
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("writing to the serial port: {e}"))
    }

    fn send_key(&mut self, key: &str) -> Result<(), String> {
        self.qmp()?.send_key(key).map_err(|e| format!("{e:#}"))
    }

    fn pause(&mut self, d: Duration) {
        std::thread::sleep(d);
    }

    /// `screendump` to `NAME.ppm`, converted to `NAME.png` (the PPM is
    /// removed).
    fn screenshot(&mut self, name: &str) -> Result<(), String> {
        let ppm = self.dir.join(format!("{name}.ppm"));
        let png = self.dir.join(format!("{name}.png"));
        self.qmp()?.screendump(&ppm).map_err(|e| format!("{e:#}"))?;
        let bytes = std::fs::read(&ppm).map_err(|e| format!("cannot read {ppm}: {e}"))?;
        let picture = screen::parse_ppm(&bytes).map_err(|e| format!("{ppm}: {e}"))?;
        let encoded = screen::to_png(&picture).map_err(|e| format!("{png}: {e}"))?;
        crate::fsutil::write_atomic(&png, &encoded).map_err(|e| format!("{e:#}"))?;
        let _ = std::fs::remove_file(&ppm);
        self.shots.push((name.to_owned(), png));
        Ok(())
    }
}

/// Start QEMU, write its serial output to `log` as it arrives (QEMU's own
/// messages go to `log.qemu-stderr`), and feed each line to `watch`, which
/// may act on the machine through the [`Controls`] (its screenshots go to
/// the log's directory).
pub fn run(
    args: &[String],
    log: &Utf8Path,
    qmp_socket: Option<&Utf8Path>,
    timeout: Duration,
    mut watch: impl FnMut(&Line, &mut Controls) -> Flow,
) -> Result<(Run, Controls)> {
    let stderr_path = Utf8PathBuf::from(format!("{log}.qemu-stderr"));
    let stderr = std::fs::File::create(&stderr_path)
        .with_context(|| format!("cannot create {stderr_path}"))?;
    let mut logf = std::fs::File::create(log).with_context(|| format!("cannot create {log}"))?;
    let started = Instant::now();
    let mut child = std::process::Command::new(QEMU)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start {QEMU}: install the `qemu-system-x86` package"))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut controls = Controls {
        stdin: child.stdin.take(),
        qmp_socket: qmp_socket.map(Utf8Path::to_owned),
        qmp: None,
        dir: log.parent().unwrap_or(Utf8Path::new(".")).to_owned(),
        shots: Vec::new(),
    };
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });

    let mut lines = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut deadline = started + timeout;
    let mut done = false;
    let ended = loop {
        let now = Instant::now();
        if now >= deadline {
            stop(&mut child);
            break if done {
                Ended::Stopped
            } else {
                Ended::TimedOut
            };
        }
        match rx.recv_timeout(deadline - now) {
            Ok((at, bytes)) => {
                logf.write_all(&bytes)
                    .with_context(|| format!("cannot write {log}"))?;
                pending.extend_from_slice(&bytes);
                while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
                    let raw: Vec<u8> = pending.drain(..=nl).collect();
                    let line = Line {
                        at: at - started,
                        text: serial::clean(&String::from_utf8_lossy(&raw)),
                    };
                    if !done && watch(&line, &mut controls) == Flow::Done {
                        done = true;
                        deadline = deadline.min(Instant::now() + GRACE);
                    }
                    lines.push(line);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().context("waiting for QEMU")?;
                break Ended::Exited(status.code());
            }
        }
    };
    if !pending.is_empty() {
        let text = serial::clean(&String::from_utf8_lossy(&pending));
        lines.push(Line {
            at: started.elapsed(),
            text,
        });
    }
    let _ = reader.join();
    // Closing QMP and the serial port before QEMU is gone is fine too.
    controls.qmp = None;
    controls.stdin = None;
    Ok((Run { lines, ended }, controls))
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// QEMU's own error output of a run (why it could not start a machine).
pub fn stderr_of(log: &Utf8Path) -> String {
    std::fs::read_to_string(format!("{log}.qemu-stderr")).unwrap_or_default()
}

/// Does KVM work here? `/dev/kvm` may exist and still be unusable (nested
/// virtualisation that hangs or rejects MSRs), so boot a real kernel and
/// wait for its banner: a few hundred ms with a working KVM.
pub fn kvm_works(kernel: &Utf8Path, log: &Utf8Path) -> Result<bool> {
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return Ok(false);
    }
    let mut args = headless("kvm", 256);
    args.extend(
        [
            "-kernel",
            kernel.as_str(),
            "-append",
            "console=ttyS0 panic=-1",
        ]
        .map(String::from),
    );
    let (run, _) = run(
        &args,
        log,
        None,
        Duration::from_secs(5),
        |l, _| match serial::kernel_banner(&l.text) {
            Some(_) => Flow::Done,
            None => Flow::Continue,
        },
    )?;
    Ok(run
        .lines
        .iter()
        .any(|l| serial::kernel_banner(&l.text).is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(firmware: Firmware, attach: Attach) -> Machine {
        Machine {
            firmware,
            attach,
            keyboard: Keyboard::Ps2,
            accel: Accel::Tcg,
            disk: "/b/disk.img".into(),
            pflash: Some(("/fw/CODE.fd".into(), "/run/VARS.fd".into())),
            qmp: "/run/qmp.sock".into(),
        }
    }

    #[test]
    fn usb_keyboard_is_the_only_keyboard() {
        let ps2 = args(&machine(Firmware::Uefi, Attach::Nvme)).join(" ");
        assert!(
            ps2.contains("-machine q35 ") && !ps2.contains("usb-kbd"),
            "{ps2}"
        );
        let usb = args(&Machine {
            keyboard: Keyboard::Usb,
            ..machine(Firmware::Uefi, Attach::Nvme)
        })
        .join(" ");
        assert!(usb.contains("-machine q35,i8042=off "), "{usb}");
        assert!(
            usb.contains("-device qemu-xhci,id=xhci-kbd -device usb-kbd,bus=xhci-kbd.0"),
            "{usb}"
        );
    }

    #[test]
    fn uefi_uses_readonly_code_and_own_vars() {
        let a = args(&machine(Firmware::Uefi, Attach::Nvme)).join(" ");
        assert!(
            a.contains("if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd"),
            "{a}"
        );
        assert!(
            a.contains("if=pflash,format=raw,unit=1,file=/run/VARS.fd"),
            "{a}"
        );
        assert!(
            a.contains("-device nvme,serial=gen-kexec-e2e,drive=disk,bootindex=1"),
            "{a}"
        );
        assert!(a.contains("-m 768 -mem-prealloc"), "{a}");
    }

    #[test]
    fn a_screen_without_a_window_and_qmp_to_reach_it() {
        for fw in [Firmware::Uefi, Firmware::Bios] {
            let a = args(&machine(fw, Attach::Ahci)).join(" ");
            assert!(a.contains("-display none"), "{a}");
            assert!(a.contains("-monitor none"), "{a}");
            assert!(a.contains("-vga std"), "{a}");
            assert!(
                a.contains("-qmp unix:/run/qmp.sock,server=on,wait=off"),
                "{a}"
            );
            assert!(a.contains("-serial stdio"), "{a}");
        }
    }

    #[test]
    fn bios_has_no_pflash_and_disks_are_snapshots() {
        for attach in [
            Attach::UsbXhci,
            Attach::Ahci,
            Attach::Nvme,
            Attach::VirtioBlk,
        ] {
            let a = args(&machine(Firmware::Bios, attach)).join(" ");
            assert!(!a.contains("pflash"), "{a}");
            assert!(a.contains("snapshot=on,file=/b/disk.img"), "{a}");
            assert!(a.contains("bootindex=1"), "{a}");
        }
        let usb = args(&machine(Firmware::Bios, Attach::UsbXhci)).join(" ");
        assert!(
            usb.contains("-device qemu-xhci,id=xhci -device usb-storage,bus=xhci.0"),
            "{usb}"
        );
    }
}
