import Testing
@testable import Relay

/// Publisher and server session face to face in memory, bytes moved by a loop.
@Suite("RTMP sessions back to back")
struct RTMPSessionTests {
    struct Pair {
        var client: RTMPPublisherSession
        var server: RTMPServerSession
        var clientEvents: [RTMPPublisherSession.Event] = []
        var serverEvents: [RTMPServerSession.Event] = []
        var toServer: [UInt8] = []
        var toClient: [UInt8] = []
        var drip: Bool
        var acceptPublish = true

        init(url: String, drip: Bool = false, configure: (inout RTMPPublisherSession.Configuration) -> Void = { _ in }) throws {
            var config = RTMPPublisherSession.Configuration()
            configure(&config)
            var rng = SeededRandom(seed: 1)
            client = RTMPPublisherSession(url: try RTMPURL(url), configuration: config, random: &rng)
            server = RTMPServerSession(random: &rng)
            self.drip = drip
            toServer = client.start()
        }

        mutating func pump() {
            var rounds = 0
            while (!toServer.isEmpty || !toClient.isEmpty) && rounds < 100_000 {
                rounds += 1
                if !toServer.isEmpty {
                    let n = drip ? 1 : toServer.count
                    let chunk = Array(toServer.prefix(n)); toServer.removeFirst(n)
                    for action in server.receive(chunk) {
                        switch action {
                        case .send(let b): toClient += b
                        case .event(let e):
                            serverEvents.append(e)
                            if case .publishRequested = e {
                                toClient += acceptPublish ? server.acceptPublish()
                                    : server.rejectPublish(description: "path is already being published")
                            }
                        }
                    }
                }
                if !toClient.isEmpty {
                    let n = drip ? 1 : toClient.count
                    let chunk = Array(toClient.prefix(n)); toClient.removeFirst(n)
                    for action in client.receive(chunk) {
                        switch action {
                        case .send(let b): toServer += b
                        case .event(let e): clientEvents.append(e)
                        }
                    }
                }
            }
        }

        var tags: [FLVTag] { serverEvents.compactMap { if case .media(let t) = $0 { t } else { nil } } }
    }

    @Test(arguments: [false, true])
    func handshakeAndCommandsReachPublishing(drip: Bool) throws {
        var pair = try Pair(url: "rtmp://127.0.0.1/live/guest1", drip: drip)
        pair.pump()
        #expect(pair.clientEvents == [.connected, .publishing])
        #expect(pair.client.state == .publishing)
        #expect(pair.server.state == .publishing)
        #expect(pair.server.app == "live")
        #expect(pair.server.streamName == "guest1")
        #expect(pair.server.path == "live/guest1")
        #expect(pair.server.tcUrl == "rtmp://127.0.0.1:1935/live")
        #expect(pair.client.streamID == 1)
    }

    @Test func bareAppURLPublishesPathNamedAfterTheApp() throws {
        var pair = try Pair(url: "rtmp://127.0.0.1:1935/guest1")
        pair.pump()
        #expect(pair.clientEvents == [.connected, .publishing])
        #expect(pair.server.app == "guest1" && pair.server.streamName == "")
        #expect(pair.server.path == "guest1")
    }

    @Test func badNameIsATypedRejectionWithAReason() throws {
        var pair = try Pair(url: "rtmp://127.0.0.1/live/taken")
        pair.acceptPublish = false
        pair.pump()
        guard case .rejected(let error) = pair.clientEvents.last else {
            Issue.record("expected a rejection, got \(pair.clientEvents) server \(pair.serverEvents)"); return
        }
        #expect(error.kind == .publishRejected)
        #expect(error.code == "NetStream.Publish.BadName")
        #expect(error.reason.contains("live/taken"))
        #expect(error.reason.contains("already being published"))
    }

    @Test func mediaArrivesAsFLVTagsWithHeadersFirstAndMonotonicTimes() throws {
        let media = try RTMPFixtureMedia.load()
        var pair = try Pair(url: "rtmp://127.0.0.1/live/x")
        pair.pump()
        let origin = Duration.seconds(1000)  // any clock origin
        // Audio before the first keyframe is held back (dropped) until video can start.
        pair.toServer += pair.client.sendAudio(frame: media.audioFrames[0], pts: origin)
        #expect(pair.client.counters.audioFramesDropped == 1)
        var audioIndex = 1
        for (i, au) in media.accessUnits.enumerated() {
            let t = origin + RTMPFixtureMedia.videoTime(i)
            pair.toServer += pair.client.sendVideo(accessUnit: au.bytes, pts: t, dts: t, isKeyframe: au.isKeyframe)
            while audioIndex < media.audioFrames.count, RTMPFixtureMedia.audioTime(audioIndex) <= RTMPFixtureMedia.videoTime(i + 1) {
                pair.toServer += pair.client.sendAudio(frame: media.audioFrames[audioIndex], pts: origin + RTMPFixtureMedia.audioTime(audioIndex))
                audioIndex += 1
            }
            if i % 10 == 0 { pair.pump() }
        }
        while audioIndex < media.audioFrames.count {
            pair.toServer += pair.client.sendAudio(frame: media.audioFrames[audioIndex], pts: origin + RTMPFixtureMedia.audioTime(audioIndex))
            audioIndex += 1
        }
        pair.toServer += pair.client.close()
        pair.pump()
        #expect(pair.serverEvents.last == .unpublished)

        let tags = pair.tags
        #expect(tags.first?.kind == .script)
        let meta = try AMF0.decodeAll(tags[0].body)
        #expect(meta.first == .string("onMetaData"))
        #expect(meta.last?["width"] == .number(320))
        #expect(meta.last?["height"] == .number(240))
        #expect(meta.last?["videocodecid"] == .number(7))
        #expect(meta.last?["audiocodecid"] == .number(10))
        #expect(meta.last?["audiosamplerate"] == .number(48000))
        #expect(meta.last?["stereo"] == .boolean(true))
        #expect(FLVVideoTagInfo(tags[1].body)?.avcPacketType == 0)
        #expect(FLVAudioTagInfo(tags[2].body)?.aacPacketType == 0)
        #expect(Array(tags[2].body.dropFirst(2)) == AAC.lc48kStereoConfig)

        let video = tags.filter { $0.kind == .video && FLVVideoTagInfo($0.body)?.avcPacketType == 1 }
        let audio = tags.filter { $0.kind == .audio && FLVAudioTagInfo($0.body)?.aacPacketType == 1 }
        #expect(video.count == media.accessUnits.count)
        #expect(audio.count == media.audioFrames.count - 1)
        #expect(video.first?.timestamp == 0)
        #expect(video.map(\.timestamp) == video.map(\.timestamp).sorted())
        #expect(audio.map(\.timestamp) == audio.map(\.timestamp).sorted())
        #expect(video.last?.timestamp == UInt32(89 * 1000 / 30))
        #expect(video.filter { FLVVideoTagInfo($0.body)?.keyframe == true }.count == 3)
        // AVCC: 4-byte lengths covering the body exactly, no start codes, no SPS/PPS/AUD.
        for tag in video {
            let nals = RTMPPublisherSession.splitAVCC(Array(tag.body.dropFirst(5)))
            #expect(nals.reduce(0) { $0 + 4 + $1.count } == tag.body.count - 5)
            #expect(nals.allSatisfy { ![7, 8, 9].contains(H264Bitstream.nalType($0)) })
        }
    }

    @Test func compositionTimeAndTimestampRegressionsAreFixed() throws {
        var pair = try Pair(url: "rtmp://h/live/x")
        pair.pump()
        let media = try RTMPFixtureMedia.load()
        let key = media.accessUnits[0].bytes
        let p = media.accessUnits[1].bytes
        pair.toServer += pair.client.sendVideo(accessUnit: key, pts: .milliseconds(1066), dts: .milliseconds(1000), isKeyframe: true)
        pair.toServer += pair.client.sendVideo(accessUnit: p, pts: .milliseconds(1100), dts: .milliseconds(990), isKeyframe: false)  // regression
        pair.toServer += pair.client.sendAudio(frame: [0x21, 0x10], pts: .milliseconds(900))  // before the base
        pair.pump()
        let video = pair.tags.filter { $0.kind == .video && FLVVideoTagInfo($0.body)?.avcPacketType == 1 }
        #expect(video.map(\.timestamp) == [0, 1])  // strictly increasing: the late frame 1 ms after
        #expect(video.map { FLVVideoTagInfo($0.body)?.compositionTime } == [66, 99])  // its PTS stays at 100
        #expect(pair.tags.last?.kind == .audio && pair.tags.last?.timestamp == 0)
        #expect(pair.client.timestamps.regressionsFixed == 2)  // the late video frame and the early audio frame
    }

    @Test func sequenceHeaderIsResentWhenSPSChanges() throws {
        var pair = try Pair(url: "rtmp://h/live/x")
        pair.pump()
        let media = try RTMPFixtureMedia.load()
        pair.toServer += pair.client.sendVideo(accessUnit: media.accessUnits[0].bytes, pts: .zero, dts: .zero, isKeyframe: true)
        var changedSPS = media.sps; changedSPS[3] = 0x29  // another level
        let au = [0, 0, 0, 1] + changedSPS + media.accessUnits[30].bytes
        pair.toServer += pair.client.sendVideo(accessUnit: au, pts: .milliseconds(1000), dts: .milliseconds(1000), isKeyframe: true)
        pair.pump()
        let headers = pair.tags.filter { $0.kind == .video && FLVVideoTagInfo($0.body)?.avcPacketType == 0 }
        #expect(headers.count == 2)
        #expect(headers.last?.body[8] == 0x29)
    }

    /// A client that has done the handshake and connect, then sends `bytes` built by `make`.
    static func serverAfterConnect(then make: (inout RTMPChunkWriter) -> [UInt8]) throws -> [RTMPServerSession.Action] {
        var pair = try Pair(url: "rtmp://h/live/x")
        pair.pump()
        var writer = RTMPChunkWriter()
        writer.setChunkSize(4096)  // the client announced 4096 during connect
        return pair.server.receive(make(&writer))
    }

    @Test func serverClosesOnBadChunkSizeTruncatedAMFAndUnknownTypes() throws {
        for size: UInt32 in [0, 0x8000_0000] {
            let actions = try Self.serverAfterConnect { w in w.write(RTMPControl.control(RTMPMessageType.setChunkSize, RTMPControl.be32(size))) }
            guard case .event(.closed(let error?)) = actions.last else { Issue.record("chunk size \(size): \(actions)"); continue }
            #expect(error.kind == .badChunkSize)
        }
        let truncated = try Self.serverAfterConnect { w in
            var payload = AMF0.encode([.string("createStream"), .number(4), .null])
            payload.removeLast(3)
            payload[2] = 0x7F  // a string length running past the end
            return w.write(RTMPMessage(chunkStreamID: 3, timestamp: 0, typeID: RTMPMessageType.commandAMF0, messageStreamID: 0, payload: payload))
        }
        guard case .event(.closed(let e1?)) = truncated.last else { Issue.record("\(truncated)"); return }
        #expect(e1.kind == .badCommand)
        let unknown = try Self.serverAfterConnect { w in
            w.write(RTMPMessage(chunkStreamID: 3, timestamp: 0, typeID: 0x42, messageStreamID: 0, payload: [1, 2, 3]))
        }
        guard case .event(.closed(let e2?)) = unknown.last else { Issue.record("\(unknown)"); return }
        #expect(e2.reason.contains("unknown RTMP message type 66"))
    }

    @Test func serverRejectsGarbageAndUnknownTypes() {
        var server = RTMPServerSession()
        let actions = server.receive([0x16, 0x03, 0x01, 0x00])  // a TLS hello
        guard case .event(.closed(let error?)) = actions.last else { Issue.record("\(actions)"); return }
        #expect(error.kind == .badHandshake)
    }
}
