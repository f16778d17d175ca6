"""Words shared by the lesson pages, in English and Chinese.

Each lesson keeps its own explanations next to its code; this module holds the
navigation titles, the seed's headings and the widget words every page uses.
"""

from __future__ import annotations

# navigation titles (short) per lesson slug
TITLES = {
    "chain-rule": {"en": "Chain rule", "zh": "链式法则"},
    "fan-out": {"en": "Fan-out", "zh": "分支"},
    "stop-gradient": {"en": "Stop-gradient", "zh": "Stop-Gradient"},
    "loss-value": {"en": "Does the gradient depend on L?", "zh": "梯度取决于 L 的值吗?"},
    "input-gradients": {"en": "Gradients of the inputs", "zh": "输入的梯度"},
    "same-gradient": {"en": "Same gradient, different graph", "zh": "相同梯度,不同计算图"},
    "loss-matters": {"en": "When the loss value matters", "zh": "损失值何时重要"},
}

# the seed's headings, as it writes them in each language
HEADINGS = {
    "forward": {"en": "Forward Pass", "zh": "前向传播"},
    "backward": {"en": "Backward Pass (Backpropagation)", "zh": "反向传播"},
    "fan-out": {"en": "Multivariate Chain Rule and Fan-Out", "zh": "多元链式法则与分支"},
    "stop-gradient": {"en": "Stop-Gradient (Detach)", "zh": "Stop-Gradient(Detach)"},
    "loss-value": {"en": "Does the Gradient Depend on <i>L</i>'s Value?",
                   "zh": "梯度取决于 <i>L</i> 的值吗?"},
    "why-decrease": {"en": "If the Loss Value Doesn't Matter, Why Do We Want It to Decrease?",
                     "zh": "既然损失值不重要,为什么希望它下降?"},
    "inputs": {"en": "What Happens to Gradients That Flow to the Inputs?",
               "zh": "流到输入的梯度去哪了?"},
    "same-loss": {"en": "Loss Functions with the Same Gradient", "zh": "梯度相同的损失函数"},
    "same-gradient": {"en": "Same Gradient, Different Computation Graph",
                      "zh": "相同梯度,不同计算图"},
    "loss-matters": {"en": "When Does the Loss Value Matter?", "zh": "损失值何时重要?"},
}

WORDS = {
    "en": {
        "inputs": "Inputs", "mode_graph": "Graph", "mode_forward": "Forward",
        "mode_backward": "Backward", "start": "↺ Start", "back": "◀ Step", "play": "▶ Play",
        "step": "Step ▶", "speed": "Speed", "present": "Presentation",
        "table": ["Node", "Definition", "Value", "Gradient", "Fault"],
        "values_card": "Values of every node",
        "switch_hint": "Untick a leaf: the backward pass skips everything only it feeds.",
        "play_cue": ("▶ <b>Press Play</b> (or the space bar) to watch the gradient travel "
                     "back from <i>L</i>, one edge at a time. ◀ Step / Step ▶ go one step."),
        "live": "Live numbers", "step_word": "step", "never": "never",
        "learning_rate": "Learning rate", "threshold": "Early-stopping threshold",
        "descent": "Gradient descent",
    },
    "zh": {
        "inputs": "输入", "mode_graph": "计算图", "mode_forward": "前向",
        "mode_backward": "反向", "start": "↺ 开始", "back": "◀ 上一步", "play": "▶ 播放",
        "step": "下一步 ▶", "speed": "速度", "present": "演示模式",
        "table": ["节点", "定义", "值", "梯度", "异常"],
        "values_card": "每个节点的值",
        "switch_hint": "取消勾选一个叶子:反向传播会跳过只由它提供输入的所有节点。",
        "play_cue": ("▶ <b>按“播放”</b>(或空格键),看梯度从 <i>L</i> 出发,一条边一条边地往回传。"
                     "“上一步 / 下一步”可以逐步查看。"),
        "live": "实时数值", "step_word": "步", "never": "从不",
        "learning_rate": "学习率", "threshold": "提前停止阈值",
        "descent": "梯度下降",
    },
}


# Words of the page frame and of assistive technology (accessible names, announcements).
# Kept beside WORDS until the UI word catalogue (#15 item 4) takes both in.
A11Y_WORDS = {
    "en": {
        "toggle": "Show or hide the inputs and the lessons",
        "lessons": "Lessons",
    },
    "zh": {
        "toggle": "显示或隐藏输入与课程",
        "lessons": "课程",
    },
}
