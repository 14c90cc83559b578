"""A rough, human description of a browser from its User-Agent (for notices and history)."""

from __future__ import annotations

import re

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = [
    ("Edge", r"Edg(?:e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/"),
    ("Safari", r"Safari/"),
]
_SYSTEMS = [
    ("Android", r"Android"),
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux"),
]


def describe_user_agent(user_agent: str) -> str:
    """Return e.g. "Chrome on Android", or "" when nothing is recognised."""
    browser = next((name for name, rx in _BROWSERS if re.search(rx, user_agent)), "")
    system = next((name for name, rx in _SYSTEMS if re.search(rx, user_agent)), "")
    return " · ".join(part for part in (browser, system) if part)
