// What the page shows for a scene drawn by levels, read by tests/test_levels.py: each drawn
// node's shown value and gradient (a layer's norms), each drawn edge's flow, and the
// steps' formulas filled, all from a replay of the scene's tape.
import { replay } from "../../static/explorer/replay.mjs"
import { shownValue, shownGrad, edgeFlow, fillNumbers } from "../../static/explorer/reading.mjs"
import { drawing, topHeads } from "../../static/explorer/render.mjs"
export { topHeads }
import { legendHtml } from "../../static/explorer/flow.mjs"
import { typesetAhead } from "../../static/explorer/ahead.mjs"
import { captionFor } from "../../static/explorer/caption.mjs"

export function levelNumbers(scene) {
  const r = replay(scene.tape, {})
  const n = scene.nodes.id.length, m = scene.edges.u.length
  return {
    value: [...Array(n).keys()].map((i) => shownValue(scene, r, i)),
    grad: [...Array(n).keys()].map((i) => shownGrad(scene, r, i)),
    flow: [...Array(m).keys()].map((k) => edgeFlow(scene, r, k)),
    forward: scene.steps.forward.map((s) => fillNumbers(r, s.text_template)),
    backward: scene.steps.backward.map((s) => fillNumbers(r, s.text_template)),
  }
}

// The edges' columns the page draws for `scene` (in its mode, as a drag frame draws them) and,
// per drawn edge, its flow: bundled edges come as bundles (render.mjs), one row per style;
// the bands drawn for crowds of edges, and the flow legend under the figure.
export function levelEdges(scene, values = {}) {
  const r = replay(scene.tape, values)
  const d = drawing(scene, r, { seen: null, step: null, ppu: 40, box: null })
  const m = scene.edges.u.length
  // drawn again with the same numbers: the very same columns (nothing to repaint)
  const again = drawing(scene, r, { seen: null, step: null, ppu: 40, box: null }).edges === d.edges
  const f = d.flow
  return {
    columns: d.edges, flow: [...Array(m).keys()].map((k) => edgeFlow(scene, r, k)), again, bands: d.bands,
    band: f && f.band, legend: f ? legendHtml(f.max, f.thick, f.faint, f.band) : "",
  }
}

// The arrowheads the page draws for `scene` at `ppu` pixels per layout unit (a zoomed-out
// overview or zoomed in), as a drag frame draws them
export function levelArrows(scene, ppu) {
  return drawing(scene, replay(scene.tape, {}), { seen: null, step: null, ppu, box: null }).arrows
}

// What the page hands its caption to typeset ahead (ahead.mjs typesetAhead) for `scene`,
// the player at step `index` (-1: before Play), playing or not: how many of the coming
// formulas, after how many ms of stillness, and the first of them with the caption of the
// step after `index` (what it should be)
export function aheadQueued(scene, index, playing) {
  const steps = scene.steps[scene.mode], result = replay(scene.tape, {})
  let queued = null
  const view = {
    scene, result, predicting: false, args: { caption: {} },
    player: { index, steps: index >= 0 ? steps : [], playing },
    markup: { ahead: (model, next, count, settle) => { queued = { count, settle, first: next(0) } } },
  }
  typesetAhead(view)
  return { ...queued, next: captionFor(scene, result, { index: index + 1, steps }).html }
}
