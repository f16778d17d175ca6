// A lesson's figure over its own controls' grid, with no server behind the page
// (components/states.py): the outputs each point of the grid shows were computed by the
// lesson's own code when the site was built; a control's change shows the point of the
// controls' current values. Panel's jscallback runs this with `controls` and `outputs` (the
// models, listed in a line components/states.py puts before this code) and `table`, whose
// JSON (specs, props, values, states) is read once.
if (!table._bpx_states) table._bpx_states = JSON.parse(table.data.json[0])
const { specs, props, values, states } = table._bpx_states
const point = []
for (let i = 0; i < specs.length; i++) {
  const c = controls[i], s = specs[i]
  point.push(s.kind === "options" ? c.active : Math.round((c.value - s.start) / s.step))
}
const refs = states[point.join(",")]
// an image column holds 2D arrays: BokehJS draws them from its own ndarrays, not nested lists
const { ndarray } = Bokeh.require("core/util/ndarray")
const columns = (data) => Object.fromEntries(Object.entries(data).map(([k, column]) => [k,
  column.map((x) => Array.isArray(x) && Array.isArray(x[0])
    ? ndarray(x.flat(), { dtype: "float64", shape: [x.length, x[0].length] }) : x)]))
if (refs) {
  for (let i = 0; i < refs.length; i++) {
    const o = outputs[i], prop = props[i], value = values[refs[i]]
    if (prop === "data") o.data = columns(value)
    // a text: its words with a mark where each of its numbers goes (components/states.py)
    else if (prop === "text") o.text = values[value[0]].split("\u27ea").map((w, k) => k ? value[1][k - 1] + w : w).join("")
    else o[prop] = value
  }
}
