"""fusedops::add against float64 a + b: broadcasting, type promotion, layouts, autograd, bad input."""
import pytest
import torch

from conftest import FLOAT_DTYPES, assert_matches_reference, poison_cuda_allocator

op = torch.ops.fusedops.add
backward_op = torch.ops.fusedops.add_backward


def random_broadcast_shapes(rng):
    """Two shapes that broadcast: a random output shape, each operand dropping leading dims or using 1s."""
    out = [rng.randint(1, 6) for _ in range(rng.randint(0, 4))]
    def operand():
        shape = out[rng.randint(0, len(out)):] if out else []
        return [1 if rng.random() < 0.3 else s for s in shape]
    return operand(), operand()


@pytest.mark.parametrize("dtype_a", FLOAT_DTYPES)
@pytest.mark.parametrize("dtype_b", FLOAT_DTYPES)
def test_broadcasting_and_promotion(device, dtype_a, dtype_b, seed):
    for _ in range(10):
        shape_a, shape_b = random_broadcast_shapes(seed)
        a = torch.randn(shape_a, device=device, dtype=dtype_a)
        b = torch.randn(shape_b, device=device, dtype=dtype_b)
        out = op(a, b)
        expected = a + b  # PyTorch's own promotion and broadcasting
        assert out.dtype == expected.dtype and out.shape == expected.shape
        # PyTorch casts both operands to the result dtype before adding (a float16 0-dim tensor added to a
        # bfloat16 tensor is rounded to bfloat16 first), so the float64 reference adds those casts.
        ref64 = a.to(out.dtype).double() + b.to(out.dtype).double()
        tol = 0 if out.dtype == torch.float64 else 1e-2 if out.dtype == torch.bfloat16 else 2e-3
        assert_matches_reference(out, ref64, max(tol, 1e-15))


def test_zero_dim_operand_follows_pytorch_promotion(device):
    a = torch.randn(5, 3, device=device, dtype=torch.float16)
    b = torch.tensor(2.5, device=device, dtype=torch.float64)  # a 0-dim tensor does not promote a float16 tensor
    assert op(a, b).dtype == (a + b).dtype == torch.float16
    assert op(b, b).dtype == torch.float64


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_contiguous_vectorized_and_tails(device, dtype):
    # Lengths around the 16-byte vector width, and misaligned views (storage offset 1).
    for n in (1, 7, 8, 9, 15, 16, 17, 1000, 4099):
        base_a = torch.randn(n + 1, device=device, dtype=dtype)
        base_b = torch.randn(n + 1, device=device, dtype=dtype)
        for a, b in ((base_a[:n], base_b[:n]), (base_a[1:], base_b[1:]), (base_a[1:], base_b[:n])):
            poison_cuda_allocator(n * 8)
            out = op(a, b)
            assert torch.equal(out, a + b)


def test_non_contiguous(device):
    a = torch.randn(6, 8, device=device).t()
    b = torch.randn(8, 12, device=device)[:, ::2]
    assert torch.equal(op(a, b), a + b)
    c = torch.randn(4, 1, 5, device=device).expand(4, 3, 5)
    assert torch.equal(op(c, c), c + c)


def test_large_tensor_int64_indexing():
    """More than 2**31 elements: only on a GPU with the memory for it (8 GiB in float16 across 3 tensors)."""
    if not torch.cuda.is_available() or torch.cuda.get_device_properties(0).total_memory < 40 * 2**30:
        pytest.skip("needs a CUDA device with >= 40 GiB")
    n = 2**31 + 18  # even, so the strided view below splits it in two
    a = torch.ones(n, device="cuda", dtype=torch.float16)
    b = torch.full((n,), 2.0, device="cuda", dtype=torch.float16)
    b[-5:] = 7.0
    out = op(a, b)
    assert out[-5:].eq(8.0).all() and out[:-5].eq(3.0).all()
    del out
    out = op(a.view(2, -1)[:, :-1], b[:1])  # strided path with an int64 offset past 2**31
    assert out.shape == (2, (n - 1) // 2) and out[1, -1].item() == 3.0


def test_empty(device):
    assert op(torch.randn(0, 3, device=device), torch.randn(3, device=device)).shape == (0, 3)


def test_gradcheck(device, seed):
    for _ in range(5):
        shape_a, shape_b = random_broadcast_shapes(seed)
        a = torch.randn(shape_a, device=device, dtype=torch.float64, requires_grad=True)
        b = torch.randn(shape_b, device=device, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(op, (a, b))


def test_gradient_dtypes_follow_operands(device):
    a = torch.randn(3, 4, device=device, dtype=torch.float32, requires_grad=True)
    b = torch.randn(4, device=device, dtype=torch.float64, requires_grad=True)
    op(a, b).sum().backward()
    assert a.grad.dtype == torch.float32 and b.grad.dtype == torch.float64
    assert torch.equal(b.grad, torch.full((4,), 3.0, device=device, dtype=torch.float64))


def test_double_backward_is_refused(device):
    a = torch.randn(3, 4, device=device, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, device=device, dtype=torch.float64, requires_grad=True)
    (ga,) = torch.autograd.grad((op(a, b) ** 2).sum(), a, create_graph=True)  # ga depends on b through 2*(a+b)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        ga.sum().backward()


@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck(device, requires_grad, seed):
    for _ in range(3):
        shape_a, shape_b = random_broadcast_shapes(seed)
        a = torch.randn(shape_a, device=device, requires_grad=requires_grad)
        b = torch.randn(shape_b, device=device, dtype=torch.float64, requires_grad=requires_grad)
        torch.library.opcheck(op, (a, b))


def test_opcheck_backward(device):
    grad = torch.randn(3, 4, 5, device=device)
    torch.library.opcheck(backward_op, (grad, [4, 1], torch.float16, [3, 1, 5], torch.float32))


def test_bad_input(device):
    a = torch.randn(3, 4, device=device)
    with pytest.raises(RuntimeError, match="b must be float16, bfloat16, float32 or float64"):
        op(a, torch.ones(3, 4, device=device, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="size of tensor a"):
        op(a, torch.randn(5, device=device))
    if torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="same device"):
            op(a.cuda(), a.cpu())
