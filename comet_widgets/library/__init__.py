"""The image library: every image kept with its provenance (``Library``, ``LibraryEntry``)."""
