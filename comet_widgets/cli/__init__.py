"""The ``comet-images`` command line: its parser, its subcommands and the development demo.

``_parser`` is the shape of the command line (flags derived from ``_types.py``), ``_commands``
what each subcommand does, ``_main`` the entry point (:func:`comet_widgets.cli._main.main`)
that runs one and maps errors to exit codes; ``_demo`` is a development tool. All private.
"""
