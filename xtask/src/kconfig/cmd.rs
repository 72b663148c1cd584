//! `cargo xtask kconfig`: the kernel configuration of a profile, made and
//! checked; `--diff` against its base, `--against` another profile.

use anyhow::{bail, Context, Result};
use camino::Utf8PathBuf;

use super::profile::{self, Base};
use super::{base_steps, compare, configure_step, diff, wishes};

/// `cargo xtask kconfig`: produce and check the kernel configuration only.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration profile (kconfig-fragments/linux/profiles.toml).
    #[arg(long, default_value = profile::DEFAULT_PROFILE)]
    pub profile: String,
    /// An extra fragment file applied after the profile's (repeatable).
    /// Checked in a build directory of its own (`linux-<profile>-extra`),
    /// so that trying a fragment never disturbs the bootloader's kernel.
    #[arg(long = "fragment", value_name = "FILE")]
    pub fragments: Vec<Utf8PathBuf>,
    /// Start from this base instead of the profile's: `tinyconfig`,
    /// `defconfig`, `file:PATH`, `kernel:PATH`, `iso:PATH` or
    /// `iso:component:NAME` (e.g. `file:/boot/config-$(uname -r)`). Checked
    /// in a build directory of its own (`linux-<profile>-base`).
    #[arg(long, value_name = "BASE")]
    pub base: Option<String>,
    /// Architecture to build for.
    #[arg(long, value_enum, default_value_t = crate::recipes::Target::X86_64)]
    pub target: crate::recipes::Target,
    /// Then print what the fragments changed against the base: each symbol
    /// added, changed or removed, with the fragment line that asked for it
    /// or `(olddefconfig)` when it followed from the others.
    #[arg(long)]
    pub diff: bool,
    /// Then configure profile OTHER too, on the same kernel source, and say
    /// whether both give the same configuration, or print each symbol that
    /// differs (e.g. `--profile gentoo --against gentoo-2024`: a pinned
    /// ISO's config against the releng file it was built from).
    #[arg(long, value_name = "OTHER")]
    pub against: Option<String>,
}

pub fn run(ws: &crate::ws::Ws, args: &Args) -> Result<()> {
    use crate::recipes::{self, linux};
    let mut profile = profile::load(&ws.root, &args.profile)?;
    let cwd = crate::ws::cwd();
    if let Some(base) = &args.base {
        profile.base = Base::parse(base, &cwd).context("kconfig --base")?;
        profile.name = format!("{}-base", profile.name);
    }
    for f in &args.fragments {
        profile.fragments.push(cwd.join(f));
    }
    if !args.fragments.is_empty() {
        profile.name = format!("{}-extra", profile.name);
    }
    if let Base::File(p) | Base::Kernel(p) | Base::Iso(p) = &profile.base {
        if !p.exists() && !ws.dry_run {
            bail!(
                "profile `{}`: its base `{}` does not exist. For `gentoo-local`, download and \
                 verify the Gentoo minimal install ISO first (README: \"Getting the Gentoo \
                 minimal ISO yourself\"); for `gentoo-fixture`, run `cargo xtask ikconfig-check` \
                 first",
                profile.name,
                profile.base
            );
        }
    }
    let k = linux::kernel(ws, args.target, &profile.name);
    let mut steps = recipes::source_steps(ws, linux::SOURCE)?;
    steps.extend(base_steps(ws, &profile)?);
    steps.push(configure_step(&k.component, &profile, &k.src, &k.obj)?.dep(linux::SOURCE));
    let other = match &args.against {
        Some(name) => {
            let p = profile::load(&ws.root, name)?;
            let ko = linux::kernel(ws, args.target, &p.name);
            steps = recipes::merge_plans([steps, base_steps(ws, &p)?]);
            steps.push(configure_step(&ko.component, &p, &ko.src, &ko.obj)?.dep(linux::SOURCE));
            Some((p.name, ko.config))
        }
        None => None,
    };
    crate::plan::execute(ws, &steps).context("linux: configure")?;
    if ws.dry_run {
        return Ok(());
    }
    // Paths in the workspace are shown relative to it.
    let short = |text: String| text.replace(&format!("{}/", ws.root), "");
    println!(
        "{}",
        short(format!(
            "  {}: base {}, {} fragments: all {} symbols they set kept their value",
            k.config,
            profile.base,
            profile.fragments.len(),
            wishes(&profile.fragments)?.len()
        ))
    );
    if args.diff {
        let base = profile.base.to_string();
        print!(
            "{}",
            short(diff::report(&k.obj, &base, &profile.fragments)?)
        );
    }
    if let Some((name, config)) = other {
        let (same, text) = compare::report(&profile.name, &k.config, &name, &config)?;
        print!("{text}");
        if !same {
            bail!("kconfig --against {name}: the configurations differ (above)");
        }
    }
    Ok(())
}
