/// Big-endian reads and writes shared by the RTP and RTCP codecs. Callers check bounds first;
/// these only assemble bytes.
enum RTPBytes {
    @inline(__always)
    static func u16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(b[at]) << 8 | UInt16(b[at + 1])
    }

    @inline(__always)
    static func u24(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) << 16 | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2])
    }

    @inline(__always)
    static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    @inline(__always)
    static func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(u32(b, at)) << 32 | UInt64(u32(b, at + 4))
    }

    @inline(__always)
    static func append(_ v: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func append24(_ v: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: v >> 16))
        out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func append(_ v: UInt32, to out: inout [UInt8]) {
        append(UInt16(truncatingIfNeeded: v >> 16), to: &out)
        append(UInt16(truncatingIfNeeded: v), to: &out)
    }

    @inline(__always)
    static func append(_ v: UInt64, to out: inout [UInt8]) {
        append(UInt32(truncatingIfNeeded: v >> 32), to: &out)
        append(UInt32(truncatingIfNeeded: v), to: &out)
    }

    static func put(_ v: UInt16, at: Int, in out: inout [UInt8]) {
        out[at] = UInt8(truncatingIfNeeded: v >> 8)
        out[at + 1] = UInt8(truncatingIfNeeded: v)
    }

    static func put(_ v: UInt32, at: Int, in out: inout [UInt8]) {
        put(UInt16(truncatingIfNeeded: v >> 16), at: at, in: &out)
        put(UInt16(truncatingIfNeeded: v), at: at + 2, in: &out)
    }
}
