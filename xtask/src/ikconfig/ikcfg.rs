//! The configuration a kernel built with `CONFIG_IKCONFIG=y` carries:
//! kernel/configs.c embeds `kernel/config_data.gz` (the gzip of `.config`)
//! between the markers `IKCFG_ST` and `IKCFG_ED`. Gunzipping what lies
//! between them gives the `.config` byte for byte.

use std::io::Read;

use anyhow::{bail, Context, Result};

pub const START: &[u8] = b"IKCFG_ST";
pub const END: &[u8] = b"IKCFG_ED";
const GZIP_MAGIC: &[u8] = b"\x1f\x8b\x08";

/// No sane `.config` is larger than this (a distribution's is ~300 KB).
const MAX_CONFIG: u64 = 64 << 20;

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(haystack.get(from..)?, needle).map(|i| i + from)
}

/// The embedded `.config` of an uncompressed kernel, or `None` when it has
/// no `IKCFG_ST` marker followed by gzip data (built without IKCONFIG).
pub fn extract(vmlinux: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut from = 0;
    while let Some(at) = find(vmlinux, START, from) {
        let data = at + START.len();
        from = data;
        if !vmlinux[data..].starts_with(GZIP_MAGIC) {
            continue; // the marker's text elsewhere (a symbol name, a string)
        }
        let end = find(vmlinux, END, data).with_context(|| {
            format!("IKCFG_ST at offset {at:#x} is not followed by IKCFG_ED: truncated kernel?")
        })?;
        let mut config = Vec::new();
        flate2::read::GzDecoder::new(&vmlinux[data..end])
            .take(MAX_CONFIG)
            .read_to_end(&mut config)
            .with_context(|| {
                format!("the embedded config at offset {data:#x} is not valid gzip data")
            })?;
        if !config.is_ascii() {
            bail!("the embedded config at offset {data:#x} is not text");
        }
        return Ok(Some(config));
    }
    Ok(None)
}

#[cfg(test)]
pub mod tests {
    use std::io::Write;

    use super::*;

    pub const CONFIG: &str = "#\n# Automatically generated file; DO NOT EDIT.\n\
        # Linux/x86 6.12.107 Kernel Configuration\n#\nCONFIG_64BIT=y\n\
        CONFIG_IKCONFIG=y\n# CONFIG_IKCONFIG_PROC is not set\nCONFIG_LOCALVERSION=\"\"\n";

    /// A made-up vmlinux: code, the marker's name in a symbol table, then
    /// the embedded config as kernel/configs.c lays it out.
    pub fn fake_vmlinux(config: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(config.as_bytes()).unwrap();
        let mut v = b"\x7fELF\x02\x01\x01 code code code kernel_config_data IKCFG_ST_sym ".to_vec();
        v.extend_from_slice(START);
        v.extend_from_slice(&gz.finish().unwrap());
        v.extend_from_slice(END);
        v.extend_from_slice(b" more code");
        v
    }

    #[test]
    fn extracts_the_config_between_the_markers() {
        let got = extract(&fake_vmlinux(CONFIG)).unwrap().unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), CONFIG);
    }

    #[test]
    fn no_marker_means_no_config() {
        assert_eq!(
            extract(b"\x7fELF a kernel without IKCONFIG IKCFG_ST?").unwrap(),
            None
        );
    }

    #[test]
    fn a_cut_config_is_an_error() {
        let mut v = fake_vmlinux(CONFIG);
        let ed = find(&v, END, 0).unwrap();
        v.truncate(ed - 10);
        let e = extract(&v).unwrap_err().to_string();
        assert!(e.contains("not followed by IKCFG_ED"), "{e}");
    }
}
