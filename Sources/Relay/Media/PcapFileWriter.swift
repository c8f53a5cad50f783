import Foundation

/// Appends UDP datagrams to a pcap file as they happen (FakeCalls' record mode). Owns its file
/// handle; `close()` (or deinit) flushes and closes it. Not thread-safe: one owner thread.
public final class PcapFileWriter {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var closed = false
    public let path: String
    public private(set) var datagramCount = 0

    /// Creates (or truncates) `path` and writes the file header.
    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(Pcap.fileHeader())),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw Pcap.FormatError(description: "cannot create the capture file \(path): check the directory exists and is writable")
        }
        handle.seekToEndOfFile()
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

    public func flush() {
        guard !buffer.isEmpty, !closed else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() {
        guard !closed else { return }
        flush()
        closed = true
        handle.closeFile()
    }

    deinit { close() }
}
