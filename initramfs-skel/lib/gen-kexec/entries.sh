# gen-kexec runtime library: from the parsed syslinux records to what can be
# booted. Resolves a command line the way syslinux runs one (a label, or a
# kernel file with arguments), follows the COM32 modules that only pick what
# to run next (ifcpu64.c32, ifcpu.c32, whichsys.c32) and CONFIG, and says
# why anything else (COM32 modules, LOCALBOOT, memdisk, memtest, boot
# sectors) cannot be booted from here.

# gk_find_label NAME: GK_R_* = the record of label NAME (exact, as syslinux
# compares labels; separators and disabled entries have no label).
# Returns 1 if there is none.
gk_find_label() {
	GK_WANT=$1 GK_FOUND=
	# Most lookups are for a label that is there: a quick test first.
	case "$GK_RECORDS" in *"$GK_TAB$GK_WANT$GK_TAB"*) ;; *) return 1 ;; esac
	GK_EACH=gk_find_label_1 gk_each_record
	[ -n "$GK_FOUND" ]
}
gk_find_label_1() {
	case "$1" in e | h | x) ;; *) return 0 ;; esac
	[ "$3" = "$GK_WANT" ] || return 0
	GK_R_KIND=$1 GK_R_LABEL=$3 GK_R_KERNEL=$5 GK_R_TYPE=$6 GK_R_APPEND=$7 GK_R_INITRD=$8 GK_FOUND=1
	[ "$GK_R_APPEND" = - ] && GK_R_APPEND=
	[ "$GK_R_INITRD" = - ] && GK_R_INITRD=
	return 1
}

# gk_labels: the labels, for messages.
gk_labels() {
	GK_OUT=
	GK_EACH=gk_labels_1 gk_each_record
	printf '%s' "${GK_OUT# }"
}
gk_labels_1() {
	case "$1" in e | h) GK_OUT="$GK_OUT $3" ;; esac
	return 0
}

# gk_module_why NAME: GK_OUT = why gen-kexec cannot run the syslinux program
# NAME (a basename), or "" when NAME is a Linux kernel. GK_KIND = linux,
# selector (ifcpu64/ifcpu/whichsys), menu (menu.c32, vesamenu.c32) or none.
gk_module_why() {
	GK_KIND=none
	case "$1" in
	[Ii][Ff][Cc][Pp][Uu]64.[Cc]32 | [Ii][Ff][Cc][Pp][Uu].[Cc]32 | [Ww][Hh][Ii][Cc][Hh][Ss][Yy][Ss].[Cc]32)
		GK_KIND=selector GK_OUT= ;;
	[Mm][Ee][Nn][Uu].[Cc]32 | [Vv][Ee][Ss][Aa][Mm][Ee][Nn][Uu].[Cc]32) GK_KIND=menu GK_OUT= ;;
	[Cc][Hh][Aa][Ii][Nn].[Cc]32) GK_OUT="chain.c32 starts another disk's or partition's boot sector (needs a BIOS)" ;;
	[Mm][Bb][Oo][Oo][Tt].[Cc]32) GK_OUT="mboot.c32 starts a multiboot kernel (Xen, ...), which gen-kexec does not" ;;
	[Rr][Ee][Bb][Oo][Oo][Tt].[Cc]32) GK_OUT="reboot.c32 reboots" ;;
	[Pp][Oo][Ww][Ee][Rr][Oo][Ff][Ff].[Cc]32) GK_OUT="poweroff.c32 powers off" ;;
	*.[Cc]32) GK_OUT="$1 is a syslinux COM32 module (runs only under syslinux)" ;;
	*.[Cc][Oo][Mm] | *.[Cc][Bb][Tt]) GK_OUT="$1 is a COMBOOT program (needs a BIOS)" ;;
	*.[Bb][Ss][Ss] | *.[Bb][Ss]) GK_OUT="$1 is a boot sector (needs a BIOS)" ;;
	*.0) GK_OUT="$1 is a PXE program (needs a BIOS)" ;;
	*.[Ii][Mm][Gg]) GK_OUT="$1 is a floppy image (needs a BIOS)" ;;
	[Mm][Ee][Mm][Dd][Ii][Ss][Kk]) GK_OUT="memdisk emulates a disk through the BIOS" ;;
	[Mm][Ee][Mm][Tt][Ee][Ss][Tt]* | *.[Bb][Ii][Nn]) GK_OUT="$1 is a BIOS program (memtest or similar), not a Linux kernel" ;;
	*) GK_KIND=linux GK_OUT= ;;
	esac
}

# gk_cpu_has FEATURE: does this CPU have FEATURE, as ifcpu.c32 names them?
gk_cpu_has() {
	local key rest flags="" n=0
	while IFS=":" read -r key rest; do
		case "$key" in
		flags*) flags=" $rest " ;;
		processor*) n=$((n + 1)) ;;
		esac
	done <"$GK_PROC/cpuinfo"
	case "$1" in
	64) case "$flags" in *" lm "*) return 0 ;; esac ;;
	486 | 586 | 686) return 0 ;;
	smp | multicore) [ "$n" -gt 1 ] && return 0 ;;
	*) case "$flags" in *" $1 "*) return 0 ;; esac ;;
	esac
	return 1
}

# gk_select_module NAME ARGS: GK_OUT = the command a selector module would
# run on this machine, GK_WHY its reason; returns 1 when it would run none.
gk_select_module() {
	local name="$1" args="$2" word part="" parts=0 want="" cond=1 tag
	local IFS="$GK_IFS"
	set -f
	case "$name" in
	[Ii][Ff][Cc][Pp][Uu]64.[Cc]32)
		# ifcpu64.c32 long_mode -- [pae --] other: this bootloader is 64-bit.
		GK_OUT=${args%% -- *}
		GK_WHY="ifcpu64.c32: the CPU is 64-bit"
		;;
	[Ii][Ff][Cc][Pp][Uu].[Cc]32)
		# ifcpu.c32 [dry-run] [debug] FEATURE... -- if_match -- otherwise
		for word in ${args%% -- *}; do
			case "$word" in dry-run | debug) ;; *) gk_cpu_has "$word" || cond=0 ;; esac
		done
		part=${args#* -- }
		if [ "$cond" = 1 ]; then
			GK_OUT=${part%% -- *}
			GK_WHY="ifcpu.c32: the CPU has ${args%% -- *}"
		else
			GK_OUT=${part#* -- }
			[ "$GK_OUT" = "$part" ] && GK_OUT=
			GK_WHY="ifcpu.c32: the CPU lacks some of ${args%% -- *}"
		fi
		;;
	*)
		# whichsys.c32 -iso- CMD -sys- CMD -ext- CMD -pxe- CMD: the command
		# for the loader that read this config (isolinux on iso9660,
		# syslinux on FAT, extlinux on ext2/3/4).
		case "${GK_FSTYPE:-}" in
		iso9660*) want=-iso- ;;
		vfat* | msdos*) want=-sys- ;;
		ext*) want=-ext- ;;
		esac
		tag=
		for word in $args; do
			case "$word" in
			-iso- | -sys- | -ext- | -pxe-) tag=$word ;;
			*) [ "$tag" = "$want" ] && part="$part${part:+ }$word" ;;
			esac
		done
		GK_OUT=$part
		GK_WHY="whichsys.c32: ${want:-no loader} for a ${GK_FSTYPE:-unknown} filesystem"
		;;
	esac
	set +f
	gk_trim "$GK_OUT"
	[ -n "$GK_OUT" ]
}

# gk_resolve COMMAND: what syslinux would run for COMMAND (a label and extra
# words, or a kernel file and its arguments), following selector modules.
# Sets GK_A_KIND (linux, config or none), GK_A_KERNEL (path as written),
# GK_A_ARGS (its options in syslinux's order: the KERNEL line's own words,
# APPEND, the INITRD directive as initrd=, then the extra words), GK_A_LABEL,
# GK_A_WHY (kind none: the reason), GK_A_VIA (the selectors followed; the
# caller empties it).
gk_resolve() {
	local first="${1%% *}" extra
	extra=${1#"$first"}
	extra=${extra# }
	if gk_find_label "$first"; then
		gk_resolve_fields "$GK_R_LABEL" "$GK_R_TYPE" "$GK_R_KERNEL" "$GK_R_APPEND" "$GK_R_INITRD" "$extra"
	else
		# Not a label: a kernel file and its arguments; without any, the
		# global APPEND (as syslinux runs a DEFAULT that names a file).
		gk_words "${extra:-$GK_GLOBAL_APPEND}"
		[ "$GK_OUT" = - ] && GK_OUT=
		gk_resolve_fields "$first" kernel "$first" "" "" "$GK_OUT"
	fi
}

# gk_resolve_fields LABEL TYPE KERNEL APPEND INITRD EXTRA: gk_resolve for a
# record already at hand (no lookup).
gk_resolve_fields() {
	local hops=0 type="$2" kernel="$3" args base
	GK_A_WHY= GK_A_LABEL=$1
	args=${kernel#"${kernel%% *}"}
	args="${args# } $4"
	[ -n "$5" ] && args="$args initrd=$5"
	args="$args $6"
	while :; do
		gk_words "$args"
		GK_A_ARGS=$GK_OUT GK_A_KERNEL=${kernel%% *}
		base=${GK_A_KERNEL##*/}
		GK_A_KIND=none
		case "$type" in
		linux) GK_A_KIND=linux ;;
		config) GK_A_KIND=config ;;
		unbootable) GK_A_WHY=$4 ;;  # a GRUB entry: APPEND says why
		localboot) GK_A_WHY="LOCALBOOT starts the BIOS's next boot device (needs a BIOS)" ;;
		boot | bss) GK_A_WHY="$GK_A_KERNEL is a boot sector (needs a BIOS)" ;;
		pxe) GK_A_WHY="$GK_A_KERNEL is a PXE program (needs a BIOS)" ;;
		fdimage) GK_A_WHY="$GK_A_KERNEL is a floppy image (needs a BIOS)" ;;
		comboot) GK_A_WHY="$GK_A_KERNEL is a COMBOOT program (needs a BIOS)" ;;
		*) type= ;;
		esac
		[ -n "$type" ] && return 0
		gk_module_why "$base"
		case "$GK_KIND" in
		linux)
			GK_A_KIND=linux
			return 0
			;;
		none)
			GK_A_WHY=$GK_OUT
			return 0
			;;
		menu)
			# menu.c32 FILE reads FILE instead: a config switch.
			if [ -n "$GK_A_ARGS" ]; then
				GK_A_KIND=config GK_A_KERNEL=${GK_A_ARGS%% *} GK_A_ARGS=
			else
				GK_A_WHY="$base shows this config's menu (gen-kexec shows it instead)"
			fi
			return 0
			;;
		esac
		hops=$((hops + 1))
		if [ "$hops" -gt 8 ]; then
			GK_A_WHY="more than 8 selector modules in a row (a loop?)"
			return 0
		fi
		if ! gk_select_module "$base" "$GK_A_ARGS"; then
			GK_A_WHY="$GK_WHY: it names nothing to run"
			return 0
		fi
		GK_A_VIA="${GK_A_VIA:+$GK_A_VIA; }$GK_WHY"
		# What the module runs: a label and extra words, or a kernel file.
		local cmd=$GK_OUT first extra
		first=${cmd%% *}
		extra=${cmd#"$first"}
		extra=${extra# }
		if gk_find_label "$first"; then
			GK_A_LABEL=$GK_R_LABEL type=$GK_R_TYPE kernel=$GK_R_KERNEL
			args=${kernel#"${kernel%% *}"}
			args="${args# } $GK_R_APPEND"
			[ -n "$GK_R_INITRD" ] && args="$args initrd=$GK_R_INITRD"
			args="$args $extra"
		else
			GK_A_LABEL=$first type=kernel kernel=$first args=$extra
		fi
	done
}
