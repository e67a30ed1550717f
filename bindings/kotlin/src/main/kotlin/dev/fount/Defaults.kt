// Default host services for the JVM and Android: HTTP over HttpURLConnection, storage in a
// folder, the system clock. An app can replace any of them (OkHttp, Room, a Keystore-backed
// DeviceKeyStore) by implementing the interface.
package dev.fount

import dev.fount.sdk.HttpHeader
import dev.fount.sdk.HttpRequest
import dev.fount.sdk.HttpResponse
import java.io.File
import java.io.IOException
import java.net.HttpURLConnection
import java.net.URI

/** HTTP over [HttpURLConnection], which Android and every JVM have. */
class HttpUrlConnectionTransport(
    private val connectTimeoutMillis: Int = 15_000,
    private val readTimeoutMillis: Int = 60_000,
) : HttpTransport {
    override fun send(request: HttpRequest): HttpResponse {
        try {
            val connection = URI(request.url).toURL().openConnection() as HttpURLConnection
            connection.requestMethod = request.method
            connection.connectTimeout = connectTimeoutMillis
            connection.readTimeout = readTimeoutMillis
            connection.instanceFollowRedirects = true
            for (header in request.headers) connection.setRequestProperty(header.name, header.value)
            if (request.body.isNotEmpty()) {
                // Buffered, not in streaming mode: in streaming mode the JDK cannot give the body
                // of a 401 (HttpRetryException), and the problem's detail would be lost.
                connection.doOutput = true
                connection.outputStream.use { it.write(request.body) }
            }
            val status = connection.responseCode
            // Error bodies (problem details) come from errorStream; the JDK returns null there
            // for some statuses (401 with WWW-Authenticate), where inputStream throws instead.
            val stream = if (status >= 400) connection.errorStream ?: runCatching { connection.inputStream }.getOrNull() else connection.inputStream
            val body = stream?.use { it.readBytes() } ?: ByteArray(0)
            val headers = connection.headerFields
                .filterKeys { it != null }
                .flatMap { (name, values) -> values.map { HttpHeader(name.lowercase(), it) } }
            connection.disconnect()
            return HttpResponse(status.toUShort(), headers, body)
        } catch (e: IOException) {
            throw HostException.Failed("${e.javaClass.simpleName}: ${e.message}")
        }
    }
}

/**
 * Storage in a folder: one file per key. Keys are ASCII paths (`fount/license/<title>`); each
 * becomes a file under [root]. Writes go to a temporary file first and are renamed into
 * place, so a crash never leaves half a value.
 */
class FileStorage(private val root: File) : Storage {
    init {
        root.mkdirs()
    }

    private fun file(key: String): File {
        require(key.isNotEmpty() && !key.split('/').any { it == ".." || it.isEmpty() }) { "bad key $key" }
        return File(root, key)
    }

    override fun load(key: String): ByteArray? = try {
        file(key).takeIf { it.isFile }?.readBytes()
    } catch (e: IOException) {
        throw HostException.Failed("load $key: ${e.message}")
    }

    override fun save(key: String, value: ByteArray) {
        try {
            val target = file(key)
            target.parentFile.mkdirs()
            val tmp = File(target.parentFile, ".${target.name}.tmp")
            tmp.writeBytes(value)
            if (!tmp.renameTo(target)) {
                target.delete()
                if (!tmp.renameTo(target)) throw IOException("rename failed")
            }
        } catch (e: IOException) {
            throw HostException.Failed("save $key: ${e.message}")
        }
    }

    override fun remove(key: String) {
        file(key).delete()
    }

    override fun keys(prefix: String): List<String> =
        root.walkTopDown()
            .filter { it.isFile && !it.name.startsWith(".") }
            .map { it.relativeTo(root).invariantSeparatorsPath }
            .filter { it.startsWith(prefix) }
            .sorted()
            .toList()
}

/** The system clock. */
class SystemClock : Clock {
    override fun nowSeconds(): Long = System.currentTimeMillis() / 1000
}
