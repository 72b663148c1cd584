//! Fetch tests: cache and mirror lookups (more below as the pieces land).
