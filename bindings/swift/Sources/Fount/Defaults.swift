// Default host services on Apple platforms: HTTP over URLSession, storage in a folder, the
// system clock. The client's calls block, so call them from a background Task; these
// implementations block that task's thread, never the main one.
import Foundation

/// HTTP over URLSession.
public final class URLSessionTransport: HttpTransport {
    private let session: URLSession

    public init(session: URLSession = .shared) {
        self.session = session
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url) else { throw HostError.Failed(reason: "bad URL \(request.url)") }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        for header in request.headers {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        if !request.body.isEmpty {
            urlRequest.httpBody = request.body
        }
        let done = DispatchSemaphore(value: 0)
        var result: Result<(Data, HTTPURLResponse), Error> = .failure(URLError(.unknown))
        let task = session.dataTask(with: urlRequest) { data, response, error in
            if let error = error {
                result = .failure(error)
            } else if let http = response as? HTTPURLResponse {
                result = .success((data ?? Data(), http))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        switch result {
        case .failure(let error):
            throw HostError.Failed(reason: error.localizedDescription)
        case .success(let (data, http)):
            let headers = http.allHeaderFields.map { HttpHeader(name: "\($0.key)".lowercased(), value: "\($0.value)") }
            return HttpResponse(status: UInt16(http.statusCode), headers: headers, body: data)
        }
    }
}

/// One file per key under a folder (Application Support by default), replaced atomically.
public final class FileStorage: Storage {
    private let root: URL

    public init(root: URL) {
        self.root = root
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    private func url(_ key: String) throws -> URL {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        if key.isEmpty || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw HostError.Failed(reason: "bad key \(key)")
        }
        return root.appendingPathComponent(key)
    }

    public func load(key: String) throws -> Data? {
        let file = try url(key)
        return FileManager.default.fileExists(atPath: file.path) ? try Data(contentsOf: file) : nil
    }

    public func save(key: String, value: Data) throws {
        let file = try url(key)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            try value.write(to: file, options: .atomic)
        } catch {
            throw HostError.Failed(reason: "save \(key): \(error.localizedDescription)")
        }
    }

    public func remove(key: String) throws {
        try? FileManager.default.removeItem(at: try url(key))
    }

    public func keys(prefix: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var found: [String] = []
        let base = root.standardizedFileURL.path + "/"
        for case let file as URL in walker where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let key = String(file.standardizedFileURL.path.dropFirst(base.count))
            if key.hasPrefix(prefix) { found.append(key) }
        }
        return found.sorted()
    }
}

/// The system clock.
public final class SystemClock: Clock {
    public init() {}

    public func nowSeconds() -> Int64 {
        Int64(Date().timeIntervalSince1970)
    }
}
