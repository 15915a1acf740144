"""Training data: face sets cached in memory, batched torch-side augmentation, resumable batch streams."""
from .augment import Augmenter, Batch, baseline_augment
from .faceset import FaceSet, FaceSplit
from .loader import BatchStream

__all__ = ["Augmenter", "Batch", "baseline_augment", "FaceSet", "FaceSplit", "BatchStream"]
