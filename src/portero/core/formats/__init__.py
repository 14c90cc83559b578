"""Date and time formats per language (FORMAT_MODULE_PATH), used through `core.dates`.

Django's own modules are kept for everything not set here (input formats, numbers).
"""
