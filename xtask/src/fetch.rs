//! `cargo xtask fetch` and `verify` (placeholder until the foundation lands).
use anyhow::{bail, Result};

use crate::ws::Ws;

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Components to fetch [default: all in sources.lock].
    pub components: Vec<String>,
}

pub fn run(_ws: &Ws, _args: &FetchArgs) -> Result<()> {
    bail!("fetch: not implemented yet")
}

pub fn verify(_ws: &Ws) -> Result<()> {
    bail!("verify: not implemented yet")
}
