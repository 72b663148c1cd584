//! GRUB 2's loaders as grub-cmd.awk runs them: what the entry being
//! evaluated boots (linux, initrd), or why it cannot (multiboot, ...).

use super::Grub;

impl Grub<'_> {
    pub(super) fn loader(&mut self, why: String) {
        if self.inentry {
            self.k.kernel.clear();
            self.k.initrd.clear();
            self.k.why = why;
        }
    }

    pub(super) fn loadlinux(&mut self, p: usize, xa: &[String]) {
        if !self.inentry {
            return;
        }
        if xa.len() < 2 {
            self.status = 1;
            self.k.why = format!("{}: {} without a file", self.where_(p), xa[0]);
            return;
        }
        self.k.kernel.clear();
        self.k.initrd.clear();
        self.k.why.clear();
        let Some(l) = self.loc(&xa[1]) else {
            self.k.why = format!("{} {}: {}", xa[0], xa[1], self.locerr);
            self.status = 1;
            return;
        };
        if !self.exists(&l) {
            self.k.why = format!("{} {}: no such file on /dev/{}", xa[0], xa[1], l.name);
            self.status = 1;
            return;
        }
        let base = l.path.to_lowercase();
        if base
            .rsplit('/')
            .next()
            .is_some_and(|b| b.starts_with("memtest"))
        {
            self.k.why = format!(
                "{} is memtest86+, a BIOS program, not a Linux kernel",
                xa[1]
            );
            self.status = 1;
            return;
        }
        let mut args = format!("BOOT_IMAGE={}", xa[1]);
        for a in &xa[2..] {
            if a.contains([' ', '\t']) {
                args.push_str(&format!(" \"{a}\""));
            } else {
                args.push(' ');
                args.push_str(a);
            }
        }
        self.k.kernel = l.rref;
        self.k.args = args;
    }

    pub(super) fn loadinitrd(&mut self, p: usize, xa: &[String]) {
        if !self.inentry {
            return;
        }
        if self.k.kernel.is_empty() {
            self.status = 1;
            if self.k.why.is_empty() {
                self.k.why = format!(
                    "{}: {} before linux (GRUB: you need to load the kernel first)",
                    self.where_(p),
                    xa[0]
                );
            }
            return;
        }
        let mut list = Vec::new();
        for a in &xa[1..] {
            let Some(l) = self.loc(a) else {
                self.k.why = format!("{} {a}: {}", xa[0], self.locerr);
                self.k.kernel.clear();
                self.status = 1;
                return;
            };
            if !self.exists(&l) {
                self.k.why = format!("{} {a}: no such file on /dev/{}", xa[0], l.name);
                self.k.kernel.clear();
                self.status = 1;
                return;
            }
            list.push(l.rref);
        }
        self.k.initrd = list.join(",");
    }
}
