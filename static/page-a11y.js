// Every page, for assistive technology and for fingers:
// - each slider's handle gets the slider's name (Bokeh's noUiSlider handle has role="slider"
//   and its value but no name; the slider's title, "w: 2.00", is beside it), and each lone
//   checkbox the words written beside it;
// - each slider gets a number field beside its title (WCAG 2.5.7: set without dragging).
//   Enter or leaving the field sets the slider as a release of its handle does (Bokeh's
//   own `setv({value, value_throttled})`, so the page's release path is the one path), the
//   value clamped to the slider's range and put on its steps; the field follows the slider;
// - on a narrow screen the drawer (inputs, lessons) comes after the main area in Tab order,
//   as it does on screen (it is fixed at the bottom there; on a wide screen it is on the left),
//   and it starts closed: open, it would cover the part of the page under the figure (the
//   header's toggle, which says "Inputs", opens it; open, the page gets room to scroll clear).
// - the language switch takes the page's state as its URL holds it now (not as it opened).
// Sliders come and go (a new expression brings its own), so all this is done again after the
// Bokeh document changes its layout or a slider's range (which re-renders its handle).
(function () {
  "use strict"
  const WORDS = JSON.parse((document.getElementById("bpx-page-words") || {}).textContent || "{}")
  const fill = (text, args) => text.replace(/\{(\w+)\}/g, (_, k) => args[k])

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

  // --- a number field beside each slider ------------------------------------------------------
  const decimals = (x) => {
    const s = String(x), e = s.indexOf("e-"), dot = s.indexOf(".")
    return e >= 0 ? +s.slice(e + 2) + Math.max(0, (dot >= 0 ? e - dot - 1 : 0)) : dot >= 0 ? s.length - dot - 1 : 0
  }
  // `text` as a value of the slider: a number, clamped to its range, on its steps (as a drag
  // leaves it); null for no number
  function settle(model, text) {
    const x = Number(String(text).trim().replace(/[,，]/g, "."))
    if (String(text).trim() === "" || !Number.isFinite(x)) return null
    const { start, end, step } = model
    const digits = Math.max(decimals(step), decimals(start))
    let v = step > 0 ? start + Math.round((x - start) / step) * step : x
    v = Number(v.toFixed(Math.min(digits, 20)))
    return Math.min(Math.max(v, start), end)
  }
  const shown = (model) => String(Number(model.value.toFixed(Math.min(decimals(model.step) + 1, 20))))

  // (a slider's value changes on every frame of a drag: the field's attributes are written
  // only when they change, each write restyling the field)
  const put = (field, key, value) => { if (field[key] !== value) field[key] = value }
  function sync(field, model) {
    put(field, "min", String(model.start)); put(field, "max", String(model.end)); put(field, "step", String(model.step))
    put(field, "disabled", !!model.disabled)
    const name = fill(WORDS.slider_field || "{name}", { name: model.title })
    if (field.getAttribute("aria-label") !== name) field.setAttribute("aria-label", name)
    if (!(field.dataset.dirty && field.getRootNode().activeElement === field)) {
      field.value = shown(model)
      delete field.dataset.dirty
    }
  }

  function commit(field, model) {
    if (!field.dataset.dirty) return
    delete field.dataset.dirty
    const v = settle(model, field.value)
    if (v !== null && v !== model.value) model.setv({ value: v, value_throttled: v })  // a release
    field.value = shown(model)
  }

  function makeField(model) {
    const field = document.createElement("input")
    field.type = "number"
    field.inputMode = "decimal"
    field.className = "bpx-slider-field"
    field.addEventListener("input", () => { field.dataset.dirty = "1" })
    field.addEventListener("change", () => commit(field, model))
    field.addEventListener("blur", () => commit(field, model))
    field.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); field.dataset.dirty = "1"; commit(field, model) }
      else if (ev.key === "Escape" && field.dataset.dirty) { delete field.dataset.dirty; sync(field, model) }
    })
    return field
  }

  const followed = new WeakSet()
  function addFields(doc) {
    const index = window.Bokeh.index
    for (const model of doc.all_models) {
      if (model.type !== "Slider") continue
      const view = index.find_one(model)
      const group = view && view.shadow_el && view.shadow_el.querySelector(".bk-input-group")
      if (!group) continue  // a slider no longer on the page
      let field = group.querySelector(":scope > .bpx-slider-field")
      if (!field) {
        field = makeField(model)
        group.insertBefore(field, group.querySelector(":scope > .bk-slider-title").nextSibling)
        group.classList.add("bpx-has-field")
      }
      model._bpx_field = field
      sync(field, model)
      if (!followed.has(model)) {
        followed.add(model)
        const { value, start, end, step, title, disabled } = model.properties
        for (const p of [value, start, end, step, title, disabled])
          p.change.connect(() => { const f = model._bpx_field; if (f && f.isConnected) sync(f, model); else soon() })
      }
    }
  }

  // --- Tab order on a narrow screen: the main area, then the drawer: its inputs, then the
  // list of lessons (responsive.css shows them in that order) -------------------------------
  const narrow = window.matchMedia("(max-width: 991.98px)")
  function placeDrawer() {
    const sidebar = document.getElementById("sidebar"), main = document.getElementById("main")
    if (!sidebar || !main || sidebar.parentNode !== main.parentNode) return
    const after = sidebar.previousElementSibling === main
    if (narrow.matches && !after) main.after(sidebar)
    else if (!narrow.matches && after) main.before(sidebar)
    // the lessons are the sidebar's first root (components/navigation.py)
    const roots = sidebar.querySelector(":scope > .nav")
    const lessons = roots && (roots.querySelector(":scope > [data-bpx-lessons]") || roots.firstElementChild)
    if (!lessons) return
    lessons.dataset.bpxLessons = ""
    if (narrow.matches && lessons.nextElementSibling) roots.append(lessons)
    else if (!narrow.matches && lessons.previousElementSibling) roots.prepend(lessons)
  }
  // closed where it is a drawer, open where it is a sidebar: on the page's first layout and
  // whenever the window crosses between the two
  function showDrawer(open) {
    const sidebar = document.getElementById("sidebar"), toggle = document.getElementById("sidebar-toggle")
    if (!sidebar) return
    sidebar.classList.toggle("show", open)
    if (toggle) toggle.setAttribute("aria-expanded", String(open))
  }
  placeDrawer()
  showDrawer(!narrow.matches)
  narrow.addEventListener("change", () => { placeDrawer(); showDrawer(!narrow.matches) })

  // --- the language switch (components/navigation.py) takes the page as it is now --------
  // A live page writes its state into its URL as it changes (components/urlstate.py); the
  // link, made when the page was built, carries the state the page opened with. When it is
  // followed (or its menu opened, to copy it), its query becomes the URL's with its language.
  // A link to a file (the static site: one file per page and language) gets the URL's
  // query as it is (a static page writes its state there too: static/golive-load.js).
  function followState(e) {
    const a = e.composedPath().find((el) => el instanceof Element && el.matches("a[hreflang]"))
    if (!a) return
    const href = a.getAttribute("href") || "", query = new URLSearchParams(window.location.search)
    if (href.startsWith("?")) {
      query.set("lang", a.getAttribute("hreflang"))
      a.setAttribute("href", "?" + query)
    } else if (!/^[a-z][a-z0-9+.-]*:|^\//i.test(href)) {  // a file of the same site
      if (a.dataset.bpxFile === undefined) a.dataset.bpxFile = href.split(/[?#]/)[0]
      const q = String(query)
      a.setAttribute("href", a.dataset.bpxFile + (q ? "?" + q : ""))
    }
  }
  for (const type of ["click", "auxclick", "contextmenu"]) document.addEventListener(type, followState, true)

  let pending = 0
  function soon() {
    if (pending) return
    pending = setTimeout(() => {
      pending = 0
      nameHandles(document)
      const doc = window.Bokeh && window.Bokeh.documents && window.Bokeh.documents[0]
      if (doc) addFields(doc)
    }, 60)
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
