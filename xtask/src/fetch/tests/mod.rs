//! Fetch tests. They use a real HTTP server on 127.0.0.1 (a few lines over
//! `std::net::TcpListener`, so that a test can cut a transfer, ignore or
//! honour Range, answer 404), real files on disk and real OpenPGP keys.

mod apt;
mod digests;
mod download;
mod lookup;
mod signatures;
mod tls;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};

use super::{http, Ctx, Mode};
use crate::lock::{Component, Source};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Req {
    pub path: String,
    pub range: Option<String>,
}

pub enum Reply {
    Status(u16),
    Body {
        bytes: Vec<u8>,
        honour_range: bool,
        /// Close the connection after this many body bytes (the headers
        /// still announce the full length).
        cut_after: Option<usize>,
    },
}

pub fn body(bytes: &[u8]) -> Reply {
    Reply::Body {
        bytes: bytes.to_vec(),
        honour_range: true,
        cut_after: None,
    }
}

type Handler = dyn Fn(&Req, usize) -> Reply + Send + Sync;

pub struct Server {
    pub base: String,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    /// Serve on an ephemeral port; `handler(request, n)` answers the `n`th
    /// (0-based) request for that path.
    pub fn start(handler: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &*handler, &log2);
            }
        });
        Server { base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Req>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_owned());
            }
        }
    }
    let req = Req { path, range };
    let n = {
        let mut log = log.lock().unwrap();
        let n = log.iter().filter(|r| r.path == req.path).count();
        log.push(req.clone());
        n
    };
    let mut out = stream;
    match handler(&req, n) {
        Reply::Status(code) => {
            let _ = write!(
                out,
                "HTTP/1.1 {code} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        Reply::Body {
            bytes,
            honour_range,
            cut_after,
        } => {
            let start = match (&req.range, honour_range) {
                (Some(r), true) => r
                    .strip_prefix("bytes=")
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|s| s.parse::<usize>().ok()),
                _ => None,
            };
            let (status, part, extra) = match start {
                Some(s) if s >= bytes.len() => {
                    ("416 Range Not Satisfiable", &bytes[..0], String::new())
                }
                Some(s) => (
                    "206 Partial Content",
                    &bytes[s..],
                    format!(
                        "Content-Range: bytes {s}-{}/{}\r\n",
                        bytes.len() - 1,
                        bytes.len()
                    ),
                ),
                None => ("200 OK", &bytes[..], String::new()),
            };
            let _ = write!(
                out,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
                part.len()
            );
            let sent = cut_after.map_or(part.len(), |c| c.min(part.len()));
            let _ = out.write_all(&part[..sent]);
        }
    }
    let _ = out.flush();
    let _ = out.shutdown(std::net::Shutdown::Both);
}

/// A temporary workspace: root (keyrings), cache, one mirror.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub root: Utf8PathBuf,
    pub cache: Utf8PathBuf,
    pub mirror: Utf8PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8PathBuf::from_path_buf(tmp.path().to_owned()).unwrap();
        let f = Fixture {
            root: dir.join("root"),
            cache: dir.join("cache"),
            mirror: dir.join("mirror"),
            _tmp: tmp,
        };
        for d in [&f.root, &f.cache, &f.mirror] {
            std::fs::create_dir_all(d).unwrap();
        }
        f
    }

    /// A context without apt and with quick retries.
    pub fn ctx<'a>(&'a self, mirrors: &'a [Utf8PathBuf], mode: Mode) -> Ctx<'a> {
        let mut ctx = Ctx::with(&self.root, &self.cache, mirrors, mode).unwrap();
        ctx.apt = false;
        ctx.http = http::Settings {
            attempts: 3,
            backoff: Duration::from_millis(10),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            trust: http::Trust::System,
        };
        ctx
    }

    /// Every name in the cache (the record excluded).
    pub fn cache_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != super::record::RECORD_FILE)
            .collect();
        names.sort();
        names
    }
}

pub fn component(src: Source) -> Component {
    Component {
        version: "1.0".to_owned(),
        license: "MIT".to_owned(),
        dir: Some("pkg-1.0".to_owned()),
        optional: false,
        source: vec![src],
    }
}

pub fn source(file: &str, content: &[u8], urls: Vec<String>) -> Source {
    Source {
        file: file.to_owned(),
        sha256: Some(crate::stamp::sha256_bytes(content)),
        sha256_origin: None,
        urls,
        debian: None,
        signature: None,
    }
}

/// Pseudo-random test content (big enough to span several reads).
pub fn content(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub fn write(dir: &Utf8Path, name: &str, bytes: &[u8]) -> Utf8PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The real workspace (for `sources.lock` and `keys/`).
pub fn workspace_root() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The distfiles folder with the real pinned sources: the first
/// GEN_KEXEC_MIRROR entry, else `../shared/distfiles` beside the workspace.
pub fn distfiles() -> Utf8PathBuf {
    let root = workspace_root();
    let candidates: Vec<Utf8PathBuf> = std::env::var("GEN_KEXEC_MIRROR")
        .ok()
        .into_iter()
        .flat_map(|m| m.split(':').map(Utf8PathBuf::from).collect::<Vec<_>>())
        .chain([root.join("../shared/distfiles")])
        .collect();
    candidates
        .iter()
        .find(|d| d.join("musl-1.2.5.tar.gz").is_file())
        .unwrap_or_else(|| {
            panic!(
                "the real musl 1.2.5 tarball is needed for this test and was not found in {candidates:?}: \
                 set GEN_KEXEC_MIRROR to the distfiles folder"
            )
        })
        .clone()
}
