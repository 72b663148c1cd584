//! gen-kexec.conf as adapt-image writes it onto the ESP (`--append`,
//! `--set KEY=VALUE`). The format and the keys are those kexec.sourceme's
//! gk_read_conf parses (docs/kexec-sourceme.md); values are checked here with
//! the same rules, so a typo fails at adapt time instead of becoming a
//! warning on the target machine's screen.

use anyhow::{bail, Result};

/// The keys kexec.sourceme knows, and what each accepts.
const KEYS: &[(&str, &str)] = &[
    ("append", "extra kernel arguments, on one line"),
    ("label", "a syslinux label, as its LABEL line names it"),
    ("load_below", "a whole number of MiB (1 to 9999999) or none"),
    (
        "menu_timeout",
        "a whole number of seconds (0 to 9999; 0 boots the default without a menu)",
    ),
    ("timeout", "a whole number of seconds (0 to 9999)"),
];

/// One `--set KEY=VALUE` (clap value parser).
pub fn parse_setting(s: &str) -> Result<(String, String)> {
    let Some((key, value)) = s.split_once('=') else {
        bail!("expected KEY=VALUE (keys: {}), got `{s}`", key_names());
    };
    let (key, value) = (key.trim(), value.trim());
    check(key, value)?;
    Ok((key.to_owned(), value.to_owned()))
}

fn key_names() -> String {
    KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
}

fn check(key: &str, value: &str) -> Result<()> {
    let Some((_, wants)) = KEYS.iter().find(|(k, _)| *k == key) else {
        bail!("unknown gen-kexec.conf key `{key}` (keys: {})", key_names());
    };
    let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let ok = !value.contains(['\n', '\r'])
        && match key {
            "label" => !value.trim().is_empty(),
            "load_below" => {
                value == "none" || (digits(value) && !value.starts_with('0') && value.len() <= 7)
            }
            "timeout" | "menu_timeout" => digits(value) && value.len() <= 4,
            _ => true,
        };
    if !ok {
        bail!("gen-kexec.conf `{key}` takes {wants}, got `{value}`");
    }
    Ok(())
}

/// The file: a header, then `KEY=VALUE` lines in the given order, values
/// quoted when they hold blanks or quotes. A key given twice is refused.
pub fn render(settings: &[(String, String)]) -> Result<Vec<u8>> {
    let mut out =
        String::from("# Written by `cargo xtask adapt-image`; see gen-kexec.conf.example.\n");
    for (i, (key, value)) in settings.iter().enumerate() {
        check(key, value)?;
        if settings[..i].iter().any(|(k, _)| k == key) {
            bail!("gen-kexec.conf `{key}` is given twice (--append is short for --set append=...)");
        }
        let quoted = if !value.contains('"') {
            format!("\"{value}\"")
        } else if !value.contains('\'') {
            format!("'{value}'")
        } else {
            bail!("gen-kexec.conf `{key}`: the value holds both \" and ' quotes, which the file cannot hold");
        };
        out.push_str(&format!("{key}={quoted}\n"));
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(key: &str, value: &str) -> Result<String> {
        Ok(String::from_utf8(render(&[(key.into(), value.into())])?).unwrap())
    }

    #[test]
    fn quoting() {
        let c = one("append", "console=ttyS0,115200 quiet").unwrap();
        assert!(
            c.ends_with("append=\"console=ttyS0,115200 quiet\"\n"),
            "{c}"
        );
        let c = one("append", "a=\"b c\"").unwrap();
        assert!(c.ends_with("append='a=\"b c\"'\n"), "{c}");
        assert!(one("append", "a\nb").is_err());
        assert!(one("append", "\"'").is_err());
    }

    #[test]
    fn values_are_checked_like_the_script_does() {
        for (key, good) in [
            ("load_below", "256"),
            ("load_below", "none"),
            ("timeout", "0"),
            ("label", "gentoo-nofb"),
        ] {
            assert!(
                parse_setting(&format!("{key}={good}")).is_ok(),
                "{key}={good}"
            );
        }
        for bad in [
            "load_below=0x100",
            "load_below=0",
            "load_below=12345678",
            "timeout=soon",
            "label= ",
            "lable=x",
            "timeout",
        ] {
            let e = parse_setting(bad).unwrap_err().to_string();
            assert!(
                e.contains("takes")
                    || e.contains("keys: append, label, load_below, menu_timeout, timeout"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            parse_setting(" timeout = 12 ").unwrap(),
            ("timeout".into(), "12".into())
        );
    }

    #[test]
    fn order_kept_and_duplicates_refused() {
        let s = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let c = String::from_utf8(render(&[s("append", "quiet"), s("load_below", "16")]).unwrap())
            .unwrap();
        assert!(c.ends_with("append=\"quiet\"\nload_below=\"16\"\n"), "{c}");
        let e = render(&[s("append", "a"), s("append", "b")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("given twice"), "{e}");
    }
}
