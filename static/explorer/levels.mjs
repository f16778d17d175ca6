// A network's level switch on a page with no server behind it (the static site): the
// drawing at each level the switch offers (layers, neurons, ops; everything closed) was made
// when the page was built (components/explorer.py Explorer._levels), with the figure's
// height and padding, its nodes' details and the level bar's note; a click swaps it in as
// the server sends a new scene (GraphView._send_scene). The numbers are the page's replay
// at its sliders (View.refresh keeps the values moved since the build), in the mode shown.

import { modelWithClass } from "./bokeh.mjs"
import { escape } from "./words.mjs"

const NOTE_CLASS = "bpx-groups"  // the level bar's note (components/explorer.py GroupBar)

export function showLevel(view, entry) {
  const a = view.args, fig = a.figure
  if (!entry || !a.meta) return
  const mode = !view.scene ? null : view.predicting ? "predict" : view.scene.mode
  view.levelDetails = entry.details  // the details of this drawing's nodes (texts.mjs)
  const note = modelWithClass(a.meta.document, NOTE_CLASS)
  if (note) note.setv({ text: escape(entry.note) })
  if (a.nodes.selected.indices.length) a.nodes.selected.indices = []
  if (fig) {
    fig.x_range.range_padding = entry.padding[0]
    fig.y_range.range_padding = entry.padding[1]
    if (fig.height !== entry.height) fig.height = entry.height
  }
  // the player's refresh, as of a new scene from the server: in the mode shown now
  const scene = mode ? JSON.stringify({ ...JSON.parse(entry.scene), mode }) : entry.scene
  a.meta.data = { json: [scene] }
}
