// Geometry of the drawing: edge polylines (bowed, trimmed to node outlines, walked along)
// and the part of the plane the figure shows.

import { fin } from "./replay.mjs"

// a*a draws two edges between the same nodes: bow them apart so both are seen
export function separateParallelEdges(E) {
  const groups = new Map()
  E.u.forEach((u, k) => {
    const key = `${u},${E.v[k]}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(k)
  })
  for (const ks of groups.values()) {
    if (ks.length < 2) continue
    ks.forEach((k, i) => {
      const xs = E.xs[k], ys = E.ys[k], L = xs.length
      const dx = xs[L - 1] - xs[0], dy = ys[L - 1] - ys[0], d = Math.hypot(dx, dy) || 1
      const off = (i - (ks.length - 1) / 2) * 0.28
      const [mx, my] = along(xs[0], ys[0], xs[L - 1], ys[L - 1], 0.5)
      if (L === 2) { E.xs[k] = [xs[0], mx - dy / d * off, xs[1]]; E.ys[k] = [ys[0], my + dx / d * off, ys[1]] }
      else { E.xs[k] = xs.map((x, j) => (j > 0 && j < L - 1 ? x - dy / d * off : x)); E.ys[k] = ys.map((y, j) => (j > 0 && j < L - 1 ? y + dx / d * off : y)) }
    })
  }
}

// the last point of a polyline moved back by `back` along its last segment, and that direction
export function trimEnd(xs, ys, back) {
  const L = xs.length
  const dx = xs[L - 1] - xs[L - 2], dy = ys[L - 1] - ys[L - 2], d = Math.hypot(dx, dy) || 1
  return [xs[L - 1] - dx / d * back, ys[L - 1] - dy / d * back, dx / d, dy / d]
}

// a polyline between two node outlines instead of between their centres
export function trimPolyline(xs, ys, front, back) {
  const [ex, ey] = trimEnd(xs, ys, back)
  const [sx, sy] = trimEnd([xs[1], xs[0]], [ys[1], ys[0]], front)
  const L = xs.length
  return [[sx, ...xs.slice(1, L - 1), ex], [sy, ...ys.slice(1, L - 1), ey]]
}

export function along(x0, y0, x1, y1, t) { return [x0 + (x1 - x0) * t, y0 + (y1 - y0) * t] }

export function alongPolyline(xs, ys, t) {
  let total = 0
  const seg = []
  for (let i = 1; i < xs.length; i++) { const d = Math.hypot(xs[i] - xs[i - 1], ys[i] - ys[i - 1]); seg.push(d); total += d }
  let target = t * total
  for (let i = 1; i < xs.length; i++) {
    if (target <= seg[i - 1] || i === xs.length - 1) return along(xs[i - 1], ys[i - 1], xs[i], ys[i], seg[i - 1] ? Math.min(1, target / seg[i - 1]) : 1)
    target -= seg[i - 1]
  }
  return [xs[0], ys[0]]
}

// the figure's scale: pixels per layout unit (the level of detail of labels follows it)
export function pixelsPerUnit(figure) {
  const w = figure.inner_width || 600, xr = figure.x_range
  const span = Math.abs((xr.end ?? 1) - (xr.start ?? 0)) || 1
  return w / span
}

// the part of the plane on screen, with a margin (a fraction of its size) for labels that
// reach in from outside (null when the ranges are not known yet: then everything counts as
// on screen)
export function visibleBox(figure, margin = 0.15) {
  const xr = figure.x_range, yr = figure.y_range
  const box = [xr.start, xr.end, yr.start, yr.end]
  if (!box.every(fin)) return null
  const [x0, x1] = [Math.min(box[0], box[1]), Math.max(box[0], box[1])]
  const [y0, y1] = [Math.min(box[2], box[3]), Math.max(box[2], box[3])]
  const mx = (x1 - x0) * margin, my = (y1 - y0) * margin
  return [x0 - mx, x1 + mx, y0 - my, y1 + my]
}
