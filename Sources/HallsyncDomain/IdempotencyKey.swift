/// Idempotency keys, fixed before the first attempt and derived from what they protect, so a
/// restarted daemon computes the same key for the same send.
///
///     IdempotencyKey.create(reservationId: "YY3710022021090800017", target: .intake, version: 3)
///     // "hs-c-intake-YY3710022021090800017-3"
///
/// Keys are at most 64 characters (contract §2.4, §3.3); a longer one keeps a readable
/// prefix and ends with a 64-bit FNV-1a hash of the whole.
public enum IdempotencyKey {
    public static let maxLength = 64

    public static func create(reservationId: String, target: HallTarget, version: Int) -> String {
        fit("hs-c-\(target)-\(reservationId)-\(version)")
    }

    public static func update(reservationId: String, target: HallTarget, version: Int) -> String {
        fit("hs-u-\(target)-\(reservationId)-\(version)")
    }

    /// One closing action per copy, ever: a hall item closes once.
    public static func action(reservationId: String, target: HallTarget, action: HallAction) -> String {
        fit("hs-a-\(target)-\(reservationId)-\(action.rawValue)")
    }

    /// One push of each status per reservation, ever (the portal accepts each once).
    public static func push(reservationId: String, status: PortalProcessStatus) -> String {
        fit("hs-p-\(reservationId)-\(status.rawValue)")
    }

    /// A create's key after the hall answered it with another reservation's item: that key may
    /// bring the wrong answer back for as long as the hall remembers it, so the create goes again —
    /// after a lookup by `externalId` found no item of its own — under a key of its own.
    public static func afterConflict(_ key: String, attempt: Int) -> String {
        fit("\(key)-x\(attempt)")
    }

    static func fit(_ key: String) -> String {
        let ascii = String(key.unicodeScalars.map { $0.isASCII && $0.value > 0x20 ? Character($0) : "_" })
        guard ascii.utf8.count > maxLength || ascii != key else { return ascii }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let suffix = "-" + String(hash, radix: 16)
        return String(ascii.prefix(maxLength - suffix.count)) + suffix
    }
}
