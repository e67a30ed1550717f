// Tests of the Kotlin binding against a live `fount-server demo`, on the JVM with JNA.
// scripts/test-kotlin.sh builds the library, generates the bindings, compiles this with
// kotlinc and runs it; FOUNT_DEMO_JSON names the demo's facts, FOUNT_SAMPLE the audio file
// the demo title was made from.
package dev.fount

import dev.fount.sdk.Access
import dev.fount.sdk.FountException
import dev.fount.sdk.HttpRequest
import dev.fount.sdk.HttpResponse
import dev.fount.sdk.LicenseStatus
import java.io.File
import java.math.BigInteger
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.security.KeyFactory
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.security.spec.ECPoint
import java.security.spec.ECPublicKeySpec
import java.util.Base64
import javax.crypto.KeyAgreement
import kotlin.system.exitProcess
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/** The demo's facts, from demo.json. */
object Demo {
    private val text = File(System.getenv("FOUNT_DEMO_JSON") ?: error("FOUNT_DEMO_JSON is not set")).readText()
    private fun field(name: String) = Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(text)?.groupValues?.get(1) ?: error("no $name")
    val baseUrl = field("base_url")
    val apiKey = field("api_key")
    val titleId = field("title_id")
    val sample: ByteArray = File(System.getenv("FOUNT_SAMPLE") ?: error("FOUNT_SAMPLE is not set")).readBytes()

    /** Calls the store API as the store's backend would. */
    fun store(method: String, path: String, body: String? = null): String {
        val c = URI("$baseUrl$path").toURL().openConnection() as HttpURLConnection
        c.requestMethod = method
        // A server that hangs fails the test in seconds.
        c.connectTimeout = 5_000
        c.readTimeout = 30_000
        c.setRequestProperty("Authorization", "Bearer $apiKey")
        c.setRequestProperty("Content-Type", "application/json")
        if (body != null) {
            c.doOutput = true
            c.outputStream.use { it.write(body.toByteArray()) }
        }
        val status = c.responseCode
        val text = (if (status >= 400) c.errorStream else c.inputStream).use { it.readBytes().decodeToString() }
        check(status in 200..299) { "$method $path: $status $text" }
        return text
    }

    fun token(customer: String): String =
        Regex("\"token\"\\s*:\\s*\"([^\"]+)\"").find(store("POST", "/v1/customers/$customer/tokens", "{}"))!!.groupValues[1]

    fun grant(customer: String) = store("POST", "/v1/entitlements", """{"customer":"$customer","title":"$titleId","kind":"purchase"}""")
}

/**
 * A fresh folder, removed with everything in it when the JVM exits (`deleteOnExit` alone
 * skips a folder that is not empty, which every client's storage leaves behind).
 */
fun tempDir(): File = Files.createTempDirectory("fount-kotlin").toFile().also { dir ->
    Runtime.getRuntime().addShutdownHook(Thread { dir.deleteRecursively() })
}

fun newClient(dir: File, http: HttpTransport = HttpUrlConnectionTransport(), keys: DeviceKeyStore? = null) =
    FountClient(Demo.baseUrl, http, FileStorage(dir), SystemClock(), keys)

/** A transport with the network cut. */
class Offline : HttpTransport {
    override fun send(request: HttpRequest): HttpResponse = throw HostException.Failed("offline")
}

/**
 * A device key the host keeps and uses itself: a JVM EC key with ECDH through
 * javax.crypto.KeyAgreement, as an Android Keystore-backed store would do it.
 */
class JvmKeyStore : DeviceKeyStore {
    private val pair: KeyPair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
    private val public = pair.public as ECPublicKey
    var operations = 0

    private fun b64(n: BigInteger): String {
        val raw = n.toByteArray().let { if (it.size > 32) it.copyOfRange(it.size - 32, it.size) else ByteArray(32 - it.size) + it }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw)
    }

    override fun publicJwk(): String = """{"kty":"EC","crv":"P-256","x":"${b64(public.w.affineX)}","y":"${b64(public.w.affineY)}"}"""

    override fun ecdhP256(peer: ByteArray): ByteArray {
        operations++
        val point = ECPoint(BigInteger(1, peer.copyOfRange(1, 33)), BigInteger(1, peer.copyOfRange(33, 65)))
        val peerKey = KeyFactory.getInstance("EC").generatePublic(ECPublicKeySpec(point, public.params))
        return KeyAgreement.getInstance("ECDH").run {
            init(pair.private)
            doPhase(peerKey, true)
            generateSecret()
        }
    }

    override fun rsaOaepSha256Decrypt(ciphertext: ByteArray): ByteArray = throw HostException.Failed("not an RSA key")
}

fun readAll(title: FountTitle, track: UInt = 0u): ByteArray {
    val length = title.tracks()[track.toInt()].length
    val out = java.io.ByteArrayOutputStream()
    var at = 0uL
    while (at < length) {
        val chunk = title.read(track, at, 100_000uL)
        out.write(chunk)
        at += chunk.size.toULong()
    }
    return out.toByteArray()
}

fun wholePathFromRegistrationToIdenticalBytes() {
    val customer = "kotlin-${System.nanoTime()}"
    val token = Demo.token(customer)
    val dir = tempDir()
    val client = newClient(dir)
    val device = client.registerDevice(token, "JVM test")
    assertEquals(client.deviceId(), device.id)
    assertFailsWith<FountException.NotEntitled> { client.acquireLicense(token, Demo.titleId) }
    Demo.grant(customer)
    val license = client.acquireLicense(token, Demo.titleId)
    assertEquals(LicenseStatus.ACTIVE, license.status)
    assertEquals(listOf(license), client.licenses())

    val title = client.openTitle(Demo.titleId)
    assertEquals("The Fount Sampler", title.name())
    assertTrue(title.chapters().size >= 2)
    assertEquals(listOf("The Spring", "The Keeper", "The Library"), title.chapters().map { it.title })
    assertEquals("audio/mpeg", title.tracks()[0].mediaType)
    assertContentEquals(Demo.sample.copyOfRange(1000, 71000), title.read(0u, 1000uL, 70000uL))
    assertContentEquals(Demo.sample, readAll(title))

    // Offline: download, cut the network, and everything still plays.
    title.download()
    val offline = newClient(dir, Offline()).openTitle(Demo.titleId)
    assertTrue(offline.isDownloaded())
    assertContentEquals(Demo.sample, readAll(offline))
    offline.savePosition(21.0)
    assertEquals(21.0, offline.position()!!, 0.01)
    val mark = offline.addBookmark(13.5, "the keeper")
    assertEquals("The Keeper", mark.chapter)
    assertEquals(listOf(mark.id), offline.bookmarks().map { it.id })
    assertTrue(offline.removeBookmark(mark.id))
    assertFailsWith<FountException.Network> { newClient(dir, Offline()).checkStatus(license.id) }
}

fun errorsAreTypedExceptions() {
    val customer = "kotlin-errors-${System.nanoTime()}"
    val token = Demo.token(customer)
    Demo.grant(customer)
    val dir = tempDir()
    val client = newClient(dir)

    assertFailsWith<FountException.Unauthorized> { client.registerDevice("not-a-token", "x") }
    assertFailsWith<FountException.DeviceNotRegistered> { client.acquireLicense(token, Demo.titleId) }
    client.registerDevice(token, "JVM")
    assertFailsWith<FountException.NotFound> { client.acquireLicense(token, "no-such-title") }
    assertFailsWith<FountException.NotLicensed> { client.openTitle(Demo.titleId) }
    val license = client.acquireLicense(token, Demo.titleId)

    // Wrong device: this device's license copied to another device's storage.
    val other = tempDir()
    dir.copyRecursively(other, overwrite = true)
    File(other, "fount/device-key").delete()
    assertFailsWith<FountException.WrongDevice> { newClient(other).openTitle(Demo.titleId) }

    // Revoked by the store: the device learns at its status check.
    Demo.store("POST", "/v1/licenses/${license.id}/revoke", "{}")
    assertEquals(LicenseStatus.REVOKED, client.checkStatus(license.id).status)
    assertFailsWith<FountException.Revoked> { client.openTitle(Demo.titleId) }
    assertFailsWith<FountException.Revoked> { client.renewLicense(token, license.id) }
    assertFailsWith<FountException.InvalidInput> { client.acquireLicense(token, "../escape") }
}

fun hostKeyStoreDoesThePrivateKeyOperation() {
    val customer = "kotlin-keystore-${System.nanoTime()}"
    val token = Demo.token(customer)
    Demo.grant(customer)
    val keys = JvmKeyStore()
    val dir = tempDir()
    val client = newClient(dir, keys = keys)
    client.registerDevice(token, "JVM keystore")
    client.acquireLicense(token, Demo.titleId)
    val title = client.openTitle(Demo.titleId)
    assertEquals(1, keys.operations)
    assertContentEquals(Demo.sample.copyOfRange(0, 4096), title.read(0u, 0uL, 4096uL))
    // The core never saw a private key: none is stored.
    assertTrue(!File(dir, "fount/device-key").exists())
    val returned = client.returnLicense(token, client.licenses().single().id)
    assertEquals(LicenseStatus.RETURNED, returned.status)
    assertFailsWith<FountException.Returned> { client.openTitle(Demo.titleId) }
}

fun aCustomerManagesDevicesAndSeesTheLibrary() {
    val customer = "kotlin-account-${System.nanoTime()}"
    val token = Demo.token(customer)
    Demo.grant(customer)
    val phone = newClient(tempDir())
    val laptop = newClient(tempDir())
    phone.registerDevice(token, "phone")
    laptop.registerDevice(token, "laptop")
    val list = phone.devices(token)
    assertEquals(listOf("laptop", "phone"), list.devices.map { it.name }.sorted())
    assertEquals(listOf(phone.deviceId()), list.devices.filter { it.thisDevice }.map { it.id })
    assertEquals("old laptop", phone.renameDevice(token, laptop.deviceId(), "old laptop").name)
    assertTrue(!phone.removeDevice(token, laptop.deviceId()).active)
    assertFailsWith<FountException.NotFound> { phone.removeDevice(token, laptop.deviceId()) }
    assertFailsWith<FountException.InvalidInput> { phone.renameDevice(token, "not a device", "x") }
    assertEquals(listOf("phone"), phone.devices(token).devices.map { it.name })
    val item = phone.library(token).single()
    assertEquals(Demo.titleId, item.titleId)
    assertEquals(Access.OWNED, item.access)
    assertEquals("The Fount Sampler", item.name)
}

fun positionAndBookmarksFollowTheListener() {
    val customer = "kotlin-sync-${System.nanoTime()}"
    val token = Demo.token(customer)
    Demo.grant(customer)
    val phone = newClient(tempDir())
    val tablet = newClient(tempDir())
    for (c in listOf(phone, tablet)) {
        c.registerDevice(token, "a device")
        c.acquireLicense(token, Demo.titleId)
    }
    val p = phone.openTitle(Demo.titleId)
    val t = tablet.openTitle(Demo.titleId)
    p.savePosition(21.0)
    val mark = p.addBookmark(14.0, "the keeper")
    val sent = p.syncListening(token)
    assertEquals(2u to 0u, sent.sent to sent.received)
    val got = t.syncListening(token)
    assertEquals(2u, got.received)
    assertTrue(kotlin.math.abs(got.position!! - 21.0) < 0.01)
    assertEquals(listOf(mark.id to "the keeper"), t.bookmarks().map { it.id to it.note })
    // A second later (the clock counts seconds) the tablet removes it; the phone learns.
    Thread.sleep(1100)
    assertTrue(t.removeBookmark(mark.id))
    t.savePosition(30.0)
    assertEquals(2u, t.syncListening(token).sent)
    assertEquals(2u, p.syncListening(token).received)
    assertTrue(kotlin.math.abs(p.position()!! - 30.0) < 0.01)
    assertTrue(p.bookmarks().isEmpty())
}

fun main() {
    val tests = listOf(
        "position and bookmarks follow the listener" to ::positionAndBookmarksFollowTheListener,
        "a customer manages their devices and sees their library" to ::aCustomerManagesDevicesAndSeesTheLibrary,
        "whole path from registration to identical bytes" to ::wholePathFromRegistrationToIdenticalBytes,
        "errors are typed exceptions" to ::errorsAreTypedExceptions,
        "a host key store does the private-key operation" to ::hostKeyStoreDoesThePrivateKeyOperation,
        "a key store keeps the device key (PKCS12 standing in for the AndroidKeyStore)" to ::aKeyStoreKeepsTheDeviceKey,
        "server problems read in the message" to ::serverProblemsReadInTheMessage,
        "a 100 MB download killed with its JVM resumes in another" to ::aKilledDownloadResumesInAnotherJvm,
        "a Flow of progress; pause, resume, cancel; a damaged block; the quota" to { flowOfProgressPauseResumeCancelAndTheQuota() },
    )
    var failed = 0
    for ((name, test) in tests) {
        try {
            test()
            println("ok      $name")
        } catch (e: Throwable) {
            failed++
            println("FAILED  $name: $e")
            e.printStackTrace()
        }
    }
    println("${tests.size - failed} passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
