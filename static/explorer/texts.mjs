// The explorer's texts the server writes - the selected node's details and the written-out
// passes - written by the page itself where no server is behind it (the static site,
// components/site.py). The site's page carries the templates the server fills
// (components/texts.py: the same words, the numbers as placeholders); here they are filled
// from the tape replay after every slider move, mode switch and tap on a node.

import { replay, fmt, contribution } from "./replay.mjs"
import { fillNumbers } from "./reading.mjs"
import { escape, faultText } from "./words.mjs"
import { modelWithClass } from "./bokeh.mjs"
import { writeRuns } from "./runs.mjs"
import { writeMicro } from "./micro.mjs"
// the gradient check: graphviz_core/rules.py central and agrees, the server's own, translated
import { agrees, central } from "./rules.generated.mjs"


// graphviz_core.pytorch.literal: what Python's repr writes (the shortest digits that read
// back as the same float, in exponent form below 1e-4 and from 1e16)
export function literal(x) {
  if (!Number.isFinite(x)) return x !== x ? "float('nan')" : x > 0 ? "float('inf')" : "float('-inf')"
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  const [mantissa, e] = x.toExponential().split("e"), exponent = +e
  if (exponent < -4 || exponent >= 16)
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`
  const text = String(x)
  return text.includes(".") ? text : text + ".0"
}


// what depends on which nodes the backward pass computes, as components/texts.py
// _with_active writes it: ⟨?n⟩A⟨:⟩B⟨;⟩ (A where node n is active), the counts ⟨#e⟩ ⟨#s⟩ and
// the pruned nodes' words ⟨#p|constants|one|many⟩
export function withActive(template, tape, r) {
  if (template.includes("\u27e8?"))
    template = template.replace(/\u27e8\?(\d+)\u27e9([\s\S]*?)\u27e8:\u27e9([\s\S]*?)\u27e8;\u27e9/g, (_, n, yes, no) => (tape.active[+n] ? yes : no))
  if (template.includes("\u27e8#")) {
    const inactive = tape.active.reduce((k, a) => k + (a ? 0 : 1), 0)
    template = template.replace(/\u27e8#e\u27e9/g, String(r.evaluated)).replace(/\u27e8#s\u27e9/g, String(r.skipped))
      .replace(/\u27e8#p\|(\d+)\|([^|\u27e9]*)\|([^|\u27e9]*)\u27e9/g, (_, c, one, many) => {
        const n = inactive - +c
        return n <= 0 ? "" : n === 1 ? one : many.replaceAll("#", String(n))
      })
  }
  return template
}

export class Texts {
  constructor() { this.last = new Map(); this.panes = null }

  // the details of the node selected in the drawing and both passes, for the view's numbers
  write(view) {
    const a = view.args, texts = a.texts
    if (!texts || !view.scene || !view.result) return
    const fill = (template) => this.fill(template, view)
    const d = view.levelDetails || texts.details, picked = a.nodes.selected.indices  // levels.mjs
    if (d) {
      const i = picked && picked.length ? picked[0] : -1
      const details = (view.predicting ? d.hidden : d.shown)[i]
      this.set(a.details, details ? fill(details) : d.hint)
    }
    if (texts.passes) {
      this.set(a.forward, fill(texts.passes.forward))
      this.set(a.backward, fill(texts.passes.backward))
      // they show every gradient: not while the student predicts them (as the server hides them)
      for (const div of [a.forward, a.backward]) if (div && div.visible === view.predicting) div.visible = !view.predicting
    }
    // a lesson's panes: the one model of the page carrying each css class
    const panes = texts.panes || []
    if (panes.length && !this.panes) this.panes = panes.map(([css]) => modelWithClass(a.meta.document, css))
    panes.forEach(([, template, variants, choices], k) => {
      const text = variants ? this.variants(template, view, variants, choices) : template
      if (text !== null) this.set(this.panes[k], fill(text))
    })
    if (texts.runs) writeRuns(view, texts.runs)  // a lesson's descent runs (runs.mjs)
    if (texts.micro) writeMicro(view, texts.micro)  // accumulation's micro-batches (micro.mjs)
  }

  // a lesson's variants: the page's graph with some variables pinned, another graph of the
  // page as its view last drew it, or another tape (another expression) replayed at the
  // page's values (components/texts.py); null while that view has drawn nothing
  variants(template, view, variants, choices) {
    const results = variants.map((pinned) => {
      if (pinned.tape) return replay(pinned.tape, view.values())  // another graph, these values
      if (!pinned.view) return replay(view.scene.tape, { ...view.overrides, ...pinned })
      const other = view.args[pinned.view] && view.args[pinned.view]._bpx_view
      return other && other.result
    })
    if (!results.every(Boolean)) return null
    const of = (kind, n, i) => (kind === "g" ? results[+i].grad : results[+i].value)[+n]
    const choose = /\u27e8s\|([vg])(\d+)@(\d+)([<=])([vg])(\d+)@(\d+)\|(\d+)\u27e9/g
    while (choose.test(template)) {  // a choice may hold choices
      choose.lastIndex = 0
      template = template.replace(choose, (_, ka, a, i, op, kb, b, j, k) => {
        const x = of(ka, a, i), y = of(kb, b, j)
        return choices[+k][(op === "<" ? x < y : x === y) ? 0 : 1]
      })
    }
    return template
      .replace(/\u27e8([vg])\|(\d+)@(\d+)(?:~(\d+))?\u27e9/g, (_, kind, n, i, digits) =>
        fmt(of(kind, n, i), digits ? +digits : 4))
      .replace(/\u27e8q\|(\d+)\|(\d+(?:,\d+)*)\|(\d+)\u27e9/g, (_, i, nodes, j) =>
        choices[+j][nodes.split(",").every((n) => results[+i].grad[+n] === results[0].grad[+n]) ? 0 : 1])
  }

  fill(template, view) {
    const r = view.result, tape = view.scene.tape, passes = view.args.texts.passes, check = passes && passes.check
    template = withActive(template, tape, r)
    let names = null, differences = {}
    const difference = (n) => {
      if (!(n in differences)) {
        names = names || Object.fromEntries(Object.entries(tape.variable).map(([k, v]) => [v, k]))
        const name = names[n], at = name in view.overrides ? view.overrides[name] : r.value[n]
        const shifted = (dx) => replay(tape, { ...view.overrides, [name]: at + dx }).value[tape.root]
        // graphviz_core.gradcheck.central_difference (x - h written x + -h: the same float)
        differences[n] = central(shifted(check.h), shifted(-check.h), check.h)
      }
      return differences[n]
    }
    const own = template.replace(/\u27e8(p?)([fcakr])\|(\d+)(?:\|(\d+))?(?:~(\d+))?\u27e9/g, (_, p, kind, n, slot, digits) => {
      n = +n
      if (kind === "r") return literal(r.value[n])
      if (kind === "k") {  // graphviz_core.engine.contribution
        const text = fmt(contribution(tape.op[n], r.grad[n], r.local(n, +slot)), digits ? +digits : 4)
        return p && text.startsWith("-") ? `(${text})` : text
      }
      if (kind === "f") {
        const fault = r.fault[n] || r.gradFault[n]
        return fault ? view.args.texts.details.fault.replace("{}", escape(faultText(fault))) : ""
      }
      if (kind === "c") return fmt(difference(n), digits ? +digits : 4)
      return agrees(r.grad[n], difference(n)) ? check.agree : check.differ
    })
    return fillNumbers(r, own)
  }

  set(div, html) {
    if (!div) return
    const text = escape(html)
    if (this.last.get(div) === text) return
    this.last.set(div, text)
    if (div.text !== text) div.setv({ text })
  }
}
