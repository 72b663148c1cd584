//! What the tests boot: the bootloader's test variant (its init's output on
//! the serial port), and each fixture adapted with `adapt-image`.

use anyhow::{bail, Result};
use camino::Utf8PathBuf;

use super::fixtures::Fixture;
use super::APPEND;
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

/// One step per fixture: `adapt-image FIXTURE -o ADAPTED --tarball T --append APPEND`.
pub fn adapt_steps(ws: &Ws, tarball: &Utf8PathBuf, fixtures: &[Fixture]) -> Vec<Step> {
    fixtures
        .iter()
        .map(|f| {
            let (input, output) = (f.path(ws), adapted_path(ws, f));
            let (tb, out) = (tarball.clone(), output.clone());
            Step::new(&format!("e2e-{}", f.name), Stage::Install)
                .input(Input::File(tarball.clone()))
                .value("append", APPEND)
                .native(
                    format!("adapt-image {input} -o {output} --append '{APPEND}'"),
                    move |_| {
                        let _ = (&tb, &out);
                        bail!("adapt-image is not on this branch yet")
                    },
                )
                .output(output)
        })
        .collect()
}
