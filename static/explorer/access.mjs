// The figure for keyboards and screen readers. The graph is focusable: arrow keys walk from
// node to node along its edges (→ towards the loss, ← towards the inputs, ↑ ↓ to the
// neighbour above or below), Enter opens the node's details, Escape leaves the graph. A text
// alternative lists every node with the numbers of the mode on screen, and a polite live
// region says the current step's sentence in playback and the new loss and gradients after
// a release. Space, Home and the arrows keep their playback meaning everywhere else.

import { fmt } from "./replay.mjs"
import { viewOf } from "./bokeh.mjs"
import { T, fill } from "./words.mjs"
import { tapeIndex, fillNumbers, isVector, shownValue, shownGrad, lossName as lossNameOf } from "./reading.mjs"

const DESCRIBE_MS = 400  // the text alternative follows the numbers once a drag rests
const SAY_MS = 700  // announcements: at most one per this interval, the latest one wins
const LISTED = 60  // nodes written out in the text alternative; a bigger graph is summarised

// asked on every frame of playback: the page's one query, made once (it follows the setting)
let motionQuery = null
export function reducedMotion() {
  if (motionQuery === null) motionQuery = typeof matchMedia !== "undefined" ? matchMedia("(prefers-reduced-motion: reduce)") : false
  return !!motionQuery && motionQuery.matches
}

// the element Bokeh draws a model into (null before it is drawn)
function elementOf(model) {
  const v = viewOf(model)
  return v ? v.el : null
}

function hidden(tag, attrs) {
  const el = document.createElement(tag)
  el.className = "bpx-sr-only"
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v)
  // visually hidden, still read: the usual clip pattern (inline: the page's CSS may not reach)
  el.style.cssText = "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0"
  return el
}

// one line about drawn node i in the mode on screen; `seen`: the nodes whose numbers are
// on screen (null: all)
export function nodeSentence(sc, r, i, lossName, seen = null) {
  const N = sc.nodes, t = tapeIndex(sc, i), mode = sc.mode
  const def = N.op[i] ? N.text[i] : `${N.name[i]}: ${T.kinds[N.kind[i]] || N.kind[i]}`
  const parts = [def]
  const v = isVector(sc, i)
  if (mode !== "graph") parts.push(`${T.a11y_value} ${v ? `‖${N.name[i]}‖ = ` : ""}${fmt(shownValue(sc, r, i))}`)
  if (mode === "backward" && N.kind[i] !== "constant")
    parts.push(!sc.tape.active[t] ? T.notComputed : (v ? `‖∂${lossName}/∂${N.name[i]}‖` : `∂${lossName}/∂${N.name[i]}`) + ` = ${seen && !seen.has(i) ? "?" : fmt(shownGrad(sc, r, i))}`)
  const fault = r.fault[t] || r.gradFault[t]
  if (fault) parts.push(`⚠ ${fault}`)
  return parts.join("; ")
}

export class Access {
  constructor(view) {
    this.view = view
    this.node = -1  // the node the keyboard stands on (-1: none)
    this.el = null
    this.box = null
    this.describeTimer = 0
    this.sayTimer = 0
    this.saidAt = 0
    this.pending = ""
    this.stepSaid = -1
    this.announceRelease = false
  }

  // once the figure is drawn: make it focusable and add the text alternative beside it
  attach() {
    if (typeof document === "undefined") return
    if (this.el && this.el.isConnected && this.lang === T.lang) return  // each frame: nothing to do
    this.lang = T.lang
    const el = elementOf(this.view.args.figure)
    if (!el) return
    if (el !== this.el) {
      this.el = el
      el.tabIndex = 0
      el.setAttribute("role", "application")
      el.setAttribute("aria-roledescription", T.a11y_graph_role)
      el.addEventListener("keydown", (ev) => this.key(ev))
      el.addEventListener("blur", () => { if (this.node >= 0) { this.node = -1; this.view.renderSoon() } })
    }
    el.setAttribute("aria-label", T.a11y_graph_label)
    if (!this.box) {
      const place = document.getElementById("main") || document.body
      this.box = hidden("section", { "aria-label": T.a11y_text_title })
      this.text = document.createElement("div")
      this.live = hidden("div", { "aria-live": "polite", "aria-atomic": "true" })
      this.box.appendChild(this.text)
      place.appendChild(this.box)
      place.appendChild(this.live)
    }
    this.box.setAttribute("aria-label", T.a11y_text_title)
  }

  // where the figure starts, in CSS px from the top of the page as it stands now
  figureTop() {
    this.attach()
    return this.el ? this.el.getBoundingClientRect().top + window.scrollY : 0
  }

  // --- keyboard -----------------------------------------------------------------------
  key(ev) {
    const sc = this.view.scene
    if (!sc) return
    const n = sc.nodes.id.length
    let next = null
    if (ev.key === "Escape") {
      this.node = -1
      this.el.blur()
    } else if (ev.key === "Enter") {
      if (this.node >= 0) this.view.args.nodes.selected.indices = [this.node]
    } else if (ev.key.startsWith("Arrow")) {
      if (this.node < 0 || this.node >= n) next = this.start(sc)
      else next = this.walk(sc, this.node, ev.key)
      if (next === null) next = this.node
    } else return  // space, Home, ... keep their playback meaning
    ev.preventDefault()
    ev.stopPropagation()
    if (next !== null && next >= 0) {
      this.node = next
      this.say(nodeSentence(sc, this.view.result, next, lossNameOf(sc), this.view.predicting ? this.view.quiz.seen() : null), true)
    }
    this.view.renderSoon()
  }

  // where the keyboard lands first: the loss in the backward pass, else the first input
  start(sc) { return sc.mode === "backward" ? this.rootIndex(sc) : 0 }

  rootIndex(sc) { const N = sc.nodes; return N.tape ? N.tape.indexOf(sc.tape.root) : sc.tape.root }

  walk(sc, i, key) {
    const N = sc.nodes, E = sc.edges
    const byY = (a, b) => N.y[b] - N.y[a]  // top of the screen first
    if (key === "ArrowRight" || key === "ArrowLeft") {
      const out = key === "ArrowRight"
      const next = []
      for (let k = 0; k < E.u.length; k++) {
        if (out && E.u[k] === i) next.push(E.v[k])
        if (!out && E.v[k] === i) next.push(E.u[k])
      }
      const unique = [...new Set(next)].sort(byY)
      return unique.length ? unique[0] : null
    }
    // up and down: the nearest node above or below, the same layer first
    const up = key === "ArrowUp"
    let best = null, bestCost = Infinity
    for (let j = 0; j < N.id.length; j++) {
      const dy = N.y[j] - N.y[i]
      if (j === i || (up ? dy <= 0 : dy >= 0)) continue
      const cost = Math.abs(dy) + 4 * Math.abs(N.x[j] - N.x[i])
      if (cost < bestCost) { best = j; bestCost = cost }
    }
    return best
  }

  // --- what the screen shows, in words ------------------------------------------------
  afterRender(withTable) {
    this.attach()
    const p = this.view.player
    if (p.index >= 0 && p.index !== this.stepSaid && (p.arrived || !p.playing)) {
      this.stepSaid = p.index
      const s = p.steps[p.index]
      if (s) this.say(`${T.step(p.index + 1, p.steps.length)}: ` +
                      (s.text_template ? fillNumbers(this.view.result, s.text_template) : s.text || ""))
    }
    if (p.index < 0) this.stepSaid = -1
    if (withTable) this.describeSoon()
  }

  // a new scene from the server after a slider's release: its loss and gradients are news
  released() {
    const sc = this.view.scene, r = this.view.result
    if (!sc || !r || !this.announceRelease) { this.announceRelease = true; return }
    if (this.view.predicting) return  // the gradients are the questions: the quiz says its own
    const N = sc.nodes, loss = lossNameOf(sc), parts = []
    const root = this.rootIndex(sc)
    parts.push(`${loss} = ${fmt(r.value[tapeIndex(sc, root)])}`)
    for (let i = 0; i < N.id.length && parts.length < 13; i++) {
      if (N.op[i] || N.kind[i] === "constant") continue
      const t = tapeIndex(sc, i)
      if (sc.tape.active[t]) parts.push(`∂${loss}/∂${N.name[i]} = ${fmt(r.grad[t])}`)
    }
    this.say(parts.join(", "))
  }

  describeSoon() {
    if (typeof setTimeout === "undefined") return
    clearTimeout(this.describeTimer)
    this.describeTimer = setTimeout(() => this.describe(), DESCRIBE_MS)
  }

  describe() {
    const sc = this.view.scene, r = this.view.result
    if (!sc || !r || !this.text) return
    const n = sc.nodes.id.length, loss = lossNameOf(sc)
    const lines = [fill(T.a11y_summary, { n, m: sc.edges.u.length, mode: T.a11y_modes[this.view.predicting ? "predict" : sc.mode] || sc.mode })]
    const shown = Math.min(n, LISTED)
    const seen = this.view.predicting ? this.view.quiz.seen() : null
    for (let i = 0; i < shown; i++) lines.push(nodeSentence(sc, r, i, loss, seen))
    if (n > shown) lines.push(fill(T.a11y_more, { n: n - shown }))
    const list = document.createElement("ul")
    for (const line of lines.slice(1)) { const li = document.createElement("li"); li.textContent = line; list.appendChild(li) }
    const head = document.createElement("p")
    head.textContent = lines[0]
    this.text.replaceChildren(head, list)
  }

  // polite, throttled: a burst of news says its latest item once the interval has passed
  say(text, now = false) {
    if (!this.live || !text) return
    this.pending = text
    const wait = now ? 0 : Math.max(0, this.saidAt + SAY_MS - Date.now())
    clearTimeout(this.sayTimer)
    this.sayTimer = setTimeout(() => {
      this.saidAt = Date.now()
      this.live.textContent = this.pending
    }, wait)
  }
}
