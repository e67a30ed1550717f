//! Device keys: the key pair each device holds, and the trait through which the core asks for
//! the one private-key operation it needs.
//!
//! The core only ever needs a device's private key to unwrap a content key: an ECDH with the
//! ephemeral key of an `ECDH-ES` JWE, or an RSA-OAEP decryption for `RSA-OAEP-256`. Both go
//! through [`DeviceKey`], so a host can keep the private key in hardware (Secure Enclave,
//! Android Keystore, a non-extractable WebCrypto key) and perform the operation itself; the
//! core then never sees the key. [`SoftwareDeviceKey`] is the implementation for hosts without
//! a key store: the private key lives in memory and the host persists it as a private JWK.
//!
//! RSA private-key operations in the `rsa` crate are not constant-time (RUSTSEC-2023-0071).
//! That matters for a server answering decryption queries from strangers; a device unwrapping
//! its own licenses offers no such oracle. Fount's server only uses RSA public keys.

use rand_core::{CryptoRng, RngCore};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::encoding::{b64, unb64};
use crate::jwk::{DeviceId, DevicePublicKey, Jwk, RSA_MAX_BITS};
use crate::{Error, KeyStoreError, Result};

/// A device key pair as the core sees it: a public key, and the private-key operations that
/// unwrap content keys.
///
/// Implement this to keep the private key in a platform key store. A P-256 key implements
/// [`DeviceKey::ecdh_p256`]; an RSA key implements [`DeviceKey::rsa_oaep_sha256_decrypt`]; the
/// other keeps its default, which answers [`KeyStoreError::Unsupported`].
pub trait DeviceKey {
    /// The public half. Its thumbprint is the device id.
    fn public_key(&self) -> &DevicePublicKey;

    /// ECDH on P-256: given the peer's public key as an uncompressed SEC1 point (65 bytes,
    /// `0x04 || x || y`), return the shared secret's x coordinate (32 bytes).
    fn ecdh_p256(&self, peer_sec1: &[u8; 65]) -> Result<Zeroizing<[u8; 32]>, KeyStoreError> {
        let _ = peer_sec1;
        Err(KeyStoreError::Unsupported)
    }

    /// RSAES-OAEP decryption with SHA-256 and MGF1-SHA-256, empty label (the `RSA-OAEP-256`
    /// of RFC 7518 §4.3).
    fn rsa_oaep_sha256_decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let _ = ciphertext;
        Err(KeyStoreError::Unsupported)
    }

    /// This device's id.
    fn device_id(&self) -> DeviceId {
        self.public_key().device_id()
    }
}

/// A device key held in memory, for hosts without a hardware key store.
pub struct SoftwareDeviceKey {
    secret: Secret,
    public: DevicePublicKey,
}

enum Secret {
    P256(p256::SecretKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl core::fmt::Debug for SoftwareDeviceKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the private half.
        f.debug_struct("SoftwareDeviceKey").field("device_id", &self.device_id()).finish()
    }
}

/// A private JWK as a host stores it. Both kinds in one struct so that serde can read either.
#[derive(Serialize, Deserialize)]
struct PrivateJwk {
    kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    qi: Option<String>,
}

impl Drop for PrivateJwk {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        for field in
            [&mut self.d, &mut self.p, &mut self.q, &mut self.dp, &mut self.dq, &mut self.qi].into_iter().flatten()
        {
            field.zeroize();
        }
    }
}

impl SoftwareDeviceKey {
    /// A new P-256 key (the default kind).
    pub fn generate_p256(rng: &dyn SecureRandom) -> Result<Self> {
        // A uniformly random 32-byte string is a valid scalar unless it is zero or at least the
        // group order, which happens with probability below 2^-32; a few draws settle it.
        for _ in 0..8 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            rng.fill(bytes.as_mut()).map_err(|_| Error::Random)?;
            if let Ok(secret) = p256::SecretKey::from_slice(bytes.as_ref()) {
                return Ok(Self::from_p256(secret));
            }
        }
        Err(Error::Random)
    }

    /// A new RSA key of `bits` bits (2048 to 4096), for platforms that need RSA.
    pub fn generate_rsa(rng: &dyn SecureRandom, bits: usize) -> Result<Self> {
        if !(crate::jwk::RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(Error::InvalidKey("RSA modulus must be 2048 to 4096 bits"));
        }
        let key = rsa::RsaPrivateKey::new(&mut RingRng(rng), bits).map_err(|_| Error::Random)?;
        Self::from_rsa(key)
    }

    fn from_p256(secret: p256::SecretKey) -> Self {
        let public = DevicePublicKey::P256(secret.public_key());
        SoftwareDeviceKey { secret: Secret::P256(secret), public }
    }

    fn from_rsa(key: rsa::RsaPrivateKey) -> Result<Self> {
        use rsa::traits::PublicKeyParts as _;
        let jwk = Jwk::Rsa { n: b64(key.n().to_bytes_be()), e: b64(key.e().to_bytes_be()) };
        let public = DevicePublicKey::from_jwk(&jwk)?;
        Ok(SoftwareDeviceKey { secret: Secret::Rsa(Box::new(key)), public })
    }

    /// Loads a key saved with [`SoftwareDeviceKey::to_private_jwk`] (a private JWK, RFC 7517:
    /// `d` for EC; `d`, `p`, `q` for RSA).
    pub fn from_private_jwk(json: &str) -> Result<Self> {
        let jwk: PrivateJwk = serde_json::from_str(json).map_err(|_| Error::Malformed("private jwk"))?;
        let d = jwk.d.as_deref().ok_or(Error::Malformed("private jwk"))?;
        match jwk.kty.as_str() {
            "EC" => {
                if jwk.crv.as_deref() != Some("P-256") {
                    return Err(Error::Unsupported("device key curve"));
                }
                let d = Zeroizing::new(unb64(d, "jwk d")?);
                let secret = p256::SecretKey::from_slice(&d).map_err(|_| Error::InvalidKey("P-256 private scalar"))?;
                let key = Self::from_p256(secret);
                // The public members, if present, must belong to the private key.
                if let (Some(x), Some(y)) = (jwk.x.clone(), jwk.y.clone()) {
                    let stated = Jwk::Ec { crv: "P-256".into(), x, y };
                    if stated != key.public.to_jwk() {
                        return Err(Error::InvalidKey("public and private halves differ"));
                    }
                }
                Ok(key)
            }
            "RSA" => {
                let part = |v: &Option<String>, what| -> Result<rsa::BigUint> {
                    let bytes = Zeroizing::new(unb64(v.as_deref().ok_or(Error::Malformed(what))?, what)?);
                    Ok(rsa::BigUint::from_bytes_be(&bytes))
                };
                let key = rsa::RsaPrivateKey::from_components(
                    part(&jwk.n, "jwk n")?,
                    part(&jwk.e, "jwk e")?,
                    part(&jwk.d, "jwk d")?,
                    vec![part(&jwk.p, "jwk p")?, part(&jwk.q, "jwk q")?],
                )
                .map_err(|_| Error::InvalidKey("RSA private key rejected"))?;
                key.validate().map_err(|_| Error::InvalidKey("RSA private key inconsistent"))?;
                Self::from_rsa(key)
            }
            _ => Err(Error::Unsupported("device key type")),
        }
    }

    /// The private key as a private JWK, for the host to store (encrypted, where it can).
    pub fn to_private_jwk(&self) -> Zeroizing<String> {
        let public = self.public.to_jwk();
        let mut out = PrivateJwk {
            kty: String::new(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            d: None,
            p: None,
            q: None,
            dp: None,
            dq: None,
            qi: None,
        };
        match (&self.secret, public) {
            (Secret::P256(secret), Jwk::Ec { crv, x, y }) => {
                out.kty = "EC".into();
                out.crv = Some(crv);
                out.x = Some(x);
                out.y = Some(y);
                out.d = Some(b64(secret.to_bytes()));
            }
            (Secret::Rsa(key), Jwk::Rsa { n, e }) => {
                use rsa::traits::PrivateKeyParts as _;
                out.kty = "RSA".into();
                out.n = Some(n);
                out.e = Some(e);
                out.d = Some(b64(key.d().to_bytes_be()));
                // RFC 7518 §6.3.2: with any of the private members, all the CRT ones too.
                if let [p, q, ..] = key.primes() {
                    out.p = Some(b64(p.to_bytes_be()));
                    out.q = Some(b64(q.to_bytes_be()));
                }
                out.dp = key.dp().map(|v| b64(v.to_bytes_be()));
                out.dq = key.dq().map(|v| b64(v.to_bytes_be()));
                out.qi = key.crt_coefficient().map(|v| b64(v.to_bytes_be()));
            }
            // The public half is always derived from the secret, so the kinds agree.
            _ => {}
        }
        // Serialising a struct of strings cannot fail.
        Zeroizing::new(serde_json::to_string(&out).unwrap_or_default())
    }
}

impl DeviceKey for SoftwareDeviceKey {
    fn public_key(&self) -> &DevicePublicKey {
        &self.public
    }

    fn ecdh_p256(&self, peer_sec1: &[u8; 65]) -> Result<Zeroizing<[u8; 32]>, KeyStoreError> {
        let Secret::P256(secret) = &self.secret else {
            return Err(KeyStoreError::Unsupported);
        };
        let peer = p256::PublicKey::from_sec1_bytes(peer_sec1).map_err(|_| KeyStoreError::Failed)?;
        let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(shared.raw_secret_bytes());
        Ok(out)
    }

    fn rsa_oaep_sha256_decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let Secret::Rsa(key) = &self.secret else {
            return Err(KeyStoreError::Unsupported);
        };
        key.decrypt(rsa::Oaep::new::<sha2::Sha256>(), ciphertext).map(Zeroizing::new).map_err(|_| KeyStoreError::Failed)
    }
}

/// Adapts ring's system RNG to the `rand_core` traits the `rsa` crate takes.
pub(crate) struct RingRng<'a>(pub(crate) &'a dyn SecureRandom);

impl RngCore for RingRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    #[allow(clippy::panic)]
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // rand_core gives fill_bytes no way to fail. ring's SystemRandom fails only when the
        // operating system has no RNG at all, where continuing with predictable bytes would be
        // far worse than stopping; rand_core's own OsRng panics in the same case.
        if self.0.fill(dest).is_err() {
            panic!("the operating system's random number generator failed");
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest).map_err(|_| rand_core::Error::from(core::num::NonZeroU32::MIN))
    }
}

impl CryptoRng for RingRng<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    #[test]
    fn p256_private_jwk_round_trip() {
        let key = SoftwareDeviceKey::generate_p256(&SystemRandom::new()).unwrap();
        let saved = key.to_private_jwk();
        let back = SoftwareDeviceKey::from_private_jwk(&saved).unwrap();
        assert_eq!(back.device_id(), key.device_id());
        assert!(format!("{key:?}").contains(key.device_id().as_str()));
        assert!(!format!("{key:?}").contains("\"d\""));
    }

    #[test]
    fn p256_ecdh_agrees_both_ways() {
        let rng = SystemRandom::new();
        let a = SoftwareDeviceKey::generate_p256(&rng).unwrap();
        let b = SoftwareDeviceKey::generate_p256(&rng).unwrap();
        let ab = a.ecdh_p256(&b.public_key().p256_sec1().unwrap()).unwrap();
        let ba = b.ecdh_p256(&a.public_key().p256_sec1().unwrap()).unwrap();
        assert_eq!(*ab, *ba);
        assert_eq!(a.rsa_oaep_sha256_decrypt(&[0; 256]), Err(KeyStoreError::Unsupported));
    }

    #[test]
    fn rsa_private_jwk_has_every_crt_member_and_round_trips() {
        let key = SoftwareDeviceKey::generate_rsa(&SystemRandom::new(), 2048).unwrap();
        let saved = key.to_private_jwk();
        let members: serde_json::Value = serde_json::from_str(&saved).unwrap();
        for m in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
            assert!(members[m].is_string(), "{m} missing");
        }
        assert_eq!(SoftwareDeviceKey::from_private_jwk(&saved).unwrap().device_id(), key.device_id());
    }

    #[test]
    fn mismatched_public_half_is_refused() {
        let rng = SystemRandom::new();
        let a = SoftwareDeviceKey::generate_p256(&rng).unwrap();
        let b = SoftwareDeviceKey::generate_p256(&rng).unwrap();
        let mut jwk: serde_json::Value = serde_json::from_str(&a.to_private_jwk()).unwrap();
        let b_jwk: serde_json::Value = serde_json::from_str(&b.to_private_jwk()).unwrap();
        jwk["x"] = b_jwk["x"].clone();
        let err = SoftwareDeviceKey::from_private_jwk(&jwk.to_string()).unwrap_err();
        assert_eq!(err, Error::InvalidKey("public and private halves differ"));
    }

    #[test]
    fn garbage_private_jwk_is_a_typed_error() {
        for input in ["", "{}", r#"{"kty":"EC"}"#, r#"{"kty":"OKP","d":"AA"}"#, "[1,2]"] {
            assert!(SoftwareDeviceKey::from_private_jwk(input).is_err(), "{input}");
        }
    }
}
