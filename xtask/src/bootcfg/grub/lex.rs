//! The GRUB 2 script lexer and word expansion, as grub-lex.awk does them
//! (grub-core/script/yylex.l): tokens with variable references kept
//! (`\x01NAME\x02` unquoted, `\x03NAME\x02` in double quotes) for
//! expansion when a command runs.

use super::Grub;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum T {
    Word,
    Sep,
    LBrace,
    RBrace,
    End,
}

#[derive(Clone, Debug)]
pub struct Tok {
    pub t: T,
    pub v: String,
    pub q: bool,
    pub line: usize,
    pub file: std::rc::Rc<str>,
}

fn is_plain(c: char) -> bool {
    !matches!(
        c,
        ' ' | '\t' | '\r' | ';' | '{' | '}' | '\\' | '\'' | '"' | '$'
    )
}

impl Grub<'_> {
    fn tok(&mut self, t: T, v: String, q: bool, line: usize, f: &std::rc::Rc<str>) {
        self.toks.push(Tok {
            t,
            v,
            q,
            line,
            file: f.clone(),
        });
    }

    /// lexfile: the tokens of partition file (part, path), NAME in
    /// messages; the index of the first one, None when unreadable.
    pub fn lexfile(&mut self, part: usize, path: &str, name: &str) -> Option<usize> {
        if self.nfiles >= super::MAXFILES {
            self.warn(format!(
                "{name}: more than {} config files read in all (a loop?); skipped",
                super::MAXFILES
            ));
            self.budget = true;
            return None;
        }
        let data = self.read(part, path)?;
        let text = String::from_utf8_lossy(&data).into_owned();
        let mut s = String::new();
        let mut lines: Vec<&str> = text.split('\n').collect();
        if text.ends_with('\n') || text.is_empty() {
            lines.pop();
        }
        for (n, line) in lines.iter().enumerate() {
            if line.len() > super::MAXLINE {
                self.warn(format!(
                    "{name}:{}: line longer than {} bytes; the rest of {name} is skipped",
                    n + 1,
                    super::MAXLINE
                ));
                break;
            }
            self.readb += line.len() + 1;
            self.readl += 1;
            if self.readb > super::MAXBYTES || self.readl > super::MAXLINES {
                self.warn(format!("{name}: more than {} bytes or {} lines of config read in all (a loop?); the rest is skipped", super::MAXBYTES, super::MAXLINES));
                self.budget = true;
                break;
            }
            s.push_str(line);
            s.push('\n');
        }
        self.nfiles += 1;
        let s: String = s
            .chars()
            .filter(|c| !matches!(c, '\x01' | '\x02' | '\x03'))
            .collect();
        let first = self.toks.len();
        self.lex(&s, name);
        Some(first)
    }

    /// lex: the tokens of text S (file F), line by line.
    pub fn lex(&mut self, s: &str, f: &str) {
        let f: std::rc::Rc<str> = f.into();
        let mut lines: Vec<&str> = s.split('\n').collect();
        if s.is_empty() {
            lines.clear();
        }
        let (mut w, mut inw, mut q, mut qs) = (String::new(), false, false, ' ');
        let mut ln = 0;
        for (k, line) in lines.iter().enumerate() {
            ln = k + 1;
            let ch: Vec<char> = line.chars().collect();
            let l = ch.len();
            let mut i = 0;
            let mut cont = false;
            if qs == '\'' {
                match ch.iter().position(|&c| c == '\'') {
                    None => {
                        w.push_str(line);
                        w.push('\n');
                        continue;
                    }
                    Some(j) => {
                        w.extend(&ch[..j]);
                        qs = ' ';
                        i = j + 1;
                    }
                }
            } else if qs == '"' {
                i = lexdq(&ch, 0, &mut w, &mut qs);
            }
            while i < l && qs == ' ' {
                let c = ch[i];
                if matches!(c, ' ' | '\t' | '\r' | ';' | '{' | '}') {
                    if inw {
                        self.tok(T::Word, std::mem::take(&mut w), q, ln, &f);
                        inw = false;
                        q = false;
                    }
                    match c {
                        ';' => self.tok(T::Sep, String::new(), false, ln, &f),
                        '{' => self.tok(T::LBrace, "{".into(), false, ln, &f),
                        '}' => self.tok(T::RBrace, "}".into(), false, ln, &f),
                        _ => {}
                    }
                    i += 1;
                    continue;
                }
                if c == '#' && !inw {
                    break;
                }
                inw = true;
                match c {
                    '\\' => {
                        if i + 1 == l {
                            if w.is_empty() && !q {
                                inw = false;
                            }
                            cont = true;
                            break;
                        }
                        w.push(ch[i + 1]);
                        q = true;
                        i += 2;
                    }
                    '\'' => {
                        q = true;
                        match ch[i + 1..].iter().position(|&c| c == '\'') {
                            None => {
                                w.extend(&ch[i + 1..]);
                                w.push('\n');
                                qs = '\'';
                                break;
                            }
                            Some(j) => {
                                w.extend(&ch[i + 1..i + 1 + j]);
                                i += j + 2;
                            }
                        }
                    }
                    '"' => {
                        q = true;
                        i = lexdq(&ch, i + 1, &mut w, &mut qs);
                    }
                    '$' => i = lexvar(&ch, i, false, &mut w),
                    _ => {
                        while i < l && is_plain(ch[i]) {
                            w.push(ch[i]);
                            i += 1;
                        }
                    }
                }
            }
            if qs != ' ' || cont {
                continue;
            }
            if inw {
                self.tok(T::Word, std::mem::take(&mut w), q, ln, &f);
                inw = false;
                q = false;
            }
            self.tok(T::Sep, String::new(), false, ln, &f);
        }
        if qs != ' ' {
            self.warn(format!(
                "{f}:{ln}: unterminated {qs} quote; the rest of {f} is skipped"
            ));
        } else if inw {
            self.tok(T::Word, w, q, ln, &f);
        }
        self.tok(T::Sep, String::new(), false, ln, &f);
        self.tok(T::End, String::new(), false, ln, &f);
    }

    /// expand: the words of tokens p..q as argv (unquoted variables split).
    pub fn expand(&mut self, p: usize, q: usize) -> Vec<String> {
        let mut xa = Vec::new();
        for k in p..q {
            let (v, quoted) = (self.toks[k].v.clone(), self.toks[k].q);
            self.expandw(&v, quoted, &mut xa);
        }
        xa
    }

    fn expandw(&self, v: &str, quoted: bool, xa: &mut Vec<String>) {
        let (mut cur, mut has) = (String::new(), quoted);
        let mut v = v;
        while !v.is_empty() {
            let Some(i) = v.find(['\x01', '\x03']) else {
                cur.push_str(v);
                break;
            };
            cur.push_str(&v[..i]);
            let dq = v.as_bytes()[i] == 3;
            let rest = &v[i + 1..];
            let j = rest.find('\x02').unwrap_or(rest.len());
            let val = self.getvar(&rest[..j]);
            v = rest.get(j + 1..).unwrap_or("");
            if dq {
                cur.push_str(&val);
                has = true;
                continue;
            }
            if val.is_empty() {
                continue;
            }
            let blank = |c: char| matches!(c, ' ' | '\t' | '\n');
            let lead = val.starts_with(blank);
            for (m, part) in val.split(blank).filter(|s| !s.is_empty()).enumerate() {
                if m > 0 || lead {
                    if !cur.is_empty() || has {
                        xa.push(std::mem::take(&mut cur));
                    }
                    cur.clear();
                }
                cur.push_str(part);
                has = true;
            }
            if val.ends_with(blank) && (!cur.is_empty() || has) {
                xa.push(std::mem::take(&mut cur));
                has = false;
            }
        }
        if !cur.is_empty() || has {
            xa.push(cur);
        }
    }
}

/// lexdq: a double-quoted string's inside from ch[i]; qs = '"' when the
/// line ends first.
fn lexdq(ch: &[char], mut i: usize, w: &mut String, qs: &mut char) -> usize {
    *qs = ' ';
    while i < ch.len() {
        match ch[i] {
            '"' => return i + 1,
            '\\' => match ch.get(i + 1) {
                None => {
                    *qs = '"';
                    return i + 1;
                }
                Some(&e) if matches!(e, '\\' | '"' | '$') => {
                    w.push(e);
                    i += 2;
                }
                Some(_) => {
                    w.push('\\');
                    i += 1;
                }
            },
            '$' => i = lexvar(ch, i, true, w),
            c => {
                w.push(c);
                i += 1;
            }
        }
    }
    w.push('\n');
    *qs = '"';
    i
}

/// lexvar: the variable reference at ch[i] ('$').
fn lexvar(ch: &[char], i: usize, quoted: bool, w: &mut String) -> usize {
    let rest = &ch[i + 1..];
    let (nm, len): (String, usize) = if rest.first() == Some(&'{') {
        match rest.iter().position(|&c| c == '}') {
            None => {
                w.push('$');
                return i + 1;
            }
            Some(j) => (rest[1..j].iter().collect(), j + 1),
        }
    } else {
        let n = match rest.first() {
            Some(c) if c.is_ascii_alphabetic() || *c == '_' => rest
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count(),
            Some(c) if c.is_ascii_digit() => rest.iter().take_while(|c| c.is_ascii_digit()).count(),
            Some('?' | '#' | '@' | '*') => 1,
            _ => {
                w.push('$');
                return i + 1;
            }
        };
        (rest[..n].iter().collect(), n)
    };
    w.push(if quoted { '\x03' } else { '\x01' });
    w.push_str(&nm);
    w.push('\x02');
    i + 1 + len
}
