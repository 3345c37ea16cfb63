import HallsyncDomain

/// Whether a portal record at or below the version hallsync holds is a repeat — a page read
/// again, a lagging replica — or contradicts what it holds: the same version with other content,
/// or a lower version changed after the stored one (an id issued again for another applicant).
/// A contradiction changes nothing; it is shown. Pure.
///
///     PortalVersionCheck.contradiction(of: incoming, content: try canonical(incoming), stored: held)   // nil: a repeat, ignored
///
/// Depends on nothing below it: the stored version is given as plain values.
public enum PortalVersionCheck {
    /// The version hallsync holds.
    public struct Held: Sendable {
        public var version: Int
        public var updateTime: String
        /// Its content in canonical form; nil when retention erased it (it no longer equals what
        /// was sent: nothing to compare).
        public var content: String?

        public init(version: Int, updateTime: String, content: String?) {
            self.version = version
            self.updateTime = updateTime
            self.content = content
        }
    }

    /// `content`: the incoming record in the same canonical form as ``Held/content``; made only
    /// when the versions are equal (a re-read of an older version is not encoded).
    public static func contradiction(of incoming: PortalReservation, content: @autoclosure () throws -> String,
                              stored: Held) rethrows -> (zh: String, en: String)? {
        if incoming.version == stored.version {
            guard let held = stored.content, try content() != held else { return nil }
            return ("门户以同一版本号（\(incoming.version)）发送了与已收到内容不同的预约记录；本系统未采用新内容，仍按已收到的处理。请联系门户运维核查该预约",
                    "The portal sent version \(incoming.version) of this reservation again with other content; hallsync kept the content it had. Ask the portal's operators to check the reservation.")
        }
        // Versions only grow with time: a lower one changed later than the stored one is not a repeat.
        guard let time = BeijingTime(parsing: incoming.updateTime), let storedTime = BeijingTime(parsing: stored.updateTime),
              time > storedTime else { return nil }
        return ("门户发送了该预约较低的版本号 \(incoming.version)（已收到版本 \(stored.version)），更新时间却更晚（\(incoming.updateTime)），可能是同一预约编号被重新用于另一申请；本系统未采用，请联系门户运维核查",
                "The portal sent version \(incoming.version) of this reservation, lower than the version \(stored.version) hallsync holds but changed later (\(incoming.updateTime)): perhaps the id was issued again for another applicant. hallsync did not take it; ask the portal's operators to check.")
    }
}
