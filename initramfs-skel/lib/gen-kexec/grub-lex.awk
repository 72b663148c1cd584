# gen-kexec runtime library: the GRUB 2 script lexer (grub-core/script/yylex.l),
# part of the one awk program grub.sh runs per config (grub-*.awk).
#
# A file becomes tokens appended to TT/TV/TQ/TL/TF (type, value, quoted,
# line, file): TT is "w" (a word), ";" (newline or ;), "{", "}" or "E" (end
# of file). A word's value is its text with quotes and backslashes resolved
# and variable references kept for expansion at run time, as GRUB expands
# them when a command runs: "\001NAME\002" for an unquoted $NAME (its value
# is split into words), "\003NAME\002" for one inside double quotes.
# Comments start at a word's first character. Budgets: bytes, lines, line
# length, files (grub.sh sets them); an exceeded one stops reading.

# words(SET, LIST): SET[W] = 1 for each of LIST's space-separated words, so
# that `c in SET` says what a regex like /^(a|b|c)$/ would. Not a regex:
# busybox awk compiles every regex literal twice when it reads the program
# (with musl, about 0.25 ms for a long alternation on a fast host, ten
# times that under emulation), and a hash lookup is faster to run too.
function words(set, list,    w, n, i) { n = split(list, w, " "); for (i = 1; i <= n; i++) set[w[i]] = 1 }

# lexfile(HOST, NAME): the tokens of file HOST (NAME in messages). Returns
# the index of its first token, 0 when it cannot be read.
function lexfile(host, name,    s, line, r, n, first) {
	if (NFILES >= MAXFILES) { warn(name ": more than " MAXFILES " config files read in all (a loop?); skipped"); BUDGET = 1; return 0 }
	s = ""; n = 0
	while ((r = (getline line < host)) > 0) {
		n++
		if (length(line) > MAXLINE) { warn(name ":" n ": line longer than " MAXLINE " bytes; the rest of " name " is skipped"); break }
		READB += length(line) + 1; READL++
		if (READB > MAXBYTES || READL > MAXLINES) { warn(name ": more than " MAXBYTES " bytes or " MAXLINES " lines of config read in all (a loop?); the rest is skipped"); BUDGET = 1; break }
		s = s line "\n"
	}
	close(host)
	if (r < 0 && n == 0) return 0
	NFILES++
	gsub(/[\001\002\003]/, "", s)
	first = NT + 1
	lex(s, name)
	return first
}

function tok(t, v, q, ln, f) { NT++; TT[NT] = t; TV[NT] = v; TQ[NT] = q; TL[NT] = ln; TF[NT] = f }

# lex(S, F): tokens of text S (file F), line by line (a quoted string or a
# backslash may continue a word on the next line).
function lex(s, f,    lines, nl, ln, line, i, L, c, inw, q, j, e, nw, ws) {
	nl = split(s, lines, "\n"); inw = 0; w = ""; q = 0; qs = ""
	for (ln = 1; ln <= nl; ln++) {
		line = lines[ln]
		# Most lines of a generated config: words and blanks only.
		if (qs == "" && !inw && line !~ /[;{}#'"\\$]/) {
			nw = split(line, ws, /[ \t\r]+/)
			for (j = 1; j <= nw; j++) if (ws[j] != "") tok("w", ws[j], 0, ln, f)
			if (TT[NT] != ";") tok(";", "", 0, ln, f)
			continue
		}
		L = length(line); i = 1
		if (qs == "'") {
			j = index(line, "'")
			if (!j) { w = w line "\n"; continue }
			w = w substr(line, 1, j - 1); qs = ""; i = j + 1
		} else if (qs == "\"") i = lexdq(line, 1)
		while (i <= L && qs == "") {
			c = substr(line, i, 1)
			if (c == " " || c == "\t" || c == "\r" || c == ";" || c == "{" || c == "}") {
				if (inw) { tok("w", w, q, ln, f); inw = 0; w = ""; q = 0 }
				if (c == ";") tok(";", "", 0, ln, f)
				else if (c == "{" || c == "}") tok(c, c, 0, ln, f)
				i++; continue
			}
			if (c == "#" && !inw) { i = L + 1; break }
			inw = 1
			if (c == "\\") {
				if (i == L) { i++; if (w == "" && !q) inw = 0; c = "cont"; break }
				w = w substr(line, i + 1, 1); q = 1; i += 2; continue
			}
			if (c == "'") {
				q = 1; j = index(substr(line, i + 1), "'")
				if (!j) { w = w substr(line, i + 1) "\n"; qs = "'"; break }
				w = w substr(line, i + 1, j - 1); i += j + 1; continue
			}
			if (c == "\"") { q = 1; i = lexdq(line, i + 1); continue }
			if (c == "$") { i = lexvar(line, i, 0); continue }
			if (match(substr(line, i), /^[^ \t\r;{}\\'"$]+/)) { w = w substr(line, i, RLENGTH); i += RLENGTH; continue }
			w = w c; i++
		}
		if (qs != "" || c == "cont") { c = ""; continue }
		if (inw) { tok("w", w, q, ln, f); inw = 0; w = ""; q = 0 }
		if (TT[NT] != ";") tok(";", "", 0, ln, f)
	}
	if (qs != "") warn(f ":" ln ": unterminated " qs " quote; the rest of " f " is skipped")
	else if (inw) tok("w", w, q, ln, f)
	tok(";", "", 0, ln, f)
	tok("E", "", 0, ln, f)
}
# lexdq(LINE, I): the inside of a double-quoted string from LINE[I] into w;
# returns the index after the closing quote (qs = "\"" when the line ends
# first: the string goes on on the next line).
function lexdq(line, i,    L, c, e) {
	L = length(line); qs = ""
	while (i <= L) {
		c = substr(line, i, 1)
		if (c == "\"") return i + 1
		if (c == "\\") {
			e = substr(line, i + 1, 1)
			if (e == "") { i++; qs = "\""; return i }
			if (e == "\\" || e == "\"" || e == "$") { w = w e; i += 2; continue }
			w = w c; i++; continue
		}
		if (c == "$") { i = lexvar(line, i, 1); continue }
		if (match(substr(line, i), /^[^"\\$]+/)) { w = w substr(line, i, RLENGTH); i += RLENGTH; continue }
		w = w c; i++
	}
	w = w "\n"; qs = "\""
	return i
}

# lexvar(S, I, QUOTED): the variable reference at S[I] ("$") into w (the
# caller's word, a global here); returns the index after it.
function lexvar(s, i, quoted,    rest, nm, j) {
	rest = substr(s, i + 1)
	if (substr(rest, 1, 1) == "{") {
		j = index(rest, "}")
		if (!j) { w = w "$"; return i + 1 }
		nm = substr(rest, 2, j - 2); j = j + 1
	} else if (match(rest, /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[?#@*])/)) {
		nm = substr(rest, 1, RLENGTH); j = RLENGTH + 1
	} else { w = w "$"; return i + 1 }
	w = w (quoted ? "\003" : "\001") nm "\002"
	return i + j
}

# expand(P, Q): the words of tokens P..Q-1 expanded into XA[1..XN], as GRUB
# builds a command's argv: an unquoted variable's value is split at blanks.
function expand(p, q,    k) {
	XN = 0
	for (k = p; k < q; k++) expandw(TV[k], TQ[k])
}
function expandw(v, quoted,    cur, has, i, c, nm, val, n, parts, m, lead) {
	cur = ""; has = quoted
	while (v != "") {
		i = match(v, /[\001\003]/)
		if (!i) { cur = cur v; break }
		cur = cur substr(v, 1, i - 1)
		c = substr(v, i, 1); v = substr(v, i + 1)
		i = index(v, "\002"); nm = substr(v, 1, i - 1); v = substr(v, i + 1)
		val = getvar(nm)
		if (c == "\003") { cur = cur val; has = 1; continue }
		if (val == "") continue
		lead = (val ~ /^[ \t\n]/)
		n = split(val, parts, /[ \t\n]+/)
		for (m = 1; m <= n; m++) {
			if (parts[m] == "" && (m == 1 || m == n)) continue
			if (m > 1 || lead) { if (cur != "" || has) XA[++XN] = cur; cur = ""; has = 0 }
			cur = cur parts[m]; has = 1
		}
		if (val ~ /[ \t\n]$/ && (cur != "" || has)) { XA[++XN] = cur; cur = ""; has = 0 }
	}
	if (cur != "" || has) XA[++XN] = cur
}

# The text of tokens P..Q-1 expanded and joined with spaces (messages).
function joined(p, q,    k, s) { expand(p, q); s = ""; for (k = 1; k <= XN; k++) s = s (k > 1 ? " " : "") XA[k]; return s }
