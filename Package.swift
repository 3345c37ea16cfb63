// swift-tools-version:6.2
import PackageDescription

// hallsync — carries online reservations from the government-service portal into the
// intake (综合受理) and licensing (行政许可) hall inboxes, and outcomes back.
//
// Targets follow the architecture: a pure domain core, a SQLite store, transports over
// libcurl, the engine, operations (the service around it), and the stand-ins (used by
// tests and `hallsync demo` only).
let package = Package(
    name: "hallsync",
    products: [
        .executable(name: "hallsync", targets: ["hallsync"]),
        .executable(name: "hallsync-standins", targets: ["hallsync-standins"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The summary web page: a maintained server (Hummingbird 2 on SwiftNIO), bcrypt, and
        // logic-less templates. Only `HallsyncWeb` and the CLI link them.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // libcurl, with non-variadic `static inline` helpers around curl_easy_setopt.
        .systemLibrary(
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // libpq, with `static inline` helpers (notice processor, PG_DIAG_* codes as enumerators).
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // PostgreSQL for the active/standby pair: a blocking libpq connection and the leadership
        // lease with its fence (the engine's LeaseKeeper runs it).
        .target(name: "HallsyncPostgres", dependencies: ["CPostgres"]),
        // Pure rules: normalisation, routing, deadlines, the delivery state machine. No I/O.
        // SHA-256 for the digests of what was sent (swift-crypto: pure computation).
        .target(name: "HallsyncDomain", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The state: one SQLite file (GRDB), or a region's schema on PostgreSQL (libpq) for a pair;
        // migrations, reservations, outbox, cursors, attention list, through one SQL session.
        .target(
            name: "HallsyncStore",
            dependencies: [
                "HallsyncDomain", "HallsyncPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // HTTP over libcurl, portal signing, the hall client.
        .target(
            name: "HallsyncTransport",
            dependencies: [
                "CCurl", "HallsyncDomain",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The configuration file: reading, validation (every problem at once), the halls and the
        // web page's settings. Read by the engine and the web page alike; no I/O but the file.
        .target(
            name: "HallsyncConfiguration",
            dependencies: [
                "HallsyncDomain",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The engine's loops as pure state machines (events in, actions out): paging, feeds, sends,
        // settlement, cadence, the pair's lease. Nothing below the domain: the compiler keeps it so.
        .target(name: "HallsyncMachines", dependencies: ["HallsyncDomain"]),
        // Sync cycle phases, the daemon loop, the clients a configuration describes.
        .target(
            name: "HallsyncEngine",
            dependencies: [
                "HallsyncDomain", "HallsyncMachines", "HallsyncConfiguration", "HallsyncStore", "HallsyncTransport", "HallsyncPostgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Running as a service: sd_notify, the status file, metrics, journald logging, monitoring.
        .target(
            name: "HallsyncOperations",
            dependencies: [
                "HallsyncDomain", "HallsyncStore", "HallsyncEngine", "HallsyncTransport", "HallsyncPostgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // 预约数据汇总: the summary web page for department staff and region administrators, a
        // process of its own (`hallsync web`). Reads the daemon's database, writes only its own,
        // both through the store's typed operations (no SQL, no GRDB here).
        .target(
            name: "HallsyncWeb",
            dependencies: [
                "HallsyncDomain", "HallsyncStore", "HallsyncConfiguration",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Honest stand-ins for the portal and both halls (contract §4), and a private PostgreSQL
        // cluster for a pair. Never imported by the daemon's libraries; linked by the CLI only
        // for `demo` and `bench`.
        .target(
            name: "HallsyncStandIns",
            dependencies: [
                "HallsyncDomain", "HallsyncPostgres",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "hallsync",
            dependencies: [
                "HallsyncEngine", "HallsyncOperations", "HallsyncStandIns", "HallsyncWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "hallsync-standins",
            dependencies: [
                "HallsyncStandIns",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the test targets share: blocking test bodies run on threads of their own (`offPool`).
        .target(name: "HallsyncTestSupport", dependencies: ["HallsyncStandIns", "HallsyncStore"]),
        .testTarget(name: "HallsyncDomainTests", dependencies: ["HallsyncDomain", "HallsyncStandIns"]),
        .testTarget(
            name: "HallsyncStoreTests",
            dependencies: ["HallsyncStore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "HallsyncTransportTests",
            dependencies: ["HallsyncTransport", "HallsyncStandIns"]
        ),
        .testTarget(
            name: "HallsyncIntegrationTests",
            dependencies: ["HallsyncEngine", "HallsyncOperations", "HallsyncStandIns", "HallsyncTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "HallsyncOperationsTests", dependencies: ["HallsyncOperations", "HallsyncEngine"]),
        // The lease, the driver and the store's operations on both databases, against a private
        // PostgreSQL cluster per suite (initdb, Unix socket only).
        .testTarget(name: "HallsyncPostgresTests", dependencies: ["HallsyncPostgres", "HallsyncStore", "HallsyncEngine", "HallsyncOperations", "HallsyncStandIns", "HallsyncTransport", "HallsyncTestSupport"]),
        // The engine's pure state machines, driven event by event: no socket, no sleep.
        .testTarget(name: "HallsyncEngineTests", dependencies: ["HallsyncEngine", "HallsyncMachines", "HallsyncConfiguration"]),
        .testTarget(
            name: "HallsyncWebTests",
            dependencies: ["HallsyncWeb", "HallsyncEngine", "HallsyncStandIns", "HallsyncTransport", "HallsyncOperations", "HallsyncTestSupport",
                           .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
    ]
)

// Warnings in hallsync's own code are errors: a statement prepared and never run (a restore that
// no longer marked its creates for a lookup) once showed only as "result … is unused".
for target in package.targets where target.type != .system && target.type != .test {
    target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error)]
}
