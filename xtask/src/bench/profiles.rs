//! `cargo xtask bench --profile NAME...`: kernel profiles side by side with
//! `tiny`, one column each: build time, bootx64.efi and efi.tar.xz sizes,
//! boot figures.
//!
//! The build time of a profile is what its tarball's steps took when they
//! last ran (`build/logs/<step>.seconds`, written by `plan::execute`): after
//! a build from nothing, that is the cold build. A distribution kernel takes
//! tens of minutes on 2 cores, so bench does not build it again unless asked
//! (`--cold`: each profile from nothing in a scratch build directory).

use anyhow::{Context, Result};

use super::{boot_rows, timed};
use crate::kconfig::profile::DEFAULT_PROFILE;
use crate::recipes::Target;
use crate::ws::Ws;

/// One column: (measure, figure) in the order of the table's rows.
type Column = Vec<(String, String)>;

pub fn run(ws: &Ws, names: &[String], cold: bool, no_boot: bool) -> Result<()> {
    let mut profiles = vec![DEFAULT_PROFILE.to_owned()];
    for n in names {
        if !profiles.contains(n) {
            profiles.push(n.clone());
        }
    }
    if ws.dry_run {
        println!(
            "bench would: {}bring `cargo xtask tarball --profile P` up to date for P in {}, \
             report each one's build time (its steps' last runs), sizes{}",
            if cold {
                "build each profile cold in <build>/bench-cold-P, "
            } else {
                ""
            },
            profiles.join(", "),
            if no_boot {
                ""
            } else {
                " and boot figures (the timed e2e cases)"
            }
        );
        return Ok(());
    }
    let mut columns = Vec::new();
    for p in &profiles {
        let col = column(ws, p, cold, no_boot).with_context(|| format!("bench: profile `{p}`"))?;
        columns.push(col);
    }
    print!("{}", table(&profiles, &columns));
    Ok(())
}

fn column(ws: &Ws, profile: &str, cold: bool, no_boot: bool) -> Result<Column> {
    let target = Target::X86_64;
    let mut col = Vec::new();
    if cold {
        let scratch = ws.build.join(format!("bench-cold-{profile}"));
        crate::fsutil::remove_dir_all_if_exists(&scratch)?;
        let t = timed(ws, &scratch, &["tarball", "--profile", profile], true)?;
        col.push((
            "build: cold tarball, timed now".to_owned(),
            format!("{t:.0} s"),
        ));
        crate::fsutil::remove_dir_all_if_exists(&scratch)?;
    }
    println!("bench: bringing `cargo xtask tarball --profile {profile}` up to date (not timed)");
    timed(ws, &ws.build, &["tarball", "--profile", profile], true)?;
    let (steps, tarball) = crate::tarball::steps(ws, target, profile)?;
    let kernel = crate::recipes::linux::kernel(ws, target, profile).component;
    let (mut all, mut kern, mut missing) = (0.0, 0.0, 0);
    for s in &steps {
        let id = s.id();
        match crate::plan::last_run_seconds(&ws.build, &id) {
            Some(t) if s.component == kernel => (all, kern) = (all + t, kern + t),
            Some(t) => all += t,
            None => missing += 1,
        }
    }
    let recorded = |t: f64| match missing {
        0 => format!("{t:.0} s"),
        n => format!("{t:.0} s ({n} unrecorded)"),
    };
    col.push((
        "build: kernel (configure, compile, link)".into(),
        recorded(kern),
    ));
    col.push(("build: whole tarball, sum of steps".into(), recorded(all)));
    let efi = crate::bootloader::outputs(ws, target, profile).efi;
    for (what, path) in [("size: bootx64.efi", &efi), ("size: efi.tar.xz", &tarball)] {
        let len = std::fs::metadata(path)
            .with_context(|| format!("cannot stat {path}"))?
            .len();
        col.push((what.to_owned(), format!("{len} B")));
    }
    if !no_boot {
        for r in boot_rows(ws, Some(profile))? {
            // "..., median / max of N boots": N differs between columns.
            let what = match r.what.split_once(", median / max of ") {
                Some((m, _)) => format!("{m}, median / max"),
                None => r.what,
            };
            col.push((what, r.figure));
        }
    }
    Ok(col)
}

/// Rows in the order they first appear in any column; `-` where a column
/// lacks one.
fn table(profiles: &[String], columns: &[Column]) -> String {
    let mut measures: Vec<&str> = Vec::new();
    for (m, _) in columns.iter().flatten() {
        if !measures.contains(&m.as_str()) {
            measures.push(m);
        }
    }
    let cell = |col: &Column, m: &str| {
        col.iter()
            .find(|(x, _)| x == m)
            .map_or("-".to_owned(), |(_, f)| f.clone())
    };
    let w = measures.iter().map(|m| m.len()).max().unwrap_or(0).max(7);
    let widths: Vec<usize> = (profiles.iter().zip(columns))
        .map(|(p, col)| {
            let cells = measures.iter().map(|m| cell(col, m).len());
            cells.chain([p.len()]).max().unwrap_or(0)
        })
        .collect();
    let mut out = format!("\n{:<w$}", "measure");
    for (p, cw) in profiles.iter().zip(&widths) {
        out.push_str(&format!("  {p:>cw$}"));
    }
    out.push('\n');
    for m in &measures {
        out.push_str(&format!("{m:<w$}"));
        for (col, cw) in columns.iter().zip(&widths) {
            out.push_str(&format!("  {:>cw$}", cell(col, m)));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_up_profiles_and_fills_gaps() {
        let cols = vec![
            vec![("size".to_owned(), "2 B".to_owned())],
            vec![
                ("size".to_owned(), "6403072 B".to_owned()),
                ("boot".to_owned(), "0.2 s".to_owned()),
            ],
        ];
        let t = table(&["tiny".into(), "gentoo-2018".into()], &cols);
        assert_eq!(
            t,
            "\nmeasure  tiny  gentoo-2018\n\
             size      2 B    6403072 B\n\
             boot        -        0.2 s\n"
        );
    }
}
