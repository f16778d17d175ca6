// The labels of one drawing, in one source: only those shown at this zoom take a row, and
// those beside the nodes (names, numbers, the key, edge numbers) are kept apart on screen.

import { INK } from "./style.mjs"

const PAD = 2  // px of white box around a label's text (the figure's Text glyph: padding=2)

// a row of the labels' source that draws nothing (see sources.mjs, Written.updateText)
export const BLANK_LABEL = { x: NaN, y: NaN, text: null, node: -1, edge: -1, role: "" }

export class Labels {
  constructor(box) {
    this.box = box  // [x0, x1, y0, y1]: labels anchored outside it are not drawn (null: all)
    this.rows = []
  }

  add(x, y, text, { color = INK, size = "13px", style = "normal", baseline = "middle", dx = 0, dy = 0, boxed = 0, alpha = 1, node = -1, edge = -1, role = "", rank = 3, lines = [], aside = 0 } = {}) {
    const b = this.box
    if (b && (x < b[0] || x > b[1] || y < b[2] || y > b[3])) return
    // rank: which labels get their place first (smaller first); lines: the other offsets (px,
    // added to dy) the label may take when its own place is taken; aside: when none is free,
    // the label may stand left of its anchor, this many px away, level with it (0: never)
    this.rows.push({ x, y, text, color, size, style, baseline, dx, dy, boxed, alpha, node, edge, role, rank, lines, aside })
  }

  // Keep the labels beside the nodes apart: in order of rank, each label takes the first of
  // its places (dy, then dy + each of its `lines`) where its box, text and padding, meets
  // no label placed before it and no node but its own, and stays inside the figure's frame
  // (slid along it where it would stick out); a label with no such place is not drawn:
  // zooming in gives it room. `ppu`: pixels per layout unit; `frame`: the plane on screen
  // ([x0, x1, y0, y1], or null: no edges to keep to); `nodes`: {x, y, size} of the markers.
  place(ppu, frame, nodes) {
    const grid = new Grid(48)
    const sx = (x) => x * ppu, sy = (y) => -y * ppu  // screen px, up to a shift
    const n = nodes ? nodes.x.length : 0
    for (let i = 0; i < n; i++) {
      const h = nodes.size[i] / 2
      grid.add([sx(nodes.x[i]) - h, sx(nodes.x[i]) + h, sy(nodes.y[i]) - h, sy(nodes.y[i]) + h, i])
    }
    const fx0 = frame ? sx(frame[0]) : -Infinity, fx1 = frame ? sx(frame[1]) : Infinity
    const fy0 = frame ? sy(frame[3]) : -Infinity, fy1 = frame ? sy(frame[2]) : Infinity
    const free = (r) => r.role !== "inner" && r.role !== "mark"
    const order = this.rows.map((r, k) => k).filter((k) => free(this.rows[k]))
      .sort((a, b) => this.rows[a].rank - this.rows[b].rank || a - b)
    const dropped = new Set()
    for (const k of order) {
      const r = this.rows[k], px = parseFloat(r.size) || 13
      const w = textWidth(r.text, r.size, r.style) + 2 * PAD, h = px * 1.2 + 2 * PAD
      let x = sx(r.x) + r.dx
      const ax = sx(r.x), ay = sy(r.y)
      const inside = ax >= fx0 && ax <= fx1 && ay >= fy0 && ay <= fy1
      // a label whose anchor is on screen stays on screen: slid sideways off the frame's edges
      if (inside && w < fx1 - fx0) x = Math.min(Math.max(x, fx0 + w / 2 + 1), fx1 - w / 2 - 1)
      const places = [0, ...r.lines].map((extra) => ({ x, y: ay + r.dy + extra, baseline: r.baseline }))
      if (r.aside) places.push({ x: ax - r.aside - w / 2, y: ay, baseline: "middle", aside: true })
      let placed = false
      for (const p of places) {
        const { y, baseline } = p
        const top = baseline === "top" ? y - PAD : baseline === "bottom" ? y - px * 1.2 - PAD : y - h / 2
        const box = [p.x - w / 2, p.x + w / 2, top, top + h, r.node]
        if (inside && (top < fy0 || top + h > fy1)) continue
        if (p.aside && inside && box[0] < fx0) continue
        if (grid.hits(box)) continue
        grid.add([...box.slice(0, 4), -1])
        r.dx = p.x - ax; r.dy = y - ay; r.baseline = baseline
        placed = true
        break
      }
      if (!placed) dropped.add(k)
    }
    if (dropped.size) this.rows = this.rows.filter((r, k) => !dropped.has(k))
  }

  get columns() {
    const c = { x: [], y: [], text: [], color: [], size: [], style: [], baseline: [], dx: [], dy: [], boxed: [], alpha: [], node: [], edge: [], role: [] }
    for (const r of this.rows) for (const key in c) c[key].push(r[key])
    return c
  }
}

// Boxes ([left, right, top, bottom, owner node or -1]) in buckets of `cell` px: a new label is
// checked against its neighbours only, not against every label of a big drawing.
class Grid {
  constructor(cell) { this.cell = cell; this.buckets = new Map() }
  *cells(b) {
    const c = this.cell
    for (let i = Math.floor(b[0] / c); i <= Math.floor(b[1] / c); i++)
      for (let j = Math.floor(b[2] / c); j <= Math.floor(b[3] / c); j++) yield `${i},${j}`
  }
  add(b) {
    for (const key of this.cells(b)) {
      const list = this.buckets.get(key)
      if (list) list.push(b); else this.buckets.set(key, [b])
    }
  }
  // does `b` meet a box, other than the marker of the node it labels?
  hits(b) {
    for (const key of this.cells(b)) {
      const list = this.buckets.get(key)
      if (!list) continue
      for (const o of list)
        if (!(o[4] >= 0 && o[4] === b[4]) && b[0] < o[1] && o[0] < b[1] && b[2] < o[3] && o[2] < b[3]) return true
    }
    return false
  }
}

// A label's width in px, as the figure's canvas measures it (Bokeh draws text in "helvetica");
// estimated where there is no canvas (Node): CJK 1 em, anything else 0.62 em.
const widths = new Map()
let measurer = null
export function textWidth(text, size, style = "normal") {
  const key = `${style} ${size} ${text}`
  let w = widths.get(key)
  if (w !== undefined) return w
  if (measurer === null)
    measurer = typeof document !== "undefined" && document.createElement ? document.createElement("canvas").getContext("2d") || false : false
  if (measurer) {
    measurer.font = `${style} ${size} helvetica`
    w = measurer.measureText(text).width
  } else {
    const px = parseFloat(size) || 13
    w = 0
    for (const ch of text) w += (ch.codePointAt(0) >= 0x2e80 ? 1 : 0.62) * px
  }
  if (widths.size > 5000) widths.clear()  // numbers change as sliders move: keep it bounded
  widths.set(key, w)
  return w
}
