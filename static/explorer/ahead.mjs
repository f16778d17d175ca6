// Which formulas are typeset ahead: a playing step's caption typeset in the frame the step
// starts in was most of the frames a step dropped, so the coming steps' captions are handed
// to the caption's Markup (markup.mjs `ahead`), which typesets them one per idle moment.

import { captionFor } from "./caption.mjs"

// how long the page stays still (no new numbers) before the coming steps' formulas are typeset
const SETTLE_MS = 300
const AHEAD = 64  // how many coming formulas are typeset ahead
const PASSES = ["backward", "forward"]  // the passes a page in the graph mode may play next

// the coming steps' formulas of `view` are typeset ahead, not in the frame a step starts
// in: while the page is still (before Play), those of this pass from the current step on,
// or (the graph mode) the first ones of both passes; playing, the next step's alone, between
// frames - a typeset in the idle time of every frame (a Play soon after the page opened,
// before the still page had typeset them) made frames late all through the first seconds
export function typesetAhead(view) {
  const p = view.player, sc = view.scene, { caption } = view.args
  if (view.predicting) return
  const passes = p.index >= 0 && p.steps.length ? [[sc.mode, p.steps, p.index + 1]]
    : (sc.mode === "graph" ? PASSES : [sc.mode]).map((mode) => [mode, sc.steps[mode] || [], 0])
  const reach = p.playing ? 1 : AHEAD / passes.length
  const coming = []
  for (const [mode, steps, from] of passes)
    for (let k = from; k < steps.length && k < from + reach; k++) coming.push([mode, steps, k])
  const scenes = Object.fromEntries(passes.map(([mode]) => [mode, mode === sc.mode ? sc : { ...sc, mode }]))
  view.markup.ahead(caption, (j) => captionFor(scenes[coming[j][0]], view.result, { index: coming[j][2], steps: coming[j][1] }).html,
    coming.length, p.playing ? 0 : SETTLE_MS)
}
