// "Save as HTML" where no server is behind the page (the static site): the file the live app
// saves (components/export.py standalone_html) at the state the page shows. The site keeps
// that file of the page's first state beside it (components/site.py keep_saved): its head,
// shared by every page (the inline BokehJS), and its rest, which holds the Bokeh document.
// The page fetches both and writes its state into the document - each variable's value (its
// slider, and the tape the saved page replays), the mode, and the requires_grad switches (the
// tape's active nodes and the backward steps, pruned as the page prunes them) - then hands the
// file to the browser to save. What the saved page draws is its tape replay at those values:
// the numbers the live app's file shows.

import { activeFlags, prunedSteps } from "./replay.mjs"
import { variableSliders } from "./bokeh.mjs"

const HEAD = "<!--bpx-saved-head-->"  // components/export.py SAVED_HEAD
const DOCS = /(<script type="application\/json" id="[^"]+">)([\s\S]*?)(<\/script>)/

// Bokeh writes its document HTML-safe (bokeh.embed escape, quote=False) and reads it back so
const unescapeHtml = (s) => s.replace(/&(amp|lt|gt);/g, (_, e) => ({ amp: "&", lt: "<", gt: ">" })[e])
const escapeHtml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

// every Bokeh object of a serialized document
function* objects(x) {
  if (Array.isArray(x)) { for (const y of x) yield* objects(y); return }
  if (x === null || typeof x !== "object") return
  if (x.type === "object" && x.name) yield x
  for (const y of Object.values(x)) yield* objects(y)
}

// the state the page shows: the variables' values and their sliders' bounds, the mode, the
// leaves switched off
export function pageState(view) {
  const bounds = {}
  for (const [name, m] of variableSliders(view.args.meta.document)) bounds[name] = [m.start, m.end]
  return { values: view.values(), bounds, mode: view.predicting ? "predict" : view.scene.mode,
           off: [...(view.off || [])] }
}

// the saved file: the shared `head` put back into `rest`, its document at `state`
export function savedFile(head, rest, state, modes) {
  const m = DOCS.exec(rest)
  const docs = JSON.parse(unescapeHtml(m[2]))
  const off = new Set(state.off)
  for (const o of objects(docs)) {
    const a = o.attributes || {}
    if (o.name === "Slider") {
      const tag = (a.tags || []).find((t) => typeof t === "string" && t.startsWith("bpx-variable:"))
      const name = tag && tag.slice("bpx-variable:".length)
      if (name in state.values) {
        a.value = state.values[name]
        if (state.bounds && state.bounds[name]) [a.start, a.end] = state.bounds[name]
      }
    } else if (o.name === "RadioButtonGroup" && (a.labels || []).length === modes.length) {
      a.active = modes.indexOf(state.mode)
    } else if (o.name === "ColumnDataSource" && a.data && a.data.entries) {
      const column = a.data.entries.find(([key]) => key === "json")
      if (!column || !column[1].length) continue
      const scene = JSON.parse(column[1][0]), tape = scene.tape
      for (const [name, value] of Object.entries(state.values)) if (name in tape.variable) tape.value[tape.variable[name]] = value
      scene.mode = state.mode
      if (off.size) {
        tape.active = activeFlags(tape, off)
        if (scene.steps.backward) scene.steps.backward = prunedSteps(scene.steps.backward, tape.active, scene.nodes.tape)
      }
      column[1][0] = JSON.stringify(scene)
    }
  }
  const start = m.index + m[1].length, end = m.index + m[0].length - m[3].length
  const file = rest.slice(0, start) + escapeHtml(JSON.stringify(docs)) + rest.slice(end)
  return file.replace(HEAD, () => head)
}

// the click: fetch the two parts (relative to the page), make the file, let the browser save it
export async function saveHtml(view, d) {
  if (!view.scene || !view.result) return
  const state = pageState(view)
  const [head, rest] = await Promise.all([d.head, d.body].map((url) => fetch(url).then((r) => {
    if (!r.ok) throw new Error(`${url}: ${r.status}`)
    return r.text()
  })))
  const url = URL.createObjectURL(new Blob([savedFile(head, rest, state, d.modes)], { type: "text/html" }))
  const a = document.createElement("a")
  a.href = url
  a.download = d.filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}
