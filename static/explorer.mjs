// Backprop explorer, the browser side of one graph view.
//
// The server sends one JSON scene (nodes, edges, the core's tape, the pass
// schedules). This module draws it into the figure's data sources, replays the
// tape forward and backward while a slider moves (no server round trip), and
// plays the passes step by step with requestAnimationFrame. Sources are edited
// with {sync: false}: nothing drawn here travels back over the websocket.
//
// Bokeh compiles this file as an ES module: `export default (args, obj, data)`.

// --- the op rules: a mirror of graphviz_core.engine.OPS ------------------------------
const INF = Infinity, NAN = NaN
const fin = (x) => x - x === 0
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

const paren = (x) => { const t = fmt(x); return t.startsWith("-") ? `(${t})` : t }

// --- look -------------------------------------------------------------------------------------
const STYLE = {
  parameter: { marker: "circle", fill: "#DCEBFA", line: "#0B63A8" },
  data: { marker: "square", fill: "#D7F1E6", line: "#00815C" },
  constant: { marker: "square", fill: "#EFEFEF", line: "#7A7A7A" },
  op: { marker: "circle", fill: "#FFF1CC", line: "#B07700" },
  loss: { marker: "hex", fill: "#FBDCCB", line: "#C2410C" },
  sg: { marker: "diamond", fill: "#F6E0EE", line: "#9D2E74" },
  group: { marker: "square_pin", fill: "#CCEFEA", line: "#0F766E" },  // a closed neuron of a big MLP
}
const FLOW = { graph: "#8A96A3", forward: "#1F5FA8", backward: "#C2410C" }
const BLOCKED = "#9D2E74", PRUNED = "#C9CED6", FAULT = "#D21F3C", CURRENT = "#F2B705"

// --- one view -------------------------------------------------------------------------------
class View {
  constructor(args) {
    this.args = args
    this.scene = null
    this.overrides = {}
    this.result = null
    this.player = { index: -1, playing: false, start: 0, speed: 1, raf: 0, steps: [] }
    this.presentation = false
  }

  handle(action, obj, data) {
    // a button click arrives as an event whose origin is the button
    const source = obj && obj.origin ? obj.origin : obj
    if (action === "play" && source && "label" in source) this.playButton = source
    switch (action) {
      case "refresh": return this.refresh()
      case "resize": case "zoom": return this.scene ? this.render() : this.refresh()
      case "slider": return this.slide(data.name, obj.value)
      case "mode": this.scene && (this.scene.mode = data.mode); this.stop(-1); return this.render()
      case "play": return this.player.playing ? this.pause() : this.play()
      case "pause": return this.pause()
      case "step": return this.step(+1)
      case "back": return this.step(-1)
      case "first": this.stop(-1); return this.render()
      case "speed": this.player.speed = Math.max(0.1, +obj.value || 1); return
      case "present":
        this.presentation = !!data.on
        if (typeof document !== "undefined") document.body.classList.toggle("bpx-present", this.presentation)
        return this.render()
      default: return this.refresh()
    }
  }

  refresh() {
    const text = this.args.meta.data.json && this.args.meta.data.json[0]
    if (!text) return
    this.scene = JSON.parse(text)
    const tape = this.scene.tape
    separateParallelEdges(this.scene.edges)
    // a scene computed for an earlier release must not pull the numbers away from where the
    // slider now stands: keep the local value of a slider that has moved on since
    const kept = {}
    for (const [name, value] of Object.entries(this.overrides))
      if (name in tape.variable && num(tape.value[tape.variable[name]]) !== value) kept[name] = value
    this.overrides = kept
    this.player.steps = []
    this.stop(-1)
    this.adoptSliders()
    this.compute()
    this.renderSoon()
  }

  // scenes can arrive in bursts (a flood of slider releases): draw the newest once a frame
  renderSoon() {
    if (typeof requestAnimationFrame === "undefined") return this.render()
    if (this.renderPending) return
    this.renderPending = true
    requestAnimationFrame(() => { this.renderPending = false; this.render() })
  }

  // The sliders of this graph's variables (titled with their names) drive the replay here,
  // with no callback of their own to set up on the server. A slider's value changes many
  // times a second while it is dragged; the page redraws from the tape, so only the
  // released value (value_throttled) needs the server: `value` stays off the websocket.
  adoptSliders() {
    const doc = this.args.meta.document
    if (!doc) return
    this.adopted = this.adopted || new Set()
    const models = doc._all_models instanceof Map ? doc._all_models.values() : doc.all_models || []
    for (const m of models) {
      if (m.type !== "Slider" || !(m.title in this.scene.tape.variable)) continue
      if (!m._bpx_quiet) quiet(m)
      if (!this.adopted.has(m)) {
        this.adopted.add(m)
        m.properties.value.change.connect(() => this.slide(m.title, m.value))
      }
    }
  }

  slide(name, value) {
    if (!this.scene || !(name in this.scene.tape.variable)) return
    this.overrides[name] = value
    if (this.player.index >= 0) this.stop(-1)
    this.compute()
    this.renderSoon()  // a fast drag (or a flood) moves the value more often than frames are drawn
  }

  compute() { this.result = replay(this.scene.tape, this.overrides) }

  // which pass is on screen, and which nodes have been reached in playback
  steps() { const m = this.scene.mode; return m === "graph" ? [] : this.scene.steps[m] || [] }

  reached() {
    const p = this.player
    if (p.index < 0) return null  // idle: everything is shown
    const seen = new Set()
    for (let k = 0; k <= p.index && k < p.steps.length; k++) {
      const s = p.steps[k]
      if (k < p.index || p.arrived) (s.node === null ? s.nodes : [s.node]).forEach((n) => seen.add(n))
    }
    return seen
  }

  // table: false while playing - a step changes what is lit, never the numbers
  render({ table: withTable = true } = {}) {
    if (!this.scene || !this.result) return
    const { nodes, edges, arrows } = this.args
    const sc = this.scene, r = this.result, mode = sc.mode, N = sc.nodes
    const n = N.id.length
    const seen = this.reached()
    const step = this.player.index >= 0 ? this.player.steps[this.player.index] : null
    const root = sc.tape.root
    const lossName = n ? N.name[N.tape ? N.tape.indexOf(root) : root] : "L"
    // level of detail from the current zoom: pixels per layout unit
    const ppu = this.pixelsPerUnit()
    const big = this.presentation ? 1.35 : 1
    const showEdgeLabels = ppu > 115 * big
    const showNodeLabels = ppu > 70 * big
    const nodeSize = Math.max(10, Math.min(48 * big, ppu * 0.42))
    const col = { x: [], y: [], inner: [], top: [], bottom: [], marker: [], fill: [], line: [], width: [], size: [], alpha: [], mark: [], inner_size: [], label_size: [], top_off: [], bottom_off: [], mark_dx: [], mark_dy: [] }
    for (let i = 0; i < n; i++) {
      const kind = N.kind[i], st = STYLE[kind] || STYLE.op
      const t = this.tapeIndex(i)
      const active = !!sc.tape.active[t]
      const fault = r.fault[t] || r.gradFault[t]
      const shown = !seen || seen.has(i)
      let bottom = ""
      if (mode === "graph") bottom = N.members && N.members[i] ? T.members(N.members[i]) : T.kinds[kind] || ""
      else if (mode === "forward") bottom = shown ? fmt(r.value[t]) : "?"
      else if (kind === "constant") bottom = ""
      else if (!active) bottom = T.notComputed
      else bottom = shown ? `∂${lossName}/∂${N.name[i]} = ${fmt(r.grad[t])}` : "?"
      if (step && step.kind === "sum" && step.node === i && mode === "backward")
        bottom = `Σ ${step.terms.map((term) => paren(this.edgeContribution(this.edgeIndex(...term.edge)))).join(" + ")}` + (shown ? ` = ${fmt(r.grad[t])}` : "")
      if (fault && mode !== "graph") bottom = `⚠ ${bottom}`
      const dim = mode === "backward" && !active && kind !== "constant"
      const current = step && step.nodes.includes(i)
      col.x.push(N.x[i]); col.y.push(N.y[i])
      const inner = N.op[i] ? N.symbol[i] : N.name[i]
      // a name wider than its node is left to the table and to zooming in
      const font = Math.max(9, nodeSize * 0.32)
      col.inner.push(inner.length * font * 0.6 <= nodeSize * 0.95 ? inner : "")
      col.top.push(N.op[i] && showNodeLabels ? N.name[i] : "")
      col.bottom.push(showNodeLabels ? bottom : "")
      col.marker.push(st.marker)
      col.fill.push(fault && mode !== "graph" ? "#FDE2E6" : st.fill)
      col.line.push(fault && mode !== "graph" ? FAULT : current ? CURRENT : st.line)
      col.width.push(current ? 4.5 : fault ? 3 : 2)
      col.size.push(kind === "constant" ? nodeSize * 0.78 : kind === "group" ? nodeSize * 1.3 : nodeSize)
      col.alpha.push(dim ? 0.35 : 1)
      col.mark.push(fault && mode !== "graph" ? "⚠" : "")
      col.inner_size.push(`${Math.round(font)}px`)
      col.label_size.push(`${Math.round(13 * big)}px`)
      const half = col.size[i] / 2
      col.top_off.push(-(half + 3)); col.bottom_off.push(half + 3)
      col.mark_dx.push(half * 0.7); col.mark_dy.push(-half * 0.7)
    }
    this.setData(nodes, col)

    const E = sc.edges, m = E.u.length
    const ecol = { xs: [], ys: [], color: [], dash: [], alpha: [], width: [], lx: [], ly: [], label: [], label_color: [], label_size: [] }
    const acol = { x0: [], y0: [], x1: [], y1: [], color: [], alpha: [], head: [] }
    const head = Math.max(5, Math.min(13 * big, nodeSize * 0.3))
    const stepEdges = new Set(step ? step.edges.map((e) => e.join(",")) : [])
    for (let k = 0; k < m; k++) {
      const u = E.u[k], v = E.v[k], slot = E.slot[k]
      const tu = this.tapeIndex(u), tv = this.tapeIndex(v), via = E.via && E.via[k]
      // an edge into a closed group stands for several traced edges: no one local derivative
      const local = !via ? this.local(v, slot) : via.length === 1 && via[0][0] === tv ? this.local(tv, via[0][1]) : null
      const blocked = E.blocked[k]
      const flows = sc.tape.active[tv] && sc.tape.active[tu] && !blocked
      const contribution = this.edgeContribution(k)
      let color = FLOW[mode], dash = "solid", alpha = 0.9, label = "", lc = "#334155"
      if (mode === "backward") {
        if (blocked) { color = BLOCKED; dash = "dashed"; label = "× 0"; lc = BLOCKED }
        else if (!flows) { color = PRUNED; dash = "dotted"; alpha = 0.7; label = "" }
        else label = local === null ? `→ ${fmt(contribution)}` : `×${paren(local)} → ${fmt(contribution)}`
      } else if (mode === "forward") {
        label = fmt(r.value[tu])
        if (blocked) { color = BLOCKED; dash = "dashed" }
      } else if (blocked) { color = BLOCKED; dash = "dashed" }
      if (stepEdges.has(`${u},${v},${slot}`)) { color = CURRENT; alpha = 1 }
      // in playback an edge shows its number once the step that carries it has arrived
      const owner = mode === "backward" ? u : v
      if (seen && !seen.has(owner) && !(blocked && seen.has(v) && mode === "backward")) label = ""
      const xs = E.xs[k], ys = E.ys[k], L = xs.length
      ecol.xs.push(xs); ecol.ys.push(ys)
      ecol.color.push(color); ecol.dash.push(dash); ecol.alpha.push(alpha)
      ecol.width.push(stepEdges.has(`${u},${v},${slot}`) ? 4 : 2)
      // the label sits on the middle of the first segment, the arrowhead on the last one
      const parallel = (k > 0 && E.u[k - 1] === u && E.v[k - 1] === v) || (k + 1 < m && E.u[k + 1] === u && E.v[k + 1] === v)
      const [lx, ly] = parallel ? [xs[1], ys[1]] : along(xs[0], ys[0], xs[1], ys[1], 0.5)
      ecol.lx.push(showEdgeLabels && label ? lx : NaN); ecol.ly.push(ly + 0.08)  // an empty label would still draw its white box
      ecol.label.push(showEdgeLabels ? label : "")
      ecol.label_color.push(lc)
      ecol.label_size.push(`${Math.round(12 * big)}px`)
      // the arrowhead touches the child's outline (sizes are in pixels, positions in units)
      const dx = xs[L - 1] - xs[L - 2], dy = ys[L - 1] - ys[L - 2], d = Math.hypot(dx, dy) || 1
      const back = (col.size[v] / 2 + 2) / ppu
      const ax = xs[L - 1] - dx / d * back, ay = ys[L - 1] - dy / d * back
      const bx = ax - dx / d * 0.02, by = ay - dy / d * 0.02
      acol.x0.push(bx); acol.y0.push(by); acol.x1.push(ax); acol.y1.push(ay)
      acol.color.push(color); acol.alpha.push(alpha); acol.head.push(head)
    }
    this.setData(edges, ecol)
    this.setData(arrows, acol)

    if (withTable) this.renderTable()
    this.caption()
    this.animateFrame()
  }

  // the values table: every node with at least 4 significant digits
  renderTable() {
    const sc = this.scene, r = this.result, N = sc.nodes, n = N.id.length
    const tcol = { name: [], op: [], value: [], grad: [], fault: [] }
    for (let i = 0; i < n; i++) {
      const t = this.tapeIndex(i)
      tcol.name.push(N.name[i])
      tcol.op.push(N.op[i] ? N.text[i].split(" = ").slice(1).join(" = ") : N.kind[i])
      tcol.value.push(fmt(r.value[t], 6))
      tcol.grad.push(N.kind[i] === "constant" ? "" : sc.tape.active[t] ? fmt(r.grad[t], 6) : T.notComputed)
      const fault = r.fault[t] || r.gradFault[t]
      tcol.fault.push(fault ? `⚠ ${fault}` : "")
    }
    this.setData(this.args.table, tcol)
  }

  // the schedule's formulas carry placeholders; the numbers come from the current replay
  fill(template) {
    const r = this.result
    return template.replace(/\u27e8(p?)([vgl])\|(\d+)(?:\|(\d+))?\u27e9/g, (_, p, kind, n, slot) => {
      const x = kind === "v" ? r.value[+n] : kind === "g" ? r.grad[+n] : this.local(+n, +slot)
      return p ? paren(x) : fmt(x)
    })
  }

  local(v, slot) {
    const loc = this.result.locals[v]
    return loc ? loc[slot] : 0
  }

  contribution(edge) {
    const [u, v, slot] = edge
    const sc = this.scene, r = this.result
    if (!sc.tape.active[v] || !sc.tape.active[u] || sc.tape.op[v] === "sg") return 0
    return r.grad[v] * this.local(v, slot)
  }

  // the tape index whose numbers drawn node i shows (a closed group shows its output)
  tapeIndex(i) { const t = this.scene.nodes.tape; return t ? t[i] : i }

  // what drawn edge k carries back: the sum over the traced edges it stands for (edges.via)
  edgeContribution(k) {
    const E = this.scene.edges
    if (!E.via) return this.contribution([E.u[k], E.v[k], E.slot[k]])
    const u = this.tapeIndex(E.u[k])
    return E.via[k].reduce((sum, [v, slot]) => sum + this.contribution([u, v, slot]), 0)
  }

  pixelsPerUnit() {
    const f = this.args.figure
    const w = f.inner_width || 600, xr = f.x_range
    const span = Math.abs((xr.end ?? 1) - (xr.start ?? 0)) || 1
    return w / span
  }

  setData(source, columns) {
    source.setv({ data: columns }, { sync: false, check_eq: false })
    source.change.emit()  // the DataTable redraws on this signal, not on the property change
    // ...and in Bokeh 3.9 only on its CDSView's change: same-length data left the cells stale
    if (source === this.args.table && this.args.values_table) this.args.values_table.view.change.emit()
  }

  // --- the caption: what the current step computes, with its numbers ---------------------
  caption() {
    const { caption, counter } = this.args
    const p = this.player, sc = this.scene
    const mode = sc.mode
    let html
    if (p.index >= 0 && p.steps[p.index]) {
      const s = p.steps[p.index]
      html = `<div class="bpx-step-kind bpx-${s.kind}">${T.steps[s.kind] || s.kind}</div>` +
             `<div class="bpx-formula">$$${s.latex_template ? this.fill(s.latex_template) : s.latex}$$</div>`
      if (counter) counter.setv({ text: T.step(p.index + 1, p.steps.length) }, { sync: false })
    } else {
      const st = this.result
      html = `<div class="bpx-idle">${T.idle[mode] || ""}` +
             (mode === "backward" ? ` <span class="bpx-stats">${T.stats(st.evaluated, st.skipped, st.blocked)}</span>` : "") + `</div>`
      if (counter) counter.setv({ text: mode === "graph" ? "" : T.count(this.steps().length) }, { sync: false })
    }
    if (caption.text !== html) caption.setv({ text: html }, { sync: false })
  }

  // --- playback -----------------------------------------------------------------------
  play() {
    if (!this.scene || this.scene.mode === "graph") return
    const p = this.player
    if (!p.steps.length || p.index < 0 || p.index >= p.steps.length - 1 && p.arrived) {
      p.steps = this.steps(); p.index = 0; p.arrived = false
    }
    p.playing = true
    p.start = performance.now() - (p.elapsed || 0)
    this.tick()
  }

  pause() {
    const p = this.player
    p.playing = false
    p.elapsed = performance.now() - p.start
    cancelAnimationFrame(p.raf)
    this.syncPlayButton()
  }

  stop(index) {
    const p = this.player
    p.playing = false
    cancelAnimationFrame(p.raf)
    p.index = index
    p.arrived = true
    p.elapsed = 0
    this.clearPulses()
    this.syncPlayButton()
  }

  step(delta) {
    if (!this.scene || this.scene.mode === "graph") return
    const p = this.player
    if (p.index < 0 || !p.steps.length) { p.steps = this.steps(); p.index = delta > 0 ? -1 : p.steps.length }
    const index = Math.max(0, Math.min(p.steps.length - 1, p.index + delta))
    this.stop(index)
    this.render()
  }

  duration() { return 1100 / this.player.speed }

  tick() {
    const p = this.player
    if (!p.playing) return
    const now = performance.now()
    const t = (now - p.start) / this.duration()
    const wasArrived = p.arrived
    p.arrived = t >= 0.72
    if (t >= 1) {
      if (p.index >= p.steps.length - 1) {
        p.playing = false; p.arrived = true; this.clearPulses(); this.render({ table: false }); this.syncPlayButton(); return
      }
      p.index += 1; p.start = now; p.arrived = false
      this.render({ table: false })
    } else if (wasArrived !== p.arrived) this.render({ table: false })
    else this.animateFrame()
    this.syncPlayButton()
    p.raf = requestAnimationFrame(() => this.tick())
  }

  // moving dots: values travel along edges forward, contributions travel back
  animateFrame() {
    const p = this.player, { pulses } = this.args
    if (!pulses) return
    if (!p.playing || p.index < 0) { this.clearPulses(); return }
    const s = p.steps[p.index]
    const t = Math.min(1, (performance.now() - p.start) / this.duration() / 0.72)
    const ease = t < 0.5 ? 2 * t * t : 1 - Math.pow(-2 * t + 2, 2) / 2
    const col = { x: [], y: [], label: [], color: [] }
    const E = this.scene.edges
    for (const [u, v, slot] of s.edges) {
      const k = this.edgeIndex(u, v, slot)
      if (k < 0) continue
      let xs = E.xs[k], ys = E.ys[k]
      const backward = this.scene.mode === "backward"
      if (backward) { xs = [...xs].reverse(); ys = [...ys].reverse() }
      const [x, y] = alongPolyline(xs, ys, p.arrived ? 1 : ease)
      col.x.push(x); col.y.push(y)
      const blocked = E.blocked[k]
      col.label.push(backward ? (blocked && s.kind === "blocked" ? "× 0" : fmt(this.edgeContribution(k))) : fmt(this.result.value[this.tapeIndex(u)]))
      col.color.push(backward ? (blocked ? BLOCKED : FLOW.backward) : FLOW.forward)
    }
    this.setData(pulses, col)
  }

  clearPulses() {
    const { pulses } = this.args
    if (pulses && pulses.data.x && pulses.data.x.length) this.setData(pulses, { x: [], y: [], label: [], color: [] })
  }

  edgeIndex(u, v, slot) {
    const E = this.scene.edges
    for (let k = 0; k < E.u.length; k++) if (E.u[k] === u && E.v[k] === v && E.slot[k] === slot) return k
    return -1
  }

  syncPlayButton() {
    const b = this.playButton
    if (!b) return
    const label = this.player.playing ? T.pause : T.play
    if (b.label !== label) b.setv({ label }, { sync: false })
  }
}

// The page's words, in the language of its URL (lang=zh), English otherwise.
const WORDS = {
  en: {
    steps: {
      inputs: "Inputs", op: "Forward: compute a node", seed: "Seed: the loss with respect to itself",
      gradient: "Backward: incoming gradient × local derivative", sum: "Fan-out: contributions add up",
      blocked: "Stop-gradient: nothing passes",
    },
    idle: {
      graph: "Graph: the structure only. Parameters are blue circles, data green squares, operations orange; the loss is the hexagon.",
      forward: "Forward: every node's value, from the inputs to the loss. Press ▶ to watch the values travel.",
      backward: "Backward: every gradient, from ∂L/∂L = 1 back to the inputs. Each edge shows × local derivative → contribution.",
    },
    kinds: { parameter: "parameter", data: "data", constant: "constant", op: "", loss: "loss", sg: "stop-grad", group: "group" },
    members: (n) => `${n} nodes`,
    notComputed: "not computed", play: "▶ Play", pause: "❚❚ Pause",
    step: (k, n) => `Step ${k} / ${n}`, count: (n) => `${n} steps`,
    stats: (e, s, b) => `${e} local derivatives evaluated, ${s} skipped` + (b ? `, ${b} stop-gradient${b > 1 ? "s" : ""}` : "") + ".",
  },
  zh: {
    steps: {
      inputs: "输入", op: "前向：计算一个节点", seed: "起点：损失对自身的导数",
      gradient: "反向：传入梯度 × 局部导数", sum: "分支：各路贡献相加",
      blocked: "Stop-Gradient：梯度在此截断",
    },
    idle: {
      graph: "计算图：只看结构。参数是蓝色圆，数据是绿色方块，运算是橙色；损失是六边形。",
      forward: "前向传播：从输入到损失，每个节点的值。按 ▶ 观看数值沿边流动。",
      backward: "反向传播：从 ∂L/∂L = 1 出发，回到每个输入的梯度。每条边显示 × 局部导数 → 贡献。",
    },
    kinds: { parameter: "参数", data: "数据", constant: "常数", op: "", loss: "损失", sg: "stop-grad", group: "组" },
    members: (n) => `${n} 个节点`,
    notComputed: "未计算", play: "▶ 播放", pause: "❚❚ 暂停",
    step: (k, n) => `第 ${k} / ${n} 步`, count: (n) => `共 ${n} 步`,
    stats: (e, s, b) => `计算了 ${e} 个局部导数，跳过 ${s} 个` + (b ? `，${b} 个 stop-gradient` : "") + "。",
  },
}
const LANG = (() => {
  try { return new URLSearchParams(window.location.search).get("lang") === "zh" ? "zh" : "en" } catch { return "en" }
})()
const T = WORDS[LANG]

// A slider's `value` stays in the page; its releases (`value_throttled`) reach the server at
// most once per RELEASE_MS, the latest one winning, so even a script flooding the slider
// costs the server a few messages a second.
const RELEASE_MS = 80

function quiet(slider) {
  const setv = slider.setv.bind(slider)
  let timer = null
  slider.setv = (attrs, options = {}) => {
    if (options.sync === false || !("value" in attrs || "value_throttled" in attrs)) return setv(attrs, options)
    const released = "value_throttled" in attrs
    const result = setv(attrs, { ...options, sync: false })
    if (released && timer === null) {
      timer = setTimeout(() => {
        timer = null
        setv({ value_throttled: slider.value_throttled }, { check_eq: false })  // now it travels
      }, RELEASE_MS)
    }
    return result
  }
  slider._bpx_quiet = true
}

// a*a draws two edges between the same nodes: bow them apart so both are seen
function separateParallelEdges(E) {
  const groups = new Map()
  E.u.forEach((u, k) => {
    const key = `${u},${E.v[k]}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(k)
  })
  for (const ks of groups.values()) {
    if (ks.length < 2) continue
    ks.forEach((k, i) => {
      const xs = E.xs[k], ys = E.ys[k], L = xs.length
      const dx = xs[L - 1] - xs[0], dy = ys[L - 1] - ys[0], d = Math.hypot(dx, dy) || 1
      const off = (i - (ks.length - 1) / 2) * 0.28
      const [mx, my] = along(xs[0], ys[0], xs[L - 1], ys[L - 1], 0.5)
      if (L === 2) { E.xs[k] = [xs[0], mx - dy / d * off, xs[1]]; E.ys[k] = [ys[0], my + dx / d * off, ys[1]] }
      else { E.xs[k] = xs.map((x, j) => (j > 0 && j < L - 1 ? x - dy / d * off : x)); E.ys[k] = ys.map((y, j) => (j > 0 && j < L - 1 ? y + dx / d * off : y)) }
    })
  }
}

function along(x0, y0, x1, y1, t) { return [x0 + (x1 - x0) * t, y0 + (y1 - y0) * t] }

function alongPolyline(xs, ys, t) {
  let total = 0
  const seg = []
  for (let i = 1; i < xs.length; i++) { const d = Math.hypot(xs[i] - xs[i - 1], ys[i] - ys[i - 1]); seg.push(d); total += d }
  let target = t * total
  for (let i = 1; i < xs.length; i++) {
    if (target <= seg[i - 1] || i === xs.length - 1) return along(xs[i - 1], ys[i - 1], xs[i], ys[i], seg[i - 1] ? Math.min(1, target / seg[i - 1]) : 1)
    target -= seg[i - 1]
  }
  return [xs[0], ys[0]]
}

// One View per meta source (one per graph on the page); it survives between calls.
function viewFor(args) {
  const holder = args.meta
  if (!holder._bpx_view) holder._bpx_view = new View(args)
  holder._bpx_view.args = args
  return holder._bpx_view
}

export default function (args, obj, data = {}, context) {
  let action = data && data.action
  if (!action) action = obj === args.meta ? "refresh" : obj === args.figure ? "resize" : "zoom"
  const view = viewFor(args)
  installKeys(view)
  return view.handle(action, obj, data || {})
}

// Keyboard: space plays or pauses, arrows step, Home rewinds; not while typing.
function installKeys(view) {
  if (typeof window === "undefined") return
  window.__bpx_views = window.__bpx_views || []
  if (!window.__bpx_views.includes(view)) window.__bpx_views.push(view)
  if (window.__bpx_keys) return
  window.__bpx_keys = true
  window.addEventListener("keydown", (ev) => {
    const path = ev.composedPath ? ev.composedPath() : []
    if (path.some((el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.isContentEditable))) return
    const target = window.__bpx_views.find((v) => v.scene && v.args.figure.inner_width) || window.__bpx_views[0]
    if (!target) return
    const actions = { " ": "play", ArrowRight: "step", ArrowLeft: "back", Home: "first" }
    const action = actions[ev.key]
    if (!action) return
    ev.preventDefault()
    target.handle(action, null, {})
  })
}
