// The device key in a platform key store, through the standard java.security and javax.crypto
// APIs: on Android the AndroidKeyStore (the key made in secure hardware, never exportable, the
// ECDH done by the store); in the JVM tests a PKCS12 file. Only making the key differs between
// them, so that is a parameter (see androidKeystoreDeviceKeyStore in src/android).
package dev.fount

import java.math.BigInteger
import java.security.KeyFactory
import java.security.KeyStore
import java.security.PrivateKey
import java.security.interfaces.ECPublicKey
import java.security.spec.ECPoint
import java.security.spec.ECPublicKeySpec
import java.util.Base64
import javax.crypto.KeyAgreement

/**
 * A [DeviceKeyStore] over a loaded [KeyStore]: the P-256 key under [alias], made by
 * [createKey] the first time (it must leave a private key entry with its certificate under
 * that alias in [keyStore]). The private key is only ever handed to [KeyAgreement], with
 * [agreementProvider] (`"AndroidKeyStore"` on Android, so the store does the ECDH).
 */
class KeyStoreDeviceKeyStore(
    private val keyStore: KeyStore,
    private val alias: String = "fount-device-key",
    private val password: CharArray? = null,
    private val agreementProvider: String? = null,
    private val createKey: (alias: String) -> Unit,
) : DeviceKeyStore {
    private fun privateKey(): PrivateKey {
        if (!keyStore.containsAlias(alias)) createKey(alias)
        return keyStore.getKey(alias, password) as? PrivateKey
            ?: throw HostException.Failed("the key store has no private key under $alias")
    }

    private fun publicKey(): ECPublicKey {
        privateKey()
        return keyStore.getCertificate(alias)?.publicKey as? ECPublicKey
            ?: throw HostException.Failed("the key under $alias is not an EC key")
    }

    private fun b64(n: BigInteger): String {
        val raw = n.toByteArray().let { if (it.size > 32) it.copyOfRange(it.size - 32, it.size) else ByteArray(32 - it.size) + it }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw)
    }

    override fun publicJwk(): String = try {
        val w = publicKey().w
        """{"kty":"EC","crv":"P-256","x":"${b64(w.affineX)}","y":"${b64(w.affineY)}"}"""
    } catch (e: java.security.GeneralSecurityException) {
        throw HostException.Failed("key store: ${e.message}")
    }

    override fun ecdhP256(peer: ByteArray): ByteArray = try {
        if (peer.size != 65 || peer[0] != 4.toByte()) throw HostException.Failed("the peer is not an uncompressed P-256 point")
        val point = ECPoint(BigInteger(1, peer.copyOfRange(1, 33)), BigInteger(1, peer.copyOfRange(33, 65)))
        val peerKey = KeyFactory.getInstance("EC").generatePublic(ECPublicKeySpec(point, publicKey().params))
        val agreement = agreementProvider?.let { KeyAgreement.getInstance("ECDH", it) } ?: KeyAgreement.getInstance("ECDH")
        agreement.init(privateKey())
        agreement.doPhase(peerKey, true)
        agreement.generateSecret()
    } catch (e: java.security.GeneralSecurityException) {
        throw HostException.Failed("key store: ${e.message}")
    }

    override fun rsaOaepSha256Decrypt(ciphertext: ByteArray): ByteArray =
        throw HostException.Failed("the device key is a P-256 key")
}
