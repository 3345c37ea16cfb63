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

        /// Codes about what happened in the halls after delivery: a newer portal version does
        /// not make them go away, so they stay open until a person closes them.
        public static let aboutTheLifecycle: Set<Code> = [.itemClosed, .outcomeConflict, .cancelledAfterOutcome, .portalRefused]

        /// Every code the normaliser and the engine raise, for documentation and checks.
        public static let all: [Code] = [
            .missingField, .idFormat, .idBirthDate, .idCheckDigit, .idTypeUnknown, .orgCodeFormat, .orgCodeCheck,
            .applicantType, .nameInvalid, .appointmentDate, .appointmentSlot, .unknownMatter, .handleModeUnknown, .statusUnknown, .hallRejected,
            .itemClosed, .outcomeConflict, .cancelledAfterOutcome, .portalRefused, .unreadableRecord, .reservationIdInvalid, .codeFormat,
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
