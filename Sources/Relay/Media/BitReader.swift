/// Reads bits MSB-first, with the Exp-Golomb codes H.264 uses. Running past the end throws
/// instead of trapping, so hostile parameter sets cannot crash the relay.
struct BitReader {
    struct EndOfData: Error {}

    private let bytes: [UInt8]
    private var bitOffset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func bit() throws -> UInt32 {
        guard bitOffset < bytes.count * 8 else { throw EndOfData() }
        let value = UInt32(bytes[bitOffset >> 3] >> (7 - UInt8(bitOffset & 7)) & 1)
        bitOffset += 1
        return value
    }

    mutating func bits(_ count: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count { value = value << 1 | (try bit()) }
        return value
    }

    mutating func skip(_ count: Int) throws {
        guard bitOffset + count <= bytes.count * 8 else { throw EndOfData() }
        bitOffset += count
    }

    /// ue(v)
    mutating func unsignedGolomb() throws -> UInt32 {
        var leadingZeros = 0
        while try bit() == 0 {
            leadingZeros += 1
            guard leadingZeros <= 31 else { throw EndOfData() }
        }
        guard leadingZeros > 0 else { return 0 }
        return (UInt32(1) << leadingZeros) - 1 + (try bits(leadingZeros))
    }

    /// se(v)
    mutating func signedGolomb() throws -> Int32 {
        let code = try unsignedGolomb()
        let magnitude = Int32(truncatingIfNeeded: (code + 1) / 2)
        return code & 1 == 1 ? magnitude : -magnitude
    }
}
