/// The words a clerk reads for the codes hallsync stores: attention reasons, the fields they are
/// about, the portal's statuses, the halls' statuses, what was sent, and the web page's own names.
/// One place, so that every page, export and command says the same thing.
///
///     DomainError.Code.idCheckDigit.clerkLabel          // "证件号码校验位错误"
///     DomainError.Code(rawValue: "NEW_ONE").clerkLabel  // "其他问题（代码 NEW_ONE）"
///     ClerkLabels.field("applicant.idNumber")            // "证件号码"
///     ClerkLabels.portalStatus("SUBMITTED")              // "已提交"
///
/// A code this table does not know (one a newer daemon raises) still reads as words, with the
/// code in brackets for whoever must look it up.
extension DomainError.Code {
    public var clerkLabel: String {
        ClerkLabels.attentionReasons[rawValue] ?? "其他问题（代码 \(rawValue)）"
    }
}

public enum ClerkLabels {
    /// Why a reservation is on the attention list (README: "Why a reservation is held").
    static let attentionReasons: [String: String] = [
        "MISSING_FIELD": "缺少必填信息",
        "ID_NUMBER_FORMAT": "证件号码格式不对",
        "ID_NUMBER_BIRTH_DATE": "证件号码中的出生日期不存在",
        "ID_NUMBER_CHECK_DIGIT": "证件号码校验位错误",
        "ID_TYPE_UNKNOWN": "证件类型无法识别",
        "ORG_CODE_FORMAT": "统一社会信用代码格式不对",
        "ORG_CODE_CHECK_CHARACTER": "统一社会信用代码校验位错误",
        "APPLICANT_TYPE_UNKNOWN": "申请人类型无法识别",
        "NAME_INVALID": "申请人姓名无法识别",
        "APPOINTMENT_DATE_INVALID": "预约日期无法识别",
        "APPOINTMENT_SLOT_INVALID": "预约时段无法识别",
        "UNKNOWN_MATTER": "事项不在事项目录中",
        "HANDLE_MODE_UNKNOWN": "办理方式无法识别",
        "STATUS_UNKNOWN": "预约状态无法识别",
        "HALL_REJECTED": "大厅系统拒收",
        "ITEM_CLOSED": "改期或更正时办件已办结",
        "OUTCOME_CONFLICT": "两个大厅的办理结果不一致",
        "CANCELLED_AFTER_OUTCOME": "办理后申请人又网上取消",
        "PORTAL_REFUSED": "门户拒收状态推送",
        "UNREADABLE_RECORD": "门户记录无法读取",
        "RESERVATION_ID_INVALID": "预约编号格式不对",
        "CODE_FORMAT": "区划、部门或事项编码格式不对",
        // What a peer said that contradicts hallsync's records (held, not believed).
        "HALL_ITEM_CONFLICT": "大厅办件与预约不一致",
        "OTHER_HALL_ITEM": "大厅中有另一条办件",
        "IDENTITY_CHANGED": "申请人身份信息被更改",
        "REGION_FOREIGN": "预约不属于本区划",
        "APPOINTMENT_IMPLAUSIBLE": "预约时间不合常理",
        "VERSION_CONFLICT": "门户记录版本冲突",
        "REVIVED_AFTER_CANCEL": "取消后又恢复的预约",
        "PORTAL_STATUS_UNEXPLAINED": "门户状态无法解释",
        "FIELD_TOO_LONG": "字段内容过长",
        "ROUTE_CHANGED": "办件后事项或办理大厅被更改",
        "MODE_CHANGED_AFTER_DELIVERY": "办件后改为电话核实",
        "ITEM_STATUS_CONTRADICTION": "大厅办件状态前后矛盾",
        "HALL_ITEM_MISSING": "大厅中找不到本预约的办件",
        "SEND_UNREADABLE": "待发送记录已损坏，未发送",
    ]

    /// What an attention entry is about: the portal field for most codes; the status the portal
    /// refused for `PORTAL_REFUSED`; the hall's own error code for `HALL_REJECTED`.
    public static func attentionSubject(code: String, field: String) -> String {
        switch code {
        case "PORTAL_REFUSED": return field.isEmpty ? "状态推送" : "状态推送：" + processStatus(field)
        case "HALL_REJECTED": return field.isEmpty ? "大厅返回的错误" : "大厅返回的错误（\(field)）"
        default: return Self.field(field)
        }
    }

    /// A portal field, as the attention list names it (`applicant.idNumber` → 证件号码).
    public static func field(_ raw: String) -> String {
        if raw.isEmpty { return "—" }
        if let label = fields[raw] { return label }
        return "其他（\(raw)）"
    }

    static let fields: [String: String] = [
        "reservationId": "预约编号",
        "version": "版本号",
        "updateTime": "门户更新时间",
        "createTime": "门户创建时间",
        "status": "预约状态",
        "processStatus": "办理状态",
        "handleMode": "办理方式",
        "applicant": "申请人",
        "applicant.type": "申请人类型",
        "applicant.name": "申请人姓名",
        "applicant.idType": "证件类型",
        "applicant.idNumber": "证件号码",
        "applicant.orgName": "单位名称",
        "applicant.orgCode": "统一社会信用代码",
        "applicant.phone": "联系电话",
        "regionCode": "区划编码",
        "deptCode": "部门编码",
        "deptName": "部门名称",
        "itemCode": "事项编码",
        "itemName": "事项名称",
        "appointmentDate": "预约日期",
        "appointmentSlot": "预约时段",
        "channel": "预约渠道",
        "record": "整条记录",
    ]

    /// The portal's `status` of a reservation.
    public static func portalStatus(_ raw: String?) -> String {
        guard let raw, !raw.isEmpty else { return "—" }
        return ["SUBMITTED": "已提交", "CANCELLED": "申请人已网上取消"][raw] ?? "其他（\(raw)）"
    }

    /// The `processStatus` hallsync told (or tells) the portal.
    public static func processStatus(_ raw: String?) -> String {
        guard let raw, !raw.isEmpty else { return "未告知" }
        return ["RECEIVED": "已收件", "HANDLED": "已办理", "CONSULTED": "已咨询", "CANCEL_ACKNOWLEDGED": "已确认取消"][raw] ?? "其他（\(raw)）"
    }

    /// A hall item's status.
    public static func hallStatus(_ raw: String) -> String {
        ["PENDING": "待办", "HANDLED": "已办理", "CONSULTED": "已咨询", "CANCELLED": "已取消"][raw] ?? "其他（\(raw)）"
    }

    /// `handleMode`: in the hall, or verified by phone (pre-upgrade).
    public static func handleMode(_ raw: String?) -> String {
        guard let raw, !raw.isEmpty else { return "—" }
        return ["HALL": "到大厅办理", "PHONE": "电话核实"][raw] ?? "其他（\(raw)）"
    }

    /// Where a send goes, or which system an entry is about.
    public static func target(_ raw: String) -> String {
        if raw.isEmpty { return "—" }
        if raw == "portal" { return "门户" }
        return HallTarget(rawValue: raw)?.chineseName ?? "其他（\(raw)）"
    }

    /// Who closed a hall item.
    public static func origin(_ raw: String) -> String {
        ["STAFF": "工作人员", "SYNC": "同步（另一大厅已办结）", "PORTAL": "申请人网上取消"][raw] ?? "其他（\(raw)）"
    }

    /// What a send was.
    public static func sendKind(_ raw: String) -> String {
        ["CREATE": "建件", "UPDATE": "更新（改期或更正）", "ACTION": "办结", "PUSH": "状态推送"][raw] ?? "其他（\(raw)）"
    }

    /// How a send ended.
    public static func sendState(_ raw: String) -> String {
        ["PENDING": "待发送", "DONE": "成功", "FAILED": "被拒绝"][raw] ?? "其他（\(raw)）"
    }

    /// What the daemon made of a portal version.
    public static func disposition(_ raw: String) -> String {
        ["DELIVERABLE": "进入大厅收件箱", "PHONE": "电话核实", "UNDELIVERABLE": "暂缓（数据有误）"][raw] ?? "其他（\(raw)）"
    }

    /// A phone call's result.
    public static func callResult(_ raw: String) -> String {
        ["CONFIRMED": "已确认", "CANCELLED_BY_APPLICANT": "申请人取消", "UNREACHABLE": "未接通"][raw] ?? "其他（\(raw)）"
    }

    /// The web page's pages and exports, as the audit log names them.
    public static func webView(_ raw: String) -> String {
        [
            "list": "预约列表", "list.csv": "预约列表导出", "phone": "电话核实", "phone.csv": "电话核实导出",
            "record": "预约详情", "attention": "待人工处理", "attention.csv": "待人工处理导出",
        ][raw] ?? "其他页面（\(raw)）"
    }
}
