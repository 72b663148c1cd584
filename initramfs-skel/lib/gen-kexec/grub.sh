# gen-kexec runtime library: GRUB 2 (grub.cfg) and GRUB legacy (menu.lst,
# grub.conf) configs, read as GRUB reads them.
#
# One awk process per config (grub-lex.awk, grub-run.awk, grub-cmd.awk,
# grub-env.awk, grub-menu.awk, grub-legacy.awk: docs/grub-runtime-interface.md)
# lexes and runs the GRUB script with everything it reads (source,
# configfile, load_env, blscfg) and writes the same records syslinux.sh
# writes, so that model.sh, menu.sh and boot.sh show and boot them as they
# do a syslinux config. GRUB's devices are the partitions of the disk
# gen-kexec started from, GK_GRUB_PARTS: one line per partition,
#   NAME<TAB>NUMBER<TAB>FSTYPE<TAB>UUID<TAB>LABEL<TAB>DIR
# (NUMBER empty for the whole disk, DIR where it is mounted, empty when it
# is not), made by gk_grub_parts; without it, the config's partition alone.

GK_GRUB_MNT=${GK_GRUB_MNT:-${GK_ROOT%/*}/gen-kexec-parts}  # other partitions, read-only
GK_GRUB_AWK="grub-lex grub-run grub-cmd grub-env grub-menu grub-legacy"

# gk_is_grub_config PATH: is PATH a GRUB config (by its name)?
gk_is_grub_config() {
	case "$1" in */grub.cfg | */menu.lst | */grub.conf) return 0 ;; esac
	return 1
}

# gk_find_grub_config_out: the GRUB config on the partition mounted on GK_ROOT:
# GRUB 2's, then GRUB legacy's, then an EFI GRUB's (/EFI/*/grub.cfg; not
# with GK_GRUB_EFI=0, gk_find_legacy's first pass over the partitions).
# GK_OUT = its path from the partition root (gk_find_grub_config prints
# it); returns 1 if there is none.
gk_find_grub_config_out() {
	local f efi=
	[ "${GK_GRUB_EFI:-1}" = 1 ] && efi="$GK_ROOT/EFI/*/grub.cfg"
	# shellcheck disable=SC2086 # the glob, when wanted
	for f in /boot/grub/grub.cfg /boot/grub2/grub.cfg /grub/grub.cfg /grub2/grub.cfg \
		/boot/grub/menu.lst /boot/grub/grub.conf /grub/menu.lst /grub/grub.conf $efi; do
		f=${f#"$GK_ROOT"}
		[ -f "$GK_ROOT$f" ] && GK_OUT=$f && return 0
	done
	GK_OUT=
	return 1
}
gk_find_grub_config() { gk_find_grub_config_out && printf '%s' "$GK_OUT"; }

# gk_blkid NAME...: add busybox blkid's lines for each /dev/NAME not probed
# yet to GK_BLKID, with one blkid process for all of them. Only the devices
# asked for: a bare `blkid` probes every block device, whole disks too (28
# ms under TCG against 3 ms for one partition).
gk_blkid() {
	local name new="" IFS="$GK_IFS"
	for name in "$@"; do
		case "${GK_BLKID_DONE:-} " in *" $name "*) continue ;; esac
		GK_BLKID_DONE="${GK_BLKID_DONE:-} $name"
		new="$new /dev/$name"
	done
	[ -n "$new" ] || return 0
	# shellcheck disable=SC2086 # one word per device
	GK_BLKID="${GK_BLKID:-}$GK_NL$(blkid $new 2>/dev/null)"
	return 0
}

# gk_blkid_field NAME FIELD: GK_OUT = FIELD (TYPE, UUID, LABEL) of /dev/NAME
# (probed now unless gk_blkid already did).
gk_blkid_field() {
	local line IFS="$GK_NL"
	GK_OUT=
	gk_blkid "$1"
	for line in $GK_BLKID; do
		case "$line" in "/dev/$1:"*) ;; *) continue ;; esac
		case "$line" in *" $2=\""*) ;; *) return 0 ;; esac
		line=${line#*" $2=\""}
		GK_OUT=${line%%\"*}
		return 0
	done
}

# gk_grub_parts DISK SKIP: GK_GRUB_PARTS for the config's partition GK_DEV
# (mounted on GK_ROOT) and every other partition of DISK but SKIP (the ESP),
# each mounted read-only on GK_GRUB_MNT/NAME when it holds iso9660, vfat or
# ext2/3/4, as GRUB's search and (hd0,N) reach them.
gk_grub_parts() {
	local disk="$1" skip="$2" name names num type uuid label dir mt cfgname="${GK_DEV##*/}" out="" probe
	local IFS="$GK_IFS"
	gk_candidates_out "$disk" "$skip"
	names=$GK_OUT
	# The partitions and the config's device, probed by one blkid run. The
	# whole disk only when it holds the config (an ISO): GRUB would not
	# look at it otherwise.
	probe=
	IFS=$GK_NL
	for name in $names; do
		[ -f "$GK_SYS/class/block/$name/partition" ] || [ "$name" = "$cfgname" ] || continue
		probe="$probe $name"
	done
	IFS=$GK_IFS
	# shellcheck disable=SC2086 # one word per device
	gk_blkid $probe
	IFS=$GK_NL
	for name in $names; do
		IFS=$GK_IFS
		case " $probe " in *" $name "*) ;; *) continue ;; esac
		num=
		[ -f "$GK_SYS/class/block/$name/partition" ] && read -r num <"$GK_SYS/class/block/$name/partition"
		gk_blkid_field "$name" TYPE
		type=$GK_OUT
		gk_blkid_field "$name" UUID
		uuid=$GK_OUT
		gk_blkid_field "$name" LABEL
		label=$GK_OUT
		dir=
		if [ "$name" = "$cfgname" ]; then
			dir=$GK_ROOT type=${type:-${GK_FSTYPE%%,*}}
		else
			case "$type" in
			iso9660 | vfat | ext2 | ext3 | ext4)
				# ext2/3 through the ext4 driver, as gk_mount_legacy mounts them.
				mt=$type
				case "$type" in ext2 | ext3) mt=ext4 ;; esac
				mkdir -p "$GK_GRUB_MNT/$name" &&
					mount -t "$mt" -o ro "/dev/$name" "$GK_GRUB_MNT/$name" 2>/dev/null &&
					dir=$GK_GRUB_MNT/$name
				;;
			esac
		fi
		out="$out$name$GK_TAB$num$GK_TAB$type$GK_TAB$uuid$GK_TAB$label$GK_TAB$dir$GK_NL"
	done
	GK_GRUB_PARTS=$out
}

# gk_grub_parse_config CFG: run GRUB config CFG (a path from the root of the
# partition on GK_ROOT) into GK_RECORDS / GK_RECORDS_FILE, as gk_parse_config
# does a syslinux one. Sets GK_GRUB_TIMEOUT, GK_GRUB_STYLE, GK_GRUB_DEFAULT
# (GRUB's variables once the config ran) and GK_CFG_KIND=grub.
gk_grub_parse_config() {
	local cfg="$1" parts cfgname out line f dir name rest bls="" recs="" legacy=0 prog="" IFS
	GK_CFG=$cfg GK_CFGDIR=${cfg%/*} GK_CFG_KIND=grub
	GK_CFGDIR=${GK_CFGDIR:-/}
	GK_RECORDS_FILE=${GK_RECORDS_FILE:-$GK_TMP/gen-kexec-entries.$$}
	gk_parse_reset
	cfgname=${GK_DEV:-/dev/legacy}
	cfgname=${cfgname##*/}
	parts=${GK_GRUB_PARTS:-$cfgname${GK_TAB}1$GK_TAB${GK_FSTYPE:-}$GK_TAB$GK_TAB$GK_TAB$GK_ROOT}
	case "$cfg" in */menu.lst | */grub.conf) legacy=1 ;; esac
	# What awk cannot list: the BLS entries of every mounted partition; and
	# where each partition is, for gk_file.
	IFS=$GK_NL
	for line in $parts; do
		name=${line%%"$GK_TAB"*}
		dir=${line##*"$GK_TAB"}
		case "$name" in *[!a-zA-Z0-9_]* | '') ;; *) eval "GK_PDIR_$name=\$dir" ;; esac
		[ -n "$dir" ] || continue
		for f in "$dir"/loader/entries/*.conf "$dir"/boot/loader/entries/*.conf; do
			[ -f "$f" ] && bls="$bls$name$GK_TAB${f#"$dir"}$GK_TAB$f$GK_NL"
		done
	done
	IFS=$GK_IFS
	for f in $GK_GRUB_AWK; do prog="$prog -f $GK_LIB/$f.awk"; done
	[ -d "$GK_TMP" ] || mkdir -p "$GK_TMP"
	# shellcheck disable=SC2086 # one word per -f FILE
	out=$(awk -v PARTS="$parts" -v CFGNAME="$cfgname" -v CFG="$cfg" -v BLS="$bls" -v LEGACY="$legacy" \
		-v PTTYPE="${GK_GRUB_PTTYPE:-msdos}" -v MAXNEST="$GK_MAX_NESTING" -v MAXLINE="$GK_MAX_LINE" \
		-v MAXBYTES="$GK_BUDGET_BYTES" -v MAXLINES="$GK_BUDGET_LINES" -v MAXFILES="$GK_BUDGET_FILES" \
		$prog </dev/null 2>&1)
	GK_GRUB_TIMEOUT=- GK_GRUB_STYLE= GK_GRUB_DEFAULT=
	IFS=$GK_NL
	set -f
	for line in $out; do
		rest=${line#*"$GK_TAB"}
		case "$line" in
		"R$GK_TAB"*) recs="$recs$rest$GK_NL" ;;
		"W$GK_TAB"*) gk_warn "$rest" ;;
		"G${GK_TAB}timeout$GK_TAB"*) GK_GRUB_TIMEOUT=${rest#*"$GK_TAB"} ;;
		"G${GK_TAB}timeout_style$GK_TAB"*) GK_GRUB_STYLE=${rest#*"$GK_TAB"} ;;
		"G${GK_TAB}default$GK_TAB"*) GK_GRUB_DEFAULT=${rest#*"$GK_TAB"} ;;
		*) gk_warn "$cfg: $line" ;;
		esac
	done
	set +f
	IFS=$GK_IFS
	printf '%s' "$recs" >"$GK_RECORDS_FILE" || { gk_fail "cannot write $GK_RECORDS_FILE"; return 1; }
	GK_RECORDS=${recs%"$GK_NL"}
	return 0
}

# gk_grub_wait: GK_M_WAIT and GK_M_WAIT_WHY from GRUB's timeout (seconds;
# unset or negative: forever) and timeout_style. gen-kexec shows its menu
# with timeout_style=hidden and countdown too (GRUB would show none until a
# key is pressed): the countdown is the same.
gk_grub_wait() {
	local t="$GK_GRUB_TIMEOUT" style="${GK_GRUB_STYLE:-menu}"
	GK_M_HAS_UI=1 GK_M_TCMD=
	case "$t" in
	- | -* | '') GK_M_WAIT=-1 GK_M_WAIT_WHY="GRUB, no timeout" ;;
	*)
		gk_number "$t"
		GK_M_WAIT=$((GK_OUT * 100)) GK_M_WAIT_WHY="GRUB, timeout=$GK_OUT"
		;;
	esac
	[ "$style" = menu ] || GK_M_WAIT_WHY="$GK_M_WAIT_WHY, timeout_style=$style"
}

# gk_file REF: GK_OUT = where file REF of a record is on this system: /PATH
# on the config's partition (GK_ROOT), (NAME)/PATH on partition NAME.
gk_file() {
	local name path
	case "$1" in
	"("*")"*)
		name=${1#"("}
		name=${name%%")"*}
		path=${1#*")"}
		case "$name" in *[!a-zA-Z0-9_]* | '') GK_OUT=/nonexistent$path; return 0 ;; esac
		eval "GK_OUT=\${GK_PDIR_$name:-/nonexistent}\$path"
		;;
	*) GK_OUT=$GK_ROOT$1 ;;
	esac
}
