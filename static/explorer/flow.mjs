// Where the gradient flows: in the backward pass an edge's width and opacity grow with how
// much gradient it carries back (reading.edgeFlow: |contribution|, or for an edge that
// stands for many traced edges the norm of what reaches each parent). Widths follow the
// logarithm over DECADES orders of magnitude below the largest edge on screen, so a
// gradient that shrinks ten-fold per layer reads as steps of width; hue is not used (the
// palette stays colour-blind safe: style.mjs).

import { fmt } from "./replay.mjs"
import { T, fill } from "./words.mjs"
import { edgeFlow } from "./reading.mjs"

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

// the legend under the figure: three sample widths (and opacities) with the flows they stand for
export function legendHtml(max, thick = THICK, faint = 0.35) {
  if (!(max > 0)) return ""
  const samples = [0, 2, DECADES].map((d) => [widthOf(1 - d / DECADES, thick), max / 10 ** d, 1 - d / DECADES])
  // edges one pixel wide (bundled) differ by opacity alone: their samples are drawn 2 px
  // wide, where an opacity shows
  const line = ([w, , t]) => `<svg width="38" height="14" aria-hidden="true"><line x1="2" y1="7" x2="36" y2="7" stroke="#D55E00" stroke-width="${thick <= THIN ? 2 : w}" stroke-linecap="round" stroke-opacity="${opacityOf(t, faint).toFixed(2)}"/></svg>`
  // each sample one unit, which a narrow screen does not break (components/graph_view.py LEGEND_CSS)
  const items = samples.map((sample, k) =>
    `<span class="bpx-flow-item">${line(sample)} ${k === samples.length - 1 ? "≤ " : ""}${fmt(sample[1])}</span>`)
  return `<div class="bpx-flow-legend" role="note"><span class="bpx-flow-title">${fill(thick <= THIN ? T.flow_legend_shade : T.flow_legend, {})}</span> ${items.join(" ")}</div>`
}
