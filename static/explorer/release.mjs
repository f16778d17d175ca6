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
export const releases = new Releases()

export function quiet(slider) {
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
