# gen-kexec runtime library: from a chosen entry to the target kernel
# running: its kernel, initrds and command line, then kexec.

# gk_cmdline KERNEL ARGS: what kexec loads for a Linux entry (GK_A_KERNEL,
# GK_A_ARGS of gk_resolve). Sets GK_KERNEL (path from the partition root),
# GK_INITRDS (space-separated paths from the partition root) and GK_CMDLINE
# (what the target kernel gets).
#
# syslinux loads the initrds of the first initrd= (a comma-separated list).
# kexec gets them with --initrd, so every initrd= is dropped from the
# command line. Words after a lone "--" are for init, not the kernel: what
# gen-kexec adds goes before it: the bootloader's own console= (so the
# target talks where gen-kexec did, unless the entry or the user chose a
# console), then gen-kexec.conf's append=.
gk_cmdline() {
	local kernel="$1" args="$2" word first_initrd="" console="" proc_cmdline="" for_kernel="" for_init=""
	local IFS="$GK_IFS"
	gk_path "$GK_CFGDIR" "$kernel"
	GK_KERNEL=$GK_OUT
	GK_INITRDS=
	set -f
	for word in $args; do
		case "$word" in
		initrd=*)
			[ -n "$first_initrd" ] && continue
			first_initrd=${word#initrd=}
			gk_initrd_paths "$first_initrd"
			GK_INITRDS=$GK_OUT
			continue
			;;
		esac
		if [ -n "$for_init" ]; then
			for_init="$for_init $word"
			continue
		fi
		case "$word" in
		--) for_init=-- ;;
		console=*)
			console=1
			for_kernel="$for_kernel $word"
			;;
		*) for_kernel="$for_kernel $word" ;;
		esac
	done
	set +f
	case " $GK_CONF_APPEND" in *" console="*) console=1 ;; esac
	if [ -z "$console" ] && [ -r "$GK_PROC/cmdline" ]; then
		read -r proc_cmdline <"$GK_PROC/cmdline" || true
		set -f
		for word in $proc_cmdline; do
			case "$word" in console=*) for_kernel="$for_kernel $word" ;; esac
		done
		set +f
	fi
	if [ -n "$GK_CONF_APPEND" ]; then
		gk_words "$GK_CONF_APPEND"
		for_kernel="$for_kernel $GK_OUT"
	fi
	# A GRUB entry's command line already starts as GRUB makes it
	# (BOOT_IMAGE=PATH as the config wrote it; GRUB legacy: the path).
	if [ "$GK_CFG_KIND" = grub ]; then
		GK_CMDLINE="${for_kernel# }${for_init:+ $for_init}"
	else
		GK_CMDLINE="BOOT_IMAGE=$kernel$for_kernel${for_init:+ $for_init}"
	fi
}

# gk_initrd_paths LIST: GK_OUT = the comma-separated initrd LIST as
# space-separated paths from the partition root.
gk_initrd_paths() {
	local IFS=, item out=""
	set -f
	for item in $1; do
		[ -n "$item" ] || continue
		gk_path "$GK_CFGDIR" "$item"
		out="$out $GK_OUT"
	done
	set +f
	GK_OUT=${out# }
}

# gk_switch_config: the action in GK_A_* is CONFIG FILE [DIR] (or APPEND
# DIR): parse FILE instead, with DIR as the new working directory, as
# syslinux starts over with another config.
gk_switch_config() {
	local file="${GK_A_KERNEL}" dir
	dir=${GK_A_ARGS%% *}
	gk_path "$GK_CFGDIR" "$file"
	file=$GK_OUT
	if [ -n "$dir" ]; then gk_path "$GK_CFGDIR" "$dir" && dir=$GK_OUT; else dir=$GK_CFGDIR; fi
	[ -f "$GK_ROOT$file" ] ||
		gk_fail "CONFIG $file (label $GK_A_LABEL in $GK_CFG): no such file on ${GK_DEV:-the partition}" || return 1
	gk_say "CONFIG $file (label $GK_A_LABEL in $GK_CFG): reading it, working directory $dir"
	gk_parse_config "$file" "$dir" && gk_menu_model
}

# gk_follow_config: the action in GK_A_* is a CONFIG switch: count it (at
# most 8 in a row, GK_HOPS) and read the new config, for gk_plan and gk_choose.
gk_follow_config() {
	GK_HOPS=$((GK_HOPS + 1))
	[ "$GK_HOPS" -le 8 ] || gk_fail "more than 8 CONFIG switches (a loop?)" || return 1
	GK_CONF_LABEL=
	gk_switch_config
}

# gk_plan CFG: parse CFG and compute what boots with nobody at the keyboard
# (following CONFIG switches). Needs gk_read_conf to have run. Sets
# GK_LABEL, GK_REASON, GK_KERNEL, GK_INITRDS, GK_CMDLINE.
gk_plan() {
	GK_HOPS=0
	gk_parse_config "$1" && gk_menu_model || return 1
	while :; do
		gk_default_action || return 1
		case "$GK_A_KIND" in
		linux) break ;;
		config) gk_follow_config || return 1 ;;
		*)
			gk_model_bootable ||
				gk_fail "$GK_CFG has no label that boots a Linux kernel; labels: $(gk_labels). Its default ($GK_REASON) is '$GK_A_LABEL': $GK_A_WHY" || return 1
			gk_fail "label '$GK_A_LABEL' in $GK_CFG ($GK_REASON) is not a Linux kernel: $GK_A_WHY; set label= in $GK_CONF to one of: $(gk_labels)"
			return 1
			;;
		esac
	done
	GK_LABEL=$GK_A_LABEL
	gk_cmdline "$GK_A_KERNEL" "$GK_A_ARGS"
}

# gk_concat_initrds PATH...: kexec takes a single --initrd, so several
# initrds are concatenated into GK_TMP/initrd.cat, each padded with zeros to a
# multiple of 4 bytes (as syslinux does in memory): the kernel unpacks
# concatenated cpio archives, compressed or not, and skips zero padding.
gk_concat_initrds() {
	local out="$GK_TMP/initrd.cat" f size pad
	mkdir -p "$GK_TMP" || return 1
	: >"$out.partial" || return 1
	for f in "$@"; do
		cat "$f" >>"$out.partial" || {
			rm -f "$out.partial"
			gk_fail "cannot read initrd $f"
			return 1
		}
		size=$(wc -c <"$out.partial")
		pad=$(((4 - size % 4) % 4))
		while [ "$pad" -gt 0 ]; do
			printf '\000'
			pad=$((pad - 1))
		done >>"$out.partial"
	done
	mv "$out.partial" "$out" || return 1
	printf '%s' "$out"
}

# gk_kexec_load ARG...: `kexec ARG...` (a load), placing the kernel and
# initrd below load_below MiB (gen-kexec.conf, default 256) with --mem-max.
# kexec itself puts them at the top of RAM, which is where a freshly booted
# kernel tends to hand out free pages first: kexec_load then keeps getting
# pages that are the destination of some segment and shuffles them around.
# Low, that rarely happens: under QEMU/TCG (cargo xtask e2e) the load took
# 0.10 s instead of 0.23 s for Debian's kernel (63.6 MiB init_size). When
# kexec finds no room below the limit, the load is tried again without it.
gk_kexec_load() {
	local max log="$GK_TMP/kexec-load-below.log" line why=""
	if [ "$GK_CONF_LOAD_BELOW" != none ]; then
		max=$((GK_CONF_LOAD_BELOW * 1048576 - 1))
		gk_say "kexec load: kexec $(gk_quoted "--mem-max=$max" "$@")"
		kexec "--mem-max=$max" "$@" 2>"$log" && gk_say "kexec load: ok (below $GK_CONF_LOAD_BELOW MiB)" && return 0
		while IFS= read -r line; do why="$why${why:+; }$line"; done <"$log"
		gk_warn "kexec load: nothing loaded below $GK_CONF_LOAD_BELOW MiB (${why:-kexec said nothing}); trying again anywhere in memory"
	fi
	gk_say "kexec load: kexec $(gk_quoted "$@")"
	kexec "$@" || return 1
	gk_say "kexec load: ok"
}

# gk_boot: load the kernel gk_cmdline planned (GK_LABEL, GK_KERNEL,
# GK_INITRDS, GK_CMDLINE) and jump to it. Returns only on failure.
gk_boot() {
	local initrd="" f kernel files=""
	local IFS="$GK_IFS"
	gk_say "kernel $GK_KERNEL"
	gk_file "$GK_KERNEL"
	kernel=$GK_OUT
	[ -f "$kernel" ] ||
		gk_fail "kernel $GK_KERNEL (label $GK_LABEL in $GK_CFG) is not on $GK_DEV" || return 1
	set -f
	for f in $GK_INITRDS; do
		gk_file "$f"
		[ -f "$GK_OUT" ] ||
			gk_fail "initrd $f (label $GK_LABEL in $GK_CFG) is not on $GK_DEV" || { set +f; return 1; }
		files="$files $GK_OUT"
	done
	set +f
	case "$GK_INITRDS" in
	'') gk_say "initrd (none)" ;;
	*' '*)
		gk_say "initrds $GK_INITRDS: concatenating them into $GK_TMP/initrd.cat"
		set -f
		# shellcheck disable=SC2046 # one word per initrd
		initrd=$(gk_concat_initrds $files) ||
			{ set +f; return 1; }
		set +f
		;;
	*)
		gk_say "initrd $GK_INITRDS"
		initrd=${files# }
		;;
	esac
	gk_say "cmdline $GK_CMDLINE"

	# -l: load only (without it kexec would run `shutdown -r now` first).
	# -c: the kexec_load syscall; kexec-tools 2.0.29 otherwise tries
	#     kexec_file_load first, which fails here without memfd.
	# --type=bzImage64: the 64-bit entry point. --type=bzImage would pick the
	#     32-bit loader and the target would boot without EFI and SMBIOS.
	# -i (--no-checks): no sha256 of the loaded image, here and again in
	#     purgatory at `kexec -e` (that check is for kdump kernels loaded long
	#     before a crash); it took 3.5 of 5.5 s under QEMU/TCG.
	set -- -l -c -i --type=bzImage64
	[ -n "$initrd" ] && set -- "$@" "--initrd=$initrd"
	set -- "$@" "--command-line=$GK_CMDLINE" "$kernel"
	gk_kexec_load "$@" || gk_fail "kexec could not load $GK_KERNEL from $GK_DEV (see its message above)" || return 1

	# Both partitions stay mounted (read-only: nothing to flush), so that
	# the rescue shell can look around should `kexec -e` return.
	# -e: jump to the loaded kernel (after a sync). -x (--no-ifdown): no
	# network interfaces to take down.
	gk_say "exec: booting label $GK_LABEL"
	kexec -e -x
	gk_fail "kexec -e returned: the loaded kernel did not start (the legacy partition is still mounted on $GK_ROOT, the gen-kexec one on $GK_BOOT)"
}
