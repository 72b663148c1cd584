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
# lines read in all (an include counts each time it is read), and lines of
# at most GK_MAX_LINE bytes (syslinux's own line buffer). An exceeded budget
# is reported with the file and line; what was read before stays.

GK_MAX_NESTING=16
GK_MAX_LINE=4096
GK_BUDGET_BYTES=4194304
GK_BUDGET_LINES=100000

# gk_keyword WORD: GK_KW = WORD in lower case if it is a keyword syslinux
# acts on, "" otherwise.
gk_keyword() {
	case "$1" in
	[Mm][Ee][Nn][Uu]) GK_KW=menu ;;
	[Ll][Aa][Bb][Ee][Ll]) GK_KW=label ;;
	[Kk][Ee][Rr][Nn][Ee][Ll]) GK_KW=kernel ;;
	[Ll][Ii][Nn][Uu][Xx]) GK_KW=linux ;;
	[Aa][Pp][Pp][Ee][Nn][Dd]) GK_KW=append ;;
	[Ii][Nn][Ii][Tt][Rr][Dd]) GK_KW=initrd ;;
	[Ii][Nn][Cc][Ll][Uu][Dd][Ee]) GK_KW=include ;;
	[Dd][Ee][Ff][Aa][Uu][Ll][Tt]) GK_KW=default ;;
	[Uu][Ii]) GK_KW=ui ;;
	[Tt][Ee][Xx][Tt]) GK_KW=text ;;
	[Ee][Nn][Dd][Tt][Ee][Xx][Tt]) GK_KW=endtext ;;
	[Tt][Ii][Mm][Ee][Oo][Uu][Tt]) GK_KW=timeout ;;
	[Tt][Oo][Tt][Aa][Ll][Tt][Ii][Mm][Ee][Oo][Uu][Tt]) GK_KW=totaltimeout ;;
	[Oo][Nn][Tt][Ii][Mm][Ee][Oo][Uu][Tt]) GK_KW=ontimeout ;;
	[Pp][Rr][Oo][Mm][Pp][Tt]) GK_KW=prompt ;;
	[Pp][Aa][Tt][Hh]) GK_KW=path ;;
	[Ii][Pp][Aa][Pp][Pp][Ee][Nn][Dd] | [Ss][Yy][Ss][Aa][Pp][Pp][Ee][Nn][Dd]) GK_KW=sysappend ;;
	[Ll][Oo][Cc][Aa][Ll][Bb][Oo][Oo][Tt]) GK_KW=localboot ;;
	[Bb][Oo][Oo][Tt]) GK_KW=boot ;;
	[Bb][Ss][Ss]) GK_KW=bss ;;
	[Pp][Xx][Ee]) GK_KW=pxe ;;
	[Ff][Dd][Ii][Mm][Aa][Gg][Ee]) GK_KW=fdimage ;;
	[Cc][Oo][Mm][Bb][Oo][Oo][Tt]) GK_KW=comboot ;;
	[Cc][Oo][Mm]32) GK_KW=com32 ;;
	[Cc][Oo][Nn][Ff][Ii][Gg]) GK_KW=config ;;
	# MENU sub-keywords
	[Tt][Ii][Tt][Ll][Ee]) GK_KW=title ;;
	[Hh][Ii][Dd][Ee]) GK_KW=hide ;;
	[Ss][Ee][Pp][Aa][Rr][Aa][Tt][Oo][Rr]) GK_KW=separator ;;
	[Dd][Ii][Ss][Aa][Bb][Ll][Ee] | [Dd][Ii][Ss][Aa][Bb][Ll][Ee][Dd]) GK_KW=disable ;;
	[Bb][Ee][Gg][Ii][Nn]) GK_KW=begin ;;
	[Ee][Nn][Dd]) GK_KW=end ;;
	[Ee][Xx][Ii][Tt] | [Gg][Oo][Tt][Oo] | [Qq][Uu][Ii][Tt]) GK_KW=exit ;;
	*) GK_KW= ;;
	esac
}

# Parser state, global like syslinux's.
gk_parse_reset() {
	GK_DEFAULT= GK_UI= GK_PROMPT=0 GK_TIMEOUT=0 GK_TOTALTIMEOUT=0 GK_ONTIMEOUT=
	GK_GLOBAL_APPEND= GK_TITLE= GK_PATH= GK_SYSAPPEND=0
	GK_DEPTH=0 GK_NESTING=0 GK_READ_BYTES=0 GK_READ_LINES=0 GK_BUDGET_HIT=
	GK_NLABELS=0
	gk_label_reset
}

gk_label_reset() {
	GK_L_NAME= GK_L_KERNEL= GK_L_TYPE= GK_L_APPEND= GK_L_HAS_APPEND= GK_L_INITRD=
	GK_L_MLABEL= GK_L_MDEF=0 GK_L_HIDE=0 GK_L_DISABLED=0 GK_L_NAV= GK_L_SEP=
}

# gk_record_line FIELD...: one record, tab-separated, "-" for empty fields.
gk_record_line() {
	local out="" f
	for f in "$@"; do
		out="$out${out:+$GK_TAB}${f:--}"
	done
	printf '%s\n' "$out" >&4
}

# Close the label being read (syslinux's record()).
gk_label_record() {
	local append kind=e title
	[ -n "$GK_L_NAME$GK_L_SEP" ] || return 0
	if [ -n "$GK_L_HAS_APPEND" ]; then append=$GK_L_APPEND; else append=$GK_GLOBAL_APPEND; fi
	gk_words "$append"
	append=$GK_OUT
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

# gk_file_budget FILE WHERE: account for FILE (from the partition root)
# before it is read. Sets GK_LONG_LINE to the number of its first line
# longer than GK_MAX_LINE (0 if none). Returns 1 when a budget is exhausted.
gk_file_budget() {
	local file="$1" where="$2" info bytes
	info=$(awk -v max="$GK_MAX_LINE" '{ b+=length($0)+1; if (length($0)>max) { long=NR; exit } } END { print b+0, long+0 }' "$GK_ROOT$file" 2>/dev/null) || info="0 0"
	bytes=${info%% *}
	GK_LONG_LINE=${info#* }
	GK_READ_BYTES=$((GK_READ_BYTES + bytes))
	if [ "$GK_READ_BYTES" -gt "$GK_BUDGET_BYTES" ]; then
		GK_BUDGET_HIT=1
		gk_warn "$where: $file: more than $((GK_BUDGET_BYTES / 1048576)) MiB of config read in all (an include loop?); it and the rest are skipped"
		return 1
	fi
	return 0
}

# gk_parse_file FILE WHERE: parse FILE (a path from the partition root)
# into the parser state. WHERE names the including line for messages.
gk_parse_file() {
	local file="$1" where="$2" kw rest word sub intext=0 n=0
	[ -z "$GK_BUDGET_HIT" ] || return 0
	if [ ! -f "$GK_ROOT$file" ]; then
		gk_warn "$where: include $file: no such file; skipped (as syslinux does)"
		return 0
	fi
	if [ "$GK_NESTING" -ge "$GK_MAX_NESTING" ]; then
		gk_warn "$where: include $file: includes nested more than $GK_MAX_NESTING deep (an include loop?); skipped"
		return 0
	fi
	gk_file_budget "$file" "$where" || return 0
	local long=$GK_LONG_LINE
	GK_NESTING=$((GK_NESTING + 1))
	while [ $((n + 1)) != "$long" ] && IFS=" $GK_TAB$GK_CR" read -r kw rest || [ -n "$kw" ]; do
		n=$((n + 1))
		GK_READ_LINES=$((GK_READ_LINES + 1))
		if [ "$GK_READ_LINES" -gt "$GK_BUDGET_LINES" ]; then
			GK_BUDGET_HIT=1
			gk_warn "$file:$n: more than $GK_BUDGET_LINES config lines read in all (an include loop?); the rest is skipped"
			break
		fi
		[ -n "$GK_BUDGET_HIT" ] && break
		gk_keyword "$kw"
		if [ "$intext" = 1 ]; then
			[ "$GK_KW" = endtext ] && intext=0
			continue
		fi
		case "$GK_KW" in
		'') ;;
		menu)
			word=${rest%%[ $GK_TAB]*}
			gk_trim "${rest#"$word"}"
			sub=$GK_OUT
			gk_keyword "$word"
			case "$GK_KW" in
			label)
				if [ -n "$GK_L_NAME" ]; then
					GK_L_MLABEL=$sub
				elif [ "$GK_DEPTH" -gt 0 ]; then
					gk_record_line t "$GK_DEPTH" - "$sub"
				fi
				;;
			title)
				if [ "$GK_DEPTH" -gt 0 ]; then gk_record_line t "$GK_DEPTH" - "$sub"; else GK_TITLE=$sub; fi
				;;
			default) [ -n "$GK_L_NAME" ] && GK_L_MDEF=1 ;;
			hide) GK_L_HIDE=1 ;;
			disable) GK_L_DISABLED=1 ;;
			exit) [ -n "$GK_L_NAME" ] && GK_L_NAV=1 ;;
			separator)
				gk_label_record
				GK_L_SEP=1
				gk_label_record
				;;
			begin)
				gk_label_record
				GK_DEPTH=$((GK_DEPTH + 1))
				gk_record_line m "$GK_DEPTH" - "$sub"
				;;
			end)
				gk_label_record
				if [ "$GK_DEPTH" -gt 0 ]; then
					gk_record_line M "$GK_DEPTH"
					GK_DEPTH=$((GK_DEPTH - 1))
				fi
				;;
			include)
				# MENU INCLUDE FILE [TAG]: with a tag the file is a submenu.
				word=${sub%%[ $GK_TAB]*}
				gk_trim "${sub#"$word"}"
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
			esac
			;;
		text) intext=1 ;;
		include)
			word=${rest%%[ $GK_TAB]*}
			gk_path "$GK_CFGDIR" "$word"
			gk_parse_file "$GK_OUT" "$file:$n"
			;;
		label)
			gk_label_record
			GK_L_NAME=$rest GK_L_KERNEL=$rest GK_L_TYPE=kernel
			GK_L_NAME=${GK_L_NAME:-" "}
			;;
		kernel | linux | localboot | boot | bss | pxe | fdimage | comboot | com32 | config)
			if [ -n "$GK_L_NAME" ]; then
				gk_words "$rest"
				GK_L_KERNEL=$GK_OUT GK_L_TYPE=$GK_KW
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
		sysappend) [ -z "$GK_L_NAME" ] && gk_number "$rest" && GK_SYSAPPEND=$GK_OUT ;;
		esac
	done <"$GK_ROOT$file"
	if [ $((n + 1)) = "$long" ] && [ -z "$GK_BUDGET_HIT" ]; then
		gk_warn "$file:$long: line longer than $GK_MAX_LINE bytes (not a syslinux config?); the rest of $file is skipped"
	fi
	GK_NESTING=$((GK_NESTING - 1))
	return 0
}

# gk_parse_config CFG [CWD]: parse CFG (a path from the partition root, e.g.
# /isolinux/isolinux.cfg) and everything it includes into GK_RECORDS_FILE.
# CWD is syslinux's working directory, by default CFG's directory.
gk_parse_config() {
	local cfg="$1"
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
	return 0
}

# gk_find_config: the syslinux config on the partition mounted on GK_ROOT, in
# the order isolinux/syslinux/extlinux search for it. Prints its path from
# the partition root; returns 1 if there is none.
gk_find_config() {
	local dir name
	for dir in /boot/isolinux /isolinux /boot/syslinux /syslinux /boot/extlinux /extlinux ""; do
		for name in isolinux.cfg syslinux.cfg extlinux.conf; do
			if [ -f "$GK_ROOT$dir/$name" ]; then
				printf '%s' "$dir/$name"
				return 0
			fi
		done
	done
	return 1
}
