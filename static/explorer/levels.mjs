// A network's level switch on a page with no server behind it (the static site): the
// drawing at each level the switch offers (layers, neurons, ops; everything closed) was made
// when the page was built (components/explorer.py Explorer._levels), with the figure's
// height and padding, its nodes' details and the level bar's note; a click swaps it in as
// the server sends a new scene (GraphView._send_scene). The numbers are the page's replay
// at its sliders (View.refresh keeps the values moved since the build), in the mode shown.
//
// On the site's pages each level but the first is a file beside the page ({url}: a big
// network's neuron drawing would triple its page), fetched on the first switch to it: the
// figure keeps the drawing shown meanwhile and the note says it is loading; a failed fetch
// puts the switch back at the level shown and the note says why (a next pick tries again).

import { modelWithClass } from "./bokeh.mjs"
import { escape, fill } from "./words.mjs"

const NOTE_CLASS = "bpx-groups"  // the level bar's note (components/explorer.py GroupBar)

function writeNote(view, html) {
  const note = view.args.meta && modelWithClass(view.args.meta.document, NOTE_CLASS)
  if (note) note.setv({ text: escape(html) })
}

// the switch's click (obj: the switch, data: the player's args of Explorer._offline)
export function pickLevel(view, data, obj) {
  const index = obj.active, entry = data.levels[index], meta = view.args.meta
  if (!entry || !meta) return
  // the drawing first shown is the page's own scene (not carried twice): kept before a swap
  if (view.firstScene === undefined) view.firstScene = meta.data.json && meta.data.json[0]
  if (!entry.url) return shown(view, index, entry)
  if (entry.drawing) return shown(view, index, entry.drawing)
  const level = (obj.labels || [])[index] || ""
  writeNote(view, fill(data.loading, { level: escape(level) }))  // (the note is HTML)
  if (!entry.pending) {
    entry.pending = fetch(entry.url).then((r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`)
      return r.json()
    })
  }
  return entry.pending.then((drawing) => {
    entry.drawing = drawing
    entry.pending = null
    if (obj.active === index) shown(view, index, drawing)
  }, (error) => {
    entry.pending = null
    if (obj.active !== index) return
    const back = view.levelShown ?? data.levels.findIndex((e) => !e.url)
    // the browser's own words for the failure ("Failed to fetch") are in its language, not the
    // page's: the console has them, the note says it in the page's words
    console.warn(`level ${level}: ${String(error && error.message || error)}`)
    const why = fill(data.failed, { level: escape(level) })
    if (back < 0 || back === index) return writeNote(view, why)
    view.levelFailure = why  // said above the note of the level shown, once it is back
    obj.active = back  // its own callback draws that level again (shown)
  })
}

function shown(view, index, entry) {
  view.levelShown = index
  showLevel(view, entry)
  if (view.levelFailure) writeNote(view, view.levelFailure + (entry.note ? "<br>" + entry.note : ""))
  view.levelFailure = null
}

function showLevel(view, entry) {
  const a = view.args, fig = a.figure, text = entry.scene ?? view.firstScene
  if (!text) return
  const mode = !view.scene ? null : view.predicting ? "predict" : view.scene.mode
  view.levelDetails = entry.details  // the details of this drawing's nodes (texts.mjs)
  writeNote(view, entry.note)
  if (a.nodes.selected.indices.length) a.nodes.selected.indices = []
  if (fig) {
    fig.x_range.range_padding = entry.padding[0]
    fig.y_range.range_padding = entry.padding[1]
    if (fig.height !== entry.height) fig.height = entry.height
  }
  // the player's refresh, as of a new scene from the server: in the mode shown now
  const scene = mode ? JSON.stringify({ ...JSON.parse(text), mode }) : text
  a.meta.data = { json: [scene] }
}
