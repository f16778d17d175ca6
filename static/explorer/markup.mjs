// A Div's text written in place. Bokeh answers a Div's new `text` by re-rendering the Div
// and then laying out the whole page again (LayoutDOMView.rerender -> compute_layout of the
// root): on a big page that is most of a playback step's frame, and the caption and the
// step counter change on every step. Here the model takes the text silently (it still says
// what is shown, and Bokeh draws from it whenever it re-renders the Div for another reason)
// and the Div's own element gets the HTML Bokeh would have put there, with its formulas
// typeset by the Div's MathJax once per distinct text. A Div whose size changes still
// re-lays the page out: Bokeh's resize observer sees it.

import { viewOf } from "./bokeh.mjs"

const KEPT = 256  // typeset texts kept; a slider drag makes a new one per frame

export class Markup {
  constructor() {
    this.typeset = new Map()  // text -> the HTML Bokeh's DivView would render it to
  }

  // set `model.text` to `html`, the cheap way where the Div is drawn and its math is ready
  write(model, html) {
    if (!model || model.text === html) return
    const view = viewOf(model)
    const el = view && view.markup_el
    const tex = html.includes("$")
    if (!el || !el.isConnected || model.render_as_text || (tex && !model.disable_math && !(view.provider && view.provider.MathJax))) {
      model.setv({ text: html }, { sync: false })  // not drawn yet, or MathJax still loading
      return
    }
    const before = model.text
    model.setv({ text: html }, { silent: true })
    if (!tex && retext(el, before, html)) return
    el.innerHTML = tex && !model.disable_math ? this.math(view, html) : html
  }

  // typeset ahead the texts `next(0)`, `next(1)`, ... `next(count - 1)` for `model` (a
  // playback's coming captions: typeset in a step's first frame, a formula was most of the
  // frames a step dropped), one per idle moment, once the page has been still for `settle` ms
  // (a drag's intermediate numbers are not typeset); a later call replaces the queue
  ahead(model, next, count, settle = 0) {
    if (typeof requestIdleCallback === "undefined" || !model || count <= 0) return
    this.queue = { model, next, k: 0, count, after: performance.now() + settle }
    if (!this.idle) this.idle = requestIdleCallback(() => this.work())
  }

  work() {
    this.idle = 0
    const q = this.queue
    if (!q || q.model.disable_math || q.model.render_as_text) { this.queue = null; return }
    const view = viewOf(q.model)
    const ready = view && view.markup_el && view.provider && view.provider.MathJax
    if (ready && performance.now() >= q.after) {
      while (q.k < q.count) {
        const html = q.next(q.k++)
        if (html && html.includes("$") && !this.typeset.has(html)) { this.math(view, html); break }
      }
    }
    if (q.k < q.count) this.idle = requestIdleCallback(() => this.work(), { timeout: 1000 })
    else this.queue = null
  }

  math(view, html) {
    let out = this.typeset.get(html)
    if (out === undefined) {
      out = view.process_tex(html)
      if (this.typeset.size >= KEPT) this.typeset.clear()
      this.typeset.set(html, out)
    }
    return out
  }
}

// Where `after` has the same tags as `before` (which `el` shows) and only the text between
// them differs - a drag frame's new numbers in the same legend - the changed text nodes take
// their new text: elements made anew on every frame would each be styled and laid out anew.
// False (nothing written) where the two differ otherwise, or `el` is not what `before` made.
const TAGS = /(<[^>]*>)/
export function retext(el, before, after) {
  if (typeof before !== "string" || typeof document === "undefined") return false
  const a = before.split(TAGS), b = after.split(TAGS)
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) {
    if (k % 2 ? a[k] !== b[k] : (a[k] === "") !== (b[k] === "") || (a[k] !== b[k] && (a[k] + b[k]).includes("&"))) return false
  }
  // the page's text nodes, one per non-empty text between tags, in order
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), nodes = []
  for (let node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node)
  const texts = a.filter((text, k) => k % 2 === 0 && text !== "")
  if (nodes.length !== texts.length || nodes.some((node, k) => node.nodeValue !== texts[k])) return false
  const next = b.filter((text, k) => k % 2 === 0 && text !== "")
  nodes.forEach((node, k) => { if (node.nodeValue !== next[k]) node.nodeValue = next[k] })
  return true
}
