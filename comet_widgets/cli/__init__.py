"""The ``comet-images`` command line: parser, subcommands and the development demo.

The entry point is :func:`comet_widgets.cli._main.main`; the modules here are private.
"""
