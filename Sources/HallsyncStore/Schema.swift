import Foundation
import GRDB
import HallsyncDomain

/// The versioned migrations of the state database. Append; never edit a shipped one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: reservations, hall copies, outbox, cursors, attention") { db in
            // The latest portal version of every reservation seen, and its normalised form.
            try db.execute(sql: """
                CREATE TABLE reservation (
                    id TEXT PRIMARY KEY NOT NULL,
                    version INTEGER NOT NULL,
                    updateTime TEXT NOT NULL,
                    portalJSON TEXT NOT NULL,
                    disposition TEXT NOT NULL,      -- DELIVERABLE | PHONE | UNDELIVERABLE
                    route TEXT,                     -- INTAKE_LICENSING | LICENSING
                    contentJSON TEXT,               -- HallItemContent, when deliverable
                    isCancelled INTEGER NOT NULL DEFAULT 0,
                    regionCode TEXT,
                    deptCode TEXT,
                    firstSeenAt REAL NOT NULL,
                    changedAt REAL NOT NULL
                );
                CREATE INDEX reservation_disposition ON reservation(disposition);

                -- One row per reservation and hall: the item hallsync created there.
                CREATE TABLE hallCopy (
                    reservationId TEXT NOT NULL REFERENCES reservation(id),
                    target TEXT NOT NULL,           -- intake | licensing
                    itemNo TEXT,
                    revision INTEGER NOT NULL DEFAULT 0,
                    contentJSON TEXT,
                    isBlocked INTEGER NOT NULL DEFAULT 0,
                    createdAt REAL,
                    changedAt REAL NOT NULL,
                    PRIMARY KEY (reservationId, target)
                );

                -- Sends to make, each with its idempotency key fixed before the first attempt.
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    reservationId TEXT NOT NULL REFERENCES reservation(id),
                    target TEXT NOT NULL,           -- intake | licensing | portal
                    kind TEXT NOT NULL,             -- CREATE | UPDATE (ACTION | PUSH from v2)
                    itemNo TEXT,
                    idempotencyKey TEXT NOT NULL UNIQUE,
                    body BLOB NOT NULL,
                    revision INTEGER NOT NULL,
                    state TEXT NOT NULL DEFAULT 'PENDING',   -- PENDING | DONE | FAILED
                    attempts INTEGER NOT NULL DEFAULT 0,
                    firstAttemptAt REAL,
                    nextAttemptAt REAL NOT NULL,
                    lastError TEXT,
                    createdAt REAL NOT NULL,
                    settledAt REAL
                );
                CREATE INDEX outbox_due ON outbox(state, nextAttemptAt) WHERE state = 'PENDING';
                CREATE INDEX outbox_reservation ON outbox(reservationId);

                -- Durable positions: the portal's settled position, later the hall feeds.
                CREATE TABLE cursor (
                    name TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL,
                    changedAt REAL NOT NULL
                );

                -- What cannot be delivered, with a reason a clerk can act on.
                CREATE TABLE attention (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    reservationId TEXT NOT NULL,
                    code TEXT NOT NULL,
                    field TEXT NOT NULL DEFAULT '',
                    target TEXT NOT NULL DEFAULT '',
                    messageZh TEXT NOT NULL,
                    messageEn TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    raisedAt REAL NOT NULL,
                    resolvedAt REAL
                );
                CREATE UNIQUE INDEX attention_open ON attention(reservationId, code, field, target) WHERE resolvedAt IS NULL;
                """)
        }
        migrator.registerMigration("v2: item statuses, lifecycle, feed lookups") { db in
            try db.execute(sql: """
                -- What the hall says of each copy: PENDING until one closing action.
                ALTER TABLE hallCopy ADD COLUMN status TEXT NOT NULL DEFAULT 'PENDING';
                ALTER TABLE hallCopy ADD COLUMN closedBy TEXT;          -- STAFF | SYNC | PORTAL, when known
                ALTER TABLE hallCopy ADD COLUMN statusAt TEXT;          -- Beijing time the hall reported
                CREATE INDEX hallCopy_open ON hallCopy(target, status, reservationId) WHERE itemNo IS NOT NULL;

                -- The staff outcome and what the portal has been told (Lifecycle, JSON).
                ALTER TABLE reservation ADD COLUMN lifecycleJSON TEXT;
                """)
        }
        migrator.registerMigration("v3: an indexed deadline for the overdue counts") { db in
            // Computed by SQLite from the content (nothing to keep in step), indexed so that counting
            // overdue items touches only the overdue ones: 300 ms → a few ms at 200,000 items.
            try db.execute(sql: """
                ALTER TABLE hallCopy ADD COLUMN deadline TEXT GENERATED ALWAYS AS (json_extract(contentJSON, '$.deadline')) VIRTUAL;
                CREATE INDEX hallCopy_overdue ON hallCopy(status, deadline) WHERE itemNo IS NOT NULL;
                """)
        }
        migrator.registerMigration("v4: appointment date and matter as columns, retention") { db in
            // The summary groups and filters by these, and the retention rule reads the date.
            try db.execute(sql: """
                ALTER TABLE reservation ADD COLUMN appointmentDate TEXT;   -- yyyy-MM-dd, when readable
                ALTER TABLE reservation ADD COLUMN itemCode TEXT;          -- the matter code, normalised
                ALTER TABLE reservation ADD COLUMN purgedAt REAL;          -- personal data erased (retention)
                CREATE INDEX reservation_retention ON reservation(appointmentDate) WHERE purgedAt IS NULL;
                """)
            let decoder = JSONDecoder()
            for row in try Row.fetchAll(db, sql: "SELECT id, portalJSON, contentJSON FROM reservation") {
                guard let portal = try? decoder.decode(PortalReservation.self, from: Data((row["portalJSON"] as String).utf8)) else { continue }
                let content = (row["contentJSON"] as String?).flatMap { try? decoder.decode(HallItemContent.self, from: Data($0.utf8)) }
                let stored = StoredReservation(portal: portal, disposition: .undeliverable, route: nil, content: content)
                try db.execute(sql: "UPDATE reservation SET appointmentDate = ?, itemCode = ? WHERE id = ?",
                               arguments: [stored.appointmentKey, stored.itemKey, row["id"] as String])
            }
        }
        migrator.registerMigration("v5: the summary's columns, portal version history, attention resolved by a person") { db in
            try db.execute(sql: """
                -- Who closed an attention entry on the web page, and their note (null: hallsync itself).
                ALTER TABLE attention ADD COLUMN resolvedBy TEXT;
                ALTER TABLE attention ADD COLUMN resolution TEXT;
                CREATE INDEX attention_reservation ON attention(reservationId);

                -- Every portal version seen, without personal data: a record's history.
                CREATE TABLE reservationVersion (
                    reservationId TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    updateTime TEXT NOT NULL,
                    seenAt REAL NOT NULL,
                    status TEXT,
                    processStatus TEXT,
                    appointmentDate TEXT,
                    appointmentSlot TEXT,
                    disposition TEXT NOT NULL,
                    PRIMARY KEY (reservationId, version)
                );
                INSERT INTO reservationVersion (reservationId, version, updateTime, seenAt, status, processStatus, appointmentDate, appointmentSlot, disposition)
                SELECT id, version, updateTime, changedAt, json_extract(portalJSON, '$.status'), json_extract(portalJSON, '$.processStatus'),
                       json_extract(portalJSON, '$.appointmentDate'), json_extract(portalJSON, '$.appointmentSlot'), disposition FROM reservation;

                -- The summary's categories, computed by SQLite from what is stored (nothing to keep in step):
                -- PHONE (verified by phone only), HELD (on the attention list, not deliverable), the staff's
                -- outcome HANDLED | CONSULTED, CANCELLED online without an outcome, else PENDING.
                ALTER TABLE reservation ADD COLUMN outcome TEXT GENERATED ALWAYS AS (json_extract(lifecycleJSON, '$.outcome.status')) VIRTUAL;
                ALTER TABLE reservation ADD COLUMN portalStatus TEXT GENERATED ALWAYS AS (json_extract(lifecycleJSON, '$.portalStatus')) VIRTUAL;
                ALTER TABLE reservation ADD COLUMN deadline TEXT GENERATED ALWAYS AS (json_extract(contentJSON, '$.deadline')) VIRTUAL;
                ALTER TABLE reservation ADD COLUMN state TEXT GENERATED ALWAYS AS (CASE
                    WHEN disposition = 'PHONE' THEN 'PHONE'
                    WHEN disposition = 'UNDELIVERABLE' THEN 'HELD'
                    WHEN json_extract(lifecycleJSON, '$.outcome.status') IN ('HANDLED', 'CONSULTED') THEN json_extract(lifecycleJSON, '$.outcome.status')
                    WHEN isCancelled = 1 THEN 'CANCELLED'
                    ELSE 'PENDING' END) VIRTUAL;
                -- Covering the summary's query by department and by region: counting 100,000
                -- reservations reads these indexes, not the rows and their JSON (0.35 s → 0.11 s).
                CREATE INDEX reservation_summary_dept ON reservation(deptCode, appointmentDate, itemCode, state, deadline, id);
                CREATE INDEX reservation_summary_region ON reservation(regionCode, appointmentDate, deptCode, itemCode, state, deadline, id);
                """)
        }
        migrator.registerMigration("v6: what a send is, in typed columns; due sends by peer") { db in
            // Sending and settling read these instead of decoding the body they sent. Rows written
            // before are filled from their bodies here; a create's or update's content stays NULL
            // for them and is read from the body when it settles.
            try db.execute(sql: """
                ALTER TABLE outbox ADD COLUMN action TEXT;         -- ACTION: HANDLE | CONSULT | CANCEL
                ALTER TABLE outbox ADD COLUMN origin TEXT;         -- ACTION: SYNC | PORTAL
                ALTER TABLE outbox ADD COLUMN pushStatus TEXT;     -- PUSH: the portal status sent
                ALTER TABLE outbox ADD COLUMN contentJSON TEXT;    -- CREATE | UPDATE: the content sent
                UPDATE outbox SET action = json_extract(body, '$.action'), origin = json_extract(body, '$.origin')
                    WHERE kind = 'ACTION' AND json_valid(body);
                UPDATE outbox SET pushStatus = json_extract(body, '$.processStatus') WHERE kind = 'PUSH' AND json_valid(body);
                -- Each peer's worker slots take their own due sends, oldest first.
                CREATE INDEX outbox_due_target ON outbox(target, nextAttemptAt) WHERE state = 'PENDING';
                """)
        }
        migrator.registerMigration("v7: the status counts read small indexes, not whole tables") { db in
            // Counted every cycle for the status file: without these, each count read every
            // reservation (and its JSON) or every send — 30 ms a cycle at 10,000 reservations,
            // 300 ms at 100,000, a third of a catch-up's CPU. The same conditions as the counts'.
            try db.execute(sql: """
                CREATE INDEX reservation_without_phone ON reservation(disposition)
                    WHERE disposition = 'DELIVERABLE' AND json_extract(contentJSON, '$.phone') = '';
                CREATE INDEX reservation_purged ON reservation(purgedAt) WHERE purgedAt IS NOT NULL;
                CREATE INDEX outbox_failed ON outbox(state) WHERE state = 'FAILED';
                """)
        }
        migrator.registerMigration("v8: one hall item belongs to one reservation; items seen that are not ours") { db in
            // A hall once answered a create with another reservation's item number and both copies
            // recorded it. The older copy keeps the number; the others lose it (a lookup or a create
            // finds their own item again), their sends addressed to that item are refused, and they
            // go to the attention list. Then the store refuses a second owner for good.
            let now = Date().timeIntervalSince1970
            try db.execute(sql: """
                -- The item was seen carrying the reservation's id (found by a lookup, reported by the
                -- feed under it): an item number known only from a create's answer is checked by a
                -- lookup before hallsync updates it or acts on it.
                ALTER TABLE hallCopy ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
                -- +1 each time the item number a hall gave turned out to be another's: the next create
                -- goes under a key of its own, after a lookup.
                ALTER TABLE hallCopy ADD COLUMN keyGeneration INTEGER NOT NULL DEFAULT 0;
                """)
            let losers = """
                SELECT c.reservationId, c.target, c.itemNo FROM hallCopy c
                WHERE c.itemNo IS NOT NULL AND EXISTS (
                    SELECT 1 FROM hallCopy k WHERE k.target = c.target AND k.itemNo = c.itemNo
                    AND (COALESCE(k.createdAt, 0), k.rowid) < (COALESCE(c.createdAt, 0), c.rowid))
                """
            for row in try Row.fetchAll(db, sql: losers) {
                let (id, target, itemNo): (String, String, String) = (row[0], row[1], row[2])
                let hall = HallTarget(rawValue: target)?.chineseName ?? target
                try db.execute(sql: """
                    INSERT INTO attention (reservationId, code, field, target, messageZh, messageEn, version, raisedAt)
                    VALUES (?, 'HALL_ITEM_CONFLICT', ?, ?, ?, ?, 0, ?)
                    ON CONFLICT(reservationId, code, field, target) WHERE resolvedAt IS NULL DO NOTHING
                    """, arguments: [id, itemNo, target,
                                     "\(hall)办件 \(itemNo) 曾被同时记为本预约和另一预约的办件；该办件归先建的预约，本预约的办件将重新查找或创建，请核对\(hall)中是否有本预约的办件",
                                     "The \(target) item \(itemNo) was recorded for this and another reservation; it stays with the older one, and this reservation's own item is looked up or created again. Check the \(target) hall for this reservation's item.",
                                     now])
                try db.execute(sql: """
                    UPDATE outbox SET state = 'FAILED', settledAt = ?, lastError = 'HALL_ITEM_CONFLICT: addressed an item that belongs to another reservation; not sent'
                    WHERE reservationId = ? AND target = ? AND itemNo = ? AND state = 'PENDING'
                    """, arguments: [now, id, target, itemNo])
                try db.execute(sql: """
                    UPDATE hallCopy SET itemNo = NULL, status = 'PENDING', closedBy = NULL, statusAt = NULL, contentJSON = NULL, revision = 0,
                        keyGeneration = keyGeneration + 1, changedAt = ?
                    WHERE reservationId = ? AND target = ?
                    """, arguments: [now, id, target])
            }
            try db.execute(sql: """
                CREATE UNIQUE INDEX hallCopy_item ON hallCopy(target, itemNo) WHERE itemNo IS NOT NULL;

                -- Items a hall holds with one of our reservations' ids that are not (yet) that
                -- reservation's copy: a change of the feed or a lookup's answer about them, kept until
                -- the item turns out to be ours (a create whose answer was lost) or is shown to a person.
                CREATE TABLE hallItemSighting (
                    target TEXT NOT NULL,
                    itemNo TEXT NOT NULL,
                    reservationId TEXT NOT NULL,
                    status TEXT NOT NULL,
                    origin TEXT,
                    operator TEXT,
                    at TEXT,
                    source TEXT NOT NULL,          -- FEED | LOOKUP
                    seenAt REAL NOT NULL,
                    PRIMARY KEY (target, itemNo)
                );
                CREATE INDEX hallItemSighting_reservation ON hallItemSighting(reservationId);
                """)
        }
        migrator.registerMigration("v9: a copy and a send keep what was sent as digests, not a third JSON") { db in
            // The reservation keeps its content; a copy and a pending create or update keep its
            // digests (is it the same? the same applicant?) and the two columns the summary reads.
            // The reservation's content is rewritten in the one canonical encoding the digests are
            // taken over, so that what older versions wrote compares equal to what this one writes.
            let decoder = JSONDecoder()
            func delivered(_ json: String?) -> DeliveredContent? {
                guard let json, let content = try? decoder.decode(HallItemContent.self, from: Data(json.utf8)) else { return nil }
                return DeliveredContent(content)
            }
            for row in try Row.fetchAll(db, sql: "SELECT id, contentJSON FROM reservation WHERE contentJSON IS NOT NULL") {
                guard let content = try? decoder.decode(HallItemContent.self, from: Data((row[1] as String).utf8)) else { continue }
                try db.execute(sql: "UPDATE reservation SET contentJSON = ? WHERE id = ?",
                               arguments: [String(decoding: content.canonicalJSON(), as: UTF8.self), row[0] as String])
            }
            try db.execute(sql: """
                CREATE TABLE hallCopyV9 (
                    reservationId TEXT NOT NULL REFERENCES reservation(id),
                    target TEXT NOT NULL,               -- a HallTarget
                    itemNo TEXT,
                    revision INTEGER NOT NULL DEFAULT 0,
                    contentDigest TEXT,                 -- SHA-256 of the content last sent (canonical JSON)
                    identityDigest TEXT,                -- SHA-256 of the applicant's identity in it
                    deadline TEXT,                      -- the item's due time as sent
                    deptCode TEXT,                      -- the department it was sent to
                    isBlocked INTEGER NOT NULL DEFAULT 0,
                    createdAt REAL,
                    changedAt REAL NOT NULL,
                    status TEXT NOT NULL DEFAULT 'PENDING',
                    closedBy TEXT,
                    statusAt TEXT,
                    verified INTEGER NOT NULL DEFAULT 0,
                    keyGeneration INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (reservationId, target)
                );
                INSERT INTO hallCopyV9 (reservationId, target, itemNo, revision, isBlocked, createdAt, changedAt, status, closedBy,
                                        statusAt, verified, keyGeneration)
                    SELECT reservationId, target, itemNo, revision, isBlocked, createdAt, changedAt, status, closedBy, statusAt,
                           verified, keyGeneration FROM hallCopy;
                """)
            for row in try Row.fetchAll(db, sql: "SELECT reservationId, target, contentJSON FROM hallCopy WHERE contentJSON IS NOT NULL") {
                guard let sent = delivered(row[2]) else { continue }
                try db.execute(sql: """
                    UPDATE hallCopyV9 SET contentDigest = ?, identityDigest = ?, deadline = ?, deptCode = ? WHERE reservationId = ? AND target = ?
                    """, arguments: [sent.digest, sent.identity, sent.deadline, sent.deptCode, row[0] as String, row[1] as String])
            }
            try db.execute(sql: """
                DROP TABLE hallCopy;
                ALTER TABLE hallCopyV9 RENAME TO hallCopy;
                CREATE INDEX hallCopy_open ON hallCopy(target, status, reservationId) WHERE itemNo IS NOT NULL;
                CREATE INDEX hallCopy_overdue ON hallCopy(status, deadline) WHERE itemNo IS NOT NULL;
                CREATE UNIQUE INDEX hallCopy_item ON hallCopy(target, itemNo) WHERE itemNo IS NOT NULL;

                ALTER TABLE outbox ADD COLUMN contentDigest TEXT;    -- CREATE | UPDATE: what the copy records once the hall has it
                ALTER TABLE outbox ADD COLUMN identityDigest TEXT;
                ALTER TABLE outbox ADD COLUMN deadline TEXT;
                ALTER TABLE outbox ADD COLUMN deptCode TEXT;
                """)
            // A send queued before v6 has no content column: its body holds the content.
            for row in try Row.fetchAll(db, sql: "SELECT id, contentJSON, body FROM outbox WHERE kind IN ('CREATE', 'UPDATE') AND state = 'PENDING'") {
                let body: Data = row[2]
                guard let sent = delivered(row[1]) ?? delivered(String(decoding: body, as: UTF8.self)) else { continue }
                try db.execute(sql: "UPDATE outbox SET contentDigest = ?, identityDigest = ?, deadline = ?, deptCode = ? WHERE id = ?",
                               arguments: [sent.digest, sent.identity, sent.deadline, sent.deptCode, row[0] as Int64])
            }
            try db.execute(sql: "ALTER TABLE outbox DROP COLUMN contentJSON")
        }
        migrator.registerMigration("v10: what the pages show of a reservation, in columns of its own") { db in
            // Read by the summary's list, the attention page and the status counts without JSON
            // functions (one form for SQLite and PostgreSQL alike); written with the reservation.
            try db.execute(sql: """
                ALTER TABLE reservation ADD COLUMN itemName TEXT;
                ALTER TABLE reservation ADD COLUMN registerTime TEXT;
                ALTER TABLE reservation ADD COLUMN appointmentSlot TEXT;
                ALTER TABLE reservation ADD COLUMN applicantName TEXT;
                ALTER TABLE reservation ADD COLUMN phone TEXT;
                ALTER TABLE reservation ADD COLUMN deptName TEXT;
                UPDATE reservation SET
                    deptName = json_extract(portalJSON, '$.deptName'),
                    itemName = COALESCE(json_extract(contentJSON, '$.itemName'), json_extract(portalJSON, '$.itemName')),
                    registerTime = json_extract(contentJSON, '$.registerTime'),
                    appointmentSlot = json_extract(portalJSON, '$.appointmentSlot'),
                    applicantName = COALESCE(json_extract(contentJSON, '$.applicantName'), json_extract(portalJSON, '$.applicant.name')),
                    phone = CASE WHEN contentJSON IS NOT NULL THEN json_extract(contentJSON, '$.phone') ELSE json_extract(portalJSON, '$.applicant.phone') END
                    WHERE json_valid(portalJSON);
                DROP INDEX reservation_without_phone;
                CREATE INDEX reservation_without_phone ON reservation(disposition) WHERE disposition = 'DELIVERABLE' AND phone = '';
                """)
        }
        migrator.registerMigration("v11: the summary's categories in columns hallsync writes, not computed from JSON") { db in
            // outcome, portalStatus, deadline and state were computed by SQLite from the JSON (generated
            // columns over json_extract); they are plain columns now, written with the reservation and
            // its lifecycle (StoreTransaction.save, setLifecycle) — one schema for SQLite and PostgreSQL.
            try db.execute(sql: """
                DROP INDEX reservation_summary_dept;
                DROP INDEX reservation_summary_region;
                ALTER TABLE reservation DROP COLUMN state;
                ALTER TABLE reservation DROP COLUMN deadline;
                ALTER TABLE reservation DROP COLUMN portalStatus;
                ALTER TABLE reservation DROP COLUMN outcome;
                ALTER TABLE reservation ADD COLUMN outcome TEXT;        -- the staff's outcome (Lifecycle.outcome.status)
                ALTER TABLE reservation ADD COLUMN portalStatus TEXT;   -- what the portal was told (Lifecycle.portalStatus)
                ALTER TABLE reservation ADD COLUMN deadline TEXT;       -- the hall item's due time (content.deadline)
                -- PHONE | HELD | HANDLED | CONSULTED | CANCELLED | PENDING (StoredReservation.summaryStateSQL)
                ALTER TABLE reservation ADD COLUMN state TEXT NOT NULL DEFAULT 'PENDING';
                UPDATE reservation SET
                    outcome = CASE WHEN json_valid(lifecycleJSON) THEN json_extract(lifecycleJSON, '$.outcome.status') END,
                    portalStatus = CASE WHEN json_valid(lifecycleJSON) THEN json_extract(lifecycleJSON, '$.portalStatus') END,
                    deadline = CASE WHEN json_valid(contentJSON) THEN json_extract(contentJSON, '$.deadline') END;
                UPDATE reservation SET state = CASE
                    WHEN disposition = 'PHONE' THEN 'PHONE'
                    WHEN disposition = 'UNDELIVERABLE' THEN 'HELD'
                    WHEN outcome IN ('HANDLED', 'CONSULTED') THEN outcome
                    WHEN isCancelled = 1 THEN 'CANCELLED'
                    ELSE 'PENDING' END;
                CREATE INDEX reservation_summary_dept ON reservation(deptCode, appointmentDate, itemCode, state, deadline, id);
                CREATE INDEX reservation_summary_region ON reservation(regionCode, appointmentDate, deptCode, itemCode, state, deadline, id);
                """)
        }
        migrator.registerMigration(Self.v12) { db in try db.execute(sql: Self.v12SQL) }
        return migrator
    }

    /// A peer's due sends in their order (`nextAttemptAt, id`) from the index alone: PostgreSQL
    /// sorted every due send of a peer to take the first 32 (the order's `id` was not in the
    /// index; SQLite's indexes end with the rowid, so it had the order already). The same
    /// statements on both databases.
    static let v12 = "v12: a peer's due sends in their order, by index"
    static let v12SQL = """
        DROP INDEX outbox_due_target;
        CREATE INDEX outbox_due_target ON outbox(target, nextAttemptAt, id) WHERE state = 'PENDING';
        """

    /// Every migration this binary knows, oldest first.
    static var names: [String] { migrator.migrations }

    /// `v5` of `v5: the summary's columns, …`, for file names.
    static func shortName(_ migration: String) -> String { String(migration.prefix { $0 != ":" }) }

    /// The newest migration whose columns a reader (the web page) needs: it refuses an older
    /// file. (v7 adds indexes only; v8 an index and a table the daemon alone reads.)
    static let newest = "v6: what a send is, in typed columns; due sends by peer"
}
