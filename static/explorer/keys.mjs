// Keyboard: space plays or pauses, arrows step, Home rewinds; not while typing or while a
// control that uses the key has the focus.
// Every view on the page registers here; the keys drive the one on screen.
const CONTROLS = new Set(["INPUT", "TEXTAREA", "SELECT", "BUTTON"])
const OWN_KEYS = new Set(["slider", "button", "radio", "checkbox", "listbox", "combobox", "textbox"])

export function installKeys(view) {
  if (typeof window === "undefined") return
  window.__bpx_views = window.__bpx_views || []
  if (!window.__bpx_views.includes(view)) window.__bpx_views.push(view)
  if (window.__bpx_keys) return
  window.__bpx_keys = true
  window.addEventListener("keydown", (ev) => {
    const path = ev.composedPath ? ev.composedPath() : []
    // not while typing, nor when the focused control has its own use for the key (a slider's
    // arrows, a button's space); the graph, when focused, walks with the arrows itself
    if (path.some((el) => el && (CONTROLS.has(el.tagName) || el.isContentEditable ||
                                 (el.getAttribute && OWN_KEYS.has(el.getAttribute("role")))))) return
    const target = window.__bpx_views.find((v) => v.scene && v.args.figure.inner_width) || window.__bpx_views[0]
    if (!target) return
    const actions = { " ": "play", ArrowRight: "step", ArrowLeft: "back", Home: "first" }
    const action = actions[ev.key]
    if (!action) return
    ev.preventDefault()
    target.handle(action, null, {})
  })
}
