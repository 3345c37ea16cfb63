/// Why a reservation cannot be delivered as it stands, in words a clerk can act on.
///
///     DomainError(code: .idCheckDigit, field: "applicant.idNumber",
///                 zh: "身份证号校验位错误，请联系申请人核对证件号码",
///                 en: "The ID number's check digit is wrong; ask the applicant to confirm the number.")
///
/// `code` is stable (it is stored, counted and documented); the messages may improve.
public struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let missingField = Code(rawValue: "MISSING_FIELD")
        public static let idFormat = Code(rawValue: "ID_NUMBER_FORMAT")
        public static let idBirthDate = Code(rawValue: "ID_NUMBER_BIRTH_DATE")
        public static let idCheckDigit = Code(rawValue: "ID_NUMBER_CHECK_DIGIT")
        public static let idTypeUnknown = Code(rawValue: "ID_TYPE_UNKNOWN")
        public static let orgCodeFormat = Code(rawValue: "ORG_CODE_FORMAT")
        public static let orgCodeCheck = Code(rawValue: "ORG_CODE_CHECK_CHARACTER")
        public static let applicantType = Code(rawValue: "APPLICANT_TYPE_UNKNOWN")
        public static let nameInvalid = Code(rawValue: "NAME_INVALID")
        public static let appointmentDate = Code(rawValue: "APPOINTMENT_DATE_INVALID")
        public static let appointmentSlot = Code(rawValue: "APPOINTMENT_SLOT_INVALID")
        public static let unknownMatter = Code(rawValue: "UNKNOWN_MATTER")
        public static let handleModeUnknown = Code(rawValue: "HANDLE_MODE_UNKNOWN")
        public static let statusUnknown = Code(rawValue: "STATUS_UNKNOWN")
        public static let hallRejected = Code(rawValue: "HALL_REJECTED")
        public static let itemClosed = Code(rawValue: "ITEM_CLOSED")
        public static let outcomeConflict = Code(rawValue: "OUTCOME_CONFLICT")
        public static let cancelledAfterOutcome = Code(rawValue: "CANCELLED_AFTER_OUTCOME")
        public static let portalRefused = Code(rawValue: "PORTAL_REFUSED")
        /// A portal record that could not be decoded at all.
        public static let unreadableRecord = Code(rawValue: "UNREADABLE_RECORD")
        /// A reservation id not of the contract's form (a NUL, a space, too long): never stored as a key.
        public static let reservationIdInvalid = Code(rawValue: "RESERVATION_ID_INVALID")
        /// A region, department or matter code not of the form codes have.
        public static let codeFormat = Code(rawValue: "CODE_FORMAT")
        /// The record's region is not the region hallsync serves (a record of another district in our list).
        public static let regionForeign = Code(rawValue: "REGION_FOREIGN")
        /// The appointment lies before the reservation was made, or implausibly far ahead (1970, 2099).
        public static let appointmentImplausible = Code(rawValue: "APPOINTMENT_IMPLAUSIBLE")
        /// A value longer than the halls accept (a name of a megabyte): held, never sent.
        public static let fieldTooLong = Code(rawValue: "FIELD_TOO_LONG")

        // What a peer said that contradicts hallsync's records: held or shown, never believed.

        /// A new version changes who the applicant is (ID number, document or applicant type, the
        /// organisation's code) after the items were made: nothing is sent until a person decides.
        public static let identityChanged = Code(rawValue: "IDENTITY_CHANGED")
        /// A new version moves the reservation to a matter routed to other halls after items were made.
        public static let routeChanged = Code(rawValue: "ROUTE_CHANGED")
        /// A reservation delivered to the halls is now listed as a pre-upgrade (PHONE) one.
        public static let modeChangedAfterDelivery = Code(rawValue: "MODE_CHANGED_AFTER_DELIVERY")
        /// The portal sent a version hallsync holds with other content, or a lower version after a higher one.
        public static let versionConflict = Code(rawValue: "VERSION_CONFLICT")
        /// The portal lists a reservation as live again after its cancellation was carried out in the halls.
        public static let revivedAfterCancellation = Code(rawValue: "REVIVED_AFTER_CANCEL")
        /// The portal's record shows a processing status hallsync never pushed.
        public static let portalStatusUnexplained = Code(rawValue: "PORTAL_STATUS_UNEXPLAINED")
        /// A hall answered a create with an item number another reservation's copy already holds.
        public static let hallItemConflict = Code(rawValue: "HALL_ITEM_CONFLICT")
        /// A hall holds another item with this reservation's id besides the one hallsync made (made by
        /// hand at the counter, or a change about it that hallsync cannot place).
        public static let otherHallItem = Code(rawValue: "OTHER_HALL_ITEM")
        /// A hall reported a status of one of hallsync's items that contradicts what it reported
        /// before (a closed item open again, closed with another status, or under another reservation's id).
        public static let itemStatusContradiction = Code(rawValue: "ITEM_STATUS_CONTRADICTION")
        /// A lookup by the reservation's id no longer lists the item hallsync made there.
        public static let hallItemMissing = Code(rawValue: "HALL_ITEM_MISSING")
        /// A send in hallsync's own database is damaged (a peer or kind no version writes): not sent.
        public static let sendUnreadable = Code(rawValue: "SEND_UNREADABLE")

        /// Codes about what happened in the halls after delivery: a newer portal version does
        /// not make them go away, so they stay open until a person closes them.
        public static let aboutTheLifecycle: Set<Code> = [
            .itemClosed, .outcomeConflict, .cancelledAfterOutcome, .portalRefused, .identityChanged, .routeChanged,
            .versionConflict, .revivedAfterCancellation, .portalStatusUnexplained, .hallItemConflict,
            .otherHallItem, .itemStatusContradiction, .hallItemMissing, .sendUnreadable,
        ]

        /// Conditions the planner finds in what the reservation and its copies are now: raised while
        /// they hold, closed by hallsync as soon as they no longer do (the portal reverted the change,
        /// a person confirmed it).
        public static let conditions: Set<Code> = [.identityChanged, .routeChanged, .revivedAfterCancellation]

        /// Every code the normaliser and the engine raise, for documentation and checks.
        public static let all: [Code] = [
            .missingField, .idFormat, .idBirthDate, .idCheckDigit, .idTypeUnknown, .orgCodeFormat, .orgCodeCheck,
            .applicantType, .nameInvalid, .appointmentDate, .appointmentSlot, .unknownMatter, .handleModeUnknown, .statusUnknown, .hallRejected,
            .itemClosed, .outcomeConflict, .cancelledAfterOutcome, .portalRefused, .unreadableRecord, .reservationIdInvalid, .codeFormat,
            .regionForeign, .appointmentImplausible, .fieldTooLong, .identityChanged, .routeChanged, .modeChangedAfterDelivery,
            .versionConflict, .revivedAfterCancellation, .portalStatusUnexplained, .hallItemConflict, .otherHallItem,
            .itemStatusContradiction, .hallItemMissing, .sendUnreadable,
        ]
    }

    public let code: Code
    /// The portal field at fault, e.g. `applicant.idNumber`.
    public let field: String
    public let zh: String
    public let en: String

    public init(code: Code, field: String, zh: String, en: String) {
        self.code = code
        self.field = field
        self.zh = zh
        self.en = en
    }

    public var description: String { "\(code) [\(field)]: \(en) / \(zh)" }
}
