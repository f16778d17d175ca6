// Backprop explorer, the browser side of one graph view: the entry of the page's module
// (this folder joined in memory by components/bundle.py).
//
// Bokeh runs the bundle as an ES module: `export default (args, obj, data)`, called by the
// CustomJS callbacks of components/graph_view.py (a new scene, a resize, a zoom) and by the
// controls (slider, mode, play, step, speed, present).

import { View } from "./view.mjs"
import { installKeys } from "./keys.mjs"

// One View per meta source (one per graph on the page); it survives between calls.
function viewFor(args) {
  const holder = args.meta
  if (!holder._bpx_view) holder._bpx_view = new View(args)
  holder._bpx_view.args = args
  return holder._bpx_view
}

export default function (args, obj, data = {}, context) {
  let action = data && data.action
  if (!action) action = obj === args.meta ? "refresh" : obj === args.figure ? "resize" : "zoom"
  const view = viewFor(args)
  installKeys(view)
  return view.handle(action, obj, data || {})
}
