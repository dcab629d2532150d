"""Random programs run side by side in tinygrad_lite and in PyTorch (float64, to 1e-10).

A program works on a register file of tensor pairs (ours, PyTorch's). Every instruction is
one function `fn(L, *tensors)` written once against a tiny adapter `L` (`TL` or `TH`), so both
frameworks run literally the same code. A program has three parts:

1. in-place updates of the leaves under `no_grad` (`a.mul_(c)`, `a[idx] = v`, `a.clamp_()`, ...);
2. out-of-place ops (arithmetic with broadcasting and scalars on both sides, elementwise
   functions, comparisons giving bool masks, `where`, reductions over (negative) dims with
   keepdim, `max(dim)`, softmax, var/std, reshape/view/transpose/permute/(un)squeeze, basic,
   integer-array and boolean-mask indexing, matmul, cat/stack) mixed with in-place updates of
   fresh non-leaf tensors, recorded in the graph or under `no_grad` (`h = a * 1; h.add_(b);
   h[0] = ...; h[1:] += b`);
3. a randomly weighted sum of every register no other register used (so every op's gradient
   is needed) and a few more, whose `backward` (sometimes twice, with retain_graph) must give
   every leaf and two retained intermediates the same `.grad` in both frameworks.

After each instruction the results are compared: values to 1e-10, bool masks and indices
exactly, `requires_grad` and `grad_fn is None` equal; at the end every register again (views
written through) and the version counters of those updated in place. Instructions whose inputs
lie within 1e-6 of a kink (relu/abs at 0, clamp bounds, max ties, a comparison's threshold)
without being exactly on it in both frameworks, or whose values leave [-100, 100], are skipped
(and listed as skipped): rounding alone could flip those. Half of the programs start from leaves
on a grid of quarters, so that exact ties (relu at 0, maximum of equal values, amax ties,
clamp at its bound) do occur. A failing example prints the program listing (hypothesis `note`).

Avoided on purpose: in-place updates of a tensor that an op already used (both check the
versions of the tensors an op *saved*, but an op here does not always save the same ones as
PyTorch's, so which updates a backward refuses can differ), and `h.mul_(h)` (both refuse it
at backward). tests/test_views_inplace.py covers those cases, views taken before in-place
changes included, and matches PyTorch's errors.
"""

import itertools
import random

import numpy as np
import pytest
from hypothesis import Phase, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """PyTorch's intra-op thread pool costs milliseconds per tiny reduction (max(dim) on a 3x4
    tensor: ~7 ms with 2 threads on a busy machine, 6 us with one): use one, then restore."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TOL = 1e-10  # rtol and atol
BOUND = 100.0  # registers must stay within [-BOUND, BOUND]
KINK = 1e-6  # inputs this close to a kink (and not exactly on it in both) are skipped


# ---- the adapters: one per framework ----------------------------------------------------------
def _convert_index(index, tensor):
    """numpy integer arrays inside an index become the framework's tensors."""
    if isinstance(index, tuple):
        return tuple(_convert_index(i, tensor) for i in index)
    if isinstance(index, np.ndarray):
        return tensor(index)
    return index


class TL:
    name = "tinygrad_lite"
    no_grad = tl.no_grad

    @staticmethod
    def leaf(a):
        return tl.Tensor(a.copy(), requires_grad=True)

    @staticmethod
    def const(a):
        return tl.Tensor(np.array(a, dtype=np.float64))

    @staticmethod
    def value(t):
        return np.array(t.data)

    @staticmethod
    def grad(t):
        return None if t.grad is None else np.array(t.grad)

    @staticmethod
    def index(index):
        return _convert_index(index, tl.Tensor)

    @staticmethod
    def where(cond, x, y):
        return tl.where(cond, x, y)

    @staticmethod
    def cat(ts, dim):
        return tl.cat(ts, dim)

    @staticmethod
    def stack(ts, dim):
        return tl.stack(ts, dim)

    @staticmethod
    def detach(t):
        return t.detach()


class TH:
    name = "torch"
    no_grad = torch.no_grad

    @staticmethod
    def leaf(a):
        return torch.tensor(a, dtype=torch.float64, requires_grad=True)

    @staticmethod
    def const(a):
        return torch.tensor(np.array(a, dtype=np.float64))

    @staticmethod
    def value(t):
        return t.detach().numpy().copy()

    @staticmethod
    def grad(t):
        return None if t.grad is None else t.grad.numpy().copy()

    @staticmethod
    def index(index):
        return _convert_index(index, torch.as_tensor)

    @staticmethod
    def where(cond, x, y):
        return torch.where(cond, x, y)

    @staticmethod
    def cat(ts, dim):
        return torch.cat(ts, dim)

    @staticmethod
    def stack(ts, dim):
        return torch.stack(ts, dim)

    @staticmethod
    def detach(t):
        return t.detach()


class Reg:
    """A register: a float tensor in both frameworks. `mutable`: may be updated in place
    (leaves before the forward pass; fresh copies and constants until something uses them)."""

    def __init__(self, name, a, b, mutable=False, leaf=False):
        self.name, self.tl, self.th, self.mutable, self.leaf = name, a, b, mutable, leaf
        self.modified = False  # updated in place at least once
        self.sink = True  # not used by another register (yet)

    @property
    def shape(self):
        return tuple(self.tl.shape)


class Mask:
    """A comparison result (a bool tensor in both frameworks)."""

    def __init__(self, name, a, b):
        self.name, self.tl, self.th = name, a, b

    @property
    def shape(self):
        return tuple(self.tl.shape)


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    pass


# ---- small helpers ------------------------------------------------------------------------
def _scalar(p):
    """A constant in [-2, 2], a multiple of 1/8 (exact in binary)."""
    return ((p % 33) - 16) / 8


def _nonzero(p):
    """A constant in +-[0.5, 2.25]: a safe divisor."""
    return (1 if p % 2 else -1) * (0.5 + (p // 2 % 8) / 4)


def _dim(p, ndim, extra=0):
    """A dim in [-n, n) for n = max(ndim, 1) + extra (negative dims included)."""
    n = max(ndim, 1) + extra
    return p % (2 * n) - n


def _axes(dim, ndim):
    """A dim argument as sorted numpy axes (None: all)."""
    if dim is None or ndim == 0:
        return None
    dims = dim if isinstance(dim, tuple) else (dim,)
    return tuple(sorted(d % ndim for d in dims))


def _reduced_count(shape, dim):
    axes = _axes(dim, len(shape))
    if axes is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in axes]))


def _broadcasts_to(small, big):
    try:
        return len(small) <= len(big) and np.broadcast_shapes(small, big) == tuple(big)
    except ValueError:
        return False


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _index_text(index):
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if p is None:
            out.append("None")
        elif p is Ellipsis:
            out.append("...")
        elif isinstance(p, slice):
            s = "" if p.start is None else str(p.start)
            s += ":" + ("" if p.stop is None else str(p.stop))
            if p.step is not None:
                s += f":{p.step}"
            out.append(s)
        elif isinstance(p, np.ndarray):
            out.append(str(p.tolist()))
        else:
            out.append(str(p))
    return ", ".join(out) if out else "()"


def _basic_index(shape, R):
    """A random basic index (ints, positive-step slices, None, Ellipsis) with a non-empty result."""
    ndim = len(shape)
    for _ in range(6):
        k = R.randint(0, ndim)
        dims = range(ndim - k, ndim) if R.random() < 0.25 else range(k)
        parts = []
        for i in dims:
            if R.random() < 0.1:
                parts.append(None)
            n = shape[i]
            if R.random() < 0.3:
                parts.append(R.randint(-n, n - 1))
            else:
                start = R.choice([None, R.randint(-n, n)])
                stop = R.choice([None, R.randint(-n - 1, n + 1)])
                parts.append(slice(start, stop, R.choice([None, 1, 2])))
        if dims and dims[0] > 0:
            parts.insert(0, Ellipsis)
        index = tuple(parts)
        if np.empty(shape)[index].size:
            return index
    return (Ellipsis,)


def _array_index(shape, R, unique):
    """A random integer-array index (negative entries; repeats unless `unique`)."""
    ndim = len(shape)

    def arr(n, k):
        picks = R.sample(range(n), min(k, n)) if unique else [R.randrange(n) for _ in range(k)]
        return np.array([i - n if R.random() < 0.3 else i for i in picks], dtype=np.int64)

    kinds = ["first", "last"] + (["second", "pair"] if ndim >= 2 else [])
    kind = R.choice(kinds)
    k = R.randint(1, 4)
    if kind == "first":
        a = arr(shape[0], k)
        if not unique and len(a) == 4 and R.random() < 0.5:
            a = a.reshape(2, 2)
        return (a,)
    if kind == "last":
        return (Ellipsis, arr(shape[-1], k))
    if kind == "second":
        return (slice(None), arr(shape[1], k))
    if unique:
        pairs = R.sample(list(itertools.product(range(shape[0]), range(shape[1]))),
                         min(k, shape[0] * shape[1]))
        return (np.array([p[0] for p in pairs]), np.array([p[1] - shape[1] for p in pairs]))
    return (arr(shape[0], k), arr(shape[1], k))


# ---- the interpreter ----------------------------------------------------------------------
class Machine:
    def __init__(self, seed, shapes, grid=False):
        """Leaves of the given shapes, uniform in [-2, 2]; on the grid of quarters if `grid`
        (then relu/abs at 0, clamp at its bounds, max and maximum ties, equal values under
        comparison occur exactly, in both frameworks alike)."""
        self.rng = np.random.default_rng(seed)
        self.grid = grid
        self.regs, self.masks = [], []
        self.counter = itertools.count(1)
        for i, shape in enumerate(shapes):
            data = self.values(shape)
            reg = Reg(f"a{i}", TL.leaf(data), TH.leaf(data), mutable=True, leaf=True)
            self.regs.append(reg)
            self.say(f"a{i} = leaf({np.array2string(data, precision=3, separator=', ')})"
                     f"  # {shape}")

    def values(self, shape):
        if self.grid:
            return self.rng.integers(-8, 9, shape) / 4
        return self.rng.uniform(-2, 2, shape)

    # -- bookkeeping
    def say(self, line):
        note(line)

    def pick(self, p, regs=None):
        regs = self.regs if regs is None else regs
        return regs[-1 - p % len(regs)]

    def partner(self, x, p):
        """A register whose shape broadcasts with x's (x itself when nothing else does)."""
        return self.pick(p, [r for r in self.regs if _broadcastable(r.shape, x.shape)])

    def check_pair(self, a, b, what):
        va, vb = TL.value(a), TH.value(b)
        assert va.shape == vb.shape, f"{what}: shape {va.shape} != torch's {vb.shape}"
        assert va.dtype == vb.dtype, f"{what}: dtype {va.dtype} != torch's {vb.dtype}"
        if va.dtype == np.bool_ or va.dtype.kind in "iu":
            np.testing.assert_array_equal(va, vb, err_msg=what)
        else:
            np.testing.assert_allclose(va, vb, rtol=TOL, atol=TOL, err_msg=what)
        assert a.requires_grad == b.requires_grad, f"{what}: requires_grad differs"
        assert (a.grad_fn is None) == (b.grad_fn is None), f"{what}: grad_fn presence differs"
        return va

    @staticmethod
    def near_kink(kinks, inputs):
        """True unless every kink distance is exactly 0 in both frameworks or > KINK in both."""
        if kinks is None:
            return False
        da = kinks(TL, *[i.tl for i in inputs])
        db = kinks(TH, *[i.th for i in inputs])
        for x, y in zip(da, db):
            exact = (x == 0) & (y == 0)
            far = (np.abs(x) > KINK) & (np.abs(y) > KINK)
            if not np.all(exact | far):
                return True
        return False

    def new(self, text, fn, inputs, kinks=None, mutable=False, prefix="r"):
        line = text.format(*[i.name for i in inputs])
        if self.near_kink(kinks, inputs):
            raise Skip(f"{line}  (near a kink)")
        a = fn(TL, *[i.tl for i in inputs])
        b = fn(TH, *[i.th for i in inputs])
        value = self.check_pair(a, b, line)
        if value.size == 0 or not np.all(np.abs(value) <= BOUND):
            raise Skip(f"{line}  (empty or out of range)")
        for i in inputs:
            if isinstance(i, Reg):
                i.mutable = False  # used: from now on an in-place update could stale its users
                i.sink = False
        reg = Reg(f"{prefix}{next(self.counter)}", a, b, mutable=mutable)
        self.regs.append(reg)
        self.say(f"{reg.name} = {line}  # {reg.shape}")
        return reg

    def compare(self, text, fn, inputs, kinks):
        """A comparison: a bool mask, equal in both frameworks element by element."""
        line = text.format(*[i.name for i in inputs])
        if self.near_kink(kinks, inputs):
            raise Skip(f"{line}  (a near tie)")
        a = fn(TL, *[i.tl for i in inputs])
        b = fn(TH, *[i.th for i in inputs])
        assert TL.value(a).dtype == np.bool_ and b.dtype == torch.bool, line
        self.check_pair(a, b, line)
        mask = Mask(f"m{next(self.counter)}", a, b)
        self.masks.append(mask)
        self.say(f"{mask.name} = {line}  # {mask.shape}")
        return mask

    def run(self, name, p):
        try:
            getattr(self, "op_" + name)(p)
            event(f"ran {name}")
        except Skip as skip:
            self.say(f"# skipped: {skip}")
            event(f"skipped {name}")

    # -- out-of-place instructions
    def op_fresh(self, p):
        x = self.pick(p[0])
        text = "{0} * 1" if p[1] % 2 else "{0}.clone()"
        self.new(text, (lambda L, x: x * 1) if p[1] % 2 else (lambda L, x: x.clone()), [x],
                 mutable=True)

    def op_const(self, p):
        shape = list(self.pick(p[0]).shape)
        bits = p[1]
        shape = [1 if bits >> i & 1 else n for i, n in enumerate(shape)][p[2] % 2:]
        data = self.values(shape)
        reg = Reg(f"c{next(self.counter)}", TL.const(data), TH.const(data), mutable=True)
        self.regs.append(reg)
        self.say(f"{reg.name} = const({np.array2string(data, precision=3, separator=', ')})")

    UNARY = [
        ("-{0}", lambda L, x: -x, None),
        ("{0} ** 2", lambda L, x: x**2, None),
        ("{0} ** 3", lambda L, x: x**3, None),
        ("(1 + {0} * {0}) ** -1.5", lambda L, x: (1 + x * x) ** -1.5, None),
        ("({0}.abs() + 1) ** 0.5", lambda L, x: (x.abs() + 1) ** 0.5, "abs"),
        ("({0}.abs() + 1).log()", lambda L, x: (x.abs() + 1).log(), "abs"),
        ("({0}.abs() + 1).sqrt()", lambda L, x: (x.abs() + 1).sqrt(), "abs"),
        ("{0}.abs().log1p()", lambda L, x: x.abs().log1p(), "abs"),
        ("{0}.exp()", lambda L, x: x.exp(), None),
        ("{0}.tanh()", lambda L, x: x.tanh(), None),
        ("{0}.sigmoid()", lambda L, x: x.sigmoid(), None),
        ("{0}.relu()", lambda L, x: x.relu(), "abs"),
        ("{0}.abs()", lambda L, x: x.abs(), "abs"),
        ("{0}.sin()", lambda L, x: x.sin(), None),
        ("{0}.cos()", lambda L, x: x.cos(), None),
    ]

    def op_unary(self, p):
        x = self.pick(p[0])
        text, fn, kink = self.UNARY[p[1] % len(self.UNARY)]
        if text == "{0}.exp()" and np.abs(TL.value(x.tl)).max() > 4.5:
            raise Skip("exp of a register beyond 4.5")
        kinks = (lambda L, x: [L.value(x)]) if kink else None
        self.new(text, fn, [x], kinks=kinks)

    def op_clamp(self, p):
        x = self.pick(p[0])
        low = _scalar(p[2])
        high = low + (p[3] % 8 + 1) / 4
        kind = p[1] % 3
        if kind == 0:
            text, fn = f"{{0}}.clamp({low}, {high})", lambda L, x: x.clamp(low, high)
        elif kind == 1:
            text, fn = f"{{0}}.clamp(min={low})", lambda L, x: x.clamp(min=low)
        else:
            text, fn = f"{{0}}.clamp(max={high})", lambda L, x: x.clamp(max=high)
        self.new(text, fn, [x], kinks=lambda L, x: [L.value(x) - low, L.value(x) - high])

    def op_scalar(self, p):
        x = self.pick(p[0])
        c, d = _scalar(p[2]), _nonzero(p[3])
        kinds = [
            (f"{{0}} + {c}", lambda L, x: x + c),
            (f"{c} + {{0}}", lambda L, x: c + x),
            (f"{{0}} - {c}", lambda L, x: x - c),
            (f"{c} - {{0}}", lambda L, x: c - x),
            (f"{{0}} * {c}", lambda L, x: x * c),
            (f"{c} * {{0}}", lambda L, x: c * x),
            (f"{{0}} / {d}", lambda L, x: x / d),
            (f"{c} / (1 + {{0}} ** 2)", lambda L, x: c / (1 + x**2)),
        ]
        text, fn = kinds[p[1] % len(kinds)]
        self.new(text, fn, [x])

    def op_binary(self, p):
        x = self.pick(p[0])
        y = self.partner(x, p[2])
        diff = lambda L, x, y: [L.value(x) - L.value(y)]  # noqa: E731
        kinds = [
            ("{0} + {1}", lambda L, x, y: x + y, None),
            ("{0} - {1}", lambda L, x, y: x - y, None),
            ("{0} * {1}", lambda L, x, y: x * y, None),
            ("{0} / (1 + {1} * {1})", lambda L, x, y: x / (1 + y * y), None),
            ("{0}.maximum({1})", lambda L, x, y: x.maximum(y), diff),
            ("{0}.minimum({1})", lambda L, x, y: x.minimum(y), diff),
        ]
        text, fn, kinks = kinds[p[1] % len(kinds)]
        self.new(text, fn, [x, y], kinks=kinks)

    COMPARISONS = [
        (">", lambda a, b: a > b), ("<", lambda a, b: a < b),
        (">=", lambda a, b: a >= b), ("<=", lambda a, b: a <= b),
    ]

    def mask_of(self, x, p, y=None):
        """A comparison of x with y (a register) or with a constant (on either side)."""
        sym, op = self.COMPARISONS[p % 4]
        if y is not None:
            return self.compare(f"{{0}} {sym} {{1}}", lambda L, x, y: op(x, y), [x, y],
                                kinks=lambda L, x, y: [L.value(x) - L.value(y)])
        c = _scalar(p // 4) / 2
        kinks = lambda L, x: [L.value(x) - c]  # noqa: E731
        if p // 4 % 2:  # the constant on the left: Python reflects the comparison
            return self.compare(f"{c} {sym} {{0}}", lambda L, x: op(c, x), [x], kinks)
        return self.compare(f"{{0}} {sym} {c}", lambda L, x: op(x, c), [x], kinks)

    def op_where(self, p):
        x = self.pick(p[0])
        y = self.partner(x, p[2])
        kind = p[1] % 4
        c = _scalar(p[3])
        if kind == 0:  # where(x > y, x, y): the classic elementwise max
            m = self.mask_of(x, p[4] % 4, y)
            self.new("where({0}, {1}, {2})", lambda L, m, x, y: L.where(m, x, y), [m, x, y])
        elif kind == 1:
            m = self.mask_of(x, p[4], None)
            self.new(f"where({{0}}, {{1}}, {c})", lambda L, m, x: L.where(m, x, c), [m, x])
        elif kind == 2:
            m = self.mask_of(y, p[4], None)
            self.new(f"where({{0}}, {c}, {{1}})", lambda L, m, x: L.where(m, c, x), [m, x])
        else:
            m = self.mask_of(x, p[4] % 4, y)
            self.new("where({0}, {1}, {2})", lambda L, m, x, y: L.where(m, x, y), [m, y, x])

    def _dims(self, x, p):
        """None, one dim or a tuple of dims (negative ones too), for a reduction over x."""
        ndim = len(x.shape)
        kind = p % 3
        if kind == 0:
            return None
        if kind == 1 or ndim < 2:
            return _dim(p // 3, ndim)
        k = p // 3 % ndim + 1
        chosen = random.Random(p).sample(range(ndim), k)
        return tuple(d - ndim if (p >> i) & 1 else d for i, d in enumerate(chosen))

    def op_reduce(self, p):
        x = self.pick(p[0])
        name = ["sum", "mean", "amax"][p[1] % 3]
        dim = self._dims(x, p[2])
        keep = bool(p[3] % 2) and dim is not None
        args = "" if dim is None else f"dim={dim}" + (", keepdim=True" if keep else "")
        kinks = None
        if name == "amax":
            axes = _axes(dim, len(x.shape))
            kinks = lambda L, x: [L.value(x) - np.max(L.value(x), axis=axes, keepdims=True)]  # noqa: E731

        def fn(L, x):
            f = getattr(x, name)
            return f() if dim is None else f(dim=dim, keepdim=keep)

        self.new(f"{{0}}.{name}({args})", fn, [x], kinks=kinks)

    def op_maxdim(self, p):
        """max(dim) / min(dim): the values join the program, the indices must be equal."""
        x = self.pick(p[0])
        ndim = len(x.shape)
        name = "max" if p[1] % 2 else "min"
        dim = _dim(p[2], ndim)
        keep = bool(p[3] % 2)
        text = f"{{0}}.{name}(dim={dim}, keepdim={keep})"

        def gap(L, x):  # the distance between the two largest (smallest) along dim
            v = L.value(x)
            if v.ndim == 0 or v.shape[dim] == 1:
                return [np.ones(1)]
            s = np.sort(v, axis=dim)
            s = s if name == "min" else -s
            return [np.take(s, 1, axis=dim) - np.take(s, 0, axis=dim)]

        if self.near_kink(gap, [x]) or np.any(gap(TL, x.tl)[0] == 0):
            raise Skip(f"{text.format(x.name)}  (a tie)")
        out = {L: getattr(t, name)(dim=dim, keepdim=keep) for L, t in ((TL, x.tl), (TH, x.th))}
        self.check_pair(out[TL].indices, out[TH].indices, text.format(x.name) + ".indices")
        self.new(text + ".values", lambda L, x: out[L].values, [x])

    def op_softmax(self, p):
        x = self.pick(p[0])
        name = "softmax" if p[1] % 2 else "log_softmax"
        dim = _dim(p[2], len(x.shape))
        self.new(f"{{0}}.{name}(dim={dim})", lambda L, x: getattr(x, name)(dim=dim), [x])

    def op_moment(self, p):
        x = self.pick(p[0])
        name = "var" if p[1] % 2 else "std"
        dim = self._dims(x, p[2])
        correction = p[3] % 2
        keep = bool(p[4] % 2) and dim is not None
        if _reduced_count(x.shape, dim) - correction < 1:
            raise Skip(f"{name} of {x.name} over {dim}: no degrees of freedom")
        args = ("" if dim is None else f"dim={dim}, ") + f"correction={correction}"
        args += ", keepdim=True" if keep else ""

        def fn(L, x):
            return getattr(x, name)(dim=dim, correction=correction, keepdim=keep)

        # std's gradient divides by std: a (nearly) constant slice is exactly 0 in both or skipped
        kinks = (lambda L, x: [L.value(fn(L, L.detach(x))) * (KINK / 1e-4)]) if name == "std" \
            else None
        self.new(f"{{0}}.{name}({args})", fn, [x], kinks=kinks)

    def op_reshape(self, p):
        x = self.pick(p[0])
        n = int(np.prod(x.shape))
        R = random.Random(p[2])
        shape, rest = [], n
        for _ in range(R.randint(0, 3)):
            d = R.choice([k for k in range(1, rest + 1) if rest % k == 0])
            shape.append(d)
            rest //= d
        if rest != 1 or not shape:
            shape.append(rest)
        if R.random() < 0.3:
            shape[R.randrange(len(shape))] = -1
        shape = tuple(shape)
        kind = p[1] % 3
        if kind == 0:
            self.new(f"{{0}}.reshape{shape}", lambda L, x: x.reshape(shape), [x])
        elif kind == 1 and x.th.is_contiguous() and x.tl.data.flags.c_contiguous:
            # view needs compatible strides (elementwise results keep their inputs' layout)
            self.new(f"{{0}}.view{shape}", lambda L, x: x.view(*shape), [x])
        else:
            start = _dim(p[3], len(x.shape))
            end = _dim(p[4], len(x.shape))
            if start % max(len(x.shape), 1) > end % max(len(x.shape), 1):
                start, end = end, start
            self.new(f"{{0}}.flatten({start}, {end})", lambda L, x: x.flatten(start, end), [x])

    def op_transpose(self, p):
        x = self.pick(p[0], [r for r in self.regs if r.shape] or self.regs)
        ndim = len(x.shape)
        d0, d1 = _dim(p[1], ndim), _dim(p[2], ndim)
        self.new(f"{{0}}.transpose({d0}, {d1})", lambda L, x: x.transpose(d0, d1), [x])

    def op_permute(self, p):
        x = self.pick(p[0], [r for r in self.regs if r.shape] or self.regs)
        ndim = len(x.shape)
        if ndim == 0:
            raise Skip("permute of a 0-d register")
        perms = list(itertools.permutations(range(ndim)))
        perm = tuple(d - ndim if (p[2] >> i) & 1 else d
                     for i, d in enumerate(perms[p[1] % len(perms)]))
        self.new(f"{{0}}.permute{perm}", lambda L, x: x.permute(*perm), [x])

    def op_unsqueeze(self, p):
        x = self.pick(p[0])
        d = _dim(p[1], len(x.shape), extra=1 if x.shape else 0)  # 0-d: dims 0 and -1
        self.new(f"{{0}}.unsqueeze({d})", lambda L, x: x.unsqueeze(d), [x])

    def op_squeeze(self, p):
        x = self.pick(p[0])
        ndim = len(x.shape)
        kind = p[1] % 3
        if kind == 0:
            self.new("{0}.squeeze()", lambda L, x: x.squeeze(), [x])
        elif kind == 1 or ndim < 2:
            d = _dim(p[2], ndim)
            self.new(f"{{0}}.squeeze({d})", lambda L, x: x.squeeze(d), [x])
        else:
            dims = tuple(random.Random(p[2]).sample(range(-ndim, 0), 2))
            self.new(f"{{0}}.squeeze({dims})", lambda L, x: x.squeeze(dims), [x])

    def op_index(self, p):
        x = self.pick(p[0])
        R = random.Random(p[2])
        kind = p[1] % 3
        if kind == 0 or not x.shape:
            index = _basic_index(x.shape, R)
        elif kind == 1:
            index = _array_index(x.shape, R, unique=False)
        else:  # a boolean mask: of the whole register, or of its leading dims
            prefix = [r for r in self.regs if r.shape and x.shape[: len(r.shape)] == r.shape]
            m = self.mask_of(x if p[3] % 2 else self.pick(p[3] // 2, prefix), p[4])
            if not TL.value(m.tl).any():
                raise Skip(f"{x.name}[{m.name}]  (an empty mask)")
            self.new("{0}[{1}]", lambda L, x, m: x[m], [x, m])
            return
        self.new(f"{{0}}[{_index_text(index)}]", lambda L, x: x[L.index(index)], [x])

    def op_matmul(self, p):
        twod = [r for r in self.regs if len(r.shape) == 2]
        if not twod:  # make a matrix of one register
            x = self.pick(p[0])
            k = x.shape[-1] if x.shape else 1
            self.new(f"{{0}}.reshape(-1, {k}) @ {{0}}.reshape(-1, {k}).transpose(0, 1)",
                     lambda L, x: x.reshape(-1, k) @ x.reshape(-1, k).transpose(0, 1), [x])
            return
        x = self.pick(p[0], twod)
        partners = [r for r in twod if r.shape[0] == x.shape[1]]
        if partners and p[1] % 3:
            self.new("{0} @ {1}", lambda L, x, y: x @ y, [x, self.pick(p[2], partners)])
        elif p[1] % 2:
            self.new("{0}.transpose(0, 1) @ {0}", lambda L, x: x.transpose(0, 1) @ x, [x])
        else:
            self.new("{0}.matmul({0}.transpose(-1, -2))",
                     lambda L, x: x.matmul(x.transpose(-1, -2)), [x])

    def op_cat(self, p):
        x = self.pick(p[0], [r for r in self.regs if r.shape] or self.regs)
        ndim = len(x.shape)
        if ndim == 0:
            raise Skip("cat of a 0-d register")
        dim = _dim(p[1], ndim)
        same = [r for r in self.regs if len(r.shape) == ndim and all(
            a == b for i, (a, b) in enumerate(zip(r.shape, x.shape)) if i != dim % ndim)]
        y = self.pick(p[2], same)
        if p[3] % 2:
            self.new(f"cat([{{0}}, {{1}}], {dim})", lambda L, x, y: L.cat([x, y], dim), [x, y])
        else:
            self.new(f"cat([{{1}}, {{0}}, {{1}}], {dim})",
                     lambda L, x, y: L.cat([y, x, y], dim), [x, y])

    def op_stack(self, p):
        x = self.pick(p[0])
        y = self.pick(p[2], [r for r in self.regs if r.shape == x.shape])
        dim = _dim(p[1], len(x.shape), extra=1 if x.shape else 0)
        self.new(f"stack([{{0}}, {{1}}], {dim})", lambda L, x, y: L.stack([x, y], dim), [x, y])

    # -- in-place instructions
    def op_inplace(self, p):
        self.inplace(p, nograd=False)

    def op_inplace_nograd(self, p):
        self.inplace(p, nograd=True)

    def inplace(self, p, nograd, pre=False):
        targets = [r for r in self.regs if r.mutable]
        if not targets and pre:
            raise Skip("in-place: no fresh register")
        if not targets:  # make one: a fresh copy of a register
            targets = [self.new("{0} * 1", lambda L, x: x * 1, [self.pick(p[5])], mutable=True)]
        h = self.pick(p[0], targets)
        c, d = _scalar(p[3]), _nonzero(p[3])
        # operands: registers whose shape broadcasts to h's (never h itself for mul_/div_,
        # `h.mul_(h)` being refused by PyTorch at backward)
        fits = [r for r in self.regs if _broadcasts_to(r.shape, h.shape)]
        others = [r for r in fits if r is not h]
        kinds = ["add", "sub", "mul", "div", "clamp", "setitem", "view", "fill", "copy"]
        kind = kinds[p[1] % len(kinds)]
        use_reg = p[2] % 3 != 0
        kinks = None
        if kind in ("add", "sub"):
            o = h if p[5] % 4 == 0 else self.pick(p[4], fits)  # h.add_(h) too
            if p[2] % 4 == 0:
                text, fn, ops = f"{{0}}.{kind}_({c})", lambda L, h: getattr(h, kind + "_")(c), []
            elif p[2] % 4 == 1:
                sym = "+" if kind == "add" else "-"
                method = "__iadd__" if kind == "add" else "__isub__"
                text, fn, ops = f"{{0}} {sym}= {{1}}", lambda L, h, o: getattr(h, method)(o), [o]
            else:
                text = f"{{0}}.{kind}_({{1}}, alpha={d})"
                fn, ops = (lambda L, h, o: getattr(h, kind + "_")(o, alpha=d)), [o]
        elif kind == "mul":
            if use_reg and others:
                text, fn, ops = "{0}.mul_({1})", lambda L, h, o: h.mul_(o), [self.pick(p[4],
                                                                                      others)]
            else:
                text, fn, ops = f"{{0}} *= {c}", lambda L, h: h.__imul__(c), []
        elif kind == "div":
            if use_reg and others:
                text = "{0}.div_(1 + {1} * {1})"
                fn, ops = (lambda L, h, o: h.div_(1 + o * o)), [self.pick(p[4], others)]
            else:
                text, fn, ops = f"{{0}} /= {d}", lambda L, h: h.__itruediv__(d), []
        elif kind == "clamp":
            low, high = c, c + (p[4] % 8 + 1) / 4
            text, fn, ops = f"{{0}}.clamp_({low}, {high})", lambda L, h: h.clamp_(low, high), []
            kinks = lambda L, h: [L.value(h) - low, L.value(h) - high]  # noqa: E731
        elif kind == "setitem":
            text, fn, ops = self.setitem(h, p, others)
        elif kind == "view":  # through an indexed view: PyTorch's CopySlices
            if not h.shape:
                raise Skip(f"a view of 0-d {h.name}")
            index = _basic_index(h.shape, random.Random(p[4]))
            ix = _index_text(index)
            target = np.empty(h.shape)[index].shape
            views = [r for r in others if _broadcasts_to(r.shape, target)]
            if use_reg and views:
                o = self.pick(p[2], views)

                def fn(L, h, o):
                    i = L.index(index)
                    h[i] += o

                text, ops = f"{{0}}[{ix}] += {{1}}", [o]
            else:
                text, fn, ops = f"{{0}}[{ix}].mul_({d})", lambda L, h: h[L.index(index)].mul_(d), []
        elif kind == "fill":
            if p[2] % 2:
                text, fn, ops = f"{{0}}.fill_({c})", lambda L, h: h.fill_(c), []
            else:
                text, fn, ops = "{0}.zero_()", lambda L, h: h.zero_(), []
        else:
            text, fn, ops = "{0}.copy_({1})", lambda L, h, o: h.copy_(o), [self.pick(p[4], fits)]
        self.apply_inplace(h, text, fn, ops, nograd, kinks, pre)

    def setitem(self, h, p, others):
        R = random.Random(p[4])
        kind = p[2] % 3 if h.shape else 0
        c = _scalar(p[3])
        if kind == 2:  # a boolean mask of h itself, or of another register of its shape
            same = [r for r in self.regs if r.shape == h.shape]
            m = self.mask_of(self.pick(p[4], same), p[4] // 7)
            return f"{{0}}[{{1}}] = {c}", lambda L, h, m: h.__setitem__(m, c), [m]
        index = _basic_index(h.shape, R) if kind == 0 else _array_index(h.shape, R, unique=True)
        ix = _index_text(index)
        target = np.empty(h.shape)[index].shape
        values = [r for r in others if _broadcasts_to(r.shape, target)]
        same = [r for r in others if r.shape == h.shape]
        if same and p[5] % 3 == 0:  # the value is itself indexed: h[i] = o[i]
            o = self.pick(p[3] // 2, same)
            return (f"{{0}}[{ix}] = {{1}}[{ix}]",
                    lambda L, h, o: h.__setitem__(L.index(index), o[L.index(index)]), [o])
        if values and p[3] % 2:
            o = self.pick(p[3] // 2, values)
            return (f"{{0}}[{ix}] = {{1}}", lambda L, h, o: h.__setitem__(L.index(index), o), [o])
        return f"{{0}}[{ix}] = {c}", lambda L, h: h.__setitem__(L.index(index), c), []

    def apply_inplace(self, h, text, fn, ops, nograd, kinks, pre):
        inputs = [h, *ops]
        line = text.format(*[i.name for i in inputs])
        line = f"with no_grad(): {line}" if nograd else line
        if self.near_kink(kinks, [h]):
            raise Skip(f"{line}  (near a kink)")
        for L, side in ((TL, "tl"), (TH, "th")):  # a trial on a copy: stays in range?
            trial = L.const(L.value(getattr(h, side)))
            with L.no_grad():
                fn(L, trial, *[getattr(o, side) for o in ops])
            if not np.all(np.abs(L.value(trial)) <= BOUND):
                raise Skip(f"{line}  (out of range)")
        for L, side in ((TL, "tl"), (TH, "th")):
            args = [getattr(i, side) for i in inputs]
            if nograd:
                with L.no_grad():
                    fn(L, *args)
            else:
                fn(L, *args)
        self.say(line)
        self.check_pair(h.tl, h.th, line)
        h.modified = True
        if not pre:
            for o in ops:
                if isinstance(o, Reg) and o is not h:
                    o.mutable = False
                    o.sink = False

    # -- the end: a weighted scalar, backward, and every gradient compared
    def finish(self, f):
        for r in self.regs:
            r.mutable = False
        # every register that was not used by another one (so every op's gradient is needed),
        # plus a few random ones
        chosen = [r for r in self.regs if r.sink] + [self.pick(q) for q in f[1: 1 + f[0] % 3]]
        retained = [r for r in self.regs if not r.leaf and r.tl.requires_grad]
        retained = list(dict.fromkeys(self.pick(q, retained) for q in f[4:6])) if retained else []
        for r in retained:
            r.tl.retain_grad()
            r.th.retain_grad()
        if retained:
            self.say(f"retain_grad: {', '.join(r.name for r in retained)}")
        if not any(r.tl.requires_grad for r in chosen):
            chosen.append(self.regs[0])
        weights = [self.rng.uniform(-1, 1, r.shape) for r in chosen]
        self.say("loss = " + " + ".join(f"({r.name} * W{i}).sum()" for i, r in enumerate(chosen)))
        losses = []
        for L, side in ((TL, "tl"), (TH, "th")):
            terms = [(getattr(r, side) * L.const(w)).sum() for r, w in zip(chosen, weights)]
            losses.append(sum(terms[1:], terms[0]))
        self.check_pair(losses[0], losses[1], "loss")
        twice = bool(f[3] % 4 == 0)
        self.say("loss.backward(retain_graph=True); loss.backward()" if twice else
                 "loss.backward()")
        errors = []
        for loss in losses:
            try:
                if twice:
                    loss.backward(retain_graph=True)
                loss.backward()
                errors.append(None)
            except RuntimeError as e:
                errors.append(e)
        if errors[0] is not None or errors[1] is not None:
            assert errors[0] is not None and errors[1] is not None, (
                f"only one framework refused backward: tinygrad_lite: {errors[0]!r}; "
                f"torch: {errors[1]!r}"
            )
            self.say(f"# both refused backward: {errors[1]}")
            event("both refused backward")
            return
        for r in [r for r in self.regs if r.leaf] + retained:
            ga, gb = TL.grad(r.tl), TH.grad(r.th)
            assert (ga is None) == (gb is None), f"{r.name}.grad: {ga!r} vs torch's {gb!r}"
            if ga is not None:
                assert ga.shape == gb.shape and ga.dtype == gb.dtype, (r.name, ga, gb)
                np.testing.assert_allclose(ga, gb, rtol=TOL, atol=TOL,
                                           err_msg=f"{r.name}.grad")
        for r in self.regs:  # nothing changed behind our back (write-through of views)
            np.testing.assert_allclose(TL.value(r.tl), TH.value(r.th), rtol=TOL, atol=TOL,
                                       err_msg=f"{r.name} at the end")
            if r.modified:
                assert r.tl._version > 0 and r.th._version > 0, f"{r.name}: version counters"
        for m in self.masks:
            np.testing.assert_array_equal(TL.value(m.tl), TH.value(m.th), err_msg=m.name)


MAIN_OPS = [
    "fresh", "fresh", "const", "unary", "unary", "clamp", "scalar", "binary", "binary",
    "where", "reduce", "maxdim", "softmax", "moment", "reshape", "transpose", "permute",
    "unsqueeze", "squeeze", "index", "index", "matmul", "cat", "stack", "inplace", "inplace",
    "inplace", "inplace_nograd",
]

# An instruction is one drawn integer k: its op and six parameters come from a generator seeded
# with (the program's seed, k). Hypothesis favours the first of sampled_from's choices and small,
# repeated integers; this keeps ops and arguments varied, while shrinking still drops
# instructions (the listing in the failure report says what each one did).
params = st.integers(0, 2**32 - 1)


def _instruction(seed, k):
    r = random.Random(seed * 2**32 + k)
    return MAIN_OPS[r.randrange(len(MAIN_OPS))], tuple(r.randrange(2**16) for _ in range(6))


@st.composite
def programs(draw):
    base = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, base_shape=base, min_dims=0,
                                                    max_dims=3, min_side=1, max_side=4))
    shapes = shapes.input_shapes
    n_leaves = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    pre = draw(st.lists(params, max_size=3))
    main = draw(st.lists(params, min_size=5, max_size=16, unique=True))
    final = draw(params)
    grid = draw(st.booleans())
    return shapes[:n_leaves], grid, seed, pre, main, final


# no "explain" phase: with a dozen instructions it costs minutes and the listing says more
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


@settings(max_examples=700, deadline=None, phases=PHASES)
@given(programs())
def test_random_programs_match_torch(program):
    shapes, grid, seed, pre, main, final = program
    m = Machine(seed, shapes, grid)
    m.say("# in-place updates of the leaves, under no_grad")
    for k in pre:
        try:
            m.inplace(_instruction(seed, k)[1], nograd=True, pre=True)
        except Skip as skip:
            m.say(f"# skipped: {skip}")
    for r in m.regs:
        r.mutable = False
    m.say("# the forward pass")
    for k in main:
        m.run(*_instruction(seed, k))
    m.finish(_instruction(seed, final)[1])


# ---- comparisons and arg-indices on tie-free inputs -----------------------------------------
@settings(max_examples=250, deadline=None, phases=PHASES)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
       st.integers(0, 2**32 - 1), st.integers(-8, 8))
def test_comparisons_and_arg_indices_match_torch(shapes, seed, k):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    # on a coarse grid: a and b share values, so == and != have both outcomes
    a, b = (rng.integers(-3, 4, s) * 0.5 for s in (sa, sb))
    c = k / 4
    pairs = [(TL.leaf(a), TH.leaf(a)), (TL.const(b), TH.const(b))]
    (xa, ta), (xb, tb) = pairs
    ops = [
        ("==", lambda x, y: x == y), ("!=", lambda x, y: x != y), ("<", lambda x, y: x < y),
        ("<=", lambda x, y: x <= y), (">", lambda x, y: x > y), (">=", lambda x, y: x >= y),
    ]
    for sym, op in ops:
        for what, ours, theirs in [
            (f"a {sym} b", op(xa, xb), op(ta, tb)), (f"b {sym} a", op(xb, xa), op(tb, ta)),
            (f"a {sym} {c}", op(xa, c), op(ta, c)), (f"{c} {sym} a", op(c, xa), op(c, ta)),
            (f"a {sym} a", op(xa, xa), op(ta, ta)),
        ]:
            assert isinstance(ours, tl.Tensor) and ours.dtype == np.bool_, what
            assert not ours.requires_grad and not theirs.requires_grad, what
            assert ours.shape == tuple(theirs.shape), what
            np.testing.assert_array_equal(ours.data, theirs.numpy(), err_msg=what)

    # tie-free values: a permutation of distinct multiples of 0.25
    u = (rng.permutation(max(a.size, 1))[: a.size].reshape(sa) - a.size / 2) * 0.25
    x, t = tl.Tensor(u), torch.tensor(u)
    n = max(u.ndim, 1)
    for dim in [None, *range(-n, n)]:
        for keep in (False, True):
            what = f"dim={dim}, keepdim={keep} on {sa}"
            for name in ("argmax", "argmin"):
                ours, theirs = getattr(x, name)(dim=dim, keepdim=keep), getattr(t, name)(
                    dim=dim, keepdim=keep)
                assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape), what
                np.testing.assert_array_equal(ours.data, theirs.numpy(), err_msg=f"{name} {what}")
            if dim is None:
                continue
            for name in ("max", "min"):
                ours, theirs = getattr(x, name)(dim=dim, keepdim=keep), getattr(t, name)(
                    dim, keepdim=keep)
                assert ours.indices.shape == tuple(theirs.indices.shape), f"{name} {what}"
                assert ours.indices.dtype == np.int64, what
                np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy(),
                                              err_msg=f"{name}.indices {what}")
                np.testing.assert_array_equal(ours.values.data, theirs.values.numpy(),
                                              err_msg=f"{name}.values {what}")
