# gen-kexec runtime library: the GRUB 2 script interpreter (grub-core/script
# parser.y and execute.c), part of grub.sh's awk program (grub-*.awk).
#
# Commands run as they are parsed; RUN=0 parses without effect (the branch
# not taken, a function or menuentry body being stored). A top-level
# statement is first parsed dry: GRUB reads a whole statement before it runs
# it, and drops one with a syntax error (an unbalanced brace, if without fi)
# with a message, going on with the next line.
#
# Variables live in contexts (CTX): a submenu or configfile opens a new one
# holding only the exported variables, as grub_env_context_open does; a
# menu entry's body runs in a copy of its menu's context as it is once the
# menu is complete. V[ctx SUBSEP name] = value, XP[...] = exported,
# VK[ctx, i] the names set in ctx (for copies).

function warn(m) { if (NWARN < 50) print "W\t" m; NWARN++ }
function where(p) { return TF[p] ":" TL[p] }

function getvar(nm,    k, s) {
	if (nm ~ /^[0-9]+$/) return ((FD SUBSEP nm) in FA) ? FA[FD, nm] : ""
	if (nm == "#") return FC[FD] + 0
	if (nm == "?") return STATUS
	if (nm == "@" || nm == "*") { s = ""; for (k = 1; k <= FC[FD]; k++) s = s (k > 1 ? " " : "") FA[FD, k]; return s }
	k = CTX SUBSEP nm
	return (k in V) ? V[k] : ""
}
function isset(nm) { return (CTX SUBSEP nm) in V }
function setvar(nm, val,    k) {
	if (length(val) > MAXVAL) {
		if (!VALWARN++) warn("a variable longer than " MAXVAL " bytes ($" nm "; a loop?): cut there")
		val = substr(val, 1, MAXVAL)
	}
	# set root='hd0,gpt2': the partition table's type, as the config names
	# it (grub-mkconfig wrote what grub-probe saw), for what search sets.
	if (val ~ /^\(?hd[0-9]+,(msdos|gpt)[0-9]/) PTTYPE = (val ~ /^\(?hd[0-9]+,gpt/) ? "gpt" : "msdos"
	k = CTX SUBSEP nm
	if (!(k in V) && !((CTX SUBSEP nm) in VSEEN)) { VSEEN[CTX, nm] = 1; VK[CTX, ++VN[CTX]] = nm }
	V[k] = val
}
function unsetvar(nm) { delete V[CTX SUBSEP nm]; delete XP[CTX SUBSEP nm] }

# newctx(FROM, ALL): a new context with FROM's exported variables (all of
# them when ALL); returns its number.
function newctx(from, all,    c, i, nm, k) {
	c = ++NCTX
	for (i = 1; i <= VN[from]; i++) {
		nm = VK[from, i]; k = from SUBSEP nm
		if (!(k in V) || (!all && !(k in XP))) continue
		VSEEN[c, nm] = 1; VK[c, ++VN[c]] = nm; V[c, nm] = V[k]
		if (k in XP) XP[c, nm] = 1
	}
	return c
}

function synerr(p, m) { if (!SYNERR) { SYNERR = where(p) ": syntax error: " m } }
function iskw(p, w) { return TT[p] == "w" && !TQ[p] && TV[p] == w }

# xlist(P, STOP, RUN): the commands from token P up to a keyword in STOP
# (" then ", " fi ", " } ", ...) at a command's start, or the end of the
# file. Returns the index of what stopped it.
function xlist(p, stop, run) {
	while (1) {
		if (TT[p] == ";") { p++; continue }
		if (TT[p] == "E") return p
		if (TT[p] == "}") { if (index(stop, " } ")) return p; synerr(p, "unexpected }"); return p }
		if (TT[p] == "{") { synerr(p, "unexpected {"); return p }
		if (TT[p] == "w" && !TQ[p] && index(stop, " " TV[p] " ")) return p
		if (TT[p] == "w" && !TQ[p] && (TV[p] in W_RESERVED)) { synerr(p, "unexpected " TV[p]); return p }
		if (SYNERR) return p
		p = xcmd(p, run && !FRET && !STOPALL)
		if (SYNERR) return p
		STEPS++
		if (STEPS > MAXSTEPS) { if (!BUDGET) warn(where(p) ": more than " MAXSTEPS " commands run (a loop?); the rest is not read"); BUDGET = 1; STOPALL = 1 }
	}
}

# xtop(P): run a file's tokens from P, statement by statement.
function xtop(p,    q) {
	while (TT[p] != "E") {
		if (TT[p] == ";") { p++; continue }
		if (TT[p] != "w" || (!TQ[p] && (TV[p] in W_RESERVED))) {
			warn(where(p) ": syntax error: unexpected " TV[p] " (GRUB skips this statement)")
			p = nextline(p); continue
		}
		SYNERR = ""
		q = xcmd(p, 0)
		if (SYNERR) {
			warn(SYNERR " (GRUB skips this statement)")
			SYNERR = ""
			if (TT[q] == "E") return
			p = nextline(p); continue
		}
		xcmd(p, !STOPALL)
		p = q
	}
}
# nextline(P): the token after the end of P's line.
function nextline(p,    ln, f) {
	ln = TL[p]; f = TF[p]
	while (TT[p] != "E" && TL[p] == ln) p++
	return p
}

# xcmd(P, RUN): one command (or compound statement) at P; returns the index
# after it.
function xcmd(p, run,    w, q, c, taken, done, b, e, nm, i) {
	if (TT[p] == "w" && !TQ[p]) w = TV[p]; else w = ""
	if (w == "if") {
		q = xlist(p + 1, " then ", run)
		if (!iskw(q, "then")) { synerr(p, "if without then"); return q }
		c = STATUS; taken = run && c == 0; done = !run || taken
		q = xlist(q + 1, " elif else fi ", taken)
		while (1) {
			if (iskw(q, "elif")) {
				q = xlist(q + 1, " then ", run && !done)
				if (!iskw(q, "then")) { synerr(p, "elif without then"); return q }
				taken = run && !done && STATUS == 0; if (taken) done = 1
				q = xlist(q + 1, " elif else fi ", taken)
				continue
			}
			if (iskw(q, "else")) { q = xlist(q + 1, " fi ", run && !done); continue }
			if (iskw(q, "fi")) { if (run && !taken && done == 0) STATUS = 0; return q + 1 }
			synerr(p, "if without fi"); return q
		}
	}
	if (w == "function") {
		nm = TV[p + 1]; q = p + 2
		while (TT[q] == ";") q++
		if (TT[p + 1] != "w" || TT[q] != "{") { synerr(p, "function without { body }"); return q }
		e = xlist(q + 1, " } ", 0)
		if (TT[e] != "}") { synerr(p, "function " nm ": no closing }"); return e }
		if (run) FUNC[nm] = q + 1
		return e + 1
	}
	if (w == "menuentry" || w == "submenu") {
		for (q = p + 1; TT[q] == "w"; q++) ;
		b = q; while (TT[b] == ";") b++
		if (TT[b] != "{") { synerr(p, w " without { body }"); return b }
		e = xlist(b + 1, " } ", 0)
		if (TT[e] != "}") { synerr(p, w ": no closing }"); return e }
		if (run) addentry(p, q, b + 1, w == "submenu")
		return e + 1
	}
	if (w == "for" || w == "while" || w == "until") return xloop(p, w, run)
	for (q = p; TT[q] == "w"; q++) ;
	if (TT[q] == "{" || q == p) { synerr(q, "unexpected " TV[q]); return q }
	if (run) { expand(p, q); if (XN) runcmd(p) }
	return TT[q] == ";" ? q + 1 : q
}

# for NAME in WORDS; do LIST; done / while LIST; do LIST; done (bounded).
function xloop(p, w, run,    q, d, e, n, k, nm, words, cnt) {
	if (w == "for") {
		nm = TV[p + 1]
		if (!iskw(p + 2, "in")) { synerr(p, "for without in"); return p + 2 }
		for (q = p + 3; TT[q] == "w"; q++) ;
		d = xlist(q, " do ", 0)
		if (!iskw(d, "do")) { synerr(p, "for without do"); return d }
		e = xlist(d + 1, " done ", 0)
		if (!iskw(e, "done")) { synerr(p, "for without done"); return e }
		if (!run) return e + 1
		expand(p + 3, q); n = XN
		for (k = 1; k <= n; k++) words[k] = XA[k]
		for (k = 1; k <= n && k <= 1000; k++) { setvar(nm, words[k]); xlist(d + 1, " done ", 1) }
		return e + 1
	}
	d = xlist(p + 1, " do ", 0)
	if (!iskw(d, "do")) { synerr(p, w " without do"); return d }
	e = xlist(d + 1, " done ", 0)
	if (!iskw(e, "done")) { synerr(p, w " without done"); return e }
	if (!run) return e + 1
	for (cnt = 0; cnt < 100 && !STOPALL; cnt++) {
		xlist(p + 1, " do ", 1)
		if ((w == "while") != (STATUS == 0)) break
		xlist(d + 1, " done ", 1)
	}
	if (cnt == 100) warn(where(p) ": " w " loop stopped after 100 rounds")
	return e + 1
}

# call(NAME, P): run function NAME with XA[2..XN] as $1..
function call(nm, p,    k) {
	if (FD >= 32) { warn(where(p) ": functions nested more than 32 deep (a recursion?); " nm " not run"); STATUS = 1; return }
	FD++; FC[FD] = XN - 1
	for (k = 2; k <= XN; k++) FA[FD, k - 1] = XA[k]
	xlist(FUNC[nm], " } ", 1)
	FD--; FRET = 0
}

# addentry(P, Q, BODY, SUB): a menuentry/submenu with the words P..Q-1.
# Not while an entry's body runs: GRUB would add them to the menu only after
# that entry ran and came back (and they would make the walk longer).
function addentry(p, q, body, issub,    k, a, title, id, n) {
	if (INENTRY) { STATUS = 0; return }
	expand(p + 1, q); title = ""; id = ""; n = 0
	for (k = 1; k <= XN; k++) {
		a = XA[k]
		if (a ~ /^--(class|users|hotkey|id|source)=/) { if (a ~ /^--id=/) id = substr(a, 6); continue }
		if (a ~ /^--(class|users|hotkey|id|source)$/) { if (a == "--id") id = XA[k + 1]; k++; continue }
		if (a == "--unrestricted") continue
		if (!n++) title = a
	}
	if (!n) { warn(where(p) ": " (issub ? "submenu" : "menuentry") " without a title; ignored"); STATUS = 1; return }
	if (NE >= MAXENTRIES) { if (NE == MAXENTRIES) warn(where(p) ": more than " MAXENTRIES " menu entries; the rest are left out"); NE++; return }
	NE++; EN[NE] = title; EI[NE] = id; EB[NE] = body; ES[NE] = issub; EW[NE] = where(p); EK[NE] = ""
	ME[MENU, ++MC[MENU]] = NE
	STATUS = 0
}
