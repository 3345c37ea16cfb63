import Testing
@testable import HallsyncEngine
@testable import HallsyncMachines

/// The look-up-first rules of a hall send, without a socket: when a create asks the hall first
/// (its key about to expire, or after a conflict), when an update or action does (an item only a
/// create's answer gave), and what the answer leads to.
@Suite struct HallSendStepsTests {
    let rules = HallSendSteps.Rules(keyRetention: 86_400, safetyMargin: 3_600)
    let now = 1_000_000.0

    @Test func aCreateNeverTriedOrTriedWithinTheKeysRetentionIsSentUnderItsKey() {
        #expect(HallSendSteps.first(.create, itemNo: nil, firstAttemptAt: nil, now: now, rules: rules) == .create)
        #expect(HallSendSteps.first(.create, itemNo: nil, firstAttemptAt: now - 60, now: now, rules: rules) == .create)
        // At exactly the retention less the margin the key still holds.
        #expect(HallSendSteps.first(.create, itemNo: nil, firstAttemptAt: now - (86_400 - 3_600), now: now, rules: rules) == .create)
    }

    @Test func aCreateFirstTriedNearTheKeysExpiryOrAfterAConflictLooksUpFirst() {
        #expect(HallSendSteps.first(.create, itemNo: nil, firstAttemptAt: now - (86_400 - 3_600) - 1, now: now, rules: rules) == .lookUp)
        #expect(HallSendSteps.first(.create, itemNo: nil, firstAttemptAt: now - 100_000, now: now, rules: rules) == .lookUp)
        // 0: a create after the hall answered with another reservation's item (a new key): asked first, every attempt.
        #expect(HallSendSteps.first(.create, itemNo: nil, firstAttemptAt: 0, now: now, rules: rules) == .lookUp)
    }

    @Test func aLookUpBeforeACreateAdoptsOursOrCreates() {
        #expect(HallSendSteps.afterLookUp(.create, itemNo: nil, ours: "ZH7", listed: ["ZH7", "ZH9"]) == .adopt(itemNo: "ZH7"))
        // Items listed that are not ours (made by hand at the counter) do not stop the create.
        #expect(HallSendSteps.afterLookUp(.create, itemNo: nil, ours: nil, listed: ["ZH9"]) == .create)
        #expect(HallSendSteps.afterLookUp(.create, itemNo: nil, ours: nil, listed: []) == .create)
    }

    @Test func anUpdateOrActionOnAnItemOnlyACreatesAnswerGaveLooksUpFirst() {
        for kind in [HallSendSteps.Kind.update, .action] {
            #expect(HallSendSteps.first(kind, itemNo: "XK1", firstAttemptAt: 0, now: now, rules: rules) == .lookUp)
            #expect(HallSendSteps.first(kind, itemNo: "XK1", firstAttemptAt: nil, now: now, rules: rules) == .change(itemNo: "XK1"))
            // A verified item is changed whenever it was first tried: its key's age does not matter.
            #expect(HallSendSteps.first(kind, itemNo: "XK1", firstAttemptAt: now - 200_000, now: now, rules: rules) == .change(itemNo: "XK1"))
        }
    }

    @Test func aLookUpBeforeAChangeSendsItOnlyToAnItemListedUnderTheReservation() {
        for kind in [HallSendSteps.Kind.update, .action] {
            #expect(HallSendSteps.afterLookUp(kind, itemNo: "XK1", ours: nil, listed: ["XK1", "XK2"]) == .change(itemNo: "XK1"))
            #expect(HallSendSteps.afterLookUp(kind, itemNo: "XK1", ours: nil, listed: ["XK2"]) == .notOurs(itemNo: "XK1"))
            #expect(HallSendSteps.afterLookUp(kind, itemNo: "XK1", ours: nil, listed: []) == .notOurs(itemNo: "XK1"))
        }
    }

    @Test func aChangeWithoutAnItemNumberIsUnusableNotSentAnywhere() {
        for kind in [HallSendSteps.Kind.update, .action] {
            for itemNo in [nil, ""] as [String?] {
                guard case .unusable = HallSendSteps.first(kind, itemNo: itemNo, firstAttemptAt: nil, now: now, rules: rules) else {
                    Issue.record("\(kind) without an item number: not refused"); continue
                }
                guard case .unusable = HallSendSteps.afterLookUp(kind, itemNo: itemNo, ours: nil, listed: [""]) else {
                    Issue.record("\(kind) without an item number after a look-up: not refused"); continue
                }
            }
        }
    }
}
