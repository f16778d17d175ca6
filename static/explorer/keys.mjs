// Keyboard: space plays or pauses, arrows step, Home rewinds; not while typing or while a
// control that uses the key has the focus (a slider's arrows, a button's space; the graph,
// focused, walks with the arrows itself: access.mjs).
// Every view on the page registers here. The keys drive the view last clicked or focused;
// until then, on a page of one Bokeh document (the app), the one on screen. Where views
// live in several documents (a notebook: one per output cell), keys wait for a click, so
// they neither drive an explorer the reader has not chosen nor stop the notebook's scrolling.
import { rootViews, viewOf } from "./bokeh.mjs"

const CONTROLS = new Set(["INPUT", "TEXTAREA", "SELECT", "BUTTON"])
const OWN_KEYS = new Set(["slider", "button", "radio", "checkbox", "listbox", "combobox", "textbox"])

export function installKeys(view) {
  if (typeof window === "undefined") return
  window.__bpx_views = window.__bpx_views || []
  if (!window.__bpx_views.includes(view)) window.__bpx_views.push(view)
  if (window.__bpx_keys) return
  window.__bpx_keys = true
  const choose = (ev) => {
    const chosen = viewAt(ev.composedPath ? ev.composedPath() : [])
    if (chosen) window.__bpx_active = chosen
  }
  window.addEventListener("pointerdown", choose, true)
  window.addEventListener("focusin", choose, true)
  window.addEventListener("keydown", (ev) => {
    const path = ev.composedPath ? ev.composedPath() : []
    if (path.some((el) => el && (CONTROLS.has(el.tagName) || el.isContentEditable ||
                                 (el.getAttribute && OWN_KEYS.has(el.getAttribute("role")))))) return
    const actions = { " ": "play", ArrowRight: "step", ArrowLeft: "back", Home: "first" }
    const action = actions[ev.key]
    if (!action) return
    const target = keyTarget()
    if (!target) return
    ev.preventDefault()
    target.handle(action, null, {})
  })
}

function documentOf(view) {
  return view.args && view.args.figure ? view.args.figure.document : null
}

// the registered view an event went through: the one whose figure it hit, or the only
// one in the Bokeh document it hit (a notebook cell's slider, button or table)
function viewAt(path) {
  for (const root of rootViews()) {
    if (!root.el || !path.includes(root.el)) continue
    const doc = root.model && root.model.document
    const inDoc = window.__bpx_views.filter((v) => documentOf(v) === doc && v.scene)
    const hit = inDoc.find((v) => {
      const figure = viewOf(v.args.figure)
      return figure && path.includes(figure.el)
    })
    if (hit || inDoc.length === 1) return hit || inDoc[0]
  }
  return null
}

function keyTarget() {
  const views = window.__bpx_views
  const active = window.__bpx_active
  if (active && views.includes(active) && active.args.figure.inner_width) return active
  if (new Set(views.map(documentOf)).size > 1) return null
  return views.find((v) => v.scene && v.args.figure.inner_width) || views[0]
}
