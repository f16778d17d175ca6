// The caption under the figure: what the current step computes, with its numbers, or what
// the pass on screen shows; and the step counter beside it.

import { T } from "./words.mjs"
import { fillNumbers, passSteps } from "./reading.mjs"

// {html, counter}: the caption's HTML and the counter's text
export function captionFor(sc, r, player) {
  const p = player, mode = sc.mode
  if (p.index >= 0 && p.steps[p.index]) {
    const s = p.steps[p.index]
    // the typeset formula is a picture (MathJax's SVG, hidden from assistive technology:
    // markup.mjs): its words are the step's plain-text formula
    const words = s.text_template ? fillNumbers(r, s.text_template) : s.text || ""
    return {
      html: `<div class="bpx-step-kind bpx-${s.kind}">${T.steps[s.kind] || s.kind}</div>` +
            `<div class="bpx-formula bpx-formula-${mode}" role="img" aria-label="${attribute(words)}">` +
            `$$${s.latex_template ? fillNumbers(r, s.latex_template) : s.latex}$$</div>`,
      counter: T.step(p.index + 1, p.steps.length),
    }
  }
  return {
    html: `<div class="bpx-idle">${T.idle[mode] || ""}` +
          (mode === "backward" ? ` <span class="bpx-stats">${T.stats(r.evaluated, r.skipped, r.blocked)}</span>` : "") + `</div>`,
    counter: mode === "graph" ? "" : T.count(passSteps(sc).length),
  }
}

const ESCAPED = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }
const attribute = (text) => String(text).replace(/[&<>"]/g, (c) => ESCAPED[c])
