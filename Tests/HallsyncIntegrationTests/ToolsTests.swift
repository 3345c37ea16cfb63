import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncTestSupport
import Testing

/// The operator tools on the real binary, and the host time zone kept out of every answer.
@Suite struct ToolsTests {
    static func hallsync(_ arguments: [String], stdin: String = "", timeZone: String) throws -> Support.Output {
        try Support.run(Support.hallsyncBinary, arguments, environment: ["TZ": timeZone], stdin: stdin)
    }

    static let timeZones = ["UTC", "America/New_York", "Asia/Shanghai", "Pacific/Kiritimati"]

    /// The checkout's own configuration: catalogue, calendar and the Weihai sessions.
    static let config = Support.repository.appendingPathComponent("Config/hallsync.yaml").path

    @Test func deadlinePrintsTheNoticesExamplesInEveryHostTimeZone() async throws {
        try await offPool {
            for timeZone in Self.timeZones {
                let run = try Self.hallsync(["deadline", "2021-09-18 10:00", "--config", Self.config], timeZone: timeZone)
                #expect(run.status == 0, "\(timeZone): \(run.stderr)")
                #expect(run.stdout == """
                    appointment  2021-09-18 10:00:00 Saturday
                    deadline     2021-09-22 10:00:00 Wednesday  (working day)
                    skipped      2021-09-19 Sunday  (public holiday, 中秋节)
                                 2021-09-20 Monday  (public holiday, 中秋节)
                                 2021-09-21 Tuesday  (public holiday, 中秋节)

                    """, "\(timeZone)")
                let makeUp = try Self.hallsync(["deadline", "2021/9/17 上午", "--config", Self.config], timeZone: timeZone)
                #expect(makeUp.stdout.contains("deadline     2021-09-18 09:00:00 Saturday  (make-up working day, 中秋节（调休上班）)"), "\(timeZone): \(makeUp.stdout)")
            }
            let uncovered = try Self.hallsync(["deadline", "2031-12-31 10:00", "--config", Self.config], timeZone: "UTC")
            #expect(uncovered.status == 0)
            #expect(uncovered.stdout.contains("warning      the working calendar has no arrangement for 2031, 2032"))
            let bad = try Self.hallsync(["deadline", "2021-02-30 10:00", "--config", Self.config], timeZone: "UTC")
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("cannot read \"2021-02-30 10:00\" as an appointment"))
        }
    }

    @Test func normalizeWritesOneAnswerPerLineIdenticallyInEveryHostTimeZone() async throws {
        try await offPool {
            let clean = #"{"reservationId":"YY1","version":3,"updateTime":"2021-09-08 09:14:55","status":"SUBMITTED","handleMode":"HALL","applicant":{"type":"PERSON","name":"　阿依古丽•买买提 ","idType":"ID_CARD","idNumber":"３７１００２800101015","phone":"+86 138-0631-0000"},"regionCode":"371002","deptCode":"11371002MB0000000B","itemCode":"371002-XK-0012","itemName":"【预约】公司设立登记","appointmentDate":"2021/9/30","appointmentSlot":"下午"}"#
            let bad = #"{"reservationId":"YY2","version":1,"updateTime":"2021-09-08 09:14:55","status":"SUBMITTED","handleMode":"HALL","applicant":{"type":"PERSON","name":"王某","idType":"ID_CARD","idNumber":"371002198001010151","phone":""},"regionCode":"371002","itemCode":"371002-XK-0107","itemName":"建筑工程施工许可证核发","appointmentDate":"20210911","appointmentSlot":"25:00"}"#
            let phone = #"{"reservationId":"YY3","version":1,"updateTime":"2021-09-08 09:14:55","status":"SUBMITTED","handleMode":"PHONE","applicant":{}}"#
            let input = [clean, bad, phone, "not json"].joined(separator: "\n") + "\n"
            var outputs: Set<String> = []
            for timeZone in Self.timeZones {
                let run = try Self.hallsync(["normalize", "--config", Self.config], stdin: input, timeZone: timeZone)
                #expect(run.status == 1, "undeliverable lines make the exit status 1")
                outputs.insert(run.stdout)
            }
            #expect(outputs.count == 1, "the host's time zone changed the output")
            let lines = try outputs.first!.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(lines.count == 4)
            #expect(lines[0]["result"] as? String == "deliverable")
            #expect(lines[0]["route"] as? [String] == ["intake", "licensing"])
            let creates = lines[0]["creates"] as? [String: [String: Any]]
            let intake = creates?["intake"]
            #expect(intake?["itemName"] as? String == "（预约）公司设立登记")
            #expect(intake?["registerTime"] as? String == "2021-09-30 13:30:00")
            #expect(intake?["deadline"] as? String == "2021-10-08 13:30:00")
            #expect(intake?["applicantName"] as? String == "阿依古丽·买买提")
            #expect(intake?["idNumber"] as? String == "37100219800101015X")
            #expect(intake?["phone"] as? String == "13806310000")
            #expect(intake?["externalId"] as? String == "YY1")
            #expect(creates?["licensing"]?["linkedItemNo"] is NSNull)
            #expect(lines[1]["result"] as? String == "undeliverable")
            let codes = (lines[1]["errors"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
            #expect(codes == ["ID_NUMBER_CHECK_DIGIT", "APPOINTMENT_SLOT_INVALID"])
            #expect(lines[2]["result"] as? String == "phoneVerifiedOnly")
            #expect(lines[3]["result"] as? String == "unreadable")
            #expect(lines[3]["line"] as? Int == 4)
        }
    }

    @Test func aBrokenConfigurationIsReportedWithExitCode78() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("tools")
            let config = directory + "/hallsync.yaml"
            let text = try String(contentsOfFile: Self.config, encoding: .utf8)
                .replacingOccurrences(of: "calendar: working-calendar.txt", with: "calendar: \(directory)/calendar.txt")
                .replacingOccurrences(of: "catalogue: matters.csv", with: "catalogue: " + URL(fileURLWithPath: Self.config).deletingLastPathComponent().path + "/matters.csv")
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            try "year 2021\nwork 2021-09-17 a Friday\n".write(toFile: directory + "/calendar.txt", atomically: true, encoding: .utf8)
            let run = try Self.hallsync(["deadline", "2021-09-18 10:00", "--config", config], timeZone: "UTC")
            #expect(run.status == 78)
            #expect(run.stderr.contains("working calendar line 2"))
        }
    }

    /// The daemon refuses what check-config calls a problem: one validation, not two.
    @Test(arguments: [("http://hall.example/intake", "plain http"), ("https://ops:pw@hall.example/intake", "user name or password")])
    func whatCheckConfigCallsAProblemTheDaemonRefusesToo(_ to: String, _ said: String) async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("one-validation")
            let config = directory + "/hallsync.yaml"
            let example = URL(fileURLWithPath: Self.config).deletingLastPathComponent().path
            let text = try String(contentsOfFile: Self.config, encoding: .utf8)
                .replacingOccurrences(of: "catalogue: matters.csv", with: "catalogue: \(example)/matters.csv")
                .replacingOccurrences(of: "calendar: working-calendar.txt", with: "calendar: \(example)/working-calendar.txt")
            let intake = try #require(text.split(separator: "\n").first { $0.contains("baseURL:") && $0.contains("intake") })
            try text.replacingOccurrences(of: String(intake), with: "  baseURL: \(to)").write(toFile: config, atomically: true, encoding: .utf8)
            let once = try Self.hallsync(["once", "--config", config], timeZone: "UTC")
            #expect(once.status == 78, "\(once.stderr)")
            #expect(once.stderr.contains(said) && !once.stderr.contains("pw@"), "\(once.stderr)")
            let check = try Self.hallsync(["check-config", "--config", config], timeZone: "UTC")
            #expect(check.status == 1 && check.text.contains(said), "\(check.text)")
        }
    }
}

@Suite struct StandInsToolTests {
    @Test func printsTheConfigurationItPromisesEvenIntoAFile() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("standins-tool")
            let binary = URL(fileURLWithPath: Support.hallsyncBinary).deletingLastPathComponent().appendingPathComponent("hallsync-standins").path
            let log = directory + "/out.txt"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [directory + "/site", "--no-faults"]
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try process.run()
            defer { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
            let deadline = Date().addingTimeInterval(10)
            var text = ""
            while Date() < deadline, !text.contains("run: hallsync run --config") {
                Thread.sleep(forTimeInterval: 0.1)
                text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            }
            #expect(text.contains("configuration for the daemon: \(directory)/site/hallsync.yaml"), "\(text)")
            #expect(FileManager.default.fileExists(atPath: directory + "/site/hallsync.yaml"))
        }
    }
}
