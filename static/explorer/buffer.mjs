// PyTorch's .grad buffer where no server is behind the page (the static site): backward()
// adds the replay's gradients of the parameters, zero_grad() clears them, as
// graphviz_core.accumulation.GradBuffer does on the server. What the buffer shows is the
// accumulation lesson's template (components/lessons/accumulation.py buffer_template),
// written again at every redraw: its "now" column and its note follow the sliders. The page
// carries it in the view's texts (`texts.buffer`, components/texts.py attach), with the CSS
// class of the pane that shows it.

import { fmt } from "./replay.mjs"
import { modelWithClass } from "./bokeh.mjs"
// what backward() adds and the note's choice: graphviz_core/rules.py, the server's own, translated
import { accumulated, buffer_note } from "./rules.generated.mjs"

// what a backward() call saw: the values, and whether each parameter's gradient was computed
// (AccumulationLesson.state on the server)
function state(view, d) {
  const tape = view.scene.tape, now = view.values()
  for (const name of d.parameters) now[`requires_grad ${name}`] = Boolean(tape.active[tape.variable[name]])
  return now
}

export class GradBuffer {
  constructor() { this.grad = {}; this.calls = 0; this.seen = [] }

  // a click on backward() or zero_grad() (`data.zero`)
  handle(view, data) {
    const d = view.args.texts && view.args.texts.buffer
    if (!d || !view.scene || !view.result) return
    if (data.zero) {
      for (const name of Object.keys(this.grad)) this.grad[name] = null
      this.calls = 0
      this.seen = []
    } else {
      const tape = view.scene.tape
      for (const name of d.parameters) {  // a switched-off leaf's gradient: not computed (null)
        const n = tape.variable[name]
        this.grad[name] = accumulated(this.grad[name] ?? null, tape.active[n] ? view.result.grad[n] : null)
      }
      this.calls += 1
      this.seen.push(state(view, d))
    }
    this.write(view)
  }

  write(view) {
    const d = view.args.texts && view.args.texts.buffer
    if (!d || !view.scene || !view.result) return
    const now = state(view, d), n = this.calls
    const note = d.notes[buffer_note(n, this.seen, now, Object.keys(now))]
    const cells = d.parameters.map((name) => this.grad[name] === null || this.grad[name] === undefined
      ? d.none : d.some.replace("{}", fmt(this.grad[name])))
    const html = d.template.replace(/\u27e8B\|(\d+)\u27e9/g, (_, i) => cells[+i]).replace("\u27e8N\u27e9", note.replaceAll("{n}", n))
    if (!this.pane) this.pane = modelWithClass(view.args.meta.document, d.css)
    view.texts.set(this.pane, view.texts.fill(html, view))
  }
}
