// The look of the drawing: marker and colours per node kind, and the colours of the passes.

export const STYLE = {
  parameter: { marker: "circle", fill: "#DCEBFA", line: "#0B63A8" },
  data: { marker: "square", fill: "#D7F1E6", line: "#00815C" },
  constant: { marker: "square", fill: "#EFEFEF", line: "#7A7A7A" },
  op: { marker: "circle", fill: "#FFF1CC", line: "#B07700" },
  loss: { marker: "hex", fill: "#FBDCCB", line: "#C2410C" },
  sg: { marker: "diamond", fill: "#F6E0EE", line: "#9D2E74" },
  group: { marker: "square_pin", fill: "#CCEFEA", line: "#0F766E" },  // a closed neuron of a big MLP
}
export const FLOW = { graph: "#8A96A3", forward: "#1F5FA8", backward: "#C2410C" }
export const BLOCKED = "#9D2E74"  // a stop-gradient edge
export const PRUNED = "#C9CED6"  // an edge the backward pass skips
export const FAULT = "#D21F3C"  // the outline and mark of a node whose number is not finite
export const FAULT_FILL = "#FDE2E6"
export const INK = "#1F2933"  // labels
export const NAME_INK = "#52606D"  // a node's name above it
export const EDGE_INK = "#334155"  // an edge's numbers

