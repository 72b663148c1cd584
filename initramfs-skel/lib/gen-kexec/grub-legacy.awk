# gen-kexec runtime library: GRUB legacy (0.97) menu.lst / grub.conf, for
# grub.sh's awk program (grub-*.awk, LEGACY=1). Commands are a word at the
# start of a line, separated from their arguments by blanks or '=' (GRUB
# legacy's stage2/cmdline.c); `title` starts an entry; `root (hd0,N)` is
# partition N+1 (GRUB legacy counts from 0); the kernel gets the `kernel`
# line's words after its options, as BOOT_IMAGE=PATH ARGS: what GRUB 2's
# legacy_configfile (the fixture's own bootloader, no GRUB 0.97 in Debian) gives.

function legacy(    line, n, k, c, rest, nent, def, ldef, lt, i, lroot, proot, a) {
	proot = grubname(CFGI); lroot = proot; nent = 0; def = 0; lt = "-"
	while ((getline line < (PDIR[CFGI] CFG)) > 0) {
		if (++n > MAXLINES) { warn(CFG ": more than " MAXLINES " lines; the rest is skipped"); break }
		sub(/\r$/, "", line); sub(/^[ \t]+/, "", line); sub(/[ \t]+$/, "", line)
		if (line == "" || substr(line, 1, 1) == "#") continue
		c = line; rest = ""
		if (match(line, /[ \t=]+/)) { c = substr(line, 1, RSTART - 1); rest = substr(line, RSTART + RLENGTH) }
		if (c == "title") {
			nent++; LT[nent] = rest; LK[nent] = ""; LA[nent] = ""; LI[nent] = ""; LW[nent] = ""
			setvar("root", proot); continue
		}
		if (!nent) {
			if (c == "default") def = rest
			else if (c == "timeout") lt = rest + 0
			else if (c == "root" || c == "rootnoverify") proot = lgdev(rest)
			continue
		}
		if (c == "root" || c == "rootnoverify") setvar("root", lgdev(rest))
		else if (c == "kernel") {
			XN = split(rest, a, /[ \t]+/); k = 1
			while (k <= XN && a[k] ~ /^--/) k++
			if (k > XN) { LW[nent] = "kernel without a file"; continue }
			if (!loc(lgpath(a[k]))) { LW[nent] = "kernel " a[k] ": " LOC_ERR; continue }
			if (!exists(LOC_HOST)) { LW[nent] = "kernel " a[k] ": no such file on /dev/" LOC_NAME; continue }
			LK[nent] = LOC_REF; LA[nent] = "BOOT_IMAGE=" a[k]
			for (i = k + 1; i <= XN; i++) LA[nent] = LA[nent] " " a[i]
		} else if (c == "initrd") {
			XN = split(rest, a, /[ \t]+/)
			if (!loc(lgpath(a[1]))) { LW[nent] = "initrd " a[1] ": " LOC_ERR; continue }
			if (!exists(LOC_HOST)) { LW[nent] = "initrd " a[1] ": no such file on /dev/" LOC_NAME; continue }
			LI[nent] = LOC_REF
		} else if (c == "chainloader") LW[nent] = "chainloader starts another boot loader or boot sector (needs a BIOS)"
		else if (c == "configfile") LW[nent] = "configfile " rest ": another menu (not followed for GRUB legacy)"
		else if (c in W_HALT) LW[nent] = "it runs " c
	}
	close(PDIR[CFGI] CFG)
	print "G\ttimeout\t" lt
	print "G\ttimeout_style\tmenu"
	print "G\tdefault\t" def
	if (def == "saved") {
		def = 0
		if ((getline line < (PDIR[CFGI] dirname(CFG) "/default")) > 0) def = line + 0
	}
	def = def + 0; if (def >= nent) def = 0
	for (i = 1; i <= nent; i++) {
		lab = LT[i]; gsub(/>/, ">>", lab)
		if (LW[i] == "" && LK[i] == "") LW[i] = "loads no Linux kernel (no kernel line)"
		if (LW[i] != "") rec("e", 0, lab, LT[i], "-", "unbootable", LW[i], "-", i - 1 == def)
		else rec("e", 0, lab, LT[i], LK[i], "linux", LA[i], LI[i], i - 1 == def)
	}
}
function dirname(p) { sub(/\/[^\/]*$/, "", p); return p }
# (hd0,N) -> hd0,msdosN+1; (hd0) -> hd0.
function lgdev(s,    d, n) {
	sub(/^[ \t]+/, "", s); sub(/[ \t].*$/, "", s); sub(/^\(/, "", s); sub(/\).*$/, "", s)
	if (!index(s, ",")) return s
	d = substr(s, 1, index(s, ",") - 1); n = substr(s, index(s, ",") + 1) + 1
	return d "," PTTYPE n
}
function lgpath(p,    k) {
	if (substr(p, 1, 1) != "(") return p
	k = index(p, ")")
	return "(" lgdev(substr(p, 1, k)) ")" substr(p, k + 1)
}
