import HallsyncDomain
import HallsyncStore

/// `?from=…&to=…&dept=…&matter=…&column=…&page=…&notice=…`: what the lists, the summary and the
/// audit log are asked for.
struct PageQuery: Decodable {
    var from: CivilDate?
    var to: CivilDate?
    var department: String?
    var matter: String?
    var column: ReservationFilter.Column?
    var grouping: SummaryGrouping?
    var page: Int?
    var notice: Notice?

    enum Notice: String, Decodable { case requested, resolved, recorded }

    enum CodingKeys: String, CodingKey { case from, to, department = "dept", matter, column, grouping = "by", page, notice }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        from = try Field.date(c, .from)
        to = try Field.date(c, .to)
        department = try Field.code(c, .department, name: "部门编码")
        matter = try Field.code(c, .matter, name: "事项编码")
        column = try Field.choice(c, .column, ReservationFilter.Column.self, name: "统计项")
        grouping = try Field.choice(c, .grouping, SummaryGrouping.self, name: "汇总方式")
        page = try Field.page(c, .page)
        notice = try? Field.choice(c, .notice, Notice.self, name: "提示")
    }

    /// The dates asked for, else the default range around today; in order, at most ten years apart.
    func dateRange(defaultDays: (Int, Int) = (-30, 30)) -> (CivilDate, CivilDate) {
        let today = BeijingTime.now().date
        var from = self.from ?? today.adding(days: defaultDays.0)
        var to = self.to ?? today.adding(days: defaultDays.1)
        if to < from { swap(&from, &to) }
        if to.daysSince1970 - from.daysSince1970 > 3660 { to = from.adding(days: 3660) }
        return (from, to)
    }
}
