// Android only: the device key made in the AndroidKeyStore. Compiled by the Gradle build
// (build.gradle.kts adds src/android/kotlin); the JVM tests cannot compile it (there is no
// android.jar on these machines) and test KeyStoreDeviceKeyStore over a PKCS12 store instead.
package dev.fount

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.spec.ECGenParameterSpec

/**
 * The device key in the AndroidKeyStore: a P-256 key for key agreement, made in the device's
 * secure hardware (StrongBox when [strongBox] and the device has it), never exportable; the
 * store performs the ECDH. Key agreement in the AndroidKeyStore needs Android 12 (API 31).
 */
fun androidKeystoreDeviceKeyStore(alias: String = "fount-device-key", strongBox: Boolean = false): KeyStoreDeviceKeyStore {
    check(Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) { "a Keystore device key needs Android 12 (API 31)" }
    val keyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
    return KeyStoreDeviceKeyStore(keyStore, alias, agreementProvider = "AndroidKeyStore") { name ->
        val spec = KeyGenParameterSpec.Builder(name, KeyProperties.PURPOSE_AGREE_KEY)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setIsStrongBoxBacked(strongBox)
            .build()
        KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, "AndroidKeyStore").run {
            initialize(spec)
            generateKeyPair()
        }
    }
}
