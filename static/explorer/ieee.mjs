// The IEEE-754 primitives the op rules are written in: the twins of graphviz_core/ieee.py.
// static/explorer/ops.generated.mjs and rules.generated.mjs (the engine's op table and
// graphviz_core/rules.py, translated) call only these (and the rules module's few builtins);
// tests/test_ieee.py holds each to its Python twin on an extreme set of inputs.
// JavaScript's arithmetic is IEEE already (1 / -0 = -inf); Math.pow is not C99's pow.

export const INF = Infinity
export const NAN = NaN
export const isfinite_ = (x) => x - x === 0
export const is_integer_ = (x) => Number.isInteger(x)
export const is_odd_integer_ = (x) => Math.abs(x % 2) === 1
export const exp_ = (a) => Math.exp(a)
export const log_ = (a) => Math.log(a)  // -inf at +-0, nan below 0, as in C
export const sqrt_ = (a) => Math.sqrt(a)  // sqrt(-0) = -0
export const div_ = (a, b) => a / b
// C99's pow: Math.pow(1, nan), Math.pow(1, inf) and Math.pow(-1, +-inf) are nan, C's are 1
export const pow_ = (a, p) => (a === 1 || (a === -1 && p - p !== 0 && p === p) ? 1 : Math.pow(a, p))
export const sin_ = (a) => Math.sin(a)
export const cos_ = (a) => Math.cos(a)
export const tanh_ = (a) => Math.tanh(a)
export const abs_ = (a) => Math.abs(a)
export const ceil_ = (a) => Math.ceil(a)
