// The page's own JavaScript per frame, in Node: replay, drawing and values table of the
// scenes bench_page_js.py writes (min / median ms of 60 runs). Run by bench/bench_page_js.py.
import { readFileSync } from "node:fs"

const [dir, ...names] = process.argv.slice(2)
const { replay } = await import("../static/explorer/replay.mjs")
const { drawing } = await import("../static/explorer/render.mjs")
const { tableColumns } = await import("../static/explorer/table.mjs")
const { separateParallelEdges } = await import("../static/explorer/geometry.mjs")
const { passSteps } = await import("../static/explorer/reading.mjs")

function time(f, reps = 60) {
  for (let k = 0; k < 5; k++) f(k)
  const t = []
  for (let k = 0; k < reps; k++) { const t0 = performance.now(); f(k); t.push(performance.now() - t0) }
  t.sort((a, b) => a - b)
  return `${t[0].toFixed(2)} / ${t[t.length >> 1].toFixed(2)}`
}

console.log(`${"scene".padEnd(20)}${"drawn".padStart(6)}${"tape".padStart(7)}${"replay".padStart(15)}${"drawing".padStart(15)}${"table".padStart(15)}${"playback step".padStart(16)}`)
for (const name of names) {
  const sc = JSON.parse(readFileSync(`${dir}/${name}.json`, "utf8"))
  separateParallelEdges(sc.edges)
  const v0 = Object.keys(sc.tape.variable)[0]
  let r
  const rep = time((k) => { r = replay(sc.tape, { [v0]: 0.1 + 0.001 * k }) })
  const xs = sc.nodes.x, ys = sc.nodes.y
  const box = [Math.min(...xs) - 1, Math.max(...xs) + 1, Math.min(...ys) - 1, Math.max(...ys) + 1]
  const at = { seen: null, step: null, ppu: 1200 / (box[1] - box[0]), box, frame: box, presentation: false }
  // a drag frame: a new replay, so the edge flows are computed again
  const dr = time(() => { r.flows = undefined; drawing(sc, r, at) })
  const tb = time(() => tableColumns(sc, r, null))
  const steps = passSteps(sc)
  const step = steps[steps.length >> 1]
  const pl = step ? time(() => drawing(sc, r, { ...at, seen: new Set(), step })) : "-"
  console.log(`${name.padEnd(20)}${String(sc.nodes.id.length).padStart(6)}${String(sc.tape.op.length).padStart(7)}${rep.padStart(15)}${dr.padStart(15)}${tb.padStart(15)}${pl.padStart(16)}`)
}
console.log("ms, min / median of 60 runs each: replay (the tape, a slider moved), drawing (figure columns), table (values table columns), playback step (a step's drawing)")
