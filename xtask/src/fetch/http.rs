//! Downloads: reqwest (blocking, rustls) with a progress bar, retries and
//! HTTP Range resume of a `.partial` file.
//!
//! TLS trusts what the system trusts, as curl, apt and git do: the roots
//! of the platform's store (`rustls-native-certs`: /etc/ssl/certs, or
//! `$SSL_CERT_FILE` / `$SSL_CERT_DIR`), so a TLS-inspecting proxy whose CA
//! the system has is accepted; the compiled-in web roots serve only a
//! system with no store at all. Proxies come from the usual variables
//! (`https_proxy`, `HTTPS_PROXY`, `all_proxy`, `no_proxy`: reqwest's).
//!
//! A file is downloaded into `CACHE/FILE.partial` and handed back only once
//! its sha256 matches the lock (when it pins one); the caller renames it
//! after any signature check. A transfer cut short is retried with a Range
//! request that continues the `.partial`; a finished body with the wrong
//! sha256 is deleted at once (a resumed one is retried once from scratch, in
//! case the old `.partial` was stale). When every URL failed nothing is left;
//! a `.partial` survives only an interrupted run (Ctrl-C), to be resumed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;

use super::ctx::Pin;
use super::{mismatch_error, Ctx, Origin};
use crate::fsutil;

/// Retries and timeouts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Attempts per URL for transient failures (connection, 5xx, cut body).
    pub attempts: u32,
    /// Pause before the second attempt; doubled each time.
    pub backoff: Duration,
    pub connect_timeout: Duration,
    /// Give up on a transfer that sends nothing for this long.
    pub read_timeout: Duration,
    /// Which certificates TLS trusts.
    pub trust: Trust,
}

/// Where the TLS roots come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// The system's store (honouring `$SSL_CERT_FILE` and `$SSL_CERT_DIR`).
    #[default]
    System,
    /// These PEM files and certificate directories only (tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Paths {
        file: Option<Utf8PathBuf>,
        dir: Option<Utf8PathBuf>,
    },
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            attempts: 3,
            backoff: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(60),
            trust: Trust::System,
        }
    }
}

/// A downloaded file, verified by sha256 if pinned, not yet in place.
#[derive(Debug)]
pub struct Downloaded {
    pub partial: Utf8PathBuf,
    pub sha256: String,
    pub origin: Origin,
}

enum Failure {
    /// Worth another attempt at the same URL (continuing the `.partial`).
    Transient(String),
    /// This URL will not do (404, wrong content): try the next one.
    Permanent(String),
}

/// Download `file` from the first of `urls` that delivers the right bytes.
/// `Err` lists what went wrong with each URL.
pub fn download(
    ctx: &Ctx,
    file: &str,
    urls: &[String],
    pin: Option<Pin>,
) -> Result<Downloaded, Vec<String>> {
    let partial = fsutil::partial_path(&ctx.cache.join(file));
    let mut failures = Vec::new();
    let client = match client(&ctx.http) {
        Ok(c) => c,
        Err(e) => return Err(vec![format!("{e:#}")]),
    };
    if let Err(e) = std::fs::create_dir_all(ctx.cache) {
        return Err(vec![format!("cannot create the cache {}: {e}", ctx.cache)]);
    }
    for url in urls {
        let mut backoff = ctx.http.backoff;
        let mut fresh_retry_done = false;
        let mut attempt = 1;
        while attempt <= ctx.http.attempts {
            let resumed = file_len(&partial) > 0;
            let outcome = get(&client, url, &partial).and_then(|()| {
                let actual = crate::stamp::sha256_file(&partial)
                    .map_err(|e| Failure::Permanent(format!("{e:#}")))?;
                match pin {
                    Some(pin) if pin.sha256 != actual => {
                        let _ = std::fs::remove_file(&partial);
                        let e = mismatch_error(&partial, pin, &actual, &Origin::Url(url.clone()));
                        if resumed && !fresh_retry_done {
                            fresh_retry_done = true;
                            Err(Failure::Transient(format!(
                                "resumed download was wrong, starting over: {e:#}"
                            )))
                        } else {
                            Err(Failure::Permanent(format!("{e:#}")))
                        }
                    }
                    _ => Ok(actual),
                }
            });
            match outcome {
                Ok(actual) => {
                    return Ok(Downloaded {
                        partial,
                        sha256: actual,
                        origin: Origin::Url(url.clone()),
                    })
                }
                Err(Failure::Permanent(msg)) => {
                    failures.push(format!("{url}: {msg}"));
                    break;
                }
                Err(Failure::Transient(msg)) => {
                    failures.push(format!("{url} (attempt {attempt}): {msg}"));
                    if attempt < ctx.http.attempts {
                        eprintln!("{file}: {msg}; retrying in {backoff:?}");
                        std::thread::sleep(backoff);
                        backoff *= 2;
                    }
                    attempt += 1;
                }
            }
        }
    }
    let _ = std::fs::remove_file(&partial);
    if urls.is_empty() {
        failures.push("no URL in sources.lock".to_owned());
    }
    Err(failures)
}

pub(super) fn client(settings: &Settings) -> Result<reqwest::blocking::Client> {
    // In the blocking client `timeout` bounds each phase (the response
    // headers, then every read), not the whole transfer: a stall detector.
    let mut builder = reqwest::blocking::Client::builder()
        .user_agent(concat!("gen-kexec-xtask/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.read_timeout);
    let roots = roots(&settings.trust);
    if roots.is_empty() && settings.trust == Trust::System {
        // No store on this system (no ca-certificates): the web roots.
        builder = builder.tls_built_in_root_certs(true);
    } else {
        builder = builder.tls_built_in_root_certs(false);
        for der in roots {
            builder = builder.add_root_certificate(
                reqwest::Certificate::from_der(&der).context("a trust-store certificate")?,
            );
        }
    }
    builder.build().context("cannot set up the HTTP client")
}

/// The DER roots `trust` names; unreadable or malformed ones are skipped
/// (as curl and openssl do), so one bad file in /etc/ssl/certs is harmless.
fn roots(trust: &Trust) -> Vec<Vec<u8>> {
    let result = match trust {
        Trust::System => rustls_native_certs::load_native_certs(),
        Trust::Paths { file, dir } => rustls_native_certs::load_certs_from_paths(
            file.as_deref().map(|f| f.as_std_path()),
            dir.as_deref().map(|d| d.as_std_path()),
        ),
    };
    result.certs.into_iter().map(|c| c.to_vec()).collect()
}

fn file_len(path: &Utf8Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// One request: continue `partial` if it has bytes and the server honours
/// Range, else write it from the start.
fn get(client: &reqwest::blocking::Client, url: &str, partial: &Utf8Path) -> Result<(), Failure> {
    let have = file_len(partial);
    let mut request = client.get(url);
    if have > 0 {
        request = request.header(RANGE, format!("bytes={have}-"));
    }
    let mut response = request.send().map_err(|e| {
        let msg = error_chain(&e);
        // A host that does not resolve, or a certificate not trusted,
        // will not change in a few seconds: on to the next URL.
        if msg.contains("dns error") || msg.contains("invalid peer certificate") {
            Failure::Permanent(msg)
        } else {
            Failure::Transient(msg)
        }
    })?;
    let status = response.status();
    let offset = match status {
        StatusCode::PARTIAL_CONTENT if have > 0 && content_range_start(&response) == Some(have) => {
            have
        }
        StatusCode::OK => 0,
        // Already complete (or stale): let the sha256 decide.
        StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => return Ok(()),
        s if s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT =>
        {
            return Err(Failure::Transient(format!("HTTP {s}")))
        }
        s => return Err(Failure::Permanent(format!("HTTP {s}"))),
    };
    let io = |e: std::io::Error| Failure::Permanent(format!("cannot write {partial}: {e}"));
    let mut out = if offset > 0 {
        OpenOptions::new().append(true).open(partial).map_err(io)?
    } else {
        File::create(partial).map_err(io)?
    };
    let expected_len = response.content_length().map(|n| n + offset);
    let bar = progress_bar(url, expected_len, offset);
    let mut buf = vec![0u8; 1 << 16];
    let mut got = offset;
    loop {
        let n = match response.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                bar.abandon();
                return Err(Failure::Transient(format!(
                    "transfer cut after {got} bytes: {e}"
                )));
            }
        };
        out.write_all(&buf[..n]).map_err(io)?;
        got += n as u64;
        bar.set_position(got);
    }
    bar.finish_and_clear();
    out.sync_all().map_err(io)?;
    match expected_len {
        Some(len) if got < len => Err(Failure::Transient(format!(
            "transfer cut after {got} of {len} bytes"
        ))),
        _ => Ok(()),
    }
}

/// `Content-Range: bytes START-END/TOTAL` -> START.
fn content_range_start(response: &reqwest::blocking::Response) -> Option<u64> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

fn progress_bar(url: &str, len: Option<u64>, pos: u64) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len),
        None => ProgressBar::no_length(),
    };
    if bar.is_hidden() {
        eprintln!(
            "downloading {url}{}",
            if pos > 0 {
                format!(" (resuming at byte {pos})")
            } else {
                String::new()
            }
        );
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_owned());
    bar.set_position(pos);
    bar
}

/// reqwest's error with its causes ("error sending request: dns error: ...").
fn error_chain(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg += &format!(": {s}");
        source = s.source();
    }
    msg
}
