//! What the tests boot: the product itself, `dist/efi.tar.xz` built by the
//! same code as `cargo xtask tarball` (the `tiny` profile: what users get,
//! and the only kernel CI builds), and each fixture adapted with
//! `adapt-image`. No test variant is needed: /init and kexec.sourceme log
//! through the kernel, so their lines reach the serial port too.

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::fixtures::Fixture;
use super::APPEND;
use crate::image::adapt;
use crate::plan::{Stage, Step};
use crate::recipes::Target;
use crate::stamp::Input;
use crate::tarball;
use crate::ws::Ws;

/// `cargo xtask tarball [--profile NAME]`: builds (or finds up to date)
/// `dist/efi.tar.xz` (`dist/NAME/efi.tar.xz`) and returns its path.
pub fn product_tarball(ws: &Ws, profile: Option<&str>) -> Result<Utf8PathBuf> {
    let profile = profile
        .unwrap_or(crate::kconfig::profile::DEFAULT_PROFILE)
        .to_owned();
    let target = Target::X86_64;
    tarball::run(
        ws,
        &tarball::Args {
            profile: profile.clone(),
            target,
        },
    )?;
    Ok(tarball::path(ws, target, &profile))
}

/// Where fixture `f`, adapted, is kept.
pub fn adapted_path(ws: &Ws, f: &Fixture) -> Utf8PathBuf {
    ws.build.join("e2e/adapted").join(format!("{}.img", f.name))
}

/// One step per fixture: `adapt-image FIXTURE -o ADAPTED --tarball T
/// --append APPEND [--set KEY=VALUE...]`, in process.
pub fn adapt_steps(ws: &Ws, tarball: &Utf8Path, fixtures: &[Fixture]) -> Result<Vec<Step>> {
    // adapt-image is part of this program: what it writes follows from its
    // sources and the crates it uses (Cargo.lock). Not the xtask binary
    // itself: `cargo test` may replace that file while this one runs.
    let image_sources = crate::image::source_id();
    let cargo_lock = ws.root.join("Cargo.lock");
    Ok(fixtures
        .iter()
        .map(|f| {
            let args = adapt::Args {
                input: f.path(ws),
                output: adapted_path(ws, f),
                tarball: Some(tarball.to_owned()),
                esp_size: None,
                append: Some(APPEND.to_owned()),
                settings: (f.settings.iter())
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                force: true,
                disable_el_torito: false,
            };
            let sets: String = (f.settings.iter())
                .map(|(k, v)| format!(" --set {k}={v}"))
                .collect();
            let what = format!(
                "adapt-image {} -o {} --tarball {tarball} --append '{APPEND}'{sets} --force",
                args.input, args.output
            );
            let output = args.output.clone();
            Step::new(&format!("e2e-{}", f.name), Stage::Install)
                .input(Input::File(tarball.to_owned()))
                .value("append", APPEND)
                .value("settings", &sets)
                .value("adapt-image sources", &image_sources)
                .input(Input::File(cargo_lock.clone()))
                .native(what, move |ws| {
                    if let Some(dir) = args.output.parent() {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("cannot create {dir}"))?;
                    }
                    adapt::run(ws, &args)
                })
                .output(output)
        })
        .collect())
}
