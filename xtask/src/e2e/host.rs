//! What the host does to the boots: its pending writes (flushed first), and
//! whether KVM works here (probed once per boot of the host).

use anyhow::{Context, Result};

use super::{fixtures, qemu};
use crate::ws::Ws;
use qemu::Accel;

/// Write out what the build left dirty in the host's page cache before the
/// boots: its writeback (gigabytes after a kernel build) otherwise stalls
/// QEMU's reads of the disk images for seconds in the middle of a boot
/// (seen: a 9 s ext4 mount), which the timings would blame on gen-kexec.
pub(super) fn flush_writes() {
    let started = std::time::Instant::now();
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let secs = started.elapsed().as_secs_f64();
    if secs >= 0.5 {
        println!("e2e: flushed the host's pending writes first ({secs:.1} s)");
    }
}

/// KVM or TCG. The probe boots a kernel (~5 s when KVM is broken), so its
/// answer is kept for this boot of the host and this QEMU.
pub(super) fn probe(ws: &Ws, kernel: &fixtures::DistroKernel) -> Result<Accel> {
    let dir = ws.build.join("e2e/runs");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
    let mut key = crate::stamp::KeyBuilder::default();
    key.value(
        "boot_id",
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .unwrap_or_default()
            .trim(),
    );
    key.input(&crate::stamp::Input::Tool(qemu::QEMU.into()))?;
    let key = key.finish();
    let cache = dir.join("kvm-probe.result");
    let cached = std::fs::read_to_string(&cache).ok().and_then(|s| {
        let (k, v) = s.trim().split_once(' ')?;
        (k == key).then(|| v == "kvm")
    });
    let started = std::time::Instant::now();
    let kvm = match cached {
        Some(kvm) => kvm,
        None => {
            let kvm = qemu::kvm_works(&kernel.path, &dir.join("kvm-probe.log"))?;
            crate::fsutil::write_atomic(
                &cache,
                format!("{key} {}\n", if kvm { "kvm" } else { "tcg" }).as_bytes(),
            )?;
            kvm
        }
    };
    println!(
        "e2e: KVM {} ({}); using {}",
        if kvm { "works" } else { "is not usable here" },
        match cached {
            Some(_) => format!("probed earlier during this boot, {cache}"),
            None => format!("probe {:.1} s", started.elapsed().as_secs_f64()),
        },
        if kvm {
            "KVM"
        } else {
            "TCG (each case takes ~20-40 s)"
        }
    );
    Ok(if kvm { Accel::Kvm } else { Accel::Tcg })
}
