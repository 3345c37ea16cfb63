import HallsyncDomain
import Testing

/// A table with a value for every hall: what configuration, counts and columns are kept in.
@Suite struct PerHallTests {
    @Test func holdsAValueForEveryHallInTheEnumsOrder() {
        var table = PerHall { $0.chineseName }
        #expect(table.map(\.target) == HallTarget.allCases)
        #expect(table.map(\.value) == ["综合受理", "行政许可"])
        table[.licensing] = "许可"
        #expect(table[.licensing] == "许可" && table[.intake] == "综合受理")
        let lengths = table.map { $1.count }
        #expect(lengths[.intake] == 4 && lengths[.licensing] == 2)
        #expect(PerHall { _ in 0 } == PerHall { _ in 0 } && PerHall { $0 == .intake ? 1 : 0 } != PerHall { _ in 0 })
    }
}
