# gen-kexec runtime library: the menu a GRUB 2 config shows and what its
# entries boot (grub-core/normal/menu.c), the main part of grub.sh's awk
# program (grub-*.awk). Output lines, tab-separated:
#   W  MESSAGE                      a warning
#   G  KEY VALUE                    timeout, timeout_style, default (raw)
#   R  KIND DEPTH LABEL TITLE KERNEL TYPE APPEND INITRD MDEF
#                                   a record, as syslinux.sh writes them
# Records: e (an entry), m / M (a submenu begins, with its title / ends).
# LABEL is the entry's path of titles joined with '>' ('>' in a title
# doubled), as GRUB's default and $chosen name entries. TYPE is linux
# (KERNEL and INITRD, comma-separated, are paths from the config's
# partition, or (NAME)/PATH on partition NAME; APPEND is the command line
# GRUB makes, BOOT_IMAGE= first) or unbootable (APPEND says why). MDEF is 1
# for the entry GRUB boots by default.

BEGIN {
	wordsets()
	FS = "\t"; MAXSTEPS = MAXSTEPS ? MAXSTEPS : 2000; MAXENTRIES = MAXENTRIES ? MAXENTRIES : 1000
	MAXVAL = 65536
	np = split(PARTS, rows, "\n")
	for (k = 1; k <= np; k++) {
		if (split(rows[k], f, "\t") < 6) continue
		NP++; PNAME[NP] = f[1]; PNUM[NP] = f[2]; PFS[NP] = f[3]; PUUID[NP] = f[4]; PLABEL[NP] = f[5]; PDIR[NP] = f[6]
		if (f[2] == "") WHOLE = f[1]
		if (f[1] == CFGNAME) CFGI = NP
		if (f[6] == "" && f[3] != "") NOFS = NOFS (NOFS == "" ? "" : ", ") "/dev/" f[1] " (" f[3] ")"
	}
	nb = split(BLS, rows, "\n")
	for (k = 1; k <= nb; k++) if (split(rows[k], f, "\t") == 3) { NBLS++; BLSN[NBLS] = f[1]; BLSP[NBLS] = f[2]; BLSH[NBLS] = f[3] }
	if (!CFGI) { print "W\tthe config's partition " CFGNAME " is not in the partition list"; exit 1 }
	if (LEGACY) { legacy(); exit 0 }
	CTX = 0; MENU = 0; NMENU = 0; TOPMENU = 0; TOPCTX = 0
	split("chainloader_bpb ntldr platform_search_hint default_font_path all_video_module menuentry_id menuentry_options 200_final nativedisk_cmd timeout_style", f, " ")
	for (k in f) { setvar("feature_" f[k], "y"); XP[0, "feature_" f[k]] = 1 }
	setvar("grub_platform", "pc"); setvar("grub_cpu", "i386")
	setvar("root", grubname(CFGI))
	dir = CFG; sub(/\/[^\/]*$/, "", dir)
	setvar("prefix", "(" grubname(CFGI) ")" dir)
	setvar("config_file", "(" grubname(CFGI) ")" CFG); setvar("config_directory", "(" grubname(CFGI) ")" dir)
	split("root prefix grub_platform grub_cpu", f, " "); for (k in f) XP[0, f[k]] = 1
	first = lexfile(PDIR[CFGI] CFG, CFG)
	if (!first) { print "W\t" CFG ": cannot be read"; exit 1 }
	NEST = 1; xtop(first)
	STOPALL = 0; FRET = 0; FD = 0
	CTX = TOPCTX; MENU = TOPMENU
	print "G\ttimeout\t" (isset("timeout") ? getvar("timeout") : "-")
	print "G\ttimeout_style\t" getvar("timeout_style")
	print "G\tdefault\t" getvar("default")
	walk(TOPMENU, TOPCTX, 0, 1, "")
	if (NWARN > 50) print "W\t" (NWARN - 50) " more warnings not shown"
}

# walk(M, C, DEPTH, ONDEF, PREFIX): the records of menu M (context C);
# ONDEF when GRUB's default path leads into it.
function walk(m, c, depth, ondef, lp,    i, e, di, lab, t, nc, nm, isdef, val, r) {
	CTX = c
	di = ondef ? entrynum(m) : -1
	for (i = 1; i <= MC[m]; i++) {
		e = ME[m, i]; t = EN[e]; isdef = (i - 1 == di)
		lab = t; gsub(/>/, ">>", lab); lab = (lp == "" ? "" : lp ">") lab
		if (ES[e] && depth >= 8) {
			rec("e", depth, lab, t, "-", "unbootable", "a submenu nested more than 8 deep (a loop?); not read", "-", isdef)
			continue
		}
		if (ES[e]) {
			rec("m", depth + 1, "-", t)
			sub_ctx(c, isdef)
			nm = ++NMENU; MENU = nm; nc = CTX
			xlist(EB[e], " } ", 1); STOPALL = 0; FRET = 0
			walk(nm, nc, depth + 1, isdef, lab)
			rec("M", depth + 1)
			CTX = c
			continue
		}
		CTX = newctx(c, 1); INENTRY = 1
		K_KERNEL = ""; K_WHY = EK[e]; K_INITRD = ""; K_ARGS = ""; K_CFG = ""; K_NOTE = ""
		if (K_WHY == "") xlist(EB[e], " } ", 1)
		INENTRY = 0; STOPALL = 0; FRET = 0
		if (K_CFG != "" && K_KERNEL == "" && K_WHY == "" && depth < 8) {
			rec("m", depth + 1, "-", t)
			r = K_CFG
			sub_ctx(CTX, 0); nm = ++NMENU; MENU = nm; nc = CTX
			XA[1] = "configfile"
			if (loc(r) && (first = lexfile(LOC_HOST, r))) { NEST++; xtop(first); NEST-- }
			else warn(EW[e] ": menuentry '" t "': configfile " r ": " (LOC_ERR != "" ? LOC_ERR : "no such file"))
			STOPALL = 0
			walk(nm, nc, depth + 1, isdef, lab)
			rec("M", depth + 1)
			CTX = c
			continue
		}
		if (K_KERNEL != "" && K_WHY == "") rec("e", depth, lab, t, K_KERNEL, "linux", K_ARGS, K_INITRD, isdef)
		else {
			if (K_WHY == "") K_WHY = K_NOTE != "" ? K_NOTE " and loads no Linux kernel" : "loads no Linux kernel (no linux command)"
			rec("e", depth, lab, t, "-", "unbootable", K_WHY, "-", isdef)
		}
		CTX = c
	}
}
# sub_ctx(FROM, ISDEF): CTX = a new context for a submenu entered from FROM,
# with default = the rest of FROM's default path when it leads here.
function sub_ctx(from, isdef,    val, i, n, rest) {
	val = (from SUBSEP "default") in V ? V[from, "default"] : ""
	CTX = newctx(from, 0)
	rest = ""
	if (isdef) {
		n = length(val)
		for (i = 1; i <= n; i++) {
			if (substr(val, i, 2) == ">>") { i++; continue }
			if (substr(val, i, 1) == ">") break
		}
		if (i < n) rest = substr(val, i + 1)
	}
	if (rest != "") setvar("default", rest)
	if (isdef) setvar("timeout", "0")
}

# entrynum(M): the index (from 0) of the default entry of menu M, as
# get_entry_number: a number, or an entry's title or --id (a path of them
# joined with '>'); 0 when it names none.
function entrynum(m,    val, i, e) {
	if (!isset("default")) return 0
	val = getvar("default")
	if (match(val, /^[ \t]*[0-9]+/) && (substr(val, RLENGTH + 1) == "" || substr(val, RLENGTH + 1, 1) == ">")) {
		i = substr(val, 1, RLENGTH) + 0
		return (i < MC[m]) ? i : 0
	}
	for (i = 1; i <= MC[m]; i++) {
		e = ME[m, i]
		if (menueq(EN[e], val) || (EI[e] != "" && menueq(EI[e], val))) return i - 1
	}
	return 0
}
# menueq(TITLE, SPEC): does SPEC's first '>'-separated part name TITLE?
function menueq(t, s,    i, c) {
	while (1) {
		c = substr(s, 1, 1)
		if (c == ">" && substr(s, 2, 1) != ">") return t == ""
		if (c == ">") s = substr(s, 2)
		if (substr(t, 1, 1) != substr(s, 1, 1)) return 0
		if (t == "") return 1
		t = substr(t, 2); s = substr(s, 2)
	}
}

function rec(kind, depth, lab, t, kernel, type, app, initrd, mdef) {
	print "R\t" kind "\t" depth "\t" fld(lab) "\t" fld(t) "\t" fld(kernel) "\t" fld(type) "\t" fld(app) "\t" fld(initrd) "\t" (mdef ? 1 : "-")
}
function fld(s) { gsub(/[\t\n\r]/, " ", s); return s == "" ? "-" : s }
