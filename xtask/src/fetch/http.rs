//! Downloads: reqwest (blocking, rustls) with a progress bar, retries and
//! HTTP Range resume of a `.partial` file.

use std::time::Duration;

/// Retries and timeouts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Attempts per URL for transient failures (connection, 5xx, cut body).
    pub attempts: u32,
    /// Pause before the second attempt; doubled each time.
    pub backoff: Duration,
    pub connect_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            attempts: 3,
            backoff: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(20),
        }
    }
}
