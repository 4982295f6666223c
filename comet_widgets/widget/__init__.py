"""The ``ImageGenerator`` panel and its parts: the only folder that imports ipywidgets.

Public names are re-exported from :mod:`comet_widgets`; the modules here are private.
"""
