//! Mutations, as the attacker used them: bit flips, boundary
//! values written over 1, 2, 4 and 8-byte fields (mostly where the seed
//! has data), small increments, copied chunks and, for streams and text,
//! inserted and deleted bytes and tokens.

use super::targets::Target;

const BOUNDARIES: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 1,
];

fn offset(rng: &mut fastrand::Rng, len: usize, hot: &[usize]) -> usize {
    if !hot.is_empty() && rng.bool() {
        (hot[rng.usize(..hot.len())] + rng.usize(..8)).min(len - 1)
    } else {
        rng.usize(..len)
    }
}

/// Apply 1 to 6 mutations to `data`.
pub fn mutate(rng: &mut fastrand::Rng, data: &mut Vec<u8>, hot: &[usize], t: &Target) {
    let n = 1 + rng.usize(..6).min(rng.usize(..6));
    for _ in 0..n {
        if data.is_empty() {
            data.push(rng.u8(..));
            continue;
        }
        let len = data.len();
        let at = offset(rng, len, hot);
        match rng.u8(..10) {
            0 | 1 => data[at] ^= 1 << rng.u8(..8),
            2 => data[at] = rng.u8(..),
            3 | 4 => {
                let width = [1usize, 2, 4, 8][rng.usize(..4)];
                let at = if rng.bool() { at & !(width - 1) } else { at };
                let mut v = match rng.u8(..4) {
                    0 => len as u64 / [1, 512, 2048][rng.usize(..3)],
                    1 => rng.u64(..),
                    _ => BOUNDARIES[rng.usize(..BOUNDARIES.len())],
                };
                if rng.u8(..4) == 0 {
                    v = v.wrapping_add(rng.u64(..3)).wrapping_sub(1);
                }
                let bytes = v.to_le_bytes();
                let end = (at + width).min(len);
                data[at..end].copy_from_slice(&bytes[..end - at]);
            }
            5 => {
                let width = [2usize, 4, 8][rng.usize(..3)];
                if at + width <= len {
                    let mut b = [0u8; 8];
                    b[..width].copy_from_slice(&data[at..at + width]);
                    let v = u64::from_le_bytes(b)
                        .wrapping_add(rng.u64(..32))
                        .wrapping_sub(16);
                    data[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
                }
            }
            6 => {
                let from = offset(rng, len, hot);
                let n = rng.usize(1..=64).min(len - at).min(len - from);
                let chunk = data[from..from + n].to_vec();
                data[at..at + n].copy_from_slice(&chunk);
            }
            _ if t.resizable => match rng.u8(..4) {
                0 => {
                    let n = rng.usize(1..=32).min(len - at);
                    data.drain(at..at + n);
                }
                1 | 2 if !t.tokens.is_empty() => {
                    let tok = t.tokens[rng.usize(..t.tokens.len())].as_bytes();
                    let times = if rng.u8(..16) == 0 {
                        rng.usize(1..200)
                    } else {
                        1
                    };
                    let ins: Vec<u8> = tok.repeat(times);
                    data.splice(at..at, ins);
                }
                _ => {
                    let from = offset(rng, len, hot);
                    let n = rng.usize(1..=256).min(len - from);
                    let chunk = data[from..from + n].to_vec();
                    data.splice(at..at, chunk);
                }
            },
            _ => data[at] = data[at].wrapping_add(1),
        }
    }
    data.truncate(16 << 20);
}
