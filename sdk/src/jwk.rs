//! Public keys as JSON Web Keys (RFC 7517) and their RFC 7638 thumbprints.
//!
//! Parsing a [`Jwk`] into a [`DevicePublicKey`] is where every check on a device key happens:
//! on the curve, big enough, canonically encoded. After that the key is known good, and its
//! [`DeviceId`] is its thumbprint. Canonical encoding matters because the thumbprint hashes the
//! members as written: an EC coordinate with its leading zero dropped would give the same key
//! a second id.

use serde::{Deserialize, Serialize};

use crate::encoding::{b64, unb64};
use crate::{Error, Result};

/// Smallest RSA modulus accepted for a device key, in bits.
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted for a device key, in bits.
pub const RSA_MAX_BITS: usize = 4096;

/// A public JWK of one of the three kinds Fount uses.
///
/// Members other than the key's own (`kty`, `crv`, `x`, `y`, `n`, `e`) are ignored on input,
/// except the three that say what the key is for, which must not contradict what Fount will
/// do with it (a strict JOSE library refuses a key used against its own declaration):
///
/// | member | EC (device) | RSA (device) | OKP (signing) |
/// | --- | --- | --- | --- |
/// | `alg`, if present | `ECDH-ES` | `RSA-OAEP-256` | `EdDSA` |
/// | `use`, if present | `enc` | `enc` | `sig` |
/// | `key_ops`, if present and not empty, includes | `deriveKey` or `deriveBits` | `encrypt` or `wrapKey` | `verify` |
///
/// An RSA key marked `"alg": "RS256"` is a signing key, and is refused rather than used for
/// RSA-OAEP-256. None of these members is kept: a key's JWK as Fount writes it has only its
/// own members.
///
/// It goes through [`RawJwk`] on the wire rather than serde's internally tagged enums, which
/// buffer every member first: the same JSON, less code in a wasm build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawJwk", into = "RawJwk")]
pub enum Jwk {
    /// An elliptic-curve key (RFC 7518 §6.2); Fount accepts `crv` = `P-256` only.
    Ec {
        /// Curve name.
        crv: String,
        /// x coordinate, base64url, 32 bytes for P-256.
        x: String,
        /// y coordinate, base64url, 32 bytes for P-256.
        y: String,
    },
    /// An RSA key (RFC 7518 §6.3).
    Rsa {
        /// Modulus, base64url big-endian without leading zeros.
        n: String,
        /// Public exponent, base64url big-endian without leading zeros.
        e: String,
    },
    /// An octet key pair (RFC 8037); Fount uses `crv` = `Ed25519` for its signing keys.
    Okp {
        /// Curve name.
        crv: String,
        /// The public key, base64url, 32 bytes for Ed25519.
        x: String,
    },
}

/// A JWK's members as they appear in JSON, before its `kty` says which are required.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RawJwk {
    /// Key type.
    pub kty: String,
    /// Curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x, OKP public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// The algorithm the key is meant for (checked, not kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig` or `enc` (checked, not kept).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The operations the key is meant for (checked, not kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
}

/// What a key of one type is for: its `alg`, its `use`, the `key_ops` that allow it.
struct Purpose {
    alg: &'static str,
    use_: &'static str,
    ops: &'static [&'static str],
    refusal: &'static str,
}

impl RawJwk {
    /// Refuses a key whose `alg`, `use` or `key_ops` say it is for something else.
    fn check_purpose(&self, p: &Purpose) -> core::result::Result<(), &'static str> {
        let alg_ok = self.alg.as_deref().is_none_or(|a| a == p.alg);
        let use_ok = self.use_.as_deref().is_none_or(|u| u == p.use_);
        let ops_ok =
            self.key_ops.as_deref().is_none_or(|ops| ops.is_empty() || ops.iter().any(|o| p.ops.contains(&o.as_str())));
        if alg_ok && use_ok && ops_ok { Ok(()) } else { Err(p.refusal) }
    }
}

const EC_PURPOSE: Purpose = Purpose {
    alg: "ECDH-ES",
    use_: "enc",
    ops: &["deriveKey", "deriveBits"],
    refusal: "the EC key's alg, use or key_ops say it is not for ECDH-ES key agreement",
};
const RSA_PURPOSE: Purpose = Purpose {
    alg: "RSA-OAEP-256",
    use_: "enc",
    ops: &["encrypt", "wrapKey"],
    refusal: "the RSA key's alg, use or key_ops say it is not for RSA-OAEP-256 encryption",
};
const OKP_PURPOSE: Purpose = Purpose {
    alg: "EdDSA",
    use_: "sig",
    ops: &["verify"],
    refusal: "the OKP key's alg, use or key_ops say it is not for EdDSA signatures",
};

impl TryFrom<RawJwk> for Jwk {
    type Error = &'static str;

    fn try_from(r: RawJwk) -> core::result::Result<Self, &'static str> {
        let need = |v: Option<String>, what| v.ok_or(what);
        match r.kty.as_str() {
            "EC" => r.check_purpose(&EC_PURPOSE)?,
            "RSA" => r.check_purpose(&RSA_PURPOSE)?,
            "OKP" => r.check_purpose(&OKP_PURPOSE)?,
            _ => {}
        }
        Ok(match r.kty.as_str() {
            "EC" => Jwk::Ec {
                crv: need(r.crv, "EC key without crv")?,
                x: need(r.x, "EC key without x")?,
                y: need(r.y, "EC key without y")?,
            },
            "RSA" => Jwk::Rsa { n: need(r.n, "RSA key without n")?, e: need(r.e, "RSA key without e")? },
            "OKP" => Jwk::Okp { crv: need(r.crv, "OKP key without crv")?, x: need(r.x, "OKP key without x")? },
            _ => return Err("unsupported kty"),
        })
    }
}

impl From<Jwk> for RawJwk {
    fn from(j: Jwk) -> Self {
        match j {
            Jwk::Ec { crv, x, y } => {
                RawJwk { kty: "EC".into(), crv: Some(crv), x: Some(x), y: Some(y), ..Default::default() }
            }
            Jwk::Rsa { n, e } => RawJwk { kty: "RSA".into(), n: Some(n), e: Some(e), ..Default::default() },
            Jwk::Okp { crv, x } => RawJwk { kty: "OKP".into(), crv: Some(crv), x: Some(x), ..Default::default() },
        }
    }
}

impl Jwk {
    /// The device id of this key (its thumbprint).
    pub fn device_id(&self) -> DeviceId {
        DeviceId(self.thumbprint())
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order,
    /// without white space, base64url-encoded.
    pub fn thumbprint(&self) -> String {
        // serde_json::to_string of a &str cannot fail; it escapes as JSON requires.
        let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
        let canonical = match self {
            Jwk::Ec { crv, x, y } => {
                format!(r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#, s(crv), s(x), s(y))
            }
            Jwk::Rsa { n, e } => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, s(e), s(n)),
            Jwk::Okp { crv, x } => format!(r#"{{"crv":{},"kty":"OKP","x":{}}}"#, s(crv), s(x)),
        };
        b64(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()))
    }
}

/// A device's identity: the RFC 7638 thumbprint of its public key, as bound into licenses by
/// the `cnf.jkt` claim (RFC 7800).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(String);

impl DeviceId {
    /// Parses a thumbprint as sent over the wire: 43 base64url characters (32 bytes).
    pub fn parse(text: &str) -> Result<Self> {
        match unb64(text, "device id")?.len() {
            32 => Ok(DeviceId(text.to_owned())),
            _ => Err(Error::Malformed("device id")),
        }
    }

    /// The thumbprint text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for DeviceId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A device's public key, checked: a point on P-256, or an RSA key of 2048 to 4096 bits.
#[cfg(feature = "software-keys")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePublicKey {
    /// NIST P-256, for `ECDH-ES` key agreement.
    P256(p256::PublicKey),
    /// RSA, for `RSA-OAEP-256` key transport.
    Rsa(rsa::RsaPublicKey),
}

#[cfg(feature = "software-keys")]
impl DevicePublicKey {
    /// Parses and checks a JWK. Refuses other curves, off-curve points, small or oversized RSA
    /// moduli, and non-canonical encodings.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        match jwk {
            Jwk::Ec { crv, x, y } => {
                if crv != "P-256" {
                    return Err(Error::Unsupported("device key curve"));
                }
                let x = unb64(x, "jwk x")?;
                let y = unb64(y, "jwk y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(Error::InvalidKey("P-256 coordinates must be 32 bytes"));
                }
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                p256::PublicKey::from_sec1_bytes(&sec1)
                    .map(DevicePublicKey::P256)
                    .map_err(|_| Error::InvalidKey("not a point on P-256"))
            }
            Jwk::Rsa { n, e } => {
                let n = unb64(n, "jwk n")?;
                let e = unb64(e, "jwk e")?;
                if n.first().is_none_or(|b| *b == 0) || e.first().is_none_or(|b| *b == 0) {
                    return Err(Error::InvalidKey("RSA integers must be minimal big-endian"));
                }
                let bits = n.len().saturating_mul(8);
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(Error::InvalidKey("RSA modulus must be 2048 to 4096 bits"));
                }
                let key = rsa::RsaPublicKey::new_with_max_size(
                    rsa::BigUint::from_bytes_be(&n),
                    rsa::BigUint::from_bytes_be(&e),
                    RSA_MAX_BITS,
                )
                .map_err(|_| Error::InvalidKey("RSA public key rejected"))?;
                Ok(DevicePublicKey::Rsa(key))
            }
            Jwk::Okp { .. } => Err(Error::Unsupported("device key type")),
        }
    }

    /// The canonical JWK of this key.
    pub fn to_jwk(&self) -> Jwk {
        match self {
            DevicePublicKey::P256(key) => {
                let point = p256::EncodedPoint::from(key);
                // An uncompressed encoding of a valid public key always has both coordinates.
                let (x, y) = (point.x().map(b64), point.y().map(b64));
                Jwk::Ec { crv: "P-256".into(), x: x.unwrap_or_default(), y: y.unwrap_or_default() }
            }
            DevicePublicKey::Rsa(key) => {
                use rsa::traits::PublicKeyParts as _;
                Jwk::Rsa { n: b64(key.n().to_bytes_be()), e: b64(key.e().to_bytes_be()) }
            }
        }
    }

    /// This key's device id (its RFC 7638 thumbprint).
    pub fn device_id(&self) -> DeviceId {
        DeviceId(self.to_jwk().thumbprint())
    }

    /// The uncompressed SEC1 encoding (65 bytes) of a P-256 key; `None` for RSA.
    pub fn p256_sec1(&self) -> Option<[u8; 65]> {
        match self {
            DevicePublicKey::P256(key) => {
                let point = p256::EncodedPoint::from(key);
                point.as_bytes().try_into().ok()
            }
            DevicePublicKey::Rsa(_) => None,
        }
    }
}

#[cfg(all(test, feature = "software-keys"))]
mod tests {
    use super::*;

    /// The example key of RFC 7638 §3.1 and the thumbprint the RFC gives for it.
    #[test]
    fn members_that_say_what_a_key_is_for_must_agree() {
        let ec = |extra: &str| {
            serde_json::from_str::<Jwk>(&format!(
                r#"{{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"{extra}}}"#
            ))
        };
        assert!(ec("").is_ok());
        assert!(ec(r#","alg":"ECDH-ES","use":"enc","key_ops":[],"ext":true"#).is_ok());
        assert!(ec(r#","key_ops":["deriveBits"]"#).is_ok());
        for bad in
            [r#","alg":"ES256""#, r#","use":"sig""#, r#","key_ops":["sign","verify"]"#, r#","alg":"ECDH-ES+A256KW""#]
        {
            assert!(ec(bad).is_err(), "{bad}");
        }
        let rsa =
            |extra: &str| serde_json::from_str::<Jwk>(&format!(r#"{{"kty":"RSA","n":"AQAB","e":"AQAB"{extra}}}"#));
        assert!(rsa(r#","alg":"RSA-OAEP-256","key_ops":["encrypt"]"#).is_ok());
        assert!(rsa(r#","alg":"RS256""#).is_err());
        let okp =
            |extra: &str| serde_json::from_str::<Jwk>(&format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"AA"{extra}}}"#));
        assert!(okp(r#","alg":"EdDSA","use":"sig""#).is_ok());
        assert!(okp(r#","use":"enc""#).is_err());
        // Checked, never kept: a key as Fount writes it has only its own members.
        let kept = serde_json::to_value(ec(r#","alg":"ECDH-ES","use":"enc""#).unwrap()).unwrap();
        assert!(kept.get("alg").is_none() && kept.get("use").is_none());
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk = Jwk::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(jwk.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        let key = DevicePublicKey::from_jwk(&jwk).expect("the RFC key is valid");
        assert_eq!(key.device_id().as_str(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(key.to_jwk(), jwk);
    }

    #[test]
    fn refuses_off_curve_and_short_coordinates() {
        let good_x = b64([1u8; 32]);
        let off = Jwk::Ec { crv: "P-256".into(), x: good_x.clone(), y: b64([2u8; 32]) };
        assert_eq!(DevicePublicKey::from_jwk(&off), Err(Error::InvalidKey("not a point on P-256")));
        let short = Jwk::Ec { crv: "P-256".into(), x: b64([1u8; 31]), y: good_x };
        assert!(matches!(DevicePublicKey::from_jwk(&short), Err(Error::InvalidKey(_))));
        let other = Jwk::Ec { crv: "P-384".into(), x: String::new(), y: String::new() };
        assert_eq!(DevicePublicKey::from_jwk(&other), Err(Error::Unsupported("device key curve")));
    }

    #[test]
    fn refuses_small_rsa() {
        let jwk = Jwk::Rsa { n: b64([0xC5u8; 128]), e: "AQAB".into() };
        assert!(matches!(DevicePublicKey::from_jwk(&jwk), Err(Error::InvalidKey(_))));
    }

    #[test]
    fn device_id_parse() {
        assert!(DeviceId::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_ok());
        assert!(DeviceId::parse("abc").is_err());
        assert!(DeviceId::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=").is_err());
    }
}
