// The page's one contact with BokehJS besides the models CustomJS hands it (`args`) and
// their documented properties. Everything here is BokehJS's public surface:
// `Bokeh.index` (the views of the page's roots, with `find_one(model)` and `roots`) and
// `Document.all_models`. The other places that touch Bokeh beyond properties are
// release.mjs's `quiet`, which keeps a dragged slider's `value` off the websocket, and
// `followValues` below, which keeps a dragged slider's own redraw small, and `keepSameStyles`,
// which keeps a figure's repaint from restyling its renderers (and its glyph renderers' empty
// elements out of the page's layout).
// (static/page-a11y.js, a classic script every page runs, uses the same public names.)

// The tag a slider carries when it sets a variable of the graph: "bpx-variable:<name>"
// (components/release.py VARIABLE_TAG writes it on the server)
export const VARIABLE_TAG = "bpx-variable:"

function index() {
  return typeof window !== "undefined" && window.Bokeh ? window.Bokeh.index || null : null
}

// the view Bokeh draws a model with (null in Node, or before it is drawn). Finding it walks
// every view of the page (a millisecond on a big page, and the flow legend is written on
// every drag frame), so a view found is kept while its element is on the page.
const found = new WeakMap()
export function viewOf(model) {
  const views = index()
  if (!views || !model) return null
  const kept = found.get(model)
  if (kept && kept.el && kept.el.isConnected && kept.model === model) return kept
  const view = views.find_one(model)
  if (view) found.set(model, view)
  return view
}

// Paint the renderers of `sources` (figure's glyph renderers drawing them) on `level`: BokehJS
// paints every renderer below "overlay" on one canvas and the "overlay" ones on a second one
// above it, and repaints only the canvas whose renderers changed. A level moved, both canvases
// are painted again (a renderer's own change repaints only the canvas it now lies on).
export function paintOn(figure, sources, level) {
  if (!figure) return
  let moved = false
  for (const r of figure.renderers) {
    if (!sources.includes(r.data_source) || r.level === level) continue
    r.setv({ level }, { sync: false })
    moved = true
  }
  const view = moved ? viewOf(figure) : null
  if (view) view.request_repaint()
}

// the views of the page's roots (one per Bokeh document embedded in the page)
export function rootViews() {
  const views = index()
  return views ? views.roots : []
}

// the variable sliders of a document: [name, slider] for each slider tagged with a variable
export function* variableSliders(doc) {
  if (!doc) return
  for (const m of doc.all_models) {
    if (m.type !== "Slider") continue
    const tag = (m.tags || []).find((t) => typeof t === "string" && t.startsWith(VARIABLE_TAG))
    if (tag) yield [tag.slice(VARIABLE_TAG.length), m]
  }
}

// the first model of a document carrying the tag `tag` (null if none)
export function taggedModel(doc, tag) {
  if (!doc) return null
  for (const m of doc.all_models) if ((m.tags || []).includes(tag)) return m
  return null
}

// the one model of a document carrying the CSS class `css` (undefined if none)
export function modelWithClass(doc, css) {
  if (!doc) return undefined
  for (const m of doc.all_models) if ((m.css_classes || []).includes(css)) return m
  return undefined
}

// A slider's view answers every new `value` by building its noUiSlider's options again
// (`updateOptions`: the handle's tooltip and attributes made anew) and its title's nodes
// again; a drag sets `value` on every frame, and new nodes on every frame make Chromium lay
// out and re-layerize the whole page. Where only the value moved since the view last drew
// (same range, step, format and title), the handle is moved (noUiSlider's `set`) and the
// title's number rewritten in its text node; anything else is drawn as Bokeh draws it. This
// goes on the class of `view` (a slider's view), once: every slider drawn later has it too.
export function followValues(view) {
  const proto = view && Object.getPrototypeOf(view)
  if (!proto || proto._bpx_follow || typeof proto._update_slider !== "function" || typeof proto._update_title !== "function") return
  const { _update_slider: slider, _update_title: title } = proto
  const shape = (m) => [m.start, m.end, m.step, m.format && m.format.id || m.format, m.orientation, m.direction, m.tooltips].join("|")
  proto._update_slider = function () {
    const key = shape(this.model)
    const ui = this._noUiSlider
    // noUiSlider glides a handle that is `set` (0.3 s CSS transition, the class stays 300 ms):
    // on every drag frame that starts and ends a compositor animation, and each start or end
    // makes Chromium layerize the whole page again. The value follows at once - also on
    // Bokeh's own path below (its `updateOptions` keeps the `animate` given here)
    if (ui && !ui._bpx_still) { ui.updateOptions({ animate: false }, false); ui._bpx_still = true }
    if (ui && this._bpx_shape === key) return ui.set(this._calc_to().start, false)
    this._bpx_shape = key
    return slider.call(this)
  }
  proto._update_title = function () {
    const key = `${this.model.title}|${this.model.show_value}`
    const number = this.title_el && this.title_el.lastChild
    const text = number && number.nodeType === 1 && number.firstChild
    if (this._bpx_title === key && text && text.nodeType === 3 && !text.nextSibling) {
      text.nodeValue = this._calc_to().start.map((v) => this.pretty(v)).join(" .. ")
      return
    }
    this._bpx_title = key
    return title.call(this)
  }
  proto._bpx_follow = true
}

// Every repaint of a figure's canvas has each painted renderer write its position into its
// <style> element (BokehJS's InlineStyleSheet `replace`), the same text on every frame of a
// drag; new text in a <style> makes Chromium match that shadow root's styles anew (~1 ms of
// a drag frame at the 11.6k MLP's neurons). The text is written only where it differs. This
// goes on the class of the figure's position sheets, once (`view`: the figure's view).
//
// A glyph renderer's element is empty (its glyphs are painted on the figure's canvas) and
// lets the pointer through; BokehJS still places it over its glyphs' box on every repaint.
// The pulses move on every frame of playback, so their box did: a new position in a
// <style>, then a style recalculation, a layout and a paint of the page's figure on every
// frame. A glyph renderer's element is left out of the layout instead (display: none, what
// BokehJS itself writes for a renderer with nothing to draw); its canvas painting is
// unchanged. This goes on the class of the figure's glyph renderers' views, once.
const UNPLACED = ":host { display: none; }"
export function keepSameStyles(view) {
  const renderers = view && view.renderer_views ? [...view.renderer_views.values()] : []
  const sheet = renderers.length && renderers[0].position && Object.getPrototypeOf(renderers[0].position)
  if (sheet && !sheet._bpx_same && typeof sheet._update === "function") {
    const update = sheet._update
    sheet._update = function (css) {
      if (!this.el || this.el.textContent !== css) update.call(this, css)
    }
    sheet._bpx_same = true
  }
  const glyphs = renderers.find((r) => r.model && r.model.type === "GlyphRenderer" && r.position)
  const proto = glyphs && Object.getPrototypeOf(glyphs)
  if (!proto || proto._bpx_unplaced || typeof proto.update_position !== "function") return
  proto.update_position = function () { this.position.replace(UNPLACED) }
  proto._bpx_unplaced = true
  for (const r of renderers) if (r instanceof proto.constructor) r.update_position()
}
