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
export class ValuesTable {
  constructor() { this.cached = null }

  write(source, model, tcol, written) {
    const view = this.viewOf(model)
    const rows = source.data.name
    if (view && rows && sameColumns({ name: rows }, { name: tcol.name }) && !view.grid.getSortColumns().length) {
      // the same rows with new numbers: the drawn cells whose text changed are rewritten in
      // place (a row scrolled to later is drawn from the source then), skipping the table's
      // re-layout and row count, which read computed styles
      const before = source.data
      source.setv({ data: tcol }, { sync: false, silent: true })
      const grid = view.grid, fields = grid.getColumns().map((c) => c.field)
      for (let i = 0; i < rows.length; i++)
        for (const key of CHANGING)
          if (!before[key] || before[key][i] !== tcol[key][i]) rewrite(grid, i, fields.indexOf(key), tcol[key][i])
      written.remember(source, tcol)
      return
    }
    written.update(source, tcol, model)
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
