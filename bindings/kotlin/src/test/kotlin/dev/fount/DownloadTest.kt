// The download manager from Kotlin against a live server, through the test proxy
// (scripts/test-proxy.py counts range requests and damages or refuses them on demand): a
// 100 MB title killed with its JVM and resumed by another, the Flow of progress, pause by
// cancelling the collector, a damaged block, the quota; the device key in a key store.
package dev.fount

import dev.fount.sdk.DownloadSettings
import dev.fount.sdk.DownloadState
import dev.fount.sdk.FountException
import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.security.KeyStore
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.flow.collect
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.runBlocking
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

object Proxy {
    val url: String = System.getenv("FOUNT_PROXY_URL") ?: error("FOUNT_PROXY_URL is not set")
    val bigTitle: String = System.getenv("FOUNT_BIG_TITLE") ?: error("FOUNT_BIG_TITLE is not set")

    fun call(path: String, body: String? = null): String {
        val c = URI("$url$path").toURL().openConnection() as HttpURLConnection
        c.connectTimeout = 5_000
        c.readTimeout = 30_000
        if (body != null) {
            c.requestMethod = "POST"
            c.doOutput = true
            c.outputStream.use { it.write(body.toByteArray()) }
        }
        check(c.responseCode in 200..299) { "$path: ${c.responseCode}" }
        return c.inputStream.use { it.readBytes().decodeToString() }
    }

    /** Requests for the block starting at [start]. */
    fun requestsAt(start: Long): Int =
        Regex("\"$start\"\\s*:\\s*(\\d+)").find(call("/_proxy/counts"))?.groupValues?.get(1)?.toInt() ?: 0

    /** Block requests made by the app tagged [tag]. */
    fun byApp(tag: String): Int = Regex("\"apps\"\\s*:\\s*\\{[^}]*\"$tag\"\\s*:\\s*(\\d+)").find(call("/_proxy/counts"))?.groupValues?.get(1)?.toInt() ?: 0

    /** How many blocks were requested more than once. */
    fun twice(): Int = Regex("\"ranges\"\\s*:\\s*\\{([^}]*)\\}").find(call("/_proxy/counts"))!!.groupValues[1]
        .split(',').count { it.substringAfter(':').trim().toIntOrNull()?.let { n -> n > 1 } == true }
}

/** A sealed block: the server's chunks (16 KiB and a 16-byte tag each) that hold 1 MiB of audio. */
const val BLOCK = 64L * (16 * 1024 + 16)
const val HEADER = 68L

fun bigCustomer(name: String): String {
    val customer = "kotlin-dl-$name-${System.nanoTime()}"
    Demo.store("POST", "/v1/entitlements", """{"customer":"$customer","title":"${Proxy.bigTitle}","kind":"purchase"}""")
    return Demo.token(customer)
}

data class Step(val state: String, val bytes: Long, val total: Long)

/** Runs the child JVM; kills it (SIGKILL) once it reports [killAt] bytes stored. */
fun child(token: String, dir: File, tag: String, killAt: Long? = null): Pair<List<Step>, Step?> {
    val java = File(System.getProperty("java.home"), "bin/java").path
    val process = ProcessBuilder(
        java, "-Djna.library.path=${System.getProperty("jna.library.path")}", "-cp", System.getProperty("java.class.path"),
        "dev.fount.DownloadChildKt", Proxy.url, token, Proxy.bigTitle, dir.path, tag,
    ).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val steps = mutableListOf<Step>()
    var final: Step? = null
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150)
    process.inputStream.bufferedReader().useLines { lines ->
        for (l in lines) {
            val parts = l.split(' ')
            if (parts[0] == "final") {
                final = Step(parts[1], parts[2].toLong(), parts[3].toLong())
                continue
            }
            val step = Step(parts[0], parts[1].toLong(), parts[2].toLong())
            steps += step
            if (killAt != null && step.bytes >= killAt) {
                process.destroyForcibly()
                break
            }
            check(System.nanoTime() < deadline) { "the child JVM took too long" }
        }
    }
    check(process.waitFor(30, TimeUnit.SECONDS)) { "the child JVM did not end" }
    return steps to final
}

fun inOrder(steps: List<Step>) = steps.zipWithNext().all { (a, b) -> a.bytes <= b.bytes }

fun aKilledDownloadResumesInAnotherJvm() {
    Proxy.call("/_proxy/reset", "{}")
    Proxy.call("/_proxy/faults", """{"delayMs": 20}""")
    val token = bigCustomer("kill")
    val dir = tempDir()
    val (first, _) = child(token, dir, "first", killAt = 30_000_000)
    assertTrue(inOrder(first))
    Proxy.call("/_proxy/faults", """{"delayMs": 0}""")
    val (second, final) = child(token, dir, "second")
    assertEquals("done", final!!.state)
    assertTrue(final.total > 100_000_000 && final.bytes == final.total)
    val kept = second.first().bytes
    assertTrue(kept >= first.last().bytes, "the record has what the killed JVM was told")
    assertTrue(inOrder(second))
    assertEquals(Step("done", final.total, final.total), second.last())
    val blocks = (final.total - HEADER + BLOCK - 1) / BLOCK
    assertEquals((blocks - (kept - HEADER) / BLOCK).toInt(), Proxy.byApp("second"), "only the missing blocks were fetched")
    assertTrue(Proxy.twice() <= 4, "at most one block per request in flight fetched twice")
    dir.deleteRecursively()
}

fun flowOfProgressPauseResumeCancelAndTheQuota() = runBlocking {
    Proxy.call("/_proxy/reset", "{}")
    val token = bigCustomer("flow")
    val dir = tempDir()
    val fount = SuspendingFountClient(FountClient(Proxy.url, HttpUrlConnectionTransport(), FileStorage(dir), SystemClock(), null))
    fount.registerDevice(token, "JVM")
    fount.acquireLicense(token, Proxy.bigTitle)
    fount.setDownloadSettings(DownloadSettings(parallel = 4u, attempts = 4u, retryDelayMs = 20uL, quotaBytes = null))
    val damaged = HEADER + 7 * BLOCK
    Proxy.call("/_proxy/faults", """{"corruptOnce": $damaged}""")

    // Collected until 20 MB are stored, then the collector stops: the download pauses.
    val early = fount.download(Proxy.bigTitle).takeWhile { it.bytes < 20_000_000uL }.toList()
    assertTrue(early.zipWithNext().all { (a, b) -> a.bytes <= b.bytes })
    var paused = fount.downloadProgress(Proxy.bigTitle)
    val until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
    while (paused.state == DownloadState.DOWNLOADING && System.nanoTime() < until) {
        Thread.sleep(50)
        paused = fount.downloadProgress(Proxy.bigTitle)
    }
    assertEquals(DownloadState.PAUSED, paused.state)
    assertTrue(paused.bytes in 20_000_000uL until paused.total)

    // Collected to the end: in order, ending done at the total.
    val rest = fount.download(Proxy.bigTitle).toList()
    assertTrue(rest.zipWithNext().all { (a, b) -> a.bytes <= b.bytes })
    assertEquals(DownloadState.DONE, rest.last().state)
    assertEquals(rest.last().total, rest.last().bytes)
    assertTrue(rest.first().bytes >= paused.bytes, "resumed from what was stored")
    assertEquals(2, Proxy.requestsAt(damaged), "the damaged block was fetched again")
    assertEquals(rest.last().total, fount.storageUsage().bytes)

    val cancelled = fount.cancelDownload(Proxy.bigTitle)
    assertEquals(DownloadState.CANCELLED to 0uL, cancelled.state to cancelled.bytes)
    fount.setDownloadSettings(DownloadSettings(parallel = 4u, attempts = 4u, retryDelayMs = 20uL, quotaBytes = rest.last().total / 2u))
    val refused = assertFailsWith<FountException.QuotaExceeded> { fount.download(Proxy.bigTitle).collect() }
    assertTrue(refused.message!!.contains("needs"), refused.message)
    dir.deleteRecursively()
}

fun serverProblemsReadInTheMessage() {
    val e = assertFailsWith<FountException.Unauthorized> { newClient(tempDir()).registerDevice("not-a-token", "x") }
    val message = e.message ?: ""
    assertTrue(!message.contains("()") && !message.startsWith("HTTP "), "the server's detail, not a bare status: $message")
}

fun aKeyStoreKeepsTheDeviceKey() {
    // A PKCS12 store made by the JDK's keytool, as the AndroidKeyStore makes its key in hardware.
    val file = File(tempDir(), "device.p12")
    val password = "test-only".toCharArray()
    fun open(): KeyStore = KeyStore.getInstance("PKCS12").apply {
        if (file.exists()) file.inputStream().use { load(it, password) } else load(null, password)
    }
    var made = 0
    fun store(ks: KeyStore) = KeyStoreDeviceKeyStore(ks, password = password) { alias ->
        made++
        val keytool = File(System.getProperty("java.home"), "bin/keytool").path
        val p = ProcessBuilder(keytool, "-genkeypair", "-keyalg", "EC", "-groupname", "secp256r1", "-alias", alias,
            "-keystore", file.path, "-storetype", "PKCS12", "-storepass", String(password), "-keypass", String(password),
            "-dname", "CN=fount device", "-validity", "3650").redirectErrorStream(true).start()
        check(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) { p.inputStream.readBytes().decodeToString() }
        file.inputStream().use { ks.load(it, password) }
    }
    val customer = "kotlin-keystore-${System.nanoTime()}"
    val token = Demo.token(customer)
    Demo.grant(customer)
    val dir = tempDir()
    val client = FountClient(Demo.baseUrl, HttpUrlConnectionTransport(), FileStorage(dir), SystemClock(), store(open()))
    client.registerDevice(token, "JVM with a key store")
    client.acquireLicense(token, Demo.titleId)
    assertContentEquals(Demo.sample, readAll(client.openTitle(Demo.titleId)))
    assertEquals(1, made)
    // Restarted: the same key from the store, the same device; no new key made.
    val again = FountClient(Demo.baseUrl, HttpUrlConnectionTransport(), FileStorage(dir), SystemClock(), store(open()))
    assertEquals(client.deviceId(), again.deviceId())
    assertContentEquals(Demo.sample, readAll(again.openTitle(Demo.titleId)))
    assertEquals(1, made)
    assertTrue(File(dir, "fount/device-key").exists().not(), "no software key was stored")
}
