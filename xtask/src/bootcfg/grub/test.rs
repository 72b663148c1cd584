//! GRUB 2's test / [ ] (grub-core/commands/test.c), as grub-cmd.awk runs it.

use super::{awk_num, Grub};

impl Grub<'_> {
    /// test: GRUB's test / [ ] on xa[k..] (grub-core/commands/test.c).
    pub(super) fn test(&mut self, xa: &[String], mut k: usize) -> bool {
        let (mut ret, mut invert, mut discard) = (false, false, false);
        let n = xa.len();
        macro_rules! upd {
            ($v:expr) => {{
                let v: bool = $v;
                if !discard {
                    ret = if invert { !v } else { v };
                }
                invert = false;
                discard = false;
            }};
        }
        while k < n {
            let a = xa[k].as_str();
            if k + 2 < n {
                let (op, b) = (xa[k + 1].as_str(), xa[k + 2].as_str());
                let (x, y) = (awk_num(a), awk_num(b));
                let val = match op {
                    "=" | "==" => Some(a == b),
                    "!=" => Some(a != b),
                    "<" => Some(a < b),
                    "<=" => Some(a <= b),
                    ">" => Some(a > b),
                    ">=" => Some(a >= b),
                    "-eq" => Some(x == y),
                    "-ne" => Some(x != y),
                    "-lt" => Some(x < y),
                    "-le" => Some(x <= y),
                    "-gt" => Some(x > y),
                    "-ge" => Some(x >= y),
                    _ => None,
                };
                if let Some(v) = val {
                    upd!(v);
                    k += 3;
                    continue;
                }
            }
            if k + 1 < n {
                let b = xa[k + 1].clone();
                if matches!(a, "-d" | "-e" | "-f" | "-s") {
                    let v = self.filetest(a, &b);
                    if !discard {
                        ret = if invert { !v } else { v };
                    }
                    return ret;
                }
                if a == "-n" || a == "-z" {
                    upd!((a == "-n") != b.is_empty());
                    k += 2;
                    continue;
                }
            }
            match a {
                ")" => return ret,
                "(" => {
                    let v = self.test(xa, k + 1);
                    if !discard {
                        ret = if invert { !v } else { v };
                    }
                    break;
                }
                "!" => invert = !invert,
                "-a" => discard = !ret,
                "-o" => discard = ret,
                _ => upd!(!a.is_empty()),
            }
            k += 1;
        }
        ret
    }

    /// filetest: -d (a device's root only), -e, -f, -s on a GRUB path.
    fn filetest(&mut self, op: &str, path: &str) -> bool {
        let Some(l) = self.loc(path) else {
            return false;
        };
        if l.path == "/" || l.path.is_empty() {
            return op == "-d" || op == "-e";
        }
        if op == "-d" {
            return false;
        }
        match self.read(l.part, &l.path) {
            None => false,
            Some(d) => op != "-s" || !d.is_empty(),
        }
    }
}
