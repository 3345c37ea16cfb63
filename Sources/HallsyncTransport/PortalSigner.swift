import Crypto
import Foundation

/// Signs portal requests (contract §2.1).
///
///     let signer = PortalSigner(appId: "hallsync", appSecret: secret)
///     let headers = signer.headers(method: "GET", target: "/gateway/api/v1/reservations?pageNo=1",
///                                  body: Data(), timestampMillis: 1631325600000, nonce: "a1b2c3d4e5f6g7h8")
///
/// Canonical string: METHOD, request target (path and query exactly as sent), X-Timestamp,
/// X-Nonce, lowercase hex SHA-256 of the body — joined by `\n`. Signature: lowercase hex
/// HMAC-SHA256 with the app secret.
public struct PortalSigner: Sendable {
    public let appId: String
    private let secret: Data

    public init(appId: String, appSecret: String) {
        self.appId = appId
        self.secret = Data(appSecret.utf8)
    }

    public static func canonicalString(method: String, target: String, timestampMillis: Int64, nonce: String, body: Data) -> String {
        [method.uppercased(), target, String(timestampMillis), nonce, hex(SHA256.hash(data: body))].joined(separator: "\n")
    }

    public func signature(method: String, target: String, timestampMillis: Int64, nonce: String, body: Data) -> String {
        let canonical = Self.canonicalString(method: method, target: target, timestampMillis: timestampMillis, nonce: nonce, body: body)
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(canonical.utf8), using: SymmetricKey(data: secret)))
    }

    public func headers(method: String, target: String, body: Data, timestampMillis: Int64, nonce: String) -> [(name: String, value: String)] {
        [("X-App-Id", appId), ("X-Timestamp", String(timestampMillis)), ("X-Nonce", nonce),
         ("X-Signature", signature(method: method, target: target, timestampMillis: timestampMillis, nonce: nonce, body: body))]
    }

    /// 32 random characters of `[0-9a-zA-Z]`, unbiased: random bytes from one draw of the
    /// system generator per 8, each under 248 (4 × 62) taken modulo 62, the others drawn again.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        var characters = [UInt8]()
        characters.reserveCapacity(32)
        while characters.count < 32 {
            var word = generator.next()
            for _ in 0..<8 where characters.count < 32 {
                let byte = UInt8(truncatingIfNeeded: word)
                word >>= 8
                if byte < 248 { characters.append(nonceAlphabet[Int(byte % 62)]) }
            }
        }
        return String(decoding: characters, as: UTF8.self)
    }

    private static let nonceAlphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in digest {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
