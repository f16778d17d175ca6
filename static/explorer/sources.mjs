// Writing columns into the figure's data sources. Sources are edited with {sync: false}:
// nothing drawn here travels back over the websocket. A source whose columns did not
// change is left alone, so a slider move touches the labels only and a playback step the
// overlay only.

export function sameColumns(a, b) {
  const keys = Object.keys(b)
  if (Object.keys(a).length !== keys.length) return false
  for (const key of keys) {
    const p = a[key], q = b[key]
    if (p === q) continue
    if (!p || !q || p.length !== q.length) return false
    for (let i = 0; i < q.length; i++) if (p[i] !== q[i]) return false
  }
  return true
}

// `table`: the DataTable model showing `source`, if any
export function setData(source, columns, table = null) {
  if (table) {
    source.setv({ data: columns }, { sync: false, check_eq: false })
    source.change.emit()  // the DataTable redraws on this signal, not on the property change
    // ...and in Bokeh 3.9 only on its CDSView's change: same-length data left the cells stale
    table.view.change.emit()
    return
  }
  // A figure's source: its columns replaced in place and one change signal, which is what
  // its renderers redraw on. `setv` would also walk every new value looking for models and
  // signal the change twice (each time the glyphs re-read every column).
  const data = source.data
  for (const key of Object.keys(data)) if (!(key in columns)) delete data[key]
  Object.assign(data, columns)
  source.change.emit()
}

// The columns last written to each source of one view.
export class Written {
  constructor() { this.drawn = new Map() }

  // a source is written only when one of its columns differs from what it holds
  update(source, columns, table = null) {
    if (!source) return
    const before = this.drawn.get(source)
    if (before && before.data === source.data && sameColumns(before.columns, columns)) return
    setData(source, columns, table)
    this.remember(source, columns)
  }

  remember(source, columns) { this.drawn.set(source, { columns, data: source.data }) }
}
