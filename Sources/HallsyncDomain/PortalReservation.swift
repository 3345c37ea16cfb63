/// A reservation exactly as the portal lists it (contract §2.3), before normalisation.
///
/// Every text field is kept as the portal sent it; cleaning happens in
/// ``ReservationNormalizer``. Decoding is lenient: a missing or null text field decodes as
/// nil, so a dirty record still reaches the normaliser, which says what is wrong with it.
public struct PortalReservation: Codable, Hashable, Sendable {
    public var reservationId: String
    public var version: Int
    public var createTime: String?
    public var updateTime: String
    public var status: String?
    public var processStatus: String?
    public var handleMode: String?
    public var applicant: Applicant
    public var regionCode: String?
    public var deptCode: String?
    public var deptName: String?
    public var itemCode: String?
    public var itemName: String?
    public var appointmentDate: String?
    public var appointmentSlot: String?
    public var channel: String?

    public struct Applicant: Codable, Hashable, Sendable {
        public var type: String?
        public var name: String?
        public var idType: String?
        public var idNumber: String?
        public var orgName: String?
        public var orgCode: String?
        public var phone: String?

        public init(type: String? = "PERSON", name: String? = nil, idType: String? = "ID_CARD",
                    idNumber: String? = nil, orgName: String? = nil, orgCode: String? = nil,
                    phone: String? = nil) {
            self.type = type
            self.name = name
            self.idType = idType
            self.idNumber = idNumber
            self.orgName = orgName
            self.orgCode = orgCode
            self.phone = phone
        }
    }

    public init(reservationId: String, version: Int, createTime: String? = nil, updateTime: String,
                status: String? = "SUBMITTED", processStatus: String? = nil, handleMode: String? = "HALL",
                applicant: Applicant, regionCode: String? = nil, deptCode: String? = nil,
                deptName: String? = nil, itemCode: String? = nil, itemName: String? = nil,
                appointmentDate: String? = nil, appointmentSlot: String? = nil, channel: String? = nil) {
        self.reservationId = reservationId
        self.version = version
        self.createTime = createTime
        self.updateTime = updateTime
        self.status = status
        self.processStatus = processStatus
        self.handleMode = handleMode
        self.applicant = applicant
        self.regionCode = regionCode
        self.deptCode = deptCode
        self.deptName = deptName
        self.itemCode = itemCode
        self.itemName = itemName
        self.appointmentDate = appointmentDate
        self.appointmentSlot = appointmentSlot
        self.channel = channel
    }

    /// `status` trimmed and upper-cased: `SUBMITTED` or `CANCELLED` on a clean record.
    public var normalizedStatus: String { TextCleaning.trimmed(TextCleaning.halfWidth(status ?? "")).uppercased() }

    /// `handleMode` trimmed and upper-cased: `HALL` or `PHONE` on a clean record.
    public var normalizedHandleMode: String { TextCleaning.trimmed(TextCleaning.halfWidth(handleMode ?? "")).uppercased() }

    /// Whether the applicant cancelled online.
    public var isCancelled: Bool { normalizedStatus == "CANCELLED" }

    /// Whether this is a pre-upgrade reservation, verified by phone and never mirrored.
    public var isPhoneVerifiedOnly: Bool { normalizedHandleMode == "PHONE" }
}

extension PortalReservation: Identifiable {
    public var id: String { reservationId }
}
