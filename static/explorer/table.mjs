// The values table: every node with at least 4 significant digits.

import { fmt } from "./replay.mjs"
import { T, faultText } from "./words.mjs"
import { tapeIndex, isVector, shownValue, shownGrad } from "./reading.mjs"
import { sameColumns } from "./sources.mjs"
import { viewOf } from "./bokeh.mjs"

// `seen`: the nodes whose gradients are on screen (null: all; Predict hides the others)
export function tableColumns(sc, r, seen = null) {
  const N = sc.nodes, n = N.id.length
  const { name, op } = rowsOf(sc)
  const tcol = { name, op, value: [], grad: [], fault: [] }
  for (let i = 0; i < n; i++) {
    const t = tapeIndex(sc, i)
    // a layer's row: the norms of its output vector and of that vector's gradient
    const norm = isVector(sc, i) ? "‖·‖ = " : ""
    tcol.value.push(norm + fmt(shownValue(sc, r, i), 6))
    tcol.grad.push(N.kind[i] === "constant" ? "" : !sc.tape.active[t] ? T.notComputed : seen && !seen.has(i) ? "?" : norm + fmt(shownGrad(sc, r, i), 6))
    const fault = r.fault[t] || r.gradFault[t]
    tcol.fault.push(fault ? `⚠ ${faultText(fault)}` : "")
  }
  return tcol
}

// a scene's names and operations (its rows, which no replay changes): made once per scene
const rowsMade = new WeakMap()
function rowsOf(sc) {
  const N = sc.nodes
  let out = rowsMade.get(N)
  if (!out) {
    out = { name: [...N.name], op: N.name.map((_, i) => N.op[i] ? N.text[i].split(" = ").slice(1).join(" = ") : T.kinds[N.kind[i]] || N.kind[i]) }
    rowsMade.set(N, out)
  }
  return out
}

// the columns a new replay can change (a row's name stays)
const CHANGING = ["op", "value", "grad", "fault"]

// Writes the table's columns into its source; `model` is the DataTable, `written` the
// view's record of what each source holds (sources.Written).
// A table scrolled off screen (below a big graph's figure, on a wide screen) still had its
// drawn cells rewritten on every frame of a drag, and Chromium laid them out and painted
// the page again for it: a sixth of a drag frame at the 11.6k MLP's neurons. Off screen, its
// source still takes every replay's numbers, and its drawn cells catch up at most every
// CATCH_UP_MS, and at once when the table comes on screen.
const CATCH_UP_MS = 250
export class ValuesTable {
  constructor() {
    this.cached = null
    this.behind = null  // what the drawn cells show while they lag behind the source (else null)
    this.onScreen = true  // until an IntersectionObserver says otherwise
    this.watched = null
    this.timer = 0
  }

  write(source, model, tcol, written) {
    const view = this.viewOf(model)
    const rows = source.data.name
    if (view && rows && sameColumns({ name: rows }, { name: tcol.name }) && !view.grid.getSortColumns().length) {
      // the same rows with new numbers: the drawn cells whose text changed are rewritten in
      // place (a row scrolled to later is drawn from the source then), skipping the table's
      // re-layout and row count, which read computed styles
      const before = this.behind || source.data
      source.setv({ data: tcol }, { sync: false, silent: true })
      written.remember(source, tcol)
      this.watch(view)
      if (this.onScreen) { this.behind = null; return catchUp(view.grid, before, tcol) }
      this.behind = before
      if (!this.timer) this.timer = setTimeout(() => { this.timer = 0; this.flush() }, CATCH_UP_MS)
      return
    }
    this.behind = null  // drawn anew from the source
    written.update(source, tcol, model)
  }

  // the drawn cells given the source's numbers, where they lag behind
  flush() {
    const view = this.cached, before = this.behind
    if (!view || !before || !view.el || !view.el.isConnected) return
    this.behind = null
    catchUp(view.grid, before, view.model.source.data)
  }

  watch(view) {
    if (this.watched === view.el || typeof IntersectionObserver === "undefined") return
    if (this.observer) this.observer.disconnect()
    this.watched = view.el
    this.onScreen = true
    this.observer = new IntersectionObserver((entries) => {
      this.onScreen = entries[entries.length - 1].isIntersecting
      if (this.onScreen) this.flush()
    })
    this.observer.observe(view.el)
  }

  // the DataTable's view in the page (null in Node, or before Bokeh has drawn it)
  viewOf(model) {
    const cached = this.cached
    if (cached && cached.model === model && cached.el && cached.el.isConnected && cached.grid) return cached
    const view = viewOf(model)
    this.cached = view && view.grid ? view : null
    return this.cached
  }
}

// the drawn cells of `grid` whose text differs between the columns `before` and `after`
// given their text in `after`
function catchUp(grid, before, after) {
  const fields = grid.getColumns().map((c) => c.field), n = after.name.length
  for (let i = 0; i < n; i++)
    for (const key of CHANGING)
      if (!before[key] || before[key][i] !== after[key][i]) rewrite(grid, i, fields.indexOf(key), after[key][i])
}

// One cell's new text. Its text node is given the text where it has one: SlickGrid's
// updateCell would build the cell's markup again, and new nodes every drag frame make
// Chromium lay the page's layers out again (most of a drag frame's cost on a big table).
// A cell not drawn now (scrolled away) is drawn from the source when it is.
function rewrite(grid, row, column, text) {
  if (column < 0) return
  const cell = grid.getCellNode(row, column)
  if (!cell) return
  const node = cell.firstChild && cell.firstChild.firstChild  // StringFormatter: <div>text</div>
  if (node && node.nodeType === 3 && !node.nextSibling && text !== "") node.nodeValue = text
  else grid.updateCell(row, column)
}
