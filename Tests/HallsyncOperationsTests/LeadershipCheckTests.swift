import Foundation
import HallsyncEngine
import Testing
@testable import HallsyncOperations

/// How the monitoring plugin judges one daemon of a pair from its status file.
@Suite struct LeadershipCheckTests {
    func lease(_ role: String, holder: String = "a", epoch: Int? = 3, row: (String, Int, Double)?) -> LeadershipStatus {
        var status = LeadershipStatus(role: role, holder: holder, region: "371002", epoch: epoch, ttlSeconds: 15)
        if let (rowHolder, rowEpoch, expiresIn) = row {
            status.leaseHolder = rowHolder
            status.leaseEpoch = rowEpoch
            status.leaseExpiresInSeconds = expiresIn
        }
        return status
    }

    @Test func aStandbyWhileAnotherLeadsIsFine() {
        #expect(MonitoringCheck.leadershipFindings(lease("standby", epoch: nil, row: ("b", 3, 12))).isEmpty)
        #expect(MonitoringCheck.leadershipFindings(lease("leader", row: ("a", 3, 14))).isEmpty)
    }

    @Test func leadingWhileTheDatabaseNamesAnotherIsTwoLeaders() {
        let findings = MonitoringCheck.leadershipFindings(lease("leader", row: ("b", 4, 14)))
        #expect(findings.map(\.0) == [.critical] && findings[0].1.contains("two leaders"))
        // The same holder at another epoch: it lost the lease and won it again without noticing.
        #expect(MonitoringCheck.leadershipFindings(lease("leader", row: ("a", 4, 14))).map(\.0) == [.critical])
    }

    @Test func nobodyLeadingIsAWarningThenCriticalAfterTheTTL() {
        #expect(MonitoringCheck.leadershipFindings(lease("standby", epoch: nil, row: ("b", 3, -2))).map(\.0) == [.warning])
        #expect(MonitoringCheck.leadershipFindings(lease("standby", epoch: nil, row: ("b", 3, -16))).map(\.0) == [.critical])
        #expect(MonitoringCheck.leadershipFindings(lease("standby", epoch: nil, row: nil)).map(\.0) == [.warning])
    }
}
