// The page's words. They are written once, in components/words/ui.toml ([page.*]), and
// reach the page as the module words.generated.mjs (components/bundle.py). `T` holds the
// words of the page's language: the URL's `lang` at first, then the language each scene
// names (a saved file has no URL of its own). Templates: fill(T.key, {name: value}).
import { WORDS } from "./words.generated.mjs"

// Panel's HTML model shows its text unescaped once (as components/display.py writes it)
export const escape = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
  .replace(/"/g, "&quot;").replace(/'/g, "&#x27;")

export function fill(text, values) {
  return String(text).replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole))
}

function wordsFor(lang) {
  const w = WORDS[lang] || WORDS.en
  return {
    ...w,
    kinds: { op: "", ...w.kinds },
    notComputed: w.not_computed,
    members: (n) => fill(w.members, { n }),
    step: (k, n) => fill(w.step, { k, n }),
    count: (n) => fill(w.count, { n }),
    stats: (evaluated, skipped, blocked) =>
      fill(!blocked ? w.stats : blocked === 1 ? w.stats_blocked_one : w.stats_blocked_many, { evaluated, skipped, blocked }),
  }
}

function urlLanguage() {
  try { return new URLSearchParams(window.location.search).get("lang") || "en" } catch { return "en" }
}

export const T = wordsFor(urlLanguage())

// the scene names its language; every view of a page speaks the same one
export function setLanguage(lang) {
  if (lang && lang !== T.lang && WORDS[lang]) Object.assign(T, wordsFor(lang), { lang })
}

// a fault as the core words it ("log of zero", "undefined: inf - inf"), in the page's language
export function faultText(fault) {
  if (!fault) return fault
  const faults = T.faults || {}
  if (fault in faults) return faults[fault]
  const at = fault.indexOf(": ")
  const word = at > 0 ? faults[fault.slice(0, at + 1)] : undefined
  return word === undefined ? fault : word + (word.endsWith("：") ? "" : " ") + fault.slice(at + 2)
}
