import Foundation

/// The Prometheus text exposition format (0.0.4) for node_exporter's textfile collector:
/// HELP and TYPE for every metric, no timestamps, label values escaped. Counters count since
/// the process started (Prometheus handles the reset at a restart).
enum PrometheusText {
    static func render(_ d: StatusDocument, totals: StatusReporter.Totals) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [([(String, String)], Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples {
                let labelText = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
                out += "\(name)\(labelText) \(format(value))\n"
            }
        }
        metric("hallsync_info", "gauge", "Version and configuration generation of the running daemon.",
               [([("version", d.version)], 1)])
        metric("hallsync_start_time_seconds", "gauge", "Unix time the daemon started.",
               [([], d.startedAtUnix.rounded(.down))])
        metric("hallsync_config_generation", "gauge", "1 at start, +1 per accepted reload.", [([], Double(d.configGeneration))])
        metric("hallsync_status_written_time_seconds", "gauge", "Unix time of the last status update.", [([], d.writtenAtUnix)])
        metric("hallsync_cycles_total", "counter", "Sync cycles run.", [([], Double(totals.cycles))])
        metric("hallsync_cycles_with_errors_total", "counter", "Sync cycles that met at least one error.", [([], Double(totals.cycleErrors))])
        metric("hallsync_last_cycle_duration_seconds", "gauge", "Duration of the last cycle.", [([], d.lastCycle?.durationSeconds ?? 0)])
        metric("hallsync_portal_records_total", "counter", "Reservation records received from the portal.", [([], Double(totals.pulled))])
        metric("hallsync_sends_total", "counter", "Sends each peer accepted: creates, updates and closing actions for the halls, status pushes for the portal.",
               EndpointHealth.names.sorted().map { ([("peer", $0)], Double(totals.sent[$0, default: 0])) })
        metric("hallsync_refused_sends_total", "counter", "Sends refused for good (put on the attention list).", [([], Double(totals.refused))])
        metric("hallsync_feed_changes_total", "counter", "Hall change feed entries read.", [([], Double(totals.feedChanges))])
        metric("hallsync_caught_up", "gauge", "1 when the portal was read up to its lag horizon in the last cycle.",
               [([], d.lastCycle?.caughtUp == true ? 1 : 0)])
        metric("hallsync_pending_sends", "gauge", "Sends waiting in the outbox, per peer.",
               StatusDocument.peers.map { ([("peer", $0)], Double(d.queues.pending[$0] ?? 0)) })
        metric("hallsync_oldest_pending_send_age_seconds", "gauge", "Age of the oldest pending send (0 when none).",
               [([], d.queues.oldestPendingAgeSeconds ?? 0)])
        metric("hallsync_failed_sends", "gauge", "Sends settled as refused.", [([], Double(d.queues.failedSends))])
        metric("hallsync_reservations", "gauge", "Reservations stored, by disposition.",
               [([("disposition", "deliverable")], Double(d.reservations.deliverable)),
                ([("disposition", "phone_verified_only")], Double(d.reservations.phoneVerifiedOnly)),
                ([("disposition", "undeliverable")], Double(d.reservations.undeliverable))])
        metric("hallsync_reservations_without_phone", "gauge", "Deliverable reservations sent without a usable phone number.",
               [([], Double(d.reservations.withoutPhone))])
        metric("hallsync_hall_items", "gauge", "Hall items hallsync created, by status.",
               d.items.sorted { $0.key < $1.key }.map { ([("status", $0.key)], Double($0.value)) })
        metric("hallsync_attention_open", "gauge", "Reservations on the attention list, by reason code.",
               d.attention.byCode.sorted { $0.key < $1.key }.map { ([("code", $0.key)], Double($0.value)) })
        metric("hallsync_overdue_items", "gauge", "Open hall items past their deadline (超期), by department code.",
               d.overdue.byDepartment.sorted { $0.key < $1.key }.map { ([("dept", $0.key)], Double($0.value)) })
        metric("hallsync_overdue_items_by_region", "gauge", "Open hall items past their deadline, by region code.",
               d.overdue.byRegion.sorted { $0.key < $1.key }.map { ([("region", $0.key)], Double($0.value)) })
        metric("hallsync_peer_up", "gauge", "1 when the peer answered in the last cycle (or nothing failed there).",
               d.endpoints.sorted { $0.key < $1.key }.map { ([("peer", $0.key)], $0.value.consecutiveFailures == 0 ? 1 : 0) })
        metric("hallsync_peer_consecutive_failures", "gauge", "Cycles in a row the peer failed without answering anything.",
               d.endpoints.sorted { $0.key < $1.key }.map { ([("peer", $0.key)], Double($0.value.consecutiveFailures)) })
        metric("hallsync_calendar_uncovered_years", "gauge", "Years within the next 60 days missing from the working calendar.",
               [([], Double(d.calendar.warnings.count))])
        metric("hallsync_deadline_fallbacks", "gauge", "Versions stored in the last cycle whose deadline counted weekends only.",
               [([], Double(d.calendar.deadlineFallbacksLastCycle))])
        metric("hallsync_personal_data_erased", "gauge", "Reservations whose applicant's name, ID number and phone were erased after the retention.",
               [([], Double(d.retention?.purgedTotal ?? 0))])
        if let lease = d.leadership {
            metric("hallsync_pair_leader", "gauge", "1 while this daemon of the pair leads its region (0: standby, taking over or stopped).",
                   [([("region", lease.region), ("holder", lease.holder)], lease.role == "leader" ? 1 : 0)])
            metric("hallsync_pair_epoch", "gauge", "The lease's epoch in the database (the fencing token); +1 at each takeover.",
                   [([("region", lease.region)], Double(lease.leaseEpoch ?? 0))])
            metric("hallsync_pair_lease_expires_in_seconds", "gauge", "Seconds until the region's lease expires by the database's clock (negative: nobody has held it that long).",
                   [([("region", lease.region)], lease.leaseExpiresInSeconds ?? 0)])
        }
        return out
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
