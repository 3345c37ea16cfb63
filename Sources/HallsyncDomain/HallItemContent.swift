/// What a hall inbox item says about a reservation, in the hall's canonical forms
/// (contract §3.3): every create field except `externalId`, `revision` and `linkedItemNo`.
///
/// Two versions of a reservation whose contents are equal need no update in the hall: this
/// is how the daemon recognises the echo of its own status pushes.
public struct HallItemContent: Codable, Hashable, Sendable {
    public var itemName: String
    public var registerTime: String
    public var deadline: String
    public var applicantType: String
    public var applicantName: String
    public var idType: String
    public var idNumber: String
    public var orgName: String?
    public var orgCode: String?
    public var phone: String
    public var regionCode: String
    public var deptCode: String
    public var itemCode: String
    public var source: String
    public var remark: String

    public init(itemName: String, registerTime: String, deadline: String, applicantType: String,
                applicantName: String, idType: String, idNumber: String, orgName: String?, orgCode: String?,
                phone: String, regionCode: String, deptCode: String, itemCode: String,
                source: String = "ONLINE_RESERVATION", remark: String = "") {
        self.itemName = itemName
        self.registerTime = registerTime
        self.deadline = deadline
        self.applicantType = applicantType
        self.applicantName = applicantName
        self.idType = idType
        self.idNumber = idNumber
        self.orgName = orgName
        self.orgCode = orgCode
        self.phone = phone
        self.regionCode = regionCode
        self.deptCode = deptCode
        self.itemCode = itemCode
        self.source = source
        self.remark = remark
    }
}

extension HallItemContent {
    /// Who the item is about: the applicant's type, document and number, and for an organisation
    /// its credit code. A change of any of these after an item was made is another applicant, not
    /// a correction (a name or a phone may be corrected; an ID number that changes is held).
    public struct Identity: Hashable, Sendable {
        public var applicantType: String
        public var idType: String
        public var idNumber: String
        public var orgCode: String?
    }

    public var identity: Identity {
        Identity(applicantType: applicantType, idType: idType, idNumber: idNumber, orgCode: applicantType == "ORG" ? orgCode : nil)
    }
}

/// The body of `POST /inbox/items` (contract §3.3). Encodes absent values as explicit nulls.
public struct HallItemCreate: Encodable, Hashable, Sendable {
    public var externalId: String
    public var revision: Int
    public var content: HallItemContent
    public var linkedItemNo: String?

    public init(externalId: String, revision: Int, content: HallItemContent, linkedItemNo: String?) {
        self.externalId = externalId
        self.revision = revision
        self.content = content
        self.linkedItemNo = linkedItemNo
    }

    enum Keys: String, CodingKey {
        case externalId, revision, itemName, registerTime, deadline, applicantType, applicantName,
             idType, idNumber, orgName, orgCode, phone, regionCode, deptCode, itemCode, source,
             linkedItemNo, remark
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(externalId, forKey: .externalId)
        try c.encode(revision, forKey: .revision)
        try content.encodeFields(into: &c)
        try c.encode(linkedItemNo, forKey: .linkedItemNo)
    }
}

/// The body of `PATCH /inbox/items/{itemNo}` (contract §3.5): every content field and the revision.
public struct HallItemUpdate: Encodable, Hashable, Sendable {
    public var revision: Int
    public var content: HallItemContent

    public init(revision: Int, content: HallItemContent) {
        self.revision = revision
        self.content = content
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: HallItemCreate.Keys.self)
        try c.encode(revision, forKey: .revision)
        try content.encodeFields(into: &c)
    }
}

extension HallItemContent {
    func encodeFields(into c: inout KeyedEncodingContainer<HallItemCreate.Keys>) throws {
        try c.encode(itemName, forKey: .itemName)
        try c.encode(registerTime, forKey: .registerTime)
        try c.encode(deadline, forKey: .deadline)
        try c.encode(applicantType, forKey: .applicantType)
        try c.encode(applicantName, forKey: .applicantName)
        try c.encode(idType, forKey: .idType)
        try c.encode(idNumber, forKey: .idNumber)
        try c.encode(orgName, forKey: .orgName)
        try c.encode(orgCode, forKey: .orgCode)
        try c.encode(phone, forKey: .phone)
        try c.encode(regionCode, forKey: .regionCode)
        try c.encode(deptCode, forKey: .deptCode)
        try c.encode(itemCode, forKey: .itemCode)
        try c.encode(source, forKey: .source)
        try c.encode(remark, forKey: .remark)
    }
}
