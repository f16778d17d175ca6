// The page's words, in the language of its URL (lang=zh), English otherwise.
export const WORDS = {
  en: {
    steps: {
      inputs: "Inputs", op: "Forward: compute a node", seed: "Seed: the loss with respect to itself",
      gradient: "Backward: incoming gradient × local derivative", sum: "Fan-out: contributions add up",
      blocked: "Stop-gradient: nothing passes",
    },
    idle: {
      graph: "Graph: the structure only. Parameters are blue circles, data green squares, operations orange; the loss is the hexagon.",
      forward: "Forward: every node's value, from the inputs to the loss. Press ▶ to watch the values travel.",
      backward: "Backward: every gradient, from ∂L/∂L = 1 back to the inputs. Each edge shows × local derivative → contribution.",
    },
    kinds: { parameter: "parameter", data: "data", constant: "constant", op: "", loss: "loss", sg: "stop-grad", group: "group" },
    members: (n) => `${n} nodes`,
    notComputed: "not computed", play: "▶ Play", pause: "❚❚ Pause",
    step: (k, n) => `Step ${k} / ${n}`, count: (n) => `${n} steps`,
    stats: (e, s, b) => `${e} local derivatives evaluated, ${s} skipped` + (b ? `, ${b} stop-gradient${b > 1 ? "s" : ""}` : "") + ".",
  },
  zh: {
    steps: {
      inputs: "输入", op: "前向：计算一个节点", seed: "起点：损失对自身的导数",
      gradient: "反向：传入梯度 × 局部导数", sum: "分支：各路贡献相加",
      blocked: "Stop-Gradient：梯度在此截断",
    },
    idle: {
      graph: "计算图：只看结构。参数是蓝色圆，数据是绿色方块，运算是橙色；损失是六边形。",
      forward: "前向传播：从输入到损失，每个节点的值。按 ▶ 观看数值沿边流动。",
      backward: "反向传播：从 ∂L/∂L = 1 出发，回到每个输入的梯度。每条边显示 × 局部导数 → 贡献。",
    },
    kinds: { parameter: "参数", data: "数据", constant: "常数", op: "", loss: "损失", sg: "stop-grad", group: "组" },
    members: (n) => `${n} 个节点`,
    notComputed: "未计算", play: "▶ 播放", pause: "❚❚ 暂停",
    step: (k, n) => `第 ${k} / ${n} 步`, count: (n) => `共 ${n} 步`,
    stats: (e, s, b) => `计算了 ${e} 个局部导数，跳过 ${s} 个` + (b ? `，${b} 个 stop-gradient` : "") + "。",
  },
}
const LANG = (() => {
  try { return new URLSearchParams(window.location.search).get("lang") === "zh" ? "zh" : "en" } catch { return "en" }
})()
export const T = WORDS[LANG]
