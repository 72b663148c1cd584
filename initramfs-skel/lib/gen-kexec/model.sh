# gen-kexec runtime library: the menu a parsed syslinux config shows, and
# what it boots with nobody at the keyboard.
#
# gk_menu_model sets, from GK_RECORDS_FILE and the parser's globals:
#   GK_M_N            entries shown, numbered 1..N in menu order (submenus
#                     flattened, MENU HIDE and MENU EXIT/GOTO entries left out)
#   GK_M_L<i> GK_M_T<i> GK_M_D<i>  label, title (MENU LABEL without ^), depth
#   GK_M_F<i>         the record's fields: type, kernel, append, initrd (tabs)
#   GK_M_W<i>         why gen-kexec cannot boot it ("" when it can)
#   GK_M_ROWS, GK_M_R<r>  display rows: e<i> (entry i), s (separator),
#                     h<depth> (a submenu's title, in GK_M_H<r>)
#   GK_M_DEF          the entry the menu starts on (0: none)
#   GK_M_TCMD         what runs on timeout when it is not entry GK_M_DEF
#                     (ONTIMEOUT, or a DEFAULT that names a kernel file)
#   GK_M_WAIT         hundredths of a second the image waits (-1: forever)
#   GK_M_WAIT_WHY     which directives say so
#   GK_M_HAS_UI       1 when the image shows a menu (UI, or DEFAULT *menu.c32)
#   GK_M_MORE         entries beyond GK_MENU_MAX, not shown (each shown entry
#                     is a few shell variables, and ash's variable lookup
#                     slows down with thousands of them); labels beyond it
#                     still work for DEFAULT, ONTIMEOUT and label=
GK_MENU_MAX=${GK_MENU_MAX:-500}

# gk_strip_carets TEXT: GK_OUT = TEXT without the ^ that mark hotkeys.
gk_strip_carets() {
	local t="$1" out=""
	while :; do
		case "$t" in
		*^*)
			out="$out${t%%^*}"
			t=${t#*^}
			;;
		*) break ;;
		esac
	done
	GK_OUT="$out$t"
}

gk_menu_model() {
	local kind depth label title kernel type append initrd mdef i=0 r=0
	local defword="${GK_DEFAULT%% *}" def=0 mdef_root=0 first=0 ui_word
	GK_M_N=0 GK_M_ROWS=0 GK_M_DEF=0 GK_M_TCMD= GK_M_HAS_UI= GK_M_MORE=0
	local line IFS="$GK_NL"
	set -f
	for line in $GK_RECORDS; do
		IFS="$GK_TAB"
		set -f
		# shellcheck disable=SC2086 # fields, never empty ("-")
		set -- $line
		IFS="$GK_NL"
		kind=$1 depth=$2 label=$3 title=$4 kernel=$5 type=$6 append=$7 initrd=$8 mdef=$9
		case "$kind" in
		e | d)
			if [ "$i" -ge "$GK_MENU_MAX" ]; then
				GK_M_MORE=$((GK_M_MORE + 1))
				continue
			fi
			i=$((i + 1)) r=$((r + 1))
			case "$title" in
			-) title= ;;
			*^*) gk_strip_carets "$title" && title=$GK_OUT ;;
			esac
			eval "GK_M_L$i=\$label GK_M_T$i=\$title GK_M_D$i=\$depth GK_M_R$r=e$i"
			eval "GK_M_F$i=\"\$type\$GK_TAB\$kernel\$GK_TAB\$append\$GK_TAB\$initrd\""
			if [ "$kind" = d ]; then
				eval "GK_M_W$i='disabled in the menu (MENU DISABLE)'"
				continue
			fi
			# Why it cannot boot: by its type and file name, without a
			# lookup unless a selector module has to be followed.
			GK_OUT= GK_KIND=linux
			case "$type" in
			linux | config) ;;
			kernel | com32)
				title=${kernel%% *}
				gk_module_why "${title##*/}"
				;;
			*) GK_KIND=other ;;
			esac
			case "$GK_KIND" in
			linux | none) ;;
			*)
				[ "$append" = - ] && append=
				[ "$initrd" = - ] && initrd=
				GK_A_VIA=
				gk_resolve_fields "$label" "$type" "$kernel" "$append" "$initrd" ""
				GK_OUT=
				[ "$GK_A_KIND" = none ] && GK_OUT=$GK_A_WHY
				;;
			esac
			eval "GK_M_W$i=\$GK_OUT"
			[ "$label" = "$defword" ] && [ "$def" = 0 ] && def=$i
			if [ "$depth" = 0 ]; then
				[ "$first" = 0 ] && first=$i
				[ "$mdef" = 1 ] && mdef_root=$i
			elif [ "$mdef" = 1 ] && [ "$GK_CFG_KIND" = grub ]; then
				mdef_root=$i  # GRUB's default may be in a submenu (default=1>2)
			fi
			;;
		s)
			r=$((r + 1))
			eval "GK_M_R$r=s"
			;;
		m)
			r=$((r + 1))
			[ "$title" = - ] && title=
			gk_strip_carets "$title"
			eval "GK_M_R$r=h\$depth GK_M_H$r=\$GK_OUT GK_M_HR$depth=$r"
			;;
		t)
			gk_strip_carets "$title"
			eval "r_=\${GK_M_HR$depth:-}"
			[ -n "$r_" ] && eval "GK_M_H$r_=\$GK_OUT"
			;;
		esac
	done
	set +f
	IFS="$GK_IFS"
	GK_M_N=$i GK_M_ROWS=$r

	# A menu: UI, or DEFAULT naming a menu module (syslinux runs it).
	ui_word=${GK_UI%% *}
	[ -n "$ui_word" ] && GK_M_HAS_UI=1
	gk_module_why "${defword##*/}"
	[ -z "$ui_word" ] && [ "$GK_KIND" = menu ] && GK_M_HAS_UI=1 ui_word=$defword

	# Where the menu starts: DEFAULT's label, else the top menu's last MENU
	# DEFAULT, else its first entry (syslinux's menu.c32).
	if [ "$def" != 0 ]; then
		GK_M_DEF=$def
	elif [ "$mdef_root" != 0 ]; then
		GK_M_DEF=$mdef_root
	else
		GK_M_DEF=$first
	fi

	# What runs when nobody is at the keyboard, and when.
	if [ "$GK_CFG_KIND" = grub ]; then
		gk_grub_wait
	elif [ -n "$GK_M_HAS_UI" ]; then
		[ -n "$GK_ONTIMEOUT" ] && GK_M_TCMD=$GK_ONTIMEOUT
		if [ "$GK_TIMEOUT" -gt 0 ]; then
			GK_M_WAIT=$((GK_TIMEOUT * 10)) GK_M_WAIT_WHY="$ui_word, TIMEOUT $GK_TIMEOUT"
		elif [ "$GK_TOTALTIMEOUT" -gt 0 ]; then
			GK_M_WAIT=$((GK_TOTALTIMEOUT * 10)) GK_M_WAIT_WHY="$ui_word, TOTALTIMEOUT $GK_TOTALTIMEOUT"
		else
			GK_M_WAIT=-1 GK_M_WAIT_WHY="$ui_word, no TIMEOUT"
		fi
	else
		# No menu: syslinux boots DEFAULT (a label, or a kernel file) at
		# once, or after TIMEOUT at its boot: prompt with PROMPT 1.
		if [ -n "$GK_DEFAULT" ] && { [ "$def" = 0 ] || [ "$GK_DEFAULT" != "$defword" ]; }; then
			GK_M_TCMD=$GK_DEFAULT
		fi
		if [ "$GK_PROMPT" = 0 ]; then
			GK_M_WAIT=0 GK_M_WAIT_WHY="no UI, PROMPT 0"
		else
			[ -n "$GK_ONTIMEOUT" ] && GK_M_TCMD=$GK_ONTIMEOUT
			if [ "$GK_TIMEOUT" -gt 0 ]; then
				GK_M_WAIT=$((GK_TIMEOUT * 10)) GK_M_WAIT_WHY="boot: prompt, TIMEOUT $GK_TIMEOUT"
			elif [ "$GK_TOTALTIMEOUT" -gt 0 ]; then
				GK_M_WAIT=$((GK_TOTALTIMEOUT * 10)) GK_M_WAIT_WHY="boot: prompt, TOTALTIMEOUT $GK_TOTALTIMEOUT"
			else
				GK_M_WAIT=-1 GK_M_WAIT_WHY="boot: prompt, no TIMEOUT"
			fi
		fi
	fi
	return 0
}

# gk_model_entry I: GK_A_* = what entry I runs (gk_resolve_fields).
gk_model_entry() {
	local f type kernel append initrd label
	eval "f=\$GK_M_F$1 label=\$GK_M_L$1"
	IFS="$GK_TAB" read -r type kernel append initrd <<EOF
$f
EOF
	[ "$append" = - ] && append=
	[ "$initrd" = - ] && initrd=
	GK_A_VIA=
	gk_resolve_fields "$label" "$type" "$kernel" "$append" "$initrd" ""
}

# gk_model_bootable: is any shown entry bootable by gen-kexec?
gk_model_bootable() {
	local i=1 w
	while [ "$i" -le "$GK_M_N" ]; do
		eval "w=\$GK_M_W$i"
		[ -z "$w" ] && return 0
		i=$((i + 1))
	done
	return 1
}

# gk_model_index LABEL: GK_OUT = the number of the shown entry LABEL, or 0.
gk_model_index() {
	local i=1 l
	GK_OUT=0
	while [ "$i" -le "$GK_M_N" ]; do
		eval "l=\$GK_M_L$i"
		[ "$l" = "$1" ] && GK_OUT=$i && return 0
		i=$((i + 1))
	done
	return 1
}

# gk_default_action: GK_A_* = what boots with nobody at the keyboard (or
# label= from gen-kexec.conf), GK_REASON = why. Returns 1 with a message
# when that is nothing gen-kexec can boot.
gk_default_action() {
	GK_A_VIA=
	if [ -n "$GK_CONF_LABEL" ]; then
		gk_find_label "$GK_CONF_LABEL" ||
			gk_fail "$GK_CFG has no label '$GK_CONF_LABEL' (asked for by label= in $GK_CONF); labels: $(gk_labels)" ||
			return 1
		gk_resolve_fields "$GK_R_LABEL" "$GK_R_TYPE" "$GK_R_KERNEL" "$GK_R_APPEND" "$GK_R_INITRD" ""
		GK_REASON="label= in $GK_CONF"
	elif [ -n "$GK_M_TCMD" ]; then
		gk_resolve "$GK_M_TCMD"
		if [ -n "$GK_M_HAS_UI" ] || [ "$GK_PROMPT" != 0 ]; then
			case "$GK_M_TCMD" in "$GK_ONTIMEOUT") GK_REASON="ONTIMEOUT $GK_M_TCMD" ;; *) GK_REASON="DEFAULT $GK_M_TCMD" ;; esac
		else
			GK_REASON="DEFAULT $GK_M_TCMD"
		fi
	elif [ "$GK_M_DEF" != 0 ]; then
		gk_model_entry "$GK_M_DEF"
		eval "GK_REASON=\"menu entry $GK_M_DEF (\$GK_M_T$GK_M_DEF)\""
	else
		gk_fail "$GK_CFG has no label to boot; labels: $(gk_labels)"
		return 1
	fi
	[ -n "$GK_A_VIA" ] && GK_REASON="$GK_REASON; $GK_A_VIA"
	return 0
}
