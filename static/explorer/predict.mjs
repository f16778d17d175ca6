// Predict, then reveal: the backward pass a step at a time, each step's gradient typed by the
// student before it shows. The expected number is the replay's (the engine's tape), the
// check happens here, the explanation is the chain rule with the step's numbers, and the
// score stays with the view until ↺ Start or a new graph.

import { fmt, paren } from "./replay.mjs"
import { T, fill } from "./words.mjs"
import { edgeIndex, edgeContribution, local, lossName, shownGrad } from "./reading.mjs"

// a guess is right within max(ABSOLUTE, RELATIVE * |expected|): a student rounds to a
// couple of digits, and the tolerance is shown with every question
export const ABSOLUTE = 0.01
export const RELATIVE = 0.01

export function tolerance(expected) { return Math.max(ABSOLUTE, RELATIVE * Math.abs(expected)) }

// typed text -> number (NaN when it is not one): full-width digits and the minus sign of
// a slide are read as ASCII, "a/b" as a fraction, "inf" and "nan" as themselves
export function readNumber(text) {
  const s = String(text || "").normalize("NFKC").replace(/[\u2212\u2013]/g, "-").replace(/\s+/g, "").toLowerCase()
  const number = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/
  if (number.test(s)) return Number(s)
  const [a, b, ...rest] = s.split("/")
  if (b !== undefined && !rest.length && number.test(a) && number.test(b)) return Number(a) / Number(b)
  const special = { inf: Infinity, "+inf": Infinity, "-inf": -Infinity, "∞": Infinity, "-∞": -Infinity, nan: NaN }
  return s in special ? special[s] : NaN
}

export function isRight(guess, expected) {
  if (!Number.isFinite(expected)) return Object.is(guess, expected) || (guess !== guess && expected !== expected)
  return Number.isFinite(guess) && Math.abs(guess - expected) <= tolerance(expected)
}

export class Quiz {
  constructor(view) {
    this.view = view
    this.start()
  }

  start() {
    this.position = 0  // the step asked now; the steps before it are revealed
    this.right = 0
    this.tried = 0
    this.verdict = ""  // the last check, as HTML
    this.shape = ""
  }

  // a fresh quiz of `scene`'s graph: a later scene of the same graph keeps its answers (the
  // mode switch redraws at once; the server's scene for the new mode may come after the
  // student's first answer)
  begin(scene) {
    this.start()
    this.adopt(scene)
  }

  // keep the score through a new scene of the same graph (a slider's release), start again
  // on another graph
  adopt(scene) {
    const shape = `${scene.tape.op.length}|${(scene.steps.backward || []).length}|${scene.nodes.id.join(",")}`
    if (shape !== this.shape) this.start()
    this.shape = shape
  }

  steps() { const sc = this.view.scene; return sc ? sc.steps.backward || [] : [] }

  current() { return this.steps()[this.position] || null }

  done() { return this.position >= this.steps().length }

  // the nodes whose gradients are on screen: those of the steps already revealed
  seen() {
    const seen = new Set(), steps = this.steps()
    for (let k = 0; k < this.position && k < steps.length; k++) steps[k].nodes.forEach((n) => seen.add(n))
    return seen
  }

  // the step revealed last, lit on the figure
  revealed() { return this.position > 0 ? this.steps()[this.position - 1] || null : null }

  // the number the step computes: a node's gradient, or what a stop-gradient passes back (0)
  expected(s) {
    const sc = this.view.scene, r = this.view.result
    if (s.kind === "blocked") return edgeContribution(sc, r, edgeIndex(sc, ...s.edges[0]))
    return shownGrad(sc, r, s.node)
  }

  toleranceText(s) {
    const x = this.expected(s)
    return Number.isFinite(x) ? fill(T.predict.within, { tol: fmt(tolerance(x), 2) }) : T.predict.exact
  }

  // the question on screen, with the step counter
  question() {
    const sc = this.view.scene, steps = this.steps(), s = this.current()
    if (!steps.length) return { html: T.predict.nothing, counter: "" }
    const score = this.tried ? ` · ${fill(T.predict.score, { right: this.right, tried: this.tried })}` : ""
    if (!s) return { html: fill(T.predict.done, { n: steps.length, right: this.right }), counter: T.count(steps.length) + score }
    const N = sc.nodes, loss = lossName(sc), k = this.position + 1
    const words = { k, n: steps.length, loss, name: N.name[s.node], tolerance: this.toleranceText(s) }
    const text = s.kind === "blocked" ? fill(T.predict.question_blocked, { ...words, parent: N.name[s.edges[0][0]] })
      : fill(T.predict.question, words)
    return { html: text, counter: T.step(k, steps.length) + score }
  }

  // the student typed `text` for the current step: check it, explain, reveal, move on
  check(text) {
    const s = this.current()
    if (!s || String(text || "").trim() === "") return null
    const guess = readNumber(text)
    if (guess !== guess && !/nan/i.test(String(text))) return { html: T.predict.not_number, said: T.predict.not_number, counted: false }
    const expected = this.expected(s)
    const ok = isRight(guess, expected)
    this.tried += 1
    if (ok) this.right += 1
    const sc = this.view.scene, loss = lossName(sc), name = sc.nodes.name[s.node]
    const head = fill(ok ? T.predict.right : T.predict.wrong, { loss, name, expected: fmt(expected, 6), guess: String(text).trim() })
    const why = this.explain(s)
    this.position += 1
    const score = fill(T.predict.score, { right: this.right, tried: this.tried })
    const next = this.done() ? fill(T.predict.done, { n: this.steps().length, right: this.right }) : ""
    this.verdict = `<div class="bpx-verdict-${ok ? "right" : "wrong"}">${head}</div><div>${why}</div><div class="bpx-score">${score}</div>`
    return { html: this.verdict, said: [head, why, score, next || this.question().html].join(" "), counted: true, ok }
  }

  // the chain rule of step s with its numbers: incoming gradient × local derivative, per path
  explain(s) {
    const sc = this.view.scene, r = this.view.result, N = sc.nodes, loss = lossName(sc)
    const name = N.name[s.node]
    if (s.kind === "seed") return fill(T.predict.seed, { loss })
    if (s.kind === "blocked")
      return fill(T.predict.blocked, { loss, name, parent: N.name[s.edges[0][0]], grad: paren(shownGrad(sc, r, s.node)) })
    const symbols = [], numbers = []
    for (const [u, v, slot] of s.edges) {
      const k = edgeIndex(sc, u, v, slot)
      const out = N.name[v], grad = shownGrad(sc, r, v)
      const via = sc.edges.via && sc.edges.via[k]
      // a drawn edge into a closed group stands for several traced edges: its contribution alone
      const loc = !via ? local(r, v, slot) : via.length === 1 ? local(r, via[0][0], via[0][1]) : null
      symbols.push(`∂${loss}/∂${out} × ∂${out}/∂${name}`)
      numbers.push(loc === null ? paren(edgeContribution(sc, r, k)) : `${paren(grad)} × ${paren(loc)}`)
    }
    const total = fmt(shownGrad(sc, r, s.node), 6)
    return fill(s.kind === "sum" ? T.predict.sum : T.predict.chain,
                { loss, name, symbols: symbols.join(" + "), numbers: numbers.join(" + "), total })
  }
}
