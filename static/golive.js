// A static page with a live app behind it (a meta tag named bpx-live, content: the same page,
// live: components/site.py): a control that needs the server opens the same page live,
// where the student was. Panel's jscallback runs this with `keys` (the models of the page's
// URL state) and `spec` ([key, kind, values] per model: components/texts.url_key), listed
// in a line components/texts.py puts before this code. With no live app (no meta) the
// controls stay greyed out and this never runs.
const meta = document.querySelector('meta[name="bpx-live"]')
if (meta) {
  const target = new URL(meta.content, window.location.href)
  for (let i = 0; i < spec.length; i++) {
    const [key, kind, values] = spec[i], m = keys[i]
    let text
    if (kind === "off") {  // a requires_grad group: the names switched off
      const on = new Set(m.active)
      text = values.filter((_, k) => !on.has(k)).join(",")
    } else if (kind === "pick") text = values[m.active]  // a button group: its option's URL value
    else if (kind === "check") text = (Array.isArray(m.active) ? m.active.length : m.active) ? "1" : "0"
    else text = String(m.value)
    if (text === undefined || text === "") target.searchParams.delete(key)
    else target.searchParams.set(key, text)
  }
  target.searchParams.set("live", "1")
  window.location.assign(target.href)
}
