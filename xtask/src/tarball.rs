//! `cargo xtask tarball`: `dist/efi.tar.xz`, what users untar onto their
//! ESP: `EFI/Boot/bootx64.efi` and `kexec.sourceme`. Bit-for-bit
//! reproducible: sorted entries, fixed mtime, owner 0:0 without names,
//! normalised modes, xz preset 9e single-threaded through the xz2 crate (so
//! the host's xz does not matter).

use std::time::Instant;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::bootloader;
use crate::kconfig::profile;
use crate::plan::{self, Stage, Step};
use crate::recipes::Target;
use crate::stamp::Input;
use crate::ws::Ws;

pub const SOURCEME: &str = "scripts/kexec.sourceme";
pub const TARBALL: &str = "efi.tar.xz";
/// LZMA_PRESET_EXTREME: `xz -9e`.
const XZ_PRESET: u32 = 9 | 0x8000_0000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kernel configuration profile (kconfig-fragments/linux/profiles.toml);
    /// other than the default, the tarball goes to `dist/<profile>/`.
    #[arg(long, default_value = profile::DEFAULT_PROFILE)]
    pub profile: String,
    /// Architecture to build for.
    #[arg(long, value_enum, default_value_t = Target::X86_64)]
    pub target: Target,
}

/// One member of the tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Dir(String),
    File { path: String, source: Utf8PathBuf },
}

/// The members, sorted by path, with every parent directory listed.
pub fn members(efi: &Utf8Path, sourceme: &Utf8Path) -> Vec<Member> {
    vec![
        Member::Dir("EFI/".into()),
        Member::Dir("EFI/Boot/".into()),
        Member::File {
            path: "EFI/Boot/bootx64.efi".into(),
            source: efi.to_owned(),
        },
        Member::File {
            path: "kexec.sourceme".into(),
            source: sourceme.to_owned(),
        },
    ]
}

/// The uncompressed tar of `members`: ustar headers, modes 0755/0644, owner
/// 0:0 with empty names, every mtime `mtime`.
pub fn tar(members: &[Member], mtime: u64) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = tar::Header::new_ustar();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        match m {
            Member::Dir(path) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                h.set_path(path)?;
                h.set_cksum();
                b.append(&h, std::io::empty())?;
            }
            Member::File { path, source } => {
                let data =
                    std::fs::read(source).with_context(|| format!("cannot read {source}"))?;
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(data.len() as u64);
                h.set_path(path)?;
                h.set_cksum();
                b.append(&h, data.as_slice())?;
            }
        }
    }
    Ok(b.into_inner()?)
}

/// `xz -9e` (single-threaded, CRC64) of `data`.
pub fn xz(data: &[u8]) -> Result<Vec<u8>> {
    let stream = xz2::stream::Stream::new_easy_encoder(XZ_PRESET, xz2::stream::Check::Crc64)
        .context("cannot set up the xz encoder")?;
    let mut enc = xz2::write::XzEncoder::new_stream(Vec::new(), stream);
    std::io::Write::write_all(&mut enc, data)?;
    Ok(enc.finish()?)
}

/// `dist/efi.tar.xz` for the default profile, `dist/<profile>/efi.tar.xz`
/// for the others (next to their bootx64.efi).
pub fn path(ws: &Ws, target: Target, profile: &str) -> Utf8PathBuf {
    let efi = bootloader::outputs(ws, target, profile).efi;
    efi.with_file_name(TARBALL)
}

pub fn steps(ws: &Ws, target: Target, profile: &str) -> Result<(Vec<Step>, Utf8PathBuf)> {
    let (mut steps, out) = bootloader::steps(ws, target, profile)?;
    let sourceme = ws.root.join(SOURCEME);
    let tarball = path(ws, target, profile);
    let component = match profile {
        profile::DEFAULT_PROFILE => target.component("tarball"),
        _ => target.component(&format!("tarball-{profile}")),
    };
    let epoch = ws.source_date_epoch()?;
    let members = members(&out.efi, &sourceme);
    let dest = tarball.clone();
    steps.push(
        Step::new(&component, Stage::Install)
            .dep(&out.component)
            .input(Input::File(sourceme))
            .value("mtime", epoch.to_string())
            .value("xz", "preset 9e, single-threaded, crc64")
            .native(format!("write {tarball}"), move |_| {
                let bytes = xz(&tar(&members, epoch)?)?;
                crate::fsutil::write_atomic(&dest, &bytes)
            })
            .output(tarball.clone()),
    );
    Ok((steps, tarball))
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let started = Instant::now();
    if !ws.root.join(SOURCEME).exists() {
        anyhow::bail!("{SOURCEME} is missing: it is the default script the tarball ships");
    }
    let (steps, tarball) = steps(ws, args.target, &args.profile)?;
    let outcomes = plan::execute(ws, &steps).context("tarball")?;
    if ws.dry_run {
        return Ok(());
    }
    println!("  {}", plan::summary(&outcomes));
    let efi = bootloader::outputs(ws, args.target, &args.profile).efi;
    bootloader::report_sizes(ws, args.target, &[&efi, &tarball])?;
    let shown = tarball.strip_prefix(&ws.root).unwrap_or(&tarball);
    println!("  sha256 {}  {shown}", crate::stamp::sha256_file(&tarball)?);
    println!("  total {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gentoo_profile_fetches_its_pinned_config_before_configuring_and_goes_to_its_own_dir() {
        let ws = crate::recipes::testutil::ws();
        let (steps, tarball) = steps(&ws, Target::X86_64, "gentoo-2018").unwrap();
        let ids: Vec<String> = steps.iter().map(Step::id).collect();
        let pos = |id: &str| {
            ids.iter()
                .position(|i| i == id)
                .unwrap_or_else(|| panic!("{id}: {ids:?}"))
        };
        assert!(pos("gentoo-kconfig-2018.fetch") < pos("linux-gentoo-2018-x86_64.configure"));
        assert_eq!(ids.last().unwrap(), "tarball-gentoo-2018-x86_64.install");
        assert_eq!(tarball, ws.dist.join("gentoo-2018/efi.tar.xz"));
        assert_eq!(path(&ws, Target::X86_64, "tiny"), ws.dist.join(TARBALL));
        let text = crate::plan::describe(&steps);
        assert!(
            text.contains("installcd-4.14.52.config sha256=03078fe9"),
            "{text}"
        );
    }

    #[test]
    fn tarball_members_are_sorted_numeric_and_normalised() {
        let dir = tempfile::tempdir().unwrap();
        let d = Utf8Path::from_path(dir.path()).unwrap();
        std::fs::write(d.join("efi"), b"MZ efi").unwrap();
        std::fs::write(d.join("s"), b"# script\n").unwrap();
        let bytes = xz(&tar(&members(&d.join("efi"), &d.join("s")), 1735689600).unwrap()).unwrap();
        assert_eq!(
            bytes,
            xz(&tar(&members(&d.join("efi"), &d.join("s")), 1735689600).unwrap()).unwrap()
        );

        let mut ar = tar::Archive::new(xz2::read::XzDecoder::new(bytes.as_slice()));
        let mut got = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            got.push((
                e.path().unwrap().to_string_lossy().into_owned(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mtime().unwrap(),
                h.username().unwrap().unwrap_or("").to_owned(),
                data,
            ));
        }
        let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "EFI/",
                "EFI/Boot/",
                "EFI/Boot/bootx64.efi",
                "kexec.sourceme"
            ]
        );
        for g in &got {
            assert_eq!(
                (g.2, g.3, g.4, g.5.as_str()),
                (0, 0, 1735689600, ""),
                "{}",
                g.0
            );
        }
        assert_eq!(got[0].1, 0o755);
        assert_eq!(got[2].1, 0o644);
        assert_eq!(got[2].6, b"MZ efi");
        assert_eq!(got[3].6, b"# script\n");
    }
}
