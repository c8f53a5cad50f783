import Foundation
import Relay

/// One FLV file per publish. Each tag goes to the file as it arrives (a plain write, no user
/// space buffer), so a test or ffprobe can read the recording while the publish is live.
/// Owned by the ingest thread.
final class FLVRecorder {
    let url: URL
    private let handle: FileHandle
    private var scratch: [UInt8] = []
    private(set) var failure: String?

    init(url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: Data(FLVFileWriter.headerBytes(hasAudio: true, hasVideo: true))) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        self.url = url
    }

    func append(_ tag: FLVTag) {
        guard failure == nil else { return }
        scratch.removeAll(keepingCapacity: true)
        FLVFileWriter.appendTag(tag, into: &scratch)
        do { try handle.write(contentsOf: scratch) } catch { failure = "writing \(url.path) failed: \(error)" }
    }

    func close() {
        try? handle.synchronize()
        try? handle.close()
    }

    /// `{dir}/{path with / replaced by _}/{UTC timestamp}-{n}.flv`.
    static func fileURL(directory: URL, path: String, date: Date, sequence: Int) -> URL {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS"
        let folder = path.replacingOccurrences(of: "/", with: "_")
        return directory.appendingPathComponent(folder, isDirectory: true)
            .appendingPathComponent("\(formatter.string(from: date))-\(sequence).flv")
    }
}
