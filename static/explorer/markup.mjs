// A Div's text written in place. Bokeh answers a Div's new `text` by re-rendering the Div
// and then laying out the whole page again (LayoutDOMView.rerender -> compute_layout of the
// root): on a big page that is most of a playback step's frame, and the caption and the
// step counter change on every step. Here the model takes the text silently (it still says
// what is shown, and Bokeh draws from it whenever it re-renders the Div for another reason)
// and the Div's own element gets the HTML Bokeh would have put there, with its formulas
// typeset by the Div's MathJax once per distinct text. A Div whose size changes still
// re-lays the page out: Bokeh's resize observer sees it.
//
// MathJax itself is not in the page (components/assets.py page_resources): compiling its
// 1.8 MB bundle was ~15-20 % of every page open, and a page needs it only once a student
// steps through a pass. The first formula written loads it (`loadMathJax`), and until it is
// there the formula's place shows an ellipsis; the texts typeset ahead wait for it, they do
// not load it.

import { viewOf } from "./bokeh.mjs"

const KEPT = 256  // typeset texts kept; a slider drag makes a new one per frame
// what BokehJS's MathJax typesets: $$...$$, \[...\], \(...\) (a lone "$" is text)
const TEX = /\$\$|\\\[|\\\(/
const TEX_PARTS = /\$\$[\s\S]*?\$\$|\\\[[\s\S]*?\\\]|\\\([\s\S]*?\\\)/g
const WAIT = "\u2026"  // a formula's place while MathJax loads

export class Markup {
  constructor() {
    this.typeset = new Map()  // text -> the HTML Bokeh's DivView would render it to
  }

  // set `model.text` to `html`, the cheap way where the Div is drawn and its math is ready
  write(model, html) {
    if (!model || model.text === html) return
    const view = viewOf(model)
    const el = view && view.markup_el
    const tex = !model.disable_math && !model.render_as_text && TEX.test(html)
    const ready = tex && view && view.provider && view.provider.MathJax
    if (tex && !ready && !this.failed) this.later(model)
    if (!el || !el.isConnected || model.render_as_text) {
      model.setv({ text: html }, { sync: false })  // not drawn yet: Bokeh draws it
      return
    }
    const before = model.text
    model.setv({ text: html }, { silent: true })
    if (!tex && retext(el, before, html)) return
    el.innerHTML = !tex ? html : ready ? this.math(view, html) : this.failed ? html : html.replace(TEX_PARTS, WAIT)
  }

  // `model`'s formulas typeset once MathJax is loaded (the first one asks for it), and the
  // texts waiting to be typeset ahead then; where it cannot be loaded, the text as it is
  later(model) {
    this.waiting ||= new Set()
    if (model) this.waiting.add(model)
    if (this.loading) return
    this.loading = loadMathJax().then((provider) => {
      this.failed = !provider
      const waiting = this.waiting
      this.waiting = null
      for (const m of waiting) {
        const view = viewOf(m), el = view && view.markup_el
        if (el && el.isConnected && !m.render_as_text)  // (not drawn: Bokeh typesets it when it draws it)
          el.innerHTML = provider && !m.disable_math && TEX.test(m.text) ? this.math(view, m.text) : m.text
      }
      if (provider && this.queue && !this.idle) this.idle = requestIdleCallback(() => this.work())
    })
  }

  // MathJax loaded in an idle moment, before a formula is shown: a student who switched to a
  // pass steps through it next, and its first formula loading MathJax dropped the first
  // frames of a playback (its 1.8 MB run in one task: ~0.3-0.5 s)
  prepare() {
    if (this.loading || this.failed || typeof requestIdleCallback === "undefined") return
    requestIdleCallback(() => { if (!this.loading) this.later(null) }, { timeout: 1000 })
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
    if (!view || !view.provider || !view.provider.MathJax) return  // resumed once it is loaded (later)
    if (view.markup_el && performance.now() >= q.after) {
      while (q.k < q.count) {
        const html = q.next(q.k++)
        if (html && TEX.test(html) && !this.typeset.has(html)) { this.math(view, html); break }
      }
    }
    if (q.k < q.count) this.idle = requestIdleCallback(() => this.work(), { timeout: 1000 })
    else this.queue = null
  }

  math(view, html) {
    let out = this.typeset.get(html)
    if (out === undefined) {
      // MathJax's SVG says role="img" with no name (axe-core: svg-img-alt, serious): the text
      // around it names the formula (caption.mjs), the picture itself is hidden from assistive
      // technology
      out = view.process_tex(html).replace(/<svg([^>]*?) role="img"/g, '<svg$1 aria-hidden="true"')
      if (this.typeset.size >= KEPT) this.typeset.clear()
      this.typeset.set(html, out)
    }
    return out
  }
}

// BokehJS's MathJax bundle, loaded into the page once (every caller shares the one promise,
// kept on BokehJS's MathJax provider, which every Div's view shares): a script element beside
// BokehJS's own (the same folder and query - the live server's versioned URL, the static site's
// static/js/, a CDN's bokeh-mathjax-<version>), then the provider asked again (it found no
// MathJax when the page opened). Resolves to the provider, or null where there is no MathJax
// to be had (no BokehJS script to load it beside, or the file is missing). A page that has the
// bundle already (the saved HTML file inlines it) has the provider's MathJax at once.
const BOKEH_JS = /^(.*\/)bokeh((?:-\d[^/?#]*)?(?:\.min)?\.js)([?#].*)?$/
export function mathjaxSrc(scripts) {
  for (const script of scripts) {
    const m = BOKEH_JS.exec(script.src || "")
    if (m) return m[1] + "bokeh-mathjax" + m[2] + (m[3] || "")
  }
  return null
}

function mathjaxProvider() {
  try { return window.Bokeh.require("models/text/providers").default_provider || null } catch (e) { return null }
}

export function loadMathJax(provider = mathjaxProvider()) {
  if (!provider) return Promise.resolve(null)
  if (provider.MathJax) return Promise.resolve(provider)
  if (!provider.bpxLoading) provider.bpxLoading = new Promise((resolve) => {
    const src = mathjaxSrc(document.querySelectorAll("script[src]"))
    if (!src) { resolve(null); return }
    const script = document.createElement("script")
    script.src = src
    script.onload = () => {
      provider.status = "not_started"  // (it failed at the page's open: no MathJax then)
      provider.fetch().then(() => resolve(provider.MathJax ? provider : null), () => resolve(null))
    }
    script.onerror = () => resolve(null)
    document.head.appendChild(script)
  })
  return provider.bpxLoading
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
