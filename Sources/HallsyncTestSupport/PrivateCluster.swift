import Foundation
import HallsyncStandIns
import Testing

/// The tests' name for the private cluster (``PrivatePostgres``, shared with `hallsync demo --pair`).
public typealias PrivateCluster = PrivatePostgres

extension PrivatePostgres {
    /// The cluster of the suite being run, set by the `.privateCluster` trait.
    @TaskLocal public static var current: PrivatePostgres?
}

/// Gives each suite it is applied to a cluster of its own, stopped when the suite ends; its
/// tests find it in ``PrivateCluster/current``.
public struct PrivateClusterTrait: SuiteTrait, TestScoping {
    public let isRecursive = false

    public init() {}

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let cluster = try PrivateCluster.start()
        defer { cluster.stop() }
        try await PrivateCluster.$current.withValue(cluster) {
            try await function()
        }
    }
}

extension Trait where Self == PrivateClusterTrait {
    /// A private PostgreSQL cluster for the suite; see ``PrivateCluster``.
    public static var privateCluster: Self { Self() }
}

