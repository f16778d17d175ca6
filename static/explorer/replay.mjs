// The op rules and the tape replay: a mirror of graphviz_core.engine, forward and backward
// exactly as the Python engine orders them, and numbers as text as Python writes them.
// tests/js/replay_tapes.mjs imports this module directly to hold it to the engine.

// --- the op rules: a mirror of graphviz_core.engine.OPS ------------------------------
const INF = Infinity, NAN = NaN
export const fin = (x) => x - x === 0
const div = (a, b) => a / b  // IEEE in JS already: 1/0 = inf, 0/0 = nan
const pow = (a, p) => {
  if (a < 0 && fin(p) && p !== Math.floor(p)) return NAN
  return Math.pow(a, p)
}
const log = (a) => (a > 0 ? Math.log(a) : a === 0 ? -INF : NAN)
const sigmoid = (a) => (a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a)))
const relu = (a) => (a > 0 || a !== a ? a : 0)

export const OPS = {
  add: { f: (a, b) => a + b, d: () => [1, 1] },
  sub: { f: (a, b) => a - b, d: () => [1, -1] },
  mul: { f: (a, b) => a * b, d: (x) => [x[1], x[0]] },
  div: { f: div, d: (x) => [div(1, x[1]), div(-x[0], x[1] * x[1])] },
  neg: { f: (a) => -a, d: () => [-1] },
  pow: { f: (a, p) => pow(a, p), d: (x, out, p) => [p === 0 ? 0 : p * pow(x[0], p - 1)] },
  powv: {
    f: (a, b) => pow(a, b),
    d: (x, out) => [x[1] === 0 ? 0 : x[1] * pow(x[0], x[1] - 1),
                    out === 0 && x[0] === 0 ? 0 : out * log(x[0])],
  },
  exp: { f: (a) => Math.exp(a), d: (x, out) => [out] },
  log: { f: log, d: (x) => [div(1, x[0])] },
  sqrt: { f: (a) => (a >= 0 ? Math.sqrt(a) : NAN), d: (x, out) => [div(0.5, out)] },
  tanh: { f: (a) => Math.tanh(a), d: (x, out) => [1 - out * out] },
  sigmoid: { f: sigmoid, d: (x, out) => [out * (1 - out)] },
  relu: { f: relu, d: (x) => [x[0] > 0 ? 1 : 0] },
  abs: { f: (a) => Math.abs(a), d: (x) => [x[0] > 0 ? 1 : x[0] < 0 ? -1 : 0] },
  sin: { f: (a) => (fin(a) ? Math.sin(a) : NAN), d: (x) => [fin(x[0]) ? Math.cos(x[0]) : NAN] },
  cos: { f: (a) => (fin(a) ? Math.cos(a) : NAN), d: (x) => [fin(x[0]) ? -Math.sin(x[0]) : NAN] },
  min: { f: (a, b) => (a <= b || a !== a ? a : b <= a || b !== b ? b : NAN), d: (x) => (x[0] <= x[1] ? [1, 0] : [0, 1]) },
  max: { f: (a, b) => (a >= b || a !== a ? a : b >= a || b !== b ? b : NAN), d: (x) => (x[0] >= x[1] ? [1, 0] : [0, 1]) },
  clip: {
    f: (v, lo, hi) => (v < lo ? lo : v > hi ? hi : v),
    d: (x) => (x[0] < x[1] ? [0, 1, 0] : x[0] > x[2] ? [0, 0, 1] : [1, 0, 0]),
  },
  sg: { f: (a) => a, d: () => [0] },
}

const DOMAIN_FAULTS = {
  log: (x) => (x[0] < 0 ? "log of a negative number" : "log of zero"),
  sqrt: () => "square root of a negative number",
  div: (x) => (x[1] === 0 ? "division by zero" : "overflow"),
  pow: (x) => (x[0] < 0 ? "negative base to a fractional power" : x[0] === 0 ? "zero to a negative power" : "overflow"),
  powv: (x) => (x[0] < 0 ? "negative base to a fractional power" : x[0] === 0 ? "zero to a negative power" : "overflow"),
}

// how each op reads as text, as in OPS[...].text of the Python engine
const TEXT = {
  add: "{0} + {1}", sub: "{0} - {1}", mul: "{0} * {1}", div: "{0} / {1}", neg: "-{0}",
  pow: "{0}**{p}", powv: "{0}**{1}", exp: "exp({0})", log: "log({0})", sqrt: "sqrt({0})",
  tanh: "tanh({0})", sigmoid: "sigmoid({0})", relu: "relu({0})", abs: "abs({0})", sin: "sin({0})",
  cos: "cos({0})", min: "min({0}, {1})", max: "max({0}, {1})", clip: "clip({0}, {1}, {2})", sg: "sg({0})",
}

function faultFor(op, inputs, out, param) {
  if (fin(out)) return ""
  if (inputs.every(fin)) return DOMAIN_FAULTS[op] ? DOMAIN_FAULTS[op](inputs) : "overflow"
  if (out !== out && inputs.every((x) => x === x)) {  // inf - inf, 0 * inf
    const text = TEXT[op].replace(/\{(\d|p)\}/g, (_, k) => (k === "p" ? fmt(param) : fmt(inputs[+k])))
    return `undefined: ${text}`
  }
  return "non-finite input"
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
      if (!fin(value[i])) fault[i] = "not a finite number"
      continue
    }
    const ins = tape.inputs[i].map((j) => value[j])
    const out = OPS[op].f(...ins, tape.param[i])
    value[i] = out
    if (!fin(out)) fault[i] = faultFor(op, ins, out, tape.param[i])
  }
  const grad = new Float64Array(n)
  const locals = new Array(n)
  const root = tape.root
  if (n) grad[root] = 1
  let evaluated = 0, skipped = 0, blocked = 0
  for (let i = n - 1; i >= 0; i--) {
    const op = tape.op[i]
    if (op === "") continue
    const inputs = tape.inputs[i]
    const ins = inputs.map((j) => value[j])
    if (!tape.active[i]) { skipped += inputs.length; locals[i] = OPS[op].d(ins, value[i], tape.param[i]); continue }
    if (op === "sg") { blocked += 1; locals[i] = [0]; continue }
    const loc = OPS[op].d(ins, value[i], tape.param[i])
    locals[i] = loc
    const g = grad[i]
    for (let s = 0; s < inputs.length; s++) {
      if (tape.active[inputs[s]]) { evaluated += 1; grad[inputs[s]] += g * loc[s] } else skipped += 1
    }
  }
  // a gradient that is not finite where its value is (0 * sqrt(x) at x = 0) is a fault too
  const gradFault = new Array(n).fill("")
  for (let i = 0; i < n; i++)
    if (tape.active[i] && !fin(grad[i])) gradFault[i] = grad[i] !== grad[i] ? "gradient is nan" : "gradient overflows to infinity"
  return { value, grad, locals, fault, gradFault, evaluated, skipped, blocked }
}

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
  const rounded = Number(x.toPrecision(digits))  // round first: 9999.6 -> 1.000e4
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

export const paren = (x) => { const t = fmt(x); return t.startsWith("-") ? `(${t})` : t }
