//! Console passwords: Argon2id (RustCrypto's `argon2`), memory-hard so that a stolen
//! database is slow to guess from, with the OWASP parameters the crate defaults to (19 MiB,
//! two passes, one lane). Hashes are PHC strings, which carry their own parameters: raising
//! them later leaves old hashes verifiable.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use ring::rand::{SecureRandom as _, SystemRandom};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (a bound on the work one attempt can ask for).
pub const MAX_LENGTH: usize = 256;

/// Why a password was not hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("a password is {MIN_LENGTH} to {MAX_LENGTH} characters")]
    Length,
    /// The system's randomness failed.
    #[error("no randomness for a salt")]
    Random,
    /// The hasher refused (it does not, for these parameters).
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Hashes a new password.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&password.chars().count()) {
        return Err(PasswordError::Length);
    }
    let mut salt = [0u8; 16];
    SystemRandom::new().fill(&mut salt).map_err(|_| PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `stored`. A stored value that is not a PHC string matches
/// nothing. The comparison inside the crate is constant-time.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_LENGTH.saturating_mul(4) {
        return false;
    }
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash of no one's password, verified against when the email is unknown, so that an
/// unknown email takes as long to refuse as a wrong password.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("no account has this password, ever").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery staple", &h));
        assert!(!verify("correct horse battery stapler", &h));
        assert!(!verify("correct horse battery staple", "not a hash"));
        assert_ne!(hash("correct horse battery staple").unwrap(), h, "salted");
        assert!(matches!(hash("short"), Err(PasswordError::Length)));
        assert!(!decoy().is_empty());
    }
}
