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
import { planWindow, windowOf, aheadColumns } from "../../static/explorer/stepframes.mjs"

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

// Playback in windows (stepframes.mjs) against a full drawing at every arrival of `scene`'s
// pass: each edge's style (colour, dash, width, opacity) keyed by its polyline, the bands,
// the legend's count and the heads, as the lower canvas (drawn at the window's start) and the
// overlay (written at the arrival) show them together, and as one full drawing does.
// Returns the arrivals that differ and how many arrivals a window held.
export function windowedPlayback(scene, ppu = 20) {
  const r = replay(scene.tape, {}), steps = scene.steps[scene.mode], E = scene.edges
  const player = { steps, index: 0, arrived: false }
  const reached = (p) => {
    const seen = new Set()
    for (let k = 0; k <= p.index; k++) if (k < p.index || p.arrived) for (const i of steps[k].node === null ? steps[k].nodes : [steps[k].node]) seen.add(i)
    return seen
  }
  const styles = (cols, order = null) => {
    const out = new Map()
    cols.xs.forEach((xs, row) => {
      let line = []
      const flush = () => { if (line.length) out.set(line.join(";"), [cols.color[row], cols.dash[row], cols.width[row], cols.alpha[row]].join(" ")); line = [] }
      // an overlay row is trimmed: keyed by its edge's full polyline
      const full = order ? E.xs[order[row]].map((x, j) => `${x},${E.ys[order[row]][j]}`) : null
      if (full) { line = full; flush(); return }
      xs.forEach((x, j) => { if (Number.isNaN(x)) flush(); else line.push(`${x},${cols.ys[row][j]}`) })
      flush()
    })
    return out
  }
  const heads = (h) => h.x0.map((x, j) => [x, h.y0[j], h.x1[j], h.y1[j], h.color[j], h.alpha[j], h.head[j]].join(" ")).sort()
  const differ = [], held = []
  let w = null, lower = null
  for (let index = 0; index < steps.length; index++) {
    player.index = index; player.arrived = false
    if (!w || index >= w.to) {
      const plan = planWindow(scene, r, player, reached(player))
      const d = drawing(scene, r, { seen: reached(player), step: null, ppu, box: null, ahead: plan && plan.ahead })
      w = plan && windowOf(scene, r, plan, d); lower = d
      if (w) held.push(w.to - w.from)
    }
    player.arrived = true
    const seen = reached(player), full = drawing(scene, r, { seen, step: null, ppu, box: null })
    if (!w) continue
    const o = aheadColumns(scene, w, seen, lower.nodes.size, ppu)
    const both = new Map([...styles(lower.edges), ...styles(o.edges, o.order)])
    const want = styles(full.edges)
    const same = both.size === want.size && [...want].every(([key, s]) => both.get(key) === s)
      && JSON.stringify(lower.bands) === JSON.stringify(full.bands)
      && lower.hiddenCount + o.hidden === full.hiddenCount
      && JSON.stringify(heads({ x0: [...lower.arrows.x0, ...o.heads.x0], y0: [...lower.arrows.y0, ...o.heads.y0], x1: [...lower.arrows.x1, ...o.heads.x1], y1: [...lower.arrows.y1, ...o.heads.y1], color: [...lower.arrows.color, ...o.heads.color], alpha: [...lower.arrows.alpha, ...o.heads.alpha], head: [...lower.arrows.head, ...o.heads.head] })) === JSON.stringify(heads(full.arrows))
    if (!same) differ.push(index)
  }
  return { differ, held, steps: steps.length }
}
