# gen-kexec runtime library: GRUB 2's search, probe, load_env and blscfg,
# for grub.sh's awk program (grub-*.awk).

# search [--file|-f|--label|-l|--fs-uuid|-u] [--set[=VAR]|-s] [--no-floppy]
# [--hint*=DEV] KEY, and search.file/search.fs_label/search.fs_uuid KEY
# [VAR] (grub-core/commands/search*.c): VAR (default root) = the first
# partition of the disk with that filesystem UUID (case-insensitive),
# label, or file.
function search(p, c,    k, a, mode, var, key, n, pos, i, hit) {
	mode = "file"; var = ""; key = ""; n = 0
	if (c ~ /^search[._]fs_uuid$/) mode = "uuid"
	else if (c ~ /^search[._](fs_label|label)$/) mode = "label"
	else if (c != "search" && c !~ /^search[._]file$/) { STATUS = 1; return }
	for (k = 2; k <= XN; k++) {
		a = XA[k]
		if (c == "search" && a ~ /^-/) {
			if (a == "--file" || a == "-f") mode = "file"
			else if (a == "--label" || a == "-l") mode = "label"
			else if (a == "--fs-uuid" || a == "-u") mode = "uuid"
			else if (a == "--set" || a == "-s") var = "root"
			else if (a ~ /^--set=/) var = substr(a, 7)
			else if (a ~ /^--hint/ && a !~ /=/) k++
			continue
		}
		pos[++n] = a
	}
	key = pos[1]
	if (c != "search") var = (n >= 2) ? pos[2] : "root"
	if (key == "") { STATUS = 1; return }
	hit = ""
	for (i = 1; i <= NP && hit == ""; i++) {
		if (mode == "uuid" && PUUID[i] != "" && tolower(PUUID[i]) == tolower(key)) hit = i
		else if (mode == "label" && PLABEL[i] != "" && PLABEL[i] == key) hit = i
		else if (mode == "file" && PDIR[i] != "" && exists(PDIR[i] key)) hit = i
	}
	if (hit == "") {
		STATUS = 1
		if (!((mode SUBSEP key) in SEARCHED)) { SEARCHED[mode, key] = 1; warn(where(p) ": search " (mode == "file" ? "--file" : mode == "uuid" ? "--fs-uuid" : "--label") " " key ": no partition of this disk has it (GRUB: no such device)" (NOFS ? "; not searched: " NOFS : "")) }
		return
	}
	if (var != "") setvar(var, grubname(hit))
}
function grubname(i) { return PNUM[i] == "" ? "hd0" : "hd0," PTTYPE PNUM[i] }

# probe [--set VAR] --fs-uuid|--label|--fs DEVICE.
function probe(p,    k, var, what, dev, name, i, v) {
	var = ""; what = ""; dev = ""
	for (k = 2; k <= XN; k++) {
		if (XA[k] == "--set" || XA[k] == "-s") var = XA[++k]
		else if (XA[k] ~ /^--set=/) var = substr(XA[k], 7)
		else if (XA[k] in W_PROBEBY) what = XA[k]
		else dev = XA[k]
	}
	name = devname(dev); if (name == "") { STATUS = 1; return }
	for (i = 1; i <= NP; i++) if (PNAME[i] == name) break
	if (what ~ /u/) v = PUUID[i]; else if (what ~ /l/) v = PLABEL[i]; else v = PFS[i]
	if (var != "") setvar(var, v)
}

# load_env [-f FILE] [--skip-sig] [VAR...]: variables from a GRUB
# environment block (grub-core/lib/envblk.c): "# GRUB Environment Block",
# then NAME=VALUE lines, backslash escaping the next character, '#' padding.
function loadenv(p,    k, file, want, nw, h, line, r, i, nm, val, first, c) {
	file = ""; nw = 0
	for (k = 2; k <= XN; k++) {
		if (XA[k] == "-f" || XA[k] == "--file") file = XA[++k]
		else if (XA[k] ~ /^--file=/) file = substr(XA[k], 8)
		else if (XA[k] == "--skip-sig" || XA[k] == "-s") continue
		else { want[XA[k]] = 1; nw++ }
	}
	if (file == "") file = getvar("prefix") "/grubenv"
	if (!loc(file)) { warn(where(p) ": load_env " file ": " LOC_ERR); STATUS = 1; return }
	h = LOC_HOST; first = 1
	while ((r = (getline line < h)) > 0) {
		if (first) { first = 0; if (line != "# GRUB Environment Block") { warn(where(p) ": load_env " file ": not a GRUB environment block"); STATUS = 1; break }; continue }
		if (substr(line, 1, 1) == "#" || !(i = index(line, "="))) continue
		nm = substr(line, 1, i - 1); line = substr(line, i + 1); val = ""
		while ((i = index(line, "\\"))) { val = val substr(line, 1, i - 1) substr(line, i + 1, 1); line = substr(line, i + 2) }
		val = val line
		if (!nw || (nm in want)) setvar(nm, val)
	}
	close(h)
	if (r < 0 && first) STATUS = 1
}

# blscfg (Fedora's patch, grub-core/commands/blscfg.c): one menu entry per
# /loader/entries/*.conf on $boot, else $root (else /boot/loader/entries,
# its paths then relative to /boot), newest version first; its files are
# loaded from ($boot) / ($root), so BOOT_IMAGE=(hd0,msdos1)/vmlinuz-... as
# on Fedora. ENTRIES comes from
# grub.sh, which lists the directories awk cannot: "NAME<TAB>PATH" lines.
function blscfg(p,    name, k, n, list, i, j, t, f, dir, line, key, val, ks, bl, dev) {
	dev = isset("boot") ? getvar("boot") : getvar("root")
	name = devname(dev); if (name == "") { warn(where(p) ": blscfg: " LOC_ERR); STATUS = 1; return }
	n = 0
	for (dir = 1; dir <= 2 && !n; dir++)
		for (k = 1; k <= NBLS; k++)
			if (BLSN[k] == name && index(BLSP[k], dir == 1 ? "/loader/entries/" : "/boot/loader/entries/") == 1) list[++n] = k
	if (!n) { warn(where(p) ": blscfg: no /loader/entries/*.conf on /dev/" name); return }
	bl = (dir == 3) ? "/boot" : ""
	for (i = 1; i <= n; i++) {
		k = list[i]; f = BLSH[k]
		BT[i] = ""; BV[i] = ""; BLX[i] = ""; BO[i] = ""; BI[i] = ""
		BPATH[i] = BLSP[k]; BID[i] = BLSP[k]; sub(/^.*\//, "", BID[i]); sub(/\.conf$/, "", BID[i])
		while ((getline line < f) > 0) {
			sub(/^[ \t]+/, "", line); sub(/[ \t\r]+$/, "", line)
			if (line == "" || line ~ /^#/) continue
			key = line; val = ""
			if (match(line, /[ \t]+/)) { key = substr(line, 1, RSTART - 1); val = substr(line, RSTART + RLENGTH) }
			if (key == "title") BT[i] = val
			else if (key == "version") BV[i] = val
			else if (key == "linux") BLX[i] = val
			else if (key == "options") BO[i] = BO[i] (BO[i] == "" ? "" : " ") val
			else if (key == "initrd") BI[i] = BI[i] (BI[i] == "" ? "" : " ") val
		}
		close(f)
		if (BT[i] == "") BT[i] = BID[i]
		ORD[i] = i
	}
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && blsnewer(ORD[j], ORD[j - 1]); j--) { t = ORD[j]; ORD[j] = ORD[j - 1]; ORD[j - 1] = t }
	sub(/^\(/, "", dev); sub(/\)$/, "", dev)
	for (i = 1; i <= n; i++) blsentry(p, ORD[i], bl, "(" dev ")")
}
# Is BLS entry A newer than B (rpm's version comparison, then the id)?
function blsnewer(a, b,    c) {
	c = vercmp(BV[a] != "" ? BV[a] : BID[a], BV[b] != "" ? BV[b] : BID[b])
	if (c) return c > 0
	return BID[a] > BID[b]
}
function vercmp(a, b,    x, y, na, nb) {
	while (a != "" || b != "") {
		sub(/^[^A-Za-z0-9]+/, "", a); sub(/^[^A-Za-z0-9]+/, "", b)
		if (a == "" || b == "") return (a != "") - (b != "")
		na = (a ~ /^[0-9]/); nb = (b ~ /^[0-9]/)
		if (na != nb) return na ? 1 : -1
		if (na) { match(a, /^[0-9]+/); x = substr(a, 1, RLENGTH); a = substr(a, RLENGTH + 1); match(b, /^[0-9]+/); y = substr(b, 1, RLENGTH); b = substr(b, RLENGTH + 1)
			sub(/^0+/, "", x); sub(/^0+/, "", y)
			if (length(x) != length(y)) return length(x) > length(y) ? 1 : -1
		} else { match(a, /^[A-Za-z]+/); x = substr(a, 1, RLENGTH); a = substr(a, RLENGTH + 1); match(b, /^[A-Za-z]+/); y = substr(b, 1, RLENGTH); b = substr(b, RLENGTH + 1) }
		if (x != y) return x > y ? 1 : -1
	}
	return 0
}
# blsentry(P, I, PREFIX): BLS entry I as the menuentry Fedora's blscfg makes:
# its body is GRUB script (linux PATH OPTIONS, initrd PATHS), so $kernelopts
# and the like in options are expanded when the entry runs.
function blsentry(p, i, pre, dev,    s, k, n, parts, first) {
	s = "linux " blsq(dev, pre, BLX[i]) " " BO[i] "\n"
	if (BI[i] != "") { n = split(BI[i], parts, /[ \t]+/); s = s "initrd"; for (k = 1; k <= n; k++) s = s " " blsq(dev, pre, parts[k]); s = s "\n" }
	s = s "}\n"
	if (BLX[i] == "") s = "}\n"
	first = NT + 1
	lex(s, BPATH[i])
	if (NE >= MAXENTRIES) return
	NE++; EN[NE] = BT[i]; EI[NE] = BID[i]; EB[NE] = first; ES[NE] = 0; EW[NE] = "blscfg " BID[i] ".conf"; EK[NE] = BLX[i] == "" ? "the BLS entry has no linux line" : ""
	ME[MENU, ++MC[MENU]] = NE
}
function blsq(dev, pre, path) {
	if (index(path, pre "/") == 1) pre = ""
	path = dev pre path; gsub(/'/, "'\\''", path); return "'" path "'"
}
