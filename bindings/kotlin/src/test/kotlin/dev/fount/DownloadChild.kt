// One run of an app downloading a title, in its own JVM so that the test can kill it: prints
// each progress as a line "state bytes total", then "final state bytes total".
//   java … dev.fount.DownloadChildKt SERVER TOKEN TITLE DIR TAG
package dev.fount

import dev.fount.sdk.DownloadSettings
import dev.fount.sdk.HttpHeader
import dev.fount.sdk.HttpRequest
import dev.fount.sdk.HttpResponse
import java.io.File

/** Tells the test proxy which run this is. */
class Tagged(private val tag: String) : HttpTransport {
    private val inner = HttpUrlConnectionTransport(connectTimeoutMillis = 5_000, readTimeoutMillis = 30_000)
    override fun send(request: HttpRequest): HttpResponse =
        inner.send(request.copy(headers = request.headers + HttpHeader("x-test-app", tag)))
}

fun line(p: dev.fount.sdk.DownloadProgress) = "${p.state.name.lowercase()} ${p.bytes} ${p.total}"

fun main(args: Array<String>) {
    val (server, token, title, dir, tag) = args
    val client = FountClient(server, Tagged(tag), FileStorage(File(dir)), SystemClock(), null)
    client.registerDevice(token, "JVM")
    if (client.licenses().none { it.titleId == title }) client.acquireLicense(token, title)
    client.setDownloadSettings(DownloadSettings(parallel = 4u, attempts = 4u, retryDelayMs = 50uL, quotaBytes = null))
    client.enqueueDownload(title)
    val all = client.runDownloads(object : DownloadListener {
        override fun onProgress(progress: dev.fount.sdk.DownloadProgress) {
            println(line(progress))
            System.out.flush()
        }
    })
    println("final " + line(all.first { it.titleId == title }))
}
