// The labels of one drawing, in one source: only those shown at this zoom take a row.

import { INK } from "./style.mjs"

export class Labels {
  constructor(box) {
    this.box = box  // [x0, x1, y0, y1]: labels anchored outside it are not drawn (null: all)
    this.columns = { x: [], y: [], text: [], color: [], size: [], style: [], baseline: [], dx: [], dy: [], boxed: [], alpha: [], node: [], edge: [], role: [] }
  }

  add(x, y, text, { color = INK, size = "13px", style = "normal", baseline = "middle", dx = 0, dy = 0, boxed = 0, alpha = 1, node = -1, edge = -1, role = "" } = {}) {
    const b = this.box
    if (b && (x < b[0] || x > b[1] || y < b[2] || y > b[3])) return
    const c = this.columns
    c.x.push(x); c.y.push(y); c.text.push(text); c.color.push(color); c.size.push(size); c.style.push(style)
    c.baseline.push(baseline); c.dx.push(dx); c.dy.push(dy); c.boxed.push(boxed); c.alpha.push(alpha)
    c.node.push(node); c.edge.push(edge); c.role.push(role)
  }
}
