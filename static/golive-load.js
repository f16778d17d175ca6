// A static page's state in its link (components/site.py puts this in each static page with
// a URL state). Each widget of that state carries a Bokeh tag {bpx_url: [key, kind, values,
// lo, hi, clamp, span]} (components/texts.url_key); the page
// - opens at its link's state: once its graphs have their scenes, each widget whose key the
//   query holds is set as the live page reads the same query (components/explorer.py
//   initial_state, the lessons' float_arg / choice_arg / names_arg), as if the student had
//   moved it, so every figure follows (greyed-out widgets stay as they are);
// - writes its state into its own address when a widget moves (window.bpxLink.write, called
//   by static/golive.js), the one writer of the page's query, as the live page writes its
//   own (components/urlstate.py): a reload and the language link (static/page-a11y.js) keep it;
// - with a live app behind it (a meta tag named bpx-live: components/site.py), makes the
//   controls greyed out for needing the server (tagged "bpx-server-only") usable: using one
//   opens the same page live where the student was (window.bpxLink.goLive).
(function () {
  "use strict"
  const TAG = "bpx_url", GREYED = "bpx-server-only", WAIT_MS = 15000
  const meta = document.querySelector('meta[name="bpx-live"]')
  const specOf = (m) => { for (const t of m.tags || []) if (t && typeof t === "object" && TAG in t) return t[TAG] }
  const keyed = (doc) => [...doc.all_models].filter(specOf)

  // the page's state (the widgets' values) into `url`'s query
  function put(doc, url) {
    for (const m of keyed(doc)) {
      const [key, kind, values] = specOf(m)
      let text
      if (kind === "off") {  // a requires_grad group: the names switched off
        const on = new Set(m.active)
        text = values.filter((_, k) => !on.has(k)).join(",")
      } else if (kind === "pick") text = values[m.active]  // a button group: its option's URL value
      else if (kind === "check") text = (Array.isArray(m.active) ? m.active.length : m.active) ? "1" : "0"
      else text = String(m.value)
      if (text === undefined || text === "") url.searchParams.delete(key)
      else url.searchParams.set(key, text)
    }
    return url
  }

  // a drag moves `value` many times a second: the address once it rests
  let timer
  function write(doc) {
    clearTimeout(timer)
    timer = setTimeout(() => {
      window.history.replaceState(window.history.state, "", put(doc, new URL(window.location.href)).href)
    }, 150)
  }

  function goLive(doc) {
    if (!meta) return
    const target = put(doc, new URL(meta.content, window.location.href))
    target.searchParams.set("live", "1")
    window.location.assign(target.href)
  }

  // a number of the link as the live page reads it: finite, inside [lo, hi] (clamped, or
  // else left out), whole for a whole-number slider; null: not taken
  function linkNumber(text, [, kind, , lo, hi, clamp]) {
    let v = text.trim() === "" ? NaN : Number(text)
    if (!Number.isFinite(v)) return null
    if (lo != null && v < lo) { if (!clamp) return null; v = lo }
    if (hi != null && v > hi) { if (!clamp) return null; v = hi }
    return kind === "int" ? Math.trunc(v) : v
  }

  // the graph's view on its scene source (static/explorer/main.mjs)
  const viewOf = (doc) => [...doc.all_models].find((m) => m._bpx_view)._bpx_view

  // the link's state into the widgets
  function read(doc) {
    const query = new URLSearchParams(window.location.search)
    for (const m of keyed(doc)) {
      const spec = specOf(m), [key, kind, values, , , , span] = spec, text = query.get(key)
      if (text === null || (m.tags || []).includes(GREYED)) continue
      if (kind === "off") {
        const names = text.split(",").map((n) => n.trim())
        const active = values.map((n, k) => (names.includes(n) ? -1 : k)).filter((k) => k >= 0)
        if (String(active) !== String(m.active)) m.setv({ active })
      } else if (kind === "pick") {
        const k = values.indexOf(text)
        if (k >= 0 && k !== m.active) m.setv({ active: k })
      } else if (kind === "check") {
        const on = text !== "0"
        if (Array.isArray(m.active)) { if (!!m.active.length !== on) m.setv({ active: on ? [0] : [] }) }
        else if (m.active !== on) m.setv({ active: on })
      } else {
        const v = linkNumber(text, spec)
        if (v === null || Object.is(v, m.value)) continue
        const range = {}
        if (span != null) {  // a graph's variable: its slider widened to hold it (slider_ranges)
          const reach = viewOf(doc).sliderReach(v, span)
          range.start = Math.min(m.start, -reach)
          range.end = Math.max(m.end, reach)
        }
        m.setv({ ...range, value: v, value_throttled: v })  // as a release of its handle
      }
    }
  }

  window.bpxLink = { put, write, goLive, read }
  const started = Date.now()
  const ready = () => {
    const doc = window.Bokeh && window.Bokeh.documents && window.Bokeh.documents[0]
    if (!doc) return setTimeout(ready, 100)
    if (meta)
      for (const m of doc.all_models) if ((m.tags || []).includes(GREYED)) m.disabled = false
    // the graphs' scenes (static/explorer/main.mjs keeps each graph's view on its scene source)
    const waiting = () => [...doc.all_models].some((m) => m.data && Array.isArray(m.data.json) &&
                                                        !(m._bpx_view && m._bpx_view.scene))
    const apply = () => (waiting() && Date.now() - started < WAIT_MS ? setTimeout(apply, 100) : read(doc))
    apply()
  }
  ready()
})()
