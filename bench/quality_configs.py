"""The configurations bench/quality.py measures: one change at a time, each a dict of train/convert options.

Kept apart from the runner so the table of what was tried reads on its own. A config has ``train``
(options for twoface.train.train over BASE_TRAIN), ``convert`` (over BASE_CONVERT), optionally
``coverage`` (extract's framing), ``prior`` (a pretraining budget: the pair starts from that prior)
and, for convert-only rows, ``model_from`` (the run whose model it converts).
"""
from __future__ import annotations

from twoface.train.options import PRESETS

# The measurement of faceswap 3 (not installed here): 367 iterations, batch 16, same faces,
# same held-out clip, judged by `twoface evaluate --video`. (pose deg, expression, jitter, sim target/source)
FACESWAP_REFERENCE = {"faceswap lightweight": (1.63, 0.90, 1.72, 0.913, 0.871),
                      "faceswap original": (0.98, 0.81, 1.73, 0.907, 0.894)}

BASE_TRAIN = {"arch": "lightweight", "batch_size": 16, "loss": "ssim:1,mse:1", "optimizer": "adam",
              "mask_loss": False}  # pinned: the defaults moved on (mask loss on since issue 14), the baseline did not
BASE_CONVERT = {"color": "match-hist"}  # the baseline's convert path (today's demo): every row changes one thing
# today's defaults with the short-budget rate: 5e-4, 20 warmup iterations, cosine over the budget
SHORT = {"mask_loss": True, "lr": 5e-4, "warmup": 20, "lr_schedule": "cosine"}
# what --preset cpu sets today, read from the preset itself (arch aside: the rows choose it)
PRESET = {"mask_loss": True, **{k: v for k, v in PRESETS["cpu"].items() if k != "arch"}}


def on_prior(prior_iterations: int = 300, **train) -> dict:
    """The preset (--preset cpu's settings) started from a GRID prior of that many iterations, plus ``train``."""
    return {"coverage": 0.625, "prior": {"iterations": prior_iterations},
            "train": {**SHORT, "balance": "expression", "init_parts": "all", **train}, "convert": {"color": "avg"}}


# One change at a time against the baseline (the ablation), then the fixed configuration.
CONFIGS: dict[str, dict] = {
    "baseline": {},
    "mask_loss": {"train": {"mask_loss": True}},
    "no_warp": {"train": {"warp": False}},
    "fp32": {"train": {"precision": "fp32"}, "convert": {"precision": "fp32"}},
    "adam_b2_099": {"betas": (0.5, 0.99)},  # faceswap's Adam: beta_2 0.99 (twoface had 0.999)
    # the causes found, together (what the defaults now are; see the README)
    "fixed": {"train": {"mask_loss": True}, "convert": {"color": "avg"}},
    # framing: the face fills more of the 64 px crop (extract's default coverage is 0.75)
    "fixed+cov0.625": {"coverage": 0.625, "train": {"mask_loss": True}, "convert": {"color": "avg"}},
    "fixed+no_warp": {"train": {"mask_loss": True, "warp": False}, "convert": {"color": "avg"}},
    # short-budget optimisation on top of today's defaults (issue 15): a higher rate, constant or cosine
    "cov0.625+lr2e-4": {"coverage": 0.625, "train": {"mask_loss": True, "lr": 2e-4}, "convert": {"color": "avg"}},
    "cov0.625+lr5e-4cos": {"coverage": 0.625, "train": {"mask_loss": True, "lr": 5e-4, "warmup": 20,
                                                        "lr_schedule": "cosine"}, "convert": {"color": "avg"}},
    "cov0.625+lr1e-3cos": {"coverage": 0.625, "train": {"mask_loss": True, "lr": 1e-3, "warmup": 30,
                                                        "lr_schedule": "cosine"}, "convert": {"color": "avg"}},
    # on top of the 5e-4 cosine run: one change at a time
    "short+warp0.5": {"coverage": 0.625, "train": {**SHORT, "warp_strength": 0.5}, "convert": {"color": "avg"}},
    "short+mouth4": {"coverage": 0.625, "train": {**SHORT, "mouth_multiplier": 4.0}, "convert": {"color": "avg"}},
    "short+balance": {"coverage": 0.625, "train": {**SHORT, "balance": "expression"}, "convert": {"color": "avg"}},
    # a prior pretrained on the 10 GRID speakers (twoface pretrain), then the pair from it (encoder and
    # decoders); pretraining CPU-s are reported separately (prior.json), not in the pair's
    "short+prior": {"coverage": 0.625, "prior": {"iterations": 300}, "train": {**SHORT, "init_parts": "all"},
                    "convert": {"color": "avg"}},
    # the preset (--preset cpu's settings) started from that prior
    "short+balance+prior": on_prior(),
    # a late adversarial phase on the prior-started preset: patch discriminators from 60 % of the budget
    "short+balance+prior+gan0.1@0.6": on_prior(gan=True, gan_weight=0.1, gan_start=0.6),
    "short+balance+prior+gan0.3@0.6": on_prior(gan=True, gan_weight=0.3, gan_start=0.6),
    # losses that weigh the fine detail a blur removes, beside ssim+mse (weights put each near ssim's size
    # on a face blurred by sigma 1 px: ssim 0.11, lpl x10 0.09, ffl x100 0.06, gmsd x2 0.10)
    **{f"short+balance+prior+{name}{w}": on_prior(loss=f"ssim:1,mse:1,{name}:{w}")
       for name, w in (("lpl", 10), ("ffl", 100), ("gmsd", 2))},
    # batch 8 (judged at twice the iterations: the same faces seen, about the same CPU-s) and half the warp
    "short+balance+prior+b8": on_prior(batch_size=8),
    "short+balance+prior+warp0.5": on_prior(warp_strength=0.5),
    # the identity loss ramped in late, once the decoder draws a face (from step 0 at 0.3 it drew patterns)
    "short+balance+prior+id0.1@0.6": on_prior(identity_weight=0.1, identity_start=0.6),
    # the two that measured best at about equal CPU-s, together: batch 8 and the late identity loss
    "short+balance+prior+b8+id0.1@0.6": on_prior(batch_size=8, identity_weight=0.1, identity_start=0.6),
    # DeepFaceLab's recipe: the random warp off for the last 40 % (the decoder learns the detail the warp hides)
    "short+balance+prior+warpstop0.6": on_prior(warp_stop=0.6),
    "short+balance+prior+warpstop0.3": on_prior(warp_stop=0.3),
    "short+balance+prior+b8+warpstop0.6": on_prior(batch_size=8, warp_stop=0.6),
    "short+balance+prior+b8+warpstop0.3": on_prior(batch_size=8, warp_stop=0.3),
    # twice the eye regions' loss weight (default 3): the swap's eyes read as shut (expression error)
    "short+balance+prior+eye6": on_prior(eye_multiplier=6.0),
    # the same preset from a prior pretrained four times longer (its CPU-s in its prior.json, not the pair's)
    "short+balance+prior1200": on_prior(prior_iterations=1200),
    # the preset as it is now (batch 8, the warp off from 30 %) from that longer prior: the full 30-minute budget
    "short+balance+prior1200+b8+warpstop0.3": on_prior(prior_iterations=1200, batch_size=8, warp_stop=0.3),
    # on the preset as it is now, aimed at the sharpness plateau (0.41 -> 0.42 from 1,500 to 3,000 iterations):
    # twice the rate (from scratch 1e-3 was the sharpest at 367 iterations), and L1 in place of L2 (less blur-prone)
    "short+balance+prior+b8+warpstop0.3+lr1e-3": on_prior(batch_size=8, warp_stop=0.3, lr=1e-3, warmup=30),
    **{f"short+balance+prior1200+b8+warpstop0.3+gans{w:g}@0.5": on_prior(
        prior_iterations=1200, batch_size=8, warp_stop=0.3, gan=True, gan_swaps=True, gan_weight=w, gan_start=0.5)
       for w in (0.1, 0.2, 0.3)},
    "short+balance+prior+b8+warpstop0.3+mae": on_prior(batch_size=8, warp_stop=0.3, loss="ssim:1,mae:1"),
    # SFace (in torch) pulls each swap towards the target's mean embedding; the judge stays dlib
    "short+balance+id0.3": {"coverage": 0.625, "train": {**SHORT, "balance": "expression", "identity_weight": 0.3},
                            "convert": {"color": "avg"}},
    # SFace feature maps of each reconstruction against its target (an LPIPS-style distance)
    "short+balance+perc0.3": {"coverage": 0.625, "train": {**SHORT, "balance": "expression", "perceptual_weight": 0.3},
                              "convert": {"color": "avg"}},
    # the CPU architecture (issue 15) with the short-budget rate
    # (measured with conv4, the cpu model's default until the tenth session: pinned so the rows rerun as they were)
    "cpu+short": {"coverage": 0.625, "train": {**SHORT, "arch": "cpu", "options": {"bottleneck": "conv4"}},
                  "convert": {"color": "avg"}},
    # the CPU architecture at 128 px (4x the pixels: the 64 px decoder upscaled to a ~150 px face caps detail)
    "cpu128+short+balance": {"coverage": 0.625, "train": {**SHORT, "balance": "expression", "arch": "cpu",
                                                          "options": {"size": 128, "bottleneck": "conv4"}},
                             "convert": {"color": "avg"}},
    # --preset cpu from scratch (the demo on a CPU with bf16 units), then with the cpu model: its dense4
    # bottleneck (the default since the tenth session, the demo on a CPU without them) and the old conv4
    "preset": {"coverage": 0.625, "train": {**PRESET}, "convert": {"color": "avg"}},
    "preset+cpu": {"coverage": 0.625, "train": {**PRESET, "arch": "cpu"}, "convert": {"color": "avg"}},
    "preset+cpu-conv4": {"coverage": 0.625, "train": {**PRESET, "arch": "cpu", "options": {"bottleneck": "conv4"}},
                         "convert": {"color": "avg"}},
    # --true-face (eleventh session): a code discriminator; the encoder learns codes that do not tell A from B,
    # so that each decoder has trained on codes like those a swap gives it. 0.1 is in the preset since the
    # twelfth session (so trueface0.1 is preset+cpu again); -trueface is the preset+cpu the two sessions measured
    "preset+cpu-trueface": {"coverage": 0.625, "train": {**PRESET, "arch": "cpu", "true_face": 0.0},
                            "convert": {"color": "avg"}},
    # the same two with another seed (every other row trains with seed 1): another draw of the held-out
    # faces, the batches and the initial weights
    "preset+cpu@seed2": {"coverage": 0.625, "train": {**PRESET, "arch": "cpu", "seed": 2}, "convert": {"color": "avg"}},
    "preset+cpu-trueface@seed2": {"coverage": 0.625, "train": {**PRESET, "arch": "cpu", "true_face": 0.0, "seed": 2},
                                  "convert": {"color": "avg"}},
    "preset+cpu+trueface0.1": {"coverage": 0.625, "train": {**PRESET, "arch": "cpu", "true_face": 0.1},
                               "convert": {"color": "avg"}},
    "preset+cpu+trueface0.5": {"coverage": 0.625, "train": {**PRESET, "arch": "cpu", "true_face": 0.5},
                               "convert": {"color": "avg"}},
    # convert-path only: the model of another run ("model_from", default baseline), converted otherwise
    "no_smooth": {"convert": {"smooth": False, "color": "match-hist"}},
    "no_color": {"convert": {"color": "none"}},
    "color_avg": {"convert": {"color": "avg"}},
    "color_match_hist": {"convert": {"color": "match-hist"}},
    "mask_loss+avg": {"model_from": "mask_loss", "convert": {"color": "avg"}},
    "adam_b2_099+avg": {"model_from": "adam_b2_099", "convert": {"color": "avg"}},
    # the preset's model converted with faceswap's "components" mask (no forehead) instead of "extended"
    "short+balance+components": {"model_from": "short+balance", "coverage": 0.625,
                                 "convert": {"color": "avg", "mask": "components"}},
    # the warp-stopped model converted with faceswap-style sharpening of the face layer (convert --sharpen):
    # only the video metrics can move, identity and sharpness are read on the model's own decoded faces
    **{f"short+balance+prior+warpstop0.3+{method}{amount:g}": {
        "model_from": "short+balance+prior+warpstop0.3", "coverage": 0.625,
        "convert": {"color": "avg", "sharpen": method, "sharpen_amount": amount}}
       for method, amount in (("unsharp", 1.0), ("unsharp", 2.0))},
}
# the rows that convert another run's model: those naming it, and the baseline's convert-path variants
CONVERT_ONLY = {"no_smooth", "no_color", "color_avg", "color_match_hist"} | {
    name for name, spec in CONFIGS.items() if "model_from" in spec}

# a pair's settings that its prior does not take: the prior is shared by the variants (its folder is named by budget)
PAIR_ONLY = ("loss", "eye_multiplier", "batch_size", "warp_strength", "warp_stop", "init_parts", "lr_schedule", "balance",
             "gan", "gan_weight", "gan_swaps", "gan_start", "identity_weight", "identity_start", "perceptual_weight")
