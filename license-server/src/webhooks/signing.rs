//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>), so that receivers can
//! verify deliveries with that specification's libraries in any language.
//!
//! A secret is 32 random bytes, shown to the store as `whsec_` and their standard base64. A
//! delivery carries `webhook-id` (the event's id, the same on every attempt),
//! `webhook-timestamp` (seconds) and `webhook-signature`: `v1,` and the base64 of the
//! HMAC-SHA256 of `id.timestamp.body` under the secret. During a secret's rotation the
//! header holds one signature per secret, separated by spaces; a receiver accepts a delivery
//! if any of them verifies.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};
use zeroize::Zeroizing;

/// The prefix of a secret as the store sees it.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes in a secret.
pub const SECRET_LEN: usize = 32;

/// A new random secret.
pub fn generate() -> Result<Zeroizing<Vec<u8>>, ring::error::Unspecified> {
    let mut secret = Zeroizing::new(vec![0u8; SECRET_LEN]);
    SystemRandom::new().fill(&mut secret)?;
    Ok(secret)
}

/// The secret as shown to the store once: `whsec_<base64>`.
pub fn encode(secret: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(format!("{SECRET_PREFIX}{}", STANDARD.encode(secret)))
}

/// The `webhook-signature` value: one `v1,<base64>` per secret, space-separated.
pub fn signature_header(secrets: &[&[u8]], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| sign(s, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// One signature: `v1,` and the base64 of HMAC-SHA256(secret, `id.timestamp.body`).
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference implementations' test suites.
    #[test]
    fn matches_the_reference_vector() {
        let secret = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("base64");
        let sig = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn rotation_sends_one_signature_per_secret() {
        let header = signature_header(&[b"new-secret", b"old-secret"], "evt_1", 10, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(b"new-secret", "evt_1", 10, b"{}"));
        assert_eq!(parts[1], sign(b"old-secret", "evt_1", 10, b"{}"));
        let secret = generate().expect("rng");
        assert_eq!(secret.len(), SECRET_LEN);
        assert!(encode(&secret).starts_with("whsec_"));
    }
}
