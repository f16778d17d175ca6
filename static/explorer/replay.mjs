// The tape replay: forward and backward exactly as graphviz_core.engine orders them, with the
// engine's own op rules and fault words (ops.generated.mjs, translated from its op table),
// and numbers as text as Python writes them.
// tests/js/replay_tapes.mjs imports this module directly to hold it to the engine.
import { OPS, FAULT_WORDS } from "./ops.generated.mjs"
// what an input receives: graphviz_core/rules.py passed_back, the engine's own, translated
import { passed_back, needs_gradient } from "./rules.generated.mjs"
import { INF, NAN, isfinite_ } from "./ieee.mjs"

export const fin = isfinite_

// why `op` gave the non-finite `out`: as graphviz_core.engine._fault_for says it
function faultFor(op, inputs, out, param) {
  if (inputs.every(fin)) return OPS[op].fault ? OPS[op].fault(inputs, param) : FAULT_WORDS.overflow
  if (out !== out && inputs.every((x) => x === x)) {  // inf - inf, 0 * inf
    const text = OPS[op].text.replace(/\{(\d|p)\}/g, (_, k) => (k === "p" ? fmt(param) : fmt(inputs[+k])))
    return FAULT_WORDS.undefined.replace("{}", text)
  }
  return FAULT_WORDS.non_finite_input
}

// --- the tape: forward and backward, exactly as the Python engine orders them --------------
// A tape is compiled once (the page replays it on every drag frame, 11,586 ops for the
// biggest network): each op's rules looked up, its inputs in one flat index array, the
// leaves' numbers parsed. The replay itself then allocates its result and nothing per op.
const compiled = new WeakMap()

function compile(tape) {
  let c = compiled.get(tape)
  if (c) return c
  const n = tape.op.length
  const start = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) start[i + 1] = start[i] + tape.inputs[i].length
  const inputs = new Int32Array(start[n])
  const rule = new Array(n), leaf = new Float64Array(n), active = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const op = tape.op[i]
    rule[i] = op === "" ? null : OPS[op]
    if (op === "") leaf[i] = num(tape.value[i])
    active[i] = tape.active[i] ? 1 : 0
    inputs.set(tape.inputs[i], start[i])
  }
  // a scratch array per arity: the op rules read their inputs from an array
  const scratch = Array.from({ length: 4 }, (_, k) => new Array(k).fill(0))
  c = { n, start, inputs, rule, leaf, active, scratch }
  compiled.set(tape, c)
  return c
}

// `ins` (scratch, or a fresh copy where a fault needs it) filled with op i's input values
function gather(c, value, i, fresh = false) {
  const s = c.start[i], a = c.start[i + 1] - s
  const ins = fresh || a >= c.scratch.length ? new Array(a) : c.scratch[a]
  for (let j = 0; j < a; j++) ins[j] = value[c.inputs[s + j]]
  return ins
}

export function replay(tape, overrides) {
  const c = compile(tape)
  const { n, start, inputs, rule, active } = c
  const param = tape.param
  const value = new Float64Array(n)
  const fault = new Array(n).fill("")
  const leaf = overrides ? Float64Array.from(c.leaf) : c.leaf  // the leaves, sliders applied
  // the sliders moved (a few), not every variable (a big network's 3,904 weights and biases:
  // walking those was most of a replay)
  if (overrides) for (const name of Object.keys(overrides)) if (Object.hasOwn(tape.variable, name)) leaf[tape.variable[name]] = overrides[name]
  for (let i = 0; i < n; i++) {
    const R = rule[i]
    if (R === null) {
      value[i] = leaf[i]
      if (!fin(value[i])) fault[i] = FAULT_WORDS.not_finite
      continue
    }
    const s = start[i], a = start[i + 1] - s, p = param[i]
    const out = a === 1 ? R.forward(value[inputs[s]], p)
      : a === 2 ? R.forward(value[inputs[s]], value[inputs[s + 1]], p)
        : R.forward(...gather(c, value, i, true), p)
    value[i] = out
    if (!fin(out)) fault[i] = faultFor(tape.op[i], gather(c, value, i, true), out, p)
  }
  // sums start at -0, the identity of IEEE addition (as in the engine); nodes the backward
  // pass does not reach keep 0
  const grad = new Float64Array(n)
  for (let i = 0; i < n; i++) if (active[i]) grad[i] = -0
  // the local derivative of op i with respect to its input slot j: local[start[i] + j]
  const local = new Float64Array(start[n])
  const root = tape.root
  if (n) grad[root] = 1
  let evaluated = 0, skipped = 0, blocked = 0
  for (let i = n - 1; i >= 0; i--) {
    const R = rule[i]
    if (R === null) continue
    const s = start[i], a = start[i + 1] - s
    if (R.blocksGradient && active[i]) { blocked += 1; continue }  // its locals stay 0
    const loc = R.local(gather(c, value, i), value[i], param[i])
    for (let j = 0; j < a; j++) local[s + j] = loc[j]
    if (!active[i]) { skipped += a; continue }
    const g = grad[i]
    for (let j = 0; j < a; j++) {
      const u = inputs[s + j]
      if (active[u]) { evaluated += 1; grad[u] += passed_back(R.selects, g, loc[j]) } else skipped += 1
    }
  }
  // a gradient that is not finite where its value is (0 * sqrt(x) at x = 0) is a fault too
  const gradFault = new Array(n).fill("")
  for (let i = 0; i < n; i++)
    if (active[i] && !fin(grad[i])) gradFault[i] = grad[i] !== grad[i] ? FAULT_WORDS.grad_nan : FAULT_WORDS.grad_inf
  return new Result(c, value, grad, local, fault, gradFault, evaluated, skipped, blocked)
}

// What replay() computes. `local(v, slot)`: the local derivative of tape entry v with
// respect to its input `slot` (0 for a leaf); `locals`: the same as one array per entry
// (null for a leaf), made when asked for.
class Result {
  constructor(c, value, grad, local, fault, gradFault, evaluated, skipped, blocked) {
    this.compiled = c
    this.value = value; this.grad = grad; this.localFlat = local
    this.fault = fault; this.gradFault = gradFault
    this.evaluated = evaluated; this.skipped = skipped; this.blocked = blocked
  }

  local(v, slot) {
    const s = this.compiled.start
    return v >= 0 && v < this.compiled.n && slot < s[v + 1] - s[v] ? this.localFlat[s[v] + slot] : 0
  }

  get locals() {
    const { start, rule, n } = this.compiled
    return Array.from({ length: n }, (_, i) => (rule[i] === null ? null : Array.from(this.localFlat.subarray(start[i], start[i + 1]))))
  }
}

// The tape's `active` flags (1 where the backward pass computes a gradient) with the variables
// `off` (names) switched to requires_grad=False and every other variable requiring one: as
// graphviz_core.engine.active_nodes decides, with its rule (rules.py needs_gradient) - a node
// needs a gradient when one of its inputs does, and is active when it also reaches the root
// along a path with no stop-gradient before its end.
export function activeFlags(tape, off) {
  const n = tape.op.length, needs = new Array(n), live = new Uint8Array(n)
  const requires = new Set()
  for (const [name, i] of Object.entries(tape.variable)) if (!off.has(name)) requires.add(i)
  for (let i = 0; i < n; i++) needs[i] = needs_gradient(requires.has(i), tape.inputs[i], needs)
  if (n) live[tape.root] = 1
  for (let i = n - 1; i >= 0; i--)
    if (live[i] && !blocksGradient(tape.op[i])) for (const j of tape.inputs[i]) live[j] = 1
  return Array.from({ length: n }, (_, i) => (needs[i] && live[i] ? 1 : 0))
}

// the backward steps a pass pruned to the `active` nodes keeps, of the steps `backward` of every
// node; `shows`: the tape entry each drawn node shows (a grouped drawing), if any. An active
// node's active inputs depend on no switch, so its step and terms are the same.
export const prunedSteps = (backward, active, shows) => backward.filter((s) => active[shows ? shows[s.node] : s.node])

// what an input receives through `op`: graphviz_core.engine.contribution (rules.py passed_back)
export const contribution = (op, grad, local) => passed_back(OPS[op].selects, grad, local)

// a stop-gradient passes no gradient back: the engine's Op.blocks_gradient
export const blocksGradient = (op) => op !== "" && OPS[op].blocksGradient

// --- numbers as text: Python's format(x, ".4g") ---------------------------------------------
export function num(x) {
  if (typeof x === "string") return x === "nan" ? NAN : x === "inf" ? INF : x === "-inf" ? -INF : Number(x)
  return x
}

export function fmt(x, digits = 4) {
  if (x !== x) return "nan"
  if (x === INF) return "inf"
  if (x === -INF) return "-inf"
  if (x === 0) return "0"
  const rounded = roundSignificant(x, digits)  // round first: 9999.6 -> 1.000e4
  const exponent = Math.floor(Math.log10(Math.abs(rounded)))
  let text
  if (exponent < -4 || exponent >= digits) {
    let [m, e] = rounded.toExponential(digits - 1).split("e")
    if (m.includes(".")) m = m.replace(/0+$/, "").replace(/\.$/, "")
    text = `${m}e${parseInt(e, 10)}`
  } else {
    text = rounded.toFixed(Math.max(0, digits - 1 - exponent))
    if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "")
  }
  return text === "-0" ? "0" : text
}

// x to `digits` significant digits as Python rounds: a tie (1234.5 to 4 digits, exact in
// binary) goes to the even digit, where toPrecision rounds it up
function roundSignificant(x, digits) {
  // Only a number whose first dropped digits read "50" (rounded to one digit more) can be
  // a tie; the exact expansion, costly, is looked at for those alone (fmt runs for every
  // number drawn, every frame).
  const near = Math.abs(x).toExponential(digits + 1)  // "d.ddddd e+x": digit k at k + (k > 0)
  if (near[digits + 1] !== "5" || near[digits + 2] !== "0") return Number(x.toPrecision(digits))
  const [m, e] = Math.abs(x).toExponential(99).split("e")  // exact enough to see a tie
  const d = m.replace(".", "")
  if (d[digits] === "5" && /^0*$/.test(d.slice(digits + 1)) && +d[digits - 1] % 2 === 0)
    return Math.sign(x) * Number(`${d[0]}.${d.slice(1, digits)}e${e}`)
  return Number(x.toPrecision(digits))
}

export const paren = (x, digits = 4) => { const t = fmt(x, digits); return t.startsWith("-") ? `(${t})` : t }
