// swift-tools-version:6.0
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
    ],
    targets: [
        // libcurl, with non-variadic `static inline` helpers around curl_easy_setopt.
        .systemLibrary(
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // Pure rules: normalisation, routing, deadlines, the delivery state machine. No I/O.
        .target(name: "HallsyncDomain"),
        // One SQLite file: migrations, reservations, outbox, cursors, attention list.
        .target(
            name: "HallsyncStore",
            dependencies: ["HallsyncDomain", .product(name: "GRDB", package: "GRDB.swift")]
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
        // Configuration, sync cycle phases, the daemon loop.
        .target(
            name: "HallsyncEngine",
            dependencies: [
                "HallsyncDomain", "HallsyncStore", "HallsyncTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Running as a service: sd_notify, the status file, metrics, journald logging, monitoring.
        .target(
            name: "HallsyncOperations",
            dependencies: [
                "HallsyncDomain", "HallsyncStore", "HallsyncEngine",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Honest stand-ins for the portal and both halls (contract §4). Never imported by
        // the daemon's libraries; linked by the CLI only for `demo`.
        .target(
            name: "HallsyncStandIns",
            dependencies: [
                "HallsyncDomain",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "hallsync",
            dependencies: [
                "HallsyncEngine", "HallsyncOperations", "HallsyncStandIns",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
        .testTarget(name: "HallsyncDomainTests", dependencies: ["HallsyncDomain"]),
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
            dependencies: ["HallsyncEngine", "HallsyncOperations", "HallsyncStandIns"]
        ),
        .testTarget(name: "HallsyncOperationsTests", dependencies: ["HallsyncOperations"]),
        // The engine's pure state machines, driven event by event: no socket, no sleep.
        .testTarget(name: "HallsyncEngineTests", dependencies: ["HallsyncEngine"]),
    ]
)
