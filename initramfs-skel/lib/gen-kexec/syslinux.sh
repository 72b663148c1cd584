# gen-kexec runtime library: the isolinux/syslinux/extlinux config parser.
#
# It follows syslinux 6 (com32/elflink/ldlinux/readconfig.c, and
# com32/menu/readconfig.c for the MENU lines menu.c32 and vesamenu.c32
# read): keywords are case-insensitive words at the start of a line after
# blanks; included files are parsed as if pasted in place (the parser state
# is global, as in syslinux); a missing include is skipped; paths are
# relative to the working directory (the main config's directory, or what a
# CONFIG line chose) or absolute from the partition root; a label's name is
# the rest of its line, as menu.c32 stores it.
#
# Every entry goes to the records file GK_RECORDS_FILE, one line each,
# fields separated by tabs, "-" for an empty field:
#   kind depth label title kernel type append initrd menudefault
# kind: e (an entry that runs a command), h (MENU HIDE), s (MENU
# SEPARATOR), d (MENU DISABLE), x (MENU EXIT/GOTO/QUIT: menu navigation),
# m / M (a submenu begins, with its title / ends), t (the title of the
# submenu being read). type: syslinux's kernel type (kernel, linux,
# localboot, boot, bss, pxe, fdimage, comboot, com32, config). append is
# resolved against the global APPEND (APPEND - means none), blanks
# collapsed; initrd is the INITRD directive.
#
# Work is linear in what is read and bounded (untrusted input): at most
# GK_MAX_NESTING nested includes, GK_BUDGET_BYTES bytes and GK_BUDGET_LINES
# lines and GK_BUDGET_FILES files read in all (an include counts each time
# it is read), and lines of
# at most GK_MAX_LINE bytes (syslinux's own line buffer). An exceeded budget
# is reported with the file and line; what was read before stays.

GK_MAX_NESTING=16
GK_MAX_LINE=4096
GK_BUDGET_BYTES=4194304
GK_BUDGET_LINES=100000
GK_BUDGET_FILES=128  # config files read (each one is an awk process)

# The lexer, in awk (one process per file, instead of a read(2) per byte in
# ash): for each line syslinux acts on, "LINE<TAB>KEYWORD<TAB>REST" with the
# keyword in lower case ("menu.label" for MENU LABEL), blanks and everything
# after a CR trimmed; TEXT ... ENDTEXT blocks, comments and directives that
# change nothing for gen-kexec (colours, F1..F12, SAY, ...) dropped. The first
# line is "BYTES<TAB>LONG<TAB>LINES": bytes and lines read, and the number of
# the first line longer than max (reading stops there).
GK_AWK_LEX='
BEGIN {
	split("label kernel linux append initrd include default ui timeout totaltimeout ontimeout prompt path ipappend sysappend localboot boot bss pxe fdimage comboot com32 config", k, " ")
	for (i in k) kws[k[i]] = 1
	split("label title default hide disable disabled exit goto quit separator begin end include", k, " ")
	for (i in k) menukw["menu." k[i]] = 1
}
{
	if (length($0) > max) { long = NR; exit }
	bytes += length($0)+1
	line = $0
	i = index(line, "\r"); if (i) line = substr(line, 1, i - 1)
	sub(/^[ \t]+/, "", line)
	if (match(line, /[ \t]/)) { w = substr(line, 1, RSTART - 1); rest = substr(line, RSTART+1) } else { w = line; rest = "" }
	sub(/^[ \t]+/, "", rest); sub(/[ \t]+$/, "", rest)
	kw = tolower(w)
	if (intext) { if (kw == "endtext") intext = 0; next }
	if (kw == "text") { intext = 1; next }
	if (kw == "menu") {
		if (match(rest, /[ \t]/)) { w = substr(rest, 1, RSTART - 1); rest = substr(rest, RSTART+1) } else { w = rest; rest = "" }
		sub(/^[ \t]+/, "", rest)
		kw = "menu." tolower(w)
		if (!(kw in menukw)) next
	} else if (!(kw in kws)) next
	out[++n] = NR "\t" kw "\t" rest
}
END { print bytes+0 "\t" long+0 "\t" NR+0; for (i = 1; i <= n; i++) print out[i] }
'
GK_NL='
'

# Parser state, global like syslinux's.
gk_parse_reset() {
	GK_DEFAULT= GK_UI= GK_PROMPT=0 GK_TIMEOUT=0 GK_TOTALTIMEOUT=0 GK_ONTIMEOUT=
	GK_GLOBAL_APPEND= GK_TITLE= GK_PATH= GK_SYSAPPEND=0
	GK_DEPTH=0 GK_NESTING=0 GK_READ_BYTES=0 GK_READ_LINES=0 GK_READ_FILES=0 GK_BUDGET_HIT=
	GK_NLABELS=0
	gk_label_reset
}

gk_label_reset() {
	GK_L_NAME= GK_L_KERNEL= GK_L_TYPE= GK_L_APPEND= GK_L_HAS_APPEND= GK_L_INITRD=
	GK_L_MLABEL= GK_L_MDEF=0 GK_L_HIDE=0 GK_L_DISABLED=0 GK_L_NAV= GK_L_SEP=
}

# gk_record_line KIND DEPTH [LABEL TITLE KERNEL TYPE APPEND INITRD MDEF]:
# one record, tab-separated, "-" for empty fields.
gk_record_line() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${3:--}" "${4:--}" "${5:--}" \
		"${6:--}" "${7:--}" "${8:--}" "${9:--}" >&4
}

# Close the label being read (syslinux's record()).
gk_label_record() {
	local append kind=e title
	# No label yet: nothing to record; what MENU HIDE/DISABLE set before
	# it is dropped (syslinux's LABEL clears them).
	[ -n "$GK_L_NAME$GK_L_SEP" ] || { gk_label_reset; return 0; }
	if [ -n "$GK_L_HAS_APPEND" ]; then append=$GK_L_APPEND; else append=$GK_GLOBAL_APPEND; fi
	case "$append" in *[" $GK_TAB"][" $GK_TAB"]* | *"$GK_TAB"*) gk_words "$append" && append=$GK_OUT ;; esac
	[ "$append" = "-" ] && append=
	title=${GK_L_MLABEL:-$GK_L_NAME}
	if [ -n "$GK_L_SEP" ]; then
		kind=s title=
	elif [ "$GK_L_DISABLED" = 1 ]; then
		kind=d
	elif [ -n "$GK_L_NAV" ]; then
		kind=x
	elif [ "$GK_L_HIDE" = 1 ]; then
		kind=h
	fi
	GK_NLABELS=$((GK_NLABELS + 1))
	gk_record_line "$kind" "$GK_DEPTH" "$GK_L_NAME" "$title" "$GK_L_KERNEL" "$GK_L_TYPE" \
		"$append" "$GK_L_INITRD" "$GK_L_MDEF"
	gk_label_reset
}

# gk_parse_file FILE WHERE: parse FILE (a path from the partition root)
# into the parser state. WHERE names the including line for messages.
gk_parse_file() {
	local file="$1" where="$2" out head bytes long lines line n kw rest word sub
	[ -z "$GK_BUDGET_HIT" ] || return 0
	if [ ! -f "$GK_ROOT$file" ]; then
		gk_warn "$where: include $file: no such file; skipped (as syslinux does)"
		return 0
	fi
	GK_READ_FILES=$((GK_READ_FILES + 1))
	if [ "$GK_READ_FILES" -gt "$GK_BUDGET_FILES" ]; then
		GK_BUDGET_HIT=1
		gk_warn "$where: include $file: more than $GK_BUDGET_FILES config files read in all (an include loop?); it and the rest are skipped"
		return 0
	fi
	if [ "$GK_NESTING" -ge "$GK_MAX_NESTING" ]; then
		gk_warn "$where: include $file: includes nested more than $GK_MAX_NESTING deep (an include loop?); skipped"
		return 0
	fi
	out=$(awk -v max="$GK_MAX_LINE" "$GK_AWK_LEX" "$GK_ROOT$file" 2>/dev/null)
	head=${out%%"$GK_NL"*}
	case "$out" in *"$GK_NL"*) out=${out#*"$GK_NL"} ;; *) out= ;; esac
	bytes=${head%%"$GK_TAB"*} lines=${head##*"$GK_TAB"}
	long=${head#*"$GK_TAB"}
	long=${long%"$GK_TAB"*}
	GK_READ_BYTES=$((GK_READ_BYTES + ${bytes:-0})) GK_READ_LINES=$((GK_READ_LINES + ${lines:-0}))
	if [ "$GK_READ_BYTES" -gt "$GK_BUDGET_BYTES" ] || [ "$GK_READ_LINES" -gt "$GK_BUDGET_LINES" ]; then
		GK_BUDGET_HIT=1
		gk_warn "$where: $file: more than $((GK_BUDGET_BYTES / 1048576)) MiB or $GK_BUDGET_LINES lines of config read in all (an include loop?); it and the rest are skipped"
		return 0
	fi
	[ "${long:-0}" != 0 ] &&
		gk_warn "$file:$long: line longer than $GK_MAX_LINE bytes (not a syslinux config?); the rest of $file is skipped"
	GK_NESTING=$((GK_NESTING + 1))
	local IFS="$GK_NL"
	set -f
	for line in $out; do
		set +f
		[ -n "$GK_BUDGET_HIT" ] && break
		n=${line%%"$GK_TAB"*}
		line=${line#*"$GK_TAB"}
		kw=${line%%"$GK_TAB"*}
		rest=${line#*"$GK_TAB"}
		case "$kw" in
		menu.label)
			if [ -n "$GK_L_NAME" ]; then
				GK_L_MLABEL=$rest
			elif [ "$GK_DEPTH" -gt 0 ]; then
				gk_record_line t "$GK_DEPTH" - "$rest"
			fi
			;;
		menu.title)
			if [ "$GK_DEPTH" -gt 0 ]; then gk_record_line t "$GK_DEPTH" - "$rest"; else GK_TITLE=$rest; fi
			;;
		menu.default) [ -n "$GK_L_NAME" ] && GK_L_MDEF=1 ;;
		menu.hide) GK_L_HIDE=1 ;;
		menu.disable | menu.disabled) GK_L_DISABLED=1 ;;
		menu.exit | menu.goto | menu.quit) [ -n "$GK_L_NAME" ] && GK_L_NAV=1 ;;
		menu.separator)
			gk_label_record
			GK_L_SEP=1
			gk_label_record
			;;
		menu.begin)
			gk_label_record
			GK_DEPTH=$((GK_DEPTH + 1))
			gk_record_line m "$GK_DEPTH" - "$rest"
			;;
		menu.end)
			gk_label_record
			if [ "$GK_DEPTH" -gt 0 ]; then
				gk_record_line M "$GK_DEPTH"
				GK_DEPTH=$((GK_DEPTH - 1))
			fi
			;;
		menu.include)
			# MENU INCLUDE FILE [TAG]: with a tag the file is a submenu.
			word=${rest%%[ $GK_TAB]*}
			gk_trim "${rest#"$word"}"
			sub=$GK_OUT
			gk_path "$GK_CFGDIR" "$word"
			word=$GK_OUT
			if [ -n "$sub" ] && [ -f "$GK_ROOT$word" ]; then
				gk_label_record
				GK_DEPTH=$((GK_DEPTH + 1))
				gk_record_line m "$GK_DEPTH" - "$sub"
				gk_parse_file "$word" "$file:$n"
				gk_label_record
				gk_record_line M "$GK_DEPTH"
				GK_DEPTH=$((GK_DEPTH - 1))
			else
				gk_parse_file "$word" "$file:$n"
			fi
			;;
		include)
			word=${rest%%[ $GK_TAB]*}
			gk_path "$GK_CFGDIR" "$word"
			gk_parse_file "$GK_OUT" "$file:$n"
			;;
		label)
			gk_label_record
			GK_L_NAME=${rest:-" "} GK_L_KERNEL=$rest GK_L_TYPE=kernel
			;;
		kernel | linux | localboot | boot | bss | pxe | fdimage | comboot | com32 | config)
			if [ -n "$GK_L_NAME" ]; then
				case "$rest" in *[" $GK_TAB"][" $GK_TAB"]* | *"$GK_TAB"*) gk_words "$rest" && rest=$GK_OUT ;; esac
				GK_L_KERNEL=$rest GK_L_TYPE=$kw
			fi
			;;
		append)
			if [ -n "$GK_L_NAME" ]; then
				GK_L_APPEND=$rest GK_L_HAS_APPEND=1
			else
				GK_GLOBAL_APPEND=$rest
			fi
			;;
		initrd)
			# INITRD outside a label is ignored by syslinux too.
			if [ -n "$GK_L_NAME" ]; then
				gk_words "$rest"
				GK_L_INITRD=$GK_OUT
			fi
			;;
		default)
			gk_words "$rest"
			GK_DEFAULT=$GK_OUT
			;;
		ui)
			gk_words "$rest"
			GK_UI=$GK_OUT
			;;
		timeout) gk_number "$rest" && GK_TIMEOUT=$GK_OUT ;;
		totaltimeout) gk_number "$rest" && GK_TOTALTIMEOUT=$GK_OUT ;;
		ontimeout)
			gk_words "$rest"
			GK_ONTIMEOUT=$GK_OUT
			;;
		prompt) gk_number "$rest" && GK_PROMPT=$GK_OUT ;;
		path) GK_PATH=$rest ;;
		ipappend | sysappend) [ -z "$GK_L_NAME" ] && gk_number "$rest" && GK_SYSAPPEND=$GK_OUT ;;
		esac
	done
	set +f
	GK_NESTING=$((GK_NESTING - 1))
	return 0
}

# gk_parse_config CFG [CWD]: parse CFG (a path from the partition root, e.g.
# /isolinux/isolinux.cfg) and everything it includes into GK_RECORDS_FILE.
# CWD is syslinux's working directory, by default CFG's directory.
gk_parse_config() {
	local cfg="$1"
	gk_is_grub_config "$cfg" && { gk_grub_parse_config "$cfg"; return; }
	GK_CFG_KIND=syslinux
	GK_CFG=$cfg
	GK_CFGDIR=${2:-${cfg%/*}}
	GK_CFGDIR=${GK_CFGDIR:-/}
	GK_RECORDS_FILE=${GK_RECORDS_FILE:-$GK_TMP/gen-kexec-entries.$$}
	gk_parse_reset
	[ -d "$GK_TMP" ] || mkdir -p "$GK_TMP"
	exec 4>"$GK_RECORDS_FILE" || { gk_fail "cannot write $GK_RECORDS_FILE"; return 1; }
	gk_parse_file "$cfg" "$cfg"
	gk_label_record
	while [ "$GK_DEPTH" -gt 0 ]; do
		gk_record_line M "$GK_DEPTH"
		GK_DEPTH=$((GK_DEPTH - 1))
	done
	exec 4>&-
	# In memory from here on: ash's `read` takes one system call per byte.
	GK_RECORDS=$(cat "$GK_RECORDS_FILE")
	return 0
}

# gk_each_record FUNCTION: FUNCTION KIND DEPTH LABEL TITLE KERNEL TYPE APPEND
# INITRD MDEF for every record, in order, until it returns 1.
gk_each_record() {
	local line IFS="$GK_NL"
	set -f
	for line in $GK_RECORDS; do
		IFS="$GK_TAB"
		set -f
		# shellcheck disable=SC2086 # fields, never empty ("-")
		set -- $line
		IFS="$GK_NL"
		"$GK_EACH" "$@" || break
	done
	set +f
}

# gk_find_config_out: the boot config on the partition mounted on GK_ROOT: a
# syslinux one, in the order isolinux/syslinux/extlinux search for it, else
# a GRUB one (gk_find_grub_config; docs/grub-commands.md says why syslinux
# comes first). GK_OUT = its path from the partition root (gk_find_config
# prints it); returns 1 if there is none.
gk_find_config_out() {
	local dir name
	for dir in /boot/isolinux /isolinux /boot/syslinux /syslinux /boot/extlinux /extlinux ""; do
		for name in isolinux.cfg syslinux.cfg extlinux.conf; do
			if [ -f "$GK_ROOT$dir/$name" ]; then
				GK_OUT=$dir/$name
				return 0
			fi
		done
	done
	gk_find_grub_config_out
}
gk_find_config() { gk_find_config_out && printf '%s' "$GK_OUT"; }
