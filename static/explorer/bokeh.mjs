// The page's one contact with BokehJS besides the models CustomJS hands it (`args`) and
// their documented properties. Everything here is BokehJS's public surface:
// `Bokeh.index` (the views of the page's roots, with `find_one(model)` and `roots`) and
// `Document.all_models`. The other place that touches Bokeh beyond properties is
// release.mjs's `quiet`, which keeps a dragged slider's `value` off the websocket.
// (static/page-a11y.js, a classic script every page runs, uses the same public names.)

// The tag a slider carries when it sets a variable of the graph: "bpx-variable:<name>"
// (components/release.py VARIABLE_TAG writes it on the server)
export const VARIABLE_TAG = "bpx-variable:"

function index() {
  return typeof window !== "undefined" && window.Bokeh ? window.Bokeh.index || null : null
}

// the view Bokeh draws a model with (null in Node, or before it is drawn)
export function viewOf(model) {
  const views = index()
  return views && model ? views.find_one(model) : null
}

// the views of the page's roots (one per Bokeh document embedded in the page)
export function rootViews() {
  const views = index()
  return views ? views.roots : []
}

// the variable sliders of a document: [name, slider] for each slider tagged with a variable
export function* variableSliders(doc) {
  if (!doc) return
  for (const m of doc.all_models) {
    if (m.type !== "Slider") continue
    const tag = (m.tags || []).find((t) => typeof t === "string" && t.startsWith(VARIABLE_TAG))
    if (tag) yield [tag.slice(VARIABLE_TAG.length), m]
  }
}
