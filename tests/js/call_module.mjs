// Calls exported functions of a browser module: stdin JSON [[name, [args...]], ...] in
// (a name may be a path: "OPS.add.forward"; an argument that is a list stays a list),
// stdout JSON [result, ...] out. Numbers that JSON cannot hold travel as strings both
// ways: "nan", "inf", "-inf" and "-0". Used by tests/test_ieee.py and tests/test_tape_replay.py.
import { readFileSync } from "node:fs"
import { pathToFileURL } from "node:url"

const [modulePath] = process.argv.slice(2)
const mod = await import(pathToFileURL(modulePath).href)
const dec = (x) => (x === "nan" ? NaN : x === "inf" ? Infinity : x === "-inf" ? -Infinity : x === "-0" ? -0 : x)
const enc = (x) => (typeof x !== "number" ? x : x !== x ? "nan" : x === Infinity ? "inf"
  : x === -Infinity ? "-inf" : Object.is(x, -0) ? "-0" : x)
const calls = JSON.parse(readFileSync(0, "utf8"))
const arg = (a) => (Array.isArray(a) ? a.map(dec) : dec(a))
const out = (r) => (Array.isArray(r) ? r.map(enc) : enc(r))
const find = (name) => name.split(".").reduce((o, k) => o[k], mod)
process.stdout.write(JSON.stringify(calls.map(([name, args]) => out(find(name)(...args.map(arg))))))
