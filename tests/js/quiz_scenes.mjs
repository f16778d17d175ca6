// The Predict quiz across scenes (static/explorer/predict.mjs): prints JSON of what the quiz
// keeps when a scene arrives. Used by tests/test_predict_quiz.py.
import { Quiz } from "../../static/explorer/predict.mjs"

const scene = (nodes) => ({ tape: { op: nodes.map(() => "add") }, steps: { backward: nodes.map((n) => ({ node: n, nodes: [n] })) },
                            nodes: { id: nodes } })
const state = (q) => ({ position: q.position, right: q.right, tried: q.tried })
const seed = scene([0, 1, 2, 3])
const out = {}

// Predict chosen: the page begins a quiz of the graph it shows; the student answers step 1;
// then the server's scene for the new mode (the same graph, a new object) arrives
let q = new Quiz({ scene: seed })
q.begin(seed)
Object.assign(q, { position: 1, right: 1, tried: 1 })
q.adopt(JSON.parse(JSON.stringify(seed)))
out.late_scene_same_graph = state(q)

// a scene of another graph starts again
q.adopt(scene([0, 1, 2]))
out.other_graph = state(q)

process.stdout.write(JSON.stringify(out))
