"""F.gelu and F.leaky_relu (re-exported from ops_activation into nn.functional)."""

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite.ops import activation as ops_activation


def test_exported_from_functional():
    assert F.gelu is ops_activation.gelu
    assert F.leaky_relu is ops_activation.leaky_relu


def test_leaky_relu_values_and_grad():
    x = tl.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = F.leaky_relu(x, 0.1)
    np.testing.assert_allclose(y.data, [-0.2, 0.0, 3.0], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [0.1, 0.1, 1.0], rtol=1e-6)  # slope at 0, as PyTorch


def test_gelu_values_and_grad():
    x = tl.tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
    y = F.gelu(x)
    np.testing.assert_allclose(y.data, [-0.15865525393145707, 0.0, 0.8413447460685429],
                               rtol=1e-12)
    y.sum().backward()
    # d/dx x Phi(x) = Phi(x) + x phi(x)
    np.testing.assert_allclose(x.grad, [-0.0833154705876864, 0.5, 1.0833154705876864],
                               rtol=1e-12)
    with pytest.raises(ValueError):
        F.gelu(x, approximate="fast")


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(approximate):
    torch = pytest.importorskip("torch")
    data = np.linspace(-6, 6, 25)
    x = tl.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    y = F.gelu(x, approximate=approximate)
    yt = torch.nn.functional.gelu(xt, approximate=approximate)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-15)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_leaky_relu_matches_torch():
    torch = pytest.importorskip("torch")
    data = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    x = tl.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    for slope in (0.01, 0.2):
        x.grad, xt.grad = None, None
        y = F.leaky_relu(x, slope)
        yt = torch.nn.functional.leaky_relu(xt, slope)
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12)
        y.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
