"""Optimizers: they minimise, their state round-trips through safetensors + JSON bit for bit."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from twoface.errors import ModelError, TwofaceError
from twoface.train import optim as O

NAMES = ["adam", "adamw", "adabelief", "lion"]


@pytest.mark.parametrize("name", NAMES)
def test_minimises_a_quadratic(name):
    torch.manual_seed(0)
    target = torch.randn(20)
    x = torch.nn.Parameter(torch.zeros(20))
    opt = O.build_optimizer(name, [x], lr=0.05)
    start = ((x - target) ** 2).sum().item()
    for _ in range(200):
        opt.zero_grad()
        loss = ((x - target) ** 2).sum()
        loss.backward()
        opt.step()
    assert ((x - target) ** 2).sum().item() < 0.05 * start


def test_defaults_and_errors():
    p = [torch.nn.Parameter(torch.zeros(3))]
    assert O.build_optimizer("adam", p).param_groups[0]["lr"] == 5e-5
    assert isinstance(O.build_optimizer("lion", p), O.Lion)
    with pytest.raises(TwofaceError, match="unknown optimizer 'sgdd'"):
        O.build_optimizer("sgdd", p)
    with pytest.raises(TwofaceError, match="learning rate"):
        O.build_optimizer("adabelief", p, lr=0)


def test_warmup_is_linear_then_flat():
    p = [torch.nn.Parameter(torch.zeros(3))]
    opt = O.build_optimizer("adam", p, lr=1e-3)
    w = O.Warmup(opt, 4)
    lrs = [w.apply(i) for i in range(6)]
    assert lrs == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])


def test_cosine_schedule_warms_up_then_decays_to_the_floor():
    p = [torch.nn.Parameter(torch.zeros(3))]
    opt = O.build_optimizer("adam", p, lr=1e-3)
    w = O.Warmup(opt, 2, "cosine", floor=0.1)
    assert w.apply(0, 0.0) == pytest.approx(5e-4)        # warmup still applies
    assert w.apply(5, 0.0) == pytest.approx(1e-3)
    assert w.apply(5, 0.5) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
    assert w.apply(9, 1.0) == pytest.approx(1e-4)        # ends at the floor, not 0
    assert w.apply(9, None) == pytest.approx(1e-3)       # no budget: no decay
    with pytest.raises(TwofaceError, match="schedule"):
        O.Warmup(opt, 0, "step")


def test_clipping_by_norm_and_autoclip():
    p = torch.nn.Parameter(torch.zeros(4))
    p.grad = torch.tensor([3.0, 4.0, 0.0, 0.0])
    assert O.clip_gradients([p], "norm", 1.0) == pytest.approx(5.0)
    assert torch.linalg.vector_norm(p.grad).item() == pytest.approx(1.0, rel=1e-4)
    clipper = O.GradientClipper("autoclip", 50)
    for n in (1.0, 2.0, 3.0):
        p.grad = torch.tensor([n, 0, 0, 0])
        clipper([p])
    p.grad = torch.tensor([100.0, 0, 0, 0])
    assert clipper([p]) == pytest.approx(100.0)
    assert p.grad[0].item() == pytest.approx(2.5, rel=1e-4)  # median of 1, 2, 3, 100
    restored = O.GradientClipper("autoclip", 50)
    restored.load_state_dict(json.loads(json.dumps(clipper.state_dict())))
    assert restored.norms == clipper.norms
    with pytest.raises(ValueError, match="GradientClipper"):
        O.clip_gradients([p], "autoclip", 10)


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))


def _train(net, opt, clipper, warmup, start, steps):
    gen = torch.Generator().manual_seed(1234)
    data = [(torch.randn(32, 8, generator=gen), torch.randn(32, 3, generator=gen)) for _ in range(10)]
    for i in range(start, start + steps):
        x, y = data[i]
        warmup.apply(i)
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        clipper(net.parameters())
        opt.step()


@pytest.mark.parametrize("name", NAMES)
def test_exact_resume_through_safetensors(name, tmp_path):
    ref = _net()
    ref_opt = O.build_optimizer(name, ref.parameters(), lr=1e-2, weight_decay=0.01)
    ref_clip = O.GradientClipper("autoclip", 20)
    _train(ref, ref_opt, ref_clip, O.Warmup(ref_opt, 3), 0, 10)

    first = _net()
    opt = O.build_optimizer(name, first.parameters(), lr=1e-2, weight_decay=0.01)
    clip = O.GradientClipper("autoclip", 20)
    _train(first, opt, clip, O.Warmup(opt, 3), 0, 5)
    tensors, meta = O.optimizer_state_to_tensors(opt)
    save_file(tensors, tmp_path / "optimizer.safetensors")
    save_file({k: v.contiguous() for k, v in first.state_dict().items()}, tmp_path / "weights.safetensors")
    (tmp_path / "state.json").write_text(json.dumps({"optimizer": meta, "clip": clip.state_dict()}))
    del first, opt, clip

    second = _net(seed=99)  # different init: everything must come from the files
    second.load_state_dict(load_file(tmp_path / "weights.safetensors"))
    state = json.loads((tmp_path / "state.json").read_text())
    opt2 = O.build_optimizer(name, second.parameters(), lr=1e-2, weight_decay=0.01)
    O.load_optimizer_state(opt2, load_file(tmp_path / "optimizer.safetensors"), state["optimizer"])
    clip2 = O.GradientClipper("autoclip", 20)
    clip2.load_state_dict(state["clip"])
    _train(second, opt2, clip2, O.Warmup(opt2, 3), 5, 5)

    for (k, a), b in zip(ref.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), f"{name}: {k} differs after resume"


def test_load_refuses_other_parameters():
    a, b = _net(), torch.nn.Linear(8, 3)
    opt = O.build_optimizer("adam", a.parameters())
    _train(a, opt, O.GradientClipper(), O.Warmup(opt, 0), 0, 1)
    tensors, meta = O.optimizer_state_to_tensors(opt)
    with pytest.raises(ModelError, match="different set of parameters"):
        O.load_optimizer_state(O.build_optimizer("adam", b.parameters()), tensors, meta)
    with pytest.raises(ModelError, match="Lion"):
        O.load_optimizer_state(O.build_optimizer("lion", a.parameters()), tensors, meta)


def test_adabelief_and_lion_follow_the_papers():
    """Three steps against the update rules written out from the papers (Zhuang 2020, Chen 2023)."""
    torch.manual_seed(3)
    grads = [torch.randn(6) for _ in range(3)]
    lr, b1, b2, eps, wd = 0.1, 0.9, 0.99, 1e-8, 0.01

    x = torch.nn.Parameter(torch.ones(6))
    opt = O.AdaBelief([x], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    ref, m, s = torch.ones(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    for t, g in enumerate(grads, 1):
        x.grad = g.clone()
        opt.step()
        g = g.double()
        ref = ref * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps
        ref = ref - lr * (m / (1 - b1 ** t)) / ((s / (1 - b2 ** t)).sqrt() + eps)
    assert torch.allclose(x.detach().double(), ref, atol=1e-6)

    y = torch.nn.Parameter(torch.ones(6))
    opt = O.Lion([y], lr=lr, betas=(b1, b2), weight_decay=wd)
    ref, m = torch.ones(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    for g in grads:
        y.grad = g.clone()
        opt.step()
        g = g.double()
        ref = ref * (1 - lr * wd) - lr * torch.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
    assert torch.allclose(y.detach().double(), ref, atol=1e-6)
