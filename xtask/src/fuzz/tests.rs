//! Regression inputs: the four panics and the FAT loop of issue 15, rebuilt
//! from small synthetic images plus the mutation, give clean errors; every
//! file under xtask/fuzz/regressions/TARGET/ and every seed runs through
//! its target without a panic.

use std::time::{Duration, Instant};

use super::engine::run_one;
use super::seeds::{fix_gpt_crcs, gpt_image, gpt_images, mbr_images};
use super::targets::{find, Ctx, TARGETS};
use crate::image::gpt;

fn outcome(target: &str, data: &[u8]) -> String {
    let t = find(target).unwrap();
    let mut ctx = Ctx::new().unwrap();
    run_one(t, &mut ctx, data).unwrap_or_else(|p| panic!("{target}: panic: {p}"))
}

/// A GPT image whose first entry (at LBA 2) gets `value` at `field`.
fn gpt_with_entry_field(field: usize, value: u64) -> Vec<u8> {
    let mut img = gpt_image(96, 4, &[(8, 39, gpt::TYPE_ESP)]);
    img[1024 + field..1024 + field + 8].copy_from_slice(&value.to_le_bytes());
    fix_gpt_crcs(&mut img);
    img
}

#[test]
fn inspect_last_lba_0x7fffffffffffffff_is_a_clean_error() {
    // Was: attempt to add with overflow at image/inspect.rs:108.
    let e = outcome("mbr", &gpt_with_entry_field(40, 0x7fff_ffff_ffff_ffff));
    assert!(
        e.contains(
            "damaged GPT: partition entry 1 (byte offset 1024): sectors 8..=9223372036854775807"
        ) && e.contains("EndingLBA")
            && e.contains("end beyond the end of the image (96 sectors)"),
        "{e}"
    );
}

#[test]
fn first_lba_above_last_lba_is_a_clean_error() {
    // Was: attempt to subtract with overflow at image/table.rs:86.
    let e = outcome("mbr", &gpt_with_entry_field(32, 60));
    assert!(
        e.contains("partition entry 1 (byte offset 1024): sectors 60..=39")
            && e.contains("end before they start"),
        "{e}"
    );
}

#[test]
fn huge_partition_entries_lba_is_a_clean_error() {
    // Was: attempt to multiply with overflow at image/gpt.rs:106.
    let mut img = gpt_image(96, 4, &[(8, 39, gpt::TYPE_ESP)]);
    img[512 + 72..512 + 80].copy_from_slice(&0x7fff_ffff_ffff_ffffu64.to_le_bytes());
    fix_gpt_crcs(&mut img);
    let e = outcome("mbr", &img);
    assert!(
        e.contains("header field PartitionEntryLBA (offset 72 of LBA 1) is 9223372036854775807")
            && e.contains("does not fit in sectors 2..96"),
        "{e}"
    );
}

#[test]
fn adapt_image_huge_last_lba_is_a_clean_error() {
    // Was: attempt to multiply with overflow at image/refuse.rs:61 (adapt-image).
    let img = gpt_with_entry_field(40, 0xffff_ffff_ffff_fff0);
    let mut ctx = Ctx::new().unwrap();
    std::os::unix::fs::FileExt::write_all_at(&ctx.file, &img, 0).unwrap();
    let e = format!(
        "{:#}",
        crate::image::adapt::precheck(&ctx.path).unwrap_err()
    );
    assert!(
        e.contains("sectors 8..=18446744073709551600") && e.contains("beyond the end"),
        "{e}"
    );
    let _ = &mut ctx;
}

#[test]
fn fat_dot_entry_turned_into_a_subdirectory_is_a_loop_error() {
    // Was: `summarize` looped forever, allocating ~0.5 GB/s. One bit of the
    // "." entry of a subdirectory flipped: it becomes an entry named "/"
    // pointing at its own directory.
    let mut img = mbr_images(camino::Utf8Path::new("/")).unwrap().remove(0);
    let dot = img
        .windows(12)
        .position(|w| w == b".          \x10")
        .expect("a subdirectory's . entry");
    img[dot] ^= 0x01;
    let t = Instant::now();
    let report = outcome("mbr", &img);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(
        report.contains(
            "FAT boot sector, but it does not mount: FAT filesystem at byte 32768: directory /"
        ) && report.contains("points back at a directory already listed")
            && report.contains("a directory loop"),
        "{report}"
    );
}

#[test]
fn gpt_seeds_parse_and_adapt() {
    for img in gpt_images(camino::Utf8Path::new("/")).unwrap() {
        let o = outcome("gpt", &img);
        assert!(
            o.contains("partition table: GPT") && o.ends_with("adaptable"),
            "{o}"
        );
    }
}

#[test]
fn every_seed_and_regression_input_runs_clean() {
    let scratch = tempfile::tempdir().unwrap();
    let scratch = camino::Utf8Path::from_path(scratch.path()).unwrap();
    for t in TARGETS {
        let mut inputs: Vec<(String, Vec<u8>)> = (t.seeds)(scratch)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, b)| (format!("seed {i}"), b))
            .collect();
        inputs.extend(
            super::regressions(t.name)
                .unwrap()
                .into_iter()
                .map(|(p, b)| (p.to_string(), b)),
        );
        let mut ctx = Ctx::new().unwrap();
        for (name, data) in inputs {
            let t0 = Instant::now();
            if let Err(p) = run_one(t, &mut ctx, &data) {
                panic!("{} {name}: panic: {p}", t.name);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{} {name}: took {:?}",
                t.name,
                t0.elapsed()
            );
        }
    }
}

#[test]
fn iso_seeds_reach_el_torito_and_the_embedded_config() {
    let scratch = tempfile::tempdir().unwrap();
    let scratch = camino::Utf8Path::from_path(scratch.path()).unwrap();
    for iso in super::seeds::isos(scratch).unwrap() {
        let o = outcome("iso9660", &iso);
        assert!(
            o.contains("El Torito: boot catalog") && o.contains("config 67 bytes from"),
            "{o}"
        );
    }
}

#[test]
fn ash_harness_times_the_runtime_parser() {
    use super::ash;
    let repo = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let tree = camino::Utf8Path::from_path(tmp.path()).unwrap().join("t");
    std::fs::create_dir_all(tree.join("isolinux")).unwrap();
    std::fs::write(tree.join("isolinux/isolinux.cfg"), ash::labels(50)).unwrap();
    let took = ash::time_parse(repo, &tree, "/isolinux/isolinux.cfg").unwrap();
    assert!(
        took.is_some_and(|d| d < ash::TREE_LIMIT),
        "50 labels: {took:?}"
    );
    let mut rng = fastrand::Rng::with_seed(7);
    ash::random_tree(&mut rng, &tree).unwrap();
    assert!(tree.join("isolinux/isolinux.cfg").is_file());
}

#[test]
fn fatfs_cluster_panics_found_by_the_fuzzer_are_clean_errors() {
    // fatfs 0.3 subtracts 2 from on-disk cluster numbers unchecked.
    for t in ["mbr", "gpt", "fat"] {
        for (p, data) in super::regressions(t).unwrap() {
            let o = outcome(t, &data);
            assert!(
                o.contains("damaged: a cluster number out of range"),
                "{p}: {o}"
            );
        }
    }
}

#[test]
fn ext4_symlink_claiming_4_gb_is_a_clean_error() {
    // Was: ext4-view allocated the 4 GB a symlink inode claimed
    // (Inode::symlink_target, reached by File::open): an abort.
    let (_, data) = super::regressions("ext4")
        .unwrap()
        .into_iter()
        .find(|(p, _)| p.as_str().ends_with("ext4-symlink-size-4gb.bin.gz"))
        .unwrap();
    let o = outcome("ext4", &data);
    assert!(
        o.contains("a symlink whose inode claims a") && o.contains("damaged filesystem"),
        "{o}"
    );
}
