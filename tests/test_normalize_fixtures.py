"""Every committed document in fixtures/documents/ gives the outcome expected.json records:
its pages (count, fax geometry, what the source info says) or the exact error code and words
the reason must hold (always the file's name)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import faxpipe
from faxpipe.errors import DocumentError

DOCS = Path(__file__).resolve().parent.parent / "fixtures" / "documents"
EXPECTED = json.loads((DOCS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_outcome(name):
    want = EXPECTED[name]
    path = DOCS / name
    if "error" in want:
        with pytest.raises(DocumentError) as caught:
            faxpipe.convert([str(path)])
        assert caught.value.code == want["error"]
        for words in want["reason"]:
            assert words in caught.value.reason
        with pytest.raises(DocumentError):
            faxpipe.validate([str(path)])
        return
    document = faxpipe.convert([str(path)])
    assert len(document.pages) == want["pages"]
    for page in document.pages:
        assert (page.width, page.height, page.xres, page.yres) == (1728, 2287, 204, 196)
        assert 0 < page.black_fraction() < 0.6
    info = document.sources[0]
    for key in ("kind", "encoding", "encrypted", "repaired", "as_is"):
        if key in want:
            assert getattr(info, key) == want[key], key
    assert [i.pages for i in faxpipe.validate([str(path)])] == [want["pages"]]


def test_fixtures_are_in_order():
    """Every file in the folder has an expected outcome, and every outcome a file."""
    files = {p.name for p in DOCS.iterdir()} - {"expected.json"}
    assert files == set(EXPECTED)
