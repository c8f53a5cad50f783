import Foundation

/// `GET /operator`: one tile per configured guest, refreshed every second from
/// `GET /api/operator/guests`, thumbnails every ~2 s. Self-contained (no CDN, no build step):
/// the HTML with its CSS, and the script served beside it at `/operator/app.js` so the
/// Content-Security-Policy can forbid inline script.
enum OperatorPage {
    static let scriptPath = "/operator/app.js"

    static func response() -> HTTPResponse {
        var response = HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", text: html)
        secure(&response)
        return response
    }

    static func scriptResponse() -> HTTPResponse {
        var response = HTTPResponse(status: 200, contentType: "text/javascript; charset=utf-8", text: script)
        secure(&response)
        return response
    }

    private static func secure(_ response: inout HTTPResponse) {
        response.headers.set("Cache-Control", "no-store")
        response.headers.set("X-Content-Type-Options", "nosniff")
        response.headers.set("Referrer-Policy", "no-referrer")
        response.headers.set("Content-Security-Policy",
                             "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'")
    }

    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>relayd · operator</title>
    <style>
    :root { color-scheme: dark; --bg:#111418; --tile:#1b2027; --line:#2a313a; --text:#e6e9ee; --dim:#8b95a3;
            --live:#2fbf71; --warn:#f0b429; --bad:#ef4e4e; --idle:#5b6572; --busy:#4aa3ff; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.35 system-ui, sans-serif; background: var(--bg); color: var(--text); }
    header { display: flex; gap: 1rem; align-items: baseline; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
    header h1 { font-size: 1.1rem; margin: 0; }
    header .dim { color: var(--dim); }
    #grid { display: grid; gap: .75rem; padding: .75rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 330px), 1fr)); }
    .tile { background: var(--tile); border: 1px solid var(--line); border-left: 6px solid var(--idle); border-radius: 6px; padding: .6rem; }
    .tile[data-state=relaying] { border-left-color: var(--live); }
    .tile[data-state=publishing], .tile[data-state=subscribing], .tile[data-state=connecting] { border-left-color: var(--busy); }
    .tile[data-state=reconnecting] { border-left-color: var(--warn); }
    .tile[data-state=failed] { border-left-color: var(--bad); }
    .top { display: flex; justify-content: space-between; align-items: baseline; gap: .5rem; }
    .name { font-weight: 600; font-size: 1.05rem; }
    .state { font-weight: 600; text-transform: uppercase; font-size: .8rem; letter-spacing: .04em; }
    .tile[data-state=relaying] .state { color: var(--live); }
    .tile[data-state=reconnecting] .state { color: var(--warn); }
    .tile[data-state=failed] .state { color: var(--bad); }
    .thumb { margin: .5rem 0; aspect-ratio: 16 / 9; background: #000; border-radius: 4px; overflow: hidden; display: flex; align-items: center; justify-content: center; color: var(--dim); }
    .thumb img { width: 100%; height: 100%; object-fit: contain; }
    dl { display: grid; grid-template-columns: auto 1fr auto 1fr; gap: .15rem .5rem; margin: 0; font-size: .85rem; }
    dt { color: var(--dim); } dd { margin: 0; font-variant-numeric: tabular-nums; }
    .meter { height: 6px; background: var(--line); border-radius: 3px; overflow: hidden; margin: .4rem 0; }
    .meter div { height: 100%; width: 0; background: linear-gradient(90deg, var(--live), var(--warn) 80%, var(--bad)); transition: width .3s; }
    .sparks { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; margin-top: .3rem; font-size: .75rem; color: var(--dim); }
    svg { width: 100%; height: 28px; display: block; }
    svg polyline { fill: none; stroke-width: 1.5; }
    .error { margin-top: .4rem; padding: .35rem .5rem; border-radius: 4px; background: #3a1d1f; color: #ffb4b4; font-size: .85rem; }
    .error:empty { display: none; }
    .actions { display: flex; gap: .5rem; margin-top: .5rem; }
    button { font: inherit; padding: .25rem .6rem; border-radius: 4px; border: 1px solid var(--line); background: #262d36; color: var(--text); cursor: pointer; }
    button.kick { border-color: #6b2a2d; }
    button:disabled { opacity: .4; cursor: default; }
    #banner { padding: .4rem 1rem; background: #3a1d1f; color: #ffb4b4; display: none; }
    @media (min-width: 1800px) { body { font-size: 16px; } }
    </style></head>
    <body>
    <header><h1>relayd · guests</h1><span class="dim" id="updated">connecting…</span></header>
    <div id="banner"></div>
    <main id="grid"></main>
    <template id="tile">
      <section class="tile" data-state="waiting">
        <div class="top"><span class="name"></span><span><span class="state">waiting</span> <span class="dim since"></span></span></div>
        <div class="thumb"><span class="nopic">no picture</span></div>
        <dl>
          <dt>codec</dt><dd data-f="codec">–</dd><dt>size</dt><dd data-f="size">–</dd>
          <dt>fps</dt><dd data-f="fps">–</dd><dt>bitrate</dt><dd data-f="bitrate">–</dd>
          <dt>loss</dt><dd data-f="loss">–</dd><dt>jitter buf</dt><dd data-f="jitter">–</dd>
          <dt>NACK/min</dt><dd data-f="nacks">–</dd><dt>PLI/min</dt><dd data-f="plis">–</dd>
          <dt>RTMP</dt><dd data-f="rtmp">–</dd><dt>reconnects</dt><dd data-f="reconnects">–</dd>
        </dl>
        <div class="meter" title="audio level"><div></div></div>
        <div class="sparks"><div>bitrate 60 s<svg viewBox="0 0 60 28" preserveAspectRatio="none"><polyline class="br" stroke="#4aa3ff"/></svg></div>
        <div>loss 60 s<svg viewBox="0 0 60 28" preserveAspectRatio="none"><polyline class="ls" stroke="#ef4e4e"/></svg></div></div>
        <div class="error"></div>
        <div class="actions"><button class="copy">copy join link</button><button class="kick">kick</button></div>
      </section>
    </template>
    <script src="/operator/app.js"></script>
    </body></html>
    """

    static let script = #"""
    'use strict';
    // Polls the operator API once a second and keeps one tile per configured guest up to date.
    const grid = document.getElementById('grid');
    const tiles = new Map();
    const history = new Map();   // guest id -> {t, kbps, loss, nacks, plis}[] (last 60 s)
    const fmt = (v, unit, digits = 0) => v == null || Number.isNaN(v) ? '–' : Number(v).toFixed(digits) + (unit || '');
    const ago = iso => {
      if (!iso) return '';
      const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
      return s < 60 ? s + ' s' : s < 3600 ? Math.floor(s / 60) + ' min' : Math.floor(s / 3600) + ' h ' + Math.floor(s % 3600 / 60) + ' min';
    };

    // What the tile shows, from one guest of /api/operator/guests (fields may be missing while a
    // guest is still connecting: everything here tolerates that).
    function view(g) {
      const s = g.status || {};
      const v = s.video || {}, a = s.audio || {}, m = s.media || {}, r = s.rtmp || {};
      let state = !g.enabled ? 'disabled' : !g.live && !g.status ? 'waiting' : (s.state || 'publishing');
      if (state === 'closed' || state === 'closing') state = g.live ? state : 'waiting';
      // The guest's media is fine but MediaMTX is not taking it: that is what the operator must see.
      if (state === 'relaying' && (r.state === 'reconnecting' || r.state === 'connecting')) state = 'reconnecting';
      return {
        state, since: s.stateSince || s.since,
        codec: (v.codecIn || '?') + ' → ' + (v.codecOut || '?') + (a.codecIn ? ' · ' + a.codecIn + ' → ' + (a.codecOut || '?') : ''),
        size: v.width ? v.width + '×' + v.height : null,
        fps: v.fps, kbps: v.bitrateKbps ?? m.bitrateKbps,
        loss: m.lossPercent, jitter: m.jitterBufferDelayMs,
        nacks: m.nacksSent ?? 0, plis: m.plisSent ?? 0,
        rtmp: r.state || null, reconnects: (r.reconnects ?? 0) + (s.reconnects ?? 0),
        level: a.levelDb,
        error: s.lastError || r.lastError || null,
      };
    }

    function tileFor(g) {
      let tile = tiles.get(g.id);
      if (tile) return tile;
      tile = document.getElementById('tile').content.firstElementChild.cloneNode(true);
      tile.id = 'guest-' + g.id;
      tile.dataset.guest = g.id;
      tile.querySelector('.name').textContent = g.name || g.id;
      tile.querySelector('.copy').onclick = async () => {
        const url = new URL(g.joinPath, location.href).href;
        try { await navigator.clipboard.writeText(url); flash(tile, 'copied ' + url); }
        catch { prompt('Join link for ' + g.id, url); }
      };
      tile.querySelector('.kick').onclick = async () => {
        if (!confirm('End ' + (g.name || g.id) + "'s session?")) return;
        const res = await fetch('/api/calls/guests/' + encodeURIComponent(g.id) + '/kick', {method: 'POST'});
        if (!res.ok && res.status !== 404) flash(tile, 'kick failed: ' + res.status + ' ' + await res.text());
      };
      grid.appendChild(tile);
      tiles.set(g.id, tile);
      history.set(g.id, []);
      return tile;
    }

    function flash(tile, text) { tile.querySelector('.error').textContent = text; }

    function spark(polyline, values, max) {
      const top = Math.max(max || 0, ...values, 1e-9);
      polyline.setAttribute('points', values.map((v, i) => (60 - values.length + i) + ',' + (27 - 26 * (v / top)).toFixed(1)).join(' '));
    }

    function render(g, now) {
      const tile = tileFor(g), v = view(g), hist = history.get(g.id);
      tile.dataset.state = v.state;
      tile.querySelector('.state').textContent = v.state;
      tile.querySelector('.since').textContent = ago(v.since);
      const set = (f, text) => { tile.querySelector('[data-f=' + f + ']').textContent = text; };
      hist.push({t: now, kbps: v.kbps || 0, loss: v.loss || 0, nacks: v.nacks, plis: v.plis});
      while (hist.length && now - hist[0].t > 60000) hist.shift();
      // Per-minute rates need some history: a few seconds would turn one PLI into "60/min".
      const first = hist[0], minutes = (now - first.t) / 60000, rated = minutes >= 10 / 60;
      set('codec', v.state === 'waiting' ? '–' : v.codec);
      set('size', v.size || '–');
      set('fps', fmt(v.fps, '', 1));
      set('bitrate', fmt(v.kbps, ' kbit/s'));
      set('loss', fmt(v.loss, ' %', 1));
      set('jitter', fmt(v.jitter, ' ms'));
      set('nacks', rated ? fmt((v.nacks - first.nacks) / minutes) : '–');
      set('plis', rated ? fmt((v.plis - first.plis) / minutes) : '–');
      set('rtmp', v.rtmp || '–');
      set('reconnects', String(v.reconnects));
      const level = v.level == null ? 0 : Math.max(0, Math.min(100, (v.level + 60) / 60 * 100));
      tile.querySelector('.meter div').style.width = level + '%';
      spark(tile.querySelector('.br'), hist.map(h => h.kbps));
      spark(tile.querySelector('.ls'), hist.map(h => h.loss), 5);
      tile.querySelector('.error').textContent = v.error || '';
      tile.querySelector('.kick').disabled = !g.live;
      const thumb = tile.querySelector('.thumb');
      if (g.snapshot) {
        let img = thumb.querySelector('img');
        if (!img) { thumb.textContent = ''; img = document.createElement('img'); img.alt = g.id; thumb.appendChild(img); }
        if (img.dataset.taken !== g.snapshot.takenAt) {
          img.dataset.taken = g.snapshot.takenAt;
          img.src = g.snapshot.url + '?t=' + encodeURIComponent(g.snapshot.takenAt);
        }
      } else if (!thumb.querySelector('.nopic')) {
        thumb.innerHTML = '<span class="nopic">no picture</span>';
      }
    }

    async function poll() {
      const banner = document.getElementById('banner');
      try {
        const res = await fetch('/api/operator/guests', {cache: 'no-store'});
        if (!res.ok) throw new Error(res.status + ' ' + (await res.text()).trim());
        const body = await res.json(), now = Date.now();
        for (const g of body.guests) render(g, now);
        banner.style.display = 'none';
        document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      } catch (e) {
        banner.textContent = 'relayd is not answering: ' + e.message + ' (is the service running?)';
        banner.style.display = 'block';
      }
      setTimeout(poll, 1000);
    }
    poll();
    """#
}
