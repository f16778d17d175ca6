// loss-matters' runs where no server is behind the page (the static site): gradient descent
// on L and on L + C - plain, and with a plateau scheduler - replayed from the tape of the
// loss graphviz_core.training.regression_loss differentiates (static/explorer/runs.mjs
// descend: the server's step and scheduler rules, graphviz_core/rules.py), and the monitoring
// curves, the learning rates, the fits and the schedule and stopping notes written as
// components/lessons/loss_matters.py _update writes them, from its templates (its words
// with their {placeholders}, wrapped as the server wraps them). The entry of a module of its
// own (components/bundle.py entry_code): every run settings slider's callback calls it with
// the sliders and the three notes' models; `args` holds the curves' sources and the config.

import { fmt } from "./replay.mjs"
import { escape, fill } from "./words.mjs"
import { descend, stopPhrase } from "./runs.mjs"

const range = (n) => Array.from({ length: n }, (_, i) => i)

// Panel's HTML pane shows its text unescaped once (components/states.py _value)
function setHtml(pane, html) {
  const text = escape(html)
  if (pane && pane.text !== text) pane.text = text
}

export default function (args, obj, data = {}) {
  const holder = args.config
  if (!holder._bpx_config) holder._bpx_config = JSON.parse(holder.data.json[0])
  const d = holder._bpx_config, w = d.words
  const lr = data.lr.value, C = data.C.value, tau = data.tau.value
  const plateau = { factor: d.factor, patience: data.patience.value, threshold: data.rel.value }
  const shifts = { L: 0.0, LC: C }
  const plain = {}, sched = {}, fits = {}
  for (const key of ["L", "LC"]) {
    plain[key] = descend(d.tape, d.start, lr, d.steps, shifts[key])
    sched[key] = descend(d.tape, d.start, lr, d.steps, shifts[key], plateau)
    args[`mon_${key}`].data = { step: range(d.steps + 1), y: plain[key].losses }
    const run = sched[key]
    args[`lr_${key}`].data = { step: range(run.lrs.length), y: run.lrs }
    fits[key] = run.losses.map((loss) => loss - shifts[key])
    args[`fit_${key}`].data = { step: range(fits[key].length), y: fits[key].map((f) => Math.max(f, 1e-12)) }
  }
  const cuts = (run) => run.cuts.length === 0 ? w.cut_never : fill(w.cut_at, {
    steps: run.cuts.slice(0, 6).join(", ") + (run.cuts.length > 6 ? " \u2026" : "") })
  setHtml(data.sched_text, fill(d.html.sched_text, { rel: fmt(plateau.threshold, 3),
    patience: plateau.patience, bar: fmt(sched.LC.best * plateau.threshold, 3) }))
  setHtml(data.sched_note, fill(d.html.sched_note, { a: cuts(sched.L), b: cuts(sched.LC), n: d.steps,
    fa: fmt(fits.L[fits.L.length - 1]), fb: fmt(fits.LC[fits.LC.length - 1]) }))
  const [a, aText] = stopPhrase(plain.L.losses, tau, d.stopping, 0.0)
  const [b, bText] = stopPhrase(plain.LC.losses, tau, d.stopping, C)
  setHtml(data.stop_note, fill(d.html.stop[a !== b ? "differ" : "same"], { tau: fmt(tau), a: aText, b: bText }))
}
