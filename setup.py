"""Builds libreal, the LD_PRELOAD interposition library, as part of `pip install`.

It is declared as a setuptools Extension only to reuse setuptools' C build (and its editable-install
support); it is never imported by Python. realfish.runtime.daemons finds it next to the package.
"""
import glob

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "realfish._libreal",
            sources=sorted(glob.glob("native/src/*.c")),
            include_dirs=["native/src"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread", "-fvisibility=hidden"],
            extra_link_args=["-pthread", "-ldl"],
        )
    ]
)
