// "Take a step" where no server is behind the page (the static site): θ ← θ − η·∂L/∂θ on the
// parameters, with the gradients of the page's replay, as components/descent.py StepPanel
// takes it on the server - its words (filled here), its loss history (drawn into its source)
// and its reset. Its buttons send `{action: "descend"}` (or `reset: true`) with the models.

import { fmt } from "./replay.mjs"
import { escape, fill } from "./words.mjs"
// the step, whether it moved anything and the note's choice: graphviz_core/rules.py, the
// server's own, translated
import { descent_step, descent_note, stays } from "./rules.generated.mjs"

export class Descent {
  constructor(view) { this.view = view; this.start = null; this.history = [] }

  handle(data) {
    const v = this.view
    if (!v.scene || !v.result) return
    if (!data.reset) this.step(data)
    else {
      if (this.start) v.setValues(this.start, data.span)
      this.start = null
      this.history = []
    }
    this.show(data)
  }

  step(data) {
    const v = this.view, tape = v.scene.tape
    const values = v.values()
    const loss = () => v.result.value[tape.root]
    if (!this.start) { this.start = values; this.history = [loss()] }
    const eta = +data.rates[data.lr.active]
    const moved = Object.fromEntries(data.parameters.map((name) =>
      [name, descent_step(values[name], eta, v.result.grad[tape.variable[name]])]))
    if (stays(values, moved, data.parameters)) {
      this.history.push(loss())  // a zero gradient: nothing moves
      return
    }
    v.setValues(moved, data.span)
    this.history.push(loss())
  }

  show(data) {
    const w = data.words, h = this.history, last = h[h.length - 1]
    data.source.data = { step: h.map((_, i) => i), loss: h.slice() }
    data.reset_button.disabled = this.start === null
    const text = fill(w[descent_note(data.parameters.length, h)], {
      lr: fmt(+data.rates[data.lr.active]), n: h.length - 1,
      first: h.length ? fmt(h[0]) : "", last: h.length ? fmt(last) : "" })
    data.note.text = escape(`<div class='bpx-hint'>${text}</div>`)
  }
}
