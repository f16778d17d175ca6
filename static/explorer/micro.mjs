// accumulation's micro-batch table where no server is behind the page (the static site):
// graphviz_core.accumulation.accumulate at the graph's (w, b), for the K and the division the
// page's controls show - each micro-batch's loss (k·L, k = 1/K when divided) replayed from the
// tape of the loss graphviz_core.training.regression_loss differentiates over its points, its
// gradient added into a .grad buffer (rules.py accumulated, the server's rule), beside the
// big batch - and written as components/lessons/accumulation.py _update_accumulation writes
// it, from its templates (the table with one row of marks, the note's words). Written again
// at every redraw of the lesson's graph, and when K or the division changes.

import { replay, fmt } from "./replay.mjs"
import { modelWithClass } from "./bokeh.mjs"
import { fill } from "./words.mjs"
import { accumulated } from "./rules.generated.mjs"

// the loss and (d/dw, d/db) of a tape at (w, b), its constant k pinned
function lossAndGrad(tape, w, b, k) {
  const r = replay(tape, { w, b, k })
  return [r.value[tape.root], [r.grad[tape.variable.w], r.grad[tape.variable.b]]]
}

export function writeMicro(view, d) {
  const a = view.args, doc = a.meta.document, tape = view.scene.tape
  const group = modelWithClass(doc, d.k), divide = modelWithClass(doc, d.divide)
  const pane = modelWithClass(doc, d.css)
  if (!group || !divide || !pane) return
  const K = group.labels[group.active], average = Array.isArray(divide.active)
    ? divide.active.includes(0) : Boolean(divide.active)
  const w = view.result.value[tape.variable.w], b = view.result.value[tape.variable.b]
  const scale = average ? 1.0 / Number(K) : 1.0
  const [head, row, tail] = d.table.split(/<tbody>|<\/tbody>/)
  const line = (cells) => row.split("\u27ea").map((part, i) => (i ? cells[i - 1] : "") + part).join("")
  const buffer = [null, null], lines = []
  d.tapes[K].forEach((batch, j) => {
    const [loss, grad] = lossAndGrad(batch, w, b, scale)
    for (const i of [0, 1]) buffer[i] = accumulated(buffer[i], grad[i])
    lines.push(line([String(j + 1), d.points[K][j], fmt(loss), fmt(grad[0]), fmt(grad[1]),
      `(${fmt(buffer[0])}, ${fmt(buffer[1])})`]))
  })
  const [bigLoss, big] = lossAndGrad(d.big, w, b, 1.0)
  lines.push(line([`<b>${d.big_row}</b>`, "", fmt(bigLoss), fmt(big[0]), fmt(big[1]), ""]))
  const difference = Math.max(Math.abs(buffer[0] - big[0]), Math.abs(buffer[1] - big[1]))
  const note = average || K === "1" ? fill(d.equal, { d: fmt(difference, 3) }) : fill(d.times, { K })
  view.texts.set(pane, `${head}<tbody>${lines.join("")}</tbody>${tail}` + note)
}
