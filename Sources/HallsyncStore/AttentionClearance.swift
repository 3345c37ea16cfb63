import Foundation

/// What one transaction knows of reservations with no open attention entry, so that closing
/// entries that were never opened costs no statement (on PostgreSQL, a statement is a round trip
/// and work for the server: most plans close conditions that do not hold, and these `UPDATE`s
/// changing nothing were a fifth of a reservation's statements).
///
/// The rule it relies on: **an entry is opened only by ``StoreTransaction/raiseAttention(_:)``**,
/// by the one process that writes the state (the daemon; on a pair the leader, its writes
/// fenced). The web page and the CLI only close entries. So a reservation read with no open entry
/// stays clear for the rest of the transaction until this transaction raises one for it, which
/// forgets it here; closing never needs to be forgotten. It is per transaction (a new one each
/// ``Store/write(_:)``): nothing is carried past a rollback or a commit.
final class AttentionClearance {
    private var clear: Set<String> = []

    /// The select-list column that tells whether the reservation `id` names has an open entry
    /// (`hasOpenAttention`; the partial index `attention_open` answers it).
    static func openEntryColumn(of id: String) -> String {
        "EXISTS (SELECT 1 FROM attention a WHERE a.reservationId = \(id) AND a.resolvedAt IS NULL) AS hasOpenAttention"
    }

    /// ``openEntryColumn(of:)`` for a statement on the `reservation` table.
    static let openEntryColumn = openEntryColumn(of: "reservation.id")

    /// What a read of the reservation's row found.
    func learn(_ reservationId: String, hasOpenEntry: Bool) {
        if hasOpenEntry { clear.remove(reservationId) } else { clear.insert(reservationId) }
    }

    /// An entry is being opened for it.
    func forget(_ reservationId: String) {
        clear.remove(reservationId)
    }

    /// Whether it is known to have no open entry: closing its entries would change nothing.
    func isClear(_ reservationId: String) -> Bool {
        clear.contains(reservationId)
    }
}
