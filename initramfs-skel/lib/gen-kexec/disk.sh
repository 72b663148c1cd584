# gen-kexec runtime library: finding and mounting the legacy image's boot
# partition on the disk gen-kexec was started from.

# gk_mounted_device DIR: the device mounted on DIR, from /proc/mounts.
gk_mounted_device() {
	local dev dir rest found=""
	while read -r dev dir rest; do
		[ "$dir" = "$1" ] && found=$dev
	done <"$GK_PROC/mounts"
	[ -n "$found" ] && printf '%s' "$found"
}

# gk_disk_of NAME: the whole-disk block device NAME (e.g. sdb2) belongs to.
# sysfs knows: /sys/class/block/sdb2 resolves to .../block/sdb/sdb2. The
# name-based guess (sdb2 -> sdb, nvme0n1p1 -> nvme0n1, mmcblk0p1 -> mmcblk0)
# is only the fallback when sysfs does not know NAME.
gk_disk_of() {
	local name="$1" dir
	if [ -f "$GK_SYS/class/block/$name/partition" ]; then
		dir=$(cd -P "$GK_SYS/class/block/$name/.." 2>/dev/null && pwd) && [ -n "$dir" ] &&
			printf '%s' "${dir##*/}" && return 0
	fi
	[ -e "$GK_SYS/class/block/$name" ] && printf '%s' "$name" && return 0
	case "$name" in
	*[0-9]p[0-9]*) printf '%s' "${name%p*}" ;;
	sd*[0-9] | vd*[0-9] | hd*[0-9] | xvd*[0-9]) printf '%s' "${name%"${name##*[!0-9]}"}" ;;
	*) printf '%s' "$name" ;;
	esac
}

# gk_candidates DISK SKIP: where the legacy image's boot files may be, in the
# order they are tried: DISK's partitions by number (partition 1 first),
# except SKIP (the gen-kexec ESP), then DISK itself (an isohybrid ISO written
# to a stick is an iso9660 filesystem from sector 0).
gk_candidates() {
	local disk="$1" skip="$2" part num parts="" sorted
	for part in "$GK_SYS/class/block/$disk/$disk"*; do
		[ -f "$part/partition" ] || continue
		[ "${part##*/}" = "$skip" ] && continue
		read -r num <"$part/partition" || continue
		parts="$parts$num ${part##*/}
"
	done
	# Here-documents rather than pipes: no concurrent processes, so the
	# host tests' trace of what runs stays readable.
	sorted=$(sort -n <<EOF
$parts
EOF
)
	while read -r num part; do
		[ -n "$part" ] && echo "$part"
	done <<EOF
$sorted
EOF
	echo "$disk"
}

# gk_mount_legacy DEV: mount DEV read-only on GK_ROOT; sets GK_FSTYPE. Sets
# GK_BUSY when the kernel refused DEV as busy: Linux does not mount a whole
# disk while one of its partitions (here the gen-kexec ESP on /boot) is
# mounted.
gk_mount_legacy() {
	local type err
	GK_BUSY=
	for type in iso9660 vfat ext4; do
		if err=$(mount -t "$type" -o ro "$1" "$GK_ROOT" 2>&1); then
			GK_FSTYPE=$type
			return 0
		fi
		case "$err" in *[Bb]usy*) GK_BUSY=1 ;; esac
	done
	return 1
}

# gk_mount_through_loop DEV: mount DEV's iso9660 filesystem read-only on
# GK_ROOT through a read-only loop device (busybox's `mount -o loop` only
# does that for regular files).
gk_mount_through_loop() {
	local loop
	loop=$(losetup -f 2>/dev/null) && [ -n "$loop" ] || return 1
	losetup -r "$loop" "$1" 2>/dev/null || return 1
	if mount -t iso9660 -o ro "$loop" "$GK_ROOT" 2>/dev/null; then
		GK_FSTYPE="iso9660, through $loop"
		return 0
	fi
	losetup -d "$loop" 2>/dev/null
	return 1
}

# gk_find_legacy DISK SKIP VERBOSE: mount the first candidate that holds a
# syslinux or GRUB config on GK_ROOT; sets GK_DEV and GK_CFG.
gk_find_legacy() {
	# An EFI GRUB's /EFI/*/grub.cfg only when no partition has another
	# config (a BIOS boots the other one): a second pass for it.
	GK_GRUB_EFI=0 gk_find_legacy_1 "$@" || GK_GRUB_EFI=1 gk_find_legacy_1 "$1" "$2" 0
}
gk_find_legacy_1() {
	local disk="$1" skip="$2" verbose="$3" name
	local IFS="$GK_IFS"
	for name in $(gk_candidates "$disk" "$skip"); do
		[ -b "/dev/$name" ] || continue
		if ! gk_mount_legacy "/dev/$name"; then
			if [ -z "$GK_BUSY" ]; then
				if [ "$verbose" = 1 ]; then
					gk_blkid_field "$name" TYPE
					case "$GK_OUT" in
					'') gk_say "/dev/$name: no iso9660, vfat or ext4 filesystem" ;;
					*) gk_say "/dev/$name: a $GK_OUT filesystem, which gen-kexec cannot read (it reads iso9660, vfat, ext2/3/4)" ;;
					esac
				fi
				continue
			fi
			# The whole disk, busy because /boot is mounted: an isohybrid
			# ISO without a partition entry for itself. A loop device over
			# the disk is a block device of its own, so it can be mounted.
			if ! gk_mount_through_loop "/dev/$name"; then
				[ "$verbose" = 1 ] && gk_say "/dev/$name is busy (a partition of it is mounted on $GK_BOOT) and could not be mounted through a loop device either (kernel without CONFIG_BLK_DEV_LOOP?); give the ISO a partition entry starting at sector 0"
				continue
			fi
		fi
		if GK_CFG=$(gk_find_config); then
			GK_DEV=/dev/$name
			# GRUB reaches the disk's other partitions (search, (hd0,N)).
			gk_is_grub_config "$GK_CFG" && gk_grub_parts "$disk" "$skip"
			return 0
		fi
		[ "$verbose" = 1 ] && gk_say "/dev/$name ($GK_FSTYPE): no isolinux.cfg, syslinux.cfg, extlinux.conf, nor a GRUB config"
		umount "$GK_ROOT" 2>/dev/null
	done
	return 1
}


# gk_mount_legacy_image: find the disk holding GK_BOOT, wait up to
# GK_CONF_TIMEOUT seconds for a partition of it (or the disk itself) with a
# syslinux config, and mount it on GK_ROOT. Sets GK_DEV, GK_FSTYPE, GK_CFG.
gk_mount_legacy_image() {
	local bootdev bootname disk waited=0 f tried
	local IFS="$GK_IFS"
	bootdev=$(gk_mounted_device "$GK_BOOT") ||
		gk_fail "nothing is mounted on $GK_BOOT (see $GK_PROC/mounts); cannot tell which disk to search" ||
		return 1
	bootname=${bootdev##*/}
	disk=$(gk_disk_of "$bootname")
	gk_say "$GK_BOOT is $bootdev, on disk /dev/$disk"

	mkdir -p "$GK_ROOT" || gk_fail "cannot create $GK_ROOT" || return 1
	# A second run from the rescue shell: start from a clean mount point.
	gk_mounted_device "$GK_ROOT" >/dev/null && umount "$GK_ROOT"

	until gk_find_legacy "$disk" "$bootname" "$([ "$waited" = 0 ] && echo 1)"; do
		if [ "$waited" -ge "$GK_CONF_TIMEOUT" ]; then
			tried=
			for f in $(gk_candidates "$disk" "$bootname"); do tried="$tried /dev/$f"; done
			gk_fail "no partition of /dev/$disk (nor the disk itself) holds an iso9660, vfat or ext4 filesystem with isolinux.cfg, syslinux.cfg, extlinux.conf or a GRUB config (waited ${waited}s; tried:$tried). Is the legacy image on the same disk as $bootdev?"
			return 1
		fi
		[ "$waited" = 0 ] && gk_say "no legacy boot partition on /dev/$disk yet; retrying for up to ${GK_CONF_TIMEOUT}s"
		sleep 1
		waited=$((waited + 1))
	done
	gk_say "legacy boot partition $GK_DEV ($GK_FSTYPE) mounted on $GK_ROOT"
	if gk_is_grub_config "$GK_CFG"; then
		gk_say "GRUB config $GK_CFG"
	else
		gk_say "syslinux config $GK_CFG"
	fi
}
