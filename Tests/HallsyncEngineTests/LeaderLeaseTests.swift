import Testing
@testable import HallsyncEngine
@testable import HallsyncMachines

/// Defaults throughout: ttl 15 s, renewals every 3 s, margin 2 s (trust span 13 s), polls every 1 s.
@Suite struct LeaderLeaseTests {
    /// A leader of epoch 7 since 0, trusted until 13, no renewal in flight.
    func leader() -> LeaderLease {
        var lease = LeaderLease(holder: "a")
        _ = lease.tick(now: 0)
        _ = lease.acquireAnswered(epoch: 7, startedAt: 0)
        lease.recovered(epoch: 7)
        return lease
    }

    @Test func anExpiredLeaseIsTakenAndSendsWaitForTheTakeoverStep() {
        var lease = LeaderLease(holder: "a")
        #expect(lease.tick(now: 0) == [.acquire(holder: "a", startedAt: 0), .wait(until: 13)])
        #expect(lease.role == .standby)
        #expect(lease.acquireAnswered(epoch: 7, startedAt: 0) == [.recoverAfterTakeover(epoch: 7)])
        #expect(lease.role == .takingOver(epoch: 7))
        #expect(lease.sendPermission(now: 1, timeout: 30) == .refused(.takingOver))
        // The takeover step may take a while: the lease is renewed meanwhile.
        #expect(lease.tick(now: 3) == [.renew(holder: "a", epoch: 7, startedAt: 3), .wait(until: 16)])
        lease.renewAnswered(granted: true, startedAt: 3)
        #expect(lease.sendPermission(now: 4, timeout: 30) == .refused(.takingOver))
        lease.recovered(epoch: 7)
        #expect(lease.role == .leader(epoch: 7, since: 0))
        #expect(lease.sendPermission(now: 4, timeout: 30) == .granted(epoch: 7, timeout: 12))
    }

    @Test func aStandbyPollsEveryIntervalPlusTheCallersJitter() {
        var lease = LeaderLease(holder: "b")
        #expect(lease.tick(now: 0, jitter: 0.25) == [.acquire(holder: "b", startedAt: 0), .wait(until: 13)])
        #expect(lease.acquireAnswered(epoch: nil, startedAt: 0) == [])
        #expect(lease.role == .standby)
        #expect(lease.sendPermission(now: 0.5, timeout: 30) == .refused(.standby))
        #expect(lease.tick(now: 0.5, jitter: 0.75) == [.wait(until: 1.25)])
        #expect(lease.tick(now: 1.25, jitter: 0.5) == [.acquire(holder: "b", startedAt: 1.25), .wait(until: 14.25)])
        #expect(lease.acquireAnswered(epoch: nil, startedAt: 1.25) == [])
        #expect(lease.tick(now: 1.5) == [.wait(until: 2.75)])
        // A negative jitter cannot shorten the interval.
        #expect(lease.tick(now: 2.75, jitter: -5) == [.acquire(holder: "b", startedAt: 2.75), .wait(until: 15.75)])
        #expect(lease.acquireAnswered(epoch: nil, startedAt: 2.75) == [])
        #expect(lease.tick(now: 3) == [.wait(until: 3.75)])
    }

    @Test func renewalsStartOneIntervalAfterTheLastStartedOneAtATime() {
        var lease = leader()
        #expect(lease.tick(now: 1) == [.wait(until: 3)])
        #expect(lease.tick(now: 3) == [.renew(holder: "a", epoch: 7, startedAt: 3), .wait(until: 16)])
        // No second renewal while one is out, even when the next one would be due.
        #expect(lease.tick(now: 6.5) == [.wait(until: 16)])
        lease.renewAnswered(granted: true, startedAt: 3)
        #expect(lease.tick(now: 6.5) == [.renew(holder: "a", epoch: 7, startedAt: 6.5), .wait(until: 19.5)])
        lease.renewAnswered(granted: true, startedAt: 6.5)
        #expect(lease.tick(now: 7) == [.wait(until: 9.5)])
        #expect(lease.sendPermission(now: 7, timeout: 30) == .granted(epoch: 7, timeout: 12.5))
    }

    @Test func withoutAGrantedRenewalTrustEndsAtTheLastGrantedStartPlusTTLMinusMargin() {
        var lease = leader()
        #expect(lease.tick(now: 3) == [.renew(holder: "a", epoch: 7, startedAt: 3), .wait(until: 16)])
        // The renewal hangs: the acquire at 0 is trusted until 13, not a moment longer.
        #expect(lease.sendPermission(now: 12.5, timeout: 30) == .granted(epoch: 7, timeout: 0.5))
        #expect(lease.sendPermission(now: 13, timeout: 30) == .refused(.trustEnded))
        #expect(lease.sendPermission(now: 15, timeout: 30) == .refused(.trustEnded))
        #expect(lease.role == .leader(epoch: 7, since: 0))
        // At 16 the hung renewal could no longer help: it is given up and sent anew.
        #expect(lease.tick(now: 16) == [.renew(holder: "a", epoch: 7, startedAt: 16), .wait(until: 29)])
        lease.renewAnswered(granted: true, startedAt: 16)
        #expect(lease.sendPermission(now: 17, timeout: 30) == .granted(epoch: 7, timeout: 12))
    }

    @Test func trustRunsFromTheRenewalsStartNotFromItsAnswer() {
        var lease = leader()
        _ = lease.tick(now: 3)
        lease.renewAnswered(granted: true, startedAt: 3)   // answered at 10
        #expect(lease.sendPermission(now: 10, timeout: 30) == .granted(epoch: 7, timeout: 6))
        #expect(lease.sendPermission(now: 16, timeout: 30) == .refused(.trustEnded))
    }

    @Test func aRenewalAnsweredAfterItsWindowEndedRestoresNoTrust() {
        var lease = leader()
        _ = lease.tick(now: 3)
        // The process is frozen; the grant is read at 20, when 3 + 13 has passed.
        lease.renewAnswered(granted: true, startedAt: 3)
        #expect(lease.sendPermission(now: 20, timeout: 30) == .refused(.trustEnded))
        #expect(lease.tick(now: 20) == [.renew(holder: "a", epoch: 7, startedAt: 20), .wait(until: 33)])
        #expect(lease.sendPermission(now: 20, timeout: 30) == .refused(.trustEnded))
        lease.renewAnswered(granted: true, startedAt: 20)
        #expect(lease.sendPermission(now: 21, timeout: 30) == .granted(epoch: 7, timeout: 12))
    }

    @Test func aLateAnswerToARenewalGivenUpIsIgnored() {
        var lease = leader()
        _ = lease.tick(now: 3)
        #expect(lease.tick(now: 17) == [.renew(holder: "a", epoch: 7, startedAt: 17), .wait(until: 30)])
        // The renewal of 3 answers after the one of 17 went out: neither its grant nor its refusal counts.
        lease.renewAnswered(granted: true, startedAt: 3)
        #expect(lease.tick(now: 18) == [.wait(until: 30)], "the renewal of 17 is still the one awaited")
        lease.renewAnswered(granted: false, startedAt: 3)
        #expect(lease.role == .leader(epoch: 7, since: 0))
        #expect(lease.sendPermission(now: 18, timeout: 30) == .refused(.trustEnded))
        lease.renewAnswered(granted: true, startedAt: 17)
        #expect(lease.sendPermission(now: 18, timeout: 30) == .granted(epoch: 7, timeout: 12))
    }

    @Test func aJumpPastTheWindowStopsSendsUntilARenewalStartedSinceIsGranted() {
        var lease = leader()
        _ = lease.tick(now: 3)
        lease.renewAnswered(granted: true, startedAt: 3)
        #expect(lease.tick(now: 5) == [.wait(until: 6)])
        // SIGSTOP or a suspend: the next event comes at 60.
        #expect(lease.sendPermission(now: 60, timeout: 30) == .refused(.trustEnded))
        #expect(lease.tick(now: 60) == [.renew(holder: "a", epoch: 7, startedAt: 60), .wait(until: 73)])
        #expect(lease.sendPermission(now: 60.5, timeout: 30) == .refused(.trustEnded))
        lease.renewAnswered(granted: true, startedAt: 60)
        #expect(lease.sendPermission(now: 61, timeout: 5) == .granted(epoch: 7, timeout: 5))
    }

    @Test func aJumpInsideTheWindowRenewsAtOnceAndKeepsTheWindow() {
        var lease = leader()
        _ = lease.tick(now: 3)
        lease.renewAnswered(granted: true, startedAt: 3)
        #expect(lease.tick(now: 5) == [.wait(until: 6)])
        // Frozen 5 s (more than a renewal interval): the lease is still ours until 3 + 13 by the
        // database's clock, so sends go on; the overdue renewal goes out at once.
        #expect(lease.tick(now: 10) == [.renew(holder: "a", epoch: 7, startedAt: 10), .wait(until: 23)])
        #expect(lease.sendPermission(now: 10, timeout: 30) == .granted(epoch: 7, timeout: 6))
    }

    @Test func anyDatabaseErrorEndsLeadershipAtOnce() {
        var lease = leader()
        _ = lease.tick(now: 3)
        lease.databaseFailed(now: 4)
        #expect(lease.role == .standby)
        #expect(lease.sendPermission(now: 4, timeout: 30) == .refused(.standby), "the window (until 13) does not matter")
        // The renewal of 3, answered after all, changes nothing.
        lease.renewAnswered(granted: true, startedAt: 3)
        #expect(lease.sendPermission(now: 4.5, timeout: 30) == .refused(.standby))
        #expect(lease.tick(now: 4.5) == [.wait(until: 5)])
        #expect(lease.tick(now: 5) == [.acquire(holder: "a", startedAt: 5), .wait(until: 18)])
        // A new epoch: the takeover step again.
        #expect(lease.acquireAnswered(epoch: 8, startedAt: 5) == [.recoverAfterTakeover(epoch: 8)])
        #expect(lease.sendPermission(now: 6, timeout: 30) == .refused(.takingOver))
    }

    @Test func aTakeoverFinishingAfterItsLeaseWasLostPermitsNothing() {
        var lease = LeaderLease(holder: "a")
        _ = lease.tick(now: 0)
        _ = lease.acquireAnswered(epoch: 7, startedAt: 0)
        lease.databaseFailed(now: 2)
        _ = lease.tick(now: 3)
        _ = lease.acquireAnswered(epoch: 9, startedAt: 3)
        lease.recovered(epoch: 7)
        #expect(lease.role == .takingOver(epoch: 9))
        #expect(lease.sendPermission(now: 4, timeout: 30) == .refused(.takingOver))
        lease.recovered(epoch: 9)
        #expect(lease.sendPermission(now: 4, timeout: 30) == .granted(epoch: 9, timeout: 12))
    }

    @Test func aSendsTimeOutIsCappedToWhatIsLeftOfTheWindow() {
        let lease = leader()
        #expect(lease.sendPermission(now: 1, timeout: 5) == .granted(epoch: 7, timeout: 5))
        #expect(lease.sendPermission(now: 10, timeout: 30) == .granted(epoch: 7, timeout: 3))
        #expect(lease.sendPermission(now: 12.75, timeout: 30) == .granted(epoch: 7, timeout: 0.25))
    }

    @Test func aRenewalAnsweredNotYoursMakesAStandby() {
        var lease = leader()
        _ = lease.tick(now: 3)
        lease.renewAnswered(granted: false, startedAt: 3)
        #expect(lease.role == .standby)
        #expect(lease.sendPermission(now: 3.5, timeout: 30) == .refused(.standby))
        #expect(lease.tick(now: 3.5) == [.wait(until: 4)])
        #expect(lease.tick(now: 4) == [.acquire(holder: "a", startedAt: 4), .wait(until: 17)])
    }

    @Test func aStoppingLeaderResignsAndSendsNoMore() {
        var lease = leader()
        _ = lease.tick(now: 3)
        #expect(lease.stopRequested() == [.resign(holder: "a", epoch: 7)])
        #expect(lease.role == .stopped)
        #expect(lease.sendPermission(now: 3.5, timeout: 30) == .refused(.stopped))
        lease.renewAnswered(granted: true, startedAt: 3)
        #expect(lease.sendPermission(now: 4, timeout: 30) == .refused(.stopped))
        #expect(lease.tick(now: 6) == [])
        #expect(lease.stopRequested() == [])
    }

    @Test func aLeaseWonByAnAttemptOutAtTheStopIsGivenBack() {
        var lease = LeaderLease(holder: "b")
        _ = lease.tick(now: 0)
        #expect(lease.stopRequested() == [])
        #expect(lease.acquireAnswered(epoch: 4, startedAt: 0) == [.resign(holder: "b", epoch: 4)])
        #expect(lease.role == .stopped)
        #expect(lease.sendPermission(now: 1, timeout: 30) == .refused(.stopped))
        var idle = LeaderLease(holder: "c")
        #expect(idle.stopRequested() == [])
        #expect(idle.tick(now: 0) == [])
    }

    @Test func anAcquireThatNeverAnswersIsGivenUpWhenItCouldNoLongerBeTrusted() {
        var lease = LeaderLease(holder: "b")
        _ = lease.tick(now: 0)
        #expect(lease.tick(now: 12) == [.wait(until: 13)])
        #expect(lease.tick(now: 13) == [.acquire(holder: "b", startedAt: 13), .wait(until: 26)])
        #expect(lease.acquireAnswered(epoch: 5, startedAt: 0) == [], "the attempt of 0 was given up")
        #expect(lease.role == .standby)
    }

    @Test func settingsWhoseRenewalsCannotKeepTrustAreRefused() {
        let defaults = LeaderLease.Settings()
        #expect(defaults == LeaderLease.Settings(ttl: 15, renewInterval: 3, margin: 2, pollInterval: 1))
        #expect(defaults.trustSpan == 13 && defaults.problems.isEmpty)
        #expect(LeaderLease.Settings(renewInterval: 13).problems.count == 1)
        #expect(LeaderLease.Settings(margin: 0).problems.count == 1)
        #expect(LeaderLease.Settings(pollInterval: 0).problems.count == 1)
    }
}
