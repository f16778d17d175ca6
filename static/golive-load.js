// On a static page with a live app behind it (a meta tag named bpx-live: components/site.py),
// the controls greyed out for needing the server (tagged "bpx-server-only",
// components/texts.server_only) are made usable once the page's Bokeh document is there:
// using one opens the page live (static/golive.js). A page with no live app leaves them.
(function () {
  if (!document.querySelector('meta[name="bpx-live"]')) return
  const ready = () => {
    const doc = window.Bokeh && window.Bokeh.documents && window.Bokeh.documents[0]
    if (!doc) return setTimeout(ready, 100)
    for (const m of doc._all_models.values())
      if ((m.tags || []).includes("bpx-server-only")) m.disabled = false
  }
  ready()
})()
