"""A GPT language model (decoder-only transformer) in tinygrad_lite, laid out as nanoGPT's
``model.py`` (Andrej Karpathy, MIT) lays it out, with the same module and parameter names, so
that ``model.state_dict()`` has nanoGPT's keys (``transformer.wte.weight``,
``transformer.h.0.attn.c_attn.weight``, ..., ``lm_head.weight``) and weights move between the
two with ``tl.interop``.

    x = wte[idx] + wpe[0..T)                             token + position embeddings
    for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
    logits = lm_head(ln_f(x))                            lm_head shares wte's weight

attn is causal multi-head self-attention, ``softmax(q kᵀ / sqrt(d) + causal mask) v`` per
head, and mlp is Linear(C, 4C) -> GELU -> Linear(4C, C). The weights start N(0, 0.02²), the
residual projections (``c_proj``) N(0, (0.02 / sqrt(2 n_layer))²), biases 0, as in GPT-2.

Used by ``examples/char_gpt.py`` (nanoGPT's shakespeare_char configuration) and
``examples/makemore.py --model transformer`` (makemore's).

``tl.onnx.export(model, idx[:1], "gpt.onnx")`` exports it (opset 17): each module below has an
``onnx_nodes`` method, the exporter's hook, that adds the ONNX nodes of its forward in eval
mode. The graph maps token ids ``"input"`` (batch, T) int64 to ``"output"``, the logits of
every position (batch, T, vocab), as ``forward(idx, targets)`` returns them; T is the example's
(the positions and the causal mask are constants), the batch size is free.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.io.onnx import Graph, attention_nodes, join
from tinygrad_lite.nn import functional as F

Shape = Tuple[int, ...]

__all__ = ["GPT", "GPTConfig"]


@dataclass
class GPTConfig:
    block_size: int = 64  # the longest context
    vocab_size: int = 65
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False  # biases in the Linears and LayerNorms (GPT-2: True)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
        return self.resid_dropout(self.c_proj(y))

    def onnx_nodes(self, g: Graph, path: str, x: str, shape: Shape) -> Tuple[str, Shape]:
        """forward's nodes (eval mode) for tl.onnx.export: the causal mask is a (T, T) constant."""
        B, T, C = shape
        hs = C // self.n_head

        def const(name: str, value: Any) -> str:
            return g.const(join(path, name), value, np.int64)

        qkv, _ = g.layer(self.c_attn, x, shape)  # (B, T, 3C) -> (B, T, 3, nh, hs)
        qkv = g.node("Reshape", [qkv, const("qkv_shape", [0, T, 3, self.n_head, hs])], path)
        qkv = g.node("Transpose", [qkv], path, perm=[2, 0, 3, 1, 4])  # (3, B, nh, T, hs)
        q, k, v = (g.node("Gather", [qkv, const(f"{n}_index", i)], path, axis=0)
                   for i, n in enumerate("qkv"))
        y = attention_nodes(g, q, k, v, path, 1.0 / math.sqrt(hs), causal=T)
        y = g.node("Transpose", [y], path, perm=[0, 2, 1, 3])  # the heads side by side again
        y = g.node("Reshape", [y, const("merged_shape", [0, T, C])], path)
        return g.layer(self.c_proj, y, shape)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    def onnx_nodes(self, g: Graph, path: str, x: str, shape: Shape) -> Tuple[str, Shape]:
        return g.layer(self.c_proj, *g.layer(self.gelu, *g.layer(self.c_fc, x, shape)))


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))

    def onnx_nodes(self, g: Graph, path: str, x: str, shape: Shape) -> Tuple[str, Shape]:
        a, _ = g.layer(self.attn, *g.layer(self.ln_1, x, shape))
        x = g.node("Add", [x, a], path)
        m, _ = g.layer(self.mlp, *g.layer(self.ln_2, x, shape))
        return g.node("Add", [x, m], path), shape


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameters, less the position embeddings (the token embeddings are lm_head's)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def hidden_states(self, idx: tl.Tensor) -> tl.Tensor:
        """ln_f of the last block's output, (B, T, n_embd): what lm_head turns into logits."""
        b, t = idx.size()
        if t > self.config.block_size:
            raise ValueError(f"Cannot forward sequence of length {t}, block size is only "
                             f"{self.config.block_size}")
        pos = tl.arange(0, t, dtype=tl.int64)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        return self.transformer.ln_f(x)

    def forward(self, idx: tl.Tensor, targets: Optional[tl.Tensor] = None
                ) -> Tuple[tl.Tensor, Optional[tl.Tensor]]:
        """(logits (B, T, vocab), mean cross-entropy against `targets`, -1 ignored); without
        targets, the logits of the last position only, (B, 1, vocab)."""
        x = self.hidden_states(idx)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
            return logits, loss
        return self.lm_head(x[:, [-1], :]), None

    def onnx_nodes(self, g: Graph, path: str, idx: str, shape: Shape) -> Tuple[str, Shape]:
        """Token ids (B, T) -> the logits of every position (B, T, vocab): what
        ``forward(idx, targets)`` returns, not forward(idx)'s last position alone."""
        B, T = shape
        if T > self.config.block_size:
            raise ValueError(f"Cannot forward sequence of length {T}, block size is only "
                             f"{self.config.block_size}")
        tok, x_shape = g.layer(self.transformer.wte, idx, shape)
        positions = g.const(join(path, "positions"), np.arange(T), np.int64)
        pos, _ = g.layer(self.transformer.wpe, positions, (T,))
        x = g.node("Add", [tok, pos], path)
        for block in self.transformer.h:
            x, x_shape = g.layer(block, x, x_shape)
        return g.layer(self.lm_head, *g.layer(self.transformer.ln_f, x, x_shape))

    def configure_optimizers(self, weight_decay: float, learning_rate: float,
                             betas: Tuple[float, float]) -> tl.optim.AdamW:
        """AdamW with weight decay on the matrices and embeddings (2-D and more) only."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return tl.optim.AdamW(groups, lr=learning_rate, betas=betas)

    @tl.no_grad()
    def generate(self, idx: tl.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: Optional[int] = None, generator: Optional[Any] = None) -> tl.Tensor:
        """Append `max_new_tokens` ids to `idx` (B, T), each drawn from the model's
        distribution of the next id given the last block_size ids."""
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size \
                else idx[:, -self.config.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = tl.topk(logits, min(top_k, logits.size(-1)))
                logits = logits.masked_fill(logits < v[:, [-1]], float("-inf"))
            probs = F.softmax(logits, dim=-1)
            idx_next = tl.multinomial(probs, num_samples=1, generator=generator)
            idx = tl.cat((idx, idx_next), dim=1)
        return idx
