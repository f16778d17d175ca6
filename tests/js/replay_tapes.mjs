// Replays tapes through the browser module's replay(): stdin JSON in, stdout JSON out.
// Used by tests/test_tape_replay.py to hold the JS player to the Python engine.
import { readFileSync } from "node:fs"
import { pathToFileURL } from "node:url"

const [modulePath] = process.argv.slice(2)
const { replay, num } = await import(pathToFileURL(modulePath).href)
const cases = JSON.parse(readFileSync(0, "utf8"))
// numbers JSON cannot hold travel as strings: "nan", "inf", "-inf", "-0"
const enc = (x) => (x !== x ? "nan" : x === Infinity ? "inf" : x === -Infinity ? "-inf" : Object.is(x, -0) ? "-0" : x)
const dec = (x) => (x === "-0" ? -0 : num(x))
const out = cases.map(({ tape, overrides }) => {
  tape.value = tape.value.map(num)
  const r = replay(tape, Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, dec(v)])))
  return {
    value: Array.from(r.value, enc), grad: Array.from(r.grad, enc),
    locals: r.locals.map((l) => (l ? l.map(enc) : null)),
    fault: r.fault, gradFault: r.gradFault, evaluated: r.evaluated, skipped: r.skipped, blocked: r.blocked,
  }
})
process.stdout.write(JSON.stringify(out))
