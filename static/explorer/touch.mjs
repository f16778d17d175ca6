// Touch on the graph: one finger scrolls the page (and a tap still opens a node), two fingers
// zoom (pinch) and move the figure while the page stays where it is.
// Bokeh asks the browser for `touch-action: pinch-zoom` while its pan tool is on: a finger
// drags the figure, so a page whose figure fills a phone's width cannot be scrolled past it,
// and a pinch zooms the whole page. Here the figure's canvas gets `pan-x pan-y` (the browser
// scrolls the page with one finger and leaves two-finger gestures to the page), and those
// are handled below: Bokeh's gesture recogniser sees no finger move (it would pan with it),
// is told the first finger of a pair is gone and sees none of the two-finger gesture.

import { viewOf } from "./bokeh.mjs"

export class Touch {
  constructor(view) {
    this.view = view
    this.el = null
    this.points = new Map()  // pointerId -> [clientX, clientY] of the fingers on the figure
    this.gesture = false
  }

  // after each drawing: attach to the figure once Bokeh has drawn it (again, if redrawn)
  attach() {
    if (this.el && this.el.isConnected && this.events.isConnected) return  // each frame: nothing to do
    const v = viewOf(this.view.args.figure)
    const events = v && v.canvas_view && v.canvas_view.events_el
    if (!events) return
    events.style.touchAction = "pan-x pan-y"
    this.events = events
    if (v.el === this.el) return
    this.el = v.el
    this.figureView = v
    const on = (type, fn) => v.el.addEventListener(type, fn, { capture: true, passive: type !== "touchmove" })
    on("pointerdown", (ev) => this.down(ev, events))
    on("pointermove", (ev) => this.move(ev))
    for (const type of ["pointerup", "pointercancel"]) on(type, (ev) => this.up(ev))
    // the browser must not scroll the page under a two-finger gesture
    on("touchmove", (ev) => { if (ev.touches.length >= 2 && ev.cancelable) ev.preventDefault() })
  }

  down(ev, events) {
    if (ev.pointerType !== "touch") return
    this.points.set(ev.pointerId, [ev.clientX, ev.clientY])
    if (this.gesture) { ev.stopPropagation(); return }
    if (this.points.size < 2) return
    this.gesture = true
    ev.stopPropagation()
    this.cancelling = true  // the cancel below is for Bokeh, not a finger leaving
    try {
      for (const id of this.points.keys()) {
        if (id === ev.pointerId) continue
        events.dispatchEvent(new PointerEvent("pointercancel", { pointerId: id, pointerType: "touch", isPrimary: true, bubbles: true, composed: true }))
      }
    } finally { this.cancelling = false }
  }

  move(ev) {
    if (ev.pointerType !== "touch") return
    // a finger's move is never Bokeh's to pan with: one finger scrolls the page (the browser
    // then cancels the pointer), two are the gesture here; a tap (no move) still reaches it
    ev.stopPropagation()
    if (!this.points.has(ev.pointerId)) return
    if (!this.gesture) { this.points.set(ev.pointerId, [ev.clientX, ev.clientY]); return }
    const before = this.pair()
    this.points.set(ev.pointerId, [ev.clientX, ev.clientY])
    const after = this.pair()
    if (before && after) this.transform(before, after)
  }

  up(ev) {
    if (this.cancelling || ev.pointerType !== "touch" || !this.points.has(ev.pointerId)) return
    this.points.delete(ev.pointerId)
    if (!this.gesture) return
    ev.stopPropagation()
    if (this.points.size === 0) this.gesture = false
  }

  // the midpoint and the distance of the first two fingers
  pair() {
    const [a, b] = this.points.values()
    if (!a || !b) return null
    return { x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2, d: Math.hypot(a[0] - b[0], a[1] - b[1]) }
  }

  // the plane point under the old midpoint ends under the new one, scaled by how much the
  // fingers spread (both axes alike: the figure keeps its aspect)
  transform(before, after) {
    const fig = this.view.args.figure, frame = this.figureView.frame
    const rect = this.el.getBoundingClientRect()
    const xr = fig.x_range, yr = fig.y_range
    const ax = frame.x_scale.invert(before.x - rect.left), ay = frame.y_scale.invert(before.y - rect.top)
    const s = after.d > 0 && before.d > 0 ? Math.min(4, Math.max(0.25, before.d / after.d)) : 1
    const ppx = fig.inner_width / Math.abs(xr.end - xr.start) / s, ppy = fig.inner_height / Math.abs(yr.end - yr.start) / s
    const dx = (after.x - before.x) / ppx, dy = (after.y - before.y) / ppy
    // as Bokeh's own tools do: the ranges stop following the data once a hand has moved them
    xr.have_updated_interactively = yr.have_updated_interactively = true
    xr.setv({ start: ax + (xr.start - ax) * s - dx, end: ax + (xr.end - ax) * s - dx })
    yr.setv({ start: ay + (yr.start - ay) * s + dy, end: ay + (yr.end - ay) * s + dy })
  }
}
