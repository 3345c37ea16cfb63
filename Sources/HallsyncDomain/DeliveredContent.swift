import Crypto
import Foundation

/// What a hall item was last sent, kept as digests rather than a third copy of the content: the
/// planner only asks "is it the same?" and "is it the same applicant?", and the summary reads the
/// item's deadline and department. The reservation keeps the content itself; a copy and a send
/// keep this.
///
/// The digests are SHA-256 over the content's canonical JSON (``HallItemContent/canonicalJSON()``);
/// after the retention period a copy's digests are forgotten with the rest of the personal data
/// (nil: not known, which the planner reads as "changed" only for a newer version).
public struct DeliveredContent: Hashable, Sendable {
    /// SHA-256 (hex) of the whole content.
    public var digest: String
    /// SHA-256 (hex) of the applicant's identity in it (``HallItemContent/Identity``).
    public var identity: String
    /// The item's due time as sent (`yyyy-MM-dd HH:mm:ss`): the overdue counts read it.
    public var deadline: String
    /// The department the item was sent to.
    public var deptCode: String

    public init(digest: String, identity: String, deadline: String, deptCode: String) {
        self.digest = digest
        self.identity = identity
        self.deadline = deadline
        self.deptCode = deptCode
    }

    /// The digests of `content`; `canonicalJSON`: its canonical encoding when the caller holds it
    /// already (the store's column), so it is not encoded again.
    public init(_ content: HallItemContent, canonicalJSON: Data? = nil) {
        let json = canonicalJSON ?? content.canonicalJSON()
        self.init(digest: Self.hex(SHA256.hash(data: json)), identity: Self.identityDigest(content.identity),
                  deadline: content.deadline, deptCode: content.deptCode)
    }

    static func identityDigest(_ identity: HallItemContent.Identity) -> String {
        // Unit separators between fields: no two identities share a string.
        let fields = [identity.applicantType, identity.idType, identity.idNumber, identity.orgCode ?? "\u{1E}"]
        return hex(SHA256.hash(data: Data(fields.joined(separator: "\u{1F}").utf8)))
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0x0f)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

extension HallItemContent {
    /// The one encoding the store keeps and the digests are taken over: keys sorted, slashes as
    /// written. Encoding a value of this type cannot fail.
    public func canonicalJSON() -> Data {
        // Only strings and optional strings: no encoding error is possible.
        try! Self.canonicalEncoder.encode(self)
    }

    public static let canonicalEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
}
