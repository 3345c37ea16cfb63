import ArgumentParser
import Foundation
import HallsyncDomain
import HallsyncEngine

struct Normalize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Normalise portal reservations read from stdin, one JSON object per line, without sending anything.",
        discussion: """
        Writes one JSON line per input line: for a deliverable reservation, the hall create \
        body per routed hall (the licensing body's linkedItemNo is filled with the intake \
        item number when it is really sent); for a bad one, every typed error with its code, \
        field and the clerk's message; for a phone-verified one, that it is never mirrored. \
        Exits 1 when any line was undeliverable or unreadable.
        """)

    @OptionGroup var rules: RulesOptions

    struct Output: Encodable {
        var line: Int
        var reservationId: String?
        var version: Int?
        var result: String
        var route: [String]?
        var creates: [String: HallItemCreate]?
        var errors: [Problem]?
        var notices: [Problem]?
        var deadlineUsedFallback: Bool?
    }

    struct Problem: Encodable {
        var code: String
        var field: String
        var zh: String
        var en: String

        init(_ error: DomainError) {
            code = error.code.rawValue
            field = error.field
            zh = error.zh
            en = error.en
        }
    }

    func run() throws {
        let normalizer = try rules.loadRules().normalizer
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let decoder = JSONDecoder()
        var failures = 0
        var number = 0
        while let line = readLine(strippingNewline: true) {
            number += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            var output = Output(line: number, result: "unreadable")
            do {
                let reservation = try decoder.decode(PortalReservation.self, from: Data(line.utf8))
                output.reservationId = reservation.reservationId
                output.version = reservation.version
                switch normalizer.normalize(reservation) {
                case .deliverable(let n):
                    output.result = n.isCancelled ? "cancelled" : "deliverable"
                    output.route = n.route.targets.map(\.rawValue)
                    output.creates = Dictionary(uniqueKeysWithValues: n.route.targets.map {
                        ($0.rawValue, HallItemCreate(externalId: n.reservationId, revision: n.version, content: n.content, linkedItemNo: nil))
                    })
                    output.notices = n.notices.isEmpty ? nil : n.notices.map(Problem.init)
                    output.deadlineUsedFallback = n.deadlineUsedFallback
                case .phoneVerifiedOnly:
                    output.result = "phoneVerifiedOnly"
                case .undeliverable(let errors):
                    output.result = "undeliverable"
                    output.errors = errors.map(Problem.init)
                    failures += 1
                }
            } catch {
                failures += 1
                output.errors = [Problem(DomainError(code: .unreadableRecord, field: "",
                                                     zh: "不是可解析的门户预约记录：\(error)",
                                                     en: "Not a portal reservation object: \(error)"))]
            }
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
