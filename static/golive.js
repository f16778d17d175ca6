// A static page with a live app behind it (a meta tag named bpx-live, content: the same page,
// live: components/site.py). Panel's jscallback runs this with `keys` (the models of the
// page's URL state), `spec` ([key, kind, values] per model: components/texts.url_key) and
// `go`, listed in a line components/texts.py puts before this code:
// - go: a control that needs the server was used: the same page opens live, where the
//   student was (its state in the live address's query, and live=1);
// - else one of the URL state's controls moved: the same query is written into the page's
//   own address, as the live page writes its own (components/urlstate.py), so that a reload
//   (the live page, at that state) and the language link (static/page-a11y.js) keep it.
// With no live app (no meta) the controls stay greyed out and nothing is written.
const meta = document.querySelector('meta[name="bpx-live"]')
if (meta) {
  const put = (url) => {  // the page's state, the one collector of it
    for (let i = 0; i < spec.length; i++) {
      const [key, kind, values] = spec[i], m = keys[i]
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
  if (go) {
    const target = put(new URL(meta.content, window.location.href))
    target.searchParams.set("live", "1")
    window.location.assign(target.href)
  } else {  // a drag moves `value` many times a second: the address once it rests
    clearTimeout(window.bpxStateWrite)
    window.bpxStateWrite = setTimeout(() => {
      window.history.replaceState(window.history.state, "", put(new URL(window.location.href)).href)
    }, 150)
  }
}
