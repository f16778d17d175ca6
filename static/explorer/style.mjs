// The look of the drawing: marker and colours per node kind, and the colours of the passes.
// Outlines and edges are Okabe-Ito hues (blue, bluish green, orange, vermillion, reddish
// purple), darkened where needed for 3:1 against the figure; a kind is also told by its
// marker and its label, a stop-gradient edge by its dashes, a pruned one by its dots, a fault
// by its ⚠. `python3 tools/palette_check.py` simulates deuteranopia and protanopia on them.

export const STYLE = {
  parameter: { marker: "circle", fill: "#DCEBFA", line: "#0072B2" },
  data: { marker: "square", fill: "#D7F1E6", line: "#007F5F" },
  constant: { marker: "square", fill: "#EFEFEF", line: "#8A8A8A" },
  op: { marker: "circle", fill: "#FFF1CC", line: "#A67C00" },
  loss: { marker: "hex", fill: "#FBDCCB", line: "#9A3B00" },
  sg: { marker: "diamond", fill: "#F6E0EE", line: "#A8488F" },
  group: { marker: "square_pin", fill: "#CCEFEA", line: "#1F1F1F" },  // a closed neuron of a big MLP
}
// a closed layer: its neurons' colours (it is all of them), told apart by its square, its size
// and its norm label - not a hue of its own
STYLE.layer = { ...STYLE.group, marker: "square" }
export const FLOW = { graph: "#76818E", forward: "#0072B2", backward: "#D55E00" }
export const BLOCKED = "#A8488F"  // a stop-gradient edge
export const PRUNED = "#C9CED6"  // an edge the backward pass skips
export const FAULT = "#A3001E"  // the outline and mark of a node whose number is not finite
export const FAULT_FILL = "#FDE2E6"
export const INK = "#1F2933"  // labels
export const NAME_INK = "#52606D"  // a node's name above it
export const EDGE_INK = "#334155"  // an edge's numbers
export const BACKGROUND = "#FCFCFD"  // the figure's (components/graph_view.py background_fill_color)

