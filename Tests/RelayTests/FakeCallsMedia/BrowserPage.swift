/// The page headless Chromium opens for the forward-mode test: camera + microphone (fake
/// devices), H.264 preferred, the offer POSTed to /offer (the test runs relayd's WHIP publish
/// with it), the answer applied, then getStats() POSTed to /stats twice a second. Errors go to /error.
enum BrowserPage {
    static let html = """
    <!doctype html><html><body><script>
    const post = (path, body, type) => fetch(path, {method: 'POST', headers: {'Content-Type': type}, body});
    (async () => {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}, audio: true});
        const pc = new RTCPeerConnection();
        for (const track of stream.getTracks()) {
          const transceiver = pc.addTransceiver(track, {direction: 'sendonly'});
          if (track.kind === 'video') {
            const codecs = RTCRtpSender.getCapabilities('video').codecs;
            const h264 = codecs.filter(c => c.mimeType === 'video/H264');
            transceiver.setCodecPreferences([...h264, ...codecs.filter(c => c.mimeType !== 'video/H264')]);
          }
        }
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise(resolve => {
          if (pc.iceGatheringState === 'complete') return resolve();
          pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
          setTimeout(resolve, 2000);
        });
        const response = await post('/offer', pc.localDescription.sdp, 'application/sdp');
        const answer = await response.text();
        if (!response.ok) throw new Error('publish refused: ' + response.status + ' ' + answer);
        await pc.setRemoteDescription({type: 'answer', sdp: answer});
        setInterval(async () => {
          const stats = await pc.getStats();
          const out = {connectionState: pc.connectionState, outbound: []};
          stats.forEach(s => {
            if (s.type === 'outbound-rtp') out.outbound.push({kind: s.kind, bytesSent: s.bytesSent || 0,
                                                             packetsSent: s.packetsSent || 0});
          });
          post('/stats', JSON.stringify(out), 'application/json');
        }, 500);
      } catch (e) {
        post('/error', String(e && e.stack || e), 'text/plain');
      }
    })();
    </script></body></html>
    """
}
