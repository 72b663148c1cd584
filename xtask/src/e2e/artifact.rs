//! What the tests boot: the bootloader's test variant (its init's output on
//! the serial port), and each fixture adapted with `adapt-image`.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::fixtures::Fixture;
use super::APPEND;
use crate::image::adapt;
use crate::plan::{Stage, Step};
use crate::stamp::Input;
use crate::ws::Ws;

/// The test variant's tarball (dist/efi.tar.xz stays the release artifact).
pub fn test_tarball(ws: &Ws) -> Result<Utf8PathBuf> {
    let _ = ws;
    bail!("the bootloader build (`cargo xtask tarball`) is not on this branch yet")
}

/// Where fixture `f`, adapted, is kept.
pub fn adapted_path(ws: &Ws, f: &Fixture) -> Utf8PathBuf {
    ws.build.join("e2e/adapted").join(format!("{}.img", f.name))
}

/// One step per fixture: `adapt-image FIXTURE -o ADAPTED --tarball T
/// --append APPEND`, in process.
pub fn adapt_steps(ws: &Ws, tarball: &Utf8Path, fixtures: &[Fixture]) -> Result<Vec<Step>> {
    let exe = std::env::current_exe().context("cannot find the running xtask")?;
    let exe = Utf8PathBuf::from_path_buf(exe)
        .map_err(|p| anyhow::anyhow!("{} is not UTF-8", p.display()))?;
    Ok(fixtures
        .iter()
        .map(|f| {
            let args = adapt::Args {
                input: f.path(ws),
                output: adapted_path(ws, f),
                tarball: Some(tarball.to_owned()),
                esp_size: None,
                append: Some(APPEND.to_owned()),
                force: true,
                disable_el_torito: false,
            };
            let what = format!(
                "adapt-image {} -o {} --tarball {tarball} --append '{APPEND}' --force",
                args.input, args.output
            );
            let output = args.output.clone();
            Step::new(&format!("e2e-{}", f.name), Stage::Install)
                .input(Input::File(tarball.to_owned()))
                .value("append", APPEND)
                // adapt-image is part of this program: a rebuilt xtask
                // adapts again (a second or so per image).
                .input(Input::File(exe.clone()))
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
