// Coroutines over the blocking binding: `suspend` versions of the calls an app makes from a
// coroutine, and downloads as a Flow of their progress. Every call runs on [Dispatchers.IO]
// (or the dispatcher given), never on the caller's thread, so the main thread never blocks.
package dev.fount

import dev.fount.sdk.BookmarkInfo
import dev.fount.sdk.DeviceInfo
import dev.fount.sdk.DeviceList
import dev.fount.sdk.DownloadProgress
import dev.fount.sdk.DownloadSettings
import dev.fount.sdk.DownloadState
import dev.fount.sdk.LibraryItem
import dev.fount.sdk.LicenseInfo
import dev.fount.sdk.StorageUsage
import dev.fount.sdk.SyncReport
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * A [FountClient] for coroutines: `suspend` functions, and [download] as a [Flow].
 *
 * ```kotlin
 * val fount = SuspendingFountClient(FountClient(url, HttpUrlConnectionTransport(), FileStorage(dir), SystemClock(), null))
 * fount.acquireLicense(token, titleId)
 * fount.download(titleId).collect { p -> notification.update(p.bytes, p.total) }
 * ```
 */
class SuspendingFountClient(
    val client: FountClient,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
) {
    private suspend fun <T> io(call: () -> T): T = withContext(dispatcher) { call() }

    suspend fun registerDevice(customerToken: String, name: String): DeviceInfo = io { client.registerDevice(customerToken, name) }
    suspend fun devices(customerToken: String): DeviceList = io { client.devices(customerToken) }
    suspend fun removeDevice(customerToken: String, deviceId: String): DeviceInfo = io { client.removeDevice(customerToken, deviceId) }
    suspend fun library(customerToken: String): List<LibraryItem> = io { client.library(customerToken) }
    suspend fun acquireLicense(customerToken: String, titleId: String): LicenseInfo = io { client.acquireLicense(customerToken, titleId) }
    suspend fun licenses(): List<LicenseInfo> = io { client.licenses() }
    suspend fun checkStatus(licenseId: String): LicenseInfo = io { client.checkStatus(licenseId) }
    suspend fun renewLicense(customerToken: String, licenseId: String): LicenseInfo = io { client.renewLicense(customerToken, licenseId) }
    suspend fun returnLicense(customerToken: String, licenseId: String): LicenseInfo = io { client.returnLicense(customerToken, licenseId) }
    suspend fun openTitle(titleId: String): SuspendingTitle = SuspendingTitle(io { client.openTitle(titleId) }, dispatcher)

    suspend fun setDownloadSettings(settings: DownloadSettings) = io { client.setDownloadSettings(settings) }
    suspend fun enqueueDownload(titleId: String): DownloadProgress = io { client.enqueueDownload(titleId) }
    suspend fun pauseDownload(titleId: String): DownloadProgress = io { client.pauseDownload(titleId) }
    suspend fun resumeDownload(titleId: String): DownloadProgress = io { client.resumeDownload(titleId) }
    suspend fun cancelDownload(titleId: String): DownloadProgress = io { client.cancelDownload(titleId) }
    suspend fun downloadProgress(titleId: String): DownloadProgress = io { client.downloadProgress(titleId) }
    suspend fun downloads(): List<DownloadProgress> = io { client.downloads() }
    suspend fun storageUsage(): StorageUsage = io { client.storageUsage() }

    /**
     * Downloads a title when collected: each progress in order, ending with its final state
     * (done, paused or cancelled). A failure ends the flow with its [dev.fount.sdk.FountException]
     * (`QuotaExceeded`, `Network`, …). Cancelling the collector pauses the download, keeping
     * what is stored.
     */
    fun download(titleId: String): Flow<DownloadProgress> = progressFlow(titleId) { listener -> client.downloadTitle(titleId, listener) }

    /** Runs the queue when collected: every title's progress, in order per title. */
    fun runDownloads(): Flow<DownloadProgress> = progressFlow(null) { listener -> client.runDownloads(listener) }

    private fun progressFlow(titleId: String?, run: (DownloadListener) -> Unit): Flow<DownloadProgress> = callbackFlow {
        val listener = object : DownloadListener {
            override fun onProgress(progress: DownloadProgress) {
                // Waits for a slow collector rather than dropping a step.
                trySendBlocking(progress)
            }
        }
        val finished = java.util.concurrent.atomic.AtomicBoolean(false)
        launch(dispatcher) {
            try {
                run(listener)
                close()
            } catch (e: Exception) {
                close(e)
            } finally {
                finished.set(true)
            }
        }
        awaitClose {
            // The collector went away before the end (the blocking call cannot be interrupted):
            // stop the download, keeping what is stored.
            if (!finished.get()) {
                val titles = if (titleId != null) listOf(titleId) else client.downloads().filter { it.state == DownloadState.DOWNLOADING }.map { it.titleId }
                titles.forEach { runCatching { client.pauseDownload(it) } }
            }
        }
    }.buffer(64).flowOn(dispatcher)
}

/** A [FountTitle] for coroutines. */
class SuspendingTitle(val title: FountTitle, private val dispatcher: CoroutineDispatcher = Dispatchers.IO) {
    private suspend fun <T> io(call: () -> T): T = withContext(dispatcher) { call() }

    suspend fun read(track: UInt, offset: ULong, length: ULong): ByteArray = io { title.read(track, offset, length) }
    suspend fun savePosition(seconds: Double) = io { title.savePosition(seconds) }
    suspend fun position(): Double? = io { title.position() }
    suspend fun addBookmark(seconds: Double, note: String?): BookmarkInfo = io { title.addBookmark(seconds, note) }
    suspend fun bookmarks(): List<BookmarkInfo> = io { title.bookmarks() }
    suspend fun removeBookmark(id: String): Boolean = io { title.removeBookmark(id) }
    suspend fun syncListening(customerToken: String): SyncReport = io { title.syncListening(customerToken) }
    suspend fun removeDownload() = io { title.removeDownload() }
}
