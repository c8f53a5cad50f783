extension FakeSFUMedia {
    /// Record-mode input from the API side, applied on the driver thread.
    enum RecordCommand {
        case descriptions(session: String, offer: String, answer: String)
        case trackNames(session: String, names: [String: String])

        func apply(to recorder: PublisherRecorder?) {
            switch self {
            case .descriptions(let session, let offer, let answer):
                recorder?.descriptions(session: session, offer: offer, answer: answer)
            case .trackNames(let session, let names):
                recorder?.trackNames(session: session, names)
            }
        }
    }

    /// The SDP offer/answer of a session, as exchanged (record mode writes them for publishers).
    func recordDescriptions(session: String, offer: String, answer: String) {
        enqueueRecord(.descriptions(session: session, offer: offer, answer: answer))
    }

    /// mid → Calls trackName of a publisher session's tracks (record mode names its files so).
    func recordTrackNames(session: String, _ names: [String: String]) {
        enqueueRecord(.trackNames(session: session, names: names))
    }
}
