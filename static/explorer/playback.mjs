// Playback: the passes step by step with requestAnimationFrame. A step takes DURATION_MS at
// speed 1; its numbers show once it has "arrived" (ARRIVE of the way through), and moving
// dots (pulses) carry values forward along its edges, or contributions back.

import { fmt } from "./replay.mjs"
import { FLOW, BLOCKED } from "./style.mjs"
import { T } from "./words.mjs"
import { alongPolyline } from "./geometry.mjs"
import { tapeIndex, edgeIndex, edgeContribution, passSteps } from "./reading.mjs"

const DURATION_MS = 1100
const ARRIVE = 0.72

// The playback state of one view. `host` is the view: it has the scene, draws
// (render, animateFrame, clearPulses) and owns the play button.
export class Player {
  constructor(host) {
    this.host = host
    this.index = -1  // the current step; -1: idle, everything is shown
    this.playing = false
    this.arrived = false
    this.start = 0
    this.elapsed = 0
    this.speed = 1
    this.raf = 0
    this.steps = []
    this.button = null  // the play button, whose label follows the state
  }

  // the nodes reached so far (null when idle: everything is shown)
  reached() {
    if (this.index < 0) return null
    const seen = new Set()
    for (let k = 0; k <= this.index && k < this.steps.length; k++) {
      const s = this.steps[k]
      if (k < this.index || this.arrived) (s.node === null ? s.nodes : [s.node]).forEach((n) => seen.add(n))
    }
    return seen
  }

  current() { return this.index >= 0 ? this.steps[this.index] : null }

  play() {
    const sc = this.host.scene
    if (!sc || sc.mode === "graph") return
    const fresh = !this.steps.length || this.index < 0 || this.index >= this.steps.length - 1 && this.arrived
    if (fresh) { this.steps = passSteps(sc); this.index = 0; this.arrived = false }
    this.playing = true
    this.start = performance.now() - (this.elapsed || 0)
    // the first step shows (counter, caption, what it lights) as it starts, as every later one does
    if (fresh) this.host.render({ table: false })
    this.tick()
  }

  pause() {
    this.playing = false
    this.elapsed = performance.now() - this.start
    cancelAnimationFrame(this.raf)
    this.syncButton()
  }

  stop(index) {
    this.playing = false
    cancelAnimationFrame(this.raf)
    this.index = index
    this.arrived = true
    this.elapsed = 0
    this.host.clearPulses()
    this.syncButton()
  }

  step(delta) {
    const sc = this.host.scene
    if (!sc || sc.mode === "graph") return
    if (this.index < 0 || !this.steps.length) { this.steps = passSteps(sc); this.index = delta > 0 ? -1 : this.steps.length }
    const index = Math.max(0, Math.min(this.steps.length - 1, this.index + delta))
    this.stop(index)
    this.host.render()
  }

  duration() { return DURATION_MS / this.speed }

  tick() {
    if (!this.playing) return
    const host = this.host
    const now = performance.now()
    const t = (now - this.start) / this.duration()
    const wasArrived = this.arrived
    this.arrived = t >= ARRIVE
    if (t >= 1) {
      if (this.index >= this.steps.length - 1) {
        this.playing = false; this.arrived = true; host.clearPulses(); host.render({ table: false }); this.syncButton(); return
      }
      const before = this.steps[this.index]
      this.index += 1; this.start = now; this.arrived = false
      // only what the new step lights changes (and, when no frame showed the step before
      // arrived, what its arrival brings: stepframes.mjs)
      if (host.startStep) host.startStep(before, wasArrived)
      else host.render({ table: false })
    } else if (wasArrived !== this.arrived) host.arrive ? host.arrive() : host.render({ table: false })
    else host.animateFrame()
    this.syncButton()
    this.raf = requestAnimationFrame(() => this.tick())
  }

  // how far the current step's pulses have travelled, eased (1: arrived)
  travelled() {
    if (this.arrived) return 1
    const t = Math.min(1, (performance.now() - this.start) / this.duration() / ARRIVE)
    return t < 0.5 ? 2 * t * t : 1 - Math.pow(-2 * t + 2, 2) / 2
  }

  syncButton() {
    const b = this.button
    if (!b) return
    const label = this.playing ? T.pause : T.play
    if (b.label !== label) b.setv({ label }, { sync: false })
  }
}

// the moving dots of step `s` at `travelled` (0..1) of the way: values travel along edges
// forward, contributions travel back
export function pulseColumns(sc, r, s, travelled) {
  const col = { x: [], y: [], label: [], color: [] }
  const E = sc.edges
  const backward = sc.mode === "backward"
  for (const [u, v, slot] of s.edges) {
    const k = edgeIndex(sc, u, v, slot)
    if (k < 0) continue
    let xs = E.xs[k], ys = E.ys[k]
    if (backward) { xs = [...xs].reverse(); ys = [...ys].reverse() }
    const [x, y] = alongPolyline(xs, ys, travelled)
    col.x.push(x); col.y.push(y)
    const blocked = E.blocked[k]
    col.label.push(backward ? (blocked && s.kind === "blocked" ? "× 0" : fmt(edgeContribution(sc, r, k))) : fmt(r.value[tapeIndex(sc, u)]))
    col.color.push(backward ? (blocked ? BLOCKED : FLOW.backward) : FLOW.forward)
  }
  return col
}
