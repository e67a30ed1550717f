// Swift concurrency over the blocking binding: `async` versions of the calls an app makes,
// run on a queue of their own (never on the caller's thread, nor on a thread of Swift's
// cooperative pool, which must not block), and downloads as an AsyncThrowingStream of their
// progress.
import Foundation

/// A [FountClient] for Swift concurrency.
///
/// ```swift
/// let fount = AsyncFountClient(try FountClient(serverUrl: url, http: URLSessionTransport(),
///     storage: FileStorage(root: dir), clock: SystemClock(), keyStore: nil))
/// _ = try await fount.acquireLicense(customerToken: token, titleId: titleId)
/// for try await progress in fount.download(titleId: titleId) {
///     row.update(progress.bytes, of: progress.total)
/// }
/// ```
public final class AsyncFountClient: @unchecked Sendable {
    public let client: FountClient
    private let queue = DispatchQueue(label: "dev.fount.calls", qos: .userInitiated, attributes: .concurrent)

    public init(_ client: FountClient) {
        self.client = client
    }

    private func run<T>(_ call: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try call() }) }
        }
    }

    public func registerDevice(customerToken: String, name: String) async throws -> DeviceInfo {
        try await run { try self.client.registerDevice(customerToken: customerToken, name: name) }
    }

    public func library(customerToken: String) async throws -> [LibraryItem] {
        try await run { try self.client.library(customerToken: customerToken) }
    }

    public func acquireLicense(customerToken: String, titleId: String) async throws -> LicenseInfo {
        try await run { try self.client.acquireLicense(customerToken: customerToken, titleId: titleId) }
    }

    public func licenses() async throws -> [LicenseInfo] {
        try await run { try self.client.licenses() }
    }

    public func checkStatus(licenseId: String) async throws -> LicenseInfo {
        try await run { try self.client.checkStatus(licenseId: licenseId) }
    }

    public func renewLicense(customerToken: String, licenseId: String) async throws -> LicenseInfo {
        try await run { try self.client.renewLicense(customerToken: customerToken, licenseId: licenseId) }
    }

    public func returnLicense(customerToken: String, licenseId: String) async throws -> LicenseInfo {
        try await run { try self.client.returnLicense(customerToken: customerToken, licenseId: licenseId) }
    }

    public func openTitle(titleId: String) async throws -> FountTitle {
        try await run { try self.client.openTitle(titleId: titleId) }
    }

    public func setDownloadSettings(_ settings: DownloadSettings) async throws {
        try await run { try self.client.setDownloadSettings(settings: settings) }
    }

    public func enqueueDownload(titleId: String) async throws -> DownloadProgress {
        try await run { try self.client.enqueueDownload(titleId: titleId) }
    }

    public func pauseDownload(titleId: String) async throws -> DownloadProgress {
        try await run { try self.client.pauseDownload(titleId: titleId) }
    }

    public func resumeDownload(titleId: String) async throws -> DownloadProgress {
        try await run { try self.client.resumeDownload(titleId: titleId) }
    }

    public func cancelDownload(titleId: String) async throws -> DownloadProgress {
        try await run { try self.client.cancelDownload(titleId: titleId) }
    }

    public func downloads() async throws -> [DownloadProgress] {
        try await run { try self.client.downloads() }
    }

    public func storageUsage() async throws -> StorageUsage {
        try await run { try self.client.storageUsage() }
    }

    /// Downloads a title: each progress in order, ending with its final state (done, paused or
    /// cancelled); a failure ends the stream with its `FountError` (`.QuotaExceeded`,
    /// `.Network`, …). Ending the iteration early pauses the download, keeping what is stored.
    public func download(titleId: String) -> AsyncThrowingStream<DownloadProgress, Error> {
        stream(pausing: [titleId]) { try self.client.downloadTitle(titleId: titleId, listener: $0) }
    }

    /// Runs the download queue: every queued title's progress, in order per title.
    public func runDownloads() -> AsyncThrowingStream<DownloadProgress, Error> {
        stream(pausing: nil) { _ = try self.client.runDownloads(listener: $0) }
    }

    private func stream(
        pausing titles: [String]?,
        _ call: @escaping (DownloadListener) throws -> Void
    ) -> AsyncThrowingStream<DownloadProgress, Error> {
        AsyncThrowingStream { continuation in
            let finished = Finished()
            queue.async {
                do {
                    try call(StreamListener(continuation))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
                finished.set()
            }
            continuation.onTermination = { _ in
                // The consumer went away before the end: the blocking call cannot be
                // interrupted, so the download is paused.
                guard !finished.get() else { return }
                let running = titles ?? ((try? self.client.downloads()) ?? [])
                    .filter { $0.state == .downloading }.map { $0.titleId }
                for title in running {
                    _ = try? self.client.pauseDownload(titleId: title)
                }
            }
        }
    }
}

/// Passes each progress to a stream.
private final class StreamListener: DownloadListener, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<DownloadProgress, Error>.Continuation

    init(_ continuation: AsyncThrowingStream<DownloadProgress, Error>.Continuation) {
        self.continuation = continuation
    }

    func onProgress(progress: DownloadProgress) {
        continuation.yield(progress)
    }
}

/// A flag set once, read from any thread.
private final class Finished: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    func set() {
        lock.lock()
        done = true
        lock.unlock()
    }

    func get() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return done
    }
}
