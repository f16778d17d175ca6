// The tape replay: forward and backward exactly as graphviz_core.engine orders them, with the
// engine's own op rules and fault words (ops.generated.mjs, translated from its op table),
// and numbers as text as Python writes them.
// tests/js/replay_tapes.mjs imports this module directly to hold it to the engine.
import { OPS, FAULT_WORDS } from "./ops.generated.mjs"
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
export function replay(tape, overrides) {
  const n = tape.op.length
  const value = new Float64Array(n)
  const fault = new Array(n).fill("")
  const driven = new Map()  // leaf index -> the value its slider now holds
  for (const [name, i] of Object.entries(tape.variable)) if (overrides && name in overrides) driven.set(i, overrides[name])
  for (let i = 0; i < n; i++) {
    const op = tape.op[i]
    if (op === "") {
      value[i] = driven.has(i) ? driven.get(i) : num(tape.value[i])
      if (!fin(value[i])) fault[i] = FAULT_WORDS.not_finite
      continue
    }
    const ins = tape.inputs[i].map((j) => value[j])
    const out = OPS[op].forward(...ins, tape.param[i])
    value[i] = out
    if (!fin(out)) fault[i] = faultFor(op, ins, out, tape.param[i])
  }
  // sums start at -0, the identity of IEEE addition (as in the engine); nodes the backward
  // pass does not reach keep 0
  const grad = new Float64Array(n)
  for (let i = 0; i < n; i++) if (tape.active[i]) grad[i] = -0
  const locals = new Array(n)
  const root = tape.root
  if (n) grad[root] = 1
  let evaluated = 0, skipped = 0, blocked = 0
  for (let i = n - 1; i >= 0; i--) {
    const op = tape.op[i]
    if (op === "") continue
    const inputs = tape.inputs[i]
    const ins = inputs.map((j) => value[j])
    if (!tape.active[i]) { skipped += inputs.length; locals[i] = OPS[op].local(ins, value[i], tape.param[i]); continue }
    if (OPS[op].blocksGradient) { blocked += 1; locals[i] = inputs.map(() => 0); continue }
    const loc = OPS[op].local(ins, value[i], tape.param[i])
    locals[i] = loc
    const g = grad[i]
    for (let s = 0; s < inputs.length; s++) {
      if (tape.active[inputs[s]]) { evaluated += 1; grad[inputs[s]] += contribution(op, g, loc[s]) } else skipped += 1
    }
  }
  // a gradient that is not finite where its value is (0 * sqrt(x) at x = 0) is a fault too
  const gradFault = new Array(n).fill("")
  for (let i = 0; i < n; i++)
    if (tape.active[i] && !fin(grad[i])) gradFault[i] = grad[i] !== grad[i] ? FAULT_WORDS.grad_nan : FAULT_WORDS.grad_inf
  return { value, grad, locals, fault, gradFault, evaluated, skipped, blocked }
}

// what an input receives through `op`: graphviz_core.engine.contribution
export const contribution = (op, grad, local) => (OPS[op].selects && local === 0 ? 0 : grad * local)

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

export const paren = (x) => { const t = fmt(x); return t.startsWith("-") ? `(${t})` : t }
