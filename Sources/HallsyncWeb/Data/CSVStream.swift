import Foundation
import HallsyncStore
import Hummingbird
import NIOCore
import Synchronization

/// An export of any size: the rows are read from one snapshot of the daemon's database on a
/// thread of their own, rendered as CSV (``CSVExport``) into chunks of about 64 KiB, and written
/// to the response as they come, at most four chunks ahead of the client — memory stays flat
/// whether the file has fifty rows or a million. Every row shown in full is written to the audit
/// log before its chunk leaves. A failure half-way ends the transfer without its last chunk, so
/// the browser reports the download as failed rather than keeping a file cut short.
final class CSVStream: Sendable {
    static let chunkBytes = 64 * 1024
    static let chunksAhead = 4
    private let slots = DispatchSemaphore(value: CSVStream.chunksAhead)
    private let cancelled = Atomic<Bool>(false)

    struct Cancelled: Error {}

    /// Called by the producer for every full chunk: waits while four are in flight; throws when
    /// the client has gone.
    fileprivate func hand(_ chunk: String, to continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation) throws {
        slots.wait()
        guard !cancelled.load(ordering: .acquiring) else { throw Cancelled() }
        continuation.yield(ByteBuffer(string: chunk))
    }

    fileprivate func written() { slots.signal() }

    fileprivate var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    fileprivate func cancel() {
        cancelled.store(true, ordering: .releasing)
        for _ in 0..<CSVStream.chunksAhead { slots.signal() }
    }
}

extension WebPages {
    /// A streamed CSV response. `produce` runs in one read transaction and calls `emit` with each
    /// row's cells and, when the row's personal data is in full, its reservation id (audited as
    /// `view`).
    func csvStream(name: String, headers: [String], account: Account, view: String, address: String,
                   produce: @escaping @Sendable (StoreTransaction, _ emit: ([String], String?) throws -> Bool) throws -> Void) -> Response {
        let sync = self.sync, web = self.web, logger = self.logger
        let body = ResponseBody { writer in
            let stream = CSVStream()
            let (chunks, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            // The producer: a thread of its own, as it blocks on the database and on the client.
            Thread.detachNewThread {
                do {
                    var text = CSVExport.byteOrderMark + CSVExport.line(headers)
                    var inFull: [String] = []
                    func flush() throws {
                        try web.recordViews(of: inFull, account: account.name, view: view, address: address, at: Date().timeIntervalSince1970)
                        inFull.removeAll(keepingCapacity: true)
                        try stream.hand(text, to: continuation)
                        text = ""
                    }
                    try sync.read { tx in
                        try produce(tx) { cells, audited in
                            text += CSVExport.line(cells)
                            if let audited { inFull.append(audited) }
                            if text.utf8.count >= CSVStream.chunkBytes { try flush() }
                            return true
                        }
                    }
                    try flush()
                    continuation.finish()
                } catch where stream.isCancelled {
                    continuation.finish()   // the client has gone: nothing to tell
                } catch {
                    logger.error("export failed", metadata: ["export": "\(view)", "error": "\(error)"])
                    continuation.finish(throwing: error)
                }
            }
            do {
                for try await chunk in chunks {
                    try await writer.write(chunk)
                    stream.written()
                }
                try await writer.finish(nil)
            } catch {
                stream.cancel()
                throw error
            }
        }
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "export.csv"
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"export.csv\"; filename*=UTF-8''\(encoded)"],
                        body: body)
    }

    /// A small CSV (the summary: one line per department or matter) in one piece.
    func csvResponse(_ text: String, name: String) -> Response {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "export.csv"
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"export.csv\"; filename*=UTF-8''\(encoded)"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
