//! Decryption throughput of sealed assets, in MB/s (10^6 bytes of plaintext per second).
//!
//! `scripts/bench.sh` runs this beside `openssl speed -evp aes-256-gcm -decrypt -bytes 16384`
//! on the same machine in the same run and reports the ratio; see docs/benchmarks.md.
//!
//! Two figures: `in_place`, decrypting each chunk of the server's size (16 KiB) where it lies (what a player does
//! with bytes it just received), and `read`, [`Opener::read`] over consecutive 1 MiB
//! ranges, which copies each chunk once into a fresh buffer (the convenience API). Output is one JSON object per line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::time::Instant;

use fount_sdk::ContentKey;
use fount_sdk::sealed::{self, DEFAULT_CHUNK_SIZE, HEADER_LEN, Opener, SealedHeader, TAG_LEN};
use ring::rand::{SecureRandom, SystemRandom};

fn main() {
    let mb: usize = std::env::var("FOUNT_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let rounds: usize = std::env::var("FOUNT_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let rng = SystemRandom::new();
    let key = ContentKey::generate(&rng).unwrap();
    let mut plain = vec![0u8; mb * 1024 * 1024];
    rng.fill(&mut plain).unwrap();
    let sealed = sealed::seal(&key, DEFAULT_CHUNK_SIZE, &plain, &rng).unwrap();
    let header = SealedHeader::parse(&sealed).unwrap();
    let opener = Opener::new(header.clone(), &key).unwrap();
    let stride = DEFAULT_CHUNK_SIZE as usize + TAG_LEN;

    let mut best_in_place = f64::MAX;
    for _ in 0..rounds {
        let mut work = sealed.clone();
        let start = Instant::now();
        for (i, chunk) in work[HEADER_LEN..].chunks_mut(stride).enumerate() {
            opener.open_chunk_in_place(i as u64, chunk).unwrap();
        }
        best_in_place = best_in_place.min(start.elapsed().as_secs_f64());
        assert_eq!(&work[HEADER_LEN..HEADER_LEN + 4096], &plain[..4096], "the plaintext is right");
    }

    // A player streaming the file: consecutive 1 MiB reads, each a fresh Vec.
    let mut best_read = f64::MAX;
    let step = 1024 * 1024u64;
    for _ in 0..rounds {
        let start = Instant::now();
        let mut total = 0usize;
        let mut at = 0u64;
        while at < plain.len() as u64 {
            let end = (at + step).min(plain.len() as u64);
            let span = header.sealed_range(at..end).unwrap();
            let out = opener.read(at..end, &sealed[span.bytes.start as usize..span.bytes.end as usize]).unwrap();
            total += out.len();
            at = end;
        }
        best_read = best_read.min(start.elapsed().as_secs_f64());
        assert_eq!(total, plain.len());
    }
    let rate = |secs: f64| plain.len() as f64 / secs / 1e6;
    println!(
        r#"{{"bench":"sdk_decrypt","mode":"in_place","chunk_bytes":{DEFAULT_CHUNK_SIZE},"mb_per_s":{:.1}}}"#,
        rate(best_in_place)
    );
    println!(
        r#"{{"bench":"sdk_decrypt","mode":"read","chunk_bytes":{DEFAULT_CHUNK_SIZE},"mb_per_s":{:.1}}}"#,
        rate(best_read)
    );
}
