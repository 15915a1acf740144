"""`twoface sort --by identity` on real faces: the 10 GRID speakers come out as 10 pure clusters."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from twoface.curate import sort_faces
from twoface.store import list_face_files, read_face_meta

from .conftest import speaker_of, tree_hashes, twoface, work_copy


def clusters_of(faces: Path) -> dict[str, list[str]]:
    """cluster folder name -> speakers of the faces in it (read from each PNG's own metadata)."""
    out: dict[str, list[str]] = {}
    for p in list_face_files(faces / "by_identity"):
        out.setdefault(p.parent.name, []).append(speaker_of(read_face_meta(p).source_path))
    return out


def purity(clusters: dict[str, list[str]]) -> float:
    total = sum(len(v) for v in clusters.values())
    return sum(Counter(v).most_common(1)[0][1] for v in clusters.values()) / total


def test_grid_speakers_give_ten_pure_clusters(grid_extract, tmp_path):
    faces, _ = work_copy(grid_extract, tmp_path / "grid")
    before = tree_hashes(faces)
    res = twoface("sort", faces, "--by", "identity")
    assert res.returncode == 0, res.stderr
    assert "10 clusters" in res.stdout, res.stdout

    clusters = clusters_of(faces)
    sizes = sorted((len(v) for v in clusters.values()), reverse=True)
    p = purity(clusters)
    print(f"GRID identity sort: {len(clusters)} clusters, sizes {sizes}, purity {p:.2%}")
    assert len(clusters) == 10, f"cluster sizes {sizes}"
    assert p >= 0.98
    # largest cluster first: folder 000 holds the most faces, and the printed sizes say so
    names = sorted(clusters)
    assert [len(clusters[n]) for n in names] == sizes
    assert f"000: {sizes[0]}" in res.stdout
    # each speaker's faces are (nearly) all in one cluster, a different one per speaker
    home = {}
    for name, who in clusters.items():
        top, _ = Counter(who).most_common(1)[0]
        assert top not in home, f"{top} is split between clusters {home.get(top)} and {name}"
        home[top] = name
    assert len(home) == 10
    # G7's two clips (different recordings) land in the same cluster, and fill it
    g7 = [read_face_meta(p) for p in list_face_files(faces / "by_identity" / home["G7"])]
    assert {Path(m.source_path).stem for m in g7} == {"pwij3p", "id2_vcd_swwp2s"}

    # files only moved: same bytes (metadata inside) under new paths, nothing lost
    after = tree_hashes(faces)
    assert sorted(h for k, h in before.items()) == sorted(h for k, h in after.items() if not k.startswith("."))


def test_identity_rename_prefixes_names_and_undo_restores(grid_extract, tmp_path):
    faces, _ = work_copy(grid_extract, tmp_path / "grid")
    before = tree_hashes(faces)
    result = sort_faces(faces, by="identity", rename=True)
    assert len([g for g in result.groups if g.name != "noise"]) == 10
    names = [p.name for p in faces.iterdir() if p.suffix == ".png"]
    assert len(names) == len(before) and all(n[:5] in {f"c{k:03d}_" for k in range(10)} for n in names)
    # the prefix agrees with the cluster the result reports for each face
    for n in names:
        assert result.assignment[n[5:]] == n[1:4]
    assert not (faces / "by_identity").exists()
    undo = sort_faces(faces, undo=True)
    assert undo.undo.restored == len(before) and not undo.undo.missing
    assert tree_hashes(faces) == before


def test_faces_without_stored_identity_are_embedded(grid_extract, tmp_path):
    """Faces whose metadata lost its identity vector are embedded from their pixels and still group right."""
    from twoface.store import read_face, write_face_png

    faces = tmp_path / "f"
    faces.mkdir()
    picked = [p for p in list_face_files(grid_extract / "faces") if p.name.startswith(("lbax4n", "lwbsza", "sbwe5n"))]
    stripped = set()
    for i, p in enumerate(picked):
        image, meta = read_face(p)
        if i % 5 == 0:
            meta.identity = None
            stripped.add(p.name)
        write_face_png(faces / p.name, image, meta)
    assert len(stripped) == 9
    result = sort_faces(faces, by="identity")
    clusters = clusters_of(faces)
    assert len(clusters) == 3 and purity(clusters) == 1.0, {k: Counter(v) for k, v in clusters.items()}
    assert [g.count for g in result.groups] == [15, 15, 15]
