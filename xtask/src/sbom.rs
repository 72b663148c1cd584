//! The release's software bill of materials: CycloneDX 1.5 JSON, made from
//! `sources.lock` and the sources the build used.
//!
//! It describes `efi.tar.xz` (the BOM's subject), the `bootx64.efi` it
//! holds, and one component per source: name, version, SPDX licence, the
//! tarball's file name, sha256 and download URL, and how the sha256 was
//! pinned. Deterministic: no wall clock (the timestamp is
//! SOURCE_DATE_EPOCH), no random serial number, components sorted by name,
//! fields in a fixed order. Checked against the vendored schema
//! (xtask/schemas/cyclonedx-1.5/) in the tests.

use anyhow::{Context, Result};
use serde::Serialize;

use crate::lock::Lock;
use crate::utc::Utc;

pub const FILE: &str = "gen-kexec.cdx.json";

/// The source alternative a build used for one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUsed {
    pub component: String,
    /// Index into the component's `source` list.
    pub index: usize,
    pub sha256: String,
    /// The repository's patches applied over it (`patches/<component>/`):
    /// (path from the workspace root, sha256).
    pub patches: Vec<(String, String)>,
}

/// The files the BOM describes.
#[derive(Debug, Clone)]
pub struct Subject {
    pub tarball_sha256: String,
    pub efi_sha256: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    bom_format: &'static str,
    spec_version: &'static str,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<serde_json::Value>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

impl Component {
    fn new(kind: &'static str, name: &str) -> Component {
        Component {
            kind,
            bom_ref: None,
            name: name.to_owned(),
            version: None,
            description: None,
            hashes: Vec::new(),
            licenses: Vec::new(),
            external_references: Vec::new(),
            properties: Vec::new(),
        }
    }
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

fn sha256(hex: &str) -> Vec<Hash> {
    vec![Hash {
        alg: "SHA-256",
        content: hex.to_owned(),
    }]
}

#[derive(Serialize)]
struct ExternalRef {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Property {
    name: String,
    value: String,
}

fn property(name: &str, value: impl Into<String>) -> Property {
    Property {
        name: format!("gen-kexec:{name}"),
        value: value.into(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

/// The BOM as pretty-printed JSON with a final newline.
pub fn cyclonedx(
    lock: &Lock,
    used: &[SourceUsed],
    subject: &Subject,
    epoch: u64,
) -> Result<Vec<u8>> {
    let mut sources = Vec::new();
    for (name, comp) in lock.required() {
        let u = used
            .iter()
            .find(|u| u.component == *name)
            .with_context(|| format!("SBOM: no source recorded for component {name}"))?;
        let src = comp.source.get(u.index).with_context(|| {
            format!(
                "SBOM: {name} has no source #{} in sources.lock",
                u.index + 1
            )
        })?;
        if let Some(pinned) = &src.sha256 {
            anyhow::ensure!(
                *pinned == u.sha256,
                "SBOM: {name}: the build used {} with sha256 {}, sources.lock pins {pinned}",
                src.file,
                u.sha256
            );
        }
        let mut c = Component::new(kind_of(name), name);
        c.bom_ref = Some(format!("source:{name}"));
        c.version = Some(comp.version.clone());
        c.hashes = sha256(&u.sha256);
        c.licenses = vec![license(&comp.license)];
        c.external_references = src
            .urls
            .iter()
            .map(|url| ExternalRef {
                kind: "distribution",
                url: url.clone(),
            })
            .collect();
        c.properties.push(property("source-file", &src.file));
        c.properties.push(property(
            "sha256-origin",
            src.sha256_origin.clone().unwrap_or_else(|| {
                "verified by the OpenPGP signature, not pinned in sources.lock".to_owned()
            }),
        ));
        if let Some(sig) = &src.signature {
            c.properties
                .push(property("openpgp-signers", sig.signers.join(" ")));
        }
        if let Some(debian) = &src.debian {
            c.properties.push(property("debian-source", debian));
        }
        for (path, sha) in &u.patches {
            c.properties
                .push(property("patch", format!("{path} sha256={sha}")));
        }
        sources.push(c);
    }
    let mut efi = Component::new("file", "bootx64.efi");
    efi.bom_ref = Some("bootx64.efi".to_owned());
    efi.description = Some(
        "EFI/Boot/bootx64.efi: Linux with its EFI stub and a built-in initramfs (static busybox \
         and kexec against musl)"
            .to_owned(),
    );
    efi.hashes = sha256(&subject.efi_sha256);
    let mut tarball = Component::new("file", "efi.tar.xz");
    tarball.bom_ref = Some("efi.tar.xz".to_owned());
    tarball.description = Some(
        "gen-kexec: EFI/Boot/bootx64.efi and kexec.sourceme, to untar onto a FAT partition \
         labelled gen-kexec"
            .to_owned(),
    );
    tarball.hashes = sha256(&subject.tarball_sha256);
    let mut tool = Component::new("application", "gen-kexec xtask");
    tool.version = Some(env!("CARGO_PKG_VERSION").to_owned());

    let dependencies = vec![
        Dependency {
            reference: "bootx64.efi".to_owned(),
            depends_on: sources.iter().filter_map(|c| c.bom_ref.clone()).collect(),
        },
        Dependency {
            reference: "efi.tar.xz".to_owned(),
            depends_on: vec!["bootx64.efi".to_owned()],
        },
    ];
    let mut components = vec![efi];
    components.extend(sources);
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.5",
        version: 1,
        metadata: Metadata {
            timestamp: rfc3339(epoch),
            tools: Tools {
                components: vec![tool],
            },
            component: tarball,
        },
        components,
        dependencies,
    };
    let mut out = serde_json::to_vec_pretty(&bom).context("SBOM: cannot serialise")?;
    out.push(b'\n');
    Ok(out)
}

/// CycloneDX's component type for a source.
fn kind_of(name: &str) -> &'static str {
    match name {
        "linux" => "operating-system",
        "musl" => "library",
        _ => "application",
    }
}

/// A single SPDX id as `license.id` (checked against the SPDX list by the
/// schema), anything else as an SPDX `expression`.
fn license(spdx: &str) -> serde_json::Value {
    if spdx
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
    {
        serde_json::json!({ "license": { "id": spdx } })
    } else {
        serde_json::json!({ "expression": spdx })
    }
}

/// `1735689600` -> `2025-01-01T00:00:00Z`.
pub fn rfc3339(epoch: u64) -> String {
    let t = Utc::from_epoch(epoch);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
pub mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1735689600), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_827_696), "2000-02-29T12:34:56Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn licences() {
        assert_eq!(
            license("GPL-2.0-only"),
            serde_json::json!({"license": {"id": "GPL-2.0-only"}})
        );
        assert_eq!(
            license("GPL-2.0-only WITH Linux-syscall-note"),
            serde_json::json!({"expression": "GPL-2.0-only WITH Linux-syscall-note"})
        );
    }
}
