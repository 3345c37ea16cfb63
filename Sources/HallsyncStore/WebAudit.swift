import Foundation

extension WebStore {
    /// Writes one line per reservation whose personal data an account saw in full: who, when,
    /// which, on which page (`view`: `list`, `record`, `list.csv` …), from where.
    public func recordViews(of reservationIds: [String], account: String, view: String, address: String, at time: Double) throws {
        guard !reservationIds.isEmpty else { return }
        try write { db in
            for id in reservationIds {
                try db.execute("INSERT INTO audit (at, account, reservationId, view, address) VALUES (?, ?, ?, ?, ?)", [time, account, id, view, address])
            }
        }
    }
}
