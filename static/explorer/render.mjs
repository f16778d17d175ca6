// The drawing of one scene as columns for the figure's sources: edges, arrowheads and node
// markers (which change with the mode or a fault), one source of labels (only the ones shown
// at this zoom), and for the overlay layer the current step's nodes and edges.

import { fmt, paren } from "./replay.mjs"
import { STYLE, FLOW, BLOCKED, PRUNED, FAULT, FAULT_FILL, NAME_INK, EDGE_INK, BACKGROUND } from "./style.mjs"
import { T, fill } from "./words.mjs"
import { Labels } from "./labels.mjs"
import { along, trimEnd, trimPolyline } from "./geometry.mjs"
import { tapeIndex, edgeIndex, local, edgeContribution, isVector, shownValue, shownGrad, manyTails, lossName as lossNameOf } from "./reading.mjs"
import { flows, strength, widthOf, opacityOf, THIN, crowds, cutOf, over, BAND_COLOR } from "./flow.mjs"

// below this many pixels per layout unit most nodes' numbers would crowd their neighbours':
// none (between this and 70 the numbers alone, where each finds room: Labels.place)
const COMPACT_PPU = 26
const CROWD = 200  // most nodes on screen that get their numbers alone
const MIN_NODE = 10  // px: the smallest a node is drawn (a zoomed-out view)
// more edges than this per node draw as bundles (a grouped MLP: every neuron to every neuron)
const BUNDLED = 8

// `seen`: the nodes playback has reached (null: all); `step`: the current step (or null);
// `ppu`: pixels per layout unit; `box`: the plane on screen (see geometry.visibleBox);
// `keyNode`: the node the keyboard stands on (-1: none), ringed like a step's nodes;
// `frame`: the plane on screen without margins ([x0, x1, y0, y1], or null); `highlight`:
// an edge lit by a cell of the weight matrix (-1: none)
// `ahead`: edges left out (a Uint8Array of flags, or null), drawn on the overlay while playing
export function drawing(sc, r, { seen, step, ppu, box, frame = null, presentation, keyNode = -1, highlight = -1, ahead = null }) {
  const mode = sc.mode, N = sc.nodes
  const n = N.id.length
  const lossName = lossNameOf(sc)
  // level of detail from the current zoom
  // presentation: type for the back of a room, growing with the screen (20 px labels at 1080p)
  const big = presentation ? Math.max(1.35, (typeof window !== "undefined" ? window.innerHeight : 0) / 700) : 1
  const showEdgeLabels = ppu > 115 * big
  // a handful of layers is labelled at any zoom (a phone): neighbours' lower labels take turns
  // on as many lines (up to three) as keep them apart ("‖∂L/∂h7‖ = 0.0123" is wider than the
  // gap between two layers of a deep network, even on a wide screen)
  const layers = sc.level === "layer" && n <= 16
  const wordy = layers ? labelLines(N, ppu, 13 * big, (name) => name.length + 17) : 1
  const fewLayers = layers && wordy <= 3
  // layers too close for that (a deep network on a phone): their numbers alone, on turns too
  const tight = layers && !fewLayers
  const lines = fewLayers ? wordy : tight ? Math.min(3, labelLines(N, ppu, 12 * big, () => 8)) : 1
  // else a phone's figure (or a big graph): each node's number alone, under a key that says
  // what the numbers are; the full "∂L/∂z1 = 5" once there is room
  // (not for hundreds of nodes at once: a big graph zoomed out is read in the table, and its
  // labels would be measured and placed on every frame of a drag)
  const compact = (tight || !fewLayers && ppu <= 70 * big && ppu >= COMPACT_PPU && inBox(N, box) <= CROWD) && mode !== "graph"
  const showNodeLabels = ppu > 70 * big || fewLayers || compact
  const nodeSize = Math.max(MIN_NODE, Math.min(48 * big, ppu * 0.42))
  const font = Math.max(12, nodeSize * 0.32)  // no type under 12 px: a symbol that does not fit is left out
  const labelPx = Math.round((compact ? 12 : 13) * big), labelSize = `${labelPx}px`, edgeLabelSize = `${Math.round(12 * big)}px`
  // a label whose place is taken tries a line further out (Labels.place); what a student
  // reads first gets its place first: the numbers in the passes, the names in the graph mode
  const line = Math.round(labelPx * 1.2 + 4)
  const rankOf = { bottom: mode === "graph" ? 2 : 1, top: mode === "graph" ? 1 : 2 }
  const col = { x: N.x, y: N.y, marker: [], fill: [], line: [], width: [], size: [], alpha: [] }
  const labels = new Labels(box)
  for (let i = 0; i < n; i++) {
    const kind = N.kind[i], st = STYLE[kind] || STYLE.op
    const t = tapeIndex(sc, i), vector = isVector(sc, i)
    const active = !!sc.tape.active[t]
    const fault = mode !== "graph" && (r.fault[t] || r.gradFault[t])
    const shown = !seen || seen.has(i)
    const size = nodeSize * (kind === "constant" ? 0.78 : kind === "group" ? 1.3 : kind === "layer" || vector ? 1.7 : 1), half = size / 2
    col.marker.push(st.marker)
    col.fill.push(fault ? FAULT_FILL : st.fill)
    col.line.push(fault ? FAULT : st.line)
    col.width.push(fault ? 3 : 2)
    col.size.push(size)
    const dim = mode === "backward" && !active && kind !== "constant"
    col.alpha.push(dim ? 0.35 : 1)
    // a name wider than its node is left to the table and to zooming in
    const inner = N.op[i] ? N.symbol[i] : N.name[i]
    const fits = inner.length * font * 0.6 <= nodeSize * 0.95
    if (fits)
      labels.add(N.x[i], N.y[i], inner, { size: `${Math.round(font)}px`, style: "bold", alpha: dim ? 0.35 : 1, node: i, role: "inner" })
    if (fault) labels.add(N.x[i], N.y[i], "⚠", { color: FAULT, size: "18px", dx: half * 0.7, dy: -half * 0.7, node: i, role: "mark" })
    if (!showNodeLabels) continue
    // an operation's name above it; a leaf's too when it does not fit inside
    if (N.op[i] || !fits) labels.add(N.x[i], N.y[i], N.name[i], { color: NAME_INK, size: labelSize, baseline: "bottom", dy: -(half + 3), node: i, role: "top", rank: rankOf.top, lines: [-line],
      // a leaf stands at the left of the graph, where a name has room beside it
      aside: N.op[i] ? 0 : half + 4 })
    let bottom = ""
    const short = compact && (!vector || tight)  // a layer's norm keeps its words where it fits
    if (mode === "graph") bottom = vector ? fill(T.layer_size, { n: N.outputs[i].length }) : N.members && N.members[i] ? T.members(N.members[i]) : T.kinds[kind] || ""
    else if (mode === "forward") bottom = shown ? (vector ? `‖${N.name[i]}‖ = ` : "") + fmt(shownValue(sc, r, i), short ? 3 : 4) : "?"
    else if (kind === "constant") bottom = ""
    else if (!active) bottom = T.notComputed
    else if (!shown) bottom = "?"
    else if (short) bottom = fmt(shownGrad(sc, r, i), 3)
    else bottom = (vector ? `‖∂${lossName}/∂${N.name[i]}‖` : `∂${lossName}/∂${N.name[i]}`) + ` = ${fmt(shownGrad(sc, r, i))}`
    const now = step && step.kind === "sum" && step.node === i && mode === "backward"
    if (now)
      bottom = `Σ ${step.terms.map((term) => paren(edgeContribution(sc, r, edgeIndex(sc, ...term.edge)))).join(" + ")}` + (shown ? ` = ${fmt(r.grad[t])}` : "")
    if (fault) bottom = `⚠ ${bottom}`
    if (bottom) labels.add(N.x[i], N.y[i], bottom, { size: labelSize, baseline: "top", dy: (lines > 1 ? Math.max(half, nodeSize * 0.85) + (rankByX(N)[i] % lines) * 18 * big : half) + 3, boxed: 0.8, node: i, role: "bottom", rank: now ? 0 : rankOf.bottom + (bottom === T.notComputed ? 0.5 : 0), lines: [line, 2 * line] })
  }

  if (compact && frame) {
    const key = fill(T.compact_key[mode], { loss: lossName })
    labels.add((frame[0] + frame[1]) / 2, frame[3] - 4 / ppu, key, { color: NAME_INK, size: labelSize, baseline: "top", role: "key", rank: 0 })
  }

  const E = sc.edges, m = E.u.length
  const ecol = { xs: E.xs, ys: E.ys, color: [], dash: [], alpha: [], width: [] }
  const st = edgeStyles(sc, r, nodeSize)
  const { flow, bundled, crowd } = st
  const acol = { x0: [], y0: [], x1: [], y1: [], color: [], alpha: [], head: [], edge: [] }
  const head = Math.max(5, Math.min(13 * big, nodeSize * 0.3))
  // a crowd's weaker edges are its band alone (flow.mjs crowds): `hidden[k]` for each;
  // `ahead` edges are left to the overlay (stepframes.mjs aheadColumns)
  const hidden = st.cut > 0 || ahead ? new Uint8Array(m) : null, banded = new Set()
  let hiddenCount = 0
  for (let k = 0; k < m; k++) {
    const u = E.u[k], v = E.v[k]
    const { color, dash, alpha, width, lc, arrived, hides } = st.style(k, seen)
    // the number is written only where it is drawn (formatting thousands of them per drag
    // frame was most of a big graph's drawing)
    const label = showEdgeLabels && arrived ? edgeLabel(sc, r, k, mode, flow) : ""
    if (ahead && ahead[k]) hidden[k] = 1
    else if (hides) { hidden[k] = 1; hiddenCount++; banded.add(crowd.of[k]) }
    ecol.color.push(color); ecol.dash.push(dash); ecol.alpha.push(alpha); ecol.width.push(width)
    const xs = E.xs[k], ys = E.ys[k]
    if (showEdgeLabels && label) {
      // the label sits on the middle of the first segment, the arrowhead on the last one
      const parallel = (k > 0 && E.u[k - 1] === u && E.v[k - 1] === v) || (k + 1 < m && E.u[k + 1] === u && E.v[k + 1] === v)
      const [lx, ly] = parallel ? [xs[1], ys[1]] : along(xs[0], ys[0], xs[1], ys[1], 0.5)
      labels.add(lx, ly + 0.08, label, { color: lc, size: edgeLabelSize, boxed: 0.88, edge: k, role: "edge", rank: 4 })
    }
    // the arrowhead touches the child's outline (sizes are in pixels, positions in units)
    if (bundled) continue
    const [ax, ay, ux, uy] = trimEnd(xs, ys, (col.size[v] / 2 + 2) / ppu)
    acol.x0.push(ax - ux * 0.02); acol.y0.push(ay - uy * 0.02); acol.x1.push(ax); acol.y1.push(ay)
    acol.color.push(color); acol.alpha.push(alpha); acol.head.push(head + (width - 2) * 0.8); acol.edge.push(k)
  }

  // zoomed out (nodes at their smallest), heads pile on each other: see topHeads
  const shown = nodeSize <= MIN_NODE ? topHeads(acol, ppu) : acol
  // the heads of `ahead` edges go to the overlay with them (where they are drawn: `heads`)
  const [arrows, heads] = splitHeads(shown, ahead)

  labels.place(ppu, frame, { x: N.x, y: N.y, size: col.size })

  const { focus, lit } = marks(sc, col.size, { step, ppu, keyNode, highlight })
  const bands = { xs: [], ys: [], color: [] }
  for (const c of [...banded].sort((a, b) => a - b)) {
    bands.xs.push(crowd.bands[c].xs); bands.ys.push(crowd.bands[c].ys); bands.color.push(BAND_COLOR)
  }
  return {
    nodes: col, edges: bundled ? bundles(ecol, E, hidden) : ahead ? without(ecol, ahead) : ecol, bands, arrows, labels: labels.columns, focus, lit,
    flow: flow ? { max: flow.max, thick: st.thick, faint: Math.min(st.flowAlpha, 0.35), band: hiddenCount ? { count: hiddenCount, cut: st.cut } : null } : null,
    // for playback's windows (stepframes.mjs): whether a label changes as steps arrive, the
    // edges a band stands for, the crowds banded, the `ahead` edges' heads
    quiet: mode === "graph" || (!showNodeLabels && !showEdgeLabels), hiddenCount, banded, heads, headBase: head, styles: st,
  }
}

// How each edge is drawn for one replay `r` and node size: `style(k, seen)` (seen: the nodes
// playback has reached, null: all) gives its colour, dash, opacity and width, the ink of its
// label, whether its number has arrived and whether a crowd's band stands for it (`hides`).
export function edgeStyles(sc, r, nodeSize) {
  const mode = sc.mode, E = sc.edges, m = E.u.length, n = sc.nodes.id.length
  // backward: width and opacity grow with the gradient an edge carries back (flow.mjs)
  // the flows follow the numbers alone: one computation per replay, not one per frame
  const flow = mode === "backward" ? (r.flows || (r.flows = flows(sc, r))) : null
  // many edges per node (a grouped MLP: every neuron to every neuron) are drawn lighter,
  // so the bundle reads as a bundle instead of a solid block
  const flowAlpha = Math.min(0.9, Math.max(0.2, 4 * n / Math.max(1, m)))
  // ...and without arrowheads: dozens of them on every node would pile into one blot (the
  // drawing runs left to right, the way the values go), and they were most of the work of
  // repainting such a figure
  const bundled = m > BUNDLED * n
  // the widest edge no wider than a good part of a node: small nodes (a phone) get thin
  // edges; bundled ones stay one pixel wide and show their flow by opacity alone (thousands
  // of anti-aliased lines wider than a pixel took a software-drawn canvas ~100 ms to repaint,
  // on every frame of a drag)
  const thick = !flow ? 0 : bundled ? THIN : Math.min(flow.thick, Math.max(2.5, nodeSize * 0.3))
  const crowd = flow && bundled ? crowds(sc) : null
  const cut = crowd ? cutOf(flow, crowd) : 0
  const style = (k, seen) => {
    const u = E.u[k], v = E.v[k], blocked = E.blocked[k]
    const carries = sc.tape.active[tapeIndex(sc, v)] && sc.tape.active[tapeIndex(sc, u)] && !blocked
    let color = FLOW[mode], dash = "solid", alpha = flowAlpha, lc = EDGE_INK, width = 2, hides = false
    if (mode === "backward") {
      if (blocked) { color = BLOCKED; dash = "dashed"; lc = BLOCKED }
      else if (!carries) { color = PRUNED; dash = "dotted"; alpha = Math.min(alpha, 0.7) }
    } else if (blocked) { color = BLOCKED; dash = "dashed" }
    // in playback an edge shows its number once the step that carries it has arrived
    const arrived = !seen || arrivesWith(sc, k).some((i) => seen.has(i))
    if (arrived && flow && carries) {
      const s = strength(flow.flow[k], flow.max)
      width = widthOf(s, thick)
      alpha = opacityOf(s, Math.min(flowAlpha, 0.35))
      hides = cut > 0 && crowd.of[k] >= 0 && flow.flow[k] < cut
    }
    return { color, dash, alpha, width, lc, arrived, hides }
  }
  return { flow, flowAlpha, bundled, thick, crowd, cut, style }
}

// the nodes whose arrival in playback shows edge k's number (the first to arrive does): the
// head's forward, the tail's backward, where a blocked edge's "× 0" comes with its head too
export function arrivesWith(sc, k) {
  const E = sc.edges
  if (sc.mode !== "backward") return [E.v[k]]
  return E.blocked[k] ? [E.u[k], E.v[k]] : [E.u[k]]
}

// the heads of a drawing split: [those drawn with the edges' canvas (without the `edge`
// column), those of `ahead` edges (with it)]
function splitHeads(acol, ahead) {
  const keys = Object.keys(acol), low = {}, high = {}
  for (const key of keys) { low[key] = []; high[key] = [] }
  for (let j = 0; j < acol.edge.length; j++) {
    const to = ahead && ahead[acol.edge[j]] ? high : low
    for (const key of keys) to[key].push(acol[key][j])
  }
  delete low.edge
  return [low, high]
}

// edge columns without the `out` rows
function without(ecol, out) {
  const res = {}
  for (const key of Object.keys(ecol)) res[key] = ecol[key].filter((x, k) => !out[k])
  return res
}

// The overlay's marks: the current step's nodes ringed and its edges lit between outlines,
// the keyboard's node ringed, the edge a weight-matrix cell lights; `size`: each node's
// drawn size in pixels (drawing's nodes.size). A step's start changes these alone (and the
// caption): playback draws them without the rest (stepframes.mjs startStep).
export function marks(sc, size, { step, ppu, keyNode = -1, highlight = -1 }) {
  const N = sc.nodes, E = sc.edges, n = N.id.length, m = E.u.length
  const focus = { x: [], y: [], marker: [], size: [] }
  const lit = { xs: [], ys: [] }
  if (keyNode >= 0 && keyNode < n) {
    focus.x.push(N.x[keyNode]); focus.y.push(N.y[keyNode])
    focus.marker.push((STYLE[N.kind[keyNode]] || STYLE.op).marker); focus.size.push(size[keyNode] + 8)
  }
  const lightEdge = (k) => {
    const [xs, ys] = trimPolyline(E.xs[k], E.ys[k], (size[E.u[k]] / 2 + 1) / ppu, (size[E.v[k]] / 2 + 2) / ppu)
    lit.xs.push(xs); lit.ys.push(ys)
  }
  if (highlight >= 0 && highlight < m) lightEdge(highlight)
  if (step) {
    for (const i of step.nodes) {
      focus.x.push(N.x[i]); focus.y.push(N.y[i])
      focus.marker.push((STYLE[N.kind[i]] || STYLE.op).marker); focus.size.push(size[i])
    }
    for (const [u, v, slot] of step.edges) {
      const k = edgeIndex(sc, u, v, slot)
      if (k >= 0) lightEdge(k)
    }
  }
  return { focus, lit }
}

// The arrowheads that show, of a zoomed-out view's: where several heads of one colour point
// the same way (within 45 degrees) from tips less than two heads apart, they are drawn on top
// of each other and only the topmost (the last drawn) is seen; the others are left out. A
// crowded overview (the 982-node MLP on a phone: 1,251 heads, 5 px each, in columns of
// 10 px nodes) keeps about a fifth of them, and its repaint most of a canvas's work: each head
// is a path of its own (save, translate, rotate, fill, stroke, restore). Zoomed in, heads
// are apart and every one is drawn.
export function topHeads(acol, ppu) {
  const n = acol.x0.length, kept = new Map(), colors = new Map()
  for (let k = n - 1; k >= 0; k--) {
    const cell = 2 * acol.head[k] / ppu
    const sector = Math.round(Math.atan2(acol.y1[k] - acol.y0[k], acol.x1[k] - acol.x0[k]) / (Math.PI / 8)) & 15
    let c = colors.get(acol.color[k])
    if (c === undefined) colors.set(acol.color[k], c = colors.size)
    const key = `${Math.floor(acol.x1[k] / cell)} ${Math.floor(acol.y1[k] / cell)} ${sector} ${c}`
    if (!kept.has(key)) kept.set(key, k)
  }
  if (kept.size === n) return acol
  const ks = [...kept.values()].sort((a, b) => a - b), out = {}
  for (const name of Object.keys(acol)) out[name] = ks.map((k) => acol[name][k])
  return out
}

// Bundled edges drawn alike (colour, dash, width, and opacity in steps of 1/ALPHA_STEPS) as
// one line each: their polylines joined by NaN, where Bokeh starts a new stroke of the same
// path. A canvas draws a few strokes of many segments much faster than thousands of strokes,
// each styled on its own; each row of the edges' source is a bundle then, not an edge.
// `memo` (the scene's edges) keeps the last bundles: while no edge's style changed (a drag
// in the graph or forward mode) the same columns come back, and the figure is not repainted.
// `hidden` (or null): the edges left out (a crowd's band stands for them).
const ALPHA_STEPS = 32
export function bundles(ecol, memo = null, hidden = null) {
  const m = ecol.xs.length, keys = new Array(m), alphas = new Array(m)
  for (let k = 0; k < m; k++) {
    alphas[k] = Math.round(ecol.alpha[k] * ALPHA_STEPS) / ALPHA_STEPS
    keys[k] = hidden && hidden[k] ? "" : `${ecol.color[k]} ${ecol.dash[k]} ${ecol.width[k]} ${alphas[k]}`
  }
  const last = memo && memo._bundles
  if (last && last.xs === ecol.xs && last.keys.every((key, k) => key === keys[k])) return last.out
  const rows = new Map()  // style key -> {color, dash, alpha, width, xs, ys}
  for (let k = 0; k < m; k++) {
    if (keys[k] === "") continue
    let row = rows.get(keys[k])
    if (row === undefined)
      rows.set(keys[k], row = { color: ecol.color[k], dash: ecol.dash[k], alpha: alphas[k], width: ecol.width[k], xs: [], ys: [] })
    if (row.xs.length) { row.xs.push(NaN); row.ys.push(NaN) }
    const ex = ecol.xs[k], ey = ecol.ys[k]
    for (let j = 0; j < ex.length; j++) { row.xs.push(ex[j]); row.ys.push(ey[j]) }
  }
  // opaque colours, the faintest drawn first: the strongest flows lie on top (blending
  // thousands of translucent lines was a fifth of a software-drawn canvas's repaint)
  const out = { xs: [], ys: [], color: [], dash: [], alpha: [], width: [] }
  for (const row of [...rows.values()].sort((a, b) => a.alpha - b.alpha)) {
    out.xs.push(row.xs); out.ys.push(row.ys); out.dash.push(row.dash); out.width.push(row.width)
    out.color.push(over(row.color, row.alpha, BACKGROUND)); out.alpha.push(1)
  }
  if (memo) memo._bundles = { xs: ecol.xs, keys, out }
  return out
}

// the number drawn edge k shows in `mode` ("" for none)
function edgeLabel(sc, r, k, mode, flow) {
  const E = sc.edges, u = E.u[k], v = E.v[k]
  const tu = tapeIndex(sc, u), tv = tapeIndex(sc, v), via = E.via && E.via[k]
  if (mode === "forward") return fmt(r.value[tu])
  if (mode !== "backward") return ""
  if (E.blocked[k]) return "× 0"
  if (!(sc.tape.active[tv] && sc.tape.active[tu])) return ""
  // an edge from a layer stands for several parents: what it carries back is a vector
  if (manyTails(sc, k)) return `→ ‖${fmt(flow.flow[k])}‖`
  // an edge into a closed group stands for several traced edges: no one local derivative
  const loc = !via ? local(r, v, E.slot[k]) : via.length === 1 && via[0][0] === tv ? local(r, tv, via[0][1]) : null
  return (loc === null ? "" : `×${paren(loc)} `) + `→ ${fmt(edgeContribution(sc, r, k))}`
}

// how many lines (uncapped) the lower labels of a drawing by layers need so that neighbours do not overlap:
// the widest label (`chars(name)` characters: "‖∂L/∂h10‖ = -1.234e-5") over the narrowest gap
function labelLines(N, ppu, fontPx, chars) {
  const xs = [...N.x].sort((a, b) => a - b)
  let gap = Infinity
  for (let k = 1; k < xs.length; k++) if (xs[k] - xs[k - 1] > 1e-9) gap = Math.min(gap, xs[k] - xs[k - 1])
  const widest = Math.max(0, ...N.name.map((name) => chars(name) * 0.6 * fontPx))
  return Math.max(1, Math.ceil(widest / (0.95 * gap * ppu)))
}

// how many nodes are in `box` (all without one)
function inBox(N, box) {
  if (!box) return N.x.length
  let k = 0
  for (let i = 0; i < N.x.length; i++) if (N.x[i] >= box[0] && N.x[i] <= box[1] && N.y[i] >= box[2] && N.y[i] <= box[3]) k++
  return k
}

// each node's place from left to right (its line, when lower labels take turns)
function rankByX(N) {
  if (!N._rank) {
    const order = N.x.map((x, i) => i).sort((a, b) => N.x[a] - N.x[b])
    N._rank = new Array(order.length)
    order.forEach((i, k) => { N._rank[i] = k })
  }
  return N._rank
}
