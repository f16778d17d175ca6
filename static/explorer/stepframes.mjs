// The frames of a playing step that draw less than the whole figure (view.mjs `render`):
// what changes from the frame before is written, the rest of the figure's sources stay.

import { pixelsPerUnit } from "./geometry.mjs"
import { marks } from "./render.mjs"

// A playing step's start, after the step before arrived: the nodes reached are the same,
// so only what is lit (the overlay) and the caption change - a full render here was one
// of the two frames each step dropped. A sum's lower label ("Σ ...") comes with its step
// and goes with it, and a figure zoomed since its last render has other sizes: those draw
// in full.
export function startStep(view, before) {
  const p = view.player, sc = view.scene, a = view.args, last = view.lastDrawn
  const sum = (s) => !!s && s.kind === "sum" && sc.mode === "backward"
  const ppu = pixelsPerUnit(a.figure)
  if (!last || last.ppu !== ppu || last.big !== view.presentation || view.predicting || !a.focus || sum(before) || sum(p.current()))
    return view.render({ table: false })
  const { focus, lit } = marks(sc, last.size, { step: p.current(), ppu, keyNode: view.access.node, highlight: view.highlight })
  view.written.update(a.focus, focus)
  view.written.update(a.lit, lit)
  view.caption()
  view.animateFrame()
  view.access.afterRender(false)
}
