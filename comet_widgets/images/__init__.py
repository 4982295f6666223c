"""Result objects and image bytes: ``Generation``, ``GeneratedImage``, formats, metadata, previews.

Public names are re-exported from :mod:`comet_widgets`; the modules here are private.
"""
