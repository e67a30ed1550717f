// A device key in the Secure Enclave: the private key never leaves it, and the Fount core
// only ever receives the ECDH shared secret it asked for.
import CryptoKit
import Foundation
import Security

/// A P-256 key in the Secure Enclave (falling back to a Keychain-kept software key on devices
/// and simulators without one). The key's opaque handle is kept in the Keychain under
/// `service`/`account`; it is created on first use and bound to this device.
public final class SecureEnclaveKeyStore: DeviceKeyStore {
    private let service: String
    private let account: String

    public init(service: String = "dev.fount.device-key", account: String = "default") {
        self.service = service
        self.account = account
    }

    private enum Key {
        case enclave(SecureEnclave.P256.KeyAgreement.PrivateKey)
        case software(P256.KeyAgreement.PrivateKey)

        var publicKey: P256.KeyAgreement.PublicKey {
            switch self {
            case .enclave(let k): return k.publicKey
            case .software(let k): return k.publicKey
            }
        }

        func sharedSecret(with peer: P256.KeyAgreement.PublicKey) throws -> SharedSecret {
            switch self {
            case .enclave(let k): return try k.sharedSecretFromKeyAgreement(with: peer)
            case .software(let k): return try k.sharedSecretFromKeyAgreement(with: peer)
            }
        }
    }

    private func keychainQuery() -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: account]
    }

    private func loadOrCreate() throws -> Key {
        var query = keychainQuery()
        query[kSecReturnData as String] = true
        var item: CFTypeRef?
        if SecItemCopyMatching(query as CFDictionary, &item) == errSecSuccess, let data = item as? Data, let tag = data.first {
            let blob = data.dropFirst()
            if tag == 1 { return .enclave(try SecureEnclave.P256.KeyAgreement.PrivateKey(dataRepresentation: blob)) }
            return .software(try P256.KeyAgreement.PrivateKey(rawRepresentation: blob))
        }
        let key: Key
        let stored: Data
        if SecureEnclave.isAvailable {
            let k = try SecureEnclave.P256.KeyAgreement.PrivateKey()
            key = .enclave(k)
            stored = Data([1]) + k.dataRepresentation
        } else {
            let k = P256.KeyAgreement.PrivateKey()
            key = .software(k)
            stored = Data([0]) + k.rawRepresentation
        }
        var add = keychainQuery()
        add[kSecValueData as String] = stored
        add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(add as CFDictionary, nil)
        guard status == errSecSuccess else { throw HostError.Failed(reason: "Keychain error \(status)") }
        return key
    }

    private static func b64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public func publicJwk() throws -> String {
        let point = try loadOrCreate().publicKey.x963Representation // 0x04 || x || y
        let x = Self.b64url(point.subdata(in: 1..<33))
        let y = Self.b64url(point.subdata(in: 33..<65))
        return "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"\(x)\",\"y\":\"\(y)\"}"
    }

    public func ecdhP256(peer: Data) throws -> Data {
        do {
            let peerKey = try P256.KeyAgreement.PublicKey(x963Representation: peer)
            let secret = try loadOrCreate().sharedSecret(with: peerKey)
            return secret.withUnsafeBytes { Data($0) }
        } catch let error as HostError {
            throw error
        } catch {
            throw HostError.Failed(reason: "ECDH: \(error.localizedDescription)")
        }
    }

    public func rsaOaepSha256Decrypt(ciphertext: Data) throws -> Data {
        throw HostError.Failed(reason: "this key store holds a P-256 key")
    }
}
