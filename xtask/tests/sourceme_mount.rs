//! How the runtime mounts a candidate for the legacy boot partition
//! (`gk_mount_legacy` in disk.sh): which `mount -t` it tries, in which
//! order, and when it asks blkid. `mount` and `blkid` are shell functions
//! here that log their calls; the real ones run in QEMU (the boot tests).

mod sourceme_harness;

use sourceme_harness::run;

/// Runs `gk_mount_legacy /dev/gkd1` with a `mount` that succeeds only for
/// filesystem type `mounts` (none: every mount fails, "busy" when `busy`)
/// and a `blkid` that reports `blkid_type` (empty: no TYPE). Returns the
/// calls made and what gk_mount_legacy set, one per line.
fn mount_legacy(mounts: &str, blkid_type: &str, busy: bool) -> String {
    let t = tempfile::tempdir().unwrap();
    let snippet = format!(
        r#"OK='{mounts}' TYPE='{blkid_type}' BUSY='{busy}'
blkid() {{
	echo "blkid $*" >>"$GK_TMP/calls"
	for d in "$@"; do
		if [ -n "$TYPE" ]; then echo "$d: UUID=\"u1\" TYPE=\"$TYPE\""; else echo "$d: UUID=\"u1\""; fi
	done
}}
mount() {{
	echo "mount $2" >>"$GK_TMP/calls"
	[ "$2" = "$OK" ] && return 0
	[ "$BUSY" = true ] && echo "mount: mounting $5 on $6 failed: Device or resource busy" >&2
	return 1
}}
if gk_mount_legacy /dev/gkd1; then echo "mounted as $GK_FSTYPE" >>"$GK_TMP/calls"; else echo "not mounted, busy=$GK_BUSY" >>"$GK_TMP/calls"; fi
cat "$GK_TMP/calls""#
    );
    let out = run(&snippet, &[("GK_TMP", t.path()), ("GK_ROOT", t.path())]);
    assert!(out.ok, "{}", out.stderr);
    out.stdout
}

#[test]
fn an_iso_is_mounted_at_once_without_blkid() {
    assert_eq!(
        mount_legacy("iso9660", "iso9660", false),
        "mount iso9660\nmounted as iso9660\n"
    );
}

#[test]
fn blkid_says_ext4_so_no_vfat_mount_is_tried() {
    assert_eq!(
        mount_legacy("ext4", "ext4", false),
        "mount iso9660\nblkid /dev/gkd1\nmount ext4\nmounted as ext4\n"
    );
    // ext2 and ext3 through the ext4 driver, as before.
    assert_eq!(
        mount_legacy("ext4", "ext3", false),
        "mount iso9660\nblkid /dev/gkd1\nmount ext4\nmounted as ext4\n"
    );
}

#[test]
fn vfat_comes_before_ext4_unless_blkid_says_ext() {
    assert_eq!(
        mount_legacy("vfat", "vfat", false),
        "mount iso9660\nblkid /dev/gkd1\nmount vfat\nmounted as vfat\n"
    );
    assert_eq!(
        mount_legacy("ext4", "", false),
        "mount iso9660\nblkid /dev/gkd1\nmount vfat\nmount ext4\nmounted as ext4\n"
    );
}

/// blkid only orders the attempts: a wrong or foreign TYPE (stale
/// signatures, xfs) still gets both tried.
#[test]
fn blkid_never_stops_a_mount_that_would_work() {
    assert_eq!(
        mount_legacy("vfat", "ext4", false),
        "mount iso9660\nblkid /dev/gkd1\nmount ext4\nmount vfat\nmounted as vfat\n"
    );
    assert_eq!(
        mount_legacy("", "xfs", false),
        "mount iso9660\nblkid /dev/gkd1\nmount vfat\nmount ext4\nnot mounted, busy=\n"
    );
}

/// A whole disk whose partition (the ESP) is mounted: the caller goes on
/// to a loop device, so nothing else is tried here.
#[test]
fn a_busy_disk_is_reported_after_the_first_attempt() {
    assert_eq!(
        mount_legacy("", "iso9660", true),
        "mount iso9660\nnot mounted, busy=1\n"
    );
}
