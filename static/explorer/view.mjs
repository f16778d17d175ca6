// One view: the coordinator of one graph on the page. It takes the scene the server sends
// (nodes, edges, the core's tape, the pass schedules), replays the tape while a slider moves
// (no server round trip), and draws through render/table/caption/playback into the figure's
// sources.

import { replay, num } from "./replay.mjs"
import { separateParallelEdges, pixelsPerUnit, visibleBox } from "./geometry.mjs"
import { drawing } from "./render.mjs"
import { tableColumns, ValuesTable } from "./table.mjs"
import { captionFor } from "./caption.mjs"
import { Player, pulseColumns } from "./playback.mjs"
import { Written, setData } from "./sources.mjs"
import { BLANK_LABEL } from "./labels.mjs"
import { releases, quiet } from "./release.mjs"
import { variableSliders, viewOf, followValues, paintOn, keepSameStyles } from "./bokeh.mjs"
import { setLanguage } from "./words.mjs"
import { Access, reducedMotion } from "./access.mjs"
import { Touch } from "./touch.mjs"
import { Quiz } from "./predict.mjs"
import { legendHtml } from "./flow.mjs"
import { drawnEdge, passSteps } from "./reading.mjs"
import { Markup } from "./markup.mjs"
import { Texts } from "./texts.mjs"
import { Descent } from "./descent.mjs"
import { GradBuffer } from "./buffer.mjs"
import { saveHtml } from "./save.mjs"
import { startStep, arrive, planWindow, windowOf, aheadColumns, EMPTY_AHEAD } from "./stepframes.mjs"
import { typesetAhead } from "./ahead.mjs"
import { offInLink, pruneScene } from "./switches.mjs"
import { pickLevel } from "./levels.mjs"
import { slider_reach } from "./rules.generated.mjs"

export class View {
  constructor(args) {
    this.args = args
    this.scene = null
    this.overrides = {}
    this.result = null
    this.player = new Player(this)
    this.presentation = false
    this.written = new Written()
    this.markup = new Markup()
    this.valuesTable = new ValuesTable()
    this.access = new Access(this)
    this.touch = new Touch(this)
    this.quiz = new Quiz(this)
    this.texts = new Texts()  // the static site's node details and passes (texts.mjs)
    this.descent = new Descent(this)  // the static site's "Take a step" (descent.mjs)
    this.buffer = new GradBuffer()  // and the accumulation lesson's .grad (buffer.mjs)
    this.predicting = false  // Predict mode: the backward pass drawn as far as it is revealed
  }

  handle(action, obj, data) {
    // a button click arrives as an event whose origin is the button
    const source = obj && obj.origin ? obj.origin : obj
    if (action === "play" && source && "label" in source) this.player.button = source
    switch (action) {
      case "refresh": return this.refresh()
      case "resize": return this.scene ? this.render() : this.refresh()
      case "zoom": return this.scene ? this.renderSoon() : this.refresh()  // a pan moves the ranges every frame
      case "slider": return this.slide(data.name, obj.value)
      // the mode buttons send the modes in their order; the export's send one mode
      case "mode": return this.setMode(data.modes ? data.modes[obj.active] : data.mode)
      case "predict": return this.predict()
      case "play": return this.predicting || (this.player.playing ? this.player.pause() : this.player.play())
      case "pause": return this.player.pause()
      case "step": return this.predicting || this.player.step(+1)
      case "back": return this.predicting || this.player.step(-1)
      case "first": this.player.stop(-1); if (this.predicting) this.quiz.start(); return this.render()
      case "cell": return this.cell(obj, data.index)
      case "descend": return this.descent.handle(data)
      case "redraw": return this.renderSoon()  // a lesson's own control changed what it draws
      case "grad-buffer": return this.buffer.handle(this, data)
      case "save": return saveHtml(this, data)  // the static site's "Save as HTML" (save.mjs)
      case "level": return pickLevel(this, data, obj)  // the static site's (levels.mjs)
      case "requires-grad": return this.requiresGrad(data.names.filter((_, k) => !obj.active.includes(k)))
      case "speed": this.player.speed = Math.max(0.1, +obj.value || 1); return
      case "present":
        this.presentation = !!("on" in data ? data.on : obj.active)
        if (typeof document !== "undefined") document.body.classList.toggle("bpx-present", this.presentation)
        this.fitScreen()
        return this.render()
      default: return this.refresh()
    }
  }

  // Predict is the backward pass drawn a step at a time: the drawing's mode is "backward"
  adoptMode(mode) {
    this.predicting = mode === "predict"
    this.scene.mode = this.predicting ? "backward" : mode
    if (this.predicting) this.quiz.adopt(this.scene)
  }

  setMode(mode) {
    if (!this.scene) return
    const was = this.predicting
    this.adoptMode(mode)
    if (this.predicting && !was) this.quiz.begin(this.scene)
    this.player.stop(-1)
    if (mode !== "graph") this.markup.prepare()
    return this.render()
  }

  // the student's guess for the current step (the Check button, or Enter in the box)
  predict() {
    const { guess, verdict } = this.args
    if (!this.predicting || !guess) return
    const checked = this.quiz.check(guess.value_input)
    if (!checked) return
    if (checked.counted) guess.setv({ value: "", value_input: "" })
    this.markup.write(verdict, checked.html)
    this.access.say(checked.said, true)
    this.render()
  }

  // the nodes whose numbers are on screen (null: all)
  seen() { return this.predicting ? this.quiz.seen() : this.player.reached() }

  refresh() {
    const text = this.args.meta.data.json && this.args.meta.data.json[0]
    if (!text) return
    const was = this.scene
    this.scene = JSON.parse(text)
    // what the requires_grad switches prune from (a page with no server behind it)
    this.unpruned = { active: this.scene.tape.active, backward: this.scene.steps.backward }
    if (this.args.texts && this.off === undefined) this.off = offInLink(this.args.meta.document)
    if (this.off && this.off.size) this.prune()
    setLanguage(this.scene.lang)
    this.adoptMode(this.scene.mode)
    releases.answered()
    const tape = this.scene.tape
    separateParallelEdges(this.scene.edges)
    // a scene computed for an earlier release must not pull the numbers away from where the
    // slider now stands: keep the local value of a slider that has moved on since
    const kept = {}
    for (const [name, value] of Object.entries(this.overrides))
      // Object.is: a slider at 0 has moved on from a scene drawn at -0 ((-0)**-1 = -inf)
      if (name in tape.variable && !Object.is(num(tape.value[tape.variable[name]]), value)) kept[name] = value
    this.overrides = kept
    this.highlight = -1
    // a Play (or a step) pressed between a mode button's local switch and the server's scene
    // of that mode goes on: the new scene plays the same steps; any other scene starts over
    if (!this.samePass(was)) { this.player.steps = []; this.player.stop(-1) } else this.player.steps = passSteps(this.scene)
    this.adoptSliders()
    this.compute()
    if (this.presentation) this.fitScreen()
    this.access.released()
    this.renderSoon()
  }

  // whether the scene drawn now plays the same pass as `was` (the scene drawn before), where
  // the player stands in it: the same mode, nodes and steps
  samePass(was) {
    const p = this.player, sc = this.scene
    if (!was || p.index < 0 || !p.steps.length || this.predicting || was.mode !== sc.mode) return false
    const pass = (s) => JSON.stringify([s.nodes.id, passSteps(s)])
    return pass(was) === pass(sc)
  }

  // Presentation on a projector: the figure takes the screen's height left above the step's
  // formula (the sidebar and header are hidden by the page's CSS), so figure, player and
  // formula fit one screen; off again, the height the server chose comes back.
  fitScreen() {
    const fig = this.args.figure
    if (typeof window === "undefined" || !fig) return
    if (this.presentation) {
      if (this.serverHeight === undefined) this.serverHeight = fig.height
      requestAnimationFrame(() => {
        const top = fig.inner_height !== undefined ? this.access.figureTop() : 0
        const height = Math.max(280, Math.round(window.innerHeight - top - 150))
        if (fig.height !== height) fig.setv({ height }, { sync: false })
      })
    } else if (this.serverHeight !== undefined) {
      fig.setv({ height: this.serverHeight }, { sync: false })
      this.serverHeight = undefined
    }
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

  // The sliders of this graph's variables (tagged with their names on the server) drive the
  // replay here, with no callback of their own to set up on the server. A slider's value
  // changes many times a second while it is dragged; the page redraws from the tape, so only
  // the released value (value_throttled) needs the server: `value` stays off the websocket.
  adoptSliders() {
    this.adopted = this.adopted || new Set()
    // with no server behind the page, a tap on a node is answered here (texts.mjs)
    const picked = this.args.texts && this.args.nodes.selected
    if (picked && !this.adopted.has(picked)) {
      this.adopted.add(picked)
      picked.properties.indices.change.connect(() => this.texts.write(this))
    }
    // a typed expression's new sliders come after its scene (a later change of the layout's
    // children): adopted as they come, or a drag would replay nothing and send every value
    const doc = this.args.meta.document
    if (doc && !this.adopted.has(doc)) {
      this.adopted.add(doc)
      doc.on_change((event) => { if (this.scene && event.attr === "children") this.adoptSliders() })
    }
    for (const [name, m] of variableSliders(doc)) {
      if (!(name in this.scene.tape.variable)) continue
      if (!m._bpx_quiet) quiet(m)
      followValues(viewOf(m))
      if (!this.adopted.has(m)) {
        this.adopted.add(m)
        m.properties.value.change.connect(() => this.slide(name, m.value))
      }
    }
  }

  slide(name, value) {
    if (this.settingValues || !this.scene || !(name in this.scene.tape.variable)) return
    this.override(name, value)
    if (this.player.index >= 0 && !this.predicting) this.player.stop(-1)
    this.compute()
    this.renderSoon()  // a fast drag (or a flood) moves the value more often than frames are drawn
  }

  // the release travels as JSON, which has no -0: the server hears 0, so the page computes with 0
  override(name, value) { this.overrides[name] = value === 0 ? 0 : value }

  compute() { this.result = replay(this.scene.tape, this.overrides) }

  // The requires_grad switches on a page with no server behind it (the static site): the
  // leaves `off` need no gradient, and the page derives what the server would - which tape
  // entries the backward pass computes (replay.mjs activeFlags, the engine's rule), the
  // backward steps of those (the server's schedule keeps the same steps of the active nodes),
  // and, through the texts' templates, what they write (texts.mjs withActive). The link
  // carries them as the live page's does (`off=`).
  requiresGrad(off) {
    if (!this.scene || !this.args.texts) return
    this.off = new Set(off)
    this.prune()
    this.adoptMode(this.predicting ? "predict" : this.scene.mode)  // Predict asks the new steps
    this.player.steps = []
    this.player.stop(-1)
    this.compute()
    this.renderSoon()
  }

  prune() { pruneScene(this.scene, this.unpruned, this.off) }

  // the variables' values the page shows now, by name
  values() {
    const { variable } = this.scene.tape
    return Object.fromEntries(Object.entries(variable).map(([name, n]) => [name, this.result.value[n]]))
  }

  // several variables at once (a step of descent on a page with no server): the sliders
  // follow, widened to hold their values as the server widens them (span: the least reach),
  // and the tape is replayed once
  setValues(values, span) {
    for (const [name, value] of Object.entries(values)) this.override(name, value)
    this.settingValues = true
    try {
      for (const [name, m] of variableSliders(this.args.meta.document)) {
        if (!(name in values)) continue
        const reach = this.sliderReach(values[name], span)
        m.setv({ start: Math.min(m.start, -reach), end: Math.max(m.end, reach), value: values[name] })
      }
    } finally { this.settingValues = false }
    this.compute()
    this.renderSoon()
  }

  // how far a variable's slider reaches to hold `value` (graphviz_core/rules.py slider_reach,
  // the server's rule; also for static/golive-load.js, a classic script with no imports)
  sliderReach(value, span) { return slider_reach(value, span) }

  // Everything drawn comes from here.
  // table: false while playing - a step changes what is lit, never the numbers
  render({ table: withTable = true } = {}) {
    if (!this.scene || !this.result) return
    const a = this.args
    // the box appears or goes before the sources change: Bokeh re-lays the figure out then,
    // and a re-layout in the same tick as fewer labels drew with the old row count
    if (a.quiz && a.quiz.visible !== this.predicting) a.quiz.setv({ visible: this.predicting }, { sync: false })
    this.stack()
    keepSameStyles(viewOf(a.figure))
    const ppu = pixelsPerUnit(a.figure), seen = this.seen()
    const draw = (ahead) => drawing(this.scene, this.result, {
      seen, step: this.predicting ? this.quiz.revealed() : this.player.current(), ppu,
      box: visibleBox(a.figure), frame: visibleBox(a.figure, 0), presentation: this.presentation, keyNode: this.access.node,
      highlight: this.highlight, ahead,
    })
    // playing: the next steps' edges on the overlay (stepframes.mjs), when no label follows them
    const last = this.lastDrawn, p = this.player
    const plan = a.ahead && p.playing && !this.predicting && last && last.quiet && last.ppu === ppu && last.big === this.presentation
      ? planWindow(this.scene, this.result, p, seen) : null
    let d = draw(plan && plan.ahead)
    if (plan && !d.quiet) d = draw(null)
    this.window = plan && d.quiet ? windowOf(this.scene, this.result, plan, d) : null
    this.lastDrawn = { ppu, size: d.nodes.size, big: this.presentation, quiet: d.quiet }
    this.written.update(a.nodes, d.nodes)
    this.written.update(a.edges, d.edges)
    this.written.update(a.bands, d.bands)
    this.written.update(a.arrows, d.arrows)
    this.written.updateText(a.labels, d.labels, BLANK_LABEL)
    if (a.focus) { this.written.update(a.focus, d.focus); this.written.update(a.lit, d.lit) }
    if (a.ahead) {
      const w = this.window, o = w ? aheadColumns(this.scene, w, seen, d.nodes.size, ppu) : EMPTY_AHEAD
      this.written.update(a.ahead, o.edges)
      this.written.update(a.ahead_heads, o.heads)
    }
    if (withTable) this.valuesTable.write(a.table, a.values_table, tableColumns(this.scene, this.result, this.predicting ? this.quiz.seen() : null), this.written)
    if (withTable) { this.texts.write(this); this.buffer.write(this) }
    this.caption()
    this.legend(d.flow)
    this.animateFrame()
    this.access.afterRender(withTable)
    this.touch.attach()
  }

  // a playing step's start, after the step before arrived (stepframes.mjs)
  startStep(before, drawn) { return startStep(this, before, drawn) }

  // a playing step's arrival (stepframes.mjs)
  arrive() { return arrive(this) }

  // a cell of a layer's weight matrix (components/matrix_view.py) lights the edge its
  // weight multiplies; -1 (the pointer left) lights none
  cell(source, index) {
    if (!this.scene) return
    const d = source.data
    const k = index >= 0 && d.u ? drawnEdge(this.scene, [d.u[index], d.v[index], d.slot[index]]) : -1
    if (k === this.highlight) return
    this.highlight = k
    this.renderSoon()
  }

  // backward: what the edge widths stand for; nothing in the other modes
  // Shown, hidden or first drawn, the Div is drawn as Bokeh draws it (a re-layout of the
  // page); while only the numbers of its scale change (every frame of a drag), its text is
  // written in place (markup.mjs), so the legend stays true to the edges on screen without
  // re-laying the page out on every frame.
  legend(flow) {
    const el = this.args.legend
    if (!el) return
    const html = this.scene.mode === "backward" && flow ? legendHtml(flow.max, flow.thick, flow.faint, flow.band) : ""
    if (el.text === html) return
    if (!html || !el.visible || !el.text) el.setv({ text: html, visible: !!html }, { sync: false })
    else this.markup.write(el, html)
  }

  caption() {
    const { caption, counter } = this.args
    const { html, counter: count } = this.predicting ? this.quiz.question() : captionFor(this.scene, this.result, this.player)
    this.markup.write(counter, count)
    this.markup.write(caption, html)
    this.markup.write(this.args.verdict, this.quiz.verdict)
    typesetAhead(this)  // the coming steps' (ahead.mjs)
  }

  // Which canvas the nodes and their labels are painted on. A slider drag changes what the
  // edges carry, rarely a node or its number: with the nodes and labels on the upper canvas
  // (BokehJS's "overlay", above the edges as before) a drag frame repaints the edges alone -
  // at the 11.6k MLP's neurons, 126 nodes and their labels were half of the canvas work of a
  // backward drag frame. Playing, the pulses move on the upper canvas every frame, so the
  // nodes and labels go down to the canvas of the edges, which changes only when a step does.
  stack() {
    const above = !this.player.playing
    if (this.nodesAbove === above) return
    this.nodesAbove = above
    const a = this.args
    paintOn(a.figure, [a.nodes, a.labels], above ? "overlay" : "glyph")
  }

  animateFrame() {
    const p = this.player, { pulses } = this.args
    if (!pulses) return
    this.stack()
    // reduced motion: the steps still play, one after another, without moving dots
    if (!p.playing || p.index < 0 || reducedMotion()) { this.clearPulses(); return }
    setData(pulses, pulseColumns(this.scene, this.result, p.steps[p.index], p.travelled()))
  }

  clearPulses() {
    const { pulses } = this.args
    if (pulses && pulses.data.x && pulses.data.x.length) setData(pulses, { x: [], y: [], label: [], color: [] })
  }
}
