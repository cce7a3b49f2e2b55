"""Build the C extension (the codec); everything else lives in pyproject.toml."""
import os

from setuptools import Extension, setup

extra = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
if os.environ.get("FAXPIPE_SANITIZE"):
    extra = ["-O1", "-g", "-std=c11", "-fno-omit-frame-pointer",
             "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]

setup(
    ext_modules=[
        Extension(
            "faxpipe.codec._t4",
            sources=["faxpipe/codec/_t4.c", "faxpipe/codec/_t4module.c"],
            depends=["faxpipe/codec/_t4.h"],
            extra_compile_args=extra,
            extra_link_args=["-fsanitize=address,undefined"] if os.environ.get("FAXPIPE_SANITIZE") else [],
        ),
        Extension(
            "faxpipe.codec._bilevel",
            sources=["faxpipe/codec/_bilevel.c", "faxpipe/codec/_resample.c",
                     "faxpipe/codec/_bilevelmodule.c"],
            depends=["faxpipe/codec/_bilevel.h", "faxpipe/codec/_resample.h"],
            extra_compile_args=extra,
            extra_link_args=["-fsanitize=address,undefined"] if os.environ.get("FAXPIPE_SANITIZE") else [],
        ),
        Extension(  # JPEG rows in bands; needs libjpeg's headers (Debian: libjpeg62-turbo-dev)
            "faxpipe.codec._jpeg",
            sources=["faxpipe/codec/_jpeg.c", "faxpipe/codec/_jpegmodule.c"],
            depends=["faxpipe/codec/_jpeg.h"],
            libraries=["jpeg"],
            extra_compile_args=extra,
            extra_link_args=["-fsanitize=address,undefined"] if os.environ.get("FAXPIPE_SANITIZE") else [],
            optional=True,  # without it, JPEGs go through libturbojpeg (ctypes) or Pillow
        ),
    ]
)
