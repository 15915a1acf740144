"""The two data contracts that cross stages: the alignments store and face-image metadata."""
from .alignments import AlignmentsStore, FaceRecord, SourceInfo, default_store_path
from .metadata import FaceMeta, list_face_files, read_face, read_face_meta, write_face_png

__all__ = ["AlignmentsStore", "FaceRecord", "SourceInfo", "default_store_path", "FaceMeta",
           "list_face_files", "read_face", "read_face_meta", "write_face_png"]
