/// The guest page's markup, style and script, self-contained (no CDN, no external file): a
/// remote guest opens it, previews camera and microphone, joins (WHIP POST of an SDP offer to
/// `/api/calls/whip/{guest}`), sees the connection state, and leaves (DELETE of the Location).
///
/// Placeholders filled per response by `GuestPage`: `{{NONCE}}` (the CSP nonce of the one
/// `<style>` and the one `<script>`), `{{GUEST_OPTIONS}}` (one `<option>` per enabled guest,
/// already HTML-escaped). Tests drive it through `window.relaydGuest` and the element ids
/// `guest`, `preview`, `join`, `leave`, `state`, `connection`, `error`, `video`.
enum GuestPageHTML {
    static let template = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Join as a guest</title>
    <style nonce="{{NONCE}}">
      :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
      body { max-width: 46rem; margin: 1.5rem auto; padding: 0 1rem; }
      h1 { font-size: 1.4rem; margin: 0 0 1rem; }
      #video { width: 100%; aspect-ratio: 16 / 9; background: #111; border-radius: .4rem; object-fit: contain; }
      .row { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; margin: .8rem 0; }
      button { font-size: 1rem; padding: .5rem 1.1rem; border-radius: .3rem; border: 1px solid #888; cursor: pointer; }
      button:disabled { opacity: .45; cursor: default; }
      #join { background: #1c7c3c; color: #fff; border-color: #1c7c3c; }
      #leave { background: #a32020; color: #fff; border-color: #a32020; }
      select { font-size: 1rem; padding: .3rem; }
      #status { font-size: .95rem; }
      #state { font-weight: 600; }
      #error { color: #c0392b; white-space: pre-wrap; font-weight: 600; }
      #error:empty { display: none; }
      .hint { font-size: .85rem; opacity: .75; }
    </style>
    </head>
    <body>
    <h1>Join the production as a guest</h1>
    <video id="video" autoplay muted playsinline></video>
    <div class="row">
      <label for="guest">Guest</label>
      <select id="guest">{{GUEST_OPTIONS}}</select>
      <button id="preview" type="button">Start preview</button>
      <button id="join" type="button">Join</button>
      <button id="leave" type="button" disabled>Leave</button>
    </div>
    <div id="status">State: <span id="state">idle</span> · connection: <span id="connection">-</span></div>
    <p id="error" role="alert"></p>
    <p class="hint">Your camera and microphone go to the production only after you press Join. Leave ends it.</p>
    <script nonce="{{NONCE}}">
    (() => {
      'use strict';
      const $ = (id) => document.getElementById(id);
      const whipBase = '/api/calls/whip/';
      const validGuest = /^[A-Za-z0-9_-]{1,64}$/;
      const params = new URLSearchParams(location.search);
      // A bearer token, when relayd asks for one, comes in the fragment (never sent to a server log).
      const token = new URLSearchParams(location.hash.slice(1)).get('token');
      let stream = null;
      let pc = null;
      let resource = null;
      let busy = false;

      const api = {
        state: 'idle',
        connection: 'new',
        error: null,
        errorStatus: null,
        location: null,
        guest: () => $('guest').value,
        join: () => join(),
        leave: () => leave(),
      };
      window.relaydGuest = api;

      const asked = params.get('guest');
      if (asked !== null) {
        if (!validGuest.test(asked)) {
          showError('The link names an invalid guest id: use letters, digits, "-" and "_".');
        } else {
          let option = Array.from($('guest').options).find((o) => o.value === asked);
          if (!option) {
            option = document.createElement('option');
            option.value = asked;
            option.textContent = asked;
            $('guest').append(option);
          }
          $('guest').value = asked;
          $('guest').disabled = true;  // the link chose the guest
        }
      }

      function setState(state) {
        api.state = state;
        $('state').textContent = state;
        document.body.dataset.state = state;
        const live = state === 'joining' || state === 'connecting' || state === 'connected' || state === 'leaving';
        $('join').disabled = live;
        $('leave').disabled = state === 'leaving' || (!live && resource === null);
        $('preview').disabled = live || stream !== null;
      }

      function showError(message, status) {
        api.error = message || null;
        api.errorStatus = status || null;
        $('error').textContent = message || '';
      }

      function explain(status, text, retryAfter) {
        const reason = (text || '').trim();
        switch (status) {
          case 400: return 'relayd could not read the browser\'s offer (400): ' + reason;
          case 401: return 'This link needs an access token (401): ask the producer for the full link.';
          case 403: return 'Guest "' + api.guest() + '" is disabled right now (403). Ask the producer to enable it.';
          case 404: return 'Guest "' + api.guest() + '" is unknown to relayd (404). Check the link or pick another guest.';
          case 413: return 'The offer was too large (413).';
          case 415: return 'relayd refused the offer\'s content type (415).';
          case 422: return 'Your browser offered no camera or microphone format relayd can use (422): ' + reason;
          case 503: return 'relayd is busy setting up other guests (503). Try again in ' + (retryAfter || 'a few') + ' s.';
          default: return 'Joining failed (' + status + '): ' + (reason || 'no reason given');
        }
      }

      async function startPreview() {
        if (stream) return stream;
        if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
          throw new Error('This browser gives no camera access here: open the page over HTTPS (or http://localhost).');
        }
        setState('preview');
        try {
          stream = await navigator.mediaDevices.getUserMedia({
            video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
            audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
          });
        } catch (e) {
          setState('idle');
          throw new Error('Camera/microphone not available: ' + (e && e.name ? e.name + ': ' : '') + (e && e.message || e));
        }
        $('video').srcObject = stream;
        setState('idle');
        return stream;
      }

      function gatheringComplete(peer, timeoutMs) {
        return new Promise((resolve) => {
          if (peer.iceGatheringState === 'complete') return resolve();
          const timer = setTimeout(resolve, timeoutMs);  // send what was gathered so far
          peer.addEventListener('icegatheringstatechange', () => {
            if (peer.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
          });
        });
      }

      function closePeer() {
        if (pc) { pc.onconnectionstatechange = null; pc.close(); }
        pc = null;
        api.connection = 'closed';
        $('connection').textContent = 'closed';
      }

      function preferH264(transceiver) {
        if (!RTCRtpSender.getCapabilities || !transceiver.setCodecPreferences) return;
        const codecs = RTCRtpSender.getCapabilities('video').codecs;
        const h264 = codecs.filter((c) => c.mimeType.toLowerCase() === 'video/h264');
        if (h264.length) transceiver.setCodecPreferences(h264.concat(codecs.filter((c) => c.mimeType.toLowerCase() !== 'video/h264')));
      }

      async function join() {
        if (busy || (pc && api.state !== 'failed')) return;
        busy = true;
        closePeer();  // a failed connection: relayd replaces the old session when the guest joins again
        showError('');
        const guest = api.guest();
        try {
          if (!validGuest.test(guest || '')) throw new Error('Pick a guest first.');
          await startPreview();
          setState('joining');
          pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
          const peer = pc;
          peer.onconnectionstatechange = () => {
            api.connection = peer.connectionState;
            $('connection').textContent = peer.connectionState;
            if (peer.connectionState === 'connected') setState('connected');
            if (peer.connectionState === 'failed') {
              showError('The media connection failed: check that UDP to the internet is not blocked, then join again.');
              setState('failed');
            }
          };
          for (const kind of ['video', 'audio']) {
            const track = stream.getTracks().find((t) => t.kind === kind);
            const transceiver = peer.addTransceiver(track || kind, { direction: 'sendonly', streams: [stream] });
            if (kind === 'video') preferH264(transceiver);
          }
          await peer.setLocalDescription(await peer.createOffer());
          await gatheringComplete(peer, 3000);
          const headers = { 'Content-Type': 'application/sdp' };
          if (token) headers.Authorization = 'Bearer ' + token;
          let response;
          try {
            response = await fetch(whipBase + encodeURIComponent(guest), { method: 'POST', headers, body: peer.localDescription.sdp });
          } catch (e) {
            throw new Error('Could not reach relayd (network error): check your connection and that the page address is right.');
          }
          const text = await response.text();
          if (response.status !== 201) {
            const error = new Error(explain(response.status, text, response.headers.get('Retry-After')));
            error.status = response.status;
            throw error;
          }
          const where = response.headers.get('Location');
          resource = where ? new URL(where, location.href).href : null;
          api.location = resource;
          setState('connecting');
          await peer.setRemoteDescription({ type: 'answer', sdp: text });
          if (peer.connectionState === 'connected') setState('connected');
        } catch (e) {
          closePeer();
          showError(e && e.message || String(e), e && e.status);
          setState('failed');
        } finally {
          busy = false;
        }
      }

      async function leave() {
        if (busy) return;
        busy = true;
        setState('leaving');
        const target = resource;
        resource = null;
        api.location = null;
        closePeer();
        try {
          if (target) {
            const headers = token ? { Authorization: 'Bearer ' + token } : {};
            const response = await fetch(target, { method: 'DELETE', headers });
            if (!response.ok && response.status !== 404) {
              showError('relayd did not confirm leaving (' + response.status + '): ' + (await response.text()).trim());
            }
          }
        } catch (e) {
          showError('Could not reach relayd to leave (network error); it ends the session when the connection drops.');
        } finally {
          busy = false;
          setState('left');
        }
      }

      $('preview').addEventListener('click', () => startPreview().catch((e) => showError(e.message)));
      $('join').addEventListener('click', () => join());
      $('leave').addEventListener('click', () => leave());
      window.addEventListener('pagehide', () => {
        if (resource) fetch(resource, { method: 'DELETE', keepalive: true, headers: token ? { Authorization: 'Bearer ' + token } : {} });
      });
      setState('idle');
    })();
    </script>
    </body>
    </html>
    """#
}
