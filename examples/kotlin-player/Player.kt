// A command-line player: downloads a title for offline use and writes each decrypted track to
// a file (what an app would hand to its audio player).
//
//   fount-player <server URL> <customer token> <title id> <output folder> [storage folder]
//
// The customer token comes from the store's backend (POST /v1/customers/{id}/tokens). The
// storage folder keeps the device key, the license and the downloaded title between runs
// (default: ./fount-player-data); a second run plays without the network.
import dev.fount.FileStorage
import dev.fount.FountClient
import dev.fount.HttpUrlConnectionTransport
import dev.fount.SystemClock
import dev.fount.sdk.FountException
import java.io.File
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    if (args.size !in 4..5) {
        System.err.println("usage: fount-player <server URL> <customer token> <title id> <output folder> [storage folder]")
        exitProcess(2)
    }
    val (server, token, titleId, output) = args
    val storage = File(args.getOrElse(4) { "fount-player-data" })
    try {
        val client = FountClient(server, HttpUrlConnectionTransport(), FileStorage(storage), SystemClock(), null)
        if (client.licenses().none { it.titleId == titleId }) {
            client.registerDevice(token, "fount-player on ${System.getProperty("os.name")}")
            client.acquireLicense(token, titleId)
            println("licensed ${titleId} to device ${client.deviceId()}")
        }
        val title = client.openTitle(titleId)
        if (!title.isDownloaded()) {
            title.download()
            println("downloaded for offline use")
        }
        println("${title.name()}${title.author()?.let { " by $it" } ?: ""}, ${"%.1f".format(title.duration())} s")
        for (chapter in title.chapters()) println("  %7.1f s  %s".format(chapter.start, chapter.title))
        File(output).mkdirs()
        for (track in title.tracks()) {
            val extension = when (track.mediaType) {
                "audio/mpeg" -> "mp3"; "audio/mp4" -> "m4a"; "audio/flac" -> "flac"; "audio/ogg" -> "ogg"; "audio/wav" -> "wav"
                else -> "bin"
            }
            val file = File(output, "%02d.%s".format(track.index.toInt() + 1, extension))
            file.outputStream().use { out ->
                var at = 0uL
                while (at < track.length) {
                    val bytes = title.read(track.index, at, 1uL shl 20)
                    out.write(bytes)
                    at += bytes.size.toULong()
                }
            }
            println("wrote ${file.path} (${file.length()} bytes, ${track.mediaType})")
        }
    } catch (e: FountException) {
        System.err.println("fount-player: ${e::class.simpleName}: ${e.message}")
        exitProcess(1)
    }
}
