import Relay
import Testing

@Suite struct ICECandidateTests {
    @Test func parsesABrowserHostCandidate() throws {
        let candidate = try ICECandidate(parsing:
            "a=candidate:842163049 1 udp 2122260223 192.168.1.20 54321 typ host generation 0 network-id 1 network-cost 10\r\n")
        #expect(candidate.foundation == "842163049")
        #expect(candidate.component == 1 && candidate.transport == "udp")
        #expect(candidate.priority == 2_122_260_223)
        #expect(candidate.address == SocketAddress(ipv4: 192, 168, 1, 20, port: 54321))
        #expect(candidate.kind == .host)
        #expect(candidate.extensions.map(\.name) == ["generation", "network-id", "network-cost"])
        #expect(candidate.attributeValue
            == "candidate:842163049 1 udp 2122260223 192.168.1.20 54321 typ host generation 0 network-id 1 network-cost 10")
    }

    @Test func parsesServerReflexiveIPv6AndUppercaseTransport() throws {
        let srflx = try ICECandidate(parsing:
            "candidate:1 1 UDP 1694498815 203.0.113.9 40000 typ srflx raddr 10.0.0.5 rport 50000")
        #expect(srflx.kind == .serverReflexive)
        #expect(srflx.relatedAddress == SocketAddress(ipv4: 10, 0, 0, 5, port: 50000))
        #expect(srflx.transport == "udp")
        let v6 = try ICECandidate(parsing: "candidate:2 1 udp 2122262783 2001:db8::7 9 typ host")
        #expect(v6.address == SocketAddress(ip: "2001:db8::7", port: 9))
        #expect(try ICECandidate(parsing: v6.attributeValue) == v6)
        let tcp = try ICECandidate(parsing: "candidate:3 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active")
        #expect(tcp.transport == "tcp")
    }

    @Test func reportsWhyALineCannotBeUsed() {
        #expect(throws: ICECandidateParseError.unresolvedHostname("3f1c-aa.local")) {
            try ICECandidate(parsing: "candidate:1 1 udp 2122260223 3f1c-aa.local 5000 typ host")
        }
        #expect(throws: ICECandidateParseError.missingField("port")) {
            try ICECandidate(parsing: "candidate:1 1 udp 2122260223 10.0.0.1")
        }
        #expect(throws: ICECandidateParseError.badNumber(field: "port", value: "70000")) {
            try ICECandidate(parsing: "candidate:1 1 udp 1 10.0.0.1 70000 typ host")
        }
        #expect(throws: ICECandidateParseError.unknownType("weird")) {
            try ICECandidate(parsing: "candidate:1 1 udp 1 10.0.0.1 7 typ weird")
        }
        #expect(throws: ICECandidateParseError.notACandidate("candidates 1 1")) {
            try ICECandidate(parsing: "candidates 1 1")
        }
    }

    @Test func randomLinesNeverTrap() {
        var random = SplitMix64(seed: 9)
        let tokens = ["candidate:1", "1", "udp", "2122260223", "10.0.0.1", "::1", "5000", "typ", "host", "raddr",
                      "rport", "x.local", "-1", "99999999999", "", "srflx", "generation"]
        for _ in 0..<3000 {
            let line = (0..<Int.random(in: 0...14, using: &random)).map { _ in tokens.randomElement(using: &random)! }
                .joined(separator: " ")
            _ = try? ICECandidate(parsing: line)
        }
    }

    @Test func prioritiesFollowRFC8445() {
        #expect(ICECandidate.priority(kind: .host, localPreference: 65535, component: 1) == 2_130_706_431)
        #expect(ICECandidate.priority(kind: .serverReflexive, localPreference: 65535, component: 1) == 1_694_498_815)
        #expect(ICECandidate.priority(kind: .peerReflexive, localPreference: 65535, component: 1) == 1_862_270_975)
        // 2^32·MIN + 2·MAX + (G > D)
        #expect(ICECandidate.pairPriority(controlling: 10, controlled: 20) == (10 << 32) + 40)
        #expect(ICECandidate.pairPriority(controlling: 20, controlled: 10) == (10 << 32) + 41)
        let top = ICECandidate.priority(kind: .host, localPreference: 65535, component: 1)
        #expect(ICECandidate.pairPriority(controlling: top, controlled: top) == (UInt64(top) << 32) + 2 * UInt64(top))
        // Out-of-range values from a hostile peer wrap rather than trap.
        _ = ICECandidate.pairPriority(controlling: .max, controlled: .max)
    }
}

@Suite struct SocketAddressTests {
    @Test func parsesAndPrintsBothFamilies() throws {
        let v4 = try #require(SocketAddress("192.0.2.1:3478"))
        #expect(v4.family == .ipv4 && v4.port == 3478 && v4.addressBytes == [192, 0, 2, 1])
        #expect(v4.description == "192.0.2.1:3478")
        let v6 = try #require(SocketAddress("[2001:db8:0:0:1:0:0:1]:443"))
        #expect(v6.family == .ipv6 && v6.port == 443)
        #expect(v6.ipString == "2001:db8::1:0:0:1")  // RFC 5952: the first longest zero run
        #expect(v6.description == "[2001:db8::1:0:0:1]:443")
        #expect(SocketAddress(ip: "::1", port: 1)?.ipString == "::1")
        #expect(SocketAddress(ip: "::", port: 1)?.ipString == "::")
        #expect(SocketAddress(ip: "fe80::1", port: 1)?.isLinkLocal == true)
        #expect(SocketAddress(ip: "127.0.0.1", port: 1)?.isLoopback == true)
        #expect(SocketAddress(ip: "[::ffff:192.0.2.1]", port: 1)?.ipString == "::ffff:c000:201")
        for bad in ["", "1.2.3", "1.2.3.4.5", "host.local", "::g", "[::1]", "1.2.3.4:99999", "[::1]:x", "::1:80"] {
            #expect(SocketAddress(bad) == nil, "\(bad)")
        }
        #expect(SocketAddress(addressBytes: [1, 2, 3], port: 1) == nil)
    }

    @Test func roundTripsThroughSockaddrStorage() throws {
        for text in ["192.0.2.1:3478", "[2001:db8::7]:9", "0.0.0.0:0"] {
            let address = try #require(SocketAddress(text))
            let (storage, length) = address.sockaddrStorage
            #expect(length > 0)
            #expect(SocketAddress(sockaddrStorage: storage) == address)
        }
    }
}
