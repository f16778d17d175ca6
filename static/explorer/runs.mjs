// A lesson's gradient-descent runs where no server is behind the page (the static site):
// loss-value's descent on L and on L + C from the sliders' (w, b), replaying the tape of the
// loss graphviz_core.training.regression_loss differentiates (the same numbers), and what the
// lesson draws and writes from the runs (components/lessons/loss_value.py runs_config: its
// sources, spans, notes and words). Written again at every redraw of the lesson's graph.
// loss-matters' runs (static/explorer/matters.mjs) are the same descent, with a scheduler.

import { replay, fmt } from "./replay.mjs"
import { modelWithClass } from "./bokeh.mjs"
import { fill } from "./words.mjs"
// the step, the plateau scheduler and the stopping rule: graphviz_core/rules.py, the server's own, translated
import { descent_step, plateau_step, stopping } from "./rules.generated.mjs"

// graphviz_core.training.gradient_descent, for (w, b) at rate lr on L + C; with `plateau`
// ({factor, patience, threshold}) a fresh PlateauScheduler reads each loss (rules.py
// plateau_step, the server's rule) and sets each step's rate: `lrs`, the steps it cut at
// (`cuts`) and its `best` loss after the run
export function descend(tape, start, lr, steps, C, plateau = null) {
  const root = tape.root, w = tape.variable.w, b = tape.variable.b
  let theta = start.slice(), r = replay(tape, { w: theta[0], b: theta[1], C })
  const params = [theta], losses = [r.value[root]], lrs = [], cuts = []
  let best = null, bad = 0, scale = 1.0
  for (let step = 0; step < steps; step++) {
    if (plateau) {
      let cut
      [best, bad, cut] = plateau_step(best, bad, losses[step], plateau.patience, plateau.threshold)
      if (cut) { scale *= plateau.factor; cuts.push(step) }
    }
    const rate = plateau ? lr * scale : lr
    lrs.push(rate)
    theta = [descent_step(theta[0], rate, r.grad[w]), descent_step(theta[1], rate, r.grad[b])]
    r = replay(tape, { w: theta[0], b: theta[1], C })
    params.push(theta)
    losses.push(r.value[root])
  }
  return { params, losses, lrs, cuts, best }
}

// components/lessons/common.py stop_phrase: the rule's answer in the page's words
export function stopPhrase(losses, tau, words, C) {
  const [step, key, n, low] = stopping(losses, tau, C)
  return [step, fill(words[key], { step, C: fmt(C), n, low: fmt(low) })]
}

export function writeRuns(view, d) {
  const a = view.args, doc = a.meta.document, tape = view.scene.tape
  const lr = modelWithClass(doc, d.lr), tau = modelWithClass(doc, d.tau)
  if (!lr || !tau) return
  const value = (name) => view.result.value[tape.variable[name]]
  const start = [value("w"), value("b")], C = value("C"), t = tau.value
  const runs = { L: descend(d.tape, start, lr.value, d.steps, 0), LC: descend(d.tape, start, lr.value, d.steps, C) }
  const callout = (kind, text) => d.callout[kind].replace("\u27ea\u27eb", text)
  let largest = 0
  runs.L.params.forEach((p, i) => { for (const k of [0, 1]) largest = Math.max(largest, Math.abs(p[k] - runs.LC.params[i][k])) })
  const equal = runs.L.params.every((p, i) => p[0] === runs.LC.params[i][0] && p[1] === runs.LC.params[i][1])
  view.texts.set(a.runs_equal, equal ? callout("same", d.words.equal.replace("{n}", runs.L.params.length))
    : callout("differ", d.words.unequal.replace("{d}", fmt(largest))))
  a.runs_start.data = { w: [start[0]], b: [start[1]] }
  const stops = {}, phrases = {}
  for (const key of ["L", "LC"]) {
    const run = runs[key]
    a[`runs_path_${key}`].data = { w: run.params.map((p) => p[0]), b: run.params.map((p) => p[1]) }
    a[`runs_curve_${key}`].data = { step: run.losses.map((_, i) => i), loss: run.losses }
    const [stop, phrase] = stopPhrase(run.losses, t, d.words.stopping, key === "LC" ? C : 0)
    stops[key] = stop
    phrases[key] = phrase
    a[`runs_stop_${key}`].data = stop === null ? { step: [], loss: [] } : { step: [stop], loss: [run.losses[stop]] }
    a[`runs_span_${key}`].location = t
  }
  view.texts.set(a.runs_stop, callout(stops.L !== stops.LC ? "differ" : "same",
    d.words.stop.replace("{tau}", fmt(t)).replace("{a}", phrases.L).replace("{b}", phrases.LC)))
}
