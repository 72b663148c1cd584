# gen-kexec runtime library: finding and mounting the legacy image's boot
# partition on the disk gen-kexec was started from.

# Each helper below sets GK_OUT (no subshell: a fork costs milliseconds
# under emulation, and these run on every boot); the gk_* names without
# `_out` print it instead, for scripts and the host tests.

# gk_mounted_device_out DIR: GK_OUT = the device mounted on DIR, from
# /proc/mounts; returns 1 when nothing is.
gk_mounted_device_out() {
	local dev dir rest
	GK_OUT=
	while read -r dev dir rest; do
		[ "$dir" = "$1" ] && GK_OUT=$dev
	done <"$GK_PROC/mounts"
	[ -n "$GK_OUT" ]
}
gk_mounted_device() { gk_mounted_device_out "$1" && printf '%s' "$GK_OUT"; }

# gk_disk_of_out NAME: GK_OUT = the whole-disk block device NAME (e.g. sdb2)
# belongs to. sysfs knows: /sys/class/block/sdb2 resolves to
# .../block/sdb/sdb2. The name-based guess (sdb2 -> sdb, nvme0n1p1 ->
# nvme0n1, mmcblk0p1 -> mmcblk0) is only the fallback when sysfs does not
# know NAME.
gk_disk_of_out() {
	local name="$1" here="$PWD"
	GK_OUT=
	if [ -f "$GK_SYS/class/block/$name/partition" ] && cd -P "$GK_SYS/class/block/$name/.." 2>/dev/null; then
		GK_OUT=${PWD##*/}
		cd "$here" || :
		[ -n "$GK_OUT" ] && return 0
	fi
	if [ -e "$GK_SYS/class/block/$name" ]; then
		GK_OUT=$name
		return 0
	fi
	case "$name" in
	*[0-9]p[0-9]*) GK_OUT=${name%p*} ;;
	sd*[0-9] | vd*[0-9] | hd*[0-9] | xvd*[0-9]) GK_OUT=${name%"${name##*[!0-9]}"} ;;
	*) GK_OUT=$name ;;
	esac
}
gk_disk_of() { gk_disk_of_out "$1" && printf '%s' "$GK_OUT"; }

# gk_candidates_out DISK SKIP: GK_OUT = where the legacy image's boot files
# may be, one name per line, in the order they are tried: DISK's partitions
# by number (partition 1 first), except SKIP (the gen-kexec ESP), then DISK
# itself (an isohybrid ISO written to a stick is an iso9660 filesystem from
# sector 0).
gk_candidates_out() {
	local disk="$1" skip="$2" part num n name sorted="" IFS="$GK_IFS"
	# Partition numbers, sorted by insertion (a disk has a handful).
	for part in "$GK_SYS/class/block/$disk/$disk"*; do
		[ -f "$part/partition" ] || continue
		name=${part##*/}
		[ "$name" = "$skip" ] && continue
		read -r num <"$part/partition" || continue
		gk_number "$num"
		num=$GK_OUT n=
		IFS=$GK_NL
		for part in $sorted; do
			if [ -n "$num" ] && [ "${part%% *}" -gt "$num" ]; then
				n="$n$num $name$GK_NL" num=
			fi
			n="$n$part$GK_NL"
		done
		IFS=$GK_IFS
		[ -n "$num" ] && n="$n$num $name$GK_NL"
		sorted=$n
	done
	GK_OUT=
	IFS=$GK_NL
	for part in $sorted; do GK_OUT="$GK_OUT${part#* }$GK_NL"; done
	GK_OUT="$GK_OUT$disk"
}
gk_candidates() { gk_candidates_out "$1" "$2" && printf '%s\n' "$GK_OUT"; }

# gk_mount_legacy DEV: mount DEV read-only on GK_ROOT; sets GK_FSTYPE. Sets
# GK_BUSY when the kernel refused DEV as busy: Linux does not mount a whole
# disk while one of its partitions (here the gen-kexec ESP on /boot) is
# mounted. iso9660 first, without asking (most legacy images are ISOs);
# then blkid's TYPE of DEV says whether ext4 or vfat comes next, so that a
# GRUB disk's ext4 /boot does not wait for a failed vfat mount (a GRUB
# config needs DEV's blkid line anyway). Both are tried whatever blkid says.
gk_mount_legacy() {
	GK_BUSY=
	gk_mount_as "$1" iso9660 && return 0
	[ -n "$GK_BUSY" ] && return 1
	gk_blkid_field "${1##*/}" TYPE
	case "$GK_OUT" in
	ext2 | ext3 | ext4) gk_mount_as "$1" ext4 || gk_mount_as "$1" vfat ;;
	*) gk_mount_as "$1" vfat || gk_mount_as "$1" ext4 ;;
	esac
}

# gk_mount_as DEV TYPE: mount DEV (filesystem TYPE) read-only on GK_ROOT;
# GK_FSTYPE=TYPE, or GK_BUSY=1 when the kernel said DEV is busy.
gk_mount_as() {
	local err
	if err=$(mount -t "$2" -o ro "$1" "$GK_ROOT" 2>&1); then
		GK_FSTYPE=$2
		return 0
	fi
	case "$err" in *[Bb]usy*) GK_BUSY=1 ;; esac
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
	local disk="$1" skip="$2" verbose="$3" name names IFS="$GK_IFS"
	gk_candidates_out "$disk" "$skip"
	names=$GK_OUT
	IFS=$GK_NL
	for name in $names; do
		IFS=$GK_IFS
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
		if gk_find_config_out; then
			GK_CFG=$GK_OUT GK_DEV=/dev/$name
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
	local bootdev bootname disk waited=0 f tried verbose=1
	local IFS="$GK_IFS"
	gk_mounted_device_out "$GK_BOOT" ||
		gk_fail "nothing is mounted on $GK_BOOT (see $GK_PROC/mounts); cannot tell which disk to search" ||
		return 1
	bootdev=$GK_OUT bootname=${GK_OUT##*/}
	gk_disk_of_out "$bootname"
	disk=$GK_OUT
	gk_say "$GK_BOOT is $bootdev, on disk /dev/$disk"

	mkdir -p "$GK_ROOT" || gk_fail "cannot create $GK_ROOT" || return 1
	# A second run from the rescue shell: start from a clean mount point.
	gk_mounted_device_out "$GK_ROOT" && umount "$GK_ROOT"

	until gk_find_legacy "$disk" "$bootname" "$verbose"; do
		verbose=
		if [ "$waited" -ge "$GK_CONF_TIMEOUT" ]; then
			tried=
			gk_candidates_out "$disk" "$bootname"
			IFS=$GK_NL
			for f in $GK_OUT; do tried="$tried /dev/$f"; done
			IFS=$GK_IFS
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
