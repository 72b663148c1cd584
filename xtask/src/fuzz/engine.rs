//! The fuzzing loop of one target, run in a child process of its own (so
//! its peak RSS is its own, and a crash or an allocation failure takes
//! only it down): mutate an input of the corpus, run the target under
//! `catch_unwind`, and keep the input when its outcome (the report or the
//! error, digits blanked) is one not seen before: a poor man's coverage.
//! A watchdog thread saves the input and ends the process when one run
//! takes longer than the hang timeout.

use std::collections::HashSet;
use std::os::unix::fs::FileExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use camino::Utf8Path;
use serde::{Deserialize, Serialize};

use super::targets::{Ctx, Target};

/// What a child reports, as one JSON line on stdout after `STATS `.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub target: String,
    pub execs: u64,
    pub secs: f64,
    pub peak_rss_kib: u64,
    pub panics: u64,
    pub hangs: u64,
    pub slowest_ms: u64,
    pub corpus: usize,
    pub first_failure: Option<String>,
    pub saved: Vec<String>,
}

pub const STATS_PREFIX: &str = "STATS ";
/// The corpus kept in memory (the harness's share of the peak RSS).
const MAX_CORPUS: usize = 32 << 20;

static PANIC_MSG: Mutex<Option<String>> = Mutex::new(None);

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn save(dir: &Utf8Path, kind: &str, data: &[u8]) -> String {
    let name = format!("{kind}-{}.bin", &crate::stamp::sha256_bytes(data)[..16]);
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join(&name), data);
    dir.join(name).to_string()
}

/// Digits blanked and cut short: the same error about another offset is
/// the same outcome.
fn signature(outcome: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for c in outcome.chars().filter(|c| !c.is_ascii_digit()).take(4000) {
        c.hash(&mut h);
    }
    h.finish()
}

/// Run one input; `Err` is a panic message.
pub fn run_one(t: &Target, ctx: &mut Ctx, data: &[u8]) -> std::result::Result<String, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| (t.run)(ctx, data))) {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Ok(format!("error: {e:#}")),
        Err(_) => Err(PANIC_MSG
            .lock()
            .map(|m| m.clone().unwrap_or_default())
            .unwrap_or_default()),
    }
}

/// Record panic messages instead of printing them (each is counted).
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = PANIC_MSG.lock() {
            *m = Some(info.to_string());
        }
    }));
}

pub fn fuzz(t: &Target, seconds: f64, hang: Duration, out: &Utf8Path, seed: u64) -> Result<Stats> {
    let scratch = tempfile::tempdir()?;
    let scratch_path = Utf8Path::from_path(scratch.path()).expect("UTF-8 temp dir");
    let mut corpus = (t.seeds)(scratch_path)?;
    corpus.extend(super::regressions(t.name)?.into_iter().map(|(_, b)| b));
    // Where each seed has data; an input found later uses its seed's.
    let hot: Vec<Vec<usize>> = corpus.iter().map(|c| hot_offsets(c)).collect();
    let mut origin: Vec<usize> = (0..corpus.len()).collect();
    let mut corpus_bytes: usize = corpus.iter().map(Vec::len).sum();
    let mut ctx = Ctx::new()?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut seen = HashSet::new();
    let mut stats = Stats {
        target: t.name.to_owned(),
        ..Stats::default()
    };
    quiet_panics();

    // The watchdog: `started` is the start of the current run (ms since
    // `t0`, +1), 0 between runs.
    let t0 = Instant::now();
    let started = Arc::new(AtomicU64::new(0));
    let current: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    {
        let (started, current, out, name) =
            (started.clone(), current.clone(), out.to_owned(), t.name);
        let hang_ms = hang.as_millis() as u64;
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            let s = started.load(Ordering::SeqCst);
            let now = t0.elapsed().as_millis() as u64 + 1;
            if s != 0 && now - s > hang_ms {
                let data = current.lock().map(|c| c.clone()).unwrap_or_default();
                let path = save(&out, "hang", &data);
                let stats = Stats {
                    target: name.to_owned(),
                    hangs: 1,
                    peak_rss_kib: peak_rss_kib(),
                    first_failure: Some(format!("hang: one run took more than {hang_ms} ms")),
                    saved: vec![path],
                    ..Stats::default()
                };
                println!(
                    "{STATS_PREFIX}{}",
                    serde_json::to_string(&stats).unwrap_or_default()
                );
                std::process::exit(3);
            }
        });
    }

    let deadline = Duration::from_secs_f64(seconds);
    let _ = std::fs::create_dir_all(out);
    let current_file = std::fs::File::create(out.join("current.bin")).ok();
    let mut i = 0usize;
    loop {
        // The corpus first, as is; then mutations until the deadline.
        let (data, parent) = if i < corpus.len() {
            (corpus[i].clone(), None)
        } else {
            if t0.elapsed() >= deadline {
                break;
            }
            let p = rng.usize(..corpus.len());
            let mut d = corpus[p].clone();
            super::mutate::mutate(&mut rng, &mut d, &hot[origin[p]], t);
            if let Some(fix) = t.fixup.filter(|_| rng.u8(..10) < 9) {
                fix(&mut d);
            }
            (d, Some(p))
        };
        i += 1;
        if let Ok(mut c) = current.lock() {
            c.clone_from(&data);
        }
        // On disk too: an abort (allocation failure) leaves it behind.
        if let Some(f) = &current_file {
            let _ = f.set_len(0).and_then(|()| f.write_all_at(&data, 0));
        }
        let run_start = Instant::now();
        started.store(t0.elapsed().as_millis() as u64 + 1, Ordering::SeqCst);
        let result = run_one(t, &mut ctx, &data);
        started.store(0, Ordering::SeqCst);
        stats.slowest_ms = stats.slowest_ms.max(run_start.elapsed().as_millis() as u64);
        stats.execs += 1;
        match result {
            Ok(outcome) => {
                let new = seen.insert(signature(&outcome));
                if let Some(p) = parent.filter(|_| new && corpus_bytes + data.len() <= MAX_CORPUS) {
                    corpus_bytes += data.len();
                    origin.push(origin[p]);
                    corpus.push(data);
                }
            }
            Err(msg) => {
                stats.panics += 1;
                if stats.saved.len() < 20 {
                    stats.saved.push(save(out, "crash", &data));
                }
                stats.first_failure.get_or_insert(format!("panic: {msg}"));
            }
        }
    }
    stats.secs = t0.elapsed().as_secs_f64();
    stats.corpus = corpus.len();
    stats.peak_rss_kib = peak_rss_kib();
    Ok(stats)
}

/// Offsets of the seed's non-zero bytes (sampled): where the structures
/// are, in mostly empty images.
fn hot_offsets(data: &[u8]) -> Vec<usize> {
    let all: Vec<usize> = (0..data.len()).filter(|&i| data[i] != 0).collect();
    let step = (all.len() / 20_000).max(1);
    all.into_iter().step_by(step).collect()
}
