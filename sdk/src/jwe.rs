//! Compact JWE (RFC 7516) carrying a content key to one device.
//!
//! Two key-management modes, both with `enc` = `A256GCM`:
//!
//! * `ECDH-ES` (RFC 7518 §4.6) for P-256 device keys, in direct key-agreement mode: the
//!   Concat KDF output is the content-encryption key and the encrypted-key part is empty.
//!   The device's only private-key operation is one ECDH, which a hardware key store can do.
//! * `RSA-OAEP-256` (RFC 7518 §4.3) for RSA device keys: a random content-encryption key,
//!   encrypted with RSAES-OAEP (SHA-256, MGF1-SHA-256).
//!
//! The protected header also names the recipient's device id in `kid`. `zip` and `crit` are
//! refused. The plaintext is the 32-byte content key; the additional authenticated data is the
//! ASCII of the encoded protected header, as RFC 7516 §5.1 prescribes.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
#[cfg(feature = "software-keys")]
use ring::agreement::{self, ECDH_P256, EphemeralPrivateKey};
#[cfg(feature = "software-keys")]
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[cfg(feature = "software-keys")]
use crate::device::{DeviceKey, RingRng};
#[cfg(feature = "software-keys")]
use crate::encoding::b64;
use crate::encoding::{unb64, unb64_array};
#[cfg(feature = "software-keys")]
use crate::jwk::DevicePublicKey;
use crate::jwk::Jwk;
use crate::{Error, Result};

/// The content encryption algorithm of every Fount JWE.
pub const ENC: &str = "A256GCM";

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    enc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    epk: Option<Jwk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    apu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    apv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    /// Present means refused (no compression, no extensions).
    #[serde(default, skip_serializing)]
    zip: Option<serde::de::IgnoredAny>,
    #[serde(default, skip_serializing)]
    crit: Option<serde::de::IgnoredAny>,
}

/// The Concat KDF of NIST SP 800-56A as profiled by RFC 7518 §4.6.2, for a 256-bit key: one
/// SHA-256 round over `counter=1 || Z || AlgorithmID || PartyUInfo || PartyVInfo ||
/// SuppPubInfo`, each variable-length field prefixed by its 32-bit big-endian length.
fn concat_kdf(z: &[u8], alg_id: &str, apu: &[u8], apv: &[u8]) -> Zeroizing<[u8; 32]> {
    let len = |b: &[u8]| u32::try_from(b.len()).unwrap_or(u32::MAX).to_be_bytes();
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    h.update(&1u32.to_be_bytes());
    h.update(z);
    h.update(&len(alg_id.as_bytes()));
    h.update(alg_id.as_bytes());
    h.update(&len(apu));
    h.update(apu);
    h.update(&len(apv));
    h.update(apv);
    h.update(&256u32.to_be_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(h.finish().as_ref());
    out
}

fn gcm_key(key: &[u8]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key).map(LessSafeKey::new).map_err(|_| Error::KeyUnwrap)
}

/// Encrypts `plaintext` (a content key) to a device's public key. Used by the server.
#[cfg(feature = "software-keys")]
pub fn encrypt(recipient: &DevicePublicKey, plaintext: &[u8], rng: &dyn SecureRandom) -> Result<String> {
    let kid = Some(recipient.device_id().as_str().to_owned());
    let (header, encrypted_key, cek) = match recipient {
        DevicePublicKey::P256(_) => {
            let peer = recipient.p256_sec1().ok_or(Error::InvalidKey("P-256 point"))?;
            let ephemeral = EphemeralPrivateKey::generate(&ECDH_P256, rng).map_err(|_| Error::Random)?;
            let epk = ephemeral.compute_public_key().map_err(|_| Error::Random)?;
            let epk = epk.as_ref();
            let (Some(x), Some(y)) = (epk.get(1..33), epk.get(33..65)) else {
                return Err(Error::InvalidKey("P-256 point"));
            };
            let epk = Jwk::Ec { crv: "P-256".into(), x: b64(x), y: b64(y) };
            let cek =
                agreement::agree_ephemeral(ephemeral, &agreement::UnparsedPublicKey::new(&ECDH_P256, peer), |z| {
                    concat_kdf(z, ENC, &[], &[])
                })
                .map_err(|_| Error::InvalidKey("P-256 point"))?;
            let header = Header {
                alg: "ECDH-ES".into(),
                enc: ENC.into(),
                epk: Some(epk),
                apu: None,
                apv: None,
                kid,
                zip: None,
                crit: None,
            };
            (header, Vec::new(), cek)
        }
        DevicePublicKey::Rsa(public) => {
            let mut cek = Zeroizing::new([0u8; 32]);
            rng.fill(cek.as_mut()).map_err(|_| Error::Random)?;
            let wrapped = public
                .encrypt(&mut RingRng(rng), rsa::Oaep::new::<sha2::Sha256>(), cek.as_ref())
                .map_err(|_| Error::InvalidKey("RSA encryption failed"))?;
            let header = Header {
                alg: "RSA-OAEP-256".into(),
                enc: ENC.into(),
                epk: None,
                apu: None,
                apv: None,
                kid,
                zip: None,
                crit: None,
            };
            (header, wrapped, cek)
        }
    };
    let header_b64 = b64(serde_json::to_vec(&header).map_err(|_| Error::Malformed("jwe header"))?);
    let mut iv = [0u8; 12];
    rng.fill(&mut iv).map_err(|_| Error::Random)?;
    let mut body = plaintext.to_vec();
    let tag = gcm_key(cek.as_ref())?
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(header_b64.as_bytes()), &mut body)
        .map_err(|_| Error::KeyUnwrap)?;
    Ok(format!("{header_b64}.{}.{}.{}.{}", b64(encrypted_key), b64(iv), b64(body), b64(tag.as_ref())))
}

/// The private-key operation a JWE needs from the device key, as the core asks for it.
///
/// This is the only thing the core needs of a device's private key, so a host whose key lives
/// in hardware (or behind an asynchronous API such as WebCrypto) performs it and hands the
/// result to [`PendingUnwrap::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOperation {
    /// ECDH on P-256 with this peer point (uncompressed SEC1, 65 bytes); the result is the
    /// shared secret's x coordinate (32 bytes).
    EcdhP256 {
        /// The sender's ephemeral public key.
        peer: [u8; 65],
    },
    /// RSAES-OAEP-SHA-256 decryption of this ciphertext; the result is the plaintext.
    RsaOaepSha256 {
        /// The encrypted key.
        ciphertext: Vec<u8>,
    },
}

#[cfg(feature = "software-keys")]
impl KeyOperation {
    /// Performs the operation with a key the core can call synchronously.
    pub fn perform(&self, key: &dyn DeviceKey) -> Result<Zeroizing<Vec<u8>>> {
        Ok(match self {
            KeyOperation::EcdhP256 { peer } => Zeroizing::new(key.ecdh_p256(peer)?.to_vec()),
            KeyOperation::RsaOaepSha256 { ciphertext } => key.rsa_oaep_sha256_decrypt(ciphertext)?,
        })
    }
}

/// A parsed JWE waiting for its private-key operation.
#[derive(Debug, Clone)]
pub struct PendingUnwrap {
    header_b64: String,
    operation: KeyOperation,
    apu: Vec<u8>,
    apv: Vec<u8>,
    iv: [u8; 12],
    body: Vec<u8>,
}

impl PendingUnwrap {
    /// Parses and checks a compact JWE: five parts, `enc` `A256GCM`, no `zip` or `crit`, and
    /// an `alg` of `ECDH-ES` (with an `epk` on P-256 and an empty encrypted key) or
    /// `RSA-OAEP-256`.
    pub fn parse(compact: &str) -> Result<Self> {
        let mut parts = compact.split('.');
        let (Some(header_b64), Some(ek), Some(iv), Some(ct), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed("compact jwe"));
        };
        let header: Header =
            serde_json::from_slice(&unb64(header_b64, "jwe header")?).map_err(|_| Error::Malformed("jwe header"))?;
        if header.enc != ENC || header.zip.is_some() || header.crit.is_some() {
            return Err(Error::Unsupported("jwe header"));
        }
        let encrypted_key = unb64(ek, "jwe encrypted key")?;
        let operation = match header.alg.as_str() {
            "ECDH-ES" => {
                if !encrypted_key.is_empty() {
                    return Err(Error::Malformed("jwe encrypted key"));
                }
                let epk = header.epk.as_ref().ok_or(Error::Malformed("jwe epk"))?;
                KeyOperation::EcdhP256 { peer: epk_point(epk)? }
            }
            "RSA-OAEP-256" => KeyOperation::RsaOaepSha256 { ciphertext: encrypted_key },
            _ => return Err(Error::Unsupported("jwe alg")),
        };
        let decode_opt = |v: &Option<String>, what| v.as_deref().map(|v| unb64(v, what)).transpose();
        let mut body = unb64(ct, "jwe ciphertext")?;
        body.extend_from_slice(&unb64_array::<16>(tag, "jwe tag")?);
        Ok(PendingUnwrap {
            header_b64: header_b64.to_owned(),
            operation,
            apu: decode_opt(&header.apu, "jwe apu")?.unwrap_or_default(),
            apv: decode_opt(&header.apv, "jwe apv")?.unwrap_or_default(),
            iv: unb64_array(iv, "jwe iv")?,
            body,
        })
    }

    /// The private-key operation to perform.
    pub fn operation(&self) -> &KeyOperation {
        &self.operation
    }

    /// Completes the unwrap with the operation's result and returns the plaintext.
    pub fn finish(self, secret: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let cek: Zeroizing<Vec<u8>> = match self.operation {
            KeyOperation::EcdhP256 { .. } => {
                if secret.len() != 32 {
                    return Err(Error::KeyUnwrap);
                }
                Zeroizing::new(concat_kdf(secret, ENC, &self.apu, &self.apv).to_vec())
            }
            KeyOperation::RsaOaepSha256 { .. } => Zeroizing::new(secret.to_vec()),
        };
        if cek.len() != 32 {
            return Err(Error::KeyUnwrap);
        }
        let mut body = Zeroizing::new(self.body);
        let plain_len = gcm_key(&cek)?
            .open_in_place(Nonce::assume_unique_for_key(self.iv), Aad::from(self.header_b64.as_bytes()), &mut body)
            .map_err(|_| Error::KeyUnwrap)?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

/// The uncompressed point of an `epk`. With software keys, the point is checked to be on the
/// curve here; without them (a wasm build whose key lives in WebCrypto), the host's key store
/// checks it when it imports the point, as WebCrypto's `importKey` does.
fn epk_point(epk: &Jwk) -> Result<[u8; 65]> {
    #[cfg(feature = "software-keys")]
    {
        DevicePublicKey::from_jwk(epk)?.p256_sec1().ok_or(Error::Unsupported("jwe epk"))
    }
    #[cfg(not(feature = "software-keys"))]
    {
        let Jwk::Ec { crv, x, y } = epk else { return Err(Error::Unsupported("jwe epk")) };
        if crv != "P-256" {
            return Err(Error::Unsupported("jwe epk"));
        }
        let mut point = [0u8; 65];
        point[0] = 0x04;
        point[1..33].copy_from_slice(&unb64_array::<32>(x, "jwk x")?);
        point[33..].copy_from_slice(&unb64_array::<32>(y, "jwk y")?);
        Ok(point)
    }
}

/// Decrypts a compact JWE addressed to `key`, asking the key for its private-key operation.
#[cfg(feature = "software-keys")]
pub fn decrypt(compact: &str, key: &dyn DeviceKey) -> Result<Zeroizing<Vec<u8>>> {
    let pending = PendingUnwrap::parse(compact)?;
    let secret = pending.operation().perform(key)?;
    pending.finish(&secret)
}

#[cfg(all(test, feature = "software-keys"))]
mod tests {
    use super::*;
    use crate::device::SoftwareDeviceKey;
    use ring::rand::SystemRandom;

    #[test]
    fn ecdh_es_round_trip_and_wrong_key() {
        let rng = SystemRandom::new();
        let device = SoftwareDeviceKey::generate_p256(&rng).unwrap();
        let other = SoftwareDeviceKey::generate_p256(&rng).unwrap();
        let jwe = encrypt(device.public_key(), b"0123456789abcdef0123456789abcdef", &rng).unwrap();
        assert_eq!(decrypt(&jwe, &device).unwrap().as_slice(), b"0123456789abcdef0123456789abcdef");
        assert_eq!(decrypt(&jwe, &other).unwrap_err(), Error::KeyUnwrap);
    }

    #[test]
    fn rsa_oaep_round_trip() {
        let rng = SystemRandom::new();
        let device = SoftwareDeviceKey::generate_rsa(&rng, 2048).unwrap();
        let jwe = encrypt(device.public_key(), &[7u8; 32], &rng).unwrap();
        assert_eq!(decrypt(&jwe, &device).unwrap().as_slice(), &[7u8; 32]);
        let p256 = SoftwareDeviceKey::generate_p256(&rng).unwrap();
        assert_eq!(decrypt(&jwe, &p256).unwrap_err(), Error::KeyStore(crate::KeyStoreError::Unsupported));
    }

    #[test]
    fn any_changed_part_fails() {
        let rng = SystemRandom::new();
        let device = SoftwareDeviceKey::generate_p256(&rng).unwrap();
        let jwe = encrypt(device.public_key(), &[1u8; 32], &rng).unwrap();
        let parts: Vec<&str> = jwe.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                continue;
            }
            let mut bytes = unb64(part, "t").unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            let mut changed = parts.clone();
            let enc = b64(&bytes);
            changed[i] = &enc;
            assert!(decrypt(&changed.join("."), &device).is_err(), "part {i}");
        }
    }
}
