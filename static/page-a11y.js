// Every page: give each slider's handle the slider's name (Bokeh's noUiSlider handle has
// role="slider" and its value but no name; the slider's title, "w: 2.00", is beside it),
// and each lone checkbox the words written beside it.
// Sliders come and go (a new expression brings its own), so the names are set again after
// the Bokeh document changes its layout or a slider's range (which re-renders its handle).
(function () {
  "use strict"
  function nameHandles(root) {
    for (const handle of root.querySelectorAll(".noUi-handle")) {
      const title = handle.getRootNode().querySelector(".bk-slider-title")
      const text = title && title.firstChild ? title.firstChild.textContent : ""
      const name = text.replace(/[:：]\s*$/, "").trim()
      if (name && handle.getAttribute("aria-label") !== name) handle.setAttribute("aria-label", name)
    }
    // Bokeh's Checkbox writes its label in a <div> beside the box, not in a <label>
    for (const box of root.querySelectorAll('input[type="checkbox"] + .bk-label')) {
      const input = box.previousElementSibling, name = box.textContent.trim()
      if (name && input.getAttribute("aria-label") !== name) input.setAttribute("aria-label", name)
    }
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) nameHandles(el.shadowRoot)
  }
  let pending = 0
  function soon() {
    if (pending) return
    pending = setTimeout(() => { pending = 0; nameHandles(document) }, 60)
  }
  const LAYOUT = new Set(["children", "objects", "title", "start", "end", "step", "disabled", "visible"])
  function watch() {
    const doc = window.Bokeh && window.Bokeh.documents && window.Bokeh.documents[0]
    if (!doc) return false
    // only layout changes: a drag's `value` and playback's data change many times a
    // second and never re-render a handle
    doc.on_change((ev) => { if (ev && ev.attr && LAYOUT.has(ev.attr)) soon() })
    soon()
    return true
  }
  const poll = setInterval(() => { if (watch()) clearInterval(poll) }, 100)
  window.addEventListener("load", soon)
})()
