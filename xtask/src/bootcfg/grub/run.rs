//! The GRUB 2 script interpreter, as grub-run.awk runs it: commands run as
//! they are parsed; `run == false` parses without effect; a top-level
//! statement is parsed dry first and dropped with a message on a syntax
//! error.

use super::lex::T;
use super::{Entry, Grub};

impl Grub<'_> {
    pub(super) fn where_(&self, p: usize) -> String {
        format!("{}:{}", self.toks[p].file, self.toks[p].line)
    }
    fn synerr(&mut self, p: usize, m: &str) {
        if self.synerr.is_empty() {
            self.synerr = format!("{}: syntax error: {m}", self.where_(p));
        }
    }
    fn iskw(&self, p: usize, w: &str) -> bool {
        let t = &self.toks[p];
        t.t == T::Word && !t.q && t.v == w
    }
    fn kw(&self, p: usize) -> Option<&str> {
        let t = &self.toks[p];
        (t.t == T::Word && !t.q).then_some(t.v.as_str())
    }

    /// xlist: commands from p up to a keyword of STOP at a command start.
    pub(super) fn xlist(&mut self, mut p: usize, stop: &[&str], run: bool) -> usize {
        loop {
            match self.toks[p].t {
                T::Sep => {
                    p += 1;
                    continue;
                }
                T::End => return p,
                T::RBrace => {
                    if !stop.contains(&"}") {
                        self.synerr(p, "unexpected }");
                    }
                    return p;
                }
                T::LBrace => {
                    self.synerr(p, "unexpected {");
                    return p;
                }
                T::Word => {}
            }
            if let Some(w) = self.kw(p) {
                if stop.contains(&w) {
                    return p;
                }
                if matches!(w, "then" | "elif" | "else" | "fi" | "do" | "done") {
                    let m = format!("unexpected {w}");
                    self.synerr(p, &m);
                    return p;
                }
            }
            if !self.synerr.is_empty() {
                return p;
            }
            let r = run && !self.fret && !self.stopall;
            p = self.xcmd(p, r);
            if !self.synerr.is_empty() {
                return p;
            }
            self.steps += 1;
            if self.steps > super::MAXSTEPS {
                if !self.budget {
                    let m = format!(
                        "{}: more than {} commands run (a loop?); the rest is not read",
                        self.where_(p),
                        super::MAXSTEPS
                    );
                    self.warn(m);
                }
                self.budget = true;
                self.stopall = true;
            }
        }
    }

    /// xtop: a file's tokens from p, statement by statement.
    pub(super) fn xtop(&mut self, mut p: usize) {
        while self.toks[p].t != T::End {
            if self.toks[p].t == T::Sep {
                p += 1;
                continue;
            }
            let t = &self.toks[p];
            if t.t != T::Word
                || (!t.q
                    && matches!(
                        t.v.as_str(),
                        "then" | "elif" | "else" | "fi" | "do" | "done"
                    ))
            {
                let m = format!(
                    "{}: syntax error: unexpected {} (GRUB skips this statement)",
                    self.where_(p),
                    t.v
                );
                self.warn(m);
                let ln = self.toks[p].line;
                while self.toks[p].t != T::End && self.toks[p].line == ln {
                    p += 1;
                }
                continue;
            }
            self.synerr.clear();
            let q = self.xcmd(p, false);
            if !self.synerr.is_empty() {
                let m = format!("{} (GRUB skips this statement)", self.synerr);
                self.warn(m);
                self.synerr.clear();
                if self.toks[q].t == T::End {
                    return;
                }
                let ln = self.toks[p].line;
                while self.toks[p].t != T::End && self.toks[p].line == ln {
                    p += 1;
                }
                continue;
            }
            let run = !self.stopall;
            self.xcmd(p, run);
            p = q;
        }
    }

    fn words_end(&self, mut q: usize) -> usize {
        while self.toks[q].t == T::Word {
            q += 1;
        }
        q
    }

    /// xcmd: one command or compound statement at p; the index after it.
    pub(super) fn xcmd(&mut self, p: usize, run: bool) -> usize {
        let w = self.kw(p).unwrap_or("").to_string();
        match w.as_str() {
            "if" => {
                let mut q = self.xlist(p + 1, &["then"], run);
                if !self.iskw(q, "then") {
                    self.synerr(p, "if without then");
                    return q;
                }
                let c = self.status;
                let mut taken = run && c == 0;
                let mut done = !run || taken;
                q = self.xlist(q + 1, &["elif", "else", "fi"], taken);
                loop {
                    if self.iskw(q, "elif") {
                        q = self.xlist(q + 1, &["then"], run && !done);
                        if !self.iskw(q, "then") {
                            self.synerr(p, "elif without then");
                            return q;
                        }
                        taken = run && !done && self.status == 0;
                        if taken {
                            done = true;
                        }
                        q = self.xlist(q + 1, &["elif", "else", "fi"], taken);
                        continue;
                    }
                    if self.iskw(q, "else") {
                        q = self.xlist(q + 1, &["fi"], run && !done);
                        continue;
                    }
                    if self.iskw(q, "fi") {
                        if run && !taken && !done {
                            self.status = 0;
                        }
                        return q + 1;
                    }
                    self.synerr(p, "if without fi");
                    return q;
                }
            }
            "function" => {
                let nm = self.toks[p + 1].v.clone();
                let mut q = p + 2;
                while self.toks[q].t == T::Sep {
                    q += 1;
                }
                if self.toks[p + 1].t != T::Word || self.toks[q].t != T::LBrace {
                    self.synerr(p, "function without { body }");
                    return q;
                }
                let e = self.xlist(q + 1, &["}"], false);
                if self.toks[e].t != T::RBrace {
                    self.synerr(p, &format!("function {nm}: no closing }}"));
                    return e;
                }
                if run {
                    self.funcs.insert(nm, q + 1);
                }
                e + 1
            }
            "menuentry" | "submenu" => {
                let q = self.words_end(p + 1);
                let mut b = q;
                while self.toks[b].t == T::Sep {
                    b += 1;
                }
                if self.toks[b].t != T::LBrace {
                    self.synerr(p, &format!("{w} without {{ body }}"));
                    return b;
                }
                let e = self.xlist(b + 1, &["}"], false);
                if self.toks[e].t != T::RBrace {
                    self.synerr(p, &format!("{w}: no closing }}"));
                    return e;
                }
                if run {
                    self.addentry(p, q, b + 1, w == "submenu");
                }
                e + 1
            }
            "for" | "while" | "until" => self.xloop(p, &w, run),
            _ => {
                let q = self.words_end(p);
                if self.toks[q].t == T::LBrace || q == p {
                    let m = format!("unexpected {}", self.toks[q].v);
                    self.synerr(q, &m);
                    return q;
                }
                if run {
                    let xa = self.expand(p, q);
                    if !xa.is_empty() {
                        self.runcmd(p, xa);
                    }
                }
                if self.toks[q].t == T::Sep {
                    q + 1
                } else {
                    q
                }
            }
        }
    }

    fn xloop(&mut self, p: usize, w: &str, run: bool) -> usize {
        if w == "for" {
            let nm = self.toks[p + 1].v.clone();
            if !self.iskw(p + 2, "in") {
                self.synerr(p, "for without in");
                return p + 2;
            }
            let q = self.words_end(p + 3);
            let d = self.xlist(q, &["do"], false);
            if !self.iskw(d, "do") {
                self.synerr(p, "for without do");
                return d;
            }
            let e = self.xlist(d + 1, &["done"], false);
            if !self.iskw(e, "done") {
                self.synerr(p, "for without done");
                return e;
            }
            if !run {
                return e + 1;
            }
            let words = self.expand(p + 3, q);
            for word in words.iter().take(1000) {
                self.setvar(&nm, word);
                self.xlist(d + 1, &["done"], true);
            }
            return e + 1;
        }
        let d = self.xlist(p + 1, &["do"], false);
        if !self.iskw(d, "do") {
            self.synerr(p, &format!("{w} without do"));
            return d;
        }
        let e = self.xlist(d + 1, &["done"], false);
        if !self.iskw(e, "done") {
            self.synerr(p, &format!("{w} without done"));
            return e;
        }
        if !run {
            return e + 1;
        }
        let mut cnt = 0;
        while cnt < 100 && !self.stopall {
            self.xlist(p + 1, &["do"], true);
            if (w == "while") != (self.status == 0) {
                break;
            }
            self.xlist(d + 1, &["done"], true);
            cnt += 1;
        }
        if cnt == 100 {
            let m = format!("{}: {w} loop stopped after 100 rounds", self.where_(p));
            self.warn(m);
        }
        e + 1
    }

    /// call: function NAME with xa[1..] as $1..
    pub(super) fn call(&mut self, nm: &str, p: usize, xa: &[String]) {
        if self.frames.len() > 32 {
            let m = format!(
                "{}: functions nested more than 32 deep (a recursion?); {nm} not run",
                self.where_(p)
            );
            self.warn(m);
            self.status = 1;
            return;
        }
        let body = self.funcs[nm];
        self.frames.push(xa[1..].to_vec());
        self.xlist(body, &["}"], true);
        self.frames.pop();
        self.fret = false;
    }

    /// addentry: a menuentry/submenu with the words p+1..q.
    fn addentry(&mut self, p: usize, q: usize, body: usize, sub: bool) {
        // Not while an entry's body runs (GRUB adds them only after it ran).
        if self.inentry {
            self.status = 0;
            return;
        }
        let xa = self.expand(p + 1, q);
        let (mut title, mut id, mut n) = (String::new(), String::new(), 0);
        let mut k = 0;
        while k < xa.len() {
            let a = &xa[k];
            let opt = ["class", "users", "hotkey", "id", "source"];
            if let Some((o, v)) = a.strip_prefix("--").and_then(|s| s.split_once('=')) {
                if opt.contains(&o) {
                    if o == "id" {
                        id = v.to_string();
                    }
                    k += 1;
                    continue;
                }
            }
            if let Some(o) = a.strip_prefix("--") {
                if opt.contains(&o) {
                    if o == "id" {
                        id = xa.get(k + 1).cloned().unwrap_or_default();
                    }
                    k += 2;
                    continue;
                }
            }
            if a == "--unrestricted" {
                k += 1;
                continue;
            }
            if n == 0 {
                title = a.clone();
            }
            n += 1;
            k += 1;
        }
        if n == 0 {
            let m = format!(
                "{}: {} without a title; ignored",
                self.where_(p),
                if sub { "submenu" } else { "menuentry" }
            );
            self.warn(m);
            self.status = 1;
            return;
        }
        if self.nentries >= super::MAXENTRIES {
            if self.nentries == super::MAXENTRIES {
                let m = format!(
                    "{}: more than {} menu entries; the rest are left out",
                    self.where_(p),
                    super::MAXENTRIES
                );
                self.warn(m);
            }
            self.nentries += 1;
            return;
        }
        let at = self.where_(p);
        self.push_entry(Entry {
            title,
            id,
            body,
            sub,
            at,
            why: String::new(),
        });
        self.status = 0;
    }

    pub(super) fn push_entry(&mut self, e: Entry) {
        self.nentries += 1;
        self.entries.push(e);
        let i = self.entries.len() - 1;
        self.menus[self.menu].push(i);
    }
}
