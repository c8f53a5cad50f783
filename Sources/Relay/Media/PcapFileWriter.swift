import Foundation

/// Appends UDP datagrams to a pcap file as they happen (FakeCalls' record mode). Owns its file
/// handle; `close()` (or deinit) flushes and closes it. Not thread-safe: one owner thread.
public final class PcapFileWriter {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var closed = false
    public let path: String
    public private(set) var datagramCount = 0
    /// Bytes of whole records (and the header) in the file.
    private var bytesWritten = UInt64(Pcap.fileHeader().count)
    /// Why the capture stopped early (a write failed); nil while it is fine.
    public private(set) var failure: String?

    /// Creates (or truncates) `path` and writes the file header.
    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(Pcap.fileHeader())),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw Pcap.FormatError(description: "cannot create the capture file \(path): check the directory exists and is writable")
        }
        _ = try? handle.seekToEnd()
        self.handle = handle
        self.path = path
    }

    /// Buffers one datagram; written out every 64 KB and on close.
    public func write(_ datagram: Pcap.Datagram) {
        guard !closed else { return }
        buffer += Pcap.record(datagram)
        datagramCount += 1
        if buffer.count >= 65_536 { flush() }
    }

    /// Writes the buffer out. A failed write (ENOSPC: disk full, EIO…) ends the capture instead
    /// of the process (FileHandle's non-throwing `write` traps on Linux): the file is cut back to
    /// its last whole record, so it stays a readable pcap, and `failure` says why.
    public func flush() {
        guard !buffer.isEmpty, !closed else { return }
        do {
            try handle.write(contentsOf: buffer)
            bytesWritten += UInt64(buffer.count)
            buffer.removeAll(keepingCapacity: true)
        } catch {
            failure = "writing the capture file \(path) failed after \(bytesWritten) bytes (\(datagramCount) datagrams "
                + "offered): \(Self.describe(error)); the capture stops there"
            buffer = []
            try? handle.truncate(atOffset: bytesWritten)
            closed = true
            try? handle.close()
        }
    }

    public func close() {
        guard !closed else { return }
        flush()
        guard !closed else { return }  // a failed flush closed it
        closed = true
        try? handle.close()
    }

    /// The OS reason of a FileHandle error, e.g. "No space left on device (the disk is full)".
    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        let posix = (nsError.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? $0.code : nil }
            ?? (nsError.domain == NSPOSIXErrorDomain ? nsError.code : nil)
        if posix == Int(ENOSPC) || nsError.code == CocoaError.fileWriteOutOfSpace.rawValue {
            return "No space left on device (ENOSPC: the disk is full)"
        }
        return posix.map { "\(String(cString: strerror(Int32($0)))) (errno \($0))" } ?? "\(error)"
    }

    deinit { close() }
}
