import Foundation
import Relay

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One FLV file per publish. Each tag goes to the file as it arrives (a plain write, no user
/// space buffer), so a test or ffprobe can read the recording while the publish is live.
///
/// A write that fails (ENOSPC: the disk is full, EIO, EFBIG…) ends the recording, never the
/// publish: the file is cut back to the last whole tag (so it stays a readable FLV), closed,
/// and `append` returns the reason once for the ingest to log. MediaMTX does the same: a
/// recorder error is logged and the stream goes on.
///
/// Owns its file descriptor; owned by the ingest thread.
final class FLVRecorder {
    let url: URL
    private var fd: Int32
    /// Bytes of whole tags (and the header) in the file: where a failed write is cut back to.
    private(set) var bytesWritten: Int = 0
    private var scratch: [UInt8] = []
    private(set) var failure: String?

    init(url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FLVRecorderError(description: "cannot create \(url.path): \(Self.describe(errno: errno))")
        }
        self.url = url
        let header = FLVFileWriter.headerBytes(hasAudio: true, hasVideo: true)
        if let reason = writeAll(header) {
            POSIX.close(fd)
            fd = -1
            throw FLVRecorderError(description: "cannot write the FLV header to \(url.path): \(reason)")
        }
        bytesWritten = header.count
    }

    deinit { if fd >= 0 { POSIX.close(fd) } }

    /// Appends one tag. Returns the failure the first time a write fails (the recording has
    /// stopped then, its file cut back to the last whole tag); nil otherwise.
    func append(_ tag: FLVTag) -> String? {
        guard failure == nil, fd >= 0 else { return nil }
        scratch.removeAll(keepingCapacity: true)
        FLVFileWriter.appendTag(tag, into: &scratch)
        guard let reason = writeAll(scratch) else {
            bytesWritten += scratch.count
            return nil
        }
        _ = ftruncate(fd, off_t(bytesWritten))
        POSIX.close(fd)
        fd = -1
        let stopped = "recording \(url.path) stopped after \(bytesWritten) bytes: \(reason)"
        failure = stopped
        return stopped
    }

    func close() {
        guard fd >= 0 else { return }
        _ = fsync(fd)
        POSIX.close(fd)
        fd = -1
    }

    /// Writes every byte (a short write is continued); the reason when a write fails.
    private func writeAll(_ bytes: [UInt8]) -> String? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return write(fd, base + offset, raw.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return Self.describe(errno: errno)
            }
            offset += n
        }
        return nil
    }

    static func describe(errno code: Int32) -> String {
        let text = POSIX.errnoDescription(code)
        return switch code {
        case ENOSPC: "\(text) (ENOSPC: the disk holding the recordings is full)"
        case EDQUOT: "\(text) (EDQUOT: the disk quota for the recordings is used up)"
        case EFBIG: "\(text) (EFBIG: the file is larger than the file system allows)"
        default: "\(text) (errno \(code))"
        }
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

struct FLVRecorderError: Error, CustomStringConvertible {
    let description: String
}
