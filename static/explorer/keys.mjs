// Keyboard: space plays or pauses, arrows step, Home rewinds; not while typing.
// Every view on the page registers here; the keys drive the one on screen.
export function installKeys(view) {
  if (typeof window === "undefined") return
  window.__bpx_views = window.__bpx_views || []
  if (!window.__bpx_views.includes(view)) window.__bpx_views.push(view)
  if (window.__bpx_keys) return
  window.__bpx_keys = true
  window.addEventListener("keydown", (ev) => {
    const path = ev.composedPath ? ev.composedPath() : []
    if (path.some((el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.isContentEditable))) return
    const target = window.__bpx_views.find((v) => v.scene && v.args.figure.inner_width) || window.__bpx_views[0]
    if (!target) return
    const actions = { " ": "play", ArrowRight: "step", ArrowLeft: "back", Home: "first" }
    const action = actions[ev.key]
    if (!action) return
    ev.preventDefault()
    target.handle(action, null, {})
  })
}
