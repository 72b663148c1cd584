# gen-kexec runtime library: paths, logging and the small string helpers the
# rest uses. Part of the bootloader's initramfs (/lib/gen-kexec), sourced by
# /boot/kexec.sourceme through gen-kexec.sh. busybox ash, safe under `set -u`.
#
# The helpers that the parsers call for every line set GK_OUT instead of
# printing: `$(...)` forks a subshell, which costs about a millisecond
# under emulation.

GK_ROOT=${GK_ROOT:-/mnt/legacy}              # where the legacy partition is mounted
GK_BOOT=${GK_BOOT:-/boot}                    # where /init mounted the gen-kexec ESP
GK_CONF=${GK_CONF:-$GK_BOOT/gen-kexec.conf}  # optional user settings
GK_PROC=${GK_PROC:-/proc}
GK_SYS=${GK_SYS:-/sys}
GK_TMP=${GK_TMP:-/tmp}
GK_KMSG=${GK_KMSG:-}                         # /init sets /dev/kmsg
GK_CFG_KIND=${GK_CFG_KIND:-}                 # syslinux or grub: the config being read
# The control characters, from one printf (one fork, not five): tab, CR,
# ESC, DEL, backspace, in that order.
GK_OUT=$(printf '\t\r\033\177\010')
GK_TAB=${GK_OUT%????}
GK_BS=${GK_OUT#????}
GK_OUT=${GK_OUT#?}
GK_CR=${GK_OUT%???}
GK_OUT=${GK_OUT#?}
GK_ESC=${GK_OUT%??}
GK_DEL=${GK_OUT#?}
GK_DEL=${GK_DEL%?}
GK_IFS=" $GK_TAB
"  # the default IFS, whatever the caller set

# gk_log LEVEL MESSAGE: a `gen-kexec:` line. Under /init it goes to the
# kernel log (GK_KMSG=/dev/kmsg) at printk LEVEL, so it shows on every
# console (screen and serial); otherwise, or when that write fails, to
# stdout (gk_say) or stderr (warnings and errors).
gk_log() {
	[ -n "$GK_KMSG" ] && printf '<%s>gen-kexec: %s\n' "$1" "$2" 2>/dev/null >>"$GK_KMSG" && return 0
	echo "gen-kexec: $2"
}
gk_say() { gk_log 5 "$*"; }
gk_warn() { gk_log 4 "warning: $*" >&2; }
gk_fail() { gk_log 3 "error: $*" >&2; return 1; }

# gk_trim VALUE: GK_OUT = VALUE without leading/trailing blanks.
gk_trim() {
	GK_OUT="${1#"${1%%[! $GK_TAB$GK_CR]*}"}"
	GK_OUT="${GK_OUT%"${GK_OUT##*[! $GK_TAB$GK_CR]}"}"
}

# gk_words STRING: GK_OUT = STRING with blanks collapsed to single spaces.
gk_words() {
	local IFS=" $GK_TAB$GK_CR"
	set -f
	# shellcheck disable=SC2086 # splitting is the point
	set -- $1
	set +f
	IFS=" "
	GK_OUT="$*"
}

# gk_path DIR PATH: GK_OUT = PATH as seen from the partition root; relative
# paths are relative to DIR (syslinux's working directory).
gk_path() {
	case "$2" in
	/*) gk_clean_path "$2" ;;
	"("*")"/*) GK_OUT=$2 ;;  # (NAME)/PATH: a GRUB path on another partition
	*) gk_clean_path "$1/$2" ;;
	esac
}

# gk_clean_path PATH: GK_OUT = PATH without ".", ".." and repeated slashes, as
# the filesystem would resolve it ("/boot/syslinux/../vmlinuz" -> "/boot/vmlinuz").
gk_clean_path() {
	local IFS=/ part out=""
	set -f
	for part in $1; do
		case "$part" in
		'' | .) ;;
		..) out=${out%/*} ;;
		*) out="$out/$part" ;;
		esac
	done
	set +f
	GK_OUT=${out:-/}
}

# gk_quoted ARG...: ARGs for display, single-quoting those with blanks.
gk_quoted() {
	local arg out=""
	for arg in "$@"; do
		case "$arg" in
		*[" $GK_TAB"]*) out="$out '$arg'" ;;
		*) out="$out $arg" ;;
		esac
	done
	printf '%s' "${out# }"
}

# gk_uptime_cs: GK_OUT = the time since boot in hundredths of a second
# (/proc/uptime), the clock of every deadline here.
gk_uptime_cs() {
	local up rest
	read -r up rest <"$GK_PROC/uptime" || up=0.00
	case "$up" in
	*.*) GK_OUT=$((${up%.*} * 100 + 1${up#*.} - 100)) ;;
	*) GK_OUT=$((up * 100)) ;;
	esac
}

# gk_number TEXT: GK_OUT = the leading unsigned number of TEXT, as C's
# atoi/strtoul(…, 0) read it in syslinux (decimal, 0x hexadecimal; 0 if none).
gk_number() {
	local t="${1%%[!0-9a-fA-FxX]*}"
	case "$t" in
	0[xX]*)
		t=${t#??}
		t=${t%%[!0-9a-fA-F]*}
		GK_OUT=$((0x${t:-0}))
		;;
	*)
		t=${t%%[!0-9]*}
		t=${t#"${t%%[!0]*}"}
		[ "${#t}" -gt 9 ] && t=999999999
		GK_OUT=${t:-0}
		;;
	esac
}
