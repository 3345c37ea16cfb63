/// Turns a portal reservation into what the halls accept, or says why it cannot.
///
///     let normalizer = ReservationNormalizer(catalogue: catalogue, calendar: .weekendsOnly,
///                                            settings: .weihai)
///     switch normalizer.normalize(portalReservation) {
///     case .deliverable(let reservation): …   // reservation.content, reservation.route
///     case .phoneVerifiedOnly: …              // counted in the summary, never sent
///     case .undeliverable(let errors): …      // the attention list, with a reason per field
///     }
///
/// Pure: no I/O, no clock, no host time zone.
public struct ReservationNormalizer: Sendable {
    public struct Settings: Hashable, Sendable {
        public var areaCode: String
        public var sessions: Appointment.Sessions
        public var unknownMatter: Route.UnknownMatterPolicy
        /// The region hallsync serves (`portal.regionCode`): a record of another region — or of none
        /// below it — is held, never put into our halls. Nil checks nothing (tools without a site).
        public var regionCode: String?
        /// How far after the reservation was made (or last changed) an appointment may lie.
        public var appointmentMaxDaysAhead: Int

        public init(areaCode: String, sessions: Appointment.Sessions, unknownMatter: Route.UnknownMatterPolicy,
                    regionCode: String? = nil, appointmentMaxDaysAhead: Int = 366) {
            self.areaCode = areaCode
            self.sessions = sessions
            self.unknownMatter = unknownMatter
            self.regionCode = regionCode
            self.appointmentMaxDaysAhead = appointmentMaxDaysAhead
        }

        public static let weihai = Settings(areaCode: "0631", sessions: .weihai, unknownMatter: .licensing)
    }

    public var catalogue: MatterCatalogue
    public var calendar: WorkingCalendar
    public var settings: Settings

    public init(catalogue: MatterCatalogue, calendar: WorkingCalendar, settings: Settings) {
        self.catalogue = catalogue
        self.calendar = calendar
        self.settings = settings
    }

    public func normalize(_ r: PortalReservation) -> Normalization {
        // The id becomes a key in SQL, URLs and idempotency keys: only the contract's form passes.
        guard WireIdentifier.isValid(r.reservationId) else { return .undeliverable([Self.invalidId]) }
        if r.isPhoneVerifiedOnly { return .phoneVerifiedOnly }
        var errors: [DomainError] = []
        var notices: [DomainError] = []
        func attempt<T>(_ body: () throws(DomainError) -> T) -> T? {
            do { return try body() } catch { errors.append(error); return nil }
        }
        func required(_ value: String?, _ field: String, _ zh: String, _ en: String) -> String? {
            let text = TextCleaning.trimmed(value ?? "")
            if text.isEmpty {
                errors.append(DomainError(code: .missingField, field: field, zh: "缺少\(zh)，请核实后补充", en: "The \(en) is missing; check the reservation on the portal."))
                return nil
            }
            return text
        }

        // Only HALL reservations enter an inbox: a mode that is neither is held, never guessed.
        if r.normalizedHandleMode != "HALL" {
            errors.append(DomainError(code: .handleModeUnknown, field: "handleMode",
                                      zh: "预约办理方式无法识别（应为大厅办理或电话核实），请与门户核实该预约",
                                      en: "The handle mode is neither HALL nor PHONE; check with the portal whether this reservation belongs in the hall."))
        }
        if r.normalizedStatus != "SUBMITTED" && r.normalizedStatus != "CANCELLED" {
            errors.append(DomainError(code: .statusUnknown, field: "status",
                                      zh: "预约状态无法识别（应为已提交或已取消），请与门户核实该预约",
                                      en: "The reservation status is neither SUBMITTED nor CANCELLED; check the reservation with the portal."))
        }
        let applicantType = TextCleaning.trimmed(r.applicant.type ?? "").uppercased()
        if applicantType != "PERSON" && applicantType != "ORG" {
            errors.append(DomainError(code: .applicantType, field: "applicant.type",
                                      zh: "申请人类型应为个人或单位，请核实",
                                      en: "The applicant type must be PERSON or ORG; check the reservation on the portal."))
        }
        let name = attempt { () throws(DomainError) in try FieldLimit.applicantName.check(try PersonName.normalize(r.applicant.name)) }
        let idType = TextCleaning.trimmed(TextCleaning.halfWidth(r.applicant.idType ?? "")).uppercased()
        var idNumber: String?
        switch idType {
        case "ID_CARD":
            idNumber = attempt { () throws(DomainError) in try ResidentIdentityNumber.normalize(r.applicant.idNumber) }
        case "PASSPORT", "HK_MACAO_PERMIT", "TAIWAN_PERMIT", "FOREIGN_PR":
            idNumber = attempt { () throws(DomainError) in try OtherIdentityDocument.normalize(r.applicant.idNumber) }
        default:
            errors.append(DomainError(code: .idTypeUnknown, field: "applicant.idType",
                                      zh: "证件类型无法识别，请联系申请人核实证件",
                                      en: "The ID type is not one the hall knows; confirm the document with the applicant."))
        }
        var orgName: String?
        var orgCode: String?
        if applicantType == "ORG" {
            orgName = attempt { () throws(DomainError) in
                try FieldLimit.orgName.check(try PersonName.normalize(r.applicant.orgName, field: "applicant.orgName"))
            }
            orgCode = attempt { () throws(DomainError) in try SocialCreditCode.normalize(r.applicant.orgCode) }
        }
        let phone = PhoneNumber.normalize(r.applicant.phone, areaCode: settings.areaCode)
        var remark = ""
        switch phone {
        case .missing: remark = "预约未留联系电话，请通过其他方式确认预约"
        case .unreadable: remark = "预约联系电话无法识别，请通过其他方式确认预约"
        default: break
        }
        let appointment = attempt { () throws(DomainError) in
            let appointment = try Appointment.parse(date: r.appointmentDate, slot: r.appointmentSlot, sessions: settings.sessions)
            try AppointmentPlausibility(maxDaysAhead: settings.appointmentMaxDaysAhead).check(appointment, of: r)
            return appointment
        }
        var regionCode = required(r.regionCode.map(TextCleaning.halfWidth), "regionCode", "区划代码", "region code")
        if let code = regionCode, !CodeForm.isRegionCode(code) {
            errors.append(Self.badCode(field: "regionCode", zh: "区划代码", en: "region code"))
            regionCode = nil
        } else if let code = regionCode, let ours = settings.regionCode, !code.hasPrefix(ours) {
            // Our list holds only our region's records; one of another region is the portal's mistake.
            errors.append(DomainError(code: .regionForeign, field: "regionCode",
                                      zh: "预约的区划代码（\(code)）不属于本区（\(ours)），未送入大厅，请与门户核实该预约应由哪个区办理",
                                      en: "The reservation's region code \(code) is not this site's region \(ours); nothing was sent to the halls. Ask the portal which region the reservation belongs to."))
            regionCode = nil
        }
        let portalItemCode = required(r.itemCode, "itemCode", "事项编码", "matter code")
        let matter = catalogue.matter(forItemCode: portalItemCode)
        var itemCode = matter?.itemCode ?? portalItemCode.map(MatterCatalogue.key)
        if let code = itemCode, !CodeForm.isCode(code) {
            errors.append(Self.badCode(field: "itemCode", zh: "事项编码", en: "matter code"))
            itemCode = nil
        }
        var deptCode = TextCleaning.trimmed(r.deptCode ?? "").isEmpty ? matter?.deptCode : TextCleaning.trimmed(r.deptCode!)
        if deptCode == nil {
            errors.append(DomainError(code: .missingField, field: "deptCode", zh: "缺少部门编码，请核实后补充", en: "The department code is missing; check the reservation on the portal."))
        } else if let code = deptCode, !CodeForm.isCode(code) {
            errors.append(Self.badCode(field: "deptCode", zh: "部门编码", en: "department code"))
            deptCode = nil
        }
        var itemName = MatterName.hallItemName(portalName: r.itemName, catalogueName: matter?.name)
        if itemName == nil {
            errors.append(DomainError(code: .missingField, field: "itemName", zh: "缺少事项名称，请核实后补充", en: "The matter name is missing; check the reservation on the portal."))
        } else if let name = itemName {
            itemName = attempt { () throws(DomainError) in try FieldLimit.itemName.check(name) }
        }
        var route = Route.licensingOnly
        if let matter {
            route = matter.throughIntake ? .intakeThenLicensing : .licensingOnly
        } else if itemCode != nil {
            let unknown = DomainError(code: .unknownMatter, field: "itemCode",
                                      zh: "事项编码不在事项目录中，请在事项目录中补充该事项",
                                      en: "The matter code is not in the matter catalogue; add it to the catalogue.")
            if settings.unknownMatter == .hold { errors.append(unknown) } else { notices.append(unknown) }
        }
        guard errors.isEmpty, let name, let idNumber, let appointment, let regionCode, let itemCode,
              let deptCode, let itemName else {
            return .undeliverable(errors)
        }
        let deadline = calendar.deadline(forAppointmentStart: appointment.start)
        let content = HallItemContent(
            itemName: itemName, registerTime: appointment.start.description, deadline: deadline.time.description,
            applicantType: applicantType, applicantName: name, idType: idType, idNumber: idNumber,
            orgName: orgName, orgCode: orgCode, phone: phone.canonical, regionCode: regionCode,
            deptCode: deptCode, itemCode: itemCode, remark: remark)
        return .deliverable(NormalizedReservation(
            reservationId: r.reservationId, version: r.version, isCancelled: r.isCancelled,
            content: content, route: route, notices: notices,
            deadlineUsedFallback: deadline.usedFallback))
    }
}

extension ReservationNormalizer {
    public static let invalidId = DomainError(
        code: .reservationIdInvalid, field: "reservationId",
        zh: "门户预约编号格式不正确（含控制字符、空格或过长），未作处理，请联系门户运维核查该预约",
        en: "The reservation id is not of the portal's form (a control character, a space, or too long); nothing was done with it. Ask the portal's operators to check this reservation.")

    static func badCode(field: String, zh: String, en: String) -> DomainError {
        DomainError(code: .codeFormat, field: field,
                    zh: "\(zh)格式不正确（只能是字母、数字和连字符），请与门户核实该预约",
                    en: "The \(en) is not of the form codes have (letters, digits and hyphens only); check the reservation with the portal.")
    }
}

/// The result of normalising one portal reservation.
public enum Normalization: Hashable, Sendable {
    case deliverable(NormalizedReservation)
    /// Pre-upgrade (`handleMode` = `PHONE`): counted, never sent.
    case phoneVerifiedOnly
    case undeliverable([DomainError])
}

/// A reservation ready for the halls.
public struct NormalizedReservation: Hashable, Sendable {
    public let reservationId: String
    public let version: Int
    public let isCancelled: Bool
    public let content: HallItemContent
    public let route: Route
    /// The normaliser's findings: delivered anyway, but worth a clerk's look (e.g. an unknown
    /// matter sent to licensing). Not stored; empty when rebuilt from the store.
    public let notices: [DomainError]
    /// The deadline used the weekends-only rule (a year the calendar does not cover). Not stored.
    public let deadlineUsedFallback: Bool

    public init(reservationId: String, version: Int, isCancelled: Bool, content: HallItemContent, route: Route,
                notices: [DomainError] = [], deadlineUsedFallback: Bool = false) {
        self.reservationId = reservationId
        self.version = version
        self.isCancelled = isCancelled
        self.content = content
        self.route = route
        self.notices = notices
        self.deadlineUsedFallback = deadlineUsedFallback
    }
}

/// Passports and permits: trimmed, half-width, upper-case, letters and digits only.
public enum OtherIdentityDocument {
    public static func normalize(_ raw: String?) throws(DomainError) -> String {
        let text = TextCleaning.removing(TextCleaning.dashes, from: TextCleaning.halfWidth(raw ?? "")).uppercased()
        guard !text.isEmpty else {
            throw DomainError(code: .missingField, field: "applicant.idNumber", zh: "缺少证件号码，请联系申请人补充", en: "The document number is missing; ask the applicant for it.")
        }
        guard (5...20).contains(text.count), text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw DomainError(code: .idFormat, field: "applicant.idNumber",
                              zh: "证件号码应为5至20位字母或数字，请联系申请人核对",
                              en: "A document number has 5 to 20 letters or digits; ask the applicant to check it.")
        }
        return text
    }
}
