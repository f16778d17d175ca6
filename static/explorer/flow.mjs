// Where the gradient flows: in the backward pass an edge's width and opacity grow with how
// much gradient it carries back (reading.edgeFlow: |contribution|, or for an edge that
// stands for many traced edges the norm of what reaches each parent). Widths follow the
// logarithm over DECADES orders of magnitude below the largest edge on screen, so a
// gradient that shrinks ten-fold per layer reads as steps of width; hue is not used (the
// palette stays colour-blind safe: style.mjs).

import { fmt } from "./replay.mjs"
import { T, fill } from "./words.mjs"
import { edgeFlow } from "./reading.mjs"
import { FLOW, BACKGROUND } from "./style.mjs"

export const DECADES = 4
export const THIN = 1, THICK = 10  // px at the smallest and largest flow, for a few edges

// the widest edge: THICK for a few edges, narrower as they crowd (thousands between two
// columns of neurons would merge into one band), never below a visible 2.5 px
export function thickest(edges) { return Math.max(2.5, Math.min(THICK, THICK * Math.sqrt(20 / Math.max(1, edges)))) }

// 0..1 for a flow against the largest one (0 for none or below DECADES decades)
export function strength(flow, max) {
  if (!(flow > 0) || !(max > 0)) return 0
  return Math.min(1, Math.max(0, 1 + Math.log10(flow / max) / DECADES))
}

export function widthOf(t, thick = THICK) { return THIN + (thick - THIN) * t }

// every edge's flow and the largest one
export function flows(sc, r) {
  const m = sc.edges.u.length, out = new Float64Array(m)
  let max = 0
  for (let k = 0; k < m; k++) {
    const f = edgeFlow(sc, r, k)
    out[k] = f
    if (f > max && Number.isFinite(f)) max = f
  }
  return { flow: out, max, thick: thickest(m) }
}

// an edge's opacity at strength t: from `faint` (no flow) to 0.95 (the largest)
export function opacityOf(t, faint = 0.35) { return faint + (0.95 - faint) * t * t }

// A wide network at its neurons joins every neuron of a layer to every neuron of the next:
// thousands of one-pixel lines between two columns, each pixel drawn over some ten times, and
// rasterising them was half of a drag frame on a software-drawn canvas. Such a crowd (the
// edges between two columns that join each of many tails to each of many heads) is drawn, in
// the backward mode, as a shaded band standing for all its edges, and on it, one by one, the
// edges whose flow reaches `cut`: the CROWD_LINES strongest of all crowds (one threshold for
// every crowd, so a layer whose gradient vanishes is a band with no lines). The band's shade
// is below every line's (opacity still grows with the flow); the legend names the cut.
export const CROWD_LINES = 600
export const BAND_ALPHA = 0.14
const CROWD = 100  // fewer edges between two columns than this are drawn one by one

// the crowds of a scene's edges (its topology: made once per scene): `of[k]` the crowd of
// edge k (-1: none), `bands[c]` crowd c's band (the hull of its edges' ends, as a polygon)
export function crowds(sc) {
  const E = sc.edges
  if (E._crowds) return E._crowds
  const m = E.u.length, pairs = new Map()
  for (let k = 0; k < m; k++) {
    const xs = E.xs[k], key = `${xs[0]} ${xs[xs.length - 1]}`
    let p = pairs.get(key)
    if (!p) pairs.set(key, p = { edges: [], tails: new Set(), heads: new Set() })
    p.edges.push(k); p.tails.add(E.u[k]); p.heads.add(E.v[k])
  }
  const of = new Int32Array(m).fill(-1), bands = []
  for (const p of pairs.values()) {
    const { edges, tails, heads } = p
    if (edges.length < CROWD || tails.size < 4 || heads.size < 4 || edges.length < 0.9 * tails.size * heads.size) continue
    let a0 = Infinity, a1 = -Infinity, b0 = Infinity, b1 = -Infinity
    for (const k of edges) {
      const ys = E.ys[k]
      a0 = Math.min(a0, ys[0]); a1 = Math.max(a1, ys[0])
      b0 = Math.min(b0, ys[ys.length - 1]); b1 = Math.max(b1, ys[ys.length - 1])
      of[k] = bands.length
    }
    const xs = E.xs[edges[0]], xa = xs[0], xb = xs[xs.length - 1]
    bands.push({ xs: [xa, xa, xb, xb], ys: [a0, a1, b1, b0] })
  }
  return E._crowds = { of, bands }
}

// the least flow a crowd's edge needs to be drawn as a line of its own (0: every one is),
// once per replay
export function cutOf(flow, cr, lines = CROWD_LINES) {
  if (flow.cut !== undefined) return flow.cut
  const f = flow.flow, fs = new Float64Array(cr.of.length)
  let n = 0
  for (let k = 0; k < fs.length; k++) if (cr.of[k] >= 0 && Number.isFinite(f[k])) fs[n++] = f[k]
  if (n <= lines) return flow.cut = 0
  return flow.cut = kth(fs.subarray(0, n), n - lines)
}

// the k-th smallest (from 0) of the numbers in `a`, which it reorders: a selection (Hoare's),
// linear on average, where sorting every crowd's flows on each replay was most of the cut's time
export function kth(a, k) {
  let lo = 0, hi = a.length - 1
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1]
    let i = lo, j = hi
    while (i <= j) {
      while (a[i] < pivot) i++
      while (a[j] > pivot) j--
      if (i <= j) { const t = a[i]; a[i] = a[j]; a[j] = t; i++; j-- }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return a[k]
  }
  return a[k]
}

// `color` (#rrggbb) at opacity `alpha` over `ground`, as one opaque colour
export function over(color, alpha, ground = BACKGROUND) {
  const c = (hex, i) => parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16)
  const mix = (i) => Math.round(alpha * c(color, i) + (1 - alpha) * c(ground, i)).toString(16).padStart(2, "0")
  return `#${mix(0)}${mix(1)}${mix(2)}`
}

export const BAND_COLOR = over(FLOW.backward, BAND_ALPHA)

// `x` rounded up to three significant digits: a bound the legend can print and keep true
export function roundUp(x) {
  if (!(x > 0) || !Number.isFinite(x)) return x
  const unit = 10 ** (Math.floor(Math.log10(x)) - 2)
  return Math.ceil(x / unit - 1e-9) * unit
}

// the legend under the figure: three sample widths (and opacities) with the flows they stand
// for; `band` ({count, cut}): the crowds' edges drawn as a band only, each carrying < cut
export function legendHtml(max, thick = THICK, faint = 0.35, band = null) {
  if (!(max > 0)) return ""
  const samples = [0, 2, DECADES].map((d) => [widthOf(1 - d / DECADES, thick), max / 10 ** d, 1 - d / DECADES])
  // edges one pixel wide (bundled) differ by opacity alone: their samples are drawn 2 px
  // wide, where an opacity shows
  const line = ([w, , t]) => `<svg width="38" height="14" aria-hidden="true"><line x1="2" y1="7" x2="36" y2="7" stroke="#D55E00" stroke-width="${thick <= THIN ? 2 : w}" stroke-linecap="round" stroke-opacity="${opacityOf(t, faint).toFixed(2)}"/></svg>`
  // each sample one unit, which a narrow screen does not break (components/graph_view.py LEGEND_CSS)
  const items = samples.map((sample, k) =>
    `<span class="bpx-flow-item">${line(sample)} ${k === samples.length - 1 ? "≤ " : ""}${fmt(sample[1])}</span>`)
  if (band && band.count > 0)
    items.push(`<span class="bpx-flow-item bpx-flow-band"><svg width="38" height="14" aria-hidden="true"><rect x="2" y="1" width="34" height="12" fill="${BAND_COLOR}"/></svg> ${fill(T.flow_band, { n: band.count, x: fmt(roundUp(band.cut), 3) })}</span>`)
  return `<div class="bpx-flow-legend" role="note"><span class="bpx-flow-title">${fill(thick <= THIN ? T.flow_legend_shade : T.flow_legend, {})}</span> ${items.join(" ")}</div>`
}
