"""The H.264 (x264) settings, declared once for the writers and for convert's options.

A module of its own (no PyAV import) so that the CLI can show the choices in
``--help`` without loading the encoders.
"""
from __future__ import annotations

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
# superfast keeps 720p conversion above 25 frames/s on two cores (veryfast held it just under);
# "medium" is 2-3x slower for ~10 % smaller files
DEFAULT_PRESET = "superfast"
DEFAULT_QUALITY = 18  # x264 CRF: visually lossless for most content
