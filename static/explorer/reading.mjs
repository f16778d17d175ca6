// Reading the numbers a scene shows: which tape entry a drawn node stands for, which drawn
// edge a step names, and what an edge carries back. `scene` is the JSON the server sends
// (nodes, edges, tape, steps, mode); `result` is replay(scene.tape, ...).

import { blocksGradient, contribution as throughOp, fmt, paren } from "./replay.mjs"

// the tape index whose numbers drawn node i shows (a closed group shows its output)
export function tapeIndex(scene, i) { const t = scene.nodes.tape; return t ? t[i] : i }

// the loss's name as the drawing writes it ("L")
export function lossName(scene) {
  const N = scene.nodes
  return N.id.length ? N.name[N.tape ? N.tape.indexOf(scene.tape.root) : scene.tape.root] : "L"
}

// the index of edge (u, v, slot) in the scene (-1: none); playback asks for every step's
// edges each frame, so the lookup is a map made once per scene
export function edgeIndex(scene, u, v, slot) {
  const E = scene.edges
  if (E._index === undefined) {
    E._index = new Map()
    for (let k = 0; k < E.u.length; k++) E._index.set(`${E.u[k]},${E.v[k]},${E.slot[k]}`, k)
  }
  const k = E._index.get(`${u},${v},${slot}`)
  return k === undefined ? -1 : k
}

// the local derivative of tape entry v with respect to its input `slot`
export function local(result, v, slot) { return result.local(v, slot) }

// what the traced edge (u, v, slot) carries back to u
export function contribution(scene, result, edge) { return carried(scene, result, edge[0], edge[1], edge[2]) }

function carried(scene, result, u, v, slot) {
  const tape = scene.tape
  if (!tape.active[v] || !tape.active[u] || blocksGradient(tape.op[v])) return 0
  return throughOp(tape.op[v], result.grad[v], local(result, v, slot))
}

// the tape parent of the j-th traced edge drawn edge k stands for (edges.tails; without
// them every traced edge leaves the drawn parent's own tape entry)
function tail(scene, k, j) {
  const T = scene.edges.tails
  return T ? T[k][j] : tapeIndex(scene, scene.edges.u[k])
}

// whether drawn edge k leaves several traced parents (a closed layer's outputs)
export function manyTails(scene, k) {
  const E = scene.edges
  if (!E.tails) return false
  if (E._many === undefined) E._many = E.tails.map((ts) => ts.some((t) => t !== ts[0]))
  return E._many[k]
}

// the drawn edge that stands for traced edge [u, v, slot] (-1: none drawn)
export function drawnEdge(scene, [u, v, slot]) {
  const E = scene.edges
  if (!E.via) return edgeIndex(scene, u, v, slot)
  if (E._traced === undefined) {
    E._traced = new Map()
    for (let k = 0; k < E.u.length; k++) E.via[k].forEach(([tv, ts], j) => E._traced.set(`${tail(scene, k, j)},${tv},${ts}`, k))
  }
  const k = E._traced.get(`${u},${v},${slot}`)
  return k === undefined ? -1 : k
}

// The traced edges behind each drawn edge (edges.via), flat, made once per scene: drawn
// edge k stands for entries off[k] .. off[k + 1] - 1, each a traced edge (u, v, slot) and
// its parent's place (group) among the edge's distinct parents, in order of appearance.
function tracedEdges(scene) {
  const E = scene.edges
  if (E._flat) return E._flat
  const m = E.u.length
  let total = 0
  for (let k = 0; k < m; k++) total += E.via[k].length
  const f = { off: new Int32Array(m + 1), u: new Int32Array(total), v: new Int32Array(total), slot: new Int32Array(total),
              group: new Int32Array(total), groups: new Int32Array(m) }
  let e = 0
  for (let k = 0; k < m; k++) {
    f.off[k] = e
    const place = new Map()
    E.via[k].forEach(([v, slot], j) => {
      const u = tail(scene, k, j)
      if (!place.has(u)) place.set(u, place.size)
      f.u[e] = u; f.v[e] = v; f.slot[e] = slot; f.group[e] = place.get(u); e++
    })
    f.groups[k] = place.size
  }
  f.off[m] = e
  E._flat = f
  return f
}

// what drawn edge k carries back: the sum over the traced edges it stands for (edges.via)
export function edgeContribution(scene, result, k) {
  const E = scene.edges
  if (!E.via) return carried(scene, result, E.u[k], E.v[k], E.slot[k])
  const f = tracedEdges(scene)
  let sum = 0
  for (let e = f.off[k]; e < f.off[k + 1]; e++) sum += carried(scene, result, f.u[e], f.v[e], f.slot[e])
  return sum
}

// how much gradient drawn edge k carries back (its width in the backward pass): the norm
// of what reaches each traced parent along it, as graphviz_core.grouping.flow defines it
export function edgeFlow(scene, result, k) {
  const E = scene.edges
  if (!E.via) return Math.abs(edgeContribution(scene, result, k))
  // each parent's sum starts at 0.0, as in grouping.flow (a nan in it stays nan)
  const f = tracedEdges(scene), G = f.groups[k]
  if (G === 1) {  // one parent (an edge between neurons): the norm of one sum
    let sum = 0
    for (let e = f.off[k]; e < f.off[k + 1]; e++) sum += carried(scene, result, f.u[e], f.v[e], f.slot[e])
    return Math.hypot(sum)
  }
  const per = new Array(G).fill(0)
  for (let e = f.off[k]; e < f.off[k + 1]; e++) per[f.group[e]] += carried(scene, result, f.u[e], f.v[e], f.slot[e])
  return Math.hypot(...per)
}

// a layer (nodes.outputs: its output vector) shows a norm, every other node its tape entry
export function isVector(scene, i) { const O = scene.nodes.outputs; return !!(O && O[i].length > 1) }
export function shownValue(scene, result, i) { return shown(scene, result.value, i) }
export function shownGrad(scene, result, i) { return shown(scene, result.grad, i) }
function shown(scene, numbers, i) {
  const O = scene.nodes.outputs
  if (O && O[i].length) return O[i].length === 1 ? numbers[O[i][0]] : Math.hypot(...O[i].map((t) => numbers[t]))
  return numbers[tapeIndex(scene, i)]
}

// the schedule's formulas carry placeholders; the numbers come from the current replay
// (a norm placeholder names several tape entries: graphviz_core.schedule.norm_ref)
export function fillNumbers(result, template) {
  return template.replace(/\u27e8(p?)([vgl]|n[vg])\|(\d+(?:,\d+)*)(?:\|(\d+))?(?:~(\d+))?\u27e9/g, (_, p, kind, n, slot, digits) => {
    const d = digits ? +digits : 4
    if (kind[0] === "n") {
      const of = kind === "nv" ? result.value : result.grad
      return fmt(Math.hypot(...n.split(",").map((t) => of[+t])), d)
    }
    const x = kind === "v" ? result.value[+n] : kind === "g" ? result.grad[+n] : local(result, +n, +slot)
    return p ? paren(x, d) : fmt(x, d)
  })
}

// the steps of the pass on screen (none in graph mode)
export function passSteps(scene) { const m = scene.mode; return m === "graph" ? [] : scene.steps[m] || [] }
