"""BatchStream: full epochs, background prefetch, exact resume from a JSON state."""
from __future__ import annotations

import json

import pytest
import torch

from twoface.data import Augmenter, BatchStream, FaceSet


@pytest.fixture(scope="module")
def split(face_dirs):
    return FaceSet(face_dirs["a"], 64).train  # 23 faces: batches of 8 straddle epochs


def test_epochs_are_permutations(split):
    stream = BatchStream(split, 8, Augmenter(64, 64), seed=1)
    state, seen = stream.state_dict(), []
    for _ in range(6):
        idx, state = stream._indices(state)
        assert len(idx) == 8
        seen.extend(idx.tolist())
    assert sorted(seen[:23]) == list(range(23))
    assert sorted(seen[23:46]) == list(range(23))
    assert seen[:23] != seen[23:46]
    assert state == {"seed": 1, "epoch": 2, "position": 2, "batches": 6}


def test_exact_resume(split):
    aug = Augmenter(64, 64, warp_to_landmarks=False)
    with BatchStream(split, 8, aug, seed=5) as stream:
        batches = [next(stream) for _ in range(3)]
        saved = json.loads(json.dumps(stream.state_dict()))
        batches += [next(stream) for _ in range(3)]
    assert saved["batches"] == 3
    with BatchStream(split, 8, aug, seed=5) as resumed:
        resumed.load_state_dict(saved)
        again = [next(resumed) for _ in range(3)]
    for a, b in zip(batches[3:], again):
        for name in ("warped", "target", "target_mask", "weights"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert not torch.equal(batches[0].warped, batches[3].warped)


def test_batches_have_the_asked_shape(split):
    before = torch.get_num_threads()
    with BatchStream(split, 4, Augmenter(32, 64), seed=0) as stream:
        b = next(stream)
    assert torch.get_num_threads() == before  # the producer's one-thread setting stays in its thread
    assert b.warped.shape == (4, 3, 32, 32) and b.target.shape == (4, 3, 64, 64)
    assert b.target_mask.shape == b.weights.shape == (4, 1, 64, 64)


def test_producer_errors_reach_the_consumer(split):
    def broken(*_args):
        raise RuntimeError("augmentation exploded")

    stream = BatchStream(split, 4, broken, seed=0)
    with pytest.raises(RuntimeError, match="exploded"):
        next(stream)
    stream.close()


def test_refuses_a_state_of_another_seed(split):
    stream = BatchStream(split, 4, Augmenter(64, 64), seed=0)
    with pytest.raises(ValueError, match="seed"):
        stream.load_state_dict({"seed": 9, "epoch": 0, "position": 0, "batches": 0})


def test_each_warped_input_is_paired_with_its_own_target(split):
    """Issue 14 checked it: the streamed, fully augmented input of face i is a warp of target i,
    never of another face of the batch (flip, rotation, colour and warp all on)."""
    stream = BatchStream(split, 8, Augmenter(64, 64), seed=3)
    for _ in range(3):
        b, _state = stream.make_batch(stream.state_dict())
        stream._state = _state
        d = ((b.warped[:, None] - b.target[None]) ** 2).mean(dim=(2, 3, 4))  # warped i against target j
        assert torch.equal(d.argmin(dim=1), torch.arange(8)), d
        own = d.diagonal()
        others = d + torch.eye(8) * 1e9
        assert (own * 2 < others.min(dim=1).values).all(), (own, others.min(dim=1).values)


def test_stop_warp_makes_unwarped_batches_and_resumes_at_the_same_batch(split):
    """--warp-stop: after stop_warp() the input is the target's own geometry (no random warp, the
    affine and colour still random), prefetched warped batches are not handed out, and a state saved
    after the stop resumes without the warp."""
    aug = Augmenter(64, 64, color=False)
    with BatchStream(split, 8, aug, seed=4) as stream:
        warped = next(stream)
        stream.stop_warp()
        plain = [next(stream) for _ in range(2)]
        saved = json.loads(json.dumps(stream.state_dict()))
        after = next(stream)
    assert saved["warp_from"] == 1 and saved["batches"] == 3
    # warp off: the input is the target (same size, same affine); with it on it is not
    assert torch.allclose(plain[0].warped, plain[0].target, atol=1e-5)
    assert not torch.allclose(warped.warped, warped.target, atol=1e-2)
    with BatchStream(split, 8, aug, seed=4) as resumed:
        resumed.load_state_dict(saved)
        again = next(resumed)
    assert torch.equal(after.warped, again.warped) and torch.allclose(again.warped, again.target, atol=1e-5)
    with BatchStream(split, 8, aug, seed=4) as never:  # the same batch number with the warp on differs
        never.load_state_dict({k: v for k, v in saved.items() if k != "warp_from"})
        assert not torch.allclose(next(never).warped, again.warped, atol=1e-2)
