//! `bump` against a real HTTP server on 127.0.0.1 (tiny_http): this module
//! has the server; `kernel_org` bumps a made-up kernel.org-style release
//! (its workspace in `workspace`), `gentoo` the Gentoo ISO template of the
//! real sources.lock.

mod gentoo;
mod kernel_org;
mod workspace;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

/// What the server serves, by URL path.
type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// Serves `files` by URL path, 404 for anything else.
fn serve() -> (String, Files) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let files: Files = Arc::default();
    let served = files.clone();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let body = served.lock().unwrap().get(req.url()).cloned();
            let _ = match body {
                Some(b) => req.respond(tiny_http::Response::from_data(b)),
                None => req.respond(tiny_http::Response::empty(404)),
            };
        }
    });
    (base, files)
}

/// One attempt, short timeouts: a test fails fast instead of retrying.
fn fast_http(ctx: &mut Ctx) {
    ctx.http.attempts = 1;
    ctx.http.backoff = Duration::from_millis(1);
    ctx.http.connect_timeout = Duration::from_secs(5);
    ctx.http.read_timeout = Duration::from_secs(5);
}
