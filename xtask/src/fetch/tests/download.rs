//! Downloads from a real HTTP server on 127.0.0.1: success, 404 then the
//! next URL, wrong bodies rejected with nothing left, cut transfers resumed.

use super::*;
use crate::fetch::Origin;

const FILE: &str = "pkg-1.0.tar.gz";

fn fetch(f: &Fixture, src: Source) -> anyhow::Result<crate::fetch::report::Row> {
    let ctx = f.ctx(&[], Mode::Fetch);
    let result = ctx.fetch_component("pkg", &component(src));
    ctx.save_record().unwrap();
    result
}

#[test]
fn downloads_into_the_cache_then_finds_it_there() {
    let data = content(300_000);
    let served = data.clone();
    let server = Server::start(move |_, _| body(&served));
    let f = Fixture::new();
    let src = source(FILE, &data, vec![server.url("/pkg.tar.gz")]);
    let row = fetch(&f, src.clone()).unwrap();
    let fetched = row.fetched.unwrap();
    assert_eq!(row.origin, server.url("/pkg.tar.gz"));
    assert_eq!(fetched.path, f.cache.join(FILE));
    assert_eq!(std::fs::read(&fetched.path).unwrap(), data);
    assert_eq!(f.cache_files(), [FILE], "no .partial left behind");

    let again = fetch(&f, src).unwrap();
    assert_eq!(again.origin, Origin::Cache.to_string());
    assert_eq!(
        server.requests().len(),
        1,
        "the second fetch did not download"
    );
}

#[test]
fn a_404_moves_on_to_the_next_url() {
    let data = content(10_000);
    let served = data.clone();
    let server = Server::start(move |req, _| match req.path.as_str() {
        "/good/pkg.tar.gz" => body(&served),
        _ => Reply::Status(404),
    });
    let f = Fixture::new();
    let urls = vec![
        server.url("/gone/pkg.tar.gz"),
        server.url("/good/pkg.tar.gz"),
    ];
    let row = fetch(&f, source(FILE, &data, urls)).unwrap();
    assert_eq!(row.origin, server.url("/good/pkg.tar.gz"));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/gone/pkg.tar.gz", "/good/pkg.tar.gz"],
        "a 404 is not retried"
    );
}

/// The server sends `bad` (complete, with a matching Content-Length) where
/// `good` is pinned: the fetch fails naming both sha256 and keeps nothing.
fn rejected(good: &[u8], bad: Vec<u8>) {
    let server = Server::start(move |_, _| body(&bad));
    let f = Fixture::new();
    let src = source(
        FILE,
        good,
        vec![server.url("/a/pkg.tar.gz"), server.url("/b/pkg.tar.gz")],
    );
    let err = format!("{:#}", fetch(&f, src.clone()).unwrap_err());
    assert!(err.contains("sha256 mismatch"), "{err}");
    assert!(
        err.contains(src.sha256.as_deref().unwrap()),
        "names the expected sha256: {err}"
    );
    assert!(
        err.contains("/a/pkg.tar.gz") && err.contains("/b/pkg.tar.gz"),
        "names each URL: {err}"
    );
    assert!(
        err.contains("truncated download"),
        "gives the likely cause: {err}"
    );
    assert!(
        f.cache_files().is_empty(),
        "nothing left in the cache: {:?}",
        f.cache_files()
    );
}

#[test]
fn a_truncated_body_is_rejected() {
    let data = content(50_000);
    rejected(&data, data[..30_000].to_vec());
}

#[test]
fn a_corrupted_body_is_rejected() {
    let data = content(50_000);
    let mut bad = data.clone();
    bad[12_345] ^= 1;
    let actual = crate::stamp::sha256_bytes(&bad);
    let server = Server::start(move |_, _| body(&bad));
    let f = Fixture::new();
    let err = format!(
        "{:#}",
        fetch(&f, source(FILE, &data, vec![server.url("/pkg.tar.gz")])).unwrap_err()
    );
    assert!(err.contains(&actual), "names the actual sha256: {err}");
    assert!(f.cache_files().is_empty());
    let data2 = content(50_000);
    let mut bad2 = data2.clone();
    bad2[0] ^= 0x80;
    rejected(&data2, bad2);
}

#[test]
fn a_cut_transfer_is_resumed_with_a_range_request() {
    let data = content(200_000);
    let served = data.clone();
    let server = Server::start(move |_, n| Reply::Body {
        bytes: served.clone(),
        honour_range: true,
        cut_after: (n == 0).then_some(70_000),
    });
    let f = Fixture::new();
    let row = fetch(&f, source(FILE, &data, vec![server.url("/pkg.tar.gz")])).unwrap();
    assert_eq!(std::fs::read(row.fetched.unwrap().path).unwrap(), data);
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|r| r.range).collect();
    assert_eq!(ranges, [None, Some("bytes=70000-".to_owned())]);
    assert_eq!(f.cache_files(), [FILE]);
}

#[test]
fn a_partial_file_from_an_interrupted_run_is_resumed() {
    let data = content(100_000);
    let f = Fixture::new();
    write(&f.cache, &format!("{FILE}.partial"), &data[..40_000]);
    let served = data.clone();
    let server = Server::start(move |_, _| body(&served));
    let row = fetch(&f, source(FILE, &data, vec![server.url("/pkg.tar.gz")])).unwrap();
    assert_eq!(std::fs::read(row.fetched.unwrap().path).unwrap(), data);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].range.as_deref(), Some("bytes=40000-"));
    assert_eq!(f.cache_files(), [FILE]);
}

#[test]
fn a_stale_partial_file_is_replaced() {
    let data = content(100_000);
    let f = Fixture::new();
    write(&f.cache, &format!("{FILE}.partial"), &[0xaa; 123]); // not a prefix
    let served = data.clone();
    let server = Server::start(move |_, _| body(&served));
    let row = fetch(&f, source(FILE, &data, vec![server.url("/pkg.tar.gz")])).unwrap();
    assert_eq!(std::fs::read(row.fetched.unwrap().path).unwrap(), data);
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|r| r.range).collect();
    assert_eq!(
        ranges,
        [Some("bytes=123-".to_owned()), None],
        "resumed, failed, started over"
    );
}

#[test]
fn a_server_that_keeps_cutting_fails_after_retries_leaving_nothing() {
    let data = content(100_000);
    let served = data.clone();
    let server = Server::start(move |_, _| Reply::Body {
        bytes: served.clone(),
        honour_range: false,
        cut_after: Some(10_000),
    });
    let f = Fixture::new();
    let err = format!(
        "{:#}",
        fetch(&f, source(FILE, &data, vec![server.url("/pkg.tar.gz")])).unwrap_err()
    );
    assert!(err.contains("no source alternative"), "{err}");
    assert_eq!(server.requests().len(), 3, "three attempts");
    assert!(f.cache_files().is_empty(), "{:?}", f.cache_files());
}

#[test]
fn nowhere_to_be_had_is_a_clear_error() {
    let server = Server::start(|_, _| Reply::Status(404));
    let f = Fixture::new();
    let err = format!(
        "{:#}",
        fetch(&f, source(FILE, b"x", vec![server.url("/pkg.tar.gz")])).unwrap_err()
    );
    assert!(
        err.contains("pkg-1.0.tar.gz: not in the cache or a mirror"),
        "{err}"
    );
    assert!(
        err.contains("/pkg.tar.gz: HTTP 404"),
        "says what the server said: {err}"
    );
    assert!(err.contains("--mirror DIR"), "says what to do: {err}");
}
