# gen-kexec runtime library: /boot/gen-kexec.conf, KEY=VALUE lines, `#`
# comments, optional "..." or '...' quotes around the value. It is parsed,
# never sourced: a typo cannot run code in PID 1. Sets GK_CONF_APPEND,
# GK_CONF_LABEL, GK_CONF_LOAD_BELOW, GK_CONF_TIMEOUT, GK_CONF_MENU_TIMEOUT.

GK_CONF_APPEND=
GK_CONF_LABEL=
GK_CONF_LOAD_BELOW=256  # MiB, or none (see gk_kexec_load)
GK_CONF_TIMEOUT=5       # seconds to wait for the legacy partition
GK_CONF_MENU_TIMEOUT=   # seconds the menu waits; empty: as the image says

gk_read_conf() {
	local file="$1" line key value n=0
	[ -f "$file" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		gk_trim "$line"
		line=$GK_OUT
		case "$line" in '' | '#'*) continue ;; esac
		case "$line" in
		*=*) ;;
		*)
			gk_warn "$file:$n: expected KEY=VALUE, got '$line'; line ignored"
			continue
			;;
		esac
		gk_trim "${line%%=*}"
		key=$GK_OUT
		gk_trim "${line#*=}"
		value=$GK_OUT
		case "$value" in
		\"*\") value=${value#\"} value=${value%\"} ;;
		\'*\') value=${value#\'} value=${value%\'} ;;
		esac
		case "$key" in
		append) GK_CONF_APPEND=$value ;;
		label) GK_CONF_LABEL=$value ;;
		load_below)
			case "$value" in
			none) GK_CONF_LOAD_BELOW=none ;;
			'' | 0* | *[!0-9]* | ????????*)
				gk_warn "$file:$n: load_below must be a whole number of MiB (1 to 9999999) or none, got '$value'; keeping $GK_CONF_LOAD_BELOW"
				;;
			*) GK_CONF_LOAD_BELOW=$value ;;
			esac
			;;
		timeout | menu_timeout)
			case "$value" in
			'' | *[!0-9]* | ?????*)
				if [ "$key" = timeout ]; then
					gk_warn "$file:$n: timeout must be a whole number of seconds, got '$value'; keeping $GK_CONF_TIMEOUT"
				else
					gk_warn "$file:$n: menu_timeout must be a whole number of seconds (0 to 9999), got '$value'; keeping ${GK_CONF_MENU_TIMEOUT:-the image's own timeout}"
				fi
				;;
			*)
				value=${value#"${value%%[!0]*}"}
				if [ "$key" = timeout ]; then GK_CONF_TIMEOUT=${value:-0}; else GK_CONF_MENU_TIMEOUT=${value:-0}; fi
				;;
			esac
			;;
		*) gk_warn "$file:$n: unknown key '$key' (known: append, label, load_below, menu_timeout, timeout); line ignored" ;;
		esac
	done <"$file"
	return 0
}

# gk_read_settings: gk_read_conf on GK_CONF, saying what it found.
gk_read_settings() {
	if [ -f "$GK_CONF" ]; then
		gk_read_conf "$GK_CONF"
		gk_say "settings from $GK_CONF: label=${GK_CONF_LABEL:-(config default)} timeout=$GK_CONF_TIMEOUT menu_timeout=${GK_CONF_MENU_TIMEOUT:-(as the image says)} load_below=$GK_CONF_LOAD_BELOW append=${GK_CONF_APPEND:-(none)}"
	else
		gk_say "no $GK_CONF, using defaults (timeout=$GK_CONF_TIMEOUT, menu as the image says)"
	fi
}
