// The frames of a playing step that draw less than the whole figure (view.mjs `render`):
// what changes from the frame before is written, the rest of the figure's sources stay.
//
// A window of steps: BokehJS paints a figure on two canvases, the lower one (edges, nodes,
// labels while playing) repainted whole when any of its sources changes, the upper one
// (the overlay: what a step lights, the moving dots) on every frame. A step's arrival
// restyles the edges it brings (their width and opacity follow the gradient they carry
// back); drawn on the lower canvas, each arrival repainted every edge and node of the graph.
// So a full render while playing leaves the edges of the next few steps (`planWindow`) off
// the lower canvas and draws them on the overlay (`aheadColumns`), trimmed to the outlines
// of the nodes they join (the nodes are drawn over the edges on the lower canvas); their
// arrivals write the overlay alone, and the lower canvas is repainted once per window.

import { pixelsPerUnit } from "./geometry.mjs"
import { marks, arrivesWith, edgeStyles } from "./render.mjs"
import { trimPolyline } from "./geometry.mjs"
import { STYLE, BACKGROUND } from "./style.mjs"
import { over } from "./flow.mjs"

const WINDOW_STEPS = 12  // most steps a window holds
const WINDOW_EDGES = 400  // ...and about most edges (the overlay draws them on every frame)
const ALPHA_STEPS = 32  // render.mjs bundles' opacity steps
// the overlay without a window
export const EMPTY_AHEAD = { edges: { xs: [], ys: [], color: [], dash: [], alpha: [], width: [] },
  heads: { x0: [], y0: [], x1: [], y1: [], color: [], alpha: [], head: [] } }

// A playing step's start: the nodes reached are those of the step before's arrival, so
// only what is lit (the overlay) and the caption change - a full render here was one of the
// two frames each step dropped. `drawn`: a frame showed the step before arrived; when none
// did (a slow frame went past its arrival), its arrival is drawn now, inside a window on the
// overlay alone. A sum's lower label ("Σ ...") comes with its step and goes with it, and a
// figure zoomed since its last render has other sizes: those draw in full; so does the first
// step past a window (the next window is planned).
export function startStep(view, before, drawn = true) {
  const p = view.player, sc = view.scene, a = view.args, last = view.lastDrawn, w = view.window
  const sum = (s) => !!s && s.kind === "sum" && sc.mode === "backward" && !last.quiet
  const ppu = pixelsPerUnit(a.figure)
  const covered = w ? inWindow(view, p.index) && (drawn || p.index - 1 >= w.from) && current(view) : drawn
  if (!last || last.ppu !== ppu || last.big !== view.presentation || view.predicting || !a.focus || sum(before) || sum(p.current()) || !covered)
    return view.render({ table: false })
  if (!drawn) writeAhead(view)
  const { focus, lit } = marks(sc, last.size, { step: p.current(), ppu, keyNode: view.access.node, highlight: view.highlight })
  view.written.update(a.focus, focus)
  view.written.update(a.lit, lit)
  view.caption()
  view.animateFrame()
  view.access.afterRender(false)
}

// A playing step's arrival: inside the window only its edges (on the overlay), the caption
// and the legend's count of edges a band stands for change; else a full render.
export function arrive(view) {
  const p = view.player, a = view.args, last = view.lastDrawn
  if (!inWindow(view, p.index) || !current(view) || !last || last.ppu !== pixelsPerUnit(a.figure)
      || last.big !== view.presentation || view.predicting)
    return view.render({ table: false })
  writeAhead(view)
  view.caption()
  view.animateFrame()
  view.access.afterRender(false)
}

// the window's edges as the steps reached show them, and the legend's count
function writeAhead(view) {
  const a = view.args, w = view.window, last = view.lastDrawn
  const { edges, heads, hidden } = aheadColumns(view.scene, w, view.player.reached(), last.size, last.ppu)
  view.written.update(a.ahead, edges)
  view.written.update(a.ahead_heads, heads)
  const flow = w.flow
  if (flow) view.legend({ ...flow, band: w.hidden + hidden ? { count: w.hidden + hidden, cut: w.styles.cut } : null })
}

// the window was planned for the scene and numbers shown
function current(view) { const w = view.window; return !!w && w.scene === view.scene && w.result === view.result }

function inWindow(view, index) { const w = view.window; return !!w && index >= w.from && index < w.to }

// The steps from the first not yet arrived whose arrivals change nothing on the lower
// canvas but their own edges: none that shows a crowd's band for the first time (the band
// lies under every edge). Returns {from, to, ahead} (`ahead`: flags of the edges they
// bring), or null when there is none.
export function planWindow(sc, r, player, seen) {
  const steps = player.steps
  const from = player.arrived ? player.index + 1 : player.index
  if (from < 0 || from >= steps.length) return null
  const E = sc.edges, m = E.u.length
  const by = byArrival(sc)
  const st = edgeStyles(sc, r, 0)  // what it hides does not depend on the node size
  const ahead = new Uint8Array(m), reached = new Set(seen || [])
  // the crowds whose bands the lower canvas shows now
  const banded = new Set()
  if (st.cut > 0) for (let e = 0; e < m; e++) if (st.crowd.of[e] >= 0 && !banded.has(st.crowd.of[e]) && st.style(e, seen).hides) banded.add(st.crowd.of[e])
  let to = from, count = 0
  for (let k = from; k < steps.length && k - from < WINDOW_STEPS; k++) {
    const s = steps[k], brought = []
    for (const i of s.node === null ? s.nodes : [s.node]) {
      if (reached.has(i)) continue
      for (const e of by.get(i) || []) if (!ahead[e] && !arrivesWith(sc, e).some((j) => reached.has(j))) brought.push(e)
    }
    if (brought.some((e) => st.style(e, null).hides && !banded.has(st.crowd.of[e]))) break
    if (k > from && count + brought.length > WINDOW_EDGES) break
    for (const e of brought) ahead[e] = 1
    count += brought.length
    for (const i of s.node === null ? s.nodes : [s.node]) reached.add(i)
    to = k + 1
  }
  return to > from ? { from, to, ahead } : null
}

// each node's edges whose numbers its arrival shows (once per scene and mode)
function byArrival(sc) {
  const E = sc.edges, memo = E._byArrival || (E._byArrival = {})
  if (memo[sc.mode]) return memo[sc.mode]
  const by = new Map()
  for (let k = 0; k < E.u.length; k++)
    for (const i of arrivesWith(sc, k)) { if (!by.has(i)) by.set(i, []); by.get(i).push(k) }
  return memo[sc.mode] = by
}

// A window drawn (view.mjs render): what its arrivals need, from the full drawing `d`.
export function windowOf(sc, r, plan, d) {
  const E = sc.edges, edges = []
  for (let k = 0; k < E.u.length; k++) if (plan.ahead[k]) edges.push(k)
  return { scene: sc, result: r, from: plan.from, to: plan.to, edges, heads: d.heads, headBase: d.headBase, styles: d.styles, flow: d.flow, hidden: d.hiddenCount }
}

// The overlay's columns of a window's edges, styled as `seen` has them, each between the
// outlines of the nodes it joins, and their heads; `hidden`: how many of them a band stands
// for (left out); `order`: the edge of each row. Bundled edges are drawn as the lower canvas draws them: opaque colours,
// opacity in steps, the faintest first.
export function aheadColumns(sc, w, seen, size, ppu) {
  const E = sc.edges, N = sc.nodes, st = w.styles
  const rows = []
  let hidden = 0
  const styled = new Map()
  for (const k of w.edges) {
    const s = st.style(k, seen)
    styled.set(k, s)
    if (s.hides) { hidden++; continue }
    rows.push([k, s, st.bundled ? Math.round(s.alpha * ALPHA_STEPS) / ALPHA_STEPS : s.alpha])
  }
  if (st.bundled) rows.sort((p, q) => p[2] - q[2] || p[0] - q[0])
  const edges = { xs: [], ys: [], color: [], dash: [], alpha: [], width: [] }
  for (const [k, s, alpha] of rows) {
    const u = E.u[k], v = E.v[k]
    const [xs, ys] = trimPolyline(E.xs[k], E.ys[k], outline(N, u, size[u], E.xs[k][0] - E.xs[k][1], E.ys[k][0] - E.ys[k][1]) / ppu,
      outline(N, v, size[v], E.xs[k].at(-1) - E.xs[k].at(-2), E.ys[k].at(-1) - E.ys[k].at(-2)) / ppu)
    edges.xs.push(xs); edges.ys.push(ys); edges.dash.push(s.dash); edges.width.push(s.width)
    if (st.bundled) { edges.color.push(over(s.color, alpha, BACKGROUND)); edges.alpha.push(1) }
    else { edges.color.push(s.color); edges.alpha.push(s.alpha) }
  }
  // the heads keep their places (zoomed out, which of piled heads shows was chosen with
  // every edge: render.mjs topHeads); their colour, opacity and size follow the style
  const h = w.heads, heads = { x0: h.x0, y0: h.y0, x1: h.x1, y1: h.y1, color: [], alpha: [], head: [] }
  for (let j = 0; j < h.x0.length; j++) {
    const s = styled.get(h.edge[j])
    heads.color.push(s.color); heads.alpha.push(s.alpha); heads.head.push(w.headBase + (s.width - 2) * 0.8)
  }
  return { edges, heads, hidden, order: rows.map(([k]) => k) }
}

// how far from its centre (px) an edge leaving node i in direction (dx, dy) (layout units)
// leaves its outline: a square's side or a circle's rim, and the outline's stroke beyond
function outline(N, i, size, dx, dy) {
  const half = size / 2, d = Math.hypot(dx, dy) || 1
  const marker = (STYLE[N.kind[i]] || STYLE.op).marker
  const square = marker === "square" || marker === "square_pin"
  return (square ? half / Math.max(Math.abs(dx) / d, Math.abs(dy) / d) : half) + 1
}
