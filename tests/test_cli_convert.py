"""``faxpipe convert`` in-process: one output, batch mode, exit codes, summary, errors.

The CLI is tested against a stand-in for ``faxpipe.convert`` (fixed pages; names containing
"bad" are refused the way the library refuses them) and, once the library has it, end to end.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

import faxpipe
from faxpipe import DocumentError, Page, tiff
from faxpipe.cli import EXIT_INVALID, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from faxpipe.cli import convert as convert_cli

CALLS = []


def fake_convert(sources, resolution="fine", paper="a4", renderer="pdfium", header=None):
    CALLS.append((list(sources), resolution, paper, renderer, header))
    pages = []
    for source in sources:
        name = str(source)
        if "bad" in name:
            raise DocumentError(f"{name}: not a jpg, tif, pdf or txt file")
        count = 2 if name.endswith(".pdf") else 1
        yres = {"standard": 98.0, "fine": 196.0, "superfine": 391.0}[resolution]
        rows = {"standard": 1143, "fine": 2287, "superfine": 4575}[resolution]
        for n in range(count):
            page = Page.blank(1728, rows, 204.0, yres)
            data = bytearray(page.data)
            data[n * 216 * 10:(n * 216 * 10) + 216] = b"\xff" * 216  # a black line, different per page
            pages.append(Page(1728, rows, bytes(data), 204.0, yres))
    return pages


@pytest.fixture
def fake(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(faxpipe, "convert", fake_convert, raising=False)
    return CALLS


def touch(path, content=b"x"):
    path.write_bytes(content)
    return str(path)


def test_one_output_from_all_inputs_in_order(fake, tmp_path, capsys):
    a, b = touch(tmp_path / "a.pdf"), touch(tmp_path / "b.txt")
    out = tmp_path / "out.tif"
    assert main(["convert", a, b, "-o", str(out), "--resolution", "standard", "--paper", "letter",
                 "--renderer", "ghostscript", "--header", "ACME"]) == EXIT_OK
    assert fake == [([a, b], "standard", "letter", "ghostscript", "ACME")]
    pages = tiff.read(out)
    assert len(pages) == 3 and all(p.compression == 4 for p in pages)
    assert [p.page for p in pages] == fake_convert([a, b], "standard")
    assert "3 pages" in capsys.readouterr().out


@pytest.mark.parametrize("name,compression,options", [("mh", 3, 0b100), ("mr", 3, 0b101), ("mmr", 4, None)])
def test_compression_names(fake, tmp_path, name, compression, options):
    src, out = touch(tmp_path / "a.txt"), tmp_path / "o.tif"
    assert main(["convert", src, "-o", str(out), "--compression", name]) == EXIT_OK
    page = tiff.read(out)[0]
    assert page.compression == compression
    if options is not None:
        assert page.t4_options == options
    assert (page.page.xres, page.page.yres) == (204.0, 196.0)


def test_invalid_input_exit_3_and_no_output(fake, tmp_path, capsys):
    good, bad = touch(tmp_path / "a.txt"), touch(tmp_path / "bad.doc")
    out = tmp_path / "out.tif"
    assert main(["convert", good, bad, "-o", str(out)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert err.startswith("fx_file_invalid: ") and "bad.doc" in err
    assert not out.exists()


def test_usage_errors_exit_2(fake, tmp_path, capsys):
    src = touch(tmp_path / "a.txt")
    for argv in (["convert", src], ["convert", src, "-o", "x.tif", "--out-dir", "d"],
                 ["convert", "-o", "x.tif"], ["convert", src, "-o", "x.tif", "--paper", "a5"],
                 ["convert", src, "-o", "x.tif", "--compression", "jbig"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == EXIT_USAGE
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["convert", str(empty), "-o", str(tmp_path / "x.tif")]) == EXIT_USAGE
    assert main(["convert", src, "-o", str(tmp_path / "no" / "such" / "dir.tif")]) == EXIT_USAGE
    assert main(["convert", src, "--out-dir", str(tmp_path / "o"), "--jobs", "-1"]) == EXIT_USAGE


def test_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    out = capsys.readouterr().out
    for line in ("0  every input converted", "1  some inputs failed", "2  usage error", "3  an input is invalid"):
        assert line in out


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_converts_each_input_and_reports(fake, tmp_path, capsys, jobs):
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    touch(inputs / "a.pdf"), touch(inputs / "b.txt"), touch(inputs / "sub" / "c.jpg")
    touch(inputs / "bad.doc"), touch(inputs / ".hidden")
    out = tmp_path / "out"
    code = main(["convert", "--out-dir", str(out), "--jobs", jobs, str(inputs)])
    captured = capsys.readouterr()
    assert code == EXIT_SOME_FAILED
    assert sorted(p.name for p in out.iterdir()) == ["a.tif", "b.tif", "c.tif"]
    assert len(tiff.read(out / "a.tif")) == 2
    assert "fx_file_invalid: " in captured.err and "bad.doc" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].split()[:5] == ["input", "pages", "bytes", "seconds", "result"]
    body = lines[1:-1]  # input order, not completion order
    assert [line.split()[0] for line in body] == [str(inputs / n) for n in ("a.pdf", "b.txt", "bad.doc", "sub/c.jpg")]
    assert lines[-1].startswith("3 converted, 1 failed, 4 pages in ")


def test_batch_all_good_exit_0(fake, tmp_path, capsys):
    srcs = [touch(tmp_path / f"{n}.txt") for n in "xyz"]
    assert main(["convert", "--out-dir", str(tmp_path / "o"), *srcs]) == EXIT_OK
    assert "3 converted, 0 failed" in capsys.readouterr().out


def test_batch_same_stem_gets_distinct_outputs(tmp_path):
    names = convert_cli.output_names(["d1/a.pdf", "d2/a.txt", "d3/a.pdf", "b.jpg"], "o")
    assert names == ["o/a.pdf.tif", "o/a.txt.tif", "o/a.pdf-2.tif", "o/b.tif"]
    assert len(set(names)) == len(names)


def test_batch_survives_a_bug_in_one_input(monkeypatch, tmp_path, capsys):
    def broken(sources, **kwargs):
        if "boom" in str(sources[0]):
            raise RuntimeError("unexpected")
        return fake_convert(sources, **kwargs)

    monkeypatch.setattr(faxpipe, "convert", broken, raising=False)
    srcs = [touch(tmp_path / "boom.txt"), touch(tmp_path / "ok.txt")]
    assert main(["convert", "--out-dir", str(tmp_path / "o"), "-j", "1", *srcs]) == EXIT_SOME_FAILED
    assert "internal_server_error: RuntimeError: unexpected" in capsys.readouterr().err


def test_progress_bar_when_stderr_is_a_terminal(fake, tmp_path, monkeypatch, capsys):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    monkeypatch.setattr("sys.stderr", stream)
    srcs = [touch(tmp_path / f"{n}.txt") for n in "ab"]
    assert main(["convert", "--out-dir", str(tmp_path / "o"), "-j", "1", *srcs]) == EXIT_OK
    assert "\r[" in stream.getvalue() and "2/2" in stream.getvalue()


# ---- end to end, once faxpipe.convert exists (the normalize package) ----

def real_convert():
    if not callable(getattr(faxpipe, "convert", None)):
        pytest.skip("faxpipe.convert is not there yet (faxpipe/normalize)")


def test_end_to_end_text_and_image(tmp_path, capsys):
    real_convert()
    txt = touch(tmp_path / "note.txt", b"Hello fax\nsecond line\n")
    png = tmp_path / "pic.jpg"
    Image.linear_gradient("L").resize((600, 400)).save(png, "JPEG")
    out = tmp_path / "out.tif"
    assert main(["convert", txt, str(png), "-o", str(out), "--resolution", "standard"]) == EXIT_OK
    pages = tiff.read(out)
    assert len(pages) == 2
    assert all(p.page.width == 1728 and p.page.yres == 98 for p in pages)


def test_end_to_end_refuses_garbage(tmp_path, capsys):
    real_convert()
    junk = touch(tmp_path / "junk.pdf", b"\x00\x01garbage" * 10)
    assert main(["convert", junk, "-o", str(tmp_path / "o.tif")]) == EXIT_INVALID
    assert capsys.readouterr().err.startswith("fx_file_invalid: ")
