"""Index sets of the MediaPipe 478-point face mesh that the geometry code needs.

These are facts about the mesh topology (the same loops MediaPipe's
``FaceLandmarksConnections`` draws; ``tests/faces/test_mesh.py`` checks that they
agree), kept here as plain tuples so that alignment and masks work without
importing mediapipe. "Right"/"left" are the subject's: on an upright frontal face
the right eye is on the image's left.
"""
from __future__ import annotations

# Closed loops, in drawing order.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# eye contours: outer corner, lower lid to inner corner, then upper lid back
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
# brows: lower edge outer→inner, then upper edge inner→outer
RIGHT_BROW = (46, 53, 52, 65, 55, 107, 66, 105, 63, 70)
LEFT_BROW = (276, 283, 282, 295, 285, 336, 296, 334, 293, 300)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
NOSE_RIDGE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2)
NOSE_OUTLINE = (98, 97, 2, 326, 327, 294, 278, 344, 440, 275, 4, 45, 220, 115, 48, 64)
RIGHT_IRIS_CENTER = 468
LEFT_IRIS_CENTER = 473

NOSE_TIP = 1
MOUTH_RIGHT = 61
MOUTH_LEFT = 291
CHIN = 152
FOREHEAD_TOP = 10
BETWEEN_EYES = 168

# The face oval's lower arc, from the right ear (image left) through the chin to the left ear.
JAW_ARC = (127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152,
           377, 400, 378, 379, 365, 397, 288, 361, 323, 454, 356)

# MediaPipe 478 → iBUG 300-W 68 points (0-based iBUG numbering). How it was built:
# - jaw (0–16): the oval's lower arc JAW_ARC cut into 16 equal arc-length steps,
#   using the mean arc length of frontal dev-data faces (GRID, CREMA-D; |yaw| < 8°)
#   made left/right symmetric, each step snapped to the nearest arc vertex (every
#   one lands within 0.03 of the arc; chin 152 is point 8). test_mesh re-checks it;
# - brows (17–26): each brow's upper edge, outer→inner for the right brow and
#   inner→outer for the left, as iBUG runs left to right across the image;
# - nose (27–35): the ridge 168 → 197 → 5 → tip 1, then the nostril base
#   right alar → subnasale 2 → left alar;
# - eyes (36–47): corners and the two lid points at ⅓ and ⅔ along each lid, in
#   iBUG's clockwise order (outer corner, upper lid, inner corner, lower lid);
# - mouth (48–67): outer lip corners and the points iBUG places at the lip peaks,
#   top/bottom centre and their mirrors; inner lip likewise.
TO_68 = (
    # jaw 0-16
    127, 234, 93, 132, 172, 136, 149, 176, 152, 400, 378, 365, 397, 361, 323, 454, 356,
    # right brow 17-21, left brow 22-26
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose ridge 27-30, nostril base 31-35
    168, 197, 5, 1, 98, 97, 2, 326, 327,
    # right eye 36-41, left eye 42-47
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # outer lip 48-59
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    # inner lip 60-67
    78, 81, 13, 311, 308, 317, 14, 87,
)
assert len(TO_68) == 68
