# gen-kexec runtime library: the boot menu, on the screen and on the serial
# console at the same time (whichever answers first).
#
# One key reader per console (a background subshell reading one key at a
# time) writes "DEVICE KEY" lines into a FIFO; the menu reads them with a
# timeout, so the countdown runs while nobody types. Keys: a number then
# Enter, Up/Down then Enter, `e` to edit the highlighted entry's command
# line, Esc for the rescue shell. Any key stops the countdown, as in
# syslinux. While the menu is up the console log level is lowered, so kernel
# messages do not scribble over it; its `gen-kexec: menu:` lines go to the
# kernel log and straight to the serial consoles.

GK_MENU_FOREVER=10   # seconds before the default boots where the image waits forever
GK_MENU_AT_ONCE=1    # seconds shown where syslinux would boot at once (PROMPT 0)
GK_MENU_ROWS=${GK_MENU_ROWS:-14}  # entries shown at a time (the list scrolls)

# gk_menu_ttys: GK_OUT = the consoles to draw on and read from: the kernel's
# active consoles (tty0 is the screen's first virtual terminal, tty1), or
# GK_MENU_TTYS (devices, or INPUT:OUTPUT file pairs for the host tests).
gk_menu_ttys() {
	local active="" name out=""
	if [ -n "${GK_MENU_TTYS:-}" ]; then
		GK_OUT=$GK_MENU_TTYS
		return 0
	fi
	read -r active <"$GK_SYS/class/tty/console/active" 2>/dev/null
	for name in $active; do
		[ "$name" = tty0 ] && name=tty1
		[ -c "/dev/$name" ] && out="$out /dev/$name"
	done
	GK_OUT=${out# }
}

# gk_menu_out TEXT: TEXT on every console of the menu.
gk_menu_out() {
	local dev
	for dev in $GK_MENU_DEVS; do printf '%s' "$1" >>"${dev#*:}" 2>/dev/null; done
}

# gk_menu_note MESSAGE: a `gen-kexec: menu:` line in the kernel log and on
# the serial consoles (the screen shows it in the menu's status line).
gk_menu_note() {
	local dev
	[ -n "$GK_KMSG" ] && printf '<5>gen-kexec: menu: %s\n' "$1" 2>/dev/null >>"$GK_KMSG"
	for dev in $GK_MENU_DEVS; do
		case "$dev" in
		*/tty[0-9]*) ;;
		*) printf '\r%s[Kgen-kexec: menu: %s\n' "$GK_ESC" "$1" >>"${dev#*:}" 2>/dev/null ;;
		esac
	done
	[ -n "${GK_MENU_ACTIVE:-}" ] && gk_menu_status
	[ -z "$GK_KMSG" ] && [ -z "$GK_MENU_DEVS" ] && echo "gen-kexec: menu: $1"
	return 0
}

# gk_key_reader DEVICE: one "DEVICE KEY" line on fd 3 per key pressed on
# DEVICE; KEY is up, down, enter, esc, bs, or c<character>.
gk_key_reader() {
	local dev="${1%%:*}" c seq k
	exec 5<"$dev" || return 0
	while :; do
		c=
		IFS= read -rsn1 c <&5 || [ -n "$c" ] || break
		case "$c" in
		"$GK_ESC")
			seq=
			IFS= read -rsn2 -t 0.05 seq <&5
			case "$seq" in
			'[A' | OA) k=up ;;
			'[B' | OB) k=down ;;
			'') k=esc ;;
			*) k=other ;;
			esac
			;;
		'' | "$GK_CR") k=enter ;;
		"$GK_DEL" | "$GK_BS") k=bs ;;
		' ') k=space ;;
		*) k="c$c" ;;
		esac
		printf '%s %s\n' "$dev" "$k" >&3
	done
}

# gk_menu_row R: GK_OUT = display row R, drawn.
gk_menu_row() {
	local row i title depth why mark="  " pad
	eval "row=\$GK_M_R$1"
	case "$row" in
	s) GK_OUT= ;;
	h*)
		eval "title=\$GK_M_H$1"
		pad=$(printf '%*s' $((${row#h} * 2 - 2)) '')
		GK_OUT="      $pad${title:-(submenu)}:"
		;;
	e*)
		i=${row#e}
		eval "title=\$GK_M_T$i depth=\$GK_M_D$i why=\$GK_M_W$i"
		pad=$(printf '%*s' $((depth * 2)) '')
		[ -n "$why" ] && title="$title   (not bootable here)"
		GK_OUT=$(printf '%s%3d  %s%.66s' "$pad" "$i" "" "$title")
		if [ "$i" = "$GK_CUR" ]; then
			GK_OUT="  ${GK_ESC}[7m> $GK_OUT ${GK_ESC}[0m"
		else
			GK_OUT="    $GK_OUT"
		fi
		;;
	esac
}

# gk_menu_draw: the whole menu, the highlighted entry (GK_CUR) in view.
gk_menu_draw() {
	local r=1 cur_row=1 first last out why title
	while [ "$r" -le "$GK_M_ROWS" ]; do
		eval "[ \"\$GK_M_R$r\" = e$GK_CUR ]" && cur_row=$r
		r=$((r + 1))
	done
	first=$((cur_row - GK_MENU_ROWS / 2))
	[ "$first" -gt $((GK_M_ROWS - GK_MENU_ROWS + 1)) ] && first=$((GK_M_ROWS - GK_MENU_ROWS + 1))
	[ "$first" -lt 1 ] && first=1
	last=$((first + GK_MENU_ROWS - 1))
	out="${GK_ESC}[H${GK_ESC}[2J
  ${GK_TITLE:-Boot menu}
  gen-kexec: $GK_CFG on $GK_DEV ($GK_FSTYPE)

"
	[ "$first" -gt 1 ] && out="$out      ...
"
	r=$first
	while [ "$r" -le "$last" ] && [ "$r" -le "$GK_M_ROWS" ]; do
		gk_menu_row "$r"
		out="$out$GK_OUT
"
		r=$((r + 1))
	done
	[ "$last" -lt "$GK_M_ROWS" ] && out="$out      ...
"
	[ "$GK_M_MORE" -gt 0 ] && out="$out      (and $GK_M_MORE more entries, not shown)
"
	eval "why=\${GK_M_W$GK_CUR:-} title=\${GK_M_T$GK_CUR:-}"
	[ -n "$why" ] && out="$out
  $GK_CUR is not bootable by gen-kexec: $why"
	[ -n "$GK_M_TCMD" ] && [ "$GK_TIMEOUT_ACTION" = cmd ] && out="$out
  On timeout: $GK_M_TCMD"
	out="$out

  Number + Enter or Up/Down + Enter: boot   e: edit   Esc: rescue shell
"
	gk_menu_out "$out"
	gk_menu_status
}

# gk_menu_status [TEXT]: the status line (the countdown when TEXT is empty).
gk_menu_status() {
	local text="${1:-}"
	if [ -z "$text" ]; then
		if [ -n "$GK_NUM" ]; then
			text="Entry number: $GK_NUM (Enter boots it)"
		elif [ "$GK_COUNTING" = 1 ]; then
			text="Booting $GK_TIMEOUT_WHAT in $GK_SHOWN_LEFT s"
		else
			text=$GK_MENU_MSG
		fi
	fi
	gk_menu_out "$(printf '\r%s[K  %.100s' "$GK_ESC" "$text")"
}

# gk_menu_move STEP: highlight the next (1) or previous (-1) entry.
gk_menu_move() {
	local i=$((GK_CUR + $1))
	[ "$i" -ge 1 ] && [ "$i" -le "$GK_M_N" ] && GK_CUR=$i
	gk_menu_draw
}

# gk_menu_edit I: edit entry I's command line; GK_EDITED = the result.
# Returns 1 when cancelled.
gk_menu_edit() {
	local i="$1" line dev key
	gk_model_entry "$i"
	if [ "$GK_A_KIND" != linux ]; then
		GK_MENU_MSG="Entry $i: nothing to edit ($GK_A_WHY)"
		gk_menu_status
		return 1
	fi
	line=$GK_A_ARGS
	gk_menu_note "editing the command line of entry $i"
	gk_menu_out "$(printf '\r\n\n  Command line of entry %s (Enter boots it, Esc cancels, Backspace deletes):\r\n  > %s' "$i" "$line")"
	while IFS=" " read -r dev key <&3; do
		case "$key" in
		c?) line="$line${key#c}" && gk_menu_out "${key#c}" ;;
		space) line="$line " && gk_menu_out " " ;;
		bs) [ -n "$line" ] && line=${line%?} && gk_menu_out "$(printf '\b \b')" ;;
		enter)
			GK_EDITED=$line
			gk_menu_note "edited command line: $line"
			return 0
			;;
		esc) return 1 ;;
		esac
	done
	return 1
}

# gk_menu_try I DEVICE: choose entry I if gen-kexec can boot it.
gk_menu_try() {
	local why title
	if [ "$1" -lt 1 ] || [ "$1" -gt "$GK_M_N" ]; then
		GK_MENU_MSG="There is no entry $1 (1 to $GK_M_N)"
		gk_menu_status
		return 1
	fi
	eval "why=\$GK_M_W$1 title=\$GK_M_T$1"
	if [ -n "$why" ]; then
		GK_CUR=$1 GK_MENU_MSG="Entry $1 ($title) cannot be booted from here"
		gk_menu_draw
		return 1
	fi
	GK_CHOICE=$1 GK_CHOICE_BY=$2
}

# gk_menu: show the model (gk_menu_model) and wait for a choice or the
# timeout. Sets GK_CHOICE (an entry, or 0 for GK_M_TCMD), GK_CHOICE_BY,
# GK_EDITED (a command line typed with `e`, else empty). Returns 2 when the
# person asked for the rescue shell.
gk_menu() {
	local wait="$GK_M_WAIT" why="$GK_M_WAIT_WHY" deadline dev key pids="" fifo printk="" status=0 title
	GK_CHOICE= GK_CHOICE_BY= GK_EDITED= GK_NUM= GK_MENU_MSG= GK_CUR=$GK_M_DEF GK_COUNTING=1
	[ "$GK_CUR" = 0 ] && GK_CUR=1
	GK_TIMEOUT_ACTION=entry GK_TIMEOUT_WHAT=
	if [ -n "$GK_CONF_LABEL" ]; then
		# label= in gen-kexec.conf picks the default.
		if gk_model_index "$GK_CONF_LABEL"; then
			GK_CUR=$GK_OUT GK_M_TCMD=
		else
			GK_M_TCMD=$GK_CONF_LABEL
		fi
	fi
	if [ -n "$GK_M_TCMD" ]; then
		GK_TIMEOUT_ACTION=cmd GK_TIMEOUT_WHAT="'$GK_M_TCMD'"
	else
		eval "title=\${GK_M_T$GK_CUR:-}"
		GK_TIMEOUT_WHAT="$GK_CUR ($title)"
	fi
	# gen-kexec.conf's menu_timeout wins; else the image's own wait.
	if [ -n "$GK_CONF_MENU_TIMEOUT" ]; then
		wait=$((GK_CONF_MENU_TIMEOUT * 100)) why="menu_timeout=$GK_CONF_MENU_TIMEOUT in $GK_CONF"
	elif [ "$wait" = -1 ]; then
		wait=$((GK_MENU_FOREVER * 100)) why="$why: the image would wait forever; gen-kexec boots after $GK_MENU_FOREVER s"
	elif [ "$wait" -lt $((GK_MENU_AT_ONCE * 100)) ]; then
		wait=$((GK_MENU_AT_ONCE * 100)) why="$why: the image would boot at once; gen-kexec shows its menu for $GK_MENU_AT_ONCE s"
	fi
	if [ "$GK_TIMEOUT_ACTION" = cmd ]; then
		GK_A_VIA=
		gk_resolve "$GK_M_TCMD"
		if [ "$GK_A_KIND" = none ]; then
			GK_COUNTING=0 GK_MENU_MSG="On timeout the image runs '$GK_M_TCMD', which gen-kexec cannot: choose an entry"
			why="$why; '$GK_M_TCMD': $GK_A_WHY"
		fi
	else
		eval "title=\${GK_M_W$GK_CUR:-}"
		if [ "$GK_M_N" = 0 ] || [ -n "$title" ]; then
			GK_COUNTING=0 GK_MENU_MSG="The default is not bootable by gen-kexec: choose an entry"
			why="the default entry cannot be booted by gen-kexec${title:+: $title}"
		fi
	fi

	gk_menu_ttys
	GK_MENU_DEVS=$GK_OUT
	fifo=$GK_TMP/gen-kexec-keys.$$
	rm -f "$fifo"
	mkfifo "$fifo" && exec 3<>"$fifo" || { gk_fail "cannot make the menu's FIFO $fifo"; return 1; }
	for dev in $GK_MENU_DEVS; do
		gk_key_reader "$dev" &
		pids="$pids $!"
	done
	if [ -n "$GK_KMSG" ] && [ -w "$GK_PROC/sys/kernel/printk" ]; then
		read -r printk _ <"$GK_PROC/sys/kernel/printk"
		echo 1 >"$GK_PROC/sys/kernel/printk"
	fi
	gk_uptime_cs
	deadline=$((GK_OUT + wait))
	GK_SHOWN_LEFT=$(((wait + 99) / 100))
	gk_menu_draw
	GK_MENU_ACTIVE=1
	if [ "$GK_COUNTING" = 1 ]; then
		gk_menu_note "shown: $GK_M_N entries from $GK_CFG, default $GK_TIMEOUT_WHAT; booting it in $GK_SHOWN_LEFT s unless a key is pressed ($why)"
	else
		gk_menu_note "shown: $GK_M_N entries from $GK_CFG, default $GK_TIMEOUT_WHAT; waiting for a choice ($why)"
	fi

	while [ -z "$GK_CHOICE" ]; do
		if [ "$GK_COUNTING" = 1 ]; then
			gk_uptime_cs
			if [ "$GK_OUT" -ge "$deadline" ]; then
				GK_CHOICE_BY="the timeout"
				if [ "$GK_TIMEOUT_ACTION" = cmd ]; then GK_CHOICE=0; else GK_CHOICE=$GK_CUR; fi
				break
			fi
			if [ $(((deadline - GK_OUT + 99) / 100)) != "$GK_SHOWN_LEFT" ]; then
				GK_SHOWN_LEFT=$(((deadline - GK_OUT + 99) / 100))
				gk_menu_status
			fi
		fi
		IFS=" " read -r -t 0.2 dev key <&3 || continue
		GK_COUNTING=0
		case "$key" in
		up) gk_menu_move -1 ;;
		down) gk_menu_move 1 ;;
		c[0-9])
			GK_NUM="$GK_NUM${key#c}"
			gk_menu_status
			;;
		bs)
			GK_NUM=${GK_NUM%?}
			gk_menu_status
			;;
		enter)
			if [ -n "$GK_NUM" ]; then
				key=$GK_NUM GK_NUM=
				gk_menu_try "$key" "$dev"
			else
				gk_menu_try "$GK_CUR" "$dev"
			fi
			;;
		c[eE])
			GK_NUM=
			gk_menu_try "$GK_CUR" "$dev" && { gk_menu_edit "$GK_CUR" || { GK_CHOICE= && gk_menu_draw; }; }
			;;
		esc)
			if [ -n "$GK_NUM" ]; then
				GK_NUM=
				gk_menu_status
			else
				status=2
				break
			fi
			;;
		*) gk_menu_status ;;
		esac
	done

	GK_MENU_ACTIVE=
	# shellcheck disable=SC2086 # one word per reader
	[ -n "$pids" ] && kill $pids 2>/dev/null
	exec 3>&-
	rm -f "$fifo"
	for key in $GK_MENU_DEVS; do [ -c "$key" ] && stty -F "$key" sane 2>/dev/null; done
	gk_menu_out "$(printf '\r\n')"
	case "$GK_MENU_DEVS" in */tty[0-9]*) printf '%s[H%s[2J' "$GK_ESC" "$GK_ESC" >/dev/tty1 2>/dev/null ;; esac
	[ -n "$printk" ] && echo "$printk" >"$GK_PROC/sys/kernel/printk"
	if [ "$status" = 2 ]; then
		gk_say "menu: Esc on $dev: leaving to the rescue shell"
		return 2
	fi
	if [ "$GK_CHOICE" = 0 ]; then
		gk_say "menu: '$GK_M_TCMD' chosen by $GK_CHOICE_BY"
	else
		eval "gk_say \"menu: entry $GK_CHOICE (label \$GK_M_L$GK_CHOICE) chosen by $GK_CHOICE_BY\""
	fi
	return 0
}

# gk_choose: what to boot, as a person chooses it in the menu (or nobody
# does), following CONFIG switches (each new config shows its own menu).
# gen-kexec.conf's menu_timeout=0 boots the default at once. Sets GK_LABEL,
# GK_KERNEL, GK_INITRDS, GK_CMDLINE for gk_boot.
gk_choose() {
	local status
	GK_HOPS=0
	gk_parse_config "$GK_CFG" && gk_menu_model || return 1
	while :; do
		GK_A_KIND=
		if [ "$GK_M_WAIT" = 0 ] && [ -z "$GK_CONF_LABEL" ]; then
			# syslinux goes straight on (no UI, PROMPT 0): a person never
			# sees this config when it only switches to another one.
			gk_default_action && [ "$GK_A_KIND" = config ] || GK_A_KIND=
		fi
		if [ -n "$GK_A_KIND" ]; then
			gk_say "$GK_CFG: DEFAULT goes on at once ($GK_REASON)"
		elif [ "$GK_CONF_MENU_TIMEOUT" = 0 ]; then
			gk_default_action || return 1
			gk_say "label $GK_A_LABEL (chosen by $GK_REASON)"
		else
			gk_menu
			status=$?
			[ "$status" = 0 ] || return "$status"
			if [ "$GK_CHOICE" = 0 ]; then
				GK_A_VIA=
				gk_resolve "$GK_M_TCMD"
			else
				gk_model_entry "$GK_CHOICE"
			fi
			[ -n "$GK_EDITED" ] && GK_A_ARGS=$GK_EDITED
		fi
		case "$GK_A_KIND" in
		linux) break ;;
		config) gk_follow_config || return 1 ;;
		*)
			gk_fail "'$GK_A_LABEL' in $GK_CFG is not bootable by gen-kexec: $GK_A_WHY; labels: $(gk_labels)"
			return 1
			;;
		esac
	done
	GK_LABEL=$GK_A_LABEL
	gk_cmdline "$GK_A_KERNEL" "$GK_A_ARGS"
}
