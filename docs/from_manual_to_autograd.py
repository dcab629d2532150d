# ruff: noqa: E402 - a notebook's source: its imports open its first code cell, not the file
# %% [markdown]
# # From the hand-written notebook to autograd
#
# This is Samson Zhang's notebook, the two-layer MNIST network with its backprop written out
# by hand in numpy, run cell by cell as it was. Then each hand-written piece (the
# parameters, `forward_prop`, `backward_prop`, `update_params`, the `gradient_descent` loop)
# is swapped for its tinygrad_lite counterpart, one at a time. After every swap
# `tl.compare_gradients` checks the hand-derived gradients against autograd, tensor by tensor.
# It also finds the bug in the notebook's widely copied first version. At the end: the graph
# that autograd walked, and the walk itself.
#
# The notebook `docs/from_manual_to_autograd.ipynb` is built from the plain Python file
# `docs/from_manual_to_autograd.py` by `python docs/build_notebook.py`, which runs it and
# stores the outputs (about a minute). `python docs/from_manual_to_autograd.py` runs the same
# code without Jupyter. The test suite runs the notebook with fewer iterations and rows
# (`tests/test_notebook.py`).

# %% tags=["parameters"]
ITERATIONS = 200  # the notebook ran 2,000 (0.896 training accuracy); 200 keep this quick
ROWS = 42_000  # the rows of Kaggle's train.csv, which the notebook read

# %% [markdown]
# ## 1. The notebook, as it was
#
# The notebook read Kaggle's `train.csv`: 42,000 MNIST digits, one row per image, the label
# then 784 pixels. MNIST ships with tinygrad_lite as IDX files (`data/mnist`). Its first
# 42,000 training digits, put into the same table, run through the notebook's code unchanged
# from here on. (It used numpy's global random state, `np.random.rand`, which ruff's NPY002
# flags: the `noqa` comments keep it.)

# %%
import time

import numpy as np
from matplotlib import pyplot as plt

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.data import load_mnist

start = time.perf_counter()
images, labels = load_mnist("train")  # uint8 (60000, 28, 28) and (60000,)
data = np.column_stack([labels, images.reshape(len(images), 784)])[:ROWS]
np.random.seed(0)  # noqa: NPY002
print(data.shape)

# %%
data = np.array(data)
m, n = data.shape  # m is the rows, n is the features + 1 (because of the label)
np.random.shuffle(data)  # noqa: NPY002

data_dev = data[0:1000].T
Y_dev = data_dev[0]
X_dev = data_dev[1:n]
X_dev = X_dev / 255.0

data_train = data[1000:m].T
Y_train = data_train[0]
X_train = data_train[1:n]
X_train = X_train / 255.0
_, m_train = X_train.shape
print(X_train.shape)

# %%
fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for ax, column in zip(axes, range(8)):
    ax.imshow(X_train[:, column].reshape(28, 28), cmap="gray")
    ax.set_title(str(Y_train[column]))
    ax.axis("off")

# %% [markdown]
# The notebook's functions, as it wrote them: parameters, forward pass, the six lines of
# backprop, the update.

# %%
def init_params():
    W1 = np.random.rand(10, 784) - 0.5  # noqa: NPY002
    b1 = np.random.rand(10, 1) - 0.5  # noqa: NPY002
    W2 = np.random.rand(10, 10) - 0.5  # noqa: NPY002
    b2 = np.random.rand(10, 1) - 0.5  # noqa: NPY002
    return W1, b1, W2, b2


def ReLU(Z):
    return np.maximum(0, Z)


def softmax(Z):
    A = np.exp(Z) / sum(np.exp(Z))
    return A


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def one_hot(Y):
    one_hot_Y = np.zeros((Y.size, Y.max() + 1))  # (number of samples, number of classes)
    one_hot_Y[np.arange(Y.size), Y] = 1
    one_hot_Y = one_hot_Y.T
    return one_hot_Y


def deriv_ReLU(Z):
    return Z > 0


def backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y):
    m = Y.size
    one_hot_Y = one_hot(Y)
    dZ2 = A2 - one_hot_Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = W2.T.dot(dZ2) * deriv_ReLU(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    return dW1, db1, dW2, db2


def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):
    W1 = W1 - alpha * dW1
    b1 = b1 - alpha * db1
    W2 = W2 - alpha * dW2
    b2 = b2 - alpha * db2
    return W1, b1, W2, b2


# %% [markdown]
# The training loop. It reports every 20 iterations here (the notebook: every 200 of its
# 2,000); `np.random.seed(1)` fixes the initial weights, so the framework can start from the
# same ones below.

# %%
def get_predictions(A2):
    return np.argmax(A2, 0)


def get_accuracy(predictions, Y):
    print(predictions, Y)
    return np.sum(predictions == Y) / Y.size


def gradient_descent(X, Y, iterations, alpha):
    W1, b1, W2, b2 = init_params()
    for i in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)
        if i % 20 == 0:
            print("Iteration: ", i)
            print("Accuracy: ", get_accuracy(get_predictions(A2), Y))
    return W1, b1, W2, b2


np.random.seed(1)  # noqa: NPY002
W1, b1, W2, b2 = gradient_descent(X_train, Y_train, ITERATIONS, 0.1)
dev_predictions = get_predictions(forward_prop(W1, b1, W2, b2, X_dev)[3])
manual_dev_accuracy = np.mean(dev_predictions == Y_dev)
print(f"dev accuracy after {ITERATIONS} iterations: {manual_dev_accuracy:.4f}")

# %% [markdown]
# ## 2. Piece by piece to the framework
#
# ### 2.1 `init_params` becomes `nn.Linear` layers
#
# A `Linear` layer stores its weight as `(out, in)`, the notebook's own layout, and its bias as
# `(out,)` instead of `(out, 1)`. `nn.init.notebook_uniform_` is `np.random.rand(...) - 0.5`
# bit for bit, given the same random stream. The notebook computed in float64, so the model
# does too (`.double()`).

# %%
model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)).double()
rng = np.random.RandomState(1)  # the stream np.random.seed(1) gives
for p in model.parameters():  # W1, b1, W2, b2, in the notebook's order
    nn.init.notebook_uniform_(p, rng)

np.random.seed(1)  # noqa: NPY002
W1_0, b1_0, W2_0, b2_0 = init_params()
notebook = {"0.weight": W1_0, "0.bias": b1_0[:, 0], "2.weight": W2_0, "2.bias": b2_0[:, 0]}
for name, p in model.named_parameters():
    assert np.array_equal(p.data, notebook[name])
    print(name, p.shape, "== the notebook's")

# %% [markdown]
# ### 2.2 `forward_prop` becomes `model(x)`
#
# The framework keeps one image per **row**, `x` is `(m, 784)`, the transpose of the
# notebook's `X`; `Linear` computes `x @ W.T + b`, the transpose of `W X + b`. The softmax
# moves into the loss: `cross_entropy(logits, labels)` is the mean of `-log A2[label]` over
# the images.
#
# Now the first check. `loss_fn(model)` returns the loss; `notebook_gradients(model)` runs
# the notebook's `forward_prop` and `backward_prop` on the model's current weights and returns
# them under the parameters' names.

# %%
x = tl.Tensor(X_train.T)  # (m, 784): one image per row
Y = Y_train.astype(np.int64)  # class indices
logits = model(x)
Z1, A1, Z2, A2 = forward_prop(W1_0, b1_0, W2_0, b2_0, X_train)
print("max |model(x) - Z2.T| =", np.abs(logits.data - Z2.T).max())


def loss_fn(model):
    return nn.functional.cross_entropy(model(x), Y)


def notebook_gradients(model):
    W1, b1, W2, b2 = (p.data for p in model.parameters())
    b1, b2 = b1[:, None], b2[:, None]  # (10,) -> the notebook's (10, 1)
    Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X_train)
    dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1, W2, X_train, Y_train)
    return {"0.weight": dW1, "0.bias": db1, "2.weight": dW2, "2.bias": db2}


report = tl.compare_gradients(loss_fn, model, notebook_gradients)
print(report)

# %% [markdown]
# One row per gradient, in the order backprop computes them (the last layer first).
# `allclose` is the verdict. `max abs diff` and `rel error` (the Frobenius norm of the
# difference over that of autograd's gradient) say how close. `(10, 1)` biases are compared
# with the framework's `(10,)` ones ("reshaped").
#
# ### 2.3 `backward_prop` becomes `loss.backward()`
#
# Autograd derives the six lines itself. To check the intermediate ones too, `loss_fn` can
# return a dict of named tensors next to the loss, the notebook's names for them. Those keep
# their gradient for the comparison, and a hand-written gradient is found by its name (the
# notebook's `d` prefix works: `dZ2` is the gradient of `Z2`).
#
# Here is `backward_prop` returning all its gradients by name, and with the line the original
# Kaggle notebook had, `db2 = 1 / m * np.sum(dZ2)` with no `axis`, when `kaggle=True`.

# %%
def named_backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y, kaggle=False):
    m = Y.size
    one_hot_Y = one_hot(Y)
    dZ2 = A2 - one_hot_Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    if kaggle:
        db2 = 1 / m * np.sum(dZ2)  # the original's line: no axis
    dZ1 = W2.T.dot(dZ2) * deriv_ReLU(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    # dZ2 and dZ1 are gradients of the *summed* loss; the mean's are 1/m of them
    return {"dZ2": dZ2 / m, "dW2": dW2, "db2": db2, "dZ1": dZ1 / m, "dW1": dW1, "db1": db1}


def named_gradients(model, kaggle=False):
    W1, b1, W2, b2 = (p.data for p in model.parameters())
    b1, b2 = b1[:, None], b2[:, None]
    Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X_train)
    return named_backward_prop(Z1, A1, Z2, A2, W1, W2, X_train, Y_train, kaggle)


def named_loss_fn(model):
    z1 = model[0](x)
    a1 = model[1](z1)
    z2 = model[2](a1)
    names = {"W1": model[0].weight, "b1": model[0].bias, "W2": model[2].weight,
             "b2": model[2].bias, "Z1": z1, "A1": a1, "Z2": z2}
    return nn.functional.cross_entropy(z2, Y), names


report = tl.compare_gradients(named_loss_fn, model, lambda m: named_gradients(m, kaggle=True))
print(report)

# %% [markdown]
# Caught at step 0, and named: `db2` is one number where the bias needs one per output unit.
# The notebook trained anyway, because numpy broadcast the number over `b2`. That number is
# zero up to rounding: every column of `A2` and of `one_hot_Y` sums to 1. So `b2` never
# moved from its random start.
#
# The other rows show the layouts: the notebook's `dZ2` is `(10, m)`, autograd's `(m, 10)`;
# a transpose is a layout, not a mistake, and the table says `transposed`. With the
# notebook's line, everything matches:

# %%
print("first mismatch:", report.first_mismatch.name)
print("np.sum(dZ2) / m =", named_gradients(model, kaggle=True)["db2"])
report = tl.compare_gradients(named_loss_fn, model, named_gradients)
print(report)
assert report.ok

# %% [markdown]
# ### 2.4 `update_params` becomes an in-place update under `no_grad`
#
# `update_params` makes new arrays, `W1 = W1 - alpha * dW1`. The framework changes the
# parameters themselves, in place, as PyTorch does: `p -= alpha * p.grad`, inside
# `tl.no_grad()` so that the update is not recorded as part of the next graph. One step each
# way, from the same weights:

# %%
alpha = 0.1
step_model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)).double()
step_model.load_state_dict(model.state_dict())

loss = loss_fn(step_model)
step_model.zero_grad()
loss.backward()
with tl.no_grad():
    for p in step_model.parameters():
        p -= alpha * p.grad

dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1_0, W2_0, X_train, Y_train)
new = update_params(W1_0, b1_0, W2_0, b2_0, dW1, db1, dW2, db2, alpha)
after = [p.data for p in step_model.parameters()]
print("max |framework - notebook| after one step:",
      max(np.abs(a - b.reshape(a.shape)).max() for a, b in zip(after, new)))
print(tl.compare_gradients(loss_fn, step_model, notebook_gradients))

# %% [markdown]
# ### 2.5 `gradient_descent` becomes the training loop
#
# `tl.optim.SGD` is the same update in one call, `optimizer.step()`; `optimizer.zero_grad()`
# clears the gradients, which otherwise add up across `backward()` calls. The loop starts from
# the same weights as the notebook's run in section 1 and takes as many steps.

# %%
def train(model, x, Y, iterations, alpha):
    optimizer = tl.optim.SGD(model.parameters(), lr=alpha)
    for i in range(iterations):
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, Y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i % 20 == 0:
            accuracy = (logits.data.argmax(axis=1) == Y).mean()
            print(f"Iteration: {i}  Accuracy: {accuracy:.4f}  loss {loss.item():.4f}")


train(model, x, Y, ITERATIONS, 0.1)
trained = [p.data for p in model.parameters()]
print("max |framework - notebook| after", ITERATIONS, "iterations:",
      max(np.abs(a - b.reshape(a.shape)).max() for a, b in zip(trained, (W1, b1, W2, b2))))
with tl.no_grad():
    dev_accuracy = (model(tl.Tensor(X_dev.T)).argmax(dim=1).numpy() == Y_dev).mean()
print(f"dev accuracy: framework {dev_accuracy:.4f}, notebook {manual_dev_accuracy:.4f}")
print(tl.compare_gradients(loss_fn, model, notebook_gradients))

# %% [markdown]
# The same weights, to rounding, and the same accuracy: autograd computed the notebook's
# gradients at every step. MNIST's own test set, which neither run has seen:

# %%
test_images, test_labels = load_mnist("test")
with tl.no_grad():
    test_logits = model(tl.Tensor(test_images.reshape(-1, 784) / 255.0))
print(f"test accuracy: {(test_logits.argmax(dim=1).numpy() == test_labels).mean():.4f}")

# %% [markdown]
# ## 3. What autograd did
#
# `tl.trace_backward` prints each step of one `backward()`, in the order it runs: the op, the
# local rule it applied (the op's `rule`) and the shapes. The notebook's six lines are in it:
# `CrossEntropy` gives `dZ2` (over `m`), the second `Linear` gives `dW2`, `db2` and the
# unnamed `dA1 = W2.T dZ2`, `ReLU` gives `dZ1`, the first `Linear` gives `dW1`, `db1`.

# %%
loss = loss_fn(model)
model.zero_grad()
with tl.trace_backward(params=model) as trace:
    loss.backward()

# %% [markdown]
# And the graph it walked, drawn in pure Python (`tl.viz.graph`; `tl.viz.draw(loss,
# "graph.svg", model)` writes the same picture to a file, `.png` through matplotlib).
# Parameters carry their module path. `|grad|` is the Frobenius norm of the gradient of the
# loss with respect to that tensor. The `trace` adds it for the intermediate tensors,
# whose gradients backward does not keep.

# %%
tl.viz.graph(loss, model, trace=trace, rankdir="LR")

# %%
print(f"this notebook ran in {time.perf_counter() - start:.0f} s ({ITERATIONS} iterations, "
      f"{ROWS:,} rows)")
