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
const BLOCKED = "#9D2E74", PRUNED = "#C9CED6", FAULT = "#D21F3C"

// --- one view -------------------------------------------------------------------------------
class View {
  constructor(args) {
    this.args = args
    this.scene = null
    this.overrides = {}
    this.result = null
    this.player = { index: -1, playing: false, start: 0, speed: 1, raf: 0, steps: [] }
    this.presentation = false
    this.drawn = new Map()  // source -> the columns last written to it
  }

  handle(action, obj, data) {
    // a button click arrives as an event whose origin is the button
    const source = obj && obj.origin ? obj.origin : obj
    if (action === "play" && source && "label" in source) this.playButton = source
    switch (action) {
      case "refresh": return this.refresh()
      case "resize": return this.scene ? this.render() : this.refresh()
      case "zoom": return this.scene ? this.renderSoon() : this.refresh()  // a pan moves the ranges every frame
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
    releases.answered()
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

  // Draw now if nothing was drawn since the last animation frame, else once at the next one:
  // a slider change shows within its own frame, and a flood (of slider moves or of server
  // scenes) is drawn at most once a frame.
  renderSoon() {
    if (typeof requestAnimationFrame === "undefined") return this.render()
    if (this.frameHeld) { this.dirty = true; return }
    this.render()
    this.holdFrame()
  }

  holdFrame() {
    this.frameHeld = true
    requestAnimationFrame(() => {
      this.frameHeld = false
      if (!this.dirty) return
      this.dirty = false
      this.render()
      this.holdFrame()
    })
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

  // Everything drawn comes from here. Layers: edges, arrowheads and node markers (which
  // change with the mode or a fault), one source of labels (only the ones shown at this
  // zoom), and on the overlay layer the current step's nodes and edges plus the moving
  // pulses. A source whose columns did not change is left alone, so a slider move touches
  // the labels only and a playback step the overlay only.
  // table: false while playing - a step changes what is lit, never the numbers
  render({ table: withTable = true } = {}) {
    if (!this.scene || !this.result) return
    const sc = this.scene, r = this.result, mode = sc.mode, N = sc.nodes
    const n = N.id.length
    const seen = this.reached()
    const step = this.player.index >= 0 ? this.player.steps[this.player.index] : null
    const lossName = n ? N.name[N.tape ? N.tape.indexOf(sc.tape.root) : sc.tape.root] : "L"
    // level of detail from the current zoom: pixels per layout unit
    const ppu = this.pixelsPerUnit()
    const big = this.presentation ? 1.35 : 1
    const showEdgeLabels = ppu > 115 * big
    const showNodeLabels = ppu > 70 * big
    const nodeSize = Math.max(10, Math.min(48 * big, ppu * 0.42))
    const font = Math.max(9, nodeSize * 0.32)
    const labelSize = `${Math.round(13 * big)}px`, edgeLabelSize = `${Math.round(12 * big)}px`
    const col = { x: N.x, y: N.y, marker: [], fill: [], line: [], width: [], size: [], alpha: [] }
    const labels = new Labels(this.visibleBox())
    for (let i = 0; i < n; i++) {
      const kind = N.kind[i], st = STYLE[kind] || STYLE.op
      const t = this.tapeIndex(i)
      const active = !!sc.tape.active[t]
      const fault = mode !== "graph" && (r.fault[t] || r.gradFault[t])
      const shown = !seen || seen.has(i)
      const size = nodeSize * (kind === "constant" ? 0.78 : kind === "group" ? 1.3 : 1), half = size / 2
      col.marker.push(st.marker)
      col.fill.push(fault ? "#FDE2E6" : st.fill)
      col.line.push(fault ? FAULT : st.line)
      col.width.push(fault ? 3 : 2)
      col.size.push(size)
      const dim = mode === "backward" && !active && kind !== "constant"
      col.alpha.push(dim ? 0.35 : 1)
      // a name wider than its node is left to the table and to zooming in
      const inner = N.op[i] ? N.symbol[i] : N.name[i]
      if (inner.length * font * 0.6 <= nodeSize * 0.95)
        labels.add(N.x[i], N.y[i], inner, { size: `${Math.round(font)}px`, style: "bold", alpha: dim ? 0.35 : 1, node: i, role: "inner" })
      if (fault) labels.add(N.x[i], N.y[i], "⚠", { color: FAULT, size: "18px", dx: half * 0.7, dy: -half * 0.7, node: i, role: "mark" })
      if (!showNodeLabels) continue
      if (N.op[i]) labels.add(N.x[i], N.y[i], N.name[i], { color: "#52606D", size: labelSize, baseline: "bottom", dy: -(half + 3), node: i, role: "top" })
      let bottom = ""
      if (mode === "graph") bottom = N.members && N.members[i] ? T.members(N.members[i]) : T.kinds[kind] || ""
      else if (mode === "forward") bottom = shown ? fmt(r.value[t]) : "?"
      else if (kind === "constant") bottom = ""
      else if (!active) bottom = T.notComputed
      else bottom = shown ? `∂${lossName}/∂${N.name[i]} = ${fmt(r.grad[t])}` : "?"
      if (step && step.kind === "sum" && step.node === i && mode === "backward")
        bottom = `Σ ${step.terms.map((term) => paren(this.edgeContribution(this.edgeIndex(...term.edge)))).join(" + ")}` + (shown ? ` = ${fmt(r.grad[t])}` : "")
      if (fault) bottom = `⚠ ${bottom}`
      if (bottom) labels.add(N.x[i], N.y[i], bottom, { size: labelSize, baseline: "top", dy: half + 3, boxed: 0.8, node: i, role: "bottom" })
    }

    const E = sc.edges, m = E.u.length
    const ecol = { xs: E.xs, ys: E.ys, color: [], dash: [], alpha: [] }
    const acol = { x0: [], y0: [], x1: [], y1: [], color: [], alpha: [], head: [] }
    const head = Math.max(5, Math.min(13 * big, nodeSize * 0.3))
    // many edges per node (a grouped MLP: every neuron to every neuron) are drawn lighter,
    // so the bundle reads as a bundle instead of a solid block
    const flowAlpha = Math.min(0.9, Math.max(0.2, 4 * n / Math.max(1, m)))
    for (let k = 0; k < m; k++) {
      const u = E.u[k], v = E.v[k], slot = E.slot[k], blocked = E.blocked[k]
      const tu = this.tapeIndex(u), tv = this.tapeIndex(v), via = E.via && E.via[k]
      const flows = sc.tape.active[tv] && sc.tape.active[tu] && !blocked
      // an edge into a closed group stands for several traced edges: no one local derivative
      const local = !via ? this.local(v, slot) : via.length === 1 && via[0][0] === tv ? this.local(tv, via[0][1]) : null
      let color = FLOW[mode], dash = "solid", alpha = flowAlpha, label = "", lc = "#334155"
      if (mode === "backward") {
        if (blocked) { color = BLOCKED; dash = "dashed"; label = "× 0"; lc = BLOCKED }
        else if (!flows) { color = PRUNED; dash = "dotted"; alpha = Math.min(alpha, 0.7) }
        else label = (local === null ? "" : `×${paren(local)} `) + `→ ${fmt(this.edgeContribution(k))}`
      } else if (mode === "forward") {
        label = fmt(r.value[tu])
        if (blocked) { color = BLOCKED; dash = "dashed" }
      } else if (blocked) { color = BLOCKED; dash = "dashed" }
      // in playback an edge shows its number once the step that carries it has arrived
      const owner = mode === "backward" ? u : v
      if (seen && !seen.has(owner) && !(blocked && seen.has(v) && mode === "backward")) label = ""
      ecol.color.push(color); ecol.dash.push(dash); ecol.alpha.push(alpha)
      const xs = E.xs[k], ys = E.ys[k], L = xs.length
      if (showEdgeLabels && label) {
        // the label sits on the middle of the first segment, the arrowhead on the last one
        const parallel = (k > 0 && E.u[k - 1] === u && E.v[k - 1] === v) || (k + 1 < m && E.u[k + 1] === u && E.v[k + 1] === v)
        const [lx, ly] = parallel ? [xs[1], ys[1]] : along(xs[0], ys[0], xs[1], ys[1], 0.5)
        labels.add(lx, ly + 0.08, label, { color: lc, size: edgeLabelSize, boxed: 0.88, edge: k, role: "edge" })
      }
      // the arrowhead touches the child's outline (sizes are in pixels, positions in units)
      const [ax, ay, ux, uy] = trimEnd(xs, ys, (col.size[v] / 2 + 2) / ppu)
      acol.x0.push(ax - ux * 0.02); acol.y0.push(ay - uy * 0.02); acol.x1.push(ax); acol.y1.push(ay)
      acol.color.push(color); acol.alpha.push(alpha); acol.head.push(head)
    }

    // the current step, on the overlay layer: its nodes ringed, its edges lit between outlines
    const focus = { x: [], y: [], marker: [], size: [] }
    const lit = { xs: [], ys: [] }
    if (step) {
      for (const i of step.nodes) {
        focus.x.push(N.x[i]); focus.y.push(N.y[i])
        focus.marker.push((STYLE[N.kind[i]] || STYLE.op).marker); focus.size.push(col.size[i])
      }
      for (const [u, v, slot] of step.edges) {
        const k = this.edgeIndex(u, v, slot)
        if (k < 0) continue
        const [xs, ys] = trimPolyline(E.xs[k], E.ys[k], (col.size[u] / 2 + 1) / ppu, (col.size[v] / 2 + 2) / ppu)
        lit.xs.push(xs); lit.ys.push(ys)
      }
    }
    const a = this.args
    this.update(a.nodes, col)
    this.update(a.edges, ecol)
    this.update(a.arrows, acol)
    this.update(a.labels, labels.columns)
    if (a.focus) { this.update(a.focus, focus); this.update(a.lit, lit) }

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
    const source = this.args.table, view = this.tableView()
    const rows = source.data.name
    if (view && rows && sameColumns({ name: rows }, { name: tcol.name }) && !view.grid.getSortColumns().length) {
      // the same rows with new numbers: redraw the visible cells, skip the table's re-layout
      // (the column autosize reads computed styles: ~10 ms a change for 200 rows)
      source.setv({ data: tcol }, { sync: false, silent: true })
      view.grid.invalidate()
      this.drawn.set(source, { columns: tcol, data: source.data })
      return
    }
    this.update(source, tcol)
  }

  // the values table's view in the page (null in Node, or before Bokeh has drawn it)
  tableView() {
    const model = this.args.values_table
    if (!model || typeof window === "undefined" || !window.Bokeh || !window.Bokeh.index) return null
    const cached = this._tableView
    if (cached && cached.model === model && cached.el && cached.el.isConnected && cached.grid) return cached
    this._tableView = null
    for (const root of window.Bokeh.index.roots || []) {
      const view = root.owner && root.owner.find_one(model)
      if (view && view.grid) { this._tableView = view; break }
    }
    return this._tableView
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

  // the part of the plane on screen, with a margin for labels that reach in from outside
  visibleBox() {
    const f = this.args.figure, xr = f.x_range, yr = f.y_range
    const box = [xr.start, xr.end, yr.start, yr.end]
    if (!box.every(fin)) return null
    const [x0, x1] = [Math.min(box[0], box[1]), Math.max(box[0], box[1])]
    const [y0, y1] = [Math.min(box[2], box[3]), Math.max(box[2], box[3])]
    const mx = (x1 - x0) * 0.15, my = (y1 - y0) * 0.15
    return [x0 - mx, x1 + mx, y0 - my, y1 + my]
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

  // a source is written only when one of its columns differs from what it holds
  update(source, columns) {
    if (!source) return
    const before = this.drawn.get(source)
    if (before && before.data === source.data && sameColumns(before.columns, columns)) return
    this.setData(source, columns)
    this.drawn.set(source, { columns, data: source.data })
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

  // the index of edge (u, v, slot) in the scene (-1: none); playback asks for every step's
  // edges each frame, so the lookup is a map made once per scene
  edgeIndex(u, v, slot) {
    const E = this.scene.edges
    if (E._index === undefined) {
      E._index = new Map()
      for (let k = 0; k < E.u.length; k++) E._index.set(`${E.u[k]},${E.v[k]},${E.slot[k]}`, k)
    }
    const k = E._index.get(`${u},${v},${slot}`)
    return k === undefined ? -1 : k
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

// A slider's `value` stays in the page; only its releases (`value_throttled`) reach the
// server, paced by the server itself: one release in flight per page, the next (the latest
// value of every slider released meanwhile) sent when the server's answer - a new scene -
// has arrived, and never more often than every RELEASE_MS. So a script flooding the sliders
// of ten pages leaves the server no backlog, and a student's release travels at once.
const RELEASE_MS = 80
const ANSWER_WAIT_MS = 1000  // a release that changes nothing gets no new scene

class Releases {
  constructor() { this.waiting = new Map(); this.sentAt = -Infinity; this.inFlight = false; this.timer = null }

  // a slider was released; `send` puts its value on the websocket
  add(slider, send) { this.waiting.set(slider, send); this.pump() }

  // a new scene arrived: the server has caught up
  answered() { this.inFlight = false; this.pump() }

  pump() {
    if (!this.waiting.size) return
    const now = performance.now()
    const wait = Math.max(this.sentAt + RELEASE_MS, this.inFlight ? this.sentAt + ANSWER_WAIT_MS : 0) - now
    clearTimeout(this.timer)
    if (wait > 0) { this.timer = setTimeout(() => this.pump(), wait); return }
    this.timer = null
    const sends = [...this.waiting.values()]
    this.waiting.clear()
    this.sentAt = now
    this.inFlight = true
    for (const send of sends) send()
  }
}
const releases = new Releases()

function quiet(slider) {
  const setv = slider.setv.bind(slider)
  const send = () => setv({ value_throttled: slider.value_throttled }, { check_eq: false })  // now it travels
  slider.setv = (attrs, options = {}) => {
    if (options.sync === false || !("value" in attrs || "value_throttled" in attrs)) return setv(attrs, options)
    const result = setv(attrs, { ...options, sync: false })
    if ("value_throttled" in attrs) releases.add(slider, send)
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

// The labels of one drawing, in one source: only those shown at this zoom take a row.
class Labels {
  constructor(box) {
    this.box = box  // [x0, x1, y0, y1]: labels anchored outside it are not drawn (null: all)
    this.columns = { x: [], y: [], text: [], color: [], size: [], style: [], baseline: [], dx: [], dy: [], boxed: [], alpha: [], node: [], edge: [], role: [] }
  }

  add(x, y, text, { color = "#1F2933", size = "13px", style = "normal", baseline = "middle", dx = 0, dy = 0, boxed = 0, alpha = 1, node = -1, edge = -1, role = "" } = {}) {
    const b = this.box
    if (b && (x < b[0] || x > b[1] || y < b[2] || y > b[3])) return
    const c = this.columns
    c.x.push(x); c.y.push(y); c.text.push(text); c.color.push(color); c.size.push(size); c.style.push(style)
    c.baseline.push(baseline); c.dx.push(dx); c.dy.push(dy); c.boxed.push(boxed); c.alpha.push(alpha)
    c.node.push(node); c.edge.push(edge); c.role.push(role)
  }
}

function sameColumns(a, b) {
  const keys = Object.keys(b)
  if (Object.keys(a).length !== keys.length) return false
  for (const key of keys) {
    const p = a[key], q = b[key]
    if (p === q) continue
    if (!p || !q || p.length !== q.length) return false
    for (let i = 0; i < q.length; i++) if (p[i] !== q[i]) return false
  }
  return true
}

// the last point of a polyline moved back by `back` along its last segment, and that direction
function trimEnd(xs, ys, back) {
  const L = xs.length
  const dx = xs[L - 1] - xs[L - 2], dy = ys[L - 1] - ys[L - 2], d = Math.hypot(dx, dy) || 1
  return [xs[L - 1] - dx / d * back, ys[L - 1] - dy / d * back, dx / d, dy / d]
}

// a polyline between two node outlines instead of between their centres
function trimPolyline(xs, ys, front, back) {
  const [ex, ey] = trimEnd(xs, ys, back)
  const [sx, sy] = trimEnd([xs[1], xs[0]], [ys[1], ys[0]], front)
  const L = xs.length
  return [[sx, ...xs.slice(1, L - 1), ex], [sy, ...ys.slice(1, L - 1), ey]]
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
