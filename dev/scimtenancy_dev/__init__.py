"""The single-process development command: the tenancy server and the transcoder, siblings,
in one process (neither imports the other; this package sits above both)."""
