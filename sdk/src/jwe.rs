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
use ring::agreement::{self, ECDH_P256, EphemeralPrivateKey};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::device::{DeviceKey, RingRng};
use crate::encoding::{b64, unb64, unb64_array};
use crate::jwk::{DevicePublicKey, Jwk};
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zip: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crit: Option<serde_json::Value>,
}

/// The Concat KDF of NIST SP 800-56A as profiled by RFC 7518 §4.6.2, for a 256-bit key: one
/// SHA-256 round over `counter=1 || Z || AlgorithmID || PartyUInfo || PartyVInfo ||
/// SuppPubInfo`, each variable-length field prefixed by its 32-bit big-endian length.
fn concat_kdf(z: &[u8], alg_id: &str, apu: &[u8], apv: &[u8]) -> Zeroizing<[u8; 32]> {
    let len = |b: &[u8]| u32::try_from(b.len()).unwrap_or(u32::MAX).to_be_bytes();
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(z);
    h.update(len(alg_id.as_bytes()));
    h.update(alg_id.as_bytes());
    h.update(len(apu));
    h.update(apu);
    h.update(len(apv));
    h.update(apv);
    h.update(256u32.to_be_bytes());
    Zeroizing::new(h.finalize().into())
}

fn gcm_key(key: &[u8]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key).map(LessSafeKey::new).map_err(|_| Error::KeyUnwrap)
}

/// Encrypts `plaintext` (a content key) to a device's public key. Used by the server.
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
                .encrypt(&mut RingRng(rng), rsa::Oaep::new::<Sha256>(), cek.as_ref())
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

/// Decrypts a compact JWE addressed to `key`, asking the key for its private-key operation.
pub fn decrypt(compact: &str, key: &dyn DeviceKey) -> Result<Zeroizing<Vec<u8>>> {
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
    let cek: Zeroizing<Vec<u8>> = match header.alg.as_str() {
        "ECDH-ES" => {
            if !encrypted_key.is_empty() {
                return Err(Error::Malformed("jwe encrypted key"));
            }
            let epk = header.epk.as_ref().ok_or(Error::Malformed("jwe epk"))?;
            // from_jwk checks the point is on the curve: an invalid-curve point never reaches
            // the key store.
            let sec1 = DevicePublicKey::from_jwk(epk)?.p256_sec1().ok_or(Error::Unsupported("jwe epk"))?;
            let z = key.ecdh_p256(&sec1)?;
            let apu = header.apu.as_deref().map(|v| unb64(v, "jwe apu")).transpose()?.unwrap_or_default();
            let apv = header.apv.as_deref().map(|v| unb64(v, "jwe apv")).transpose()?.unwrap_or_default();
            Zeroizing::new(concat_kdf(z.as_ref(), ENC, &apu, &apv).to_vec())
        }
        "RSA-OAEP-256" => key.rsa_oaep_sha256_decrypt(&encrypted_key)?,
        _ => return Err(Error::Unsupported("jwe alg")),
    };
    if cek.len() != 32 {
        return Err(Error::KeyUnwrap);
    }
    let iv: [u8; 12] = unb64_array(iv, "jwe iv")?;
    let tag: [u8; 16] = unb64_array(tag, "jwe tag")?;
    let mut body = Zeroizing::new(unb64(ct, "jwe ciphertext")?);
    body.extend_from_slice(&tag);
    let plain_len = gcm_key(&cek)?
        .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(header_b64.as_bytes()), &mut body)
        .map_err(|_| Error::KeyUnwrap)?
        .len();
    body.truncate(plain_len);
    Ok(body)
}

#[cfg(test)]
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
