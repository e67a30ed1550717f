//! Compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037): the signature on every license
//! and customer token, and the server's key set that verifies them.
//!
//! Only what Fount signs is accepted: `alg` must be `EdDSA`, `typ` must be the one the caller
//! expects (RFC 8725 §3.11, so a customer token can never pass as a license), and a `crit`
//! header is refused because no extension is understood.

use ring::rand::SecureRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::encoding::{b64, unb64, unb64_array};
use crate::jwk::{Jwk, RawJwk};
use crate::{Error, Result};

/// A JWKS entry (RFC 7517 §5): a public key and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEntry", into = "RawEntry")]
pub struct JwksKey {
    /// The key.
    pub key: Jwk,
    /// Its id, referenced by the `kid` header of what it signed.
    pub kid: String,
    /// The algorithm it is used with (`EdDSA`).
    pub alg: Option<String>,
    /// Its use (`sig`).
    pub use_: Option<String>,
}

/// A JWKS entry's members as in JSON (a JWK's, plus `kid`, `alg`, `use`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RawEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    use_: Option<String>,
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
}

impl TryFrom<RawEntry> for JwksKey {
    type Error = &'static str;

    fn try_from(r: RawEntry) -> core::result::Result<Self, &'static str> {
        let raw = RawJwk {
            kty: r.kty,
            crv: r.crv,
            x: r.x,
            y: r.y,
            n: r.n,
            e: r.e,
            alg: r.alg.clone(),
            use_: r.use_.clone(),
            key_ops: None,
        };
        let key = Jwk::try_from(raw)?;
        Ok(JwksKey { key, kid: r.kid.ok_or("JWKS key without kid")?, alg: r.alg, use_: r.use_ })
    }
}

impl From<JwksKey> for RawEntry {
    fn from(k: JwksKey) -> Self {
        let RawJwk { kty, crv, x, y, n, e, .. } = k.key.into();
        RawEntry { kid: Some(k.kid), alg: k.alg, use_: k.use_, kty, crv, x, y, n, e }
    }
}

/// A JSON Web Key Set as served at `/.well-known/jwks.json`. During a key rotation it holds
/// several keys; entries of kinds Fount does not use are skipped rather than refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<JwksKey>,
}

impl<'de> Deserialize<'de> for Jwks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<RawEntry>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(Jwks { keys: raw.keys.into_iter().filter_map(|e| JwksKey::try_from(e).ok()).collect() })
    }
}

impl Jwks {
    /// Parses a key set from JSON.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        serde_json::from_slice(json).map_err(|_| Error::Malformed("jwks"))
    }

    /// The Ed25519 public key with this id, if the set has one.
    pub fn ed25519(&self, kid: &str) -> Option<[u8; 32]> {
        self.keys.iter().find(|k| k.kid == kid).and_then(|k| match &k.key {
            Jwk::Okp { crv, x } if crv == "Ed25519" => unb64_array(x, "jwk x").ok(),
            _ => None,
        })
    }
}

/// An Ed25519 signing key, as the server holds it. Its `kid` is the RFC 7638 thumbprint of its
/// public JWK, so the id can be recomputed from the key alone.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    kid: String,
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new key and returns it as PKCS#8 v2 DER, the form to store (encrypted).
    pub fn generate_pkcs8(rng: &dyn SecureRandom) -> Result<Zeroizing<Vec<u8>>> {
        Ed25519KeyPair::generate_pkcs8(rng).map(|doc| Zeroizing::new(doc.as_ref().to_vec())).map_err(|_| Error::Random)
    }

    /// Loads a key from PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| Error::InvalidKey("Ed25519 PKCS#8"))?;
        let kid = Self::public_jwk_of(&pair).thumbprint();
        Ok(SigningKey { pair, kid })
    }

    fn public_jwk_of(pair: &Ed25519KeyPair) -> Jwk {
        Jwk::Okp { crv: "Ed25519".into(), x: b64(pair.public_key().as_ref()) }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS entry for this key.
    pub fn jwks_key(&self) -> JwksKey {
        JwksKey {
            key: Self::public_jwk_of(&self.pair),
            kid: self.kid.clone(),
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
        }
    }

    /// Signs `claims` as a compact JWS with header `{"alg":"EdDSA","kid":…,"typ":typ}`.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String> {
        let header = Header { alg: "EdDSA".into(), kid: self.kid.clone(), typ: typ.into(), crit: None };
        let header = serde_json::to_vec(&header).map_err(|_| Error::Malformed("jws header"))?;
        let payload = serde_json::to_vec(claims).map_err(|_| Error::Malformed("jws payload"))?;
        let mut out = format!("{}.{}", b64(header), b64(payload));
        let signature = self.pair.sign(out.as_bytes());
        out.push('.');
        out.push_str(&b64(signature.as_ref()));
        Ok(out)
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
    typ: String,
    /// Present means refused: no extension is understood.
    #[serde(default, skip_serializing)]
    crit: Option<serde::de::IgnoredAny>,
}

/// A compact JWS whose signature has been checked, with its claims parsed.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    /// The `kid` of the key that signed it.
    pub kid: String,
    /// The claims.
    pub claims: T,
}

/// Verifies a compact JWS against `jwks` and parses its payload as `T`.
///
/// Checks, in order: three parts; a header with `alg` = `EdDSA`, the expected `typ` and no
/// `crit`; a `kid` found in `jwks`; the signature; the payload as JSON of type `T`.
pub fn verify<T: DeserializeOwned>(compact: &str, jwks: &Jwks, typ: &str) -> Result<Verified<T>> {
    let mut parts = compact.split('.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Malformed("compact jws"));
    };
    let header: Header =
        serde_json::from_slice(&unb64(header_b64, "jws header")?).map_err(|_| Error::Malformed("jws header"))?;
    if header.alg != "EdDSA" || header.crit.is_some() {
        return Err(Error::Unsupported("jws header"));
    }
    if header.typ != typ {
        return Err(Error::Malformed("jws typ"));
    }
    let public = jwks.ed25519(&header.kid).ok_or(Error::UnknownSigningKey)?;
    let signature = unb64(sig_b64, "jws signature")?;
    // The signing input is the two encoded parts as sent: the prefix of `compact` up to the
    // second dot, which is header_b64.len() + 1 + payload_b64.len() bytes.
    let signed_len = header_b64.len().saturating_add(1).saturating_add(payload_b64.len());
    let signing_input = compact.get(..signed_len).ok_or(Error::Malformed("compact jws"))?;
    UnparsedPublicKey::new(&ED25519, public)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| Error::BadSignature)?;
    let claims =
        serde_json::from_slice(&unb64(payload_b64, "jws payload")?).map_err(|_| Error::Malformed("jws payload"))?;
    Ok(Verified { kid: header.kid, claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn key() -> SigningKey {
        SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&SystemRandom::new()).unwrap()).unwrap()
    }

    #[test]
    fn sign_then_verify() {
        let k = key();
        let jwks = Jwks { keys: vec![k.jwks_key()] };
        let jws = k.sign("t+jwt", &serde_json::json!({"a": 1})).unwrap();
        let v: Verified<serde_json::Value> = verify(&jws, &jwks, "t+jwt").unwrap();
        assert_eq!(v.claims["a"], 1);
        assert_eq!(v.kid, k.kid());
        assert_eq!(verify::<serde_json::Value>(&jws, &jwks, "other+jwt").unwrap_err(), Error::Malformed("jws typ"));
    }

    #[test]
    fn unknown_key_and_bad_signature() {
        let (k, other) = (key(), key());
        let jws = k.sign("t", &1).unwrap();
        let err = verify::<i32>(&jws, &Jwks { keys: vec![other.jwks_key()] }, "t").unwrap_err();
        assert_eq!(err, Error::UnknownSigningKey);
        // Same kid, other key: the signature must fail.
        let mut forged = other.jwks_key();
        forged.kid = k.kid().to_owned();
        let err = verify::<i32>(&jws, &Jwks { keys: vec![forged] }, "t").unwrap_err();
        assert_eq!(err, Error::BadSignature);
    }

    #[test]
    fn jwks_skips_unknown_kinds() {
        let json = br#"{"keys":[{"kty":"oct","k":"AA","kid":"x"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"y"}]}"#;
        let jwks = Jwks::from_json(json).unwrap();
        assert_eq!(jwks.keys.len(), 1);
        assert!(jwks.ed25519("y").is_some());
        assert!(Jwks::from_json(b"{}").is_err());
    }

    #[test]
    fn malformed_inputs_are_typed_errors() {
        let jwks = Jwks { keys: vec![key().jwks_key()] };
        for input in ["", ".", "..", "a.b.c", "a.b.c.d", "e30.e30.", "eyJhbGciOiJub25lIn0.e30."] {
            assert!(verify::<serde_json::Value>(input, &jwks, "t").is_err(), "{input}");
        }
    }
}
