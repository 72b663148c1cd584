# gen-kexec runtime library: GRUB 2's commands, as far as they decide what a
# menu entry boots (grub-core/commands, grub-core/loader), for grub.sh's awk
# program (grub-*.awk). XA[1..XN] is the command's argv after expansion.
#
# Devices: the partitions of the disk gen-kexec booted from, in PT[] (from
# grub.sh: NAME NUMBER FSTYPE UUID LABEL DIR, DIR where it is mounted, ""
# when it is not). GRUB's (hd0,msdosN) / (hd0,gptN) / (hd0,N) is partition N
# of that disk, (hd0) / (cd0) / (cd) the disk itself or the config's
# partition; any other disk is reported, not guessed.

# wordsets(): the sets of command names and words below (grub-menu.awk's
# BEGIN calls it first).
function wordsets() {
	words(W_NOOP, "echo insmod rmmod terminal_output terminal_input terminal serial set_gfxpayload gettext background_image background_color play sleep clear save_env boot cpuid lsmod videoinfo smbios tr password password_pbkdf2 increment decrement pager loadfont keystatus fwsetup hwmatch regexp eval gfxmode load_video")
	words(W_FAILS, "loadfont keystatus fwsetup hwmatch regexp eval")  # fail unless a function of that name
	words(W_LINUX, "linux linux16 linuxefi")
	words(W_INITRD, "initrd initrd16 initrdefi")
	words(W_MULTIBOOT, "multiboot multiboot2")
	words(W_CHAIN, "chainloader ntldr drivemap appleloader bootnp legacy_kernel")
	words(W_OTHERKERNEL, "kfreebsd knetbsd kopenbsd xnu_kernel xnu_kernel64 plan9 truecrypt freedos")
	words(W_HALT, "halt reboot")
	words(W_MODULE, "module module2")
	words(W_CD, "cd cd0")
	words(W_PROBEBY, "--fs-uuid -u --label -l --fs -f")
	words(W_RESERVED, "then elif else fi do done")
}

function runcmd(p,    c, k, a, v, i) {
	c = XA[1]; STATUS = 0
	if (c == "set") {
		for (k = 2; k <= XN; k++) { i = index(XA[k], "="); if (i) setvar(substr(XA[k], 1, i - 1), substr(XA[k], i + 1)) }
		return
	}
	if (c == "unset") { for (k = 2; k <= XN; k++) unsetvar(XA[k]); return }
	if (c == "export") { for (k = 2; k <= XN; k++) { if (!isset(XA[k])) setvar(XA[k], ""); XP[CTX, XA[k]] = 1 }; return }
	# No expression at all ([ $unset ]) is true: GRUB 2.06 as grub-emu runs it
	# (corpus quirk-unset-is-true.cfg).
	if (c == "[" || c == "test") { if (c == "[" && XA[XN] == "]") XN--; STATUS = (XN < 2 || test(2)) ? 0 : 1; return }
	if (c == "true" || (c in W_NOOP)) {
		if ((c in W_FAILS) && !(c in FUNC)) STATUS = 1
		else if (c in FUNC) call(c, p)
		return
	}
	if (c == "false") { STATUS = 1; return }
	if (c == "return") { STATUS = XN > 1 ? XA[2] + 0 : STATUS; FRET = FD > 0; return }
	if (c == "exit") { STOPALL = 1; return }
	if (c == "load_env") { loadenv(p); return }
	if (c ~ /^search/) { search(p, c); return }
	if (c == "probe") { probe(p); return }
	if (c == "source" || c == ".") { include(p, XA[2], 0); return }
	if (c == "configfile" || c == "normal") {
		if (XN < 2) { STATUS = 1; return }
		if (INENTRY) { K_CFG = XA[2]; K_CFGAT = where(p); return }
		include(p, XA[2], 1); return
	}
	if (c == "blscfg") { if (!INENTRY) blscfg(p); return }
	if (c in W_LINUX) { loadlinux(p); return }
	if (c in W_INITRD) { loadinitrd(p); return }
	if (c in W_MULTIBOOT) { loader(c " starts a multiboot kernel (Xen, a hypervisor, ...), which gen-kexec does not"); return }
	if (c in W_CHAIN) { loader(c " starts another boot loader or boot sector (needs a BIOS)"); return }
	if (c in W_OTHERKERNEL) { loader(c " starts a non-Linux kernel"); return }
	if (c in W_HALT) { if (INENTRY) K_NOTE = "it runs " c; return }
	if (c in W_MODULE) return
	if (c in FUNC) { call(c, p); return }
	if (XN == 1 && c ~ /^[A-Za-z_][A-Za-z0-9_]*=/) { i = index(c, "="); setvar(substr(c, 1, i - 1), substr(c, i + 1)); return }
	STATUS = 1
	if (!(c in UNKNOWN)) { UNKNOWN[c] = 1; warn(where(p) ": unknown command '" c "' (GRUB says: can't find command; gen-kexec ignores it)") }
}

# test(K): GRUB's test / [ ] on XA[K..XN] (grub-core/commands/test.c).
function test(k,    ret, invert, discard, a, b, op, val) {
	ret = 0; invert = 0; discard = 0
	while (k <= XN) {
		a = XA[k]
		if (k + 2 <= XN) {
			op = XA[k + 1]; b = XA[k + 2]; val = ""
			if (op == "=" || op == "==") val = (a == b)
			else if (op == "!=") val = (a != b)
			else if (op == "<") val = (a "" < b "")
			else if (op == "<=") val = (a "" <= b "")
			else if (op == ">") val = (a "" > b "")
			else if (op == ">=") val = (a "" >= b "")
			else if (op == "-eq") val = (a + 0 == b + 0)
			else if (op == "-ne") val = (a + 0 != b + 0)
			else if (op == "-lt") val = (a + 0 < b + 0)
			else if (op == "-le") val = (a + 0 <= b + 0)
			else if (op == "-gt") val = (a + 0 > b + 0)
			else if (op == "-ge") val = (a + 0 >= b + 0)
			if (val != "") { if (!discard) ret = invert ? !val : val; invert = discard = 0; k += 3; continue }
		}
		if (k + 1 <= XN) {
			b = XA[k + 1]
			if (a == "-d" || a == "-e" || a == "-f" || a == "-s") {
				val = filetest(a, b)
				if (!discard) ret = invert ? !val : val
				return ret
			}
			if (a == "-n" || a == "-z") {
				val = (a == "-n") == (b != "")
				if (!discard) ret = invert ? !val : val; invert = discard = 0; k += 2; continue
			}
		}
		if (a == ")") return ret
		if (a == "(") { k++; val = test(k); if (!discard) ret = invert ? !val : val; invert = discard = 0; break }
		if (a == "!") { invert = !invert; k++; continue }
		if (a == "-a") { discard = !ret; k++; continue }
		if (a == "-o") { discard = ret; k++; continue }
		val = (a != ""); if (!discard) ret = invert ? !val : val; invert = discard = 0; k++
	}
	return ret
}

# filetest(OP, PATH): -d -e -f -s on a GRUB path. awk cannot tell a
# directory from a missing file: -d is true only for a device's root, and -e
# only for files.
function filetest(op, path,    h, r, line) {
	if (!loc(path)) return 0
	if (LOC_PATH == "/" || LOC_PATH == "") return op == "-d" || op == "-e"
	if (op == "-d") return 0
	h = LOC_HOST; r = (getline line < h); close(h)
	if (r < 0) return 0
	if (op == "-s") return r > 0 || line != ""
	return 1
}

# devname(SPEC): the partition NAME for GRUB device SPEC (without parens);
# "" with LOC_ERR set when it is not one of this disk's.
function devname(spec,    d, part, n, k) {
	sub(/^\(/, "", spec); sub(/\)$/, "", spec)
	if (spec == "") { LOC_ERR = "no device (root is not set)"; return "" }
	d = spec; part = ""
	if (index(spec, ",")) { d = substr(spec, 1, index(spec, ",") - 1); part = substr(spec, index(spec, ",") + 1) }
	if ((d in W_CD) || (d == "hd0" && part == "")) {
		if (WHOLE != "") return WHOLE
		return CFGNAME
	}
	if (d != "hd0") { LOC_ERR = "(" spec ") is another disk than the one gen-kexec started from"; return "" }
	if (!match(part, /[0-9]+/)) { LOC_ERR = "(" spec "): no partition number"; return "" }
	# The partition table's type, as the config names it (grub-mkconfig
	# wrote what grub-probe saw): what search then calls the partitions.
	if (part ~ /^(msdos|gpt)[0-9]/) PTTYPE = substr(part, 1, RSTART - 1)
	n = substr(part, RSTART, RLENGTH) + 0
	if (substr(part, RSTART + RLENGTH) ~ /,/) { LOC_ERR = "(" spec "): nested partitions are not supported"; return "" }
	for (k = 1; k <= NP; k++) if (PNUM[k] == n "") return PNAME[k]
	LOC_ERR = "(" spec "): the disk has no partition " n; return ""
}

# loc(PATH): where GRUB file PATH is: LOC_NAME (partition), LOC_PATH (from
# its root), LOC_HOST (on this system), LOC_REF (the path for the records:
# /P on the config's partition, (NAME)/P elsewhere). Returns 0 with LOC_ERR.
function loc(path,    dev, name, k) {
	LOC_ERR = ""; dev = getvar("root")
	if (substr(path, 1, 1) == "(") {
		k = index(path, ")"); if (!k) { LOC_ERR = path ": no closing )"; return 0 }
		dev = substr(path, 2, k - 2); path = substr(path, k + 1)
	}
	if (path != "" && substr(path, 1, 1) != "/") { LOC_ERR = path ": not an absolute path (GRUB: invalid file name)"; return 0 }
	name = devname(dev); if (name == "") return 0
	for (k = 1; k <= NP; k++) if (PNAME[k] == name) break
	if (PDIR[k] == "") { LOC_ERR = "/dev/" name " holds " (PFS[k] == "" ? "no filesystem gen-kexec knows" : "a " PFS[k] " filesystem, which gen-kexec cannot read (it reads iso9660, vfat and ext2/3/4)"); return 0 }
	LOC_NAME = name; LOC_PATH = path; LOC_HOST = PDIR[k] path
	LOC_REF = (name == CFGNAME ? "" : "(" name ")") (path == "" ? "/" : path)
	return 1
}
# exists(HOST): is there a file at HOST?
function exists(h,    r, line) { r = (getline line < h); close(h); return r >= 0 }

# The loaders: what the entry being evaluated boots.
function loader(why) { if (INENTRY) { K_KERNEL = ""; K_WHY = why; K_INITRD = "" } }
function loadlinux(p,    k, args, a) {
	if (!INENTRY) return
	if (XN < 2) { STATUS = 1; K_WHY = where(p) ": " XA[1] " without a file"; return }
	K_KERNEL = ""; K_INITRD = ""; K_WHY = ""
	if (!loc(XA[2])) { K_WHY = XA[1] " " XA[2] ": " LOC_ERR; STATUS = 1; return }
	if (!exists(LOC_HOST)) { K_WHY = XA[1] " " XA[2] ": no such file on /dev/" LOC_NAME; STATUS = 1; return }
	if (tolower(LOC_PATH) ~ /\/memtest[^\/]*$/) { K_WHY = XA[2] " is memtest86+, a BIOS program, not a Linux kernel"; STATUS = 1; return }
	args = "BOOT_IMAGE=" XA[2]
	for (k = 3; k <= XN; k++) { a = XA[k]; if (a ~ /[ \t]/) a = "\"" a "\""; args = args " " a }
	K_KERNEL = LOC_REF; K_ARGS = args
}
function loadinitrd(p,    k, list) {
	if (!INENTRY) return
	if (K_KERNEL == "") { STATUS = 1; if (K_WHY == "") K_WHY = where(p) ": " XA[1] " before linux (GRUB: you need to load the kernel first)"; return }
	list = ""
	for (k = 2; k <= XN; k++) {
		if (!loc(XA[k])) { K_WHY = XA[1] " " XA[k] ": " LOC_ERR; K_KERNEL = ""; STATUS = 1; return }
		if (!exists(LOC_HOST)) { K_WHY = XA[1] " " XA[k] ": no such file on /dev/" LOC_NAME; K_KERNEL = ""; STATUS = 1; return }
		list = list (list == "" ? "" : ",") LOC_REF
	}
	K_INITRD = list
}

# source / configfile FILE: read FILE here (source), or as a new menu in a
# new context (configfile: if it has entries, they are the menu shown).
function include(p, path, cfgfile,    first, h, c, m, sctx, smenu) {
	if (path == "") { STATUS = 1; return }
	if (!loc(path)) { warn(where(p) ": " XA[1] " " path ": " LOC_ERR); STATUS = 1; return }
	h = LOC_HOST
	if (NEST >= MAXNEST) { warn(where(p) ": " XA[1] " " path ": nested more than " MAXNEST " deep (a loop?); skipped"); STATUS = 1; return }
	first = lexfile(h, path)
	if (!first) { if (!BUDGET) warn(where(p) ": " XA[1] " " path ": no such file; skipped"); STATUS = 1; return }
	NEST++
	if (!cfgfile) { xtop(first); NEST--; return }
	sctx = CTX; smenu = MENU
	CTX = newctx(CTX, 0); MENU = ++NMENU
	setvar("config_file", path); setvar("config_directory", path); sub(/\/[^\/]*$/, "", V[CTX, "config_directory"])
	xtop(first)
	NEST--
	if (MC[MENU] > 0) { TOPMENU = MENU; TOPCTX = CTX; STOPALL = 1; return }
	CTX = sctx; MENU = smenu
}
