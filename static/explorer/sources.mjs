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

// `columns` with `rows - n` blank rows after its `n`: each column's blank is `blank[key]`, else
// its own first value (or `held`'s, the source's current columns, when `columns` is empty).
export function padded(columns, rows, blank, held) {
  const out = {}
  for (const key of Object.keys(columns)) {
    const col = columns[key], n = col.length
    const fill = key in blank ? blank[key] : n ? col[0] : held[key][0]
    const c = col.slice()
    c.length = rows
    c.fill(fill, n)
    out[key] = c
  }
  return out
}

// The columns last written to each source of one view.
export class Written {
  constructor() { this.drawn = new Map(); this.shrinking = new Map() }

  // a source is written only when one of its columns differs from what it holds
  update(source, columns, table = null) {
    if (!source) return
    const before = this.drawn.get(source)
    if (before && before.data === source.data && sameColumns(before.columns, columns)) return
    this.shrinking.delete(source)
    setData(source, columns, table)
    this.remember(source, columns)
  }

  // A Text glyph's source (`blank`: the values of a row that draws nothing, e.g. no text).
  // BokehJS rebuilds a text glyph's labels a microtask after its source's change signal,
  // but a layout change later in the same task (a taller caption, a new figure height)
  // makes the figure paint at once, in between: each old label's font is then read from the
  // new columns, and past their end it is "undefined undefined helvetica" - an uncaught
  // error, and a figure that stops drawing. So the source never gets shorter in the task
  // that draws: rows no longer needed are written blank, and dropped in a task of their
  // own, where nothing follows the write.
  updateText(source, columns, blank) {
    if (!source) return
    const before = this.drawn.get(source)
    if (before && before.data === source.data && sameColumns(before.columns, columns)) return
    const held = source.data, rows = Object.values(held)[0]?.length ?? 0
    const n = Object.values(columns)[0]?.length ?? 0
    if (n >= rows) return this.update(source, columns)
    setData(source, padded(columns, rows, blank, held))
    this.remember(source, columns)
    this.shrinking.set(source, columns)
    setTimeout(() => {
      if (this.shrinking.get(source) !== columns) return  // drawn again since
      this.shrinking.delete(source)
      setData(source, columns)
      this.remember(source, columns)
    }, 0)
  }

  remember(source, columns) { this.drawn.set(source, { columns, data: source.data }) }
}
