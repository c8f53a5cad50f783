@testable import Relay
import Testing

@Suite struct SuspendedRequestsTests {
    let busy = HTTPResponse(status: 503)

    @Test func answerResumesOnceAndTheAnswerIsCollectedOnce() {
        var requests = SuspendedRequests<String>()
        let id = requests.reserveID()
        #expect(requests.park(id, connection: "c1", orAnswer: busy))
        #expect(requests.answer(id, with: HTTPResponse(status: 200)) == "c1")
        #expect(requests.answer(id, with: HTTPResponse(status: 201)) == nil)
        #expect(requests.takeAnswer(id)?.status == 200)
        #expect(requests.takeAnswer(id) == nil)
        #expect(requests.count == 0)
    }

    @Test func stopReleasesEveryParkedRequestAndRefusesLaterOnes() {
        var requests = SuspendedRequests<String>()
        let a = requests.reserveID(), b = requests.reserveID()
        #expect(requests.park(a, connection: "a", orAnswer: busy))
        #expect(requests.park(b, connection: "b", orAnswer: busy))
        #expect(Set(requests.stopAndReleaseAll(answering: busy)) == ["a", "b"])
        // The handler finishing later must not resume a second time.
        #expect(requests.answer(a, with: HTTPResponse(status: 200)) == nil)
        #expect(requests.takeAnswer(a)?.status == 503)
        let c = requests.reserveID()
        #expect(!requests.park(c, connection: "c", orAnswer: busy))
        #expect(requests.takeAnswer(c)?.status == 503)
        requests.forget(b)
        #expect(requests.count == 0)
        #expect(requests.stopAndReleaseAll(answering: busy).isEmpty)
    }
}
