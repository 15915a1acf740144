"""Training: ``train(faces_a, faces_b, model_dir, ...)``, checkpoints, previews, logs, distributed.

    from twoface.train import train
    summary = train("faces/alice", "faces/bob", "models/ab", arch="lightweight", iterations=5000)

``checkpoint.load_model(model_dir, runtime)`` gives convert/evaluate the trained model.
Losses (``losses.build_loss``) and optimizers (``optim.build_optimizer``) live beside them.
"""
from __future__ import annotations

from .signals import TrainingInterrupted

__all__ = ["train", "pretrain", "load_model", "TrainingInterrupted", "TrainOptions"]


def __getattr__(name: str):
    # lazy, so ``import twoface.train.losses`` does not pull in the whole loop
    if name == "train":
        from .trainer import train

        return train
    if name == "pretrain":
        from .trainer import pretrain

        return pretrain
    if name == "load_model":
        from ..models.folder import load_model

        return load_model
    if name == "TrainOptions":
        from .options import TrainOptions

        return TrainOptions
    raise AttributeError(f"module 'twoface.train' has no attribute {name!r}")


from .. import _callable_stage  # noqa: E402  (so that twoface.train(...) calls train())

_callable_stage(__name__, "train")
