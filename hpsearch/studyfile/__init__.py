"""Study files: `reader` turns TOML into a validated, frozen `StudySpec`; `runner` validates
and runs one (what `hpsearch run` and `hpsearch validate` do besides printing)."""

from hpsearch.studyfile.reader import StudySpec, load_study_file

__all__ = ["StudySpec", "load_study_file"]
