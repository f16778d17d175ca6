// The requires_grad switches on a page with no server behind it (the static site): the
// leaves switched off, read from the page's link (`off=a,b`, as the live page's; the page's
// link script writes it with the rest of its state: static/golive-load.js), and the scene
// pruned to what the backward pass then computes (View.requiresGrad).

import { activeFlags, prunedSteps } from "./replay.mjs"
import { taggedModel } from "./bokeh.mjs"

// The tag of a requires_grad switch group (components/controls.py) and its link key
export const SWITCHES_TAG = "bpx-requires-grad"

// the leaves switched off in the page's link (`off=a,b`), the switches set to match
export function offInLink(doc) {
  let names = []
  try { names = (new URLSearchParams(window.location.search).get("off") || "").split(",").map((n) => n.trim()).filter(Boolean) } catch { return new Set() }
  const switches = taggedModel(doc, SWITCHES_TAG)
  if (switches && names.length) {
    const active = switches.labels.map((name, k) => (names.includes(name) ? -1 : k)).filter((k) => k >= 0)
    switches.setv({ active })
  }
  return new Set(names)
}

// `sc` pruned to the leaves `off`, from `unpruned` (the scene's tape entries active and
// backward steps as the server sent them): the tape entries the backward pass computes
// (activeFlags, the engine's rule) and the backward steps of those
export function pruneScene(sc, unpruned, off) {
  const { active: was, backward } = unpruned
  const active = activeFlags({ ...sc.tape, active: was }, off)
  sc.tape = { ...sc.tape, active }
  if (backward) sc.steps = { ...sc.steps, backward: prunedSteps(backward, active, sc.nodes.tape) }
}
