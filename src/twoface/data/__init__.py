"""Training data: face sets cached in memory, batched torch-side augmentation, resumable batch streams."""
from .augment import Augmenter, Batch, baseline_augment
from .faceset import FaceSet, FaceSplit
from .loader import BatchStream
from .memory import tune_allocator

__all__ = ["Augmenter", "Batch", "baseline_augment", "FaceSet", "FaceSplit", "BatchStream", "tune_allocator"]
