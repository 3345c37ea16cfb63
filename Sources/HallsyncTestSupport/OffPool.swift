import Foundation

/// Runs a test's blocking body (cycles, drains, processes, sockets) on a thread of its own: the
/// test runner's threads — one per core — are then free for the other tests meanwhile, and the
/// suite's tests, which mostly wait on peers, overlap instead of queueing behind two threads.
/// The body keeps the test's task-local context (a task that prefers a thread executor, not a
/// bare thread), so an expectation it records is the test's.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    // An unstructured task inherits the test's task-local context (Swift Testing's current test);
    // its first job is enqueued on the preferred executor: a thread of its own.
    try await Task(executorPreference: ThreadPerJobExecutor.shared) { try body() }.value
}

/// Every job on a new thread (8 MiB of stack): a blocking test body holds a thread of its own.
public final class ThreadPerJobExecutor: TaskExecutor {
    public static let shared = ThreadPerJobExecutor()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread {
            Thread.current.threadDictionary[Self.marker] = true
            job.runSynchronously(on: executor)
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    static let marker = "hallsync.test.offPool"

    /// Whether the caller runs on one of this executor's threads.
    public static var onOwnThread: Bool { Thread.current.threadDictionary[marker] as? Bool == true }
}
